"""Widgets for the chapters. Each is thin: sliders -> a pure bnlib function -> redraw."""
from ._core import CheckButton, LiveFigure

__all__ = ["CheckButton", "LiveFigure"]
