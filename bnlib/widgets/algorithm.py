"""Algorithm 1 of Ioffe & Szegedy (2015), step by step, and the chapter's static diagrams.

Pure part (tested, fast): :func:`algorithm_steps` computes every intermediate quantity for a
one-feature batch ``x = offset + scale * z`` (``z`` a fixed standard-normal sample), and
:func:`algorithm_table` prints them. Thin part: :func:`algorithm_explorer` wires sliders for
the batch size, offset, scale, gamma and beta and a step selector to a :class:`LiveFigure`.

Also here, because they draw the same algorithm: :func:`plot_bn_graph` (the computational
graph used to derive the backward pass) and :func:`plot_bn_axes` (which axes a BatchNorm1d and
a BatchNorm2d average over).
"""
from __future__ import annotations

from typing import NamedTuple

import ipywidgets as widgets
import matplotlib.patches as mpatches
import numpy as np

from ..batchnorm import batchnorm_forward
from ..plotting import PALETTE
from ._core import LiveFigure

__all__ = [
    "STEPS",
    "MAX_BATCH",
    "AlgorithmSteps",
    "algorithm_steps",
    "algorithm_table",
    "AlgorithmFigure",
    "draw_algorithm",
    "AlgorithmExplorer",
    "algorithm_explorer",
    "plot_bn_graph",
    "plot_bn_axes",
]

#: The four steps of Algorithm 1, as the step selector names them.
STEPS = ("1 mean", "2 variance", "3 normalize", "4 scale and shift")
#: Largest batch the explorer offers; smaller batches are the first ``batch_size`` values.
MAX_BATCH = 64
_XLIM = (-16.0, 16.0)


class AlgorithmSteps(NamedTuple):
    """Every quantity of Algorithm 1 for one feature. Arrays have shape (batch_size,)."""

    x: np.ndarray          # the raw batch
    mean: float            # mu_B
    var: float             # sigma^2_B, biased (divide by m)
    centered: np.ndarray   # x - mu_B
    x_hat: np.ndarray      # (x - mu_B) / sqrt(var + eps)
    y: np.ndarray          # gamma * x_hat + beta
    gamma: float
    beta: float
    eps: float


