"""The shared exercise machinery turns every kind of wrong answer into specific feedback."""
import numpy as np
import pytest

from bnlib.exercises import Case, Feedback, check_cases, check_choice, check_number


def reference(x):
    return x - x.mean(axis=0)


CASES = [
    Case("two features", (np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]]),),
         reference(np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])), hint="centre each column"),
]


def test_correct_answer_passes_and_counts_cases():
    fb = check_cases(reference, CASES)
    assert fb.correct and bool(fb)
    assert "all 1 cases pass" in str(fb)


def test_wrong_axis_reports_expected_and_got():
    fb = check_cases(lambda x: x - x.mean(axis=1, keepdims=True), CASES)
    assert not fb.correct
    assert "two features" in fb.title
    assert "expected array of shape (3, 2)" in str(fb)
    assert "hint: centre each column" in str(fb)


def test_wrong_shape_is_named():
    fb = check_cases(lambda x: (x - x.mean(axis=0)).ravel(), CASES)
    assert "expected shape (3, 2), got shape (6,)" in str(fb)


def test_exception_becomes_feedback_not_traceback():
    def broken(x):
        raise KeyError("oops")

    fb = check_cases(broken, CASES)
    assert not fb.correct
    assert "raised KeyError" in fb.title and "oops" in str(fb)


def test_placeholder_and_none_and_nan_are_explained():
    def placeholder(x):
        raise NotImplementedError

    assert "placeholder" in check_cases(placeholder, CASES).title
    assert "returned None" in str(check_cases(lambda x: None, CASES))
    assert "NaN" in str(check_cases(lambda x: x * np.nan, CASES))


def test_not_a_function():
    assert "pass your function itself" in check_cases(42, CASES).title


def test_diagnose_adds_likely_mistake():
    fb = check_cases(lambda x: -reference(x), CASES,
                     diagnose=lambda case, got: "wrong sign" if np.allclose(-got, case.expected) else None)
    assert "likely mistake: wrong sign" in str(fb)


def test_inputs_are_copied_before_the_learner_sees_them():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    case = Case("in place", (x,), reference(x))

    def mutates(a):
        a -= a.mean(axis=0)
        return a

    check_cases(mutates, [case])
    assert np.array_equal(x, [[1.0, 2.0], [3.0, 4.0]])


def test_tuple_results_compare_each_value():
    case = Case("pair", (2.0,), (np.array(4.0), np.array(1.0)))
    fb = check_cases(lambda v: (v * 2, v), [case])
    assert "return value 2" in str(fb)
    assert "expected 2 return values, got 1" in str(check_cases(lambda v: v * 2, [case]))


@pytest.mark.parametrize("answer, words", [
    (0.5, "Correct"), ("abc", "should be a number"), (float("nan"), "NaN"),
    (2.0, "known mistake"), (0.9, "too large"), (0.1, "too small"),
])
def test_check_number(answer, words):
    fb = check_number(answer, 0.5, wrong_answers={2.0: "known mistake"})
    assert words in str(fb)


def test_check_choice_gives_per_option_feedback():
    options = {"A": "A is wrong because...", "B": "B is right because..."}
    assert check_choice("b", "B", options).correct
    fb = check_choice("A", "B", options)
    assert not fb.correct and "A is wrong because" in str(fb)
    assert "one of A, B" in check_choice("Z", "B", options).title


def test_feedback_html_escapes_learner_text():
    fb = Feedback(False, "Not yet", ["<script>"])
    assert "&lt;script&gt;" in fb._repr_html_()
