"""Checkers of chapters 1 and 2 fed typical wrong answers: the feedback must name the mistake."""
from __future__ import annotations

import numpy as np
import pytest

from bnlib.exercises.scaling import (LEAKAGE_OPTIONS, SCALER_OPTIONS, SQUEEZE_BAND,
                                     check_choose_scaler, check_leakage, check_minmax,
                                     check_outlier_squeeze, format_share, squeeze_threshold)
from bnlib.exercises.standardization import (FASTEST_LR_QUESTION, check_fastest_lr,
                                             check_largest_lr, check_standard_scaler,
                                             largest_lr_target)
from bnlib.gd import explore, make_problem


def text(feedback) -> str:
    """The verdict as one lower-case line (the checkers wrap long lines)."""
    return " ".join(str(feedback).split()).lower()


def test_long_feedback_is_wrapped_to_fit_the_book():
    limit = largest_lr_target(8)
    for feedback in (check_leakage("D"), check_leakage("C"), check_fastest_lr("C"),
                     check_largest_lr(8, 0.5 * limit, False), check_minmax(minmax_no_guard),
                     check_standard_scaler(ScalerDdof)):
        lines = [line for line in str(feedback).splitlines() if "array of shape" not in line]
        assert max(len(line) for line in lines) <= 80, str(feedback)


# ---------------------------------------------------------------- chapter 1: minmax(x_train, x)

def minmax_right(x_train, x):
    lo = x_train.min(axis=0)
    span = x_train.max(axis=0) - lo
    return (x - lo) / np.where(span == 0, 1.0, span)


def minmax_no_guard(x_train, x):
    with np.errstate(invalid="ignore"):  # the learner's 0 / 0 on the constant column
        return (x - x_train.min(axis=0)) / (x_train.max(axis=0) - x_train.min(axis=0))


def minmax_fit_on_x(x_train, x):
    return minmax_right(x, x)


def minmax_flipped(x_train, x):
    return 1.0 - minmax_right(x_train, x)


def minmax_negated(x_train, x):
    return -minmax_right(x_train, x)


def minmax_global(x_train, x):
    return (x - x_train.min()) / (x_train.max() - x_train.min())


def minmax_rows(x_train, x):
    lo = x_train.min(axis=1, keepdims=True)
    return (x - lo) / (x_train.max(axis=1, keepdims=True) - lo)


def minmax_by_max(x_train, x):
    return (x - x_train.min(axis=0)) / x_train.max(axis=0)


def minmax_raises(x_train, x):
    raise KeyError("oops")


def minmax_transposed(x_train, x):
    return minmax_right(x_train, x).T


def minmax_flat(x_train, x):
    return minmax_right(x_train, x)[:, 0]


def minmax_nan(x_train, x):
    return np.full(x.shape, np.nan)


def minmax_none(x_train, x):
    minmax_right(x_train, x)


def test_minmax_reference_passes():
    assert check_minmax(minmax_right).correct


@pytest.mark.parametrize("fn, words", [
    (minmax_no_guard, ["constant column", "nan"]),
    (minmax_fit_on_x, ["min and max of the data you scale", "training"]),
    (minmax_flipped, ["flipped", "max - x"]),
    (minmax_negated, ["sign is flipped"]),
    (minmax_global, ["wrong axis", "whole array"]),
    (minmax_rows, ["wrong axis", "axis=1"]),
    (minmax_by_max, ["divided by the maximum"]),
    (minmax_raises, ["raised keyerror", "oops"]),
    (minmax_transposed, ["transposed"]),
    (minmax_flat, ["expected shape (6, 2), got shape (6,)"]),
    (minmax_nan, ["nan"]),
    (minmax_none, ["returned none"]),
])
def test_minmax_checker_names_the_mistake(fn, words):
    with np.errstate(divide="ignore", invalid="ignore"):
        feedback = check_minmax(fn)
    assert not feedback.correct
    for word in words:
        assert word in text(feedback), (word, str(feedback))


def test_minmax_checker_reports_the_failing_case_and_values():
    feedback = check_minmax(minmax_fit_on_x)
    assert "fit on train, apply to new data" in feedback.title
    assert "expected array of shape (3, 2)" in text(feedback)


def test_minmax_checker_rejects_a_non_function_and_a_placeholder():
    def placeholder(x_train, x):
        raise NotImplementedError
    assert "placeholder" in text(check_minmax(placeholder))
    assert "function itself" in text(check_minmax(42))


@pytest.mark.parametrize("answer, correct, word", [
    ("D", True, "test row"), ("d", True, "either way"), (" D ", True, "moscovich"),
    ("A", False, "loses no information"), ("B", False, "other way round"),
    ("C", False, "beyond the training range"),
    (None, False, "one of a, b, c, d"), ("E", False, "one of"), (4, False, "one of"),
])
def test_leakage_question_explains_every_option(answer, correct, word):
    feedback = check_leakage(answer)
    assert feedback.correct is correct and word in text(feedback)


