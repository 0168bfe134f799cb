"""Plotting conventions shared by every chapter: a colour-blind-safe palette and a style.

The palette is Okabe & Ito's (2008), distinguishable under the common forms of colour
blindness. Use the names, not raw hex codes, so figures stay consistent across chapters.
"""
from __future__ import annotations

import matplotlib as mpl

__all__ = ["PALETTE", "COLORS", "use_style", "fmt_number"]

PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
# The default colour cycle, in the order lines are drawn.
COLORS = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]


def use_style() -> None:
    """Apply the course's matplotlib style (call once at the top of a notebook)."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=COLORS),
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
        }
    )


def fmt_number(value: float, spec: str = ".2f") -> str:
    """``format(value, spec)`` for a readout, title or label, but never "-0.00".

    A value that rounds to zero prints without its sign: ``fmt_number(-0.001)`` is "0.00",
    ``fmt_number(-1e-17, ".1%")`` is "0.0%". Any other value is formatted as ``format`` does.
    """
    text = format(value, spec)
    if "-" in text and not any(ch in "123456789" for ch in text):
        pad = " " if text.startswith(" ") else ""  # keep a right-aligned width
        return pad + text.replace("-", "", 1)
    return text
