"""Chapter 5 widgets: the batch-size slider and the regularization-run explorer.

Both are thin: the computation is :func:`batch_noise_summary` below (what the slider shows,
from :mod:`bnlib.noise`; sampled on every move, seeded) and :func:`bnlib.experiments.regularization.summarize` (precomputed runs).
"""
from __future__ import annotations

from types import SimpleNamespace

import ipywidgets as widgets
import numpy as np

from ..exercises.noise import NOISE_TARGET_SIZES, check_noise_target
from ..noise import _as_1d_float, normalized_value_samples, sample_batch_statistics
from ..plotting import PALETTE
from ._core import Widget

__all__ = ["batch_noise_summary", "BatchNoiseExplorer", "batch_noise_explorer", "RegularizationExplorer",
           "regularization_explorer"]


def batch_noise_summary(values: np.ndarray, index: int, m: int, n_batches: int = 400, *,
                        seed: int = 0) -> dict:
    """Everything the batch-size widget shows for batch size ``m`` (pure and seeded).

    Returns a dict: ``x_hat`` (n_batches,) normalized values of example ``index`` in random
    batches that contain it; ``means`` and ``variances`` (n_batches,) statistics of random
    batches; ``spread_x_hat``, ``spread_mean``, ``spread_var`` (standard deviations across
    batches); ``sigma`` and ``var`` of the whole population; ``pred_mean`` = sigma / sqrt(m).
    """
    rng = np.random.default_rng(seed)
    values = _as_1d_float(values, "batch_noise_summary")
    x_hat = normalized_value_samples(values, index, m, n_batches, rng=rng)
    means, variances = sample_batch_statistics(values, m, n_batches, rng=rng)
    sigma = float(values.std())
    return {
        "m": int(m), "x_hat": x_hat, "means": means, "variances": variances,
        "spread_x_hat": float(x_hat.std()), "spread_mean": float(means.std()),
        "spread_var": float(variances.std()), "sigma": sigma, "var": sigma ** 2,
        "mean": float(values.mean()), "pred_mean": sigma / np.sqrt(m),
    }


class BatchNoiseExplorer(Widget):
    """A batch-size slider; the figure shows, for random batches of the chosen size m,
    the normalized value of example ``index`` (left) and the batch means and variances
    (right). A Check button runs :func:`bnlib.exercises.noise.check_noise_target`.

    Attributes: ``batch_size`` (the slider), ``check`` (CheckButton), ``state.summary``
    (the last :func:`batch_noise_summary`), ``live``, ``widget``. Web book: every size.
    """

    def __init__(self, values, index: int, *, n_batches: int = 400, seed: int = 0,
                 initial: int = 8):
        super().__init__()
        self.values = np.asarray(values, dtype=float)
        self.index, self.n_batches, self.seed = index, n_batches, seed
        self.live = self.add_figure(1, 2, figsize=(7.5, 2.8),
                                    alt="Histogram of one example's normalized value and "
                                        "scatter of batch means and variances for the chosen "
                                        "batch size.")
        ax_hat, ax_stats = self.live.axes
        self.batch_size = self.add_control(widgets.SelectionSlider(
            options=list(NOISE_TARGET_SIZES), value=initial, description="batch size m",
            continuous_update=False, style={"description_width": "initial"}))
        pop_mean, pop_var = float(self.values.mean()), float(self.values.var())
        # Fixed axes for every m, so the eye compares spreads across moves.
        self._hat_range = (-3.5, 3.5)
        probe = batch_noise_summary(self.values, index, 2, n_batches, seed=seed)
        mean_lim = (pop_mean - 4 * probe["spread_mean"], pop_mean + 4 * probe["spread_mean"])
        var_lim = (0.0, float(np.percentile(probe["variances"], 99)) * 1.1)
        self.state = SimpleNamespace(summary=None)
        # Artists are created once and updated in place on every move (no clear, no relayout).
        self._edges = np.linspace(*self._hat_range, 41)
        self._hist = ax_hat.stairs(np.zeros(40), self._edges, fill=True, color=PALETTE["blue"])
        ax_hat.set(xlim=self._hat_range, xlabel="normalized value x̂ of the example (std. units)",
                   ylabel="number of batches")
        self._dots = ax_stats.scatter(probe["means"], probe["variances"], s=6, alpha=0.5,
                                      color=PALETTE["orange"], label="random batches")
        ax_stats.scatter([pop_mean], [pop_var], marker="x", s=60, color=PALETTE["black"],
                         label="whole population")
        ax_stats.set(xlim=mean_lim, ylim=var_lim, xlabel="batch mean μ_B",
                     ylabel="batch variance σ²_B")
        ax_stats.legend(loc="upper right")
        self.live.fig.tight_layout()
        self.check = self.add_check(lambda: {"batch_size": self.batch_size.value},
                                    check_noise_target)
        self.build(self.batch_size, self.live, self.check)

    def update(self) -> dict:
        """Sample the batches of the chosen size and draw them (the base renders it)."""
        ax_hat, ax_stats = self.live.axes
        s = batch_noise_summary(self.values, self.index, self.batch_size.value, self.n_batches,
                                seed=self.seed)
        self.state.summary = s
        counts, _ = np.histogram(np.clip(s["x_hat"], *self._hat_range), bins=self._edges)
        self._hist.set_data(counts)
        ax_hat.set_ylim(0, max(counts.max(), 1) * 1.1)
        ax_hat.set_title(f"one example: spread {s['spread_x_hat']:.2f}")
        self._dots.set_offsets(np.column_stack([s["means"], s["variances"]]))
        ax_stats.set_title(f"m = {s['m']}: std of μ_B = {s['spread_mean'] / s['sigma']:.3f} σ")
        return s