def test_leakage_options_are_alike_in_length_and_the_answer_is_not_first():
    lengths = [len(v) for v in LEAKAGE_OPTIONS.values()]
    assert max(lengths) < 1.3 * min(lengths)  # the right answer is not the one long option
    assert check_leakage("D").correct and not check_leakage("A").correct


def test_leakage_feedback_does_not_promise_an_optimistic_score():
    # Moscovich and Rosset (2022): the bias of unsupervised preprocessing can go either way
    assert "optimistic" not in text(check_leakage("D"))


def test_squeeze_feedback_never_shows_the_target_as_a_failure():
    others = np.array([1008.0, 120000.0, 405165.0])
    threshold = squeeze_threshold(others, SQUEEZE_BAND)
    # just below the threshold the share is just above 10 %: it must not read "10%" or "10.0%"
    feedback = check_outlier_squeeze(threshold * 0.997, others)
    assert not feedback.correct
    assert "10.0%" not in str(feedback) and "fill 10% " not in str(feedback)
    assert "10.03%" in str(feedback)
    assert format_share(0.1) == "10.0%" and format_share(0.10001) == "10.001%"
    assert format_share(0.0999) == "9.99%" and format_share(0.773) == "77.3%"


def test_outlier_widget_exercise():
    others = np.array([1008.0, 120000.0, 510000.0])
    threshold = squeeze_threshold(others, SQUEEZE_BAND)
    assert np.isclose(threshold, 1008 + (510000 - 1008) / 0.1)
    assert check_outlier_squeeze(threshold * 1.02, others).correct
    too_close = check_outlier_squeeze(threshold * 0.8, others)
    assert not too_close.correct and "still fill" in text(too_close)
    too_far = check_outlier_squeeze(threshold * 1.5, others)
    assert not too_far.correct and "smaller outlier" in text(too_far)
    low = check_outlier_squeeze(100.0, others)  # not an outlier at all
    assert not low.correct and "99.8%" in text(low)
    rounded = check_outlier_squeeze(round(threshold, -3) + 1000, others)  # a round number
    assert rounded.correct


# ---------------------------------------------------- chapter 2: a fit/transform scaler class

class ScalerRight:
    def fit(self, x):
        self.mean, std = x.mean(axis=0), x.std(axis=0)
        self.std = np.where(std == 0, 1.0, std)
        return self

    def transform(self, x):
        return (x - self.mean) / self.std


class ScalerNoGuard(ScalerRight):
    def fit(self, x):
        self.mean, self.std = x.mean(axis=0), x.std(axis=0)
        return self


class ScalerRefits(ScalerRight):
    def transform(self, x):
        own = ScalerRight().fit(x)  # the mistake: statistics of the data being transformed
        return (x - own.mean) / own.std


class ScalerSign(ScalerRight):
    def transform(self, x):
        return (self.mean - x) / self.std


class ScalerDdof(ScalerRight):
    def fit(self, x):
        self.mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
        self.std = np.where(std == 0, 1.0, std)
        return self


class ScalerVariance(ScalerRight):
    def fit(self, x):
        self.mean, var = x.mean(axis=0), x.var(axis=0)
        self.std = np.where(var == 0, 1.0, var)
        return self


class ScalerGlobal(ScalerRight):
    def fit(self, x):
        self.mean, self.std = x.mean(), x.std()
        return self


class ScalerRows(ScalerRight):
    def fit(self, x):
        self.mean = x.mean(axis=1, keepdims=True)
        self.std = x.std(axis=1, keepdims=True)
        return self


class ScalerNoCentre(ScalerRight):
    def transform(self, x):
        return x / self.std


class ScalerRaises(ScalerRight):
    def transform(self, x):
        return x.no_such_attribute


class ScalerTransposed(ScalerRight):
    def transform(self, x):
        return super().transform(x).T


class ScalerNaN(ScalerRight):
    def transform(self, x):
        return np.full(x.shape, np.nan)


class ScalerFlat(ScalerRight):
    def transform(self, x):
        return super().transform(x).ravel()


def test_standard_scaler_reference_passes():
    assert check_standard_scaler(ScalerRight).correct


@pytest.mark.parametrize("cls, words", [
    (ScalerNoGuard, ["constant column", "nan"]),
    (ScalerRefits, ["recomputed the mean and std", "fit on train, transform new data"]),
    (ScalerSign, ["sign is flipped"]),
    (ScalerDdof, ["ddof=1"]),
    (ScalerVariance, ["variance instead of the standard deviation"]),
    (ScalerGlobal, ["wrong axis", "whole array"]),
    (ScalerRows, ["wrong axis", "axis=1"]),
    (ScalerNoCentre, ["forgot to subtract the mean"]),
    (ScalerRaises, ["raised attributeerror"]),
    (ScalerTransposed, ["transposed"]),
    (ScalerNaN, ["nan"]),
    (ScalerFlat, ["expected shape (8, 2), got shape (16,)"]),
])
def test_standard_scaler_checker_names_the_mistake(cls, words):
    with np.errstate(divide="ignore", invalid="ignore"):
        feedback = check_standard_scaler(cls)
    assert not feedback.correct
    for word in words:
        assert word in text(feedback), (word, str(feedback))


