"""Chapter 6 widgets: the (N, C, H, W) cube and the batch-size explorer.

Both are thin: the cube draws :func:`bnlib.normalization.statistics_mask` (which values
share one mean and variance, laid out by :func:`bnlib.normalization.statistics_picture`),
the explorer draws :func:`bnlib.experiments.family.curves_at` over the cached sweep.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import ListedColormap

from ..exercises.family import CUBE_SHAPE, check_cube_target
from ..normalization import statistics_mask, statistics_picture, statistics_shape
from ..plotting import PALETTE
from ._core import Widget

__all__ = ["NormalizationCube", "normalization_cube", "BatchSizeExplorer", "batch_size_explorer"]

_METHOD_NAMES = {"batch": "batch norm", "layer": "layer norm", "instance": "instance norm",
                 "group": "group norm"}


class NormalizationCube(Widget):
    """Pick a method (and G for group norm): the picture shows an (N, C, H, W) batch, one
    column per example and one row of blocks per channel; the orange cells share one mean
    and variance with the chosen example's channel (dark). A Check button runs
    :func:`bnlib.exercises.family.check_cube_target`.

    Attributes for tests: ``method`` (ToggleButtons), ``num_groups`` (SelectionSlider),
    ``readout``, ``check``, ``state`` (the last update: ``mask``, ``count``, ``mean_shape``).
    Web book: every method and every divisor of C (4 x 4 frames).
    """

    def __init__(self, shape=CUBE_SHAPE, *, index=(1, 2), initial="batch", groups=3):
        super().__init__()
        self.shape, self.index = tuple(shape), tuple(index)
        n, c, h, w = self.shape
        self.method = self.add_control(widgets.ToggleButtons(
            options=[(v, k) for k, v in _METHOD_NAMES.items()], value=initial,
            description="method"))
        self.num_groups = self.add_control(widgets.SelectionSlider(
            options=[d for d in range(1, c + 1) if c % d == 0], value=groups,
            description="groups G", continuous_update=False))
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(4.6, 3.4), alt="A grid of blocks, one column per "
                                    "example and one row per channel; the blocks that share "
                                    "one mean with the dark block are orange")
        self.check = self.add_check(lambda: {"method": self.method.value,
                                             "num_groups": self.num_groups.value},
                                    check_cube_target)
        ax = self.live.axes
        cmap = ListedColormap(["white", "#dddddd", PALETTE["orange"], PALETTE["vermillion"]])
        self._image = ax.imshow(statistics_picture(np.zeros(self.shape, bool), self.index),
                                cmap=cmap, vmin=0, vmax=3, interpolation="nearest")
        ax.set_xticks([i * (w + 1) + (w - 1) / 2 for i in range(n)], [str(i) for i in range(n)])
        ax.set_yticks([j * (h + 1) + (h - 1) / 2 for j in range(c)], [str(j) for j in range(c)])
        ax.set(xlabel=f"example n (each block: {h} x {w} positions)", ylabel="channel c",
               title="Orange: the values behind one mean")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        self.live.fig.tight_layout()
        self.state = None
        self.build(self.method, self.num_groups, self.readout, self.live, self.check)

    def update(self):
        """Compute the mask for the controls and draw it (the base renders)."""
        from types import SimpleNamespace
        g = self.num_groups.value
        mask = statistics_mask(self.method.value, self.shape, self.index, g)
        self.state = SimpleNamespace(mask=mask, count=int(mask.sum()),
                                     mean_shape=statistics_shape(self.method.value, self.shape, g))
        self._image.set_data(statistics_picture(mask, self.index))
        used = f" with G = {g}" if self.method.value == "group" else f" (G = {g} is not used)"
        self.readout.value = (f"{_METHOD_NAMES[self.method.value]}{used}: one mean over "
                              f"{self.state.count} values; the mean has shape "
                              f"{self.state.mean_shape}")
        return self.state


def normalization_cube(shape=CUBE_SHAPE, **kwargs) -> NormalizationCube:
    """Build the cube widget; display its ``.widget``."""
    return NormalizationCube(shape, **kwargs)


class BatchSizeExplorer(Widget):
    """A batch-size slider over the cached sweep: the mean validation accuracy (over seeds)
    of batch, group and layer norm and of no normalization, against the number of training
    examples seen, for the chosen batch size.

    cache: the dict of bnlib/cache/ch6_batch_size.json. Attributes for tests: ``batch_size``
    (the slider), ``readout``, ``curves`` (what the last update drew). Web book: every batch
    size (6 frames).
    """

    def __init__(self, cache: dict, *, initial: int = 2):
        super().__init__()
        from ..experiments.family import LABELS, curves_at
        self._curves_at, self._labels = curves_at, LABELS
        self.runs, cfg = cache["runs"], cache["config"]
        sizes = [int(b) for b in cfg["batch_sizes"]]
        self.methods = list(cfg["methods"])
        self.batch_size = self.add_control(widgets.SelectionSlider(
            options=sizes, value=initial, description="batch size", continuous_update=False))
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(6.0, 3.2), alt="Validation accuracy against "
                                    "training examples seen for batch, group and layer norm "
                                    "and no normalization at the chosen batch size")
        ax = self.live.axes
        colours = {"bn": PALETTE["blue"], "gn": PALETTE["orange"], "ln": PALETTE["green"],
                   "none": PALETTE["black"]}
        styles = {"bn": "o-", "gn": "s-", "ln": "^-", "none": "--"}
        first = curves_at(self.runs, sizes[0], self.methods)
        self._lines = {m: ax.plot(*first[m], styles[m], color=colours[m], ms=4,
                                  label=LABELS[m])[0] for m in self.methods}
        ax.set(xlabel="training examples seen", ylabel="validation accuracy", ylim=(0.6, 1.0),
               title="Validation accuracy during training (mean of 5 seeds)")
        ax.legend(loc="lower right")
        self.live.fig.tight_layout()
        self.curves = None
        self.build(self.batch_size, self.readout, self.live)

    def update(self):
        """Draw the curves of the chosen batch size (the base renders)."""
        curves = self._curves_at(self.runs, self.batch_size.value, self.methods)
        self.curves = curves
        for m, (seen, acc) in curves.items():
            self._lines[m].set_data(seen, acc)
        final = ", ".join(f"{self._labels[m]} {curves[m][1][-1]:.3f}" for m in self.methods)
        self.readout.value = f"batch size {self.batch_size.value}, final validation accuracy: {final}"
        return curves


def batch_size_explorer(cache: dict, *, initial: int = 2) -> BatchSizeExplorer:
    """Build the batch-size explorer; display its ``.widget``."""
    return BatchSizeExplorer(cache, initial=initial)
