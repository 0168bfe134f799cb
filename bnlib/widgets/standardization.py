"""Chapter 2 widget: gradient descent on raw vs standardized features.

The computation is :func:`bnlib.gd.explore` (pure, tested); this module draws one run
(:func:`draw_run`, also used for the chapter's static figures) and wires three controls to it
(:class:`GDExplorer`).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator

from ..exercises.standardization import LARGEST_LR_RATIO, check_largest_lr
from ..gd import GDRun, explore, loss_grid, make_problem
from ..plotting import PALETTE
from ._core import Widget

__all__ = ["view_window", "draw_run", "describe_run", "slider_lr", "walkthrough_lrs",
           "GDExplorer", "gd_explorer"]


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


#: The learning-rate slider's positions are 10 ** (k / 100): two decimals of the exponent.
LR_EXPONENT_DECIMALS = 2


def slider_lr(lr: float) -> float:
    """The learning-rate slider's position nearest ``lr`` (its values are 10 ** (k / 100)).

    The chapter measures its "try this" claims at these positions, so the numbers it prints
    are the ones the explorer shows, in JupyterLab and in the web book.
    """
    return round(10 ** round(float(np.log10(lr)), LR_EXPONENT_DECIMALS), 10)


#: Learning rates the explorer's walk-through and exercise ask for, as multiples of the
#: divergence limit 2 / lambda_max at a spread ratio: {ratio: factors}.
WALKTHROUGH_LIMIT_FACTORS = {8: (0.95, 1.05), 10: (0.75, 0.95, 1.05), 20: (0.95, 1.05)}
#: Learning rates asked for with standardized features (the text says 0.5 to 1.5).
WALKTHROUGH_STANDARDIZED_LRS = (0.5, 0.8, 1.0, 1.2, 1.5)
#: A few more positions, so that the slider's range is felt (0.01 is where it starts).
COVERAGE_LRS = (0.001, 0.01, 0.1)
#: Spread ratios the web book offers: 1 and 2 (the start of the walk-through), 8 (the
#: exercise), 10 (the chapter's problem), 14 and 15 (the last that converges at lr 0.01, the
#: first that diverges), 20 (the end of the slider).
WALKTHROUGH_RATIOS = (1, 2, 8, 10, 14, 15, 20)


def walkthrough_lrs() -> list[float]:
    """The learning-rate grid of the web book: every setting the chapter asks the reader to
    try, on the slider's positions (:func:`slider_lr`), ascending."""
    lrs = {slider_lr(v) for v in COVERAGE_LRS + WALKTHROUGH_STANDARDIZED_LRS}
    for ratio, factors in WALKTHROUGH_LIMIT_FACTORS.items():
        limit = make_problem(float(ratio)).lr_limit
        lrs |= {slider_lr(f * limit) for f in factors}
    return sorted(lrs)


