"""Chapter 3c widgets: the Figure 1 explorer and the sweep explorer.

Both read precomputed runs (``bnlib/cache/ch3_figure1_grid.json``, ``ch3_sweeps.json``,
written by ``scripts/precompute_ch3.py``), so a slider move only looks numbers up and
redraws. The lookups (:func:`explorer_view`, :func:`sweep_view`) are pure and tested; the
drawing functions (:func:`draw_band`, :func:`draw_figure1`, :func:`draw_sweep`) also make
the chapter's static figures.
"""
from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..exercises.network import check_bn_gap
from ..experiments import load_cache
from ..experiments.figure1 import SATURATION_Z, grid_key
from ..plotting import PALETTE
from ._core import Widget

__all__ = [
    "grid_data",
    "sweep_data",
    "explorer_view",
    "sweep_view",
    "draw_band",
    "draw_accuracy",
    "draw_figure1",
    "draw_sweep",
    "Figure1Explorer",
    "figure1_explorer",
    "SweepExplorer",
    "sweep_explorer",
]

COLOR = {False: PALETTE["vermillion"], True: PALETTE["blue"]}
LABEL = {False: "without BN", True: "with BN"}
PARAM_LABEL = {"lr": "learning rate", "init_scale": "init scale (std of initial weights)"}


@lru_cache(maxsize=1)
def grid_data() -> dict:
    """The Figure 1 explorer's precomputed grid (read once)."""
    return load_cache("ch3_figure1_grid")


@lru_cache(maxsize=1)
def sweep_data() -> dict:
    """The learning-rate and init-scale sweeps (read once)."""
    return load_cache("ch3_sweeps")


def explorer_view(data: dict, bn: bool, lr: float, init_scale: float) -> dict:
    """Everything the Figure 1 explorer shows for one setting (pure lookup).

    Returns step, test_acc, p15, p50, p85 (lists), other_acc (the test accuracy curve with
    BN toggled), final_acc, other_final_acc, final_saturation (fraction of last-layer
    sigmoid inputs with |z| > ln 19), diverged.
    """
    key, other_key = grid_key(bn, lr, init_scale), grid_key(not bn, lr, init_scale)
    if key not in data["runs"]:
        raise KeyError(f"explorer_view: no precomputed run for bn={bn}, lr={lr}, "
                       f"init_scale={init_scale}")
    run, other = data["runs"][key], data["runs"][other_key]
    n = len(run["test_acc"])
    return {
        "step": data["step"][:n],
        "test_acc": run["test_acc"],
        "p15": run["p15"], "p50": run["p50"], "p85": run["p85"],
        "other_acc": other["test_acc"],
        "final_acc": run["test_acc"][-1],
        "other_final_acc": other["test_acc"][-1],
        "final_saturation": run["saturation"][-1],
        "diverged": run["diverged"],
    }


def sweep_view(data: dict, param: str, step: int) -> dict:
    """Test accuracy after ``step`` training steps across a sweep (pure lookup).

    Returns values (the swept learning rates or init scales) and, for "plain" and "bn":
    mean, min and max over the seeds, and the number of diverged runs.
    """
    if param not in data:
        raise KeyError(f"sweep_view: param must be one of {sorted(data)}, got {param!r}")
    sw = data[param]
    steps = sw["step"]
    if step not in steps:
        raise ValueError(f"sweep_view: step must be one of {steps}, got {step!r}")
    i = steps.index(step)
    out = {"values": sw["values"], "step": step}
    for name, table in sw["runs"].items():
        acc = np.array([[run["test_acc"][i] for run in row] for row in table])
        out[name] = {"mean": acc.mean(axis=1).tolist(), "min": acc.min(axis=1).tolist(),
                     "max": acc.max(axis=1).tolist(),
                     "diverged": [sum(r["diverged"] for r in row) for row in table]}
    return out


