"""The one mechanism behind every course widget: :class:`Widget`, its figure and its Check.

A widget subclasses :class:`Widget` and, in ``__init__``:

1. declares its controls with :meth:`Widget.add_control` (each with the grid of positions
   the web book offers, or ``grid=None`` when it cannot be precomputed), its figures
   (:meth:`Widget.add_figure`), readouts (:meth:`Widget.add_readout`), an optional Check
   (:meth:`Widget.add_check`) and Play button (:meth:`Widget.add_player`);
2. lays them out and draws the first state with :meth:`Widget.build`;
3. implements :meth:`Widget.update`: draw the current state from the controls (move the
   artists, set the readouts' values). The computation it calls is a pure function of a
   bnlib core module; ``update`` neither renders nor times: the base does both.

The base owns the rest: it observes the controls, times each redraw
(``last_update_ms``, ``last_update_cpu_ms``, what ``bench/bench_widgets.py`` reports),
renders every figure into its Output, closes everything (:meth:`Widget.close`) and, in the
web book, exports the widget to kernel-free ipywidgets (:mod:`bnlib.widgets._static`).

Two modes, chosen by the environment variable ``BNLIB_WIDGETS`` when ``.widget`` is read:

- ``live`` (default: JupyterLab, nbval, tests): ``.widget`` is the live box; every move
  runs ``update`` in the kernel.
- ``static`` (set by ``make book``): ``.widget`` is a box of precomputed frames. The
  controls become index controls jslinked to ``Stack`` widgets, so the browser switches
  frames with no kernel; each frame is a PNG the live drawing code rendered in that state.
"""
from __future__ import annotations

import io
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image as PILImage

from ..exercises._core import Feedback

__all__ = ["LiveFigure", "CheckButton", "close_tree", "Widget", "Column", "widget_mode", "MODE_VARIABLE",
           "FRAME_DPI", "slider_grid"]

#: The environment variable that selects the mode: "live" (default) or "static".
MODE_VARIABLE = "BNLIB_WIDGETS"
#: Resolution of every widget figure, live and static alike (one rendering for both, so a
#: static frame is byte for byte what the live widget shows). Modest: it keeps the web
#: book's pages small.
FRAME_DPI = 80
#: Colours of a rendered PNG (an adaptive palette: antialiased lines and text stay smooth).
PNG_COLOURS = 64


def widget_mode() -> str:
    """The widget mode from ``BNLIB_WIDGETS``: "live" (unset or empty) or "static"."""
    mode = os.environ.get(MODE_VARIABLE, "").strip().lower() or "live"
    if mode not in ("live", "static"):
        raise ValueError(f"{MODE_VARIABLE} is {os.environ[MODE_VARIABLE]!r}; expected 'live' "
                         f"or 'static'")
    return mode


class LiveFigure:
    """One matplotlib figure shown in one Output widget; the base calls :meth:`refresh`.

    fig, axes: created with ``plt.subplots(*args, **kwargs)`` and closed immediately so the
    inline backend does not show a second copy below the widget. alt: what the figure
    shows (the web book's alt text starts with it). ``png`` holds the last rendering.
    """

    def __init__(self, *args, alt: str = "", dpi: float = FRAME_DPI, **kwargs):
        self.fig, self.axes = plt.subplots(*args, dpi=dpi, **kwargs)
        plt.close(self.fig)
        self.canvas = FigureCanvasAgg(self.fig)  # whatever the backend: render with Agg
        self.alt = alt
        self.dpi = dpi
        self.output = widgets.Output()
        self.png: bytes | None = None
        self.show = True  # False once exported: renders are then kept, not displayed
        self._box = None

    def render(self) -> bytes:
        """The figure as PNG bytes: one Agg draw, cropped to the tight box of the first
        render (like the inline backend's ``bbox_inches="tight"``, but without its second
        draw), reduced to a palette of :data:`PNG_COLOURS` colours (a third of the bytes,
        the same look). Live and static modes both show exactly these bytes.
        """
        if self.fig.dpi != self.dpi:
            self.fig.set_dpi(self.dpi)
        if self._box is None:  # pixels (left, top, right, bottom), measured once
            box = self.fig.get_tightbbox().padded(0.1)
            width, height = self.canvas.get_width_height()
            x0, x1 = (max(0, int(np.floor(box.x0 * self.dpi))),
                      min(width, int(np.ceil(box.x1 * self.dpi))))
            y0, y1 = (max(0, int(np.floor(box.y0 * self.dpi))),
                      min(height, int(np.ceil(box.y1 * self.dpi))))
            self._box = (x0, height - y1, x1, height - y0)
        self.canvas.draw()
        x0, top, x1, bottom = self._box
        rgba = np.asarray(self.canvas.buffer_rgba())[top:bottom, x0:x1]
        image = PILImage.fromarray(rgba).convert("RGB").quantize(
            PNG_COLOURS, method=PILImage.Quantize.FASTOCTREE)
        buffer = io.BytesIO()
        image.save(buffer, format="png")
        return buffer.getvalue()

    def refresh(self) -> bytes:
        """Render the figure, keep the PNG in ``png`` and show it in the Output widget
        (replacing the previous picture). In the static mode nothing is displayed: the
        frames are collected by the export instead."""
        self.png = self.render()
        if self.show and widget_mode() == "live":
            self.output.clear_output(wait=True)
            with self.output:
                display(Image(data=self.png, format="png"))
        return self.png


