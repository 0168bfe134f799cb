"""Chapter 7 widgets: train vs eval mode for one image, and K workers with per-device or
synchronized statistics.

Both are thin: the computation is :func:`bnlib.practice.predict_in_batch` and
:func:`bnlib.practice.per_device_statistics`; the widgets only pick their inputs from the
controls and move the artists of one figure. Web book: every slider position is a frame
(16 and 7 frames).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..exercises.practice import WORKER_OPTIONS, check_workers_target
from ..plotting import PALETTE
from ..practice import per_device_spread, per_device_statistics, predict_in_batch
from ._core import Widget

__all__ = ["BatchmatesExplorer", "batchmates_explorer", "WorkersExplorer", "workers_explorer"]


class BatchmatesExplorer(Widget):
    """A slider for how many of one image's batch-mates come from one other class.

    model: a trained bnlib model. example: (D,) one image of class ``label``. others:
    (M, D) images of class ``other_label``; randoms: (M, D) random test images. With k on
    the slider, the batch is the example, ``others[:k]`` and ``randoms[:M - k]``. The figure
    shows the example's class probabilities in training mode (batch statistics) and in eval
    mode (running statistics). Attributes for tests: ``mates`` (the slider), ``last``
    (the last ``{"k", "train", "eval"}``), ``widget``.
    """

    def __init__(self, model, example, others, randoms, *, label: int, other_label: int,
                 initial: int = 0):
        super().__init__()
        self.model, self.example = model, np.asarray(example, dtype=float)
        self.others, self.randoms = np.asarray(others, float), np.asarray(randoms, float)
        self.label, self.other_label = int(label), int(other_label)
        n = len(self.randoms)
        self.mates = self.add_control(widgets.IntSlider(
            value=initial, min=0, max=n, description=f"mates of class {other_label}",
            continuous_update=False, style={"description_width": "initial"}))
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(6.4, 2.8), alt="Bar chart of the ten class "
                                    "probabilities of one image in training mode and in eval "
                                    "mode")
        ax = self.live.axes
        classes = np.arange(10)
        self._train = ax.bar(classes - 0.2, np.zeros(10), 0.4, color=PALETTE["vermillion"],
                             label="training mode (batch statistics)")
        self._eval = ax.bar(classes + 0.2, np.zeros(10), 0.4, color=PALETTE["blue"],
                            label="eval mode (running statistics)")
        ax.set(xticks=classes, ylim=(0, 1.05), xlabel="class", ylabel="probability",
               title=f"One image of a {label}: the red bars depend on its batch-mates")
        ax.legend(loc="upper right", fontsize=8)
        self.live.fig.tight_layout()
        self.last = None
        self.build(self.mates, self.readout, self.live)

    def update(self) -> dict:
        k = self.mates.value
        n = len(self.randoms)
        mates = np.vstack([self.others[:k], self.randoms[:n - k]])
        p_train, p_eval = predict_in_batch(self.model, self.example, mates)
        self.last = {"k": k, "train": p_train, "eval": p_eval}
        for bar, p in zip(self._train, p_train):
            bar.set_height(p)
        for bar, p in zip(self._eval, p_eval):
            bar.set_height(p)
        self.readout.value = (f"{k} of {n} batch-mates of class {self.other_label}: training "
                              f"mode says <b>{int(p_train.argmax())}</b> "
                              f"(p = {p_train.max():.2f}), eval mode says "
                              f"<b>{int(p_eval.argmax())}</b> (p = {p_eval.max():.2f})")
        return self.last


def batchmates_explorer(model, example, others, randoms, **kwargs) -> BatchmatesExplorer:
    """Build the widget; display its ``.widget``."""
    return BatchmatesExplorer(model, example, others, randoms, **kwargs)


class WorkersExplorer(Widget):
    """A slider for the number of workers K sharing a global batch x (N, C).

    Left: each worker's batch mean of one channel (per-device BN normalizes with these)
    against the synchronized mean (SyncBN: one value for every worker). Right: each worker's
    variance over the global one. Check runs
    :func:`bnlib.exercises.practice.check_workers_target`. Attributes for tests:
    ``workers`` (the slider), ``check``, ``last`` (``{"workers", "shard", "spread"}``).
    """

    def __init__(self, x, *, channel: int = 0, initial: int = 4):
        super().__init__()
        self.x = np.asarray(x, dtype=float)
        self.channel = int(channel)
        options = [k for k in WORKER_OPTIONS
                   if self.x.shape[0] % k == 0 and self.x.shape[0] // k >= 2]
        self.workers = self.add_control(widgets.SelectionSlider(
            options=options, value=initial, description="workers K", continuous_update=False))
        self.readout = self.add_readout()
        self.live = self.add_figure(1, 2, figsize=(7.5, 2.8), alt="Per-worker batch means and "
                                    "variances of one unit against the synchronized "
                                    "statistics for the chosen number of workers")
        ax_m, ax_v = self.live.axes
        full = per_device_statistics(self.x, 1)
        self._mean, self._var = full["mean"][channel], full["var"][channel]
        sd = np.sqrt(self._var)
        probe = per_device_statistics(self.x, max(options))["means"][:, channel]
        self._m_dots, = ax_m.plot([], [], "o", ms=4, color=PALETTE["orange"],
                                  label="per-device mean")
        ax_m.axhline(self._mean, color=PALETTE["black"], lw=1.5, label="synchronized mean")
        ax_m.set(xlim=(-1, max(options)), ylim=(probe.min() - 0.1 * sd, probe.max() + 0.5 * sd),
                 xlabel="worker", ylabel=f"batch mean of unit {channel}",
                 title="Per-device means scatter; SyncBN uses the line")
        ax_m.legend(loc="upper right", fontsize=8)
        self._v_dots, = ax_v.plot([], [], "s", ms=4, color=PALETTE["green"], label="per-device")
        ax_v.axhline(1.0, color=PALETTE["black"], lw=1.5, label="synchronized")
        ax_v.set(xlim=(-1, max(options)), ylim=(0, 3.2), xlabel="worker",
                 ylabel="variance / global variance", title="Per-device variances")
        ax_v.legend(loc="upper right", fontsize=8)
        self.live.fig.tight_layout()
        self.check = self.add_check(lambda: {"workers": self.workers.value, "x": self.x},
                                    check_workers_target)
        self.last = None
        self.build(self.workers, self.readout, self.live, self.check)

    def update(self) -> dict:
        k = self.workers.value
        s = per_device_statistics(self.x, k)
        spread = per_device_spread(self.x, k)
        self.last = {"workers": k, "shard": s["shard"], "spread": spread}
        self._m_dots.set_data(np.arange(k), s["means"][:, self.channel])
        self._v_dots.set_data(np.arange(k), s["vars"][:, self.channel] / self._var)
        self.readout.value = (f"K = {k} workers, {s['shard']} rows each: the per-device means "
                              f"scatter by <b>{spread:.3f}</b> standard deviations "
                              f"(averaged over the {self.x.shape[1]} units)")
        return self.last


def workers_explorer(x, **kwargs) -> WorkersExplorer:
    """Build the widget; display its ``.widget``."""
    return WorkersExplorer(x, **kwargs)