def _base_sample(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(MAX_BATCH)


def algorithm_steps(batch_size: int = 16, offset: float = 3.0, scale: float = 2.0,
                    gamma: float = 1.0, beta: float = 0.0, eps: float = 1e-5,
                    seed: int = 0) -> AlgorithmSteps:
    """Run Algorithm 1 on the batch ``offset + scale * z[:batch_size]``.

    batch_size: 2..MAX_BATCH examples of one feature. offset, scale: move and stretch the
    raw batch. gamma, beta: the layer's scale and shift. z is a fixed standard-normal
    sample drawn from ``seed``, so the same arguments always give the same batch.
    """
    batch_size = int(batch_size)
    if not 2 <= batch_size <= MAX_BATCH:
        raise ValueError(f"algorithm_steps: batch_size is {batch_size}; expected 2..{MAX_BATCH}")
    x = offset + scale * _base_sample(seed)[:batch_size]
    y, cache = batchnorm_forward(x[:, None], np.array([gamma], float), np.array([beta], float),
                                 eps)
    mean, var = float(cache.mean[0]), float(cache.var[0])
    return AlgorithmSteps(x, mean, var, x - mean, cache.x_hat[:, 0], y[:, 0],
                          float(gamma), float(beta), float(eps))


def algorithm_table(s: AlgorithmSteps, step: int = 4, n_show: int = 5) -> str:
    """The numbers of steps 1..``step`` as plain text (the first ``n_show`` examples)."""
    def row(name, values):
        shown = " ".join(f"{v:7.3f}" for v in values[:n_show])
        more = " ..." if len(values) > n_show else ""
        return f"{name:<12}{shown}{more}"

    lines = [f"batch of m = {len(s.x)}", row("x", s.x)]
    if step >= 1:
        lines.append(f"1 mean       mu = {s.mean:.3f}")
    if step >= 2:
        lines.append(f"2 variance   sigma^2 = {s.var:.3f} (divide by m)")
    if step >= 3:
        lines += [row("  x - mu", s.centered),
                  f"3 normalize  divide by sqrt(sigma^2 + eps) = {np.sqrt(s.var + s.eps):.3f}",
                  row("  x_hat", s.x_hat)]
    if step >= 4:
        lines += [f"4 scale and shift  gamma = {s.gamma:.2f}, beta = {s.beta:.2f}",
                  row("  y", s.y)]
    return "\n".join(lines)


def _fmt(v: float) -> str:
    """Two decimals without a '-0.00'."""
    return f"{0.0 if abs(v) < 0.005 else v:.2f}"


class AlgorithmFigure:
    """The explorer's two strip plots: raw batch (top), batch after a step (bottom).

    The artists are created once; :meth:`update` moves them (no ``ax.clear()``), which keeps
    a redraw cheap.
    """

    def __init__(self, axes):
        self.axes = top, bottom = axes
        jitter = np.random.default_rng(1).uniform(-0.35, 0.35, MAX_BATCH)
        self._jitter = jitter
        self.points, self.bands, self.lines = [], [], []
        for ax, colour in ((top, PALETTE["blue"]), (bottom, PALETTE["green"])):
            ax.set_xlim(*_XLIM)
            ax.set_ylim(-0.6, 0.6)
            ax.set_yticks([])
            self.bands.append(ax.axvspan(-1, 1, color=PALETTE["orange"], alpha=0.15, lw=0,
                                         label="± one std"))
            self.lines.append(ax.axvline(0, color=PALETTE["orange"], lw=2, label="mean"))
            self.points.append(ax.scatter(np.zeros(2), np.zeros(2), s=18, color=colour,
                                          alpha=0.85, zorder=3))
        top.legend(handles=[self.lines[0], self.bands[0]], loc="upper left")
        bottom.set_xlabel("value of the feature (arbitrary units)")

    def update(self, s: AlgorithmSteps, step: int = 4) -> None:
        """Show the quantities ``s`` after ``step`` (1..4) of Algorithm 1."""
        top, bottom = self.axes
        if step == 1:
            values, label = s.centered, "x − mean (step 1 centres the batch)"
        elif step == 2:
            values, label = s.centered, "x − mean, with ± std band (step 2)"
        elif step == 3:
            values, label = s.x_hat, "x̂: mean 0, variance 1 for any offset and scale"
        else:
            values, label = s.y, f"y = γ x̂ + β: mean {_fmt(s.y.mean())}, std {_fmt(s.y.std())}"
        for i, v in enumerate((s.x, values)):
            centre, spread = float(v.mean()), float(v.std())
            self.points[i].set_offsets(np.column_stack([v, self._jitter[:len(v)]]))
            self.lines[i].set_xdata([centre, centre])
            self.bands[i].set_x(centre - spread)
            self.bands[i].set_width(2 * spread)
            self.bands[i].set_visible(step >= 2)
        top.set_title(f"Raw batch x: mean {_fmt(s.mean)}, variance {_fmt(s.var)}")
        bottom.set_title(f"After step {step}: {label}")


def draw_algorithm(axes, s: AlgorithmSteps, step: int = 4) -> AlgorithmFigure:
    """Draw the raw batch (top) and the batch after ``step`` (bottom) on two fresh axes."""
    figure = AlgorithmFigure(axes)
    figure.update(s, step)
    return figure


class AlgorithmExplorer:
    """Sliders -> :func:`algorithm_steps` -> two strip plots and a table of numbers.

    Attributes for tests and the e2e test: ``batch_size``, ``offset``, ``scale``, ``gamma``,
    ``beta`` (sliders), ``step`` (ToggleButtons with values 1..4), ``live`` (the
    LiveFigure), ``table`` (an HTML widget), ``widget`` (the VBox to display).
    """

    def __init__(self, batch_size=8, offset=3.0, scale=2.0, gamma=1.0, beta=0.0, step=3,
                 seed=0):
        self.seed = seed
        style = {"description_width": "90px"}
        kw = dict(continuous_update=False, style=style)
        self.batch_size = widgets.IntSlider(batch_size, 2, MAX_BATCH, description="batch size",
                                            **kw)
        self.offset = widgets.FloatSlider(offset, min=-5, max=5, step=0.5, description="offset",
                                          **kw)
        self.scale = widgets.FloatSlider(scale, min=0.2, max=3, step=0.1, description="scale",
                                         **kw)
        self.gamma = widgets.FloatSlider(gamma, min=-3, max=3, step=0.1, description="gamma γ",
                                         **kw)
        self.beta = widgets.FloatSlider(beta, min=-5, max=5, step=0.5, description="beta β",
                                        **kw)
        self.step = widgets.ToggleButtons(options=[(name, i + 1) for i, name in enumerate(STEPS)],
                                          value=step, description="step", style=style)
        self.live = LiveFigure(2, 1, figsize=(6.4, 3.6), sharex=True,
                               alt="Strip plots of a one-feature batch before and after a step "
                                   "of batch normalization.")
        self.live.fig.subplots_adjust(hspace=0.55, left=0.04, right=0.98, top=0.91, bottom=0.14)
        self.table = widgets.HTML()
        self.drawing = AlgorithmFigure(self.live.axes)
        for control in (self.batch_size, self.offset, self.scale, self.gamma, self.beta,
                        self.step):
            control.observe(lambda _: self.update(), names="value")
        controls = widgets.VBox([self.batch_size, self.offset, self.scale, self.gamma, self.beta])
        self.widget = widgets.VBox([self.step, widgets.HBox([controls, self.table]),
                                    self.live.output])
        self.update()

    def state(self) -> AlgorithmSteps:
        """The current quantities (what the figure and table show)."""
        return algorithm_steps(self.batch_size.value, self.offset.value, self.scale.value,
                               self.gamma.value, self.beta.value, seed=self.seed)

    def update(self) -> None:
        s = self.state()
        self.drawing.update(s, self.step.value)
        self.table.value = (f"<pre style='font-size:12px;line-height:1.3'>"
                            f"{algorithm_table(s, self.step.value)}</pre>")
        self.live.refresh()


def algorithm_explorer(**kwargs) -> AlgorithmExplorer:
    """Build the Algorithm 1 explorer; display its ``.widget``. Keyword arguments: the
    initial ``batch_size``, ``offset``, ``scale``, ``gamma``, ``beta``, ``step`` and ``seed``."""
    return AlgorithmExplorer(**kwargs)


# ------------------------------------------------------------------------- static diagrams

_GRAPH_NODES = {
    # name: (x, y, label)
    "x": (0.0, 1.0, "$x$"),
    "mu": (1.9, 2.3, r"$\mu = \frac{1}{m}\sum x$"),
    "xmu": (3.6, 1.0, r"$x - \mu$"),
    "var": (5.6, 2.3, r"$\sigma^2 = \frac{1}{m}\sum (x-\mu)^2$"),
    "istd": (8.3, 2.3, r"$1/\sqrt{\sigma^2+\epsilon}$"),
    "xhat": (8.3, 1.0, r"$\hat{x}$"),
    "y": (10.9, 1.0, r"$y = \gamma\hat{x} + \beta$"),
    "gb": (10.9, 2.3, r"$\gamma,\ \beta$"),
}
_GRAPH_EDGES = [("x", "mu"), ("x", "xmu"), ("mu", "xmu"), ("xmu", "var"), ("var", "istd"),
                ("xmu", "xhat"), ("istd", "xhat"), ("xhat", "y"), ("gb", "y")]


def plot_bn_graph(ax) -> None:
    """Draw the forward computational graph of batch normalization for one feature.

    Forward edges are black arrows; the caption in the notebook explains that the backward
    pass walks them in reverse. x reaches x_hat along three paths: directly through x - mu,
    through mu, and through sigma^2.
    """
    ax.set_xlim(-0.5, 12.2)
    ax.set_ylim(0.3, 2.95)
    ax.axis("off")
    boxes = {}
    for name, (x, y, label) in _GRAPH_NODES.items():
        colour = PALETTE["sky"] if name in ("x", "y") else "white"
        boxes[name] = ax.text(x, y, label, ha="center", va="center", fontsize=10, zorder=3,
                              bbox=dict(boxstyle="round,pad=0.35", fc=colour,
                                        ec=PALETTE["black"], lw=1))
    for a, b in _GRAPH_EDGES:
        ax.annotate("", xy=_GRAPH_NODES[b][:2], xytext=_GRAPH_NODES[a][:2],
                    arrowprops=dict(arrowstyle="-|>", color=PALETTE["black"], lw=1.2,
                                    shrinkA=3, shrinkB=3, patchA=boxes[a], patchB=boxes[b]))
    for x, y, text in [(1.8, 0.7, "path 1: direct"), (1.9, 2.8, "path 2: through μ"),
                       (5.6, 2.8, "path 3: through σ²")]:
        ax.text(x, y, text, fontsize=9, color=PALETTE["vermillion"], ha="center")
    ax.set_title("Forward graph of batch normalization (one feature); "
                 "backward runs it right to left")


def _grid(ax, x0, y0, rows, cols, size, face, edge="white"):
    for r in range(rows):
        for c in range(cols):
            ax.add_patch(mpatches.Rectangle((x0 + c * size, y0 + r * size), size, size,
                                            fc=face, ec=edge, lw=0.6))


def plot_bn_axes(axes, n: int = 4, d: int = 5, c: int = 3, hw: int = 3, feature: int = 1) -> None:
    """Two panels: the values one BatchNorm1d statistic covers in an (N, D) batch (one
    column) and the values one BatchNorm2d statistic covers in an (N, C, H, W) batch (one
    channel of every image: all N, H and W)."""
    left, right = axes
    for ax in axes:
        ax.set_aspect("equal")
        ax.axis("off")
    for j in range(d):
        _grid(left, j, 0, n, 1, 1.0, PALETTE["orange"] if j == feature else "#dddddd")
    left.set_xlim(-1.2, d + 0.2)
    left.set_ylim(-1.2, n + 0.6)
    left.text(d / 2, -0.7, "features D", ha="center")
    left.text(-0.6, n / 2, "examples N", rotation=90, va="center")
    left.set_title("BatchNorm1d: statistics per feature\nover the N examples (one column)")
    cell = hw + 1
    for i in range(n):
        for ch in range(c):
            face = PALETTE["orange"] if ch == feature else "#dddddd"
            _grid(right, i * cell, (c - 1 - ch) * cell, hw, hw, 1.0, face)
    right.set_xlim(-1.5, n * cell)
    right.set_ylim(-1.5, c * cell + 0.4)
    right.text(n * cell / 2 - 0.5, -1.0, f"examples N (each an H × W = {hw} × {hw} image)",
               ha="center")
    right.text(-0.9, c * cell / 2 - 0.5, "channels C", rotation=90, va="center")
    right.set_title("BatchNorm2d: statistics per channel\nover N, H and W (one row of images)")
