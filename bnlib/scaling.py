"""Feature scaling: min-max scaling and standardization, per column.

*Min-max scaling* maps each feature to a fixed range (default [0, 1]); *standardization*
maps it to mean 0 and variance 1 (z-scores). The pure functions fit on ``x`` itself; the
classes fit on training data and transform new data, with scikit-learn's names and results
(``MinMaxScaler``, ``StandardScaler``; fitted attributes ``data_min_``, ``mean_``, ...).

Input: (N, D) arrays, one feature per column; a 1-D array is one column and comes back 1-D.
Integer input is converted to float64 (as scikit-learn does). NaN/inf and empty input raise
ValueError. Constant columns never divide by zero: min-max scaling maps them to the lower
end of the range, standardization to 0 (scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_finite

__all__ = ["minmax_scale", "standardize", "MinMaxScaler", "StandardScaler"]


def _as_2d(x, func: str, name: str = "x", n_features=None):
    """Validate x; return (float array (N, D), was_1d)."""
    expected = "(N, D) or (N,)" if n_features is None else f"(N, {n_features})"
    a = as_float_array(x, func, name, expected, ndim=(1, 2), integers="convert")
    was_1d = a.ndim == 1
    if was_1d:
        a = a[:, None]
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{func}: {name} has shape {np.shape(x)}, which is empty; expected "
                         f"shape {expected} with at least one row and one column")
    if n_features is not None and a.shape[1] != n_features:
        got = np.shape(x)
        raise ValueError(f"{func}: {name} has shape {got} with {a.shape[1]} feature(s); expected "
                         f"shape (N, {n_features}) (the scaler was fitted on {n_features} "
                         f"feature(s))")
    check_finite(a, func, name, expected)
    return a, was_1d


def _check_range(feature_range, func: str):
    try:
        lo, hi = (float(v) for v in feature_range)
    except (TypeError, ValueError):
        raise ValueError(f"{func}: feature_range is {feature_range!r}; expected a pair (min, max)")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"{func}: feature_range is {feature_range!r}; expected (min, max) with "
                         f"finite min < max")
    return lo, hi


def _safe_scale(s: np.ndarray) -> np.ndarray:
    """Replace zero scales (constant columns) by 1, as scikit-learn does."""
    s = s.copy()
    s[s == 0] = 1.0
    return s


def minmax_scale(x, feature_range=(0.0, 1.0)):
    """Min-max scale each column of x to ``feature_range``, using x's own min and max.

    x: (N, D), or (N,) treated as one column. Returns an array of the same shape (float)::

        y = lo + (x - min) / (max - min) * (hi - lo)

    A constant column (max == min) maps to ``lo``. Equals ``sklearn.preprocessing.minmax_scale``.
    """
    return MinMaxScaler(feature_range)._fit_transform(x, "minmax_scale")


def standardize(x):
    """Standardize each column of x to mean 0 and variance 1 (z-scores), using x's own
    statistics.

    x: (N, D), or (N,) treated as one column. Returns ``(x - mean) / std`` with the biased
    standard deviation (divide by N), same shape as x. A constant column maps to 0.
    Equals ``sklearn.preprocessing.scale``.
    """
    return StandardScaler()._fit_transform(x, "standardize")


class _Scaler:
    _attrs: tuple = ()

    def _check_fitted(self, func: str):
        if not hasattr(self, "n_features_in_"):
            raise RuntimeError(f"{func}: this {type(self).__name__} is not fitted yet; call "
                               f"fit(x) first")

    def fit_transform(self, x):
        """``fit(x)`` then ``transform(x)``; x: (N, D) or (N,). Returns the scaled x."""
        return self._fit_transform(x, f"{type(self).__name__}.fit_transform")

    def _fit_transform(self, x, func):
        a, was_1d = _as_2d(x, func)
        self._fit(a, func)
        y = self._transform(a)
        return y[:, 0] if was_1d else y

    def fit(self, x):
        """Learn the per-column statistics of x: (N, D) or (N,). Returns self."""
        func = f"{type(self).__name__}.fit"
        a, _ = _as_2d(x, func)
        self._fit(a, func)
        return self

    def transform(self, x):
        """Scale x: (N, D) (or (N,) if fitted on one column) with the fitted statistics."""
        func = f"{type(self).__name__}.transform"
        self._check_fitted(func)
        a, was_1d = _as_2d(x, func, n_features=self.n_features_in_)
        y = self._transform(a)
        return y[:, 0] if was_1d else y

    def inverse_transform(self, x):
        """Undo :meth:`transform`: x (N, D) or (N,) in scaled units back to original units."""
        func = f"{type(self).__name__}.inverse_transform"
        self._check_fitted(func)
        a, was_1d = _as_2d(x, func, n_features=self.n_features_in_)
        y = self._inverse(a)
        return y[:, 0] if was_1d else y


class MinMaxScaler(_Scaler):
    """Min-max scaling fitted on training data, like ``sklearn.preprocessing.MinMaxScaler``.

    feature_range: (lo, hi), the target range.
    Fitted attributes (shape (D,)): ``data_min_``, ``data_max_``, ``data_range_``
    (max - min), ``scale_`` ((hi - lo) / data_range_, with zero ranges treated as 1),
    ``min_`` (lo - data_min_ * scale_), and ``n_features_in_``.
    ``transform(x) = x * scale_ + min_``. A constant column maps to ``lo``. New data outside
    the training range lands outside ``feature_range`` (no clipping, like scikit-learn's
    default).
    """

    def __init__(self, feature_range=(0, 1)):
        self.feature_range = feature_range

    def __repr__(self) -> str:
        return f"MinMaxScaler(feature_range={self.feature_range!r})"

    def _fit(self, a, func):
        lo, hi = _check_range(self.feature_range, func)
        self.data_min_ = a.min(axis=0)
        self.data_max_ = a.max(axis=0)
        self.data_range_ = self.data_max_ - self.data_min_
        self.scale_ = (hi - lo) / _safe_scale(self.data_range_)
        self.min_ = lo - self.data_min_ * self.scale_
        self.n_features_in_ = a.shape[1]

    def _transform(self, a):
        return a * self.scale_ + self.min_

    def _inverse(self, a):
        return (a - self.min_) / self.scale_


class StandardScaler(_Scaler):
    """Standardization fitted on training data, like ``sklearn.preprocessing.StandardScaler``.

    Fitted attributes (shape (D,)): ``mean_``, ``var_`` (biased variance, divide by N),
    ``scale_`` (sqrt(var_), with zeros replaced by 1), ``n_features_in_``.
    ``transform(x) = (x - mean_) / scale_``. A constant column maps to 0.
    """

    def __repr__(self) -> str:
        return "StandardScaler()"

    def _fit(self, a, func):
        self.mean_ = a.mean(axis=0)
        self.var_ = ((a - self.mean_) ** 2).mean(axis=0)
        # A constant column: its mean is the constant itself and its variance exactly 0
        # (summation could leave a rounding residue like 1e-34, which must not be divided by).
        constant = a.max(axis=0) == a.min(axis=0)
        self.mean_[constant] = a[0, constant]
        self.var_[constant] = 0.0
        self.scale_ = _safe_scale(np.sqrt(self.var_))
        self.n_features_in_ = a.shape[1]

    def _transform(self, a):
        return (a - self.mean_) / self.scale_

    def _inverse(self, a):
        return a * self.scale_ + self.mean_


# --------------------------------------------------------------------------------------
# What the scaling widgets compute (chapters 00 and 01); the widgets in bnlib.widgets only
# draw these results.
from dataclasses import dataclass  # noqa: E402

__all__ += ["SampleStats", "standardize_sample", "OutlierEffect", "outlier_effect",
            "nice_ceiling", "scale_to_range"]


@dataclass(frozen=True)
class SampleStats:
    """A sample and its standardized version, with the numbers the widget reads out.

    values: (n,) the raw sample. z: (n,) the z-scores (values - mean) / std.
    mean, std: of the raw sample (biased std, divide by n). z_mean, z_std: of the z-scores.
    """

    values: np.ndarray
    z: np.ndarray
    mean: float
    std: float
    z_mean: float
    z_std: float


def standardize_sample(center: float, spread: float, n: int = 200, seed: int = 0) -> SampleStats:
    """Draw n values from a normal distribution with this center and spread, standardize them.

    center: mean of the distribution the sample is drawn from. spread: its standard deviation
    (> 0). The same seed gives the same underlying draw, so moving a slider only shifts and
    stretches the sample; it does not redraw it.
    """
    if not spread > 0:
        raise ValueError(f"standardize_sample: spread must be positive, got {spread!r}")
    base = np.random.default_rng(seed).standard_normal(n)
    values = center + spread * base
    mean, std = float(values.mean()), float(values.std())
    z = (values - mean) / std
    return SampleStats(values, z, mean, std, float(z.mean()), float(z.std()))


@dataclass(frozen=True)
class OutlierEffect:
    """One column with one value replaced by an outlier, min-max scaled to [0, 1].

    column: (n,) raw values with the outlier in place. scaled: (n,) min-max scaled.
    index: position of the outlier. others_lo, others_hi: where the other n - 1 values land
    in [0, 1]. fraction: others_hi - others_lo, the share of [0, 1] they still fill.
    """

    column: np.ndarray
    scaled: np.ndarray
    index: int
    others_lo: float
    others_hi: float

    @property
    def fraction(self) -> float:
        return self.others_hi - self.others_lo


def outlier_effect(column: np.ndarray, outlier: float, index: int = 0) -> OutlierEffect:
    """Replace ``column[index]`` by ``outlier``, min-max scale, and measure the others' band.

    column: (n,) with n >= 3. Pure: the input is not modified.
    """
    column = np.asarray(column, dtype=float)
    if column.ndim != 1 or column.size < 3:
        raise ValueError(f"outlier_effect: column must have shape (n,) with n >= 3, "
                         f"got shape {column.shape}")
    x = column.copy()
    x[index] = float(outlier)
    scaled = minmax_scale(x)
    others = np.delete(scaled, index)
    return OutlierEffect(x, scaled, int(index), float(others.min()), float(others.max()))


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 x 10**k that is >= value (at least 1): a round slider maximum."""
    value = max(float(value), 1.0)
    power = 10 ** int(np.floor(np.log10(value)))
    for mantissa in (1, 2, 5, 10):
        if mantissa * power >= value:
            return int(mantissa * power)
    raise AssertionError("unreachable")


def scale_to_range(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """Min-max scale each column of x (N, D) to [a, b]: ``a + (x - min) / (max - min) * (b - a)``.

    Unlike ``minmax_scale(x, (a, b))`` it also accepts a == b (every value becomes a), which
    a range slider can produce.
    """
    return a + minmax_scale(x) * (b - a)
