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
    box = live._bbox
    # Cropped to the drawn content: smaller than the full 4 x 3 inch canvas.
    assert box.width < 4.2 and box.height < 3.2
    live.axes.plot([0, 1], [0, 1])
    live.render()
    assert live._bbox is box


def test_close_tree_closes_every_nested_widget():
    import ipywidgets as widgets

    from bnlib.widgets import close_tree

    leaf = widgets.IntSlider()
    box = widgets.VBox([widgets.HBox([leaf]), widgets.HTML()])
    nested = [box, box.children[0], leaf, box.children[1]]
    close_tree(box)
    assert all(w.comm is None for w in nested)
