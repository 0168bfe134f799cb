"""Chapter 1 widgets: each feature's share of the squared distances under four scalings, an
outlier that squeezes a min-max scaled column, and the target range.

The computations are the pure functions :func:`bnlib.scaling.scaled_shares`,
:func:`bnlib.scaling.outlier_effect` and :func:`bnlib.scaling.scale_to_range` (tested in
tests/test_part1_widgets.py); the widget classes only wire controls to them and draw one
figure each.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from ..exercises.scaling import (SQUEEZE_BAND, check_outlier_squeeze, format_share,
                                 squeeze_threshold)
from ..plotting import PALETTE, fmt_number
from ..scaling import (SCALINGS, OutlierEffect, nice_ceiling, outlier_effect, scale_to_range,
                       scaled_shares)
from ._core import Widget

__all__ = ["OutlierEffect", "outlier_effect", "nice_ceiling", "scale_to_range", "OutlierExplorer",
           "outlier_explorer", "RangeExplorer", "range_explorer", "ShareExplorer",
           "share_explorer"]


def _bare(name: str) -> str:
    """A column name without its unit: "age (years)" -> "age" (a scaled value has no unit)."""
    return name.split(" (")[0]


class OutlierExplorer(Widget):
    """A slider for one value of a column; strips of the raw and the min-max scaled column.

    The slider runs from 0 to ``max_value`` (default: a round number above 15 times the
    column's largest value, so the exercise's answer, about 10 times the others' range, is
    reachable) in ``step``s (default: the power of ten nearest below 1/10,000 of the slider).
    Attributes for tests: ``outlier`` (IntSlider), ``readout`` (HTML), ``check``
    (CheckButton), ``effect`` (the last OutlierEffect), ``live``, ``widget``.
    Web book: 51 positions evenly over the slider, plus the exercise's answer (the
    smallest outlier on the slider's steps that squeezes the others into the band).
    """

    def __init__(self, column: np.ndarray, index: int, name: str = "distance driven (km)",
                 max_value: int | None = None, step: int | None = None, seed: int = 0):
        super().__init__()
        self.column = np.asarray(column, dtype=float)
        self.index = int(index)
        self.name = name
        self.others = np.delete(self.column, self.index)
        if max_value is None:  # room for the exercise's answer, about 10 x the others' range
            max_value = nice_ceiling(15 * np.abs(self.column).max())
        if step is None:  # a power of ten, about 1/10,000 of the slider: round values
            step = 10 ** max(0, int(np.floor(np.log10(max_value / 10_000))))
        max_value, step = int(max_value), int(step)
        start = int(round(self.column[self.index] / step) * step)
        answer = int(np.ceil(squeeze_threshold(self.others, SQUEEZE_BAND) / step)) * step
        grid = sorted({int(round(v / step)) * step for v in np.linspace(0, max_value, 51)}
                      | ({answer} if answer <= max_value else set()))
        self.outlier = self.add_control(
            widgets.IntSlider(value=start, min=0, max=max_value, step=step,
                              description="outlier", style={"description_width": "initial"},
                              layout=widgets.Layout(width="420px")), grid=grid)
        self.readout = self.add_readout()
        # A fixed vertical jitter so that the points of a strip do not overlap. Its own seed
        # sequence: the course's data sets draw from default_rng(seed), and reusing that
        # stream would line the jitter up with the data.
        self._jitter = np.random.default_rng([seed, 7]).uniform(-0.3, 0.3, self.column.size)
        self.live = self.add_figure(2, 1, figsize=(6.0, 3.6),
                                    alt="Two strip plots: the raw column with one outlier, "
                                        "and the same column min-max scaled to [0, 1].")
        self._max_value = max_value
        self.check = self.add_check(self.state, check_outlier_squeeze)
        self.effect: OutlierEffect | None = None
        self._artists = self._draw_once()
        self.build(self.outlier, self.readout, self.live, self.check)

    def state(self) -> dict:
        """The values the checker needs."""
        return {"outlier": self.outlier.value, "others": self.others}

    def _draw_once(self):
        raw_ax, sc_ax = self.live.axes
        colours = np.array([PALETTE["blue"]] * self.column.size, dtype=object)
        colours[self.index] = PALETTE["vermillion"]
        sizes = np.full(self.column.size, 10.0)
        sizes[self.index] = 30.0
        # The other values' raw range does not move with the outlier: shade it once.
        raw_ax.axvspan(self.others.min(), self.others.max(), color=PALETTE["sky"], alpha=0.35,
                       lw=0)
        raw = raw_ax.scatter(self.column, self._jitter, s=sizes, c=list(colours))
        sc = sc_ax.scatter(self.column, self._jitter, s=sizes, c=list(colours))
        band = sc_ax.axvspan(0, 1, color=PALETTE["sky"], alpha=0.35, lw=0)
        raw_ax.set(xlim=(-0.02 * self._max_value, 1.02 * self._max_value), ylim=(-0.5, 0.5),
                   yticks=[], xlabel=f"{self.name}, raw (the slider's whole range)",
                   title=f"raw: the outlier (red) and the other {self.others.size} values "
                         f"(shaded: their range)")
        raw_ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # no 1e6 offset
        raw_ax.xaxis.set_major_locator(MaxNLocator(5))
        sc_ax.set(xlim=(-0.02, 1.02), ylim=(-0.5, 0.5), yticks=[],
                  xlabel="min-max scaled value (unitless: 0 = minimum, 1 = maximum)")
        sc_ax.set_title("min-max scaled: the other values fill 100.0% of [0, 1]")
        self.live.fig.tight_layout()
        return raw, sc, band

    def update(self) -> OutlierEffect:
        """Recompute and draw the current state (the base renders it)."""
        effect = outlier_effect(self.column, self.outlier.value, self.index)
        self.effect = effect
        raw, sc, band = self._artists
        raw.set_offsets(np.column_stack([effect.column, self._jitter]))
        sc.set_offsets(np.column_stack([effect.scaled, self._jitter]))
        band.set_x(effect.others_lo)
        band.set_width(effect.fraction)
        share = format_share(effect.fraction, SQUEEZE_BAND)  # the checker's wording
        self.live.axes[1].set_title(f"min-max scaled: the other values fill {share} of [0, 1]")
        unit = " " + self.name.rsplit(" (", 1)[1].rstrip(")") if " (" in self.name else ""
        self.readout.value = (f"outlier at {self.outlier.value:,}{unit}: the other "
                              f"{self.others.size} values land in "
                              f"[{fmt_number(effect.others_lo, '.3f')}, "
                              f"{fmt_number(effect.others_hi, '.3f')}], "
                              f"<b>{share} of [0, 1]</b> "
                              f"(the exercise's target: at most {SQUEEZE_BAND:.0%})")
        return effect


def outlier_explorer(column: np.ndarray, index: int, **kwargs) -> OutlierExplorer:
    """Build the outlier widget for ``column`` with ``column[index]`` on the slider; display
    its ``.widget``."""
    return OutlierExplorer(column, index, **kwargs)


def _range_pairs(limit: float, step: float) -> list[tuple[float, float]]:
    """Every (a, b) with a <= b on a grid of ``step`` over [-limit, limit]."""
    values = [round(v, 10) for v in np.arange(-limit, limit + step / 2, step)]
    return [(a, b) for i, a in enumerate(values) for b in values[i:]]


class RangeExplorer(Widget):
    """A range slider [a, b]; a scatter of two columns min-max scaled to [a, b].

    Attributes for tests: ``range`` (FloatRangeSlider), ``scaled`` (the last result, (N, 2)),
    ``readout``, ``live``, ``widget``. Web book: every [a, b] with a <= b on whole numbers
    (28 positions, in one slider).
    """

    def __init__(self, x: np.ndarray, names: tuple[str, str], limit: float = 3.0,
                 value: tuple[float, float] = (-1.0, 1.0)):
        super().__init__()
        self.x = np.asarray(x, dtype=float)
        self.names = names
        pairs = _range_pairs(limit, 1.0)
        self.range = self.add_control(
            widgets.FloatRangeSlider(value=value, min=-limit, max=limit, step=0.5,
                                     description="[a, b]", layout=widgets.Layout(width="420px")),
            grid=pairs, labels=[f"[{a:g}, {b:g}]" for a, b in pairs])
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(4.2, 4.0),
                                    alt="Scatter plot of the bikes after min-max scaling to "
                                        "[a, b]; the cloud fills the square [a, b] x [a, b].")
        ax = self.live.axes
        self._points = ax.scatter(self.x[:, 0], self.x[:, 1], s=8, color=PALETTE["blue"])
        (self._box,) = ax.plot([], [], "--", color=PALETTE["vermillion"], lw=1,
                               label="the square [a, b] x [a, b]")
        pad = limit + 0.5
        ax.set(xlim=(-pad, pad), ylim=(-pad, pad), aspect="equal",
               xlabel=f"{_bare(names[0])}, scaled (unitless)",
               ylabel=f"{_bare(names[1])}, scaled (unitless)")
        ax.legend(loc="upper left")
        self.live.fig.tight_layout()
        self.scaled: np.ndarray | None = None
        self.build(self.range, self.readout, self.live)

    def update(self) -> np.ndarray:
        """Recompute and draw the current state (the base renders it)."""
        a, b = self.range.value
        scaled = scale_to_range(self.x, a, b)
        self.scaled = scaled
        self._points.set_offsets(scaled)
        self._box.set_data([a, b, b, a, a], [a, a, b, b, a])
        self.live.axes.set_title(f"both features now span [{a:g}, {b:g}]")
        lo, hi = scaled.min(axis=0), scaled.max(axis=0)
        self.readout.value = (f"{self.names[0]}: [{fmt_number(lo[0])}, {fmt_number(hi[0])}]"
                              f" &nbsp;|&nbsp; {self.names[1]}: "
                              f"[{fmt_number(lo[1])}, {fmt_number(hi[1])}]")
        return scaled


def range_explorer(x: np.ndarray, names: tuple[str, str], **kwargs) -> RangeExplorer:
    """Build the target-range widget for the two columns of x; display its ``.widget``."""
    return RangeExplorer(x, names, **kwargs)


class ShareExplorer(Widget):
    """Two toggles, data set and scaling; bars of each feature's share of the squared
    distances between all pairs of rows (:func:`bnlib.scaling.scaled_shares`).

    ``tables``: {name: (x (N, 2), feature names)}. Attributes for tests: ``table``,
    ``scaling`` (ToggleButtons), ``result`` (the last ScaledShares), ``readout``, ``live``,
    ``widget``. Web book: every table and every scaling (8 frames for two tables).
    """

    def __init__(self, tables: dict, table: str | None = None, scaling: str = "min-max"):
        super().__init__()
        self.tables = {k: (np.asarray(x, dtype=float), tuple(n)) for k, (x, n) in tables.items()}
        if any(x.ndim != 2 or x.shape[1] != 2 for x, _ in self.tables.values()):
            raise ValueError("ShareExplorer: every table must have shape (N, 2)")
        self.table = self.add_control(widgets.ToggleButtons(
            options=list(self.tables), value=table or next(iter(self.tables)),
            description="data"))
        self.scaling = self.add_control(widgets.ToggleButtons(
            options=list(SCALINGS), value=scaling, description="scaling"))
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(6.4, 2.4),
                                    alt="Two horizontal bars: each feature's share of the "
                                        "squared distances between all pairs of rows, with "
                                        "a dashed line at an equal share of 50 %.")
        ax = self.live.axes
        self._bars = ax.barh([1, 0], [0.5, 0.5], height=0.6,
                             color=[PALETTE["blue"], PALETTE["orange"]])
        self._labels = [ax.text(0.01, y, "", va="center", ha="left", fontsize=9)
                        for y in (1, 0)]
        ax.axvline(0.5, ls="--", color=PALETTE["black"], lw=1)
        ax.set(xlim=(0, 1), ylim=(-0.6, 1.6), yticks=[],
               xlabel="share of the squared distances between all pairs of rows")
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0%}"))
        ax.set_title("each feature's share of the distances: equal ranges are not enough")
        self.live.fig.tight_layout()
        self.result = None
        self.build([self.table, self.scaling], self.readout, self.live)

    def update(self):
        """Recompute and draw the current state (the base renders it)."""
        x, names = self.tables[self.table.value]
        result = scaled_shares(x, self.scaling.value)
        self.result = result
        for bar, label, name, share in zip(self._bars, self._labels, names, result.shares):
            bar.set_width(share)
            label.set_text(f"{name}: {fmt_number(share, '.1%')}")
            inside = share > 0.6  # a long bar holds its label; a short one has it on its right
            label.set(x=share - 0.01 if inside else share + 0.01, ha="right" if inside else "left",
                      color="white" if inside else "black")
        self.readout.value = (f"{self.table.value}, scaling {self.scaling.value}: "
                              + " &nbsp;|&nbsp; ".join(
                                  f"{n}: variance {v:.3g}, share {fmt_number(s, '.1%')}"
                                  for n, v, s in zip(names, result.variances, result.shares)))
        return result


def share_explorer(tables: dict, **kwargs) -> ShareExplorer:
    """Build the distance-share widget for ``tables`` ({name: (x, names)}); display its
    ``.widget``."""
    return ShareExplorer(tables, **kwargs)