def close_tree(widget, keep: frozenset = frozenset()) -> None:
    """Close ``widget`` and, depth first, every widget it contains (except those in ``keep``).

    For an undisplayed instance that a test drives: closed widgets stay out of the saved
    widget state, so the static book holds only what the reader sees.
    """
    for child in getattr(widget, "children", ()):
        close_tree(child, keep)
    if widget not in keep:
        widget.close()


class CheckButton:
    """A "Check" button that runs ``check(**get_state())`` and shows the Feedback below it.

    get_state: returns the widget values the checker needs (a dict).
    check: a pure function ``state -> Feedback``; tested without a browser.
    """

    def __init__(self, get_state: Callable[[], dict], check: Callable[..., Feedback],
                 description: str = "Check"):
        self.get_state = get_state
        self.check = check
        self.description = description
        self.button = widgets.Button(description=description, button_style="primary",
                                     icon="check")
        self.result = widgets.HTML(value="")
        self.last: Feedback | None = None
        self.button.on_click(lambda _: self.run())
        self.widget = widgets.VBox([self.button, self.result])

    def verdict(self) -> Feedback:
        """The checker's verdict on the current state (nothing shown)."""
        return self.check(**self.get_state())

    def run(self) -> Feedback:
        """Check the current state, show and return the verdict (also what a test calls)."""
        self.last = self.verdict()
        self.result.value = self.last._repr_html_()
        return self.last


_SLIDERS = (widgets.IntSlider, widgets.FloatSlider, widgets.FloatLogSlider,
            widgets.IntRangeSlider, widgets.FloatRangeSlider, widgets.SelectionSlider,
            widgets.SelectionRangeSlider)
_CHOICES = (widgets.ToggleButtons, widgets.Dropdown, widgets.RadioButtons, widgets.Select)
_BOOLS = (widgets.Checkbox, widgets.ToggleButton)
#: Most frames one widget may export (the page budget is 5 MB; a frame is about 10-20 KB).
MAX_FRAMES = 600


def slider_grid(control, every: int = 1, include: Sequence = ()) -> list:
    """Positions of a numeric slider every ``every`` steps from min to max (always with max),
    plus the values in ``include``: the grid a reader's slider can reach, sorted.

    For a FloatLogSlider the steps are in the exponent. Values are rounded to 10 decimals,
    so 0.1 * 3 is 0.3, the value the slider itself holds.
    """
    if isinstance(control, widgets.FloatLogSlider):
        n = int(round((control.max - control.min) / control.step))
        ks = sorted(set(range(0, n + 1, every)) | {n})
        values = [round(control.base ** round(control.min + k * control.step, 10), 10)
                  for k in ks]
    else:
        n = int(round((control.max - control.min) / control.step))
        ks = sorted(set(range(0, n + 1, every)) | {n})
        values = [control.min + k * control.step for k in ks]
        if isinstance(control, widgets.IntSlider):
            values = [int(v) for v in values]
        else:
            values = [round(float(v), 10) for v in values]
    return sorted(set(values) | set(include))


