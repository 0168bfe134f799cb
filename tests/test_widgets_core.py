"""LiveFigure re-renders one figure into one Output; CheckButton shows a checker's verdict."""
import matplotlib

matplotlib.use("Agg")

from bnlib.exercises import Feedback
from bnlib.widgets import CheckButton, LiveFigure


def test_live_figure_does_not_register_new_figures_per_refresh():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    live = LiveFigure(1, 2, alt="two panels")
    line, = live.axes[0].plot([0, 1], [0, 1])
    for y in ([1, 0], [0.5, 0.5], [0, 1]):
        line.set_ydata(y)
        live.refresh()
    # The figure is closed to pyplot (so the inline backend never shows a second copy)
    # and refreshing re-renders the same figure instead of creating new ones.
    assert set(plt.get_fignums()) == before
    assert len(live.axes) == 2 and live.alt == "two panels"


def test_check_button_runs_the_checker_on_the_current_state():
    state = {"value": 1.0}
    button = CheckButton(lambda: dict(state),
                         lambda value: Feedback(value == 2.0, f"value is {value}"))
    assert not button.run().correct
    assert "value is 1.0" in button.result.value
    state["value"] = 2.0
    button.button.click()
    assert button.last.correct and "bn-feedback-correct" in button.result.value


def test_render_is_a_cropped_png_and_reuses_the_crop_box():
    live = LiveFigure(1, 1, figsize=(4, 3))
    live.axes.set(xlabel="x (units)", ylabel="y (units)", title="a title")
    png = live.render()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    box = live._box
    x0, top, x1, bottom = box
    # Cropped to the drawn content: smaller than the full 4 x 3 inch canvas at FRAME_DPI.
    assert 0 < x1 - x0 < 4 * live.dpi and 0 < bottom - top <= 3 * live.dpi
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png)).size == (x1 - x0, bottom - top)
    live.axes.plot([0, 1], [0, 1])
    live.render()
    assert live._box is box


def test_close_tree_closes_every_nested_widget():
    import ipywidgets as widgets

    from bnlib.widgets import close_tree

    leaf = widgets.IntSlider()
    box = widgets.VBox([widgets.HBox([leaf]), widgets.HTML()])
    nested = [box, box.children[0], leaf, box.children[1]]
    close_tree(box)
    assert all(w.comm is None for w in nested)


# --------------------------------------------------------------------- the Widget base
import base64  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib.widgets import ChoiceExercise, Widget, slider_grid, widget_mode  # noqa: E402
from bnlib.widgets._static import PLAY_NOTE  # noqa: E402


class Toy(Widget):
    """A line whose slope and colour follow two controls, a readout and a Check."""

    def __init__(self, slope=1.0, fixed_grid=None):
        super().__init__()
        self.slope = self.add_control(widgets.FloatSlider(value=slope, min=-2, max=2, step=0.5,
                                                          description="slope"), every=2)
        self.colour = self.add_control(widgets.ToggleButtons(options=["blue", "red"],
                                                             description="colour"))
        self.width = self.add_control(widgets.IntSlider(value=2, min=1, max=5,
                                                        description="width"), grid=fixed_grid)
        self.readout = self.add_readout()
        self.live = self.add_figure(figsize=(2, 1.5), alt="A straight line.")
        (self.line,) = self.live.axes.plot([0, 1], [0, 1])
        self.live.axes.set(xlim=(0, 1), ylim=(-2, 2), title="a line")
        self.check = self.add_check(lambda: {"slope": self.slope.value}, self.verdict)
        self.updates = 0
        self.build([self.slope, self.colour], self.width, self.readout, self.live, self.check)

    @staticmethod
    def verdict(slope):
        return Feedback(slope == -1.0, f"slope is {slope:g}")

    def update(self):
        self.updates += 1
        self.line.set_data([0, 1], [0, self.slope.value])
        self.line.set_color(self.colour.value)
        self.line.set_linewidth(self.width.value)
        self.readout.value = f"slope {self.slope.value:g}, {self.colour.value}"
        return self.slope.value


def _static(monkeypatch, tmp_path=None):
    monkeypatch.setenv("BNLIB_WIDGETS", "static")
    if tmp_path is not None:
        monkeypatch.setenv("BNLIB_WIDGETS_MANIFEST", str(tmp_path))


def _find(root, cls):
    found = [root] if isinstance(root, cls) else []
    for child in getattr(root, "children", ()):
        found += _find(child, cls)
    return found


def _png(html_widget) -> bytes:
    src = html_widget.value.split('src="data:image/png;base64,')[1].split('"')[0]
    return base64.b64decode(src)


