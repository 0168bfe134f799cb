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
    assert button.last.correct and "✅" in button.result.value
