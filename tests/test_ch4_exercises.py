"""Chapter 4 checkers fed the reference answer and the typical wrong ones: the feedback must
pass the first and name the mistake in each of the others."""
import numpy as np
import pytest

from bnlib.exercises import gamma_beta as ex


def _axes(dy):
    return (0,) if dy.ndim == 2 else (0, 2, 3)


# --- coding exercise: one gradient-descent step ------------------------------------------

def loop_sgd_step(gamma, beta, dy, x_hat, lr):
    """A correct answer written another way: one feature (channel) at a time."""
    new_gamma, new_beta = np.array(gamma, dtype=float), np.array(beta, dtype=float)
    for c in range(dy.shape[1]):
        new_gamma[c] -= lr * float((dy[:, c] * x_hat[:, c]).sum())
        new_beta[c] -= lr * float(dy[:, c].sum())
    return new_gamma, new_beta


def test_sgd_checker_accepts_an_independent_correct_answer():
    # (the checker's expected values come from ex.reference_sgd_step: feeding it that very
    # function could not fail, so a correct answer written differently is fed instead)
    verdict = ex.check_sgd_step(loop_sgd_step)
    assert verdict.correct and "3 cases" in verdict.title


def test_sgd_reference_on_a_step_worked_by_hand():
    # dgamma = sum(dy * x_hat) = [1 - 1, 0 + 1] = [0, 1]; dbeta = sum(dy) = [2, 1]; lr 0.5
    dy = np.array([[1.0, 0.0], [1.0, 1.0]])
    x_hat = np.array([[1.0, -1.0], [-1.0, 1.0]])
    gamma, beta = ex.reference_sgd_step(np.array([1.0, 2.0]), np.zeros(2), dy, x_hat, 0.5)
    np.testing.assert_allclose(gamma, [1.0, 1.5])
    np.testing.assert_allclose(beta, [-1.0, -0.5])


def wrong_sign(gamma, beta, dy, x_hat, lr):
    a = _axes(dy)
    return gamma + lr * np.sum(dy * x_hat, axis=a), beta + lr * np.sum(dy, axis=a)


def swapped(gamma, beta, dy, x_hat, lr):
    a = _axes(dy)
    return gamma - lr * np.sum(dy, axis=a), beta - lr * np.sum(dy * x_hat, axis=a)


def mean_not_sum(gamma, beta, dy, x_hat, lr):
    a = _axes(dy)
    return gamma - lr * np.mean(dy * x_hat, axis=a), beta - lr * np.mean(dy, axis=a)


def sum_everything(gamma, beta, dy, x_hat, lr):
    return gamma - lr * np.sum(dy * x_hat), beta - lr * np.sum(dy)


def no_lr(gamma, beta, dy, x_hat, lr):
    a = _axes(dy)
    return gamma - np.sum(dy * x_hat, axis=a), beta - np.sum(dy, axis=a)


def beta_forgotten(gamma, beta, dy, x_hat, lr):
    return gamma - lr * np.sum(dy * x_hat, axis=_axes(dy)), beta


def axis_one(gamma, beta, dy, x_hat, lr):
    return gamma - lr * np.sum(dy * x_hat, axis=1), beta - lr * np.sum(dy, axis=1)


def axis_zero_only(gamma, beta, dy, x_hat, lr):  # right for (N, D), wrong for images
    return gamma - lr * np.sum(dy * x_hat, axis=0), beta - lr * np.sum(dy, axis=0)


def keepdims(gamma, beta, dy, x_hat, lr):
    a = _axes(dy)
    return (gamma - lr * np.sum(dy * x_hat, axis=a, keepdims=True),
            beta - lr * np.sum(dy, axis=a, keepdims=True))


def stacked(gamma, beta, dy, x_hat, lr):
    return np.stack(ex.reference_sgd_step(gamma, beta, dy, x_hat, lr))


def pixel_mean(gamma, beta, dy, x_hat, lr):
    if dy.ndim == 2:
        return ex.reference_sgd_step(gamma, beta, dy, x_hat, lr)
    dg = np.sum(np.mean(dy * x_hat, axis=(2, 3)), axis=0)
    db = np.sum(np.mean(dy, axis=(2, 3)), axis=0)
    return gamma - lr * dg, beta - lr * db


def raises(gamma, beta, dy, x_hat, lr):
    raise KeyError("oops")


def nan_result(gamma, beta, dy, x_hat, lr):
    g, b = ex.reference_sgd_step(gamma, beta, dy, x_hat, lr)
    return np.full_like(g, np.nan), b


def only_gamma(gamma, beta, dy, x_hat, lr):
    return ex.reference_sgd_step(gamma, beta, dy, x_hat, lr)[0]


def placeholder(gamma, beta, dy, x_hat, lr):
    raise NotImplementedError


