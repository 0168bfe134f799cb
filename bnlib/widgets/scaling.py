"""Chapter 1 widgets: an outlier that squeezes a min-max scaled column, and the target range.

The computations are the pure functions :func:`outlier_effect` and :func:`scale_to_range`
(tested in tests/test_part1_widgets.py); the widget classes only wire sliders to them and
redraw one figure each.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from ..exercises.scaling import SQUEEZE_BAND, check_outlier_squeeze
from ..plotting import PALETTE
from ..scaling import minmax_scale
from ._core import CheckButton, LiveFigure, close_tree

__all__ = ["OutlierEffect", "outlier_effect", "nice_ceiling", "scale_to_range", "OutlierExplorer",
           "outlier_explorer", "RangeExplorer", "range_explorer"]


@dataclass(frozen=True)
class OutlierEffect:
    """One column with one value replaced by an outlier, min-max scaled to [0, 1].

    column: (n,) raw values with the outlier in place. scaled: (n,) min-max scaled.
    index: position of the outlier. others_lo, others_hi: where the other n - 1 values land
    in [0, 1]. fraction: others_hi - others_lo, the share of [0, 1] they still fill.
    """

    column: np.ndarray
    scaled: np.ndarray
    index: int
    others_lo: float
    others_hi: float

    @property
    def fraction(self) -> float:
        return self.others_hi - self.others_lo


def outlier_effect(column: np.ndarray, outlier: float, index: int = 0) -> OutlierEffect:
    """Replace ``column[index]`` by ``outlier``, min-max scale, and measure the others' band.

    column: (n,) with n >= 3. Pure: the input is not modified.
    """
    column = np.asarray(column, dtype=float)
    if column.ndim != 1 or column.size < 3:
        raise ValueError(f"outlier_effect: column must have shape (n,) with n >= 3, "
                         f"got shape {column.shape}")
    x = column.copy()
    x[index] = float(outlier)
    scaled = minmax_scale(x)
    others = np.delete(scaled, index)
    return OutlierEffect(x, scaled, int(index), float(others.min()), float(others.max()))


def _bare(name: str) -> str:
    """A column name without its unit: "age (years)" -> "age" (a scaled value has no unit)."""
    return name.split(" (")[0]


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 x 10**k that is >= value (at least 1): a round slider maximum."""
    value = max(float(value), 1.0)
    power = 10 ** int(np.floor(np.log10(value)))
    for mantissa in (1, 2, 5, 10):
        if mantissa * power >= value:
            return int(mantissa * power)
    raise AssertionError("unreachable")


