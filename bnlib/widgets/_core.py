"""Thin wiring shared by the course's widgets.

The computation behind a widget is a pure function elsewhere in bnlib; these helpers only
connect sliders to it and redraw. A :class:`LiveFigure` keeps one matplotlib figure and
re-renders it into one ``Output`` widget, so a slider move never stacks a new figure and the
saved widget state (what the static book shows) holds the current picture.
"""
from __future__ import annotations

import io
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Image, display

from ..exercises._core import Feedback

__all__ = ["LiveFigure", "CheckButton", "close_tree"]


class LiveFigure:
    """One figure shown in one Output widget; call :meth:`refresh` after updating artists.

    fig, axes: created with ``plt.subplots(*args, **kwargs)`` and closed immediately so the
    inline backend does not show a second copy below the widget.
    """

    def __init__(self, *args, alt: str = "", **kwargs):
        self.fig, self.axes = plt.subplots(*args, **kwargs)
        plt.close(self.fig)
        self.alt = alt
        self.output = widgets.Output()
        self._bbox = None

    def render(self) -> bytes:
        """The figure as PNG bytes, cropped like the inline backend's ``bbox_inches="tight"``.

        The tight crop box is measured on the first render and reused afterwards: measuring
        it costs a full extra draw, a third of a redraw, and slider moves rarely change it.
        """
        if self._bbox is None:
            self._bbox = self.fig.get_tightbbox().padded(0.1)
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", bbox_inches=self._bbox)
        return buffer.getvalue()

    def refresh(self) -> None:
        """Re-render the figure into the Output widget (replacing the previous picture)."""
        png = self.render()
        self.output.clear_output(wait=True)
        with self.output:
            display(Image(data=png, format="png"))


def close_tree(widget) -> None:
    """Close ``widget`` and, depth first, every widget it contains.

    For an undisplayed instance that a test drives: closed widgets stay out of the saved
    widget state, so the static book holds only what the reader sees.
    """
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()


class CheckButton:
    """A "Check" button that runs ``check(state)`` and shows the Feedback below it.

    get_state: returns the widget values the checker needs (a dict).
    check: a pure function ``state -> Feedback``; tested without a browser.
    """

    def __init__(self, get_state: Callable[[], dict], check: Callable[..., Feedback],
                 description: str = "Check"):
        self.get_state = get_state
        self.check = check
        self.button = widgets.Button(description=description, button_style="primary",
                                     icon="check")
        self.result = widgets.HTML(value="")
        self.last: Feedback | None = None
        self.button.on_click(lambda _: self.run())
        self.widget = widgets.VBox([self.button, self.result])

    def run(self) -> Feedback:
        """Check the current state, show and return the verdict (also what a test calls)."""
        self.last = self.check(**self.get_state())
        self.result.value = self.last._repr_html_()
        return self.last
