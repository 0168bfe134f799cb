"""Chapter 7 widgets: train vs eval mode for one image, and K workers with per-device or
synchronized statistics.

Both are thin: the computation is :func:`bnlib.practice.predict_in_batch` and
:func:`bnlib.practice.per_device_statistics`; the widgets only pick their inputs from the
controls and redraw one figure.
"""
from __future__ import annotations

from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np

from ..exercises.practice import WORKER_OPTIONS, check_workers_target
from ..plotting import PALETTE
from ..practice import per_device_statistics, predict_in_batch
from ._core import CheckButton, LiveFigure

__all__ = ["batchmates_explorer", "workers_explorer"]


def batchmates_explorer(model, example, others, randoms, *, label: int, other_label: int,
                        initial: int = 0):
    """A slider for how many of the example's 15 batch-mates come from one other class.

    model: a trained bnlib model. example: (D,) one image of class ``label``. others:
    (15, D) images of class ``other_label``; randoms: (15, D) random test images. With k on
    the slider, the batch is the example, ``others[:k]`` and ``randoms[:15 - k]``. The figure
    shows the example's class probabilities in training mode (batch statistics) and in eval
    mode (running statistics). Returns a namespace with ``mates`` (the slider), ``update()``,
    ``state.last`` (train and eval probabilities) and ``widget``.
    """
    n = len(randoms)
    slider = widgets.IntSlider(value=initial, min=0, max=n, description="mates of class "
                               f"{other_label}", continuous_update=False,
                               style={"description_width": "initial"})
    live = LiveFigure(figsize=(6.4, 2.8), alt="Bar chart of the ten class probabilities of "
                      "one image in training mode and in eval mode")
    ax = live.axes
    classes = np.arange(10)
    train_bars = ax.bar(classes - 0.2, np.zeros(10), 0.4, color=PALETTE["vermillion"],
                        label="training mode (batch statistics)")
    eval_bars = ax.bar(classes + 0.2, np.zeros(10), 0.4, color=PALETTE["blue"],
                       label="eval mode (running statistics)")
    ax.set(xticks=classes, ylim=(0, 1.05), xlabel="class", ylabel="probability")
    ax.legend(loc="upper left", fontsize=8)
    live.fig.tight_layout()
    state = SimpleNamespace(last=None)

    def update(*_):
        k = slider.value
        mates = np.vstack([others[:k], randoms[:n - k]])
        p_train, p_eval = predict_in_batch(model, example, mates)
        state.last = {"k": k, "train": p_train, "eval": p_eval}
        for bar, p in zip(train_bars, p_train):
            bar.set_height(p)
        for bar, p in zip(eval_bars, p_eval):
            bar.set_height(p)
        ax.set_title(f"a {label} with {k} of {n} mates from class {other_label}: train mode says "
                     f"{int(p_train.argmax())}, eval mode {int(p_eval.argmax())}")
        live.refresh()

    slider.observe(update, names="value")
    update()
    return SimpleNamespace(mates=slider, live=live, update=update, state=state,
                           widget=widgets.VBox([slider, live.output]))


def workers_explorer(x, *, channel: int = 0, initial: int = 4):
    """A slider for the number of workers K sharing a global batch x (N, C).

    Left: each worker's batch mean of one channel (per-device BN normalizes with these)
    against the synchronized mean (SyncBN: one value for every worker). Right: each worker's
    variance over the global one. A Check button runs
    :func:`bnlib.exercises.practice.check_workers_target`. Returns a namespace with
    ``workers`` (the slider), ``check``, ``update()``, ``state.last`` and ``widget``.
    """
    x = np.asarray(x, dtype=float)
    options = [k for k in WORKER_OPTIONS if x.shape[0] % k == 0 and x.shape[0] // k >= 2]
    slider = widgets.SelectionSlider(options=options, value=initial, description="workers K",
                                     continuous_update=False)
    live = LiveFigure(1, 2, figsize=(7.5, 2.8), alt="Per-worker batch means and variances of "
                      "one channel against the synchronized statistics for the chosen K")
    ax_m, ax_v = live.axes
    full = per_device_statistics(x, 1)
    mu, sd = full["mean"][channel], np.sqrt(full["var"][channel])
    probe = per_device_statistics(x, max(options))
    m_dots, = ax_m.plot([], [], "o", ms=4, color=PALETTE["orange"], label="per-device mean")
    ax_m.axhline(mu, color=PALETTE["black"], lw=1.5, label="synchronized mean")
    ax_m.set(xlim=(-1, max(options)), ylim=(probe["means"][:, channel].min() - 0.1 * sd,
                                            probe["means"][:, channel].max() + 0.1 * sd),
             xlabel="worker", ylabel="batch mean (channel 0)")
    ax_m.legend(loc="upper right", fontsize=8)
    v_dots, = ax_v.plot([], [], "s", ms=4, color=PALETTE["green"], label="per-device")
    ax_v.axhline(1.0, color=PALETTE["black"], lw=1.5, label="synchronized")
    ax_v.set(xlim=(-1, max(options)), ylim=(0, 3), xlabel="worker",
             ylabel="variance / global variance")
    ax_v.legend(loc="upper right", fontsize=8)
    live.fig.tight_layout()
    state = SimpleNamespace(last=None)

    def update(*_):
        k = slider.value
        s = per_device_statistics(x, k)
        spread = float(np.mean(s["means"].std(axis=0) / np.sqrt(s["var"]))) if k > 1 else 0.0
        state.last = {"workers": k, "shard": s["shard"], "spread": spread}
        m_dots.set_data(np.arange(k), s["means"][:, channel])
        v_dots.set_data(np.arange(k), s["vars"][:, channel] / full["var"][channel])
        ax_m.set_title(f"K = {k}, {s['shard']} rows each: means scatter {spread:.2f} sd")
        ax_v.set_title("SyncBN gives every worker the line")
        live.refresh()

    slider.observe(update, names="value")
    check = CheckButton(lambda: {"workers": slider.value, "x": x}, check_workers_target)
    update()
    return SimpleNamespace(workers=slider, check=check, live=live, update=update, state=state,
                           widget=widgets.VBox([slider, live.output, check.widget]))


