"""The "how to use this book" widget and checkers: pure computation and feedback on mistakes."""
from __future__ import annotations

import numpy as np
import pytest

from bnlib.exercises.intro import check_intro_modes, check_standardize_widget, check_zscore
from bnlib.plotting import fmt_number
from bnlib.widgets.intro import standardize_explorer, standardize_sample


def reference(x):
    return (x - x.mean()) / x.std()


@pytest.mark.parametrize("center, spread", [(5.0, 2.0), (-5.0, 4.0), (0.0, 0.5)])
def test_standardize_sample_gives_mean_zero_std_one(center, spread):
    stats = standardize_sample(center, spread, n=200, seed=1)
    assert stats.z_mean == pytest.approx(0.0, abs=1e-12)
    assert stats.z_std == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(stats.z, reference(stats.values))


def test_standardize_sample_only_shifts_and_stretches_the_same_draw():
    a, b = standardize_sample(0.0, 1.0, seed=3), standardize_sample(10.0, 3.0, seed=3)
    np.testing.assert_allclose(b.values, 10.0 + 3.0 * a.values)
    np.testing.assert_allclose(a.z, b.z)
    assert b.mean == pytest.approx(10.0 + 3.0 * a.mean)
    assert b.std == pytest.approx(3.0 * a.std)


def test_standardize_sample_rejects_a_non_positive_spread():
    with pytest.raises(ValueError, match="spread"):
        standardize_sample(0.0, 0.0)


def test_check_zscore_accepts_the_reference():
    feedback = check_zscore(reference)
    assert feedback.correct, feedback


@pytest.mark.parametrize(
    "wrong, named",
    [
        (lambda x: (x.mean() - x) / x.std(), "sign"),
        (lambda x: (x - x.mean()) / x.std(ddof=1), "ddof=1"),
        (lambda x: x / x.std(), "subtract the mean"),
        (lambda x: x - x.mean(), "divide by the standard deviation"),
        (lambda x: (x - x.mean()) / x.var(), "variance"),
    ],
    ids=["wrong sign", "unbiased std", "not centred", "not scaled", "divided by variance"],
)
def test_check_zscore_names_typical_mistakes(wrong, named):
    feedback = check_zscore(wrong)
    assert not feedback.correct
    assert any(named in line for line in feedback.details), str(feedback)


@pytest.mark.parametrize(
    "wrong, named",
    [
        (lambda x: (x - x.mean(axis=0, keepdims=True)).reshape(-1, 1), "shape"),
        (lambda x: np.full_like(x, np.nan), "NaN"),
        (lambda x: 1 / 0, "ZeroDivisionError"),
        (lambda x: None, "returned None"),
    ],
    ids=["wrong shape", "NaN", "exception", "no return"],
)
def test_check_zscore_reports_shape_nan_exception_and_none(wrong, named):
    feedback = check_zscore(wrong)
    assert not feedback.correct
    assert named in str(feedback), str(feedback)


def test_check_zscore_recognises_the_placeholder():
    def placeholder(x):
        raise NotImplementedError

    assert "placeholder" in check_zscore(placeholder).title


def test_check_standardize_widget_says_which_slider_is_off():
    assert check_standardize_widget(-5.0, 4.0).correct
    only_center = check_standardize_widget(5.0, 4.0)
    assert not only_center.correct and any("center" in d for d in only_center.details)
    assert not any("spread" in d for d in only_center.details)
    only_spread = check_standardize_widget(-5.0, 2.0)
    assert any("spread" in d for d in only_spread.details)


def test_explorer_sliders_drive_the_readout_and_the_check():
    explorer = standardize_explorer(seed=0)
    assert not explorer.check.run().correct
    explorer.center.value, explorer.spread.value = -5.0, 4.0
    assert "z-scores: mean 0.00, std 1.00" in explorer.readout.value
    assert explorer.check.run().correct
    assert "Correct" in explorer.check.result.value


@pytest.mark.parametrize("answer", ["C", "c", " C "])
def test_check_intro_modes_accepts_c_however_written(answer):
    assert check_intro_modes(answer).correct


@pytest.mark.parametrize("answer, named", [("A", "runs no Python"), ("B", "Every control"),
                                           ("D", "no server")])
def test_check_intro_modes_explains_each_wrong_answer(answer, named):
    feedback = check_intro_modes(answer)
    assert not feedback.correct
    assert any(named in line for line in feedback.details), str(feedback)


@pytest.mark.parametrize("answer", [None, "E", 3])
def test_check_intro_modes_asks_for_a_letter(answer):
    feedback = check_intro_modes(answer)
    assert not feedback.correct
    assert "choose" in feedback.title or "one of" in feedback.title, str(feedback)


@pytest.mark.parametrize("value, spec, text", [(-0.001, ".2f", "0.00"), (-1e-17, ".1%", "0.0%"),
                                               (-0.004, "6.2f", "  0.00"), (-0.5, ".2f", "-0.50"),
                                               (-1e-20, ".2e", "-1.00e-20"), (2.0, ".1f", "2.0")])
def test_fmt_number_never_prints_a_negative_zero(value, spec, text):
    assert fmt_number(value, spec) == text


def test_explorer_readout_never_shows_a_negative_zero():
    explorer = standardize_explorer(seed=0)
    seen = []
    for center in (-10.0, -5.0, -2.0, 0.0, 3.0, 10.0):
        for spread in (0.5, 2.0, 6.0):
            explorer.center.value, explorer.spread.value = center, spread
            seen.append(explorer.readout.value)
    explorer.close()
    assert not any("-0.00" in text for text in seen), [t for t in seen if "-0.00" in t]
    assert all("z-scores: mean 0.00, std 1.00" in text for text in seen)