def test_live_mode_redraws_on_every_change_and_times_it(monkeypatch):
    monkeypatch.delenv("BNLIB_WIDGETS", raising=False)
    w = Toy()
    assert w.widget is w._live_root and widget_mode() == "live"
    first, n = w.live.png, w.updates
    w.slope.value = -1.0
    assert w.updates == n + 1 and w.live.png != first and w.readout.value == "slope -1, blue"
    assert np.isfinite(w.last_update_ms)  # the base recorded the redraw (NaN before any)
    with w.hold():  # two changes, one redraw
        w.slope.value, w.colour.value = 0.5, "red"
    assert w.updates == n + 2
    w.set_state({"slope": 1.0})
    assert w.slope.value == 1.0 and w.updates == n + 3
    with pytest.raises(KeyError, match="no control 'angle'"):
        w.set_state({"angle": 1.0})


def test_bad_mode_is_named(monkeypatch):
    monkeypatch.setenv("BNLIB_WIDGETS", "frozen")
    with pytest.raises(ValueError, match="BNLIB_WIDGETS"):
        widget_mode()


def test_static_export_has_one_frame_per_state_identical_to_the_live_rendering(
        monkeypatch, tmp_path):
    _static(monkeypatch, tmp_path)
    w = Toy(slope=0.5)  # 0.5 is not on the every-2 grid (-2, -1, 0, 1, 2): it is added
    root = w.widget
    assert "bn-static-widget" in root._dom_classes
    slope, colour = _find(root, widgets.SelectionSlider)[0], _find(root, widgets.ToggleButtons)[0]
    assert list(slope._options_labels) == ["-2.00", "-1.00", "0.00", "0.50", "1.00", "2.00"]
    assert slope.index == 3 and colour.index == 0 and list(colour._options_labels) == ["blue", "red"]
    outer = _find(root, widgets.Stack)[0]
    assert len(outer.children) == 6 and all(len(s.children) == 2 for s in outer.children)
    # A fresh live widget, moved like a reader (one control at a time, another order),
    # shows exactly the frame's bytes; the readout and alt text belong to the same state.
    monkeypatch.setenv("BNLIB_WIDGETS", "live")
    reader = Toy(slope=0.5)
    for i, value in enumerate([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0]):
        for j, name in enumerate(["blue", "red"]):
            reader.colour.value = name
            reader.slope.value = value
            readout, figure = outer.children[i].children[j].children
            assert _png(figure) == reader.live.png, (value, name)
            assert readout.value == reader.readout.value
            assert f"slope {slope._options_labels[i]}, colour {name}" in figure.value
    # The Check: an accordion over the same stacks, the checker's verdict in each.
    accordion = _find(root, widgets.Accordion)[0]
    assert accordion.titles == ("Check",) and accordion.selected_index is None
    verdicts = accordion.children[0]
    assert "Correct" not in verdicts.children[0].children[0].value
    assert verdicts.children[1].children[1].value == Toy.verdict(-1.0)._repr_html_()
    # Every stack follows the index of its level's control.
    links = root._bn_links
    assert sum(link.source[0] is slope for link in links) == 2  # frames + verdicts
    assert sum(link.source[0] is colour for link in links) == 2 * 6
    # The manifest records what the live drawing code rendered, state by state.
    key = next(c for c in root._dom_classes if c.startswith("bn-w-"))[5:]
    manifest = json.loads((tmp_path / f"{key}.json").read_text())
    assert [c["description"] for c in manifest["controls"]] == ["slope", "colour"]
    frame = next(f for f in manifest["frames"] if f["state"] == ["-1.00", "red"])
    assert frame["png_sha256"] == [hashlib.sha256(_png(
        outer.children[1].children[1].children[1])).hexdigest()]
    assert frame["correct"] == [True]


def test_static_export_disables_what_it_cannot_precompute_and_closes_the_live_widgets(
        monkeypatch):
    _static(monkeypatch)
    w = Toy()
    root = w.widget
    copies = [s for s in _find(root, widgets.IntSlider)]
    assert len(copies) == 1 and copies[0].disabled and copies[0].value == 2
    assert "move it in JupyterLab" in root.children[1].children[1].value
    assert w.slope.comm is None and w.live.output.comm is None and w.check.button.comm is None
    w.slope.value = -1.0  # the Python object keeps working for test cells
    assert w.check.run().correct and w.readout.value.startswith("slope -1")
    assert w.widget is root  # exported once


def test_static_export_refuses_too_many_frames_or_no_working_control(monkeypatch):
    _static(monkeypatch)
    w = Toy(fixed_grid=list(range(1, 6)))
    w._controls[0].grid = slider_grid(w.slope) * 30  # 9 x 30 x 2 x 5 frames
    with pytest.raises(ValueError, match="exceed"):
        w.widget
    w = Toy()
    for c in w._controls:
        c.grid = None
    with pytest.raises(ValueError, match="no control has a grid"):
        w.widget


