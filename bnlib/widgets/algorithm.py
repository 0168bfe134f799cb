"""Algorithm 1 of Ioffe & Szegedy (2015), step by step, and the chapter's static diagrams.

The computation is :func:`bnlib.batchnorm.algorithm_steps` (every intermediate quantity
for a one-feature batch ``x = offset + scale * z``, ``z`` a fixed standard-normal sample)
and :func:`bnlib.batchnorm.algorithm_table` (them, printed). Here:
:class:`AlgorithmExplorer` wires sliders for the batch size, offset, scale, gamma and beta
and a step selector to two strip plots (:class:`AlgorithmFigure`).

Also here, because they draw the same algorithm: :func:`plot_bn_graph` (the computational
graph used to derive the backward pass) and :func:`plot_bn_axes` (which axes a BatchNorm1d and
a BatchNorm2d average over).
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.patches as mpatches
import numpy as np

from ..batchnorm import MAX_BATCH, AlgorithmSteps, algorithm_steps, algorithm_table
from ..plotting import PALETTE
from ._core import Column, Widget

__all__ = [
    "STEPS",
    "WEB_GRID",
    "MAX_BATCH",
    "AlgorithmSteps",
    "algorithm_steps",
    "algorithm_table",
    "AlgorithmFigure",
    "AlgorithmExplorer",
    "algorithm_explorer",
    "plot_bn_graph",
    "plot_bn_axes",
]

#: The four steps of Algorithm 1, as the step selector names them.
STEPS = ("1 mean", "2 variance", "3 normalize", "4 scale and shift")
_XLIM = (-16.0, 16.0)
#: The positions the web book precomputes for each slider (the step: all four). A coarse
#: grid keeps the page under its 5 MB budget: 4 steps x 3 x 4 x 3 x 2 = 288 frames.
WEB_GRID = {"offset": (-4.0, 0.0, 3.0), "scale": (0.5, 1.0, 2.0, 3.0),
            "gamma": (-1.0, 1.0, 2.0), "beta": (0.0, 2.0)}


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


class AlgorithmExplorer(Widget):
    """Sliders -> :func:`~bnlib.batchnorm.algorithm_steps` -> two strip plots and a table.

    Attributes for tests and the e2e test: ``batch_size``, ``offset``, ``scale``, ``gamma``,
    ``beta`` (sliders), ``step`` (ToggleButtons with values 1..4), ``live`` (the
    LiveFigure), ``table`` (an HTML widget), ``widget``. Web book: a coarse grid is
    precomputed (:data:`WEB_GRID`: every step, offset -4, 0, 3, scale 0.5, 1, 2, 3,
    gamma -1, 1, 2 and beta 0, 2, plus the initial values: 288 frames for the defaults,
    about 3 MB); the batch size stays where the notebook set it (move it in JupyterLab).
    """

    def __init__(self, batch_size=8, offset=3.0, scale=2.0, gamma=1.0, beta=0.0, step=3,
                 seed=0):
        super().__init__()
        self.seed = seed
        style = {"description_width": "90px"}
        kw = dict(continuous_update=False, style=style)
        self.step = self.add_control(widgets.ToggleButtons(
            options=[(name, i + 1) for i, name in enumerate(STEPS)], value=step,
            description="step", style=style))
        self.offset = self.add_control(widgets.FloatSlider(
            offset, min=-5, max=5, step=0.5, description="offset", **kw),
            grid=list(WEB_GRID["offset"]))
        self.scale = self.add_control(widgets.FloatSlider(
            scale, min=0.2, max=3, step=0.1, description="scale", **kw),
            grid=list(WEB_GRID["scale"]))
        self.batch_size = self.add_control(widgets.IntSlider(
            batch_size, 2, MAX_BATCH, description="batch size", **kw), grid=None)
        self.gamma = self.add_control(widgets.FloatSlider(
            gamma, min=-3, max=3, step=0.1, description="gamma γ", **kw),
            grid=list(WEB_GRID["gamma"]))
        self.beta = self.add_control(widgets.FloatSlider(
            beta, min=-5, max=5, step=0.5, description="beta β", **kw),
            grid=list(WEB_GRID["beta"]))
        self.live = self.add_figure(2, 1, figsize=(6.4, 3.6), sharex=True,
                                    alt="Strip plots of a one-feature batch before and after "
                                        "a step of batch normalization.")
        self.live.fig.subplots_adjust(hspace=0.55, left=0.04, right=0.98, top=0.91, bottom=0.14)
        self.table = self.add_readout()
        self.drawing = AlgorithmFigure(self.live.axes)
        controls = Column(self.batch_size, self.offset, self.scale, self.gamma, self.beta)
        self.build(self.step, [controls, self.table], self.live)

    def state(self) -> AlgorithmSteps:
        """The current quantities (what the figure and table show)."""
        return algorithm_steps(self.batch_size.value, self.offset.value, self.scale.value,
                               self.gamma.value, self.beta.value, seed=self.seed)

    def update(self) -> AlgorithmSteps:
        """Recompute and draw the current step (the base renders it)."""
        s = self.state()
        self.drawing.update(s, self.step.value)
        self.table.value = (f"<pre style='font-size:12px;line-height:1.3'>"
                            f"{algorithm_table(s, self.step.value)}</pre>")
        return s


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
