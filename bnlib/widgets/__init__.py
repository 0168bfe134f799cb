"""Widgets for the chapters. Each is thin: sliders -> a pure bnlib function -> redraw."""
from ._core import CheckButton, LiveFigure, close_tree

__all__ = ["CheckButton", "LiveFigure", "close_tree"]
