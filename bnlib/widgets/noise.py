"""Chapter 5 widgets: the batch-size slider and the regularization-run explorer.

Both are thin: the computation is :func:`bnlib.noise.batch_noise_summary` (sampled on every
move, seeded) and :func:`bnlib.experiments.regularization.summarize` (precomputed runs).
"""
from __future__ import annotations

from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np

from ..exercises.noise import NOISE_TARGET_SIZES, check_noise_target
from ..noise import batch_noise_summary
from ..plotting import PALETTE
from ._core import CheckButton, LiveFigure

__all__ = ["batch_noise_explorer", "regularization_explorer"]


def batch_noise_explorer(values, index: int, *, n_batches: int = 400, seed: int = 0,
                         initial: int = 8):
    """A batch-size slider; the figure shows, for random batches of the chosen size m,
    the normalized value of example ``index`` (left) and the batch means and variances
    (right). A Check button runs :func:`bnlib.exercises.noise.check_noise_target`.

    Returns a namespace with ``batch_size`` (the slider), ``check`` (CheckButton),
    ``state.summary`` (the last :func:`batch_noise_summary`), ``update()`` and ``widget``.
    """
    values = np.asarray(values, dtype=float)
    live = LiveFigure(1, 2, figsize=(7.5, 2.8), alt="Histogram of one example's normalized "
                      "value and scatter of batch means and variances for the chosen batch size")
    ax_hat, ax_stats = live.axes
    slider = widgets.SelectionSlider(options=list(NOISE_TARGET_SIZES), value=initial,
                                     description="batch size m", continuous_update=False,
                                     style={"description_width": "initial"})
    pop_mean, pop_var = float(values.mean()), float(values.var())
    # Fixed axes for every m, so the eye compares spreads across moves.
    hat_range = (-3.5, 3.5)
    probe = batch_noise_summary(values, index, 2, n_batches, seed=seed)
    mean_lim = (pop_mean - 4 * probe["spread_mean"], pop_mean + 4 * probe["spread_mean"])
    var_lim = (0.0, float(np.percentile(probe["variances"], 99)) * 1.1)
    state = SimpleNamespace(summary=None)
    # Artists are created once and updated in place on every move (no clear, no relayout).
    edges = np.linspace(*hat_range, 41)
    hist = ax_hat.stairs(np.zeros(40), edges, fill=True, color=PALETTE["blue"])
    ax_hat.set(xlim=hat_range, xlabel="normalized value x̂ of the example (std. units)",
               ylabel="number of batches")
    dots = ax_stats.scatter(probe["means"], probe["variances"], s=6, alpha=0.5,
                            color=PALETTE["orange"], label="random batches")
    ax_stats.scatter([pop_mean], [pop_var], marker="x", s=60, color=PALETTE["black"],
                     label="whole population")
    ax_stats.set(xlim=mean_lim, ylim=var_lim, xlabel="batch mean μ_B",
                 ylabel="batch variance σ²_B")
    ax_stats.legend(loc="upper right")
    live.fig.tight_layout()

    def update(*_):
        s = batch_noise_summary(values, index, slider.value, n_batches, seed=seed)
        state.summary = s
        counts, _ = np.histogram(np.clip(s["x_hat"], *hat_range), bins=edges)
        hist.set_data(counts)
        ax_hat.set_ylim(0, max(counts.max(), 1) * 1.1)
        ax_hat.set_title(f"one example: spread {s['spread_x_hat']:.2f}")
        dots.set_offsets(np.column_stack([s["means"], s["variances"]]))
        ax_stats.set_title(f"m = {s['m']}: std of μ_B = {s['spread_mean'] / s['sigma']:.3f} σ")
        live.refresh()

    slider.observe(update, names="value")
    check = CheckButton(lambda: {"batch_size": slider.value}, check_noise_target)
    update()
    return SimpleNamespace(batch_size=slider, check=check, live=live, update=update,
                           state=state, widget=widgets.VBox([slider, live.output, check.widget]))


def regularization_explorer(cache: dict, *, initial_batch: int | None = None,
                            initial_mode: str = "bn"):
    """Explore the precomputed regularization runs: train and test accuracy over steps
    (mean over seeds, band = one standard deviation) for a batch size and a mode, with the
    no-normalization run at the same batch size as a dashed reference.

    cache: the JSON dict written by scripts/precompute_ch5.py. Returns a namespace with
    ``batch_size`` and ``mode`` (the controls), ``update()``, ``state.last`` (the summary
    shown)
    and ``widget``.
    """
    from ..experiments.regularization import run_key, summarize

    runs, steps = cache["runs"], np.asarray(cache["steps"])
    sizes = list(cache["config"]["batch_sizes"])
    labels = {"none": "no BN", "bn": "BN", "frozen": "BN, frozen stats",
              "wholeset": "BN, whole-set stats",
              "ghost": f"ghost BN ({cache['config']['ghost_size']})"}
    size = widgets.SelectionSlider(options=sizes, value=initial_batch or sizes[0],
                                   description="batch size", continuous_update=False)
    mode = widgets.ToggleButtons(options=[(labels[m], m) for m in cache["config"]["modes"]],
                                 value=initial_mode, description="mode")
    live = LiveFigure(figsize=(6.4, 3.2), alt="Train and test accuracy over training steps "
                      "for the chosen batch size and normalization mode")
    ax = live.axes
    state = SimpleNamespace(last=None)
    colours = {"train": PALETTE["blue"], "test": PALETTE["vermillion"]}
    lines = {name: ax.plot(steps, np.zeros_like(steps, dtype=float), color=c)[0]
             for name, c in colours.items()}
    ref_line, = ax.plot(steps, np.zeros_like(steps, dtype=float), "--", color=PALETTE["black"],
                        label="test (no BN, same batch size)")
    bands = {}
    ax.set(ylim=(0.5, 1.01), xlabel="training step", ylabel="accuracy")
    live.fig.tight_layout()

    def update(*_):
        s = summarize(runs, run_key(mode.value, size.value))
        ref = summarize(runs, run_key("none", size.value))
        state.last = s
        for name, colour in colours.items():
            mean, std = s[f"{name}_mean"], s[f"{name}_std"]
            lines[name].set_ydata(mean)
            lines[name].set_label(f"{name} ({labels[mode.value]})")
            if name in bands:
                bands[name].remove()
            bands[name] = ax.fill_between(steps, mean - std, mean + std, color=colour,
                                          alpha=0.2, linewidth=0)
        ref_line.set_ydata(ref["test_mean"])
        gap, gap_sd = s["final_gap"]
        ax.set_title(f"{labels[mode.value]}, batch {size.value}: final train-test gap "
                     f"{gap:.3f} ± {gap_sd:.3f}")
        ax.legend(loc="lower right")
        live.refresh()

    size.observe(update, names="value")
    mode.observe(update, names="value")
    update()
    return SimpleNamespace(batch_size=size, mode=mode, live=live, update=update, state=state,
                           widget=widgets.VBox([size, mode, live.output]))
