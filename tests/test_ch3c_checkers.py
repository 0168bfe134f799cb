"""Chapter 3c checkers: each fed typical wrong answers; the feedback must name the mistake."""
import numpy as np
import pytest

from bnlib.exercises.network import (GAP_TARGET, check_bias_question, check_bn_gap,
                                     check_noisy_question, check_percentile_band,
                                     reference_percentile_band)


@pytest.mark.parametrize("check, right", [(check_bias_question, "D"),
                                          (check_noisy_question, "A")])
def test_choice_questions_explain_every_option(check, right):
    assert check(right).correct and check(right.lower()).correct
    details = set()
    for wrong in sorted(set("ABCD") - {right}):
        fb = check(wrong)
        assert not fb.correct and fb.details
        details.add(fb.details[0])
    assert len(details) == 3  # a different explanation per wrong option
    assert "one of A, B, C, D" in check("E").title
    assert not check(None).correct


def test_bias_feedback_names_the_mean_and_the_zero_gradient():
    assert "mean" in check_bias_question("A").details[0]
    assert "zero" in check_bias_question("B").details[0]
    assert "running mean" in check_bias_question("C").details[0]


def test_percentile_band_accepts_correct_answers_written_differently():
    # (the expected values come from reference_percentile_band, so it is not fed itself)
    assert check_percentile_band(lambda z, u: np.quantile(z[:, u], [0.15, 0.5, 0.85])).correct
    assert check_percentile_band(
        lambda z, u: np.array([np.percentile(z.T[u], q) for q in (15, 50, 85)])).correct


def test_percentile_band_reference_on_values_worked_by_hand():
    # column 1 is 10, 20, 30, 40, 50: linear interpolation at positions 0.6, 2 and 3.4
    z = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 40.0], [4.0, 50.0]])
    np.testing.assert_allclose(reference_percentile_band(z, 1), [16.0, 30.0, 44.0])


@pytest.mark.parametrize("fn, words", [
    (lambda z, u: np.percentile(z[:, u], [15, 50, 85], method="nearest"), ["nearest"]),
    (lambda z, u: np.percentile(z[:, u], [15, 50, 85], method="lower"), ["lower"]),
    (lambda z, u: np.quantile(z[:, u], [0.15, 0.5, 0.85], method="hazen"), ["hazen"]),
    (lambda z, u: np.sort(z[:, u])[(np.array([15, 50, 85]) * len(z) // 100)],
     ["another valid definition"]),
])
def test_percentile_band_other_definitions_pass(fn, words):
    fb = check_percentile_band(fn)
    assert fb.correct, str(fb)
    for word in words:
        assert word in str(fb), str(fb)


def test_percentile_band_failure_says_what_is_accepted():
    fb = check_percentile_band(lambda z, u: np.percentile(z[:, u], [15, 50, 85]) + 0.3)
    assert not fb.correct and "any method" in str(fb)


@pytest.mark.parametrize("wrong, phrase", [
    (lambda z, u: np.percentile(z[:, u], [0.15, 0.5, 0.85]), "fractions"),
    (lambda z, u: np.percentile(z[u], [15, 50, 85]), "row `unit`"),
    (lambda z, u: np.percentile(z, [15, 50, 85]), "whole matrix"),
    (lambda z, u: np.percentile(z[:, u], [85, 50, 15]), "reversed"),
    (lambda z, u: z[:, u].mean() + np.array([-1, 0, 1]) * z[:, u].std(), "percentiles"),
    (lambda z, u: np.percentile(z, [15, 50, 85], axis=0), "every unit"),
])
def test_percentile_band_names_the_mistake(wrong, phrase):
    fb = check_percentile_band(wrong)
    assert not fb.correct
    assert any(phrase in d for d in fb.details), fb


def test_percentile_band_handles_exceptions_nan_shape_and_placeholder():
    def boom(z, unit):
        raise IndexError("index 5 is out of bounds")

    def placeholder(z, unit):
        raise NotImplementedError

    fb = check_percentile_band(boom)
    assert not fb.correct and "IndexError" in fb.title
    fb = check_percentile_band(lambda z, u: np.full(3, np.nan))
    assert not fb.correct and "NaN" in fb.details[0]
    fb = check_percentile_band(lambda z, u: np.zeros(4))
    assert not fb.correct and "shape" in fb.details[0]
    assert "placeholder" in check_percentile_band(placeholder).title
    assert not check_percentile_band("not a function").correct


def _fake_grid(bn_acc, plain_acc):
    return {"runs": {"bn|0.5|0.1": {"test_acc": [0.1, bn_acc]},
                     "plain|0.5|0.1": {"test_acc": [0.1, plain_acc]}}}


def test_bn_gap_verdicts():
    big = _fake_grid(0.95, 0.1)
    assert check_bn_gap(True, 0.5, 0.1, data=big).correct
    fb = check_bn_gap(False, 0.5, 0.1, data=big)  # found with BN off: the gap is the same
    assert fb.correct and "whichever network" in str(fb)
    assert not check_bn_gap(False, 0.5, 0.1, data=_fake_grid(0.97, 0.95)).correct
    small = _fake_grid(0.97, 0.95)
    fb = check_bn_gap(True, 0.5, 0.1, data=small)
    assert not fb.correct and f"{100 * GAP_TARGET:.0f} points" in fb.title
    assert "+2.0 points" in fb.title
    fb = check_bn_gap(True, 0.7, 0.1, data=big)
    assert not fb.correct and "grid" in fb.title
    # exactly at the target passes
    assert check_bn_gap(True, 0.5, 0.1, data=_fake_grid(0.6, 0.1)).correct


def test_bn_gap_on_the_real_grid_has_both_verdicts():
    from bnlib.experiments import load_cache

    data = load_cache("ch3c_figure1_grid")
    verdicts = {check_bn_gap(True, lr, s, data=data).correct
                for lr in data["grid"]["lrs"] for s in data["grid"]["init_scales"]}
    assert verdicts == {True, False}  # the exercise is solvable and not trivial
