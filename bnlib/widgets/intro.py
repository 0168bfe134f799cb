"""The small widget of the "how to use this book" page: standardize a sample and look at it.

:func:`bnlib.scaling.standardize_sample` is the pure computation (tested in
tests/test_book_intro.py); :class:`StandardizeExplorer` only wires two sliders to it and
redraws one pair of histograms.
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..exercises.intro import check_standardize_widget
from ..plotting import PALETTE, fmt_number
from ..scaling import SampleStats, standardize_sample
from ._core import Widget

__all__ = ["SampleStats", "standardize_sample", "standardize_explorer", "StandardizeExplorer"]


class StandardizeExplorer(Widget):
    """Sliders for the sample's center and spread; histograms of the raw values and z-scores.

    Attributes for tests: ``center``, ``spread`` (FloatSliders), ``check`` (CheckButton),
    ``readout`` (HTML), ``live`` (the figure), ``widget`` (what to display).
    Web book: center every 2 (and -5, the exercise's), spread 0.5 and every 1 (12 x 7 frames).
    """

    def __init__(self, seed: int = 0):
        super().__init__()
        self.seed = seed
        self.center = self.add_control(widgets.FloatSlider(
            value=5.0, min=-10.0, max=10.0, step=0.5, description="center",
            continuous_update=True), every=4, include=(-5.0,))
        self.spread = self.add_control(widgets.FloatSlider(
            value=2.0, min=0.5, max=6.0, step=0.5, description="spread",
            continuous_update=True), grid=[0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        self.readout = self.add_readout()
        self.live = self.add_figure(1, 2, figsize=(7.0, 2.6), sharey=True,
                                    alt="Histograms of a raw sample and of its z-scores.")
        self.check = self.add_check(self.state, check_standardize_widget)
        self._bins = np.linspace(-25, 25, 101)
        self._bars = self._draw_axes()
        self.build([self.center, self.spread], self.readout, self.live, self.check)

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
        """Recompute and draw the current state (the base renders it)."""
        stats = standardize_sample(self.center.value, self.spread.value, seed=self.seed)
        peak = 0
        for bars, data in zip(self._bars, (stats.values, stats.z)):
            counts, _ = np.histogram(data, bins=self._bins)
            bars.set_data(counts)
            peak = max(peak, counts.max())
        self.live.axes[0].set_ylim(0, 1.1 * peak)
        self.readout.value = (f"raw: mean {fmt_number(stats.mean)}, std {fmt_number(stats.std)}"
                              f" &nbsp;→&nbsp; z-scores: mean {fmt_number(stats.z_mean)}, "
                              f"std {fmt_number(stats.z_std)}")  # never "-0.00"
        return stats


def standardize_explorer(seed: int = 0) -> StandardizeExplorer:
    """Build the widget; display its ``.widget``."""
    return StandardizeExplorer(seed=seed)