def draw_band(ax, step, p15, p50, p85, *, color, title: str = "", ylim=None):
    """The 15th-85th percentile band and the median of a sigmoid input over training.

    The sigmoid's saturated regions (|z| > ln 19, where sigmoid < 0.05 or > 0.95) are shaded.
    """
    ax.axhspan(SATURATION_Z, 100, color="0.85", zorder=0)
    ax.axhspan(-100, -SATURATION_Z, color="0.85", zorder=0, label="saturated (|z| > 2.94)")
    ax.fill_between(step, p15, p85, color=color, alpha=0.3, lw=0,
                    label="15th to 85th percentile")
    ax.plot(step, p50, color=color, lw=1.8, label="median")
    if ylim is None:
        lo, hi = min(min(p15), -4.0), max(max(p85), 4.0)
        ylim = (lo - 0.3, hi + 0.3)
    ax.set_ylim(*ylim)
    ax.set_xlim(step[0], step[-1])
    ax.set_xlabel("training step")
    ax.set_ylabel("sigmoid input z (test set)")
    ax.set_title(title)


def draw_accuracy(ax, step, curves: dict, *, title: str = ""):
    """Test accuracy over training; ``curves`` maps bn (bool) to an accuracy list."""
    for bn, acc in curves.items():
        ax.plot(step[:len(acc)], np.asarray(acc) * 100, color=COLOR[bn], lw=1.8,
                label=LABEL[bn])
    ax.set_ylim(0, 100)
    ax.set_xlim(step[0], step[-1])
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="lower right")
    ax.set_title(title)


def draw_figure1(axes, plain: dict, bn: dict, *, titles=("", "", "")):
    """Figure 1 of Ioffe & Szegedy (2015): (a) test accuracy, (b) the plain net's and
    (c) the BN net's sigmoid-input percentiles over training, on shared y-limits."""
    draw_accuracy(axes[0], plain["step"], {False: plain["test_acc"], True: bn["test_acc"]},
                  title=titles[0])
    lo = min(min(plain["p15"]), min(bn["p15"]), -4.0) - 0.3
    hi = max(max(plain["p85"]), max(bn["p85"]), 4.0) + 0.3
    for ax, run, flag, title in ((axes[1], plain, False, titles[1]),
                                 (axes[2], bn, True, titles[2])):
        draw_band(ax, run["step"], run["p15"], run["p50"], run["p85"], color=COLOR[flag],
                  title=title, ylim=(lo, hi))
    axes[2].legend(loc="upper right", fontsize=8)


