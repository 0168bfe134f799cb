"""The web book's kernel-free widgets: every state of a :class:`~bnlib.widgets.Widget` on
its controls' grids, drawn at build time by the widget's own ``update`` and rendering.

:func:`export` turns a live widget into plain ipywidgets that html-manager (the script the
book ships) renders with no kernel:

- each control with a grid becomes an index control (``SelectionSlider`` for sliders,
  the same selection class for choices, ``ToggleButtons`` for a checkbox) over the grid;
- the frames (the readouts' HTML and each figure's PNG, in that order) sit in nested
  ``Stack`` widgets, one level per control, and ``jsdlink`` ties each control's ``index``
  to the ``selected_index`` of every stack of its level, so the browser switches frames;
- a Check becomes an ``Accordion`` titled like the button, holding stacks of the
  checker's verdict for every position, linked the same way;
- a Play button is not exported: in its place a note says that Play runs in JupyterLab
  and that the slider steps through the same positions (see :data:`PLAY_NOTE`);
- a control without a grid is shown disabled with a note ("move it in JupyterLab").

When ``BNLIB_WIDGETS_MANIFEST`` names a folder, the export also writes
``<folder>/<key>.json``: for every state (the controls' labels) the sha256 of each frame's
PNG, the readouts' HTML and the verdict. The browser test of the book compares the page
against it; ``key`` is the CSS class ``bn-w-<key>`` of the exported box.
"""
from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import os
import time
from pathlib import Path

import ipywidgets as widgets

from ._core import (_BOOLS, _CHOICES, MAX_FRAMES, Column, Control, LiveFigure, CheckButton, Widget,
                    close_tree)

__all__ = ["export", "MANIFEST_VARIABLE", "PLAY_NOTE"]

MANIFEST_VARIABLE = "BNLIB_WIDGETS_MANIFEST"
# What the web book shows in place of a Play button (why: see export()).
PLAY_NOTE = "Play runs in JupyterLab; here, use the slider (arrow keys step it)."


def _grid_with_current(c: Control) -> tuple[list, list[str], int | None]:
    """The control's grid with its current value added (sorted in when the grid is), its
    labels, and the index of the current value (None: a selection with nothing chosen)."""
    grid = list(c.grid)
    value = c.widget.value
    labels = list(c.labels) if c.labels is not None else None
    if value is None and isinstance(c.widget, _CHOICES):
        return grid, labels or [c.label(v) for v in grid], None
    if value not in grid:
        try:
            ordered = grid == sorted(grid)
        except TypeError:
            ordered = False
        grid.append(value)
        if ordered:
            grid.sort()
        if labels is not None:  # the new value gets the control's own label
            labels.insert(grid.index(value), c.label(value))
    if labels is None:
        labels = [c.label(v) for v in grid]
    return grid, labels, grid.index(value)


def _style(control) -> dict:
    style = {}
    width = getattr(control.style, "description_width", "")
    if width:
        style["description_width"] = width
    return style


def _index_control(c: Control, labels: list[str], index: int | None):
    """The web book's control: same description, an ``index`` over the grid's labels."""
    live = c.widget
    options = [(label, i) for i, label in enumerate(labels)]
    kwargs = dict(options=options, description=live.description, style=_style(live))
    if isinstance(live, _CHOICES):
        cls = type(live) if not isinstance(live, widgets.Select) else widgets.Dropdown
        if isinstance(live, widgets.ToggleButtons):
            width = getattr(live.style, "button_width", "")
            if width:
                kwargs["style"] = dict(kwargs["style"], button_width=width)
        control = cls(**kwargs)
        control.index = index
        return control
    if isinstance(live, _BOOLS):
        return widgets.ToggleButtons(**kwargs, index=index)
    layout = {"width": live.layout.width} if live.layout.width else {}
    return widgets.SelectionSlider(**kwargs, index=index, continuous_update=True,
                                   layout=widgets.Layout(**layout))


def _disabled_copy(c: Control) -> widgets.Widget:
    """The control as it stands, disabled, with a short note."""
    live = c.widget
    keys = [k for k in ("options", "min", "max", "step", "base", "readout_format", "value",
                        "description", "orientation") if live.has_trait(k)]
    copy = type(live)(**{k: getattr(live, k) for k in keys}, disabled=True,
                      style=_style(live))
    note = widgets.HTML(f"<span class='bn-note'>fixed at {html.escape(c.label(live.value))} "
                        f"in the web book: {html.escape(c.note)}</span>")
    return widgets.HBox([copy, note])


