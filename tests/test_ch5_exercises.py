"""Chapter 5 checkers: the reference answers pass; typical wrong answers are named."""
import numpy as np
import pytest

from bnlib.batchnorm import batchnorm_forward
from bnlib.exercises.noise import (
    check_eval_statistics,
    check_noise_control,
    check_tiny_batches,
    check_ghost_batchnorm,
    check_noise_target,
    check_quadruple_batch,
)
from bnlib.noise import ghost_batchnorm_forward

EPS = 1e-5


def _groups(fn):
    """Build a learner function from ``fn(groups (G, g, D)) -> normalized groups``."""
    def learner(x, gamma, beta, ghost_size):
        g = fn(x.reshape(-1, ghost_size, x.shape[1]))
        return gamma * g.reshape(x.shape) + beta
    return learner


def _bn(a, axis, ddof=0, eps=EPS):
    return (a - a.mean(axis=axis, keepdims=True)) / np.sqrt(a.var(axis=axis, ddof=ddof,
                                                                  keepdims=True) + eps)


def reference(x, gamma, beta, ghost_size):
    return ghost_batchnorm_forward(x, gamma, beta, ghost_size)[0]


def test_reference_passes():
    assert check_ghost_batchnorm(reference).correct
    assert check_ghost_batchnorm(_groups(lambda g: _bn(g, axis=1))).correct


def _strided(x, gamma, beta, k):
    g = x.reshape(k, -1, x.shape[1])
    return gamma * _bn(g, axis=0).reshape(x.shape) + beta


def _split_count(x, gamma, beta, k):
    g = x.reshape(k, -1, x.shape[1])
    return gamma * _bn(g, axis=1).reshape(x.shape) + beta


def _raises(x, gamma, beta, k):
    raise IndexError("index 8 is out of bounds")


def _placeholder(x, gamma, beta, k):
    raise NotImplementedError


def _eps_outside(g):
    return (g - g.mean(axis=1, keepdims=True)) / (g.std(axis=1, keepdims=True) + EPS)


@pytest.mark.parametrize("learner, phrase", [
    (_groups(_eps_outside), "outside the square root"),
    (lambda x, g, b, k: batchnorm_forward(x, g, b)[0], "whole batch"),
    (_groups(lambda g: _bn(g, axis=2)), "features (axis=1)"),
    (_split_count, "ghost_size groups"),
    (_strided, "strided"),
    (_groups(lambda g: _bn(g, axis=1, ddof=1)), "unbiased variance"),
    (_groups(lambda g: -_bn(g, axis=1)), "sign is flipped"),
    (_groups(lambda g: _bn(g, axis=1, eps=0.0)), "left out eps"),
    (lambda x, g, b, k: _bn(x.reshape(-1, k, x.shape[1]), axis=1).reshape(x.shape), "gamma"),
    (lambda x, g, b, k: reference(x, g, b, k) * np.nan, "NaN"),
    (lambda x, g, b, k: reference(x, g, b, k).reshape(-1, k, x.shape[1]), "reshape it back"),
    (lambda x, g, b, k: reference(x, g, b, k)[:-1], "expected shape"),
    (lambda x, g, b, k: ghost_batchnorm_forward(x, g, b, k), "not a tuple"),
    (_raises, "raised IndexError"),
    (_placeholder, "placeholder"),
    (lambda x, g, b, k: None, "returned None"),
])
def test_typical_mistakes_are_named(learner, phrase):
    fb = check_ghost_batchnorm(learner)
    assert not fb.correct
    assert phrase in str(fb), str(fb)


def test_sign_flip_of_the_gamma_beta_output_is_still_wrong():
    fb = check_ghost_batchnorm(lambda x, g, b, k: -reference(x, g, b, k))
    assert not fb.correct


def test_not_a_function():
    assert "pass your function" in str(check_ghost_batchnorm(0.5))


@pytest.mark.parametrize("answer, phrase", [
    (0.5, "Correct"), (1 / np.sqrt(4), "Correct"), (0.25, "variance"), (4, "shrinks"),
    (2, "wrong direction"), (1, "does depend"), (-0.5, "too small"), ("half", "a number"),
    (float("nan"), "NaN"), (None, "a number"),
])
def test_quadruple_batch(answer, phrase):
    fb = check_quadruple_batch(answer)
    assert phrase in str(fb), str(fb)
    assert fb.correct == (phrase == "Correct")


@pytest.mark.parametrize("m, phrase, ok", [
    (128, "Correct", True), (64, "too small", False), (2, "too small", False),
    (256, "not the smallest", False), ("big", "whole number", False),
    (100, "exact threshold", False), (100, "at least 100", False), (50, "not on the slider", False)])
def test_noise_target(m, phrase, ok):
    fb = check_noise_target(m)
    assert fb.correct == ok and phrase in str(fb), str(fb)


@pytest.mark.parametrize("answer, ok, phrase", [
    ("A", True, "other examples"), ("a", True, "other examples"),
    ("B", False, "mean square about 1"), ("C", False, "labels"), ("D", False, "not the same"),
    ("E", False, "one of")])
def test_eval_statistics(answer, ok, phrase):
    fb = check_eval_statistics(answer)
    assert fb.correct == ok and phrase in str(fb), str(fb)


@pytest.mark.parametrize("answer, ok, phrase", [
    ("C", True, "closest noise-free control"),
    (" c", True, "closest noise-free control"),
    ("A", False, "everything batch normalization does"), ("B", False, "gradient through"),
    ("D", False, "SGD noise"), (None, False, "one of"), ("E", False, "one of")])
def test_noise_control(answer, ok, phrase):
    fb = check_noise_control(answer)
    assert fb.correct == ok and phrase in str(fb), str(fb)


@pytest.mark.parametrize("answer, ok, phrase", [
    ("D", True, "-a and +a"), ("A", False, "shape of the distribution"),
    ("B", False, "outputs beta"), ("C", False, "turn the noise up"), (None, False, "one of")])
def test_tiny_batches(answer, ok, phrase):
    fb = check_tiny_batches(answer)
    assert fb.correct == ok and phrase in str(fb), str(fb)