@dataclass
class Control:
    """One declared control: the live ipywidget, the positions the web book offers
    (None: cannot be precomputed), their labels, and a note for the disabled case."""

    widget: Any
    grid: list | None
    labels: list[str] | None
    note: str

    def label(self, value) -> str:
        """How the control shows ``value`` (for the web book's slider and the alt text)."""
        c = self.widget
        if self.labels is not None and self.grid is not None and value in self.grid:
            return self.labels[self.grid.index(value)]
        if isinstance(c, _CHOICES + (widgets.SelectionSlider,)):
            for label, v in zip(c._options_labels, c._options_values):
                if v == value:
                    return label
            return str(value)
        if isinstance(c, _BOOLS):
            return "on" if value else "off"
        fmt = getattr(c, "readout_format", None)
        if isinstance(value, tuple):
            return "[" + ", ".join(_fmt(v, fmt) for v in value) + "]"
        return _fmt(value, fmt)


def _fmt(value, fmt) -> str:
    if fmt in (None, "", "d") or isinstance(value, int):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return format(value, fmt)


class Column(tuple):
    """Parts stacked vertically inside a row of :meth:`Widget.build` (a list is side by side)."""

    def __new__(cls, *parts):
        return super().__new__(cls, parts)


class Widget:
    """The base of every course widget: controls, figures, readouts, a Check, closing,
    timing and the web book's static export. See the module docstring for the pattern.

    Public attributes: ``widget`` (what a notebook displays, in the current mode),
    ``last_update_ms`` / ``last_update_cpu_ms`` (wall-clock and CPU time of the last redraw:
    ``update`` plus rendering every figure).
    """

    def __init__(self):
        self._controls: list[Control] = []
        self._figures: list[LiveFigure] = []
        self._readouts: list[widgets.HTML] = []
        self._checks: list[CheckButton] = []
        self._players: list[tuple[widgets.Play, Any, Any]] = []
        self._rows: tuple = ()
        self._live_root = None
        self._static_root = None
        self._holding = False
        self.last_update_ms = float("nan")
        self.last_update_cpu_ms = float("nan")

    # ---------------------------------------------------------------- declaring
    def add_control(self, control, grid: Sequence | str | None = "all", *, every: int = 1,
                    include: Sequence = (), labels: Sequence[str] | None = None,
                    note: str = ""):
        """Register ``control`` (any ipywidgets value control); every change of its value
        redraws. Returns ``control``.

        grid: the values the web book offers, in order. "all" (the default): every option of
        a selection control, both states of a checkbox, every ``every``-th step of a numeric
        slider plus the values in ``include`` (see :func:`slider_grid`). None: not precomputed; the web book shows the control disabled, with ``note``
        ("move it in JupyterLab" by default). The current value is always added to a grid.
        labels: how the web book labels each grid value (default: as the control shows it).
        """
        if grid == "all":
            if isinstance(control, _CHOICES + (widgets.SelectionSlider,)):
                grid = list(control._options_values)
            elif isinstance(control, _BOOLS):
                grid = [False, True]
            elif isinstance(control, (widgets.IntSlider, widgets.FloatSlider,
                                      widgets.FloatLogSlider)):
                grid = slider_grid(control, every, include)
            else:
                raise ValueError(f"add_control: give grid= for a {type(control).__name__} "
                                 f"({control.description!r}); grid='all' covers sliders, "
                                 f"selections and checkboxes")
        if grid is not None:
            grid = list(grid)
            if not grid:
                raise ValueError(f"add_control: the grid of {control.description!r} is empty")
            if labels is not None and len(labels) != len(grid):
                raise ValueError(f"add_control: {len(labels)} labels for {len(grid)} grid "
                                 f"values of {control.description!r}")
        entry = Control(control, grid, list(labels) if labels is not None else None,
                        note or "move it in JupyterLab")
        self._controls.append(entry)
        control.observe(self._on_change, names="value")
        return control

    def add_figure(self, *args, alt: str, **kwargs) -> LiveFigure:
        """A :class:`LiveFigure` (``plt.subplots(*args, **kwargs)``) that the base renders
        after every ``update``. ``alt``: what it shows, in one sentence."""
        if not alt:
            raise ValueError("add_figure: alt must say what the figure shows")
        figure = LiveFigure(*args, alt=alt, **kwargs)
        self._figures.append(figure)
        return figure

    def add_readout(self, value: str = "", **kwargs) -> widgets.HTML:
        """An HTML readout that ``update`` fills; in the web book it is part of each frame."""
        readout = widgets.HTML(value=value, **kwargs)
        self._readouts.append(readout)
        return readout

    def add_check(self, get_state: Callable[[], dict], check: Callable[..., Feedback],
                  description: str = "Check") -> CheckButton:
        """A Check button: ``check(**get_state())`` returns the Feedback shown. In the web
        book: an accordion titled ``description`` holding the verdict for every position."""
        button = CheckButton(get_state, check, description)
        self._checks.append(button)
        return button

    def add_player(self, control, **kwargs) -> widgets.Play:
        """A Play button that steps ``control`` (a registered slider) through its values;
        ``kwargs`` go to ``ipywidgets.Play`` (step, interval, description). The web book
        shows a note in its place (html-manager's Play breaks under the theme's icons, see
        :func:`bnlib.widgets._static.export`); the slider steps through the same grid."""
        play = widgets.Play(value=control.value, min=control.min, max=control.max, **kwargs)
        link = widgets.jslink((play, "value"), (control, "value"))
        self._players.append((play, control, link))
        return play

    def build(self, *rows) -> None:
        """Lay the parts out and draw the first state; call it last in ``__init__``. A row is
        a part (a control, readout, figure, Check, Play or any widget), a list of parts side
        by side, or a :class:`Column` of parts one above the other (nestable)."""
        self._rows = rows
        self._live_root = widgets.VBox([self._live_part(r) for r in rows])
        self.redraw()

    def _live_part(self, item):
        if isinstance(item, Column):
            return widgets.VBox([self._live_part(i) for i in item])
        if isinstance(item, (list, tuple)):
            return widgets.HBox([self._live_part(i) for i in item])
        if isinstance(item, LiveFigure):
            return item.output
        if isinstance(item, CheckButton):
            return item.widget
        return item

    # ---------------------------------------------------------------- drawing
    def update(self):
        """Draw the current state from the controls (subclasses). Returns anything useful
        to a test (the computed result); must not render: the base does."""
        raise NotImplementedError

    def redraw(self):
        """``update`` then render every figure, timed. What every control change runs."""
        start, start_cpu = time.perf_counter(), time.thread_time()
        result = self.update()
        for figure in self._figures:
            figure.refresh()
        self.last_update_ms = 1000 * (time.perf_counter() - start)
        self.last_update_cpu_ms = 1000 * (time.thread_time() - start_cpu)
        return result

    def _on_change(self, _change=None) -> None:
        if not self._holding:
            self.redraw()

    @contextmanager
    def hold(self):
        """Set several controls at once with one redraw at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        self.redraw()

    def set_state(self, values: dict) -> None:
        """Set controls by description ({"center": -5.0, ...}) with one redraw."""
        by_name = {c.widget.description: c.widget for c in self._controls}
        with self.hold():
            for name, value in values.items():
                if name not in by_name:
                    raise KeyError(f"set_state: no control {name!r}; the controls are "
                                   f"{sorted(by_name)}")
                by_name[name].value = value

    def describe_state(self) -> str:
        """The positions of every control, for alt text: "center 5, spread 2"."""
        return ", ".join(f"{c.widget.description} {c.label(c.widget.value)}"
                         for c in self._controls)

    # ---------------------------------------------------------------- showing, closing
    @property
    def widget(self):
        """What a notebook displays: the live box, or in the static mode (``BNLIB_WIDGETS=
        static``) the precomputed, kernel-free box (built on first use)."""
        if self._live_root is None:
            raise RuntimeError(f"{type(self).__name__}: call self.build(...) in __init__")
        if widget_mode() == "live":
            return self._live_root
        if self._static_root is None:
            from ._static import export
            self._static_root = export(self)
        return self._static_root

    def close(self) -> None:
        """Clear the figures and close every widget of this instance. For an undisplayed
        instance that a test drives: its picture then stays out of the saved widget state."""
        for figure in self._figures:
            figure.output.clear_output()
        for play, _, link in self._players:
            link.close()
        if self._live_root is not None:
            close_tree(self._live_root)
        for c in self._controls:
            c.widget.close()
        if self._static_root is not None:
            close_tree(self._static_root)


def frames_of(widget: Widget) -> int:
    """How many frames the static export of ``widget`` draws (the product of its grids)."""
    return math.prod(len(c.grid) for c in widget._controls if c.grid is not None)
