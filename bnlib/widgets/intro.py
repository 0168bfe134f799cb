"""The small widget of the "how to use this book" page: standardize a sample and look at it.

``standardize_sample`` is the pure computation (tested in tests/test_book_intro.py);
``standardize_explorer`` only wires two sliders to it and redraws one histogram.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np

from ..exercises.intro import check_standardize_widget
from ..plotting import PALETTE
from ._core import CheckButton, LiveFigure

__all__ = ["SampleStats", "standardize_sample", "standardize_explorer", "StandardizeExplorer"]


@dataclass(frozen=True)
class SampleStats:
    """A sample and its standardized version, with the numbers the widget reads out.

    values: (n,) the raw sample. z: (n,) the z-scores (values - mean) / std.
    mean, std: of the raw sample (biased std, divide by n). z_mean, z_std: of the z-scores.
    """

    values: np.ndarray
    z: np.ndarray
    mean: float
    std: float
    z_mean: float
    z_std: float


def standardize_sample(center: float, spread: float, n: int = 200, seed: int = 0) -> SampleStats:
    """Draw n values from a normal distribution with this center and spread, standardize them.

    center: mean of the distribution the sample is drawn from. spread: its standard deviation
    (> 0). The same seed gives the same underlying draw, so moving a slider only shifts and
    stretches the sample; it does not redraw it.
    """
    if not spread > 0:
        raise ValueError(f"standardize_sample: spread must be positive, got {spread!r}")
    base = np.random.default_rng(seed).standard_normal(n)
    values = center + spread * base
    mean, std = float(values.mean()), float(values.std())
    z = (values - mean) / std
    return SampleStats(values, z, mean, std, float(z.mean()), float(z.std()))


class StandardizeExplorer:
    """Sliders for the sample's center and spread; histograms of the raw values and z-scores.

    Attributes for tests: ``center``, ``spread`` (FloatSliders), ``check`` (CheckButton),
    ``readout`` (HTML), ``widget`` (the VBox to display).
    """

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.center = widgets.FloatSlider(value=5.0, min=-10.0, max=10.0, step=0.5,
                                          description="center", continuous_update=True)
        self.spread = widgets.FloatSlider(value=2.0, min=0.5, max=6.0, step=0.5,
                                          description="spread", continuous_update=True)
        self.readout = widgets.HTML()
        self.live = LiveFigure(1, 2, figsize=(7.0, 2.6), sharey=True,
                               alt="Histograms of a raw sample and of its z-scores")
        self.check = CheckButton(self.state, check_standardize_widget)
        for slider in (self.center, self.spread):
            slider.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.center, self.spread]), self.readout,
                                    self.live.output, self.check.widget])
        self._bins = np.linspace(-25, 25, 101)
        self._bars = self._draw_axes()
        self.update()

    def state(self) -> dict:
        """The values the checker needs."""
        return {"center": self.center.value, "spread": self.spread.value}

    def _draw_axes(self) -> list:
        """Draw labels and empty histograms once; moves only update the bar heights."""
        raw_ax, z_ax = self.live.axes
        bars = []
        zeros = np.zeros(self._bins.size - 1)
        for ax, colour, title in ((raw_ax, PALETTE["blue"], "raw sample"),
                                  (z_ax, PALETTE["orange"], "z-scores")):
            bars.append(ax.stairs(zeros, self._bins, fill=True, color=colour))
            ax.set_xlim(-25, 25)
            ax.set_xlabel("value (unitless)")
            ax.set_title(title)
        raw_ax.set_ylabel("count")
        self.live.fig.suptitle("Standardizing always lands on mean 0, std 1", fontsize=11)
        self.live.fig.tight_layout()
        return bars

    def update(self) -> SampleStats:
        """Recompute and redraw (called on every slider move)."""
        stats = standardize_sample(self.center.value, self.spread.value, seed=self.seed)
        peak = 0
        for bars, data in zip(self._bars, (stats.values, stats.z)):
            counts, _ = np.histogram(data, bins=self._bins)
            bars.set_data(counts)
            peak = max(peak, counts.max())
        self.live.axes[0].set_ylim(0, 1.1 * peak)
        self.live.refresh()
        self.readout.value = (f"raw: mean {stats.mean:.2f}, std {stats.std:.2f} &nbsp;→&nbsp; "
                              f"z-scores: mean {stats.z_mean:.2f}, std {stats.z_std:.2f}")
        return stats


def standardize_explorer(seed: int = 0) -> StandardizeExplorer:
    """Build the widget; display its ``.widget``."""
    return StandardizeExplorer(seed=seed)