def test_standard_scaler_checker_wants_the_class():
    assert "class itself" in text(check_standard_scaler(ScalerRight()))


def test_fastest_lr_question_agrees_with_measured_step_counts():
    ratio, options = FASTEST_LR_QUESTION["ratio"], FASTEST_LR_QUESTION["options"]
    runs = {k: explore(ratio, lr, max_steps=20_000) for k, lr in options.items()}
    converged = {k: r.steps for k, r in runs.items() if not r.diverged}
    fastest = min(converged, key=converged.get)  # measured, independently of the checker
    assert fastest == "B" and check_fastest_lr(fastest).correct
    assert check_fastest_lr("b").correct and check_fastest_lr(" B").correct
    assert runs["D"].diverged and "diverges" in text(check_fastest_lr("D"))
    assert "crawls" in text(check_fastest_lr("A"))  # far below 1 / lambda_max: no overshoot
    assert "zigzag" in text(check_fastest_lr("C"))  # above 1 / lambda_max: overshoots
    assert "zigzag" not in text(check_fastest_lr("A"))
    assert f"{converged['C']} steps" in text(check_fastest_lr("C"))
    for key in "ACD":
        assert not check_fastest_lr(key).correct
    assert "one of" in text(check_fastest_lr(None))
    # not trivial: more than one option converges, and the largest converging one loses
    largest = max((k for k in converged), key=options.get)
    assert len(converged) >= 3 and largest != fastest


class ScalerNoReturn(ScalerRight):
    def fit(self, x):
        super().fit(x)  # forgets `return self`


class ScalerBNEps(ScalerRight):  # batch normalization's habit: sqrt(var + 1e-5)
    def fit(self, x):
        self.mean = x.mean(axis=0)
        self.std = np.sqrt(x.var(axis=0) + 1e-5)
        return self


class ScalerSklearnStyle:  # another valid method: scikit-learn's attribute names, float32
    def fit(self, x):
        self.mean_ = x.mean(axis=0)
        self.scale_ = x.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        return self

    def transform(self, x):
        return ((x - self.mean_) / self.scale_).astype(np.float32)


class ScalerBigEps(ScalerBNEps):
    def fit(self, x):
        super().fit(x)
        self.std = np.sqrt(x.var(axis=0) + 1e-2)
        return self


def test_standard_scaler_wants_fit_to_return_self():
    feedback = check_standard_scaler(ScalerNoReturn)
    assert not feedback.correct and "return self" in text(feedback)


@pytest.mark.parametrize("cls", [ScalerBNEps, ScalerSklearnStyle])
def test_standard_scaler_accepts_correct_answers_written_differently(cls):
    assert check_standard_scaler(cls).correct, str(check_standard_scaler(cls))


def test_standard_scaler_explains_a_difference_too_small_to_see():
    feedback = check_standard_scaler(ScalerBigEps)
    assert not feedback.correct and "sqrt(var + 0.01)" in text(feedback)


def test_largest_lr_widget_exercise():
    limit = largest_lr_target(8)
    assert np.isclose(limit, 2 / make_problem(8.0).eigenvalues[-1])
    assert check_largest_lr(8, 0.9 * limit, False).correct
    assert "diverges" in text(check_largest_lr(8, 1.01 * limit, False))
    assert "diverges" in text(check_largest_lr(8, limit, False))
    assert "a larger one" in text(check_largest_lr(8, 0.5 * limit, False))
    assert "untick" in text(check_largest_lr(8, 0.9 * limit, True))
    assert "spread ratio to 8" in text(check_largest_lr(5, 0.9 * limit, False))


@pytest.mark.parametrize("options", [LEAKAGE_OPTIONS, SCALER_OPTIONS],
                         ids=["leakage", "choose-scaler"])
def test_notebook_lists_the_options_the_checker_explains(options):
    import json
    from pathlib import Path
    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "01_min_max_scaling.ipynb")
                    .read_text(encoding="utf-8"))
    text_cells = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for key, option in options.items():
        assert f"**{key}.** {option}" in text_cells, key


@pytest.mark.parametrize("answer, correct, word", [
    ("C", True, "maxabsscaler"), ("c", True, "known, hard bounds"), (" C ", True, "log"),
    ("A", False, "non-zero"), ("B", False, "sparsity"), ("D", False, "linear map after"),
    (None, False, "one of a, b, c, d"), ("E", False, "one of"),
])
def test_choose_scaler_question_explains_every_option(answer, correct, word):
    feedback = check_choose_scaler(answer)
    assert feedback.correct is correct and word in text(feedback)


def test_choose_scaler_options_are_alike_and_the_answer_is_neither_b_nor_the_longest():
    lengths = {k: len(v) for k, v in SCALER_OPTIONS.items()}
    assert max(lengths.values()) < 1.3 * min(lengths.values())
    assert check_choose_scaler("C").correct and lengths["C"] < max(lengths.values())
    assert not any(check_choose_scaler(k).correct for k in "ABD")