def batch_noise_explorer(values, index: int, *, n_batches: int = 400, seed: int = 0,
                         initial: int = 8) -> BatchNoiseExplorer:
    """Build the batch-noise widget (see :class:`BatchNoiseExplorer`); display ``.widget``."""
    return BatchNoiseExplorer(values, index, n_batches=n_batches, seed=seed, initial=initial)


class RegularizationExplorer(Widget):
    """Explore the precomputed regularization runs: train and test accuracy over steps
    (mean over seeds, band = one standard deviation) for a batch size and a mode, with the
    no-normalization run at the same batch size as a dashed reference.

    cache: the JSON dict written by scripts/precompute_ch5.py. Attributes: ``batch_size``
    and ``mode`` (the controls), ``state.last`` (the summary shown), ``live``, ``widget``.
    Web book: every batch size and mode.
    """

    def __init__(self, cache: dict, *, initial_batch: int | None = None,
                 initial_mode: str = "bn"):
        super().__init__()
        self.runs, self.steps = cache["runs"], np.asarray(cache["steps"])
        sizes = list(cache["config"]["batch_sizes"])
        self.labels = {"none": "no BN", "bn": "BN", "frozen": "BN, frozen stats",
                       "wholeset": "BN, whole-set stats",
                       "ghost": f"ghost BN ({cache['config']['ghost_size']})"}
        self.batch_size = self.add_control(widgets.SelectionSlider(
            options=sizes, value=initial_batch or sizes[0], description="batch size",
            continuous_update=False))
        self.mode = self.add_control(widgets.ToggleButtons(
            options=[(self.labels[m], m) for m in cache["config"]["modes"]],
            value=initial_mode, description="mode"))
        self.live = self.add_figure(figsize=(6.4, 3.2),
                                    alt="Train and test accuracy over training steps for the "
                                        "chosen batch size and normalization mode.")
        ax = self.live.axes
        self.state = SimpleNamespace(last=None)
        self._colours = {"train": PALETTE["blue"], "test": PALETTE["vermillion"]}
        zeros = np.zeros_like(self.steps, dtype=float)
        self._lines = {name: ax.plot(self.steps, zeros, color=c)[0]
                       for name, c in self._colours.items()}
        self._ref_line, = ax.plot(self.steps, zeros, "--", color=PALETTE["black"],
                                  label="test (no BN, same batch size)")
        self._bands = {}
        ax.set(ylim=(0.5, 1.01), xlabel="training step", ylabel="accuracy")
        self.live.fig.tight_layout()
        self.build(self.batch_size, self.mode, self.live)

    def update(self) -> dict:
        """Look the runs up and draw them (the base renders it)."""
        from ..experiments.regularization import run_key, summarize

        ax = self.live.axes
        s = summarize(self.runs, run_key(self.mode.value, self.batch_size.value))
        ref = summarize(self.runs, run_key("none", self.batch_size.value))
        self.state.last = s
        for name, colour in self._colours.items():
            mean, std = s[f"{name}_mean"], s[f"{name}_std"]
            self._lines[name].set_ydata(mean)
            self._lines[name].set_label(f"{name} ({self.labels[self.mode.value]})")
            if name in self._bands:
                self._bands[name].remove()
            self._bands[name] = ax.fill_between(self.steps, mean - std, mean + std,
                                                color=colour, alpha=0.2, linewidth=0)
        self._ref_line.set_ydata(ref["test_mean"])
        gap, gap_sd = s["final_gap"]
        ax.set_title(f"{self.labels[self.mode.value]}, batch {self.batch_size.value}: final "
                     f"train-test gap {gap:.3f} ± {gap_sd:.3f}")
        ax.legend(loc="lower right")
        return s


def regularization_explorer(cache: dict, *, initial_batch: int | None = None,
                            initial_mode: str = "bn") -> RegularizationExplorer:
    """Build the regularization explorer (see :class:`RegularizationExplorer`)."""
    return RegularizationExplorer(cache, initial_batch=initial_batch, initial_mode=initial_mode)
