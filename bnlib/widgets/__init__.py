"""Widgets for the chapters, all on one base (:class:`Widget`): controls -> a pure bnlib
function -> redraw, live in JupyterLab and precomputed in the web book (``BNLIB_WIDGETS``)."""
from ._core import (FRAME_DPI, MODE_VARIABLE, CheckButton, Column, LiveFigure, Widget, close_tree,
                    slider_grid, widget_mode)
from .choice import ChoiceExercise

__all__ = ["Widget", "Column", "ChoiceExercise", "CheckButton", "LiveFigure", "close_tree",
           "slider_grid", "widget_mode", "MODE_VARIABLE", "FRAME_DPI"]
