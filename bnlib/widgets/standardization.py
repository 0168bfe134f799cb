"""Chapter 2 widget: gradient descent on raw vs standardized features.

The computation is :func:`bnlib.gd.explore` (pure, tested); this module draws one run
(:func:`draw_run`, also used for the chapter's static figures) and wires three controls to it
(:class:`GDExplorer`).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..exercises.standardization import LARGEST_LR_RATIO, check_largest_lr, largest_lr_target
from ..gd import GDRun, explore, loss_grid
from ..plotting import PALETTE
from ._core import Widget

__all__ = ["view_window", "draw_run", "describe_run", "GDExplorer", "gd_explorer"]


def view_window(run: GDRun, margin: float = 0.35) -> tuple[tuple[float, float], tuple[float, float]]:
    """A square window (equal units on both axes) around the start (0, 0) and the minimum.

    Equal units matter: with independent axis scales every ellipse would look like a circle.
    """
    w_star = run.problem.w_star
    lo = np.minimum(w_star, 0.0)
    hi = np.maximum(w_star, 0.0)
    centre = (lo + hi) / 2
    half = (hi - lo).max() / 2 + margin
    return ((centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half))


def describe_run(run: GDRun) -> str:
    """One line: how the run ended."""
    if run.diverged:
        return f"diverged after {len(run.path) - 1} steps"
    if run.steps is None:
        return f"target not reached in {len(run.path) - 1} steps"
    return f"{run.steps} step{'s' if run.steps != 1 else ''} to the target loss"


def draw_run(ax, run: GDRun, lr: float, title: str | None = None, num: int = 100,
             max_drawn: int = 400):
    """Loss contours, the gradient-descent path and the minimum on ``ax`` (cleared first).

    Weights on the axes (unitless here: the features are in their own units), equal aspect.
    Only the first ``max_drawn`` steps are drawn (the rest overlap near the minimum).
    Returns the path's Line2D, so a widget can move only the path when only lr changes.
    """
    ax.clear()
    (x0, x1), (y0, y1) = view_window(run)
    W1, W2, L = loss_grid(run.problem, (x0, x1), (y0, y1), num=num)
    excess = L - run.problem.loss_star
    levels = run.problem.loss_star + np.geomspace(1e-3, max(excess.max(), 1e-2), 9)
    ax.contour(W1, W2, L, levels=levels, cmap="viridis", linewidths=0.9)
    path = run.path[: max_drawn + 1]
    (line,) = ax.plot(path[:, 0], path[:, 1], "-", color=PALETTE["vermillion"], lw=1.2,
            marker=".", ms=3, label="gradient descent")
    ax.plot(0.0, 0.0, "o", color=PALETTE["black"], ms=5, label="start (0, 0)")
    ax.plot(*run.problem.w_star, "*", color=PALETTE["orange"], ms=12, mec="black", mew=0.5,
            label="minimum")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.xaxis.set_major_locator(MaxNLocator(5))  # fewer labels: faster redraws
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_aspect("equal")
    ax.set_xlabel("w₁ (weight of the narrow feature)")
    ax.set_ylabel("w₂ (weight of the wide feature)")
    ax.set_title(title if title is not None else f"lr = {lr:.3g}: {describe_run(run)}")
    return line


class GDExplorer(Widget):
    """Spread-ratio and learning-rate sliders, a 'standardize' box; contours, path, step count.

    Attributes for tests: ``ratio`` (IntSlider), ``lr`` (FloatLogSlider), ``standardize``
    (Checkbox), ``readout`` (HTML), ``check`` (CheckButton), ``run`` (the last GDRun),
    ``live``, ``widget``. Web book: ratios 1, 2, 5, 8, 10, 15, 20; learning rates every
    half decade, plus 0.95 and 1.05 times the divergence limit at the exercise's ratio;
    standardize off and on.
    """

    def __init__(self, ratio: int = 10, lr: float = 0.01, standardized: bool = False,
                 max_steps: int = 2000):
        super().__init__()
        self.max_steps = max_steps
        wide = {"description_width": "initial"}
        self.ratio = self.add_control(
            widgets.IntSlider(value=ratio, min=1, max=20, step=1, description="spread ratio",
                              style=wide), grid=[1, 2, 5, 8, 10, 15, 20])
        lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.3, step=0.01,
                                           description="learning rate", readout_format=".4f",
                                           style=wide)
        limit = largest_lr_target(LARGEST_LR_RATIO)
        near = [10 ** round(float(np.log10(f * limit)), 2) for f in (0.95, 1.05)]
        # Declared before lr, so the export varies lr fastest: only the path moves then.
        self.standardize = self.add_control(
            widgets.Checkbox(value=standardized, description="standardize", indent=False))
        self.lr = self.add_control(lr_slider, every=50, include=[round(v, 10) for v in near])
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(4.6, 4.2),
                                    alt="Loss contours over the two weights with the path of "
                                        "gradient descent from (0, 0) towards the minimum.")
        self.check = self.add_check(self.state, check_largest_lr)
        self.run: GDRun | None = None
        self._line = None
        self._outcome = None
        self._drawn_for = None  # (ratio, standardized) whose contours are on the axes
        self.build([self.ratio, self.lr, self.standardize], self.readout, self.live,
                   self.check)

    def state(self) -> dict:
        """The values the checker needs."""
        return {"spread_ratio": self.ratio.value, "lr": self.lr.value,
                "standardized": self.standardize.value}

    def update(self) -> GDRun:
        """Recompute the run and draw it (the base renders it)."""
        run = explore(self.ratio.value, self.lr.value, self.standardize.value,
                      max_steps=self.max_steps)
        self.run = run
        kind = "standardized" if self.standardize.value else "raw"
        key = (self.ratio.value, self.standardize.value)
        if key == self._drawn_for:  # only lr changed: move the path, keep the contours
            path = run.path[:401]
            self._line.set_data(path[:, 0], path[:, 1])
        else:
            first = self._drawn_for is None
            self._line = draw_run(self.live.axes, run, self.lr.value,
                                  title=f"{kind} features, spread ratio {self.ratio.value}")
            # The outcome goes inside the axes: the figure is cropped to the box of the
            # first render, so a title that grows would be cut off.
            self._outcome = self.live.axes.text(
                0.98, 0.03, "", transform=self.live.axes.transAxes, ha="right",
                va="bottom", fontsize=9, bbox={"facecolor": "white", "edgecolor": "0.7"})
            self._drawn_for = key
            if first:  # the layout does not change afterwards; tight_layout is slow
                self.live.fig.tight_layout()
        self._outcome.set_text(f"lr = {self.lr.value:.4f}: {describe_run(run)}")
        self.readout.value = (
            f"condition number of X<sup>T</sup>X: {run.problem.condition_number:.1f} &nbsp;|&nbsp; "
            f"divergence limit 2/&lambda;<sub>max</sub> = {run.problem.lr_limit:.4f} &nbsp;|&nbsp; "
            f"<b>{describe_run(run)}</b>")
        return run


def gd_explorer(ratio: int = 10, lr: float = 0.01, standardized: bool = False) -> GDExplorer:
    """Build the explorer; display its ``.widget``. The Check button runs the exercise for
    spread ratio {LARGEST_LR_RATIO}."""
    return GDExplorer(ratio=ratio, lr=lr, standardized=standardized)


gd_explorer.__doc__ = gd_explorer.__doc__.format(LARGEST_LR_RATIO=LARGEST_LR_RATIO)
