"""Numerical gradients by central differences, to check every backward pass in bnlib.

The CS231n recipe: pick a random upstream gradient ``dy``, compute the analytic gradient
of ``L = sum(f(x) * dy)`` with your backward pass, compare it with central differences::

    y, cache = batchnorm_forward(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    err = gradcheck(lambda x_: batchnorm_forward(x_, gamma, beta)[0], x, dx, dy)
    assert err < 1e-7            # float64

All computations run in float64 (cast the input first if you check float32 code).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._validation import as_float_array

__all__ = ["numerical_gradient", "relative_error", "gradcheck"]


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x, dy, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * dy)`` with respect to x.

    f: maps an array shaped like x to an array shaped like dy.
    x: any shape; converted to a float64 copy (x itself is never modified).
    dy: the upstream gradient, shape of f(x).
    h: step size. Each entry costs two calls of f: ``(L(x + h e_i) - L(x - h e_i)) / (2 h)``.
    Returns an array of x's shape, float64.
    """
    func = "numerical_gradient"
    x = np.array(as_float_array(x, func, "x", "any", integers="convert"), dtype=np.float64)
    dy = np.asarray(as_float_array(dy, func, "dy", "the shape of f(x)", integers="convert"),
                    dtype=np.float64)
    h = float(h)
    if not h > 0:
        raise ValueError(f"{func}: h is {h}; expected a step size > 0")
    y0 = np.asarray(f(x.copy()))
    if y0.shape != dy.shape:
        raise ValueError(f"{func}: f(x) has shape {y0.shape} but dy has shape {dy.shape}; "
                         f"expected dy of shape {y0.shape}")
    grad = np.zeros_like(x)
    flat_x = x.reshape(-1)       # a view: perturbing it perturbs x
    flat_g = grad.reshape(-1)
    for i in range(flat_x.size):
        old = flat_x[i]
        flat_x[i] = old + h
        plus = np.sum(np.asarray(f(x.copy()), dtype=np.float64) * dy)
        flat_x[i] = old - h
        minus = np.sum(np.asarray(f(x.copy()), dtype=np.float64) * dy)
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b) -> float:
    """Relative error between two gradients: ``||a - b|| / (||a|| + ||b||)`` (Euclidean norms).

    0 when both are zero. Norm-based rather than entry-by-entry, so entries that are
    nearly zero in both do not blow up the error. Typical float64 values: below 1e-7 for a
    correct backward pass, above 1e-3 for a wrong one.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error: a has shape {a.shape} but b has shape {b.shape}; "
                         f"expected equal shapes")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / denom)


def gradcheck(f: Callable[[np.ndarray], np.ndarray], x, analytic_dx, dy, h: float = 1e-5) -> float:
    """Relative error between ``analytic_dx`` and the numerical gradient of ``sum(f(x) * dy)``.

    x: input (any shape); analytic_dx: your gradient, shape of x; dy: upstream gradient, shape
    of f(x). Returns :func:`relative_error` (a float; below ~1e-7 in float64 means correct).
    """
    analytic_dx = np.asarray(analytic_dx)
    if analytic_dx.shape != np.shape(x):
        raise ValueError(f"gradcheck: analytic_dx has shape {analytic_dx.shape}; expected the "
                         f"shape of x, {np.shape(x)}")
    return relative_error(analytic_dx, numerical_gradient(f, x, dy, h))
