"""Widgets of chapters 1 and 2: the pure computations, and the widgets driven like a reader."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bnlib import gd  # noqa: E402
from bnlib.data import rental_bikes  # noqa: E402
from bnlib.exercises.scaling import SQUEEZE_BAND, format_share, squeeze_threshold  # noqa: E402
from bnlib.scaling import minmax_scale  # noqa: E402
from bnlib.scaling import outlier_effect, scale_to_range  # noqa: E402
from bnlib.widgets.scaling import outlier_explorer, range_explorer  # noqa: E402
from bnlib.widgets._core import frames_of  # noqa: E402
from bnlib.widgets.standardization import (describe_run, gd_explorer, slider_lr,  # noqa: E402
                                           view_window)


@pytest.fixture(scope="module")
def bikes():
    return rental_bikes(n=200, seed=0)


# ------------------------------------------------------------------ pure computations

def test_outlier_effect_measures_the_band_of_the_others():
    column = np.array([10.0, 20.0, 30.0, 40.0])
    effect = outlier_effect(column, 310.0, index=0)
    assert np.array_equal(column, [10.0, 20.0, 30.0, 40.0])  # input untouched
    assert effect.column[0] == 310.0
    assert np.isclose(effect.scaled[0], 1.0)
    assert np.isclose(effect.others_lo, 0.0) and np.isclose(effect.others_hi, 20 / 290)
    assert np.isclose(effect.fraction, 20 / 290)


def test_outlier_effect_at_the_threshold_fills_exactly_the_band():
    rng = np.random.default_rng(1)
    column = rng.uniform(100, 900, 50)
    others = np.delete(column, 7)
    effect = outlier_effect(column, squeeze_threshold(others, SQUEEZE_BAND), index=7)
    assert np.isclose(effect.fraction, SQUEEZE_BAND)


def test_outlier_effect_inside_the_range_changes_nothing():
    column = np.array([1.0, 5.0, 3.0, 9.0])
    effect = outlier_effect(column, 4.0, index=2)
    assert np.isclose(effect.fraction, 1.0)


def test_outlier_effect_rejects_bad_columns():
    with pytest.raises(ValueError, match="shape"):
        outlier_effect(np.ones((3, 2)), 1.0)


@pytest.mark.parametrize("a, b", [(0.0, 1.0), (-1.0, 1.0), (2.5, 4.0)])
def test_scale_to_range_matches_minmax_scale(bikes, a, b):
    x, _ = bikes
    assert np.allclose(scale_to_range(x, a, b), minmax_scale(x, feature_range=(a, b)))


def test_scale_to_range_accepts_an_empty_range(bikes):
    x, _ = bikes
    assert np.all(scale_to_range(x, 2.0, 2.0) == 2.0)


def test_view_window_is_square_and_contains_start_and_minimum():
    for ratio, standardized in ((10, False), (3, True)):
        run = gd.explore(ratio, 0.01, standardized)
        (x0, x1), (y0, y1) = view_window(run)
        assert np.isclose(x1 - x0, y1 - y0)
        for w in (np.zeros(2), run.problem.w_star):
            assert x0 < w[0] < x1 and y0 < w[1] < y1


def test_describe_run_names_each_outcome():
    assert "diverged" in describe_run(gd.explore(10, 0.5))
    assert "not reached" in describe_run(gd.explore(10, 1e-4, max_steps=10))
    assert describe_run(gd.explore(10, 0.01)).endswith("steps to the target loss")


# ------------------------------------------------------------------ widgets, driven

def test_outlier_widget_follows_its_slider_and_checks(bikes):
    x, _ = bikes
    w = outlier_explorer(x[:, 1], index=4)
    w.outlier.value = 100_000
    assert np.isclose(w.effect.fraction, outlier_effect(x[:, 1], 100_000, 4).fraction)
    offsets = w.live.axes[1].collections[0].get_offsets()
    assert np.allclose(offsets[:, 0], w.effect.scaled)
    share = format_share(w.effect.fraction)
    assert f"fill {share} of [0, 1]" in w.live.axes[1].get_title()  # the scaled strip's title
    assert "fill" not in w.live.axes[0].get_title() and "raw" in w.live.axes[0].get_xlabel()
    assert f"{share} of [0, 1]" in w.readout.value and "100,000" in w.readout.value
    assert share in str(w.check.run()) and not w.check.run().correct
    threshold = squeeze_threshold(np.delete(x[:, 1], 4))
    w.outlier.value = int(np.ceil(threshold / 1000) * 1000)
    assert w.check.run().correct
    assert "Correct" in w.check.result.value


def test_range_widget_follows_its_slider(bikes):
    x, names = bikes
    w = range_explorer(x, names)
    w.range.value = (-3.0, 2.0)
    assert np.allclose(w.scaled, minmax_scale(x, feature_range=(-3, 2)))
    assert np.allclose(w.live.axes.collections[0].get_offsets(), w.scaled)
    assert "[-3, 2]" in w.live.axes.get_title()


def test_gd_widget_redraws_the_path_and_keeps_contours_when_only_lr_moves():
    w = gd_explorer(ratio=10, lr=0.01)
    contour_ax, loss_ax = w.live.axes
    contours_before = list(contour_ax.collections)
    w.lr.value = 0.019
    assert w.run.steps == gd.explore(10, 0.019).steps
    line = w._line
    assert np.allclose(line.get_xydata(), w.run.path[:401])
    assert list(contour_ax.collections) == contours_before  # not redrawn
    assert f"{w.run.steps} steps" in w._outcome.get_text()
    # the loss panel shows the same run's excess loss, step by step
    steps, excess = loss_ax.lines[0].get_data()
    assert np.allclose(excess, w.run.losses - w.run.problem.loss_star)
    assert steps[-1] == w.run.steps and loss_ax.get_yscale() == "log"
    w.ratio.value = 4
    assert list(contour_ax.collections) != contours_before  # new problem, new contours
    assert "condition number" in w.readout.value
    assert "narrow feature" in contour_ax.get_xlabel()
    w.standardize.value = True  # the axes no longer speak of a narrow and a wide feature
    assert "standardized" in contour_ax.get_xlabel() + contour_ax.get_ylabel()
    assert "narrow" not in contour_ax.get_xlabel() and "wide" not in contour_ax.get_ylabel()
    assert "standardized features" in w.readout.value and "&times; the limit" in w.readout.value


def test_gd_widget_grid_holds_every_setting_the_walkthrough_asks_for():
    """Chapter 2's "try this" list and exercise: lr 0.01 at ratios 1-20 (14 converges, 15
    diverges), just below and above the limit at ratios 8, 10 and 20, lr 0.5 to 1.5
    standardized. The web book can only show what the grids hold."""
    w = gd_explorer(ratio=10, lr=0.01)
    grids = {c.widget.description: c.grid for c in w._controls}
    lrs, ratios = grids["learning rate"], grids["spread ratio"]
    assert {1, 2, 8, 10, 14, 15, 20} <= set(ratios)
    assert grids["standardize"] == [False, True]
    assert 0.01 in lrs
    for ratio in (8, 10, 20):
        limit = gd.make_problem(ratio).lr_limit
        below, above = slider_lr(0.95 * limit), slider_lr(1.05 * limit)
        assert below in lrs and above in lrs, ratio
        assert not gd.explore(ratio, below).diverged and gd.explore(ratio, above).diverged
    standardized = [lr for lr in lrs if 0.45 <= lr <= 1.55]
    assert len(standardized) >= 5 and min(standardized) < 0.55 and max(standardized) > 1.45
    assert all(slider_lr(lr) == lr for lr in lrs)  # positions the live slider can take
    assert frames_of(w) <= 240  # the page budget (about 12 KB per frame)
    w.close()


def test_gd_widget_standardize_makes_the_ratio_irrelevant():
    w = gd_explorer(ratio=3, lr=0.5, standardized=True)
    steps_3 = w.run.steps
    w.ratio.value = 20
    assert w.run.steps == steps_3 and not w.run.diverged
    w.standardize.value = False
    assert w.run.diverged  # lr 0.5 is far above 2 / lambda_max = 2 / 400


def test_gd_widget_check_button_runs_the_exercise():
    w = gd_explorer(ratio=8, lr=0.01)
    limit = gd.make_problem(8).lr_limit
    w.lr.value = 0.95 * limit
    assert w.check.run().correct
    w.lr.value = 1.1 * limit
    assert not w.check.run().correct and w.run.diverged


def test_every_move_redraws_and_is_timed_by_the_base(bikes):
    """Each move renders a new PNG, and the base records how long it took (no time limit here:
    budgets live in bench/)."""
    x, names = bikes
    g = gd_explorer()
    o = outlier_explorer(x[:, 1], index=4)
    r = range_explorer(x, names)
    for w, control, values in ((g, g.lr, [0.003, 0.019, 0.03, 0.01]),
                               (g, g.ratio, [2, 8, 15]),
                               (o, o.outlier, [50_000, 150_000, 300_000]),
                               (r, r.range, [(-1.0, 1.0), (0.0, 3.0)])):
        pngs = []
        for v in values:
            control.value = v
            pngs.append(w.live.png)
            assert np.isfinite([w.last_update_ms, w.last_update_cpu_ms]).all()  # recorded, not bounded
        assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)
        assert len(set(pngs)) == len(values), f"{control.description}: a move left the figure"


def test_nice_ceiling_rounds_up_to_1_2_5():
    from bnlib.scaling import nice_ceiling
    assert [nice_ceiling(v) for v in (0.2, 1, 3, 20, 21, 7.9e6)] == [1, 1, 5, 20, 50, 10_000_000]


def test_outlier_slider_reaches_the_exercise_answer(bikes):
    """The default slider range is derived from the column: the answer is on it, finely stepped."""
    x, _ = bikes
    for index in (4, int(np.argmax(x[:, 1]))):
        w = outlier_explorer(x[:, 1], index=index)
        threshold = squeeze_threshold(np.delete(x[:, 1], index))
        assert w.outlier.max >= 1.5 * threshold and w.outlier.step <= 0.01 * threshold
        assert abs(w.outlier.value - x[index, 1]) <= w.outlier.step  # starts at the data
        labels = [t.get_text() for t in w.live.axes[0].get_xticklabels()]
        assert any("," in t for t in labels)  # thousands separators, no 1e6 offset


def test_range_widget_axes_drop_the_raw_units(bikes):
    x, names = bikes
    w = range_explorer(x, names)
    assert w.live.axes.get_xlabel() == "age, scaled (unitless)"
    assert "km" not in w.live.axes.get_ylabel()


def _open_widgets(root):
    """Every widget in the tree under ``root`` whose comm is still open."""
    found = [root] if root.comm is not None else []
    for child in getattr(root, "children", ()):
        found += _open_widgets(child)
    return found


def test_close_closes_every_widget_of_an_instance(bikes):
    # The notebooks drive an undisplayed copy in test-only cells and close it afterwards.
    x, names = bikes
    for w in (outlier_explorer(x[:, 1], index=4), range_explorer(x, names), gd_explorer()):
        assert len(_open_widgets(w.widget)) >= 4
        w.close()
        assert _open_widgets(w.widget) == [] and w.live.output.comm is None


# ------------------------------------------------------------------ distance shares

def test_scaled_shares_follow_the_variances_and_match_the_pairwise_definition(bikes):
    x, _ = bikes
    from bnlib.scaling import distance_shares, scaled_shares
    for name in ("raw", "min-max", "z-scores", "robust"):
        r = scaled_shares(x, name)
        assert np.allclose(r.shares, distance_shares(r.scaled))  # pair by pair
        assert np.allclose(r.shares, r.variances / r.variances.sum())
    assert np.allclose(scaled_shares(x, "z-scores").shares, 0.5)
    assert scaled_shares(x, "min-max").shares[0] > 0.7  # equal ranges, unequal shares
    with pytest.raises(ValueError, match="scaling must be one of"):
        scaled_shares(x, "log")


def test_share_widget_follows_its_toggles(bikes):
    from bnlib.data import phones
    from bnlib.scaling import scaled_shares
    from bnlib.widgets.scaling import share_explorer
    tables = {"phones": phones(n=120, seed=0), "bikes": bikes}
    w = share_explorer(tables)
    assert w.table.value == "phones" and w.scaling.value == "min-max"
    assert np.allclose([b.get_width() for b in w._bars], w.result.shares)
    w.table.value, w.scaling.value = "bikes", "robust"
    expected = scaled_shares(bikes[0], "robust").shares
    assert np.allclose([b.get_width() for b in w._bars], expected)
    assert f"{expected[0]:.1%}" in w.readout.value and "age" in w._labels[0].get_text()
    assert "-0.0" not in w.readout.value
    w.close()