def test_slider_grid_steps_and_includes():
    s = widgets.FloatSlider(min=0.0, max=1.0, step=0.1)
    assert slider_grid(s, every=3) == [0.0, 0.3, 0.6, 0.9, 1.0]
    assert slider_grid(widgets.IntSlider(min=0, max=10), every=5, include=(7,)) == [0, 5, 7, 10]
    log = widgets.FloatLogSlider(min=-2, max=0, step=0.5)
    assert slider_grid(log, every=2) == [0.01, 0.1, 1.0]


def test_player_is_a_note_in_the_book(monkeypatch):
    # html-manager's PlayView throws under the theme's fontawesome.js (it replaces the <i>
    # icons the view looks up), and the throw cut the slider's links to the frames: the web
    # book shows a note instead of Play, and the slider alone steps the frames.
    class Stepper(Widget):
        def __init__(self):
            super().__init__()
            self.step = self.add_control(widgets.IntSlider(value=4, min=0, max=10,
                                                           description="step"), every=5)
            self.play = self.add_player(self.step, step=2, interval=100)
            self.readout = self.add_readout()
            self.build([self.step, self.play], self.readout)

        def update(self):
            self.readout.value = f"step {self.step.value}"

    monkeypatch.delenv("BNLIB_WIDGETS", raising=False)
    live = Stepper()
    assert live.play.max == 10 and live._players[0][2].source[0] is live.play
    _static(monkeypatch)
    root = Stepper().widget
    assert _find(root, widgets.Play) == []
    slider, = _find(root, widgets.SelectionSlider)
    assert list(slider._options_labels) == ["0", "4", "5", "10"] and slider.index == 1
    notes = [h.value for h in _find(root, widgets.HTML) if PLAY_NOTE in h.value]
    assert len(notes) == 1 and "JupyterLab" in PLAY_NOTE
    stack = _find(root, widgets.Stack)[0]
    assert any(link.source == (slider, "index") and link.target == (stack, "selected_index")
               for link in root._bn_links)
    assert all("Play" not in type(link.source[0]).__name__ for link in root._bn_links)
    assert [f.children[0].value for f in stack.children] == ["step 0", "step 4", "step 5",
                                                             "step 10"]


def test_choice_exercise_live_and_static(monkeypatch):
    def check(answer):
        if answer is None:
            return Feedback(False, "Choose an option.")
        return Feedback(answer == "C", f"you chose {answer}")

    monkeypatch.delenv("BNLIB_WIDGETS", raising=False)
    quiz = ChoiceExercise(["A", "B", "C"], check)
    assert quiz.choice.value is None and not quiz.check.run().correct
    quiz.choice.value = "C"
    assert quiz.check.result.value == ""  # a new choice clears the old verdict
    assert quiz.check.run().correct
    _static(monkeypatch)
    quiz = ChoiceExercise(["A", "B", "C"], check)
    root = quiz.widget
    radio, = _find(root, widgets.RadioButtons)
    assert radio.index is None and list(radio._options_labels) == ["A", "B", "C"]
    accordion, = _find(root, widgets.Accordion)
    verdicts = accordion.children[0].children
    assert [v.value for v in verdicts] == [check(x)._repr_html_() for x in "ABC"]
    pick = ChoiceExercise([16, 32, 64], lambda answer: Feedback(answer == 32, str(answer)),
                          kind="slider", description="batch size")
    slider, = _find(pick.widget, widgets.SelectionSlider)
    assert slider.index == 0 and slider.description == "batch size"
    with pytest.raises(ValueError, match="kind"):
        ChoiceExercise(["A", "B"], check, kind="wheel")


def test_the_book_extension_keeps_one_cache_per_mode(monkeypatch, tmp_path):
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
    import widget_mode as ext

    app = SimpleNamespace(outdir=str(tmp_path / "_build" / "html"))
    warnings = []
    monkeypatch.setattr(ext.LOGGER, "warning", warnings.append)
    monkeypatch.delenv("BNLIB_WIDGETS_MANIFEST", raising=False)
    paths = {}
    for mode in ("static", "live"):
        monkeypatch.setenv("BNLIB_WIDGETS", mode)
        config = SimpleNamespace(nb_execution_cache_path="")
        ext._configure(app, config)
        paths[mode] = config.nb_execution_cache_path
    assert paths["static"].endswith("static") and paths["live"].endswith("live")
    assert len(warnings) == 1 and "BNLIB_WIDGETS" in warnings[0]
