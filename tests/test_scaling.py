"""Tests of bnlib.scaling against the definitions and scikit-learn."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn import preprocessing as skp

from bnlib.scaling import MinMaxScaler, StandardScaler, minmax_scale, standardize


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal([10.0, -3.0, 1000.0], [2.0, 0.1, 300.0], (30, 3))
    return x, rng.normal([10.0, -3.0, 1000.0], [2.0, 0.1, 300.0], (7, 3))


def test_minmax_definition(data):
    x, _ = data
    y = minmax_scale(x)
    np.testing.assert_allclose(y, (x - x.min(0)) / (x.max(0) - x.min(0)))
    np.testing.assert_allclose(y.min(0), 0)
    np.testing.assert_allclose(y.max(0), 1)


@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1), (2.5, 7.0)])
def test_minmax_matches_sklearn(data, feature_range):
    x, x_new = data
    np.testing.assert_allclose(minmax_scale(x, feature_range),
                               skp.minmax_scale(x, feature_range=feature_range), rtol=1e-12)
    ours = MinMaxScaler(feature_range).fit(x)
    theirs = skp.MinMaxScaler(feature_range=feature_range).fit(x)
    for name in ("data_min_", "data_max_", "data_range_", "scale_", "min_", "n_features_in_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(x_new), theirs.inverse_transform(x_new),
                               rtol=1e-12)


def test_standardize_definition_and_sklearn(data):
    x, x_new = data
    z = standardize(x)
    np.testing.assert_allclose(z, (x - x.mean(0)) / x.std(0), rtol=1e-12)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.var(0), 1, rtol=1e-12)
    np.testing.assert_allclose(z, skp.scale(x), rtol=1e-12, atol=1e-12)
    ours, theirs = StandardScaler().fit(x), skp.StandardScaler().fit(x)
    for name in ("mean_", "var_", "scale_", "n_features_in_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(x_new), theirs.inverse_transform(x_new),
                               rtol=1e-12)


def test_fit_on_train_transform_new_data_uses_train_statistics(data):
    x, x_new = data
    s = StandardScaler().fit(x)
    np.testing.assert_allclose(s.transform(x_new), (x_new - x.mean(0)) / x.std(0))
    m = MinMaxScaler().fit(x)
    np.testing.assert_allclose(m.transform(x_new), (x_new - x.min(0)) / (x.max(0) - x.min(0)))


@pytest.mark.parametrize("scaler", [MinMaxScaler, StandardScaler])
def test_fit_returns_self_and_fit_transform_equals_both(data, scaler):
    x, _ = data
    s = scaler()
    assert s.fit(x) is s
    np.testing.assert_allclose(scaler().fit_transform(x), s.transform(x))
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x, rtol=1e-12)


def test_constant_column_is_finite_and_documented():
    x = np.column_stack([np.full(5, 0.1), np.arange(5.0)])
    y = minmax_scale(x, (-1, 1))
    np.testing.assert_array_equal(y[:, 0], -1.0)  # the lower end of the range
    z = standardize(x)
    np.testing.assert_array_equal(z[:, 0], 0.0)
    np.testing.assert_allclose(z, skp.scale(x), atol=1e-12)
    np.testing.assert_allclose(y, skp.minmax_scale(x, (-1, 1)))
    s = StandardScaler().fit(x)
    assert s.var_[0] == 0 and s.scale_[0] == 1
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)


def test_one_dimensional_input_is_one_column():
    x = np.array([3.0, 1.0, 2.0])
    np.testing.assert_allclose(minmax_scale(x), [1.0, 0.0, 0.5])
    z = standardize(x)
    assert z.shape == (3,)
    np.testing.assert_allclose(z, skp.scale(x))
    s = MinMaxScaler().fit(x)
    assert s.transform(np.array([5.0])).shape == (1,)
    np.testing.assert_allclose(s.transform(np.array([5.0])), [2.0])


def test_integer_input_is_converted_to_float64():
    x = np.array([[1, 10], [2, 20], [3, 40]])
    y = minmax_scale(x)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, skp.minmax_scale(x.astype(float)))
    np.testing.assert_allclose(standardize([[1, 2], [3, 5]]), skp.scale(np.array([[1.0, 2], [3, 5]])))


def test_inputs_are_not_modified(data):
    x, x_new = data
    x0, n0 = x.copy(), x_new.copy()
    for s in (MinMaxScaler(), StandardScaler()):
        s.fit_transform(x)
        s.transform(x_new)
        s.inverse_transform(x_new)
    minmax_scale(x)
    standardize(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(x_new, n0)


# Values on a grid of 1/8: scikit-learn treats ranges below 10 * machine epsilon (absolute)
# as constant, bnlib only exactly constant columns; the grid keeps both on the same side.
@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
                  elements=st.integers(-8 * 10**6, 8 * 10**6).map(lambda v: v / 8)),
       st.floats(-10, 10), st.floats(0.1, 10))
def test_property_matches_sklearn_on_random_arrays(x, lo, width):
    fr = (lo, lo + width)
    np.testing.assert_allclose(minmax_scale(x, fr), skp.minmax_scale(x, feature_range=fr),
                               rtol=1e-9, atol=1e-9 * width)
    z = standardize(x)
    assert np.isfinite(z).all()
    np.testing.assert_allclose(z, skp.scale(x), rtol=1e-7, atol=1e-7)


ERRORS = [
    (lambda: minmax_scale(np.ones((2, 2, 2))), ValueError,
     ["minmax_scale", "x", "(2, 2, 2)", "(N, D) or (N,)"]),
    (lambda: standardize(np.array([[1.0, np.nan], [2.0, 3.0]])), ValueError,
     ["standardize", "x", "NaN", "(2, 2)"]),
    (lambda: standardize(np.empty((0, 3))), ValueError, ["standardize", "x", "(0, 3)", "empty"]),
    (lambda: minmax_scale(np.ones((3, 2)), (1, 0)), ValueError, ["minmax_scale", "feature_range"]),
    (lambda: MinMaxScaler().fit(np.ones((3, 2))).transform(np.ones((3, 3))), ValueError,
     ["MinMaxScaler.transform", "x", "(3, 3)", "(N, 2)"]),
    (lambda: StandardScaler().fit(np.ones((3, 2))).inverse_transform(np.ones(3)), ValueError,
     ["StandardScaler.inverse_transform", "x", "(3,)", "(N, 2)"]),
    (lambda: StandardScaler().transform(np.ones((3, 2))), RuntimeError,
     ["StandardScaler.transform", "fit"]),
    (lambda: minmax_scale(np.array([["a", "b"]])), TypeError, ["minmax_scale", "x", "(1, 2)"]),
]


@pytest.mark.parametrize("call, exc, fragments", ERRORS, ids=[f"case{i}" for i in range(len(ERRORS))])
def test_error_messages(call, exc, fragments):
    with pytest.raises(exc) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} missing from: {info.value}"


# --- robust scaling, distance shares and condition numbers (chapters 1 and 2) -------------

from bnlib.scaling import (RobustScaler, condition_number, distance_shares,  # noqa: E402
                           robust_scale, variance_shares)


@pytest.mark.parametrize("quantile_range", [(25.0, 75.0), (10.0, 90.0)])
def test_robust_scale_matches_sklearn(data, quantile_range):
    x, x_new = data
    np.testing.assert_allclose(robust_scale(x, quantile_range),
                               skp.robust_scale(x, quantile_range=quantile_range), rtol=1e-12)
    ours = RobustScaler(quantile_range).fit(x)
    theirs = skp.RobustScaler(quantile_range=quantile_range).fit(x)
    np.testing.assert_allclose(ours.center_, theirs.center_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-12)
    np.testing.assert_allclose(ours.transform(x_new), theirs.transform(x_new), rtol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(x_new)), x_new)


def test_robust_scale_ignores_one_outlier_and_handles_a_zero_iqr():
    x = np.arange(1.0, 12.0)  # median 6, quartiles 3.5 and 8.5
    np.testing.assert_allclose(robust_scale(x), (x - 6.0) / 5.0)
    spoiled = x.copy()
    spoiled[-1] = 1e6  # the largest value explodes: median and quartiles do not move
    np.testing.assert_allclose(robust_scale(spoiled)[:-1], ((x - 6.0) / 5.0)[:-1])
    flags = np.array([[1.0], [1.0], [1.0], [0.0], [1.0]])  # IQR 0: divide by 1
    np.testing.assert_allclose(robust_scale(flags), flags - 1.0)
    with pytest.raises(ValueError, match="quantile_range"):
        RobustScaler((75, 25)).fit(x)


def test_distance_shares_by_hand_and_the_variance_identity():
    x = np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 0.0]])
    # pairs (0,1): 4 + 1, (0,2): 16 + 0, (1,2): 4 + 1 -> per feature 24 and 2 (each pair once)
    np.testing.assert_allclose(distance_shares(x), [24 / 26, 2 / 26])
    rng = np.random.default_rng(5)
    y = rng.normal(0, [1.0, 7.0, 0.2], (40, 3))
    np.testing.assert_allclose(distance_shares(y), variance_shares(y), rtol=1e-12)
    np.testing.assert_allclose(variance_shares(standardize(y)), 1 / 3)
    flag = np.column_stack([rng.uniform(0, 1, 50), rng.integers(0, 2, 50)])
    assert not np.allclose(distance_shares(minmax_scale(flag)), 0.5)  # equal ranges, unequal
    with pytest.raises(ValueError, match="every column of x is constant"):
        variance_shares(np.ones((4, 2)))


def test_condition_number_against_closed_forms():
    rng = np.random.default_rng(1)
    z = standardize(rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 500))
    rho = np.corrcoef(z.T)[0, 1]
    # z-scores: the Gram matrix is the correlation matrix, eigenvalues 1 - rho, 1 + rho; the
    # intercept adds the eigenvalue 1, in between, so kappa is the same with and without it.
    for intercept in (False, True):
        assert np.isclose(condition_number(z, intercept), (1 + rho) / (1 - rho))
    # one feature with mean m and variance v next to an intercept: [[1, m], [m, m^2 + v]]
    u = rng.uniform(0, 1, 300)
    m, v = u.mean(), u.var()
    tr, det = 1 + m * m + v, v
    root = np.sqrt(tr * tr / 4 - det)
    assert np.isclose(condition_number(u, intercept=True), (tr / 2 + root) / (tr / 2 - root))
    assert condition_number(u) == 1.0  # one column, no intercept: a 1 x 1 matrix
    assert condition_number(np.column_stack([u, np.ones(300)]), intercept=True) == np.inf


def test_minmax_conditions_worse_than_zscores_with_an_intercept():
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.uniform(0, 20, 300), rng.gamma(2.0, 50_000, 300)])
    assert condition_number(minmax_scale(x), True) > 3 * condition_number(standardize(x), True)
