"""Chapter 6 widgets: the (N, C, H, W) cube and the batch-size explorer.

Both are thin: the cube draws :func:`bnlib.normalization.statistics_mask` (which values
share one mean and variance), the explorer draws
:func:`bnlib.experiments.family.curves_at` over the cached sweep.
"""
from __future__ import annotations

from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import ListedColormap

from ..exercises.family import CUBE_SHAPE, check_cube_target
from ..normalization import statistics_mask, statistics_shape
from ..plotting import PALETTE
from ._core import CheckButton, LiveFigure

__all__ = ["cube_layout", "normalization_cube", "batch_size_explorer"]

_METHOD_NAMES = {"batch": "batch norm", "layer": "layer norm", "instance": "instance norm",
                 "group": "group norm"}


def cube_layout(mask: np.ndarray, index) -> np.ndarray:
    """The (N, C, H, W) mask as a 2-D picture: one column of blocks per example, one row of
    blocks per channel, each block the H x W positions, one blank pixel between blocks.
    Values: 0 blank, 1 not shared, 2 shares the statistics, 3 the chosen value's channel
    block. Pure (tested); the cube widget only shows it."""
    n, c, h, w = mask.shape
    img = np.zeros((c * (h + 1) - 1, n * (w + 1) - 1), dtype=np.int8)
    for i in range(n):
        for j in range(c):
            block = np.where(mask[i, j], 2, 1)
            if (i, j) == (int(index[0]), int(index[1])):
                block = np.where(mask[i, j], 3, 1)
            img[j * (h + 1):j * (h + 1) + h, i * (w + 1):i * (w + 1) + w] = block
    return img


def normalization_cube(shape=CUBE_SHAPE, *, index=(1, 2), initial="batch", groups=3):
    """Pick a method (and G for group norm): the picture shows an (N, C, H, W) batch, one
    column per example and one row of blocks per channel; the orange cells share one mean
    and variance with the chosen example's channel (dark). A Check button runs
    :func:`bnlib.exercises.family.check_cube_target`.

    Returns a namespace with ``method`` and ``num_groups`` (the controls), ``update()``,
    ``state`` (``mask``, ``count``, ``mean_shape``), ``check`` and ``widget``.
    """
    n, c, h, w = shape
    divisors = [d for d in range(1, c + 1) if c % d == 0]
    method = widgets.ToggleButtons(options=[(v, k) for k, v in _METHOD_NAMES.items()],
                                   value=initial, description="method")
    num_groups = widgets.SelectionSlider(options=divisors, value=groups,
                                         description="groups G", continuous_update=False)
    live = LiveFigure(figsize=(4.6, 3.6), alt="A grid of blocks, one column per example and "
                      "one row per channel; the blocks that share one mean are orange")
    ax = live.axes
    cmap = ListedColormap(["white", "#dddddd", PALETTE["orange"], PALETTE["vermillion"]])
    image = ax.imshow(cube_layout(np.zeros(shape, bool), index), cmap=cmap, vmin=0, vmax=3,
                      interpolation="nearest")
    ax.set_xticks([i * (w + 1) + (w - 1) / 2 for i in range(n)], [str(i) for i in range(n)])
    ax.set_yticks([j * (h + 1) + (h - 1) / 2 for j in range(c)], [str(j) for j in range(c)])
    ax.set(xlabel=f"example n (each block: {h} x {w} positions)", ylabel="channel c")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    live.fig.tight_layout()
    state = SimpleNamespace(mask=None, count=None, mean_shape=None)

    def update(*_):
        g = num_groups.value
        mask = statistics_mask(method.value, shape, index, g)
        state.mask, state.count = mask, int(mask.sum())
        state.mean_shape = statistics_shape(method.value, shape, g)
        image.set_data(cube_layout(mask, index))
        extra = f", G = {g}" if method.value == "group" else ""
        ax.set_title(f"{_METHOD_NAMES[method.value]}{extra}: one mean over {state.count} "
                     f"values,\nmean shape {state.mean_shape}", fontsize=10)
        num_groups.disabled = method.value != "group"
        live.refresh()

    method.observe(update, names="value")
    num_groups.observe(update, names="value")
    check = CheckButton(lambda: {"method": method.value, "num_groups": num_groups.value},
                        check_cube_target)
    update()
    return SimpleNamespace(method=method, num_groups=num_groups, live=live, update=update,
                           state=state, check=check,
                           widget=widgets.VBox([method, num_groups, live.output, check.widget]))


def batch_size_explorer(cache: dict, *, initial: int = 2):
    """A batch-size slider over the cached sweep: the mean validation accuracy (over seeds)
    of batch, group and layer norm and of no normalization, against the number of training
    examples seen, for the chosen batch size.

    cache: the dict of bnlib/cache/ch6_batch_size.json. Returns a namespace with
    ``batch_size`` (the slider), ``update()``, ``state.curves`` (what is drawn) and ``widget``.
    """
    from ..experiments.family import LABELS, curves_at

    runs, cfg = cache["runs"], cache["config"]
    sizes = [int(b) for b in cfg["batch_sizes"]]
    methods = list(cfg["methods"])
    slider = widgets.SelectionSlider(options=sizes, value=initial, description="batch size",
                                     continuous_update=False)
    live = LiveFigure(figsize=(6.0, 3.2), alt="Validation accuracy against training examples "
                      "seen for batch, group and layer norm and no normalization at the chosen "
                      "batch size")
    ax = live.axes
    colours = {"bn": PALETTE["blue"], "gn": PALETTE["orange"], "ln": PALETTE["green"],
               "none": PALETTE["black"]}
    styles = {"bn": "o-", "gn": "s-", "ln": "^-", "none": "--"}
    first = curves_at(runs, sizes[0], methods)
    lines = {m: ax.plot(first[m][0], first[m][1], styles[m], color=colours[m], ms=4,
                        label=LABELS[m])[0] for m in methods}
    ax.set(xlabel="training examples seen", ylabel="validation accuracy", ylim=(0.5, 1.0))
    ax.legend(loc="lower right")
    live.fig.tight_layout()
    state = SimpleNamespace(curves=None)

    def update(*_):
        curves = curves_at(runs, slider.value, methods)
        state.curves = curves
        for m, (seen, acc) in curves.items():
            lines[m].set_data(seen, acc)
        best = max(methods, key=lambda m: curves[m][1][-1])
        ax.set_title(f"batch size {slider.value}: highest final validation accuracy: "
                     f"{LABELS[best]} ({curves[best][1][-1]:.3f})", fontsize=10)
        live.refresh()

    slider.observe(update, names="value")
    update()
    return SimpleNamespace(batch_size=slider, live=live, update=update, state=state,
                           widget=widgets.VBox([slider, live.output]))