def draw_sweep(ax, view: dict, param: str):
    """Mean test accuracy (bars: min to max over seeds) against the swept value."""
    ax.clear()
    x = np.asarray(view["values"])
    for bn, name, shift in ((False, "plain", 0.95), (True, "bn", 1.05)):
        v = view[name]
        mean = np.asarray(v["mean"]) * 100
        err = np.array([mean - np.asarray(v["min"]) * 100, np.asarray(v["max"]) * 100 - mean])
        err = np.clip(err, 0.0, None)  # equal seeds: rounding may leave -1e-15
        ax.errorbar(x * shift, mean, yerr=err, color=COLOR[bn], marker="o", ms=4, lw=1.5,
                    capsize=3, label=LABEL[bn])
    ax.axhline(10, color="0.5", ls=":", lw=1, label="chance (10%)")
    ax.set_xscale("log")
    ax.set_ylim(0, 100)
    ax.set_xlabel(PARAM_LABEL[param] + " (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(loc="center left", fontsize=8)


def _pct(a: float) -> str:
    return f"{100 * a:.0f}%"


class Figure1Explorer(Widget):
    """BN toggle, learning-rate and init-scale sliders over the precomputed Figure 1 grid.

    Attributes for tests: ``bn`` (ToggleButtons, bool values), ``lr``, ``init_scale``
    (SelectionSliders over the grid's values), ``readout`` (HTML), ``check`` (CheckButton:
    the widget exercise :func:`bnlib.exercises.network.check_bn_gap`), ``view`` (the last
    :func:`explorer_view`), ``live``, ``widget``. Web book: every precomputed setting.
    """

    def __init__(self, bn: bool = False, lr: float = 0.5, init_scale: float = 0.1,
                 data: dict | None = None):
        super().__init__()
        self.data = grid_data() if data is None else data
        g = self.data["grid"]
        wide = {"description_width": "initial"}  # show the whole label
        self.bn = self.add_control(widgets.ToggleButtons(
            options=[("without BN", False), ("with BN", True)], value=bn,
            description="network", style=wide))
        self.lr = self.add_control(widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in g["lrs"]], value=lr, description="learning rate",
            style=wide))
        self.init_scale = self.add_control(widgets.SelectionSlider(
            options=[(f"{v:g}", v) for v in g["init_scales"]], value=init_scale,
            description="init scale", style=wide))
        self.readout = self.add_readout()
        self.live = self.add_figure(1, 2, figsize=(8.6, 3.3),
                                    alt="Left: test accuracy over training steps for the "
                                        "chosen setting, with the other network dashed. "
                                        "Right: the 15th to 85th percentile band of one "
                                        "sigmoid input.")
        self.check = self.add_check(self.state, check_bn_gap)
        self.view: dict | None = None
        self._fill = None
        self._build()
        self.build(self.bn, [self.lr, self.init_scale], self.readout, self.live, self.check)

    def state(self) -> dict:
        """The values the checker needs."""
        return {"bn": self.bn.value, "lr": self.lr.value, "init_scale": self.init_scale.value}

    def _build(self):
        ax_acc, ax_band = self.live.axes
        step = self.data["step"]
        (self._acc,) = ax_acc.plot([], [], lw=1.8)
        (self._other,) = ax_acc.plot([], [], lw=1.2, ls="--")
        ax_acc.axhline(10, color="0.5", ls=":", lw=1)
        ax_acc.set_xlim(step[0], step[-1])
        ax_acc.set_ylim(0, 100)
        ax_acc.set_xlabel("training step")
        ax_acc.set_ylabel("test accuracy (%)")
        ax_band.axhspan(SATURATION_Z, 1e3, color="0.85", zorder=0)
        ax_band.axhspan(-1e3, -SATURATION_Z, color="0.85", zorder=0)
        (self._median,) = ax_band.plot([], [], lw=1.8)
        ax_band.set_xlim(step[0], step[-1])
        ax_band.set_xlabel("training step")
        ax_band.set_ylabel("sigmoid input z (test set)")
        # Few, fixed ticks: tick labels dominate the redraw time.
        xticks = np.linspace(step[0], step[-1], 5)
        for ax in (ax_acc, ax_band):
            ax.set_xticks(xticks)
            ax.yaxis.set_major_locator(MaxNLocator(5))
        ax_acc.set_yticks([0, 25, 50, 75, 100])
        for ax in (ax_acc, ax_band):  # two-line titles: lay out once with room for them
            ax.set_title("line one\nline two", fontsize=10)
        self.live.fig.tight_layout()

    def update(self) -> dict:
        """Look the setting up and draw it (the base renders it)."""
        bn, lr, scale = self.bn.value, self.lr.value, self.init_scale.value
        v = explorer_view(self.data, bn, lr, scale)
        self.view = v
        ax_acc, ax_band = self.live.axes
        step = v["step"]
        self._acc.set_data(step, np.asarray(v["test_acc"]) * 100)
        self._acc.set_color(COLOR[bn])
        self._acc.set_label(LABEL[bn])
        self._other.set_data(step[:len(v["other_acc"])], np.asarray(v["other_acc"]) * 100)
        self._other.set_color(COLOR[not bn])
        self._other.set_label(LABEL[not bn])
        ax_acc.legend(loc="lower right", fontsize=8)
        ax_acc.set_title(f"{LABEL[bn]}: {_pct(v['final_acc'])} test accuracy after {step[-1]} "
                         f"steps\n({LABEL[not bn]}: {_pct(v['other_final_acc'])})", fontsize=10)
        if self._fill is not None:
            self._fill.remove()
        self._fill = ax_band.fill_between(step, v["p15"], v["p85"], color=COLOR[bn],
                                          alpha=0.3, lw=0)
        self._median.set_data(step, v["p50"])
        self._median.set_color(COLOR[bn])
        lo, hi = min(min(v["p15"]), -4.0), max(max(v["p85"]), 4.0)
        ax_band.set_ylim(lo - 0.3, hi + 0.3)
        ax_band.set_title(f"{LABEL[bn]}: {_pct(v['final_saturation'])} of last-layer "
                          f"sigmoid inputs\nsaturated (grey) at the end", fontsize=10)
        gap = v["final_acc"] - v["other_final_acc"] if bn else v["other_final_acc"] - v["final_acc"]
        diverged = " (the loss diverged)" if v["diverged"] else ""
        self.readout.value = (f"lr {lr:g}, init scale {scale:g}: final test accuracy "
                              f"<b>{_pct(v['final_acc'])}</b>{diverged}; BN's advantage at this "
                              f"setting: <b>{100 * gap:+.0f} points</b>")
        return v