def _frame_html(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">'


def _nest(leaves: dict, shape: tuple[int, ...], layout, prefix: tuple = ()) -> widgets.Widget:
    """Nested Stacks over ``shape``; ``leaves[index tuple]`` at the bottom."""
    if len(prefix) == len(shape):
        return leaves[prefix]
    children = [_nest(leaves, shape, layout, prefix + (i,)) for i in range(shape[len(prefix)])]
    return widgets.Stack(children, layout=layout)


def _stacks_by_level(root, depth: int) -> list[list[widgets.Stack]]:
    levels, current = [], [root]
    for _ in range(depth):
        levels.append(current)
        current = [child for stack in current for child in stack.children]
    return levels


def export(w: Widget) -> widgets.Widget:
    """Render every state of ``w`` on its grids and return the kernel-free box (see the
    module docstring). The live widgets of ``w`` are closed afterwards (they would only
    weigh on the page); ``w`` itself keeps working in Python, undisplayed."""
    gridded = [c for c in w._controls if c.grid is not None]
    if not gridded:
        raise ValueError(f"{type(w).__name__}: no control has a grid; the web book needs at "
                         f"least one working control")
    grids = [_grid_with_current(c) for c in gridded]
    shape = tuple(len(g) for g, _, _ in grids)
    n_frames = 1
    for n in shape:
        n_frames *= n
    if n_frames > MAX_FRAMES:
        raise ValueError(f"{type(w).__name__}: {n_frames} frames "
                         f"({' x '.join(map(str, shape))}) exceed {MAX_FRAMES}; use coarser "
                         f"grids or grid=None for a control")
    started, started_cpu = time.perf_counter(), time.process_time()
    initial = {id(c): c.widget.value for c in w._controls}
    fixed = [c for c in w._controls if c.grid is None]
    fixed_text = ", ".join(f"{c.widget.description} {c.label(c.widget.value)}" for c in fixed)

    # One Layout and one style model shared by every frame part: a page holds hundreds of
    # frames, and each widget would otherwise bring two models of its own.
    shared = {"layout": widgets.Layout(), "style": widgets.widget_string.HTMLStyle()}
    box_layout = widgets.Layout()
    frames, verdicts, records = {}, {}, []
    for index in itertools.product(*(range(n) for n in shape)):
        with w.hold():
            for c, (grid, _, _), i in zip(gridded, grids, index):
                c.widget.value = grid[i]
        labels = [labels[i] for (_, labels, _), i in zip(grids, index)]
        state = ", ".join(f"{c.widget.description} {label}" for c, label in zip(gridded, labels))
        if fixed_text:
            state += f" ({fixed_text})"
        parts, shas = [], []
        for readout in w._readouts:
            parts.append(widgets.HTML(readout.value, **shared).add_class("bn-readout"))
        for figure in w._figures:
            alt = f"{figure.alt} Shown for {state}."
            parts.append(widgets.HTML(_frame_html(figure.png, alt), **shared)
                         .add_class("bn-figure"))
            shas.append(hashlib.sha256(figure.png).hexdigest())
        frames[index] = widgets.VBox(parts, layout=box_layout).add_class("bn-frame")
        feedback = [check.verdict() for check in w._checks]
        verdicts[index] = [widgets.HTML(f._repr_html_(), **shared).add_class("bn-verdict")
                           for f in feedback]
        records.append({"state": labels, "png_sha256": shas,
                        "readouts": [r.value for r in w._readouts],
                        "verdicts": [f._repr_html_() for f in feedback],
                        "correct": [f.correct for f in feedback]})
    with w.hold():  # back to where the notebook left it
        for c in w._controls:
            c.widget.value = initial[id(c)]

    start = tuple(i for _, _, i in grids)
    controls = [_index_control(c, labels, i) for c, (_, labels, i) in zip(gridded, grids)]
    by_control = {id(c): ctrl for c, ctrl in zip(gridded, controls)}
    links = []

    def linked(root):
        for level, stacks in enumerate(_stacks_by_level(root, len(shape))):
            for stack in stacks:
                stack.selected_index = start[level]
                links.append(widgets.jsdlink((controls[level], "index"),
                                             (stack, "selected_index")))
        return root

    frame_root = (linked(_nest(frames, shape, box_layout)).add_class("bn-frames")
                  if (w._figures or w._readouts) else None)
    checks = []
    for k, check in enumerate(w._checks):
        leaves = {i: v[k] for i, v in verdicts.items()}
        accordion = widgets.Accordion([linked(_nest(leaves, shape, box_layout))
                                       .add_class("bn-verdicts")],
                                      titles=(check.description,), selected_index=None)
        checks.append(accordion.add_class("bn-check"))
    # No Play in the web book. The theme's fontawesome.js (SVG + JS) replaces every
    # <i class="fa ..."> with an <svg>, including the icons of html-manager's PlayView, whose
    # update() then looks the <i> up again and throws ("Cannot set properties of undefined
    # (setting 'className')"). Every change of the Play model calls update(), and a link that
    # sets Play.value from the slider runs inside the slider's change event, so the throw also
    # cut off the jsdlinks to the frame stacks: the picture stopped following the slider.
    # A one-way link from Play does not help: pressing Play sets `playing`, whose handler
    # throws before it starts the animation. So the book shows a note where Play was.
    players = {}
    for play, control, _ in w._players:
        if any(c.widget is control for c in gridded):
            players[id(play)] = widgets.HTML(f"<span class='bn-note'>{PLAY_NOTE}</span>")

    placed = {"frames": False}
    check_by_id = {id(c): a for c, a in zip(w._checks, checks)}

    def part(item):
        if isinstance(item, (list, tuple)):
            inner = [p for p in (part(i) for i in item) if p is not None]
            box = widgets.VBox if isinstance(item, Column) else widgets.HBox
            return box(inner) if inner else None
        # The frames (readouts and figures) go where the first figure is (a widget without
        # figures: its first readout); the readouts' own places stay empty.
        anchor = isinstance(item, LiveFigure) if w._figures else \
            any(item is r for r in w._readouts)
        if anchor or any(item is r for r in w._readouts):
            if not anchor or placed["frames"] or frame_root is None:
                return None
            placed["frames"] = True
            return frame_root
        if isinstance(item, CheckButton):
            return check_by_id[id(item)]
        if isinstance(item, widgets.Play):
            return players.get(id(item))
        for c in w._controls:
            if item is c.widget:
                return by_control[id(c)] if c.grid is not None else _disabled_copy(c)
        return item  # anything else (a label, a note) is shown as it is

    rows = [p for p in (part(r) for r in w._rows) if p is not None]
    if frame_root is not None and not placed["frames"]:
        rows.append(frame_root)
    key = hashlib.sha256(json.dumps([type(w).__name__, [c.widget.description for c in gridded],
                                     records], sort_keys=True).encode()).hexdigest()[:16]
    root = widgets.VBox(rows).add_class("bn-static-widget").add_class(f"bn-w-{key}")
    root._bn_links = links  # keep the links referenced with the box
    kept = frozenset(r for r in w._rows if isinstance(r, widgets.Widget)
                     and not any(r is c.widget for c in w._controls)
                     and not any(r is x for x in w._readouts)
                     and not isinstance(r, widgets.Play))
    _close_live(w, kept)
    seconds = (time.perf_counter() - started, time.process_time() - started_cpu)
    _write_manifest(key, w, gridded, grids, records, seconds)
    return root


def _close_live(w: Widget, keep: frozenset) -> None:
    for figure in w._figures:
        figure.show = False
        figure.output.clear_output()
    for play, _, link in w._players:
        link.close()
        play.close()
    close_tree(w._live_root, keep)
    for c in w._controls:
        c.widget.close()


def _write_manifest(key, w, gridded, grids, records, seconds) -> None:
    folder = os.environ.get(MANIFEST_VARIABLE, "").strip()
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    manifest = {
        "key": key, "widget": type(w).__name__,
        "controls": [{"description": c.widget.description, "kind": type(c.widget).__name__,
                      "labels": labels, "start": start}
                     for c, (_, labels, start) in zip(gridded, grids)],
        "fixed": [c.widget.description for c in w._controls if c.grid is None],
        "checks": [check.description for check in w._checks],
        "export_seconds": {"wall": round(seconds[0], 2), "cpu": round(seconds[1], 2)},
        "frames": records,
    }
    (path / f"{key}.json").write_text(json.dumps(manifest, indent=0))