def scale_to_range(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Min-max scale each column of x (N, D) to [a, b]: ``a + (x - min) / (max - min) * (b - a)``.

    Unlike ``minmax_scale(x, (a, b))`` it also accepts a == b (every value becomes a), which
    a range slider can produce.
    """
    return a + minmax_scale(x) * (b - a)


class OutlierExplorer:
    """A slider for one value of a column; strips of the raw and the min-max scaled column.

    The slider runs from 0 to ``max_value`` (default: a round number above 15 times the
    column's largest value, so the exercise's answer, about 10 times the others' range, is
    reachable) in ``step``s (default: the power of ten nearest below 1/10,000 of the slider).
    Attributes for tests: ``outlier`` (IntSlider), ``readout`` (HTML), ``check``
    (CheckButton), ``effect`` (the last OutlierEffect), ``widget`` (the VBox to display).
    """

    def __init__(self, column: np.ndarray, index: int, name: str = "distance driven (km)",
                 max_value: int | None = None, step: int | None = None, seed: int = 0):
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
        self.outlier = widgets.IntSlider(value=start, min=0, max=max_value, step=step,
                                         description="outlier",
                                         style={"description_width": "initial"},
                                         layout=widgets.Layout(width="420px"))
        self.readout = widgets.HTML()
        # A fixed vertical jitter so that the points of a strip do not overlap. Its own seed
        # sequence: the course's data sets draw from default_rng(seed), and reusing that
        # stream would line the jitter up with the data.
        self._jitter = np.random.default_rng([seed, 7]).uniform(-0.3, 0.3, self.column.size)
        self.live = LiveFigure(2, 1, figsize=(6.0, 3.6),
                               alt="Two strip plots: the raw column with one outlier, and the "
                                   "same column min-max scaled to [0, 1]")
        self._max_value = max_value
        self.check = CheckButton(self.state, check_outlier_squeeze)
        self.effect: OutlierEffect | None = None
        self._artists = None
        self.outlier.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([self.outlier, self.readout, self.live.output,
                                    self.check.widget])
        self.update()

    def state(self) -> dict:
        """The values the checker needs."""
        return {"outlier": self.outlier.value, "others": self.others}

    def _draw_once(self):
        raw_ax, sc_ax = self.live.axes
        colours = np.array([PALETTE["blue"]] * self.column.size, dtype=object)
        colours[self.index] = PALETTE["vermillion"]
        sizes = np.full(self.column.size, 10.0)
        sizes[self.index] = 30.0
        raw = raw_ax.scatter(self.column, self._jitter, s=sizes, c=list(colours))
        sc = sc_ax.scatter(self.column, self._jitter, s=sizes, c=list(colours))
        band = sc_ax.axvspan(0, 1, color=PALETTE["sky"], alpha=0.35, lw=0)
        raw_ax.set(xlim=(-0.02 * self._max_value, 1.02 * self._max_value), ylim=(-0.5, 0.5),
                   yticks=[], xlabel=f"raw {self.name}")
        raw_ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # no 1e6 offset
        raw_ax.xaxis.set_major_locator(MaxNLocator(5))
        sc_ax.set(xlim=(-0.02, 1.02), ylim=(-0.5, 0.5), yticks=[],
                  xlabel="min-max scaled value (unitless, 0 = min, 1 = max)",
                  title="scaled; shaded: where the other values land")
        self.live.fig.tight_layout()
        return raw, sc, band

    def update(self) -> OutlierEffect:
        """Recompute and redraw (called on every slider move)."""
        effect = outlier_effect(self.column, self.outlier.value, self.index)
        self.effect = effect
        if self._artists is None:
            self._artists = self._draw_once()
        raw, sc, band = self._artists
        raw.set_offsets(np.column_stack([effect.column, self._jitter]))
        sc.set_offsets(np.column_stack([effect.scaled, self._jitter]))
        band.set_x(effect.others_lo)
        band.set_width(effect.fraction)
        self.live.axes[0].set_title(f"the other values fill {effect.fraction:.0%} of [0, 1] "
                                    f"after scaling")
        self.live.refresh()
        self.readout.value = (f"outlier at {self.outlier.value:,}: the other "
                              f"{self.others.size} values land in [{effect.others_lo:.3f}, "
                              f"{effect.others_hi:.3f}], {effect.fraction:.1%} of the range "
                              f"(target of the exercise: at most {SQUEEZE_BAND:.0%})")
        return effect

    def close(self) -> None:
        """Clear the figure and close every widget of this instance. For an undisplayed
        instance that a test drives: its picture then stays out of the saved widget state."""
        self.live.output.clear_output()
        close_tree(self.widget)


def outlier_explorer(column: np.ndarray, index: int, **kwargs) -> OutlierExplorer:
    """Build the outlier widget for ``column`` with ``column[index]`` on the slider; display
    its ``.widget``."""
    return OutlierExplorer(column, index, **kwargs)


class RangeExplorer:
    """A range slider [a, b]; a scatter of two columns min-max scaled to [a, b].

    Attributes for tests: ``range`` (FloatRangeSlider), ``scaled`` (the last result, (N, 2)),
    ``widget`` (the VBox to display).
    """

    def __init__(self, x: np.ndarray, names: tuple[str, str], limit: float = 3.0,
                 value: tuple[float, float] = (-1.0, 1.0)):
        self.x = np.asarray(x, dtype=float)
        self.names = names
        self.range = widgets.FloatRangeSlider(value=value, min=-limit, max=limit, step=0.5,
                                              description="[a, b]",
                                              layout=widgets.Layout(width="420px"))
        self.readout = widgets.HTML()
        self.live = LiveFigure(figsize=(4.2, 4.0),
                               alt="Scatter plot of the bikes after min-max scaling to [a, b]; "
                                   "the cloud fills the square [a, b] x [a, b]")
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
        self.range.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([self.range, self.readout, self.live.output])
        self.update()

    def update(self) -> np.ndarray:
        """Recompute and redraw (called on every slider move)."""
        a, b = self.range.value
        scaled = scale_to_range(self.x, a, b)
        self.scaled = scaled
        self._points.set_offsets(scaled)
        self._box.set_data([a, b, b, a, a], [a, a, b, b, a])
        self.live.axes.set_title(f"both features now span [{a:g}, {b:g}]")
        self.live.refresh()
        self.readout.value = (f"{self.names[0]}: [{scaled[:, 0].min():.2f}, "
                              f"{scaled[:, 0].max():.2f}] &nbsp;|&nbsp; {self.names[1]}: "
                              f"[{scaled[:, 1].min():.2f}, {scaled[:, 1].max():.2f}]")
        return scaled

    def close(self) -> None:
        """Clear the figure and close every widget of this instance. For an undisplayed
        instance that a test drives: its picture then stays out of the saved widget state."""
        self.live.output.clear_output()
        close_tree(self.widget)


def range_explorer(x: np.ndarray, names: tuple[str, str], **kwargs) -> RangeExplorer:
    """Build the target-range widget for the two columns of x; display its ``.widget``."""
    return RangeExplorer(x, names, **kwargs)