def figure1_explorer(bn: bool = False, lr: float = 0.5, init_scale: float = 0.1) -> Figure1Explorer:
    """Build the Figure 1 explorer; display its ``.widget``."""
    return Figure1Explorer(bn=bn, lr=lr, init_scale=init_scale)


class SweepExplorer(Widget):
    """Choose the sweep (learning rate or init scale) and the training budget.

    Attributes for tests: ``param`` (ToggleButtons: "lr" or "init_scale"), ``budget``
    (SelectionSlider over the recorded steps), ``view`` (the last :func:`sweep_view`),
    ``live``, ``widget``. Lines show the mean over seeds, shaded bands the lowest to highest
    seed. Web book: both sweeps at every recorded budget.
    """

    def __init__(self, param: str = "lr", budget: int | None = None, data: dict | None = None):
        super().__init__()
        self.data = sweep_data() if data is None else data
        self.param = self.add_control(widgets.ToggleButtons(
            options=[("learning rate", "lr"), ("init scale", "init_scale")], value=param,
            description="sweep"))
        steps = self.data[param]["step"]
        self.budget = self.add_control(widgets.SelectionSlider(
            options=steps, value=steps[-1] if budget is None else budget,
            description="after steps", style={"description_width": "initial"}))
        self.live = self.add_figure(figsize=(5.6, 3.4),
                                    alt="Test accuracy against the swept learning rate or "
                                        "init scale, with and without BN; bands span three "
                                        "seeds.")
        self.view: dict | None = None
        self._bands = {}
        ax = self.live.axes
        self._lines = {name: ax.plot([], [], "o-", ms=4, lw=1.5, color=COLOR[name == "bn"],
                                     label=LABEL[name == "bn"])[0] for name in ("plain", "bn")}
        ax.axhline(10, color="0.5", ls=":", lw=1, label="chance (10%)")
        ax.set_xscale("log")
        ax.set_xlim(0.005, 50)
        ax.set_ylim(0, 100)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("test accuracy (%)")
        ax.legend(loc="center left", fontsize=8)
        ax.set_title("line one\nline two", fontsize=10)
        ax.set_xlabel(PARAM_LABEL["init_scale"] + " (log scale)")
        self.live.fig.tight_layout()  # once, before the first render fixes the crop box
        self.build([self.param, self.budget], self.live)

    def update(self) -> dict:
        """Look the sweep up at the chosen budget and draw it (artists updated in place)."""
        v = sweep_view(self.data, self.param.value, self.budget.value)
        self.view = v
        ax = self.live.axes
        x = np.asarray(v["values"], dtype=float)
        for name, line in self._lines.items():
            line.set_data(x, 100 * np.asarray(v[name]["mean"]))
            if name in self._bands:
                self._bands[name].remove()
            self._bands[name] = ax.fill_between(x, 100 * np.asarray(v[name]["min"]),
                                                100 * np.asarray(v[name]["max"]),
                                                color=COLOR[name == "bn"], alpha=0.25, lw=0)
        ax.set_xlim(x.min() / 1.5, x.max() * 1.5)
        ax.set_xlabel(PARAM_LABEL[self.param.value] + " (log scale)")
        worst_bn, worst_plain = min(v["bn"]["mean"]), min(v["plain"]["mean"])
        ax.set_title(f"after {v['step']} steps, worst mean test accuracy:\n"
                     f"{_pct(worst_bn)} with BN, {_pct(worst_plain)} without", fontsize=10)
        return v


def sweep_explorer(param: str = "lr") -> SweepExplorer:
    """Build the sweep explorer; display its ``.widget``."""
    return SweepExplorer(param=param)
