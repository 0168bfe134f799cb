"""Input checks shared by the bnlib core modules (private).

Every public function of :mod:`bnlib.scaling`, :mod:`bnlib.batchnorm` and :mod:`bnlib.nn`
checks its arguments once, at the boundary, and raises an error whose message names the
function, the parameter, the shape it got and the shape it expected, e.g.::

    ValueError: batchnorm_forward: gamma has shape (3,) but x has 4 features; expected gamma of shape (4,)
"""
from __future__ import annotations

import numpy as np

__all__ = ["NonFiniteError", "as_float_array", "check_finite", "shape_text"]


class NonFiniteError(ValueError):
    """An input (or a value computed from it) contains NaN or infinity.

    A subclass of :class:`ValueError`, so ``except ValueError`` catches it; the training loop
    in :mod:`bnlib.nn` catches it to detect divergence.
    """


def shape_text(shape) -> str:
    """``(3,)`` for a shape tuple, or the text itself for a symbolic shape like ``"(N, 4)"``."""
    if isinstance(shape, str):
        return shape
    return str(tuple(int(s) for s in shape))


def as_float_array(x, func: str, name: str, expected, *, ndim=None, integers: str = "refuse"):
    """Return ``x`` as a floating-point ndarray (no copy when it already is one).

    func, name: used in messages ("batchnorm_forward", "x").
    expected: the expected shape, as text ("(N, D)") or a tuple.
    ndim: an int or a tuple of allowed numbers of dimensions (None: any).
    integers: "refuse" raises TypeError for integer/boolean input; "convert" converts it to
    float64 (scikit-learn's behaviour).
    """
    a = np.asarray(x)
    kind = a.dtype.kind
    if kind == "f" and (ndim is None or a.ndim == ndim):
        return a  # the common case, checked as cheaply as possible
    exp = shape_text(expected)
    if kind in "biu":
        if integers == "convert":
            a = a.astype(np.float64)
        else:
            raise TypeError(
                f"{func}: {name} has integer dtype {a.dtype} and shape {a.shape}; expected a "
                f"floating-point array of shape {exp} (convert with {name}.astype(float))"
            )
    elif a.dtype.kind != "f":
        raise TypeError(
            f"{func}: {name} has dtype {a.dtype} and shape {a.shape}; expected a floating-point "
            f"array of shape {exp}"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            dims = " or ".join(str(d) for d in allowed)
            got = f"{a.ndim} dimension" + ("" if a.ndim == 1 else "s")
            raise ValueError(
                f"{func}: {name} has shape {a.shape} ({got}); expected shape {exp} "
                f"({dims} dimensions)"
            )
    return a


def check_finite(a: np.ndarray, func: str, name: str, expected) -> None:
    """Raise :class:`NonFiniteError` if ``a`` contains NaN or infinity."""
    if not np.isfinite(a).all():
        raise_non_finite(a, func, name, expected)


def raise_non_finite(a: np.ndarray, func: str, name: str, expected) -> None:
    """Raise :class:`NonFiniteError` describing the non-finite entries of ``a``."""
    bad = ~np.isfinite(a)
    n_bad = int(bad.sum())
    if n_bad == 0:  # the values are finite but a statistic of them overflowed
        raise NonFiniteError(
            f"{func}: {name} (shape {a.shape}, expected {shape_text(expected)}) has values so "
            f"large that its statistics overflow {a.dtype}"
        )
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise NonFiniteError(
        f"{func}: {name} has shape {a.shape} and contains {n_bad} NaN or infinite value(s) "
        f"(first at index {first}); expected finite values, shape {shape_text(expected)}"
    )
