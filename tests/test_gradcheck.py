"""Tests of bnlib.gradcheck: the numerical gradient is right on known functions, the relative
error behaves, and a wrong analytic gradient is caught."""
import numpy as np
import pytest

from bnlib.gradcheck import gradcheck, numerical_gradient, relative_error


def test_numerical_gradient_of_known_functions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    dy = rng.normal(size=(3, 4))
    np.testing.assert_allclose(numerical_gradient(np.sin, x, dy), np.cos(x) * dy, rtol=1e-8)
    w = rng.normal(size=(4, 2))
    dy2 = rng.normal(size=(3, 2))
    np.testing.assert_allclose(numerical_gradient(lambda t: t @ w, x, dy2), dy2 @ w.T, rtol=1e-8)


def test_numerical_gradient_is_float64_and_leaves_x_alone():
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    x0 = x.copy()
    g = numerical_gradient(lambda t: t**2, x, np.ones((1, 2)))
    assert g.dtype == np.float64 and g.shape == x.shape
    np.testing.assert_allclose(g, [[2.0, 4.0]], rtol=1e-8)
    np.testing.assert_array_equal(x, x0)


def test_relative_error_properties():
    a = np.array([1.0, 2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, a * (1 + 1e-9)) < 1e-9
    with pytest.raises(ValueError, match=r"relative_error: a has shape \(3,\) but b has shape \(2,\)"):
        relative_error(a, a[:2])


def test_gradcheck_accepts_right_and_rejects_wrong_gradients():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 3))
    dy = rng.normal(size=(5, 3))
    right = np.cos(x) * dy
    assert gradcheck(np.sin, x, right, dy) < 1e-7
    for wrong in (-right, right.T.copy().T * 2, np.sin(x) * dy, right[::-1]):
        assert gradcheck(np.sin, x, wrong, dy) > 1e-3


def test_gradcheck_errors_name_shapes():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"gradcheck: analytic_dx has shape \(3, 2\).*\(2, 3\)"):
        gradcheck(np.sin, x, np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"numerical_gradient: f\(x\) has shape \(2, 3\) but dy has shape \(2,\)"):
        numerical_gradient(np.sin, x, np.ones(2))