class GDExplorer(Widget):
    """Spread-ratio and learning-rate sliders, a 'standardize' box; contours and path (left),
    the excess loss per step on a log scale (right), a readout.

    Attributes for tests: ``ratio`` (IntSlider), ``lr`` (FloatLogSlider), ``standardize``
    (Checkbox), ``readout`` (HTML), ``check`` (CheckButton), ``run`` (the last GDRun),
    ``live``, ``widget``. Web book: the ratios :data:`WALKTHROUGH_RATIOS`, the learning rates
    :func:`walkthrough_lrs` (every setting the chapter's walk-through and exercise ask for),
    standardize off and on.
    """

    def __init__(self, ratio: int = 10, lr: float = 0.01, standardized: bool = False,
                 max_steps: int = 2000):
        super().__init__()
        self.max_steps = max_steps
        wide = {"description_width": "initial"}
        self.ratio = self.add_control(
            widgets.IntSlider(value=ratio, min=1, max=20, step=1, description="spread ratio",
                              style=wide), grid=list(WALKTHROUGH_RATIOS))
        lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.3, step=0.01,
                                           description="learning rate", readout_format=".4f",
                                           style=wide)
        # Declared before lr, so the export varies lr fastest: only the path moves then.
        self.standardize = self.add_control(
            widgets.Checkbox(value=standardized, description="standardize", indent=False))
        self.lr = self.add_control(lr_slider, grid=walkthrough_lrs())
        self.readout = self.add_readout()
        self.live = self.add_figure(1, 2, figsize=(8.0, 3.6),
                                    gridspec_kw={"width_ratios": [1.0, 1.1]},
                                    alt="Left: loss contours over the two weights with the "
                                        "path of gradient descent from (0, 0) towards the "
                                        "minimum. Right: the excess loss per step on a log "
                                        "scale, with the target 0.001.")
        self.check = self.add_check(self.state, check_largest_lr)
        self.run: GDRun | None = None
        self._line = None
        self._outcome = None
        self._drawn_for = None  # (ratio, standardized) whose contours are on the axes
        self._loss_line = self._draw_loss_axes()
        self.build([self.ratio, self.lr, self.standardize], self.readout, self.live,
                   self.check)

    def state(self) -> dict:
        """The values the checker needs."""
        return {"spread_ratio": self.ratio.value, "lr": self.lr.value,
                "standardized": self.standardize.value}

    def _draw_loss_axes(self):
        """The right panel, drawn once: log excess loss against the step, and the target."""
        ax = self.live.axes[1]
        (line,) = ax.plot([], [], "-", color=PALETTE["vermillion"], lw=1.4)
        ax.axhline(1e-3, ls="--", color=PALETTE["black"], lw=1)
        ax.text(0.98, 1.4e-3, "target: within 0.001 of the minimum", fontsize=8,
                transform=ax.get_yaxis_transform(), ha="right", va="bottom")
        ax.set_yscale("log")
        ax.set(ylim=(1e-4, 1e3), xlim=(0, 100), xlabel="step",
               ylabel="L(w) - L(w*), log scale", title="excess loss at each step")
        # Fixed plain tick labels and no minor ticks: log-axis mathtext labels would make
        # every redraw several times slower.
        ax.yaxis.set_major_locator(FixedLocator([1e-4, 1e-2, 1e0, 1e2]))
        ax.yaxis.set_major_formatter(FixedFormatter(["0.0001", "0.01", "1", "100"]))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
        return line

    def update(self) -> GDRun:
        """Recompute the run and draw it (the base renders it)."""
        run = explore(self.ratio.value, self.lr.value, self.standardize.value,
                      max_steps=self.max_steps)
        self.run = run
        kind = "standardized" if self.standardize.value else "raw"
        key = (self.ratio.value, self.standardize.value)
        contour_ax, loss_ax = self.live.axes
        if key == self._drawn_for:  # only lr changed: move the path, keep the contours
            path = run.path[:401]
            self._line.set_data(path[:, 0], path[:, 1])
        else:
            first = self._drawn_for is None
            self._line = draw_run(contour_ax, run, self.lr.value,
                                  title=f"{kind} features, spread ratio {self.ratio.value}")
            if self.standardize.value:
                contour_ax.set_xlabel("w₁ (weight of feature 1, standardized)")
                contour_ax.set_ylabel("w₂ (weight of feature 2, standardized)")
            # The outcome goes inside the axes: the figure is cropped to the box of the
            # first render, so a title that grows would be cut off.
            self._outcome = contour_ax.text(
                0.98, 0.03, "", transform=contour_ax.transAxes, ha="right",
                va="bottom", fontsize=9, bbox={"facecolor": "white", "edgecolor": "0.7"})
            self._drawn_for = key
            if first:  # the layout does not change afterwards; tight_layout is slow
                self.live.fig.tight_layout()
        self._outcome.set_text(f"lr = {self.lr.value:.4f}: {describe_run(run)}")
        excess = np.maximum(run.losses - run.problem.loss_star, 1e-300)
        self._loss_line.set_data(np.arange(excess.size), excess)
        loss_ax.set_xlim(0, max(10, int(np.ceil(1.05 * (excess.size - 1)))))
        limit = run.problem.lr_limit
        self.readout.value = (
            f"{kind} features, spread ratio {self.ratio.value} &nbsp;|&nbsp; "
            f"condition number of X<sup>T</sup>X: {run.problem.condition_number:.1f}"
            f" &nbsp;|&nbsp; divergence limit 2/&lambda;<sub>max</sub> = {limit:.4f}"
            f" &nbsp;|&nbsp; learning rate {self.lr.value:.4f} = "
            f"{self.lr.value / limit:.2f} &times; the limit &nbsp;|&nbsp; "
            f"<b>{describe_run(run)}</b>")
        return run


def gd_explorer(ratio: int = 10, lr: float = 0.01, standardized: bool = False) -> GDExplorer:
    """Build the explorer; display its ``.widget``. The Check button runs the exercise for
    spread ratio {LARGEST_LR_RATIO}."""
    return GDExplorer(ratio=ratio, lr=lr, standardized=standardized)


gd_explorer.__doc__ = gd_explorer.__doc__.format(LARGEST_LR_RATIO=LARGEST_LR_RATIO)
