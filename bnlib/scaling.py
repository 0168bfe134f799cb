"""Feature scaling: min-max scaling and standardization, per column.

*Min-max scaling* maps each feature to a fixed range (default [0, 1]); *standardization*
maps it to mean 0 and variance 1 (z-scores); *robust scaling* subtracts the median and divides
by the interquartile range. The pure functions fit on ``x`` itself; the classes fit on
training data and transform new data, with scikit-learn's names and results
(``MinMaxScaler``, ``StandardScaler``, ``RobustScaler``; fitted attributes ``data_min_``,
``mean_``, ``center_``, ...).

Two measurements of what a scaling does to a model that adds up features:
:func:`distance_shares` / :func:`variance_shares` (each feature's share of the squared
Euclidean distances) and :func:`condition_number` (of the Gram matrix of a linear model,
optionally with an intercept column).

Input: (N, D) arrays, one feature per column; a 1-D array is one column and comes back 1-D.
Integer input is converted to float64 (as scikit-learn does). NaN/inf and empty input raise
ValueError. Constant columns never divide by zero: min-max scaling maps them to the lower
end of the range, standardization to 0 (scikit-learn's convention).
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_finite

__all__ = ["minmax_scale", "standardize", "robust_scale", "MinMaxScaler", "StandardScaler",
           "RobustScaler", "distance_shares", "variance_shares", "condition_number"]


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


def robust_scale(x, quantile_range=(25.0, 75.0)):
    """Robust-scale each column of x: subtract its median, divide by its interquartile range.

    x: (N, D), or (N,) treated as one column. Returns ``(x - median) / (q75 - q25)``, same
    shape as x (percentiles with NumPy's default linear interpolation). A column whose
    interquartile range is 0 is divided by 1. Equals ``sklearn.preprocessing.robust_scale``.
    """
    return RobustScaler(quantile_range)._fit_transform(x, "robust_scale")


def distance_shares(x):
    """Each column's share of the squared Euclidean distances between all pairs of rows.

    x: (N, D). Returns (D,), non-negative, summing to 1: column j's share is
    ``sum_{i,k} (x[i, j] - x[k, j])**2`` divided by the same sum over all columns. Computed
    pair by pair, from the definition; :func:`variance_shares` gives the same numbers from
    the identity ``sum_{i,k} (x[i, j] - x[k, j])**2 = 2 N**2 var(x[:, j])``.
    """
    a, _ = _as_2d(x, "distance_shares", n_features=None)
    per_feature = np.array([((col[:, None] - col[None, :]) ** 2).sum() for col in a.T])
    return _shares(per_feature, "distance_shares")


def variance_shares(x):
    """Each column's variance divided by the sum of the variances: x (N, D) -> (D,).

    Equal to :func:`distance_shares` (see there): a feature's share of squared distances is
    proportional to its variance, so min-max scaling (equal ranges) does not give equal
    shares, and standardization (equal variances) gives exactly 1 / D each.
    """
    a, _ = _as_2d(x, "variance_shares", n_features=None)
    return _shares(a.var(axis=0), "variance_shares")


def _shares(per_feature, func):
    total = per_feature.sum()
    if total == 0:
        raise ValueError(f"{func}: every column of x is constant, so there is no distance to "
                         f"share; expected x of shape (N, D) with at least one varying column")
    return per_feature / total


def condition_number(x, intercept=False):
    """Condition number of the Gram matrix of a linear model on the columns of x.

    x: (N, D) features. With ``intercept=True`` a column of ones is put in front (the model
    ``y = b + x @ w``). Returns ``lambda_max / lambda_min`` of ``A.T @ A / N``, where A is x
    with or without that column: the elongation of the squared loss's contours, which sets
    how many steps gradient descent needs. ``inf`` when the matrix is singular (a constant
    column next to an intercept, or duplicate columns).
    """
    a, _ = _as_2d(x, "condition_number", n_features=None)
    if intercept:
        a = np.column_stack([np.ones(a.shape[0]), a])
    eig = np.linalg.eigvalsh(a.T @ a / a.shape[0])
    if eig[0] <= eig[-1] * 1e-15:
        return float("inf")
    return float(eig[-1] / eig[0])


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


class RobustScaler(_Scaler):
    """Robust scaling fitted on training data, like ``sklearn.preprocessing.RobustScaler``.

    quantile_range: (q_lo, q_hi) percentiles, default (25, 75): the interquartile range.
    Fitted attributes (shape (D,)): ``center_`` (the median), ``scale_`` (the percentile
    range, with zeros replaced by 1), ``n_features_in_``. ``transform(x) = (x - center_) /
    scale_``. A few extreme values barely move the median and the quartiles, so they do not
    squeeze the other values (unlike min-max scaling and standardization).
    """

    def __init__(self, quantile_range=(25.0, 75.0)):
        self.quantile_range = quantile_range

    def __repr__(self) -> str:
        return f"RobustScaler(quantile_range={self.quantile_range!r})"

    def _fit(self, a, func):
        try:
            q_lo, q_hi = (float(v) for v in self.quantile_range)
        except (TypeError, ValueError):
            raise ValueError(f"{func}: quantile_range is {self.quantile_range!r}; expected a "
                             f"pair (q_lo, q_hi) of percentiles")
        if not 0 <= q_lo < q_hi <= 100:
            raise ValueError(f"{func}: quantile_range is {self.quantile_range!r}; expected "
                             f"percentiles with 0 <= q_lo < q_hi <= 100")
        self.center_ = np.median(a, axis=0)
        lo, hi = np.percentile(a, [q_lo, q_hi], axis=0)
        self.scale_ = _safe_scale(hi - lo)
        self.n_features_in_ = a.shape[1]

    def _transform(self, a):
        return (a - self.center_) / self.scale_

    def _inverse(self, a):
        return a * self.scale_ + self.center_


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


#: The scalings the distance-share widget of chapter 1 compares, by name.
SCALINGS = {"raw": lambda x: np.asarray(x, dtype=float), "min-max": minmax_scale,
            "z-scores": standardize, "robust": robust_scale}

__all__ += ["SCALINGS", "ScaledShares", "scaled_shares"]


@dataclass(frozen=True)
class ScaledShares:
    """What one scaling does to each feature's share of the squared distances.

    scaling: its name (a key of :data:`SCALINGS`). scaled: (N, D) the scaled data.
    variances: (D,) of the scaled columns. shares: (D,), :func:`variance_shares` of them.
    """

    scaling: str
    scaled: np.ndarray
    variances: np.ndarray
    shares: np.ndarray


def scaled_shares(x, scaling: str) -> ScaledShares:
    """Scale ``x`` (N, D) with the named scaling, then measure each column's share of the
    squared Euclidean distances between rows (proportional to its variance)."""
    if scaling not in SCALINGS:
        raise ValueError(f"scaled_shares: scaling must be one of {', '.join(SCALINGS)}, "
                         f"got {scaling!r}")
    scaled, _ = _as_2d(SCALINGS[scaling](x), "scaled_shares")
    return ScaledShares(scaling, scaled, scaled.var(axis=0), variance_shares(scaled))