@pytest.mark.parametrize("fn, phrases", [
    (wrong_sign, ["wrong sign", "subtract"]),
    (swapped, ["swapped"]),
    (mean_not_sum, ["mean instead of a sum"]),
    (sum_everything, ["summed over every axis"]),
    (no_lr, ["learning rate"]),
    (beta_forgotten, ["only gamma updated"]),
    (axis_one, ["axis"]),
    (axis_zero_only, ["images", "(0, 2, 3)"]),
    (keepdims, ["keepdims=True", "(3,)"]),
    (stacked, ["np.stack", "return new_gamma, new_beta"]),
    (pixel_mean, ["averaged over the pixels", "(0, 2, 3)"]),
    (raises, ["raised KeyError", "oops"]),
    (nan_result, ["NaN"]),
    (only_gamma, ["expected 2 return values"]),
    (placeholder, ["placeholder"]),
])
def test_sgd_wrong_answers_are_named(fn, phrases):
    verdict = ex.check_sgd_step(fn)
    text = str(verdict)
    assert not verdict.correct
    for phrase in phrases:
        assert phrase in text, (fn.__name__, text)


def test_sgd_square_case_catches_axis_one_by_value():
    # On the square case the wrong axis keeps the shape; the diagnosis must still name it.
    case = ex._sgd_cases()[1]
    got = axis_one(*case.args)
    assert "axis 1" in ex._diagnose_sgd(case, got)


def test_sgd_not_a_function():
    verdict = ex.check_sgd_step(3.0)
    assert not verdict.correct and "function" in str(verdict)


def test_sgd_does_not_reward_in_place_tricks():
    def in_place(gamma, beta, dy, x_hat, lr):
        a = _axes(dy)
        gamma -= lr * np.sum(dy * x_hat, axis=a)
        beta -= lr * np.sum(dy, axis=a)
        return gamma, beta

    assert ex.check_sgd_step(in_place).correct  # in place is fine: the checker copies inputs


# --- numeric exercise: gamma and beta by hand --------------------------------------------

def test_by_hand_correct():
    assert ex.check_by_hand(np.sqrt(ex.BY_HAND_VAR), ex.BY_HAND_MEAN).correct
    assert ex.check_by_hand("2", 5).correct


@pytest.mark.parametrize("gamma, beta, phrases", [
    (5.0, 2.0, ["swapped", "standard deviation"]),
    (5.0, 4.0, ["swapped"]),
    (4.0, 5.0, ["variance", "square root"]),
    (-2.0, 5.0, ["negative"]),
    (2.0, -5.0, ["wrong sign"]),
    (3.0, 5.0, ["gamma = 3 is too large"]),
    (2.0, 1.0, ["beta = 1 is too small"]),
    (1.0, 0.0, ["gamma and beta are off"]),
    (float("nan"), 5.0, ["gamma should be a number"]),
    (None, 5.0, ["gamma should be a number", "None"]),
    (2.0, "five", ["beta should be a number"]),
])
def test_by_hand_wrong_answers_are_named(gamma, beta, phrases):
    verdict = ex.check_by_hand(gamma, beta)
    assert not verdict.correct
    for phrase in phrases:
        assert phrase in str(verdict), str(verdict)


# --- widget exercise: reach the identity ---------------------------------------------------

TARGET = dict(target_gamma=2.02, target_beta=2.78, tol=0.05)


def test_identity_within_tolerance_passes():
    assert ex.check_identity(2.0, 2.8, **TARGET).correct
    assert not ex.check_identity(2.1, 2.8, **TARGET).correct


@pytest.mark.parametrize("gamma, beta, phrases, absent", [
    (1.0, 2.8, ["gamma is too small", "Raise gamma"], ["beta is"]),
    (3.0, 2.8, ["gamma is too large", "Lower gamma"], ["beta is"]),
    (2.0, 4.0, ["beta is too large", "Lower beta"], ["gamma is"]),
    (2.0, 0.0, ["beta is too small", "Raise beta"], ["gamma is"]),
    (1.0, 0.0, ["gamma and beta are", "Raise gamma", "Raise beta"], []),
    (2.8, 2.0, ["swapped"], []),
    (float("nan"), 2.8, ["numbers"], []),
])
def test_identity_feedback_names_parameter_and_direction(gamma, beta, phrases, absent):
    verdict = ex.check_identity(gamma, beta, **TARGET)
    text = str(verdict)
    assert not verdict.correct
    for phrase in phrases:
        assert phrase in text, text
    for phrase in absent:
        assert phrase not in text, text


# --- conceptual question -------------------------------------------------------------------

def test_affine_false_question():
    assert ex.check_affine_false("D").correct
    assert ex.check_affine_false(" d ").correct
    assert "track_running_stats" in str(ex.check_affine_false("A"))
    assert "center=False" in str(ex.check_affine_false("B"))
    assert "still standardizes" in str(ex.check_affine_false("C"))
    for answer in (None, "E", 2):
        verdict = ex.check_affine_false(answer)
        assert not verdict.correct and "one of A, B, C, D" in verdict.title
