"""Property tests of bnlib.batchnorm over many random shapes and scales (hypothesis).

Examples are kept modest (settings below) so the whole bnlib suite stays fast on a busy
machine; every property still sees dozens of shapes, scales and offsets.
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bnlib.batchnorm import (
    batchnorm2d_backward,
    batchnorm2d_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
)
from bnlib.gradcheck import gradcheck

FEW = settings(max_examples=25, deadline=None)
VERY_FEW = settings(max_examples=10, deadline=None)  # numerical gradients: 2 passes per entry

seeds = st.integers(0, 2**32 - 1)
batch = st.integers(2, 40)
features = st.integers(1, 6)
locs = st.floats(-1e3, 1e3)
log_scales = st.floats(-2.0, 3.0)  # std between 0.01 and 1000, always >> eps


def batch_1d(seed, n, d, loc, log_scale):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** log_scale * rng.uniform(0.5, 2.0, d)  # each feature its own spread
    x = loc + scale * rng.standard_normal((n, d))
    return x, rng


@FEW
@given(seeds, batch, features, locs, log_scales)
def test_each_feature_has_mean_0_and_variance_1(seed, n, d, loc, log_scale):
    x, _ = batch_1d(seed, n, d, loc, log_scale)
    var = x.var(axis=0)
    assume(var.min() > 1e-2)  # "much larger than eps = 1e-5": eps / var < 1e-3
    y, _ = batchnorm_forward(x, np.ones(d), np.zeros(d))
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=0), var / (var + 1e-5), rtol=1e-9)
    assert np.all(np.abs(y.var(axis=0) - 1) < 1e-3)


@FEW
@given(seeds, batch, features, locs, log_scales,
       st.lists(st.floats(0.01, 100.0), min_size=6, max_size=6),
       st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=6))
def test_invariant_to_positive_scale_and_shift_per_feature(seed, n, d, loc, log_scale, a, b):
    x, rng = batch_1d(seed, n, d, loc, log_scale)
    assume(x.var(axis=0).min() > 1e-2 * 10.0 ** (2 * log_scale))
    a, b = np.array(a[:d]), np.array(b[:d])
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    y, _ = batchnorm_forward(x, gamma, beta, eps=0.0)
    y2, _ = batchnorm_forward(a * x + b, gamma, beta, eps=0.0)
    np.testing.assert_allclose(y2, y, atol=1e-6 * (1 + np.abs(y).max()))


@FEW
@given(seeds, batch, features, locs, log_scales, st.floats(1e-8, 1e-1))
def test_gamma_sqrt_var_beta_mean_is_identity(seed, n, d, loc, log_scale, eps):
    x, _ = batch_1d(seed, n, d, loc, log_scale)
    gamma = np.sqrt(x.var(axis=0) + eps)
    beta = x.mean(axis=0)
    y, _ = batchnorm_forward(x, gamma, beta, eps=eps)
    np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9 * (abs(loc) + 10.0 ** log_scale))


@FEW
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=12),
                  elements=st.floats(-1e4, 1e4)))
def test_arbitrary_arrays_give_finite_output_with_zero_mean(x):
    d = x.shape[1]
    y, cache = batchnorm_forward(x, np.ones(d), np.zeros(d))
    assert y.shape == x.shape and np.isfinite(y).all()
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-9)
    assert np.all(y.var(axis=0) <= 1 + 1e-9)  # variance var / (var + eps) never exceeds 1


@FEW
@given(seeds, batch, features, locs, log_scales)
def test_inference_with_batch_statistics_equals_training_forward(seed, n, d, loc, log_scale):
    x, rng = batch_1d(seed, n, d, loc, log_scale)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    y, cache = batchnorm_forward(x, gamma, beta)
    y_inf = batchnorm_inference(x, cache.mean, cache.var, gamma, beta)
    np.testing.assert_allclose(y_inf, y, rtol=1e-7, atol=1e-7)


@FEW
@given(seeds, batch, features, locs, log_scales)
def test_staged_and_compact_backward_agree(seed, n, d, loc, log_scale):
    x, rng = batch_1d(seed, n, d, loc, log_scale)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    y, cache = batchnorm_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    for a, b in zip(batchnorm_backward(dy, cache), batchnorm_backward_staged(dy, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9 * (1 + np.abs(a).max()))


# N >= 3: with N = 2 the normalized outputs are +-1 whatever x is, the true dx is about eps
# times smaller than dy, and the check would only compare rounding noise.
@VERY_FEW
@given(seeds, st.integers(3, 7), st.integers(1, 4), st.floats(-10, 10), st.floats(-1.0, 1.0))
def test_backward_1d_matches_numerical_gradient(seed, n, d, loc, log_scale):
    x, rng = batch_1d(seed, n, d, loc, log_scale)
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    y, cache = batchnorm_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    assert gradcheck(lambda t: batchnorm_forward(t, gamma, beta)[0], x, dx, dy) < 1e-7
    assert gradcheck(lambda t: batchnorm_forward(x, t, beta)[0], gamma, dgamma, dy) < 1e-7
    assert gradcheck(lambda t: batchnorm_forward(x, gamma, t)[0], beta, dbeta, dy) < 1e-7


@VERY_FEW
@given(seeds, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_backward_2d_matches_numerical_gradient(seed, n, c, h, w):
    assume(n * h * w >= 3)  # see the 1d test for why not 2
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.normal(), 2.0, (n, c, h, w))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    y, cache = batchnorm2d_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    dx, dgamma, dbeta = batchnorm2d_backward(dy, cache)
    assert gradcheck(lambda t: batchnorm2d_forward(t, gamma, beta)[0], x, dx, dy) < 1e-7
    assert gradcheck(lambda t: batchnorm2d_forward(x, t, beta)[0], gamma, dgamma, dy) < 1e-7


@FEW
@given(seeds, st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5))
def test_2d_equals_1d_over_pixels(seed, n, c, h, w):
    assume(n * h * w >= 2)
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, (n, c, h, w))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    y2, _ = batchnorm2d_forward(x, gamma, beta)
    flat = x.transpose(0, 2, 3, 1).reshape(-1, c)
    y1, _ = batchnorm_forward(flat, gamma, beta)
    np.testing.assert_allclose(y2.transpose(0, 2, 3, 1).reshape(-1, c), y1, rtol=1e-9, atol=1e-12)


@FEW
@given(seeds, batch, features, st.floats(-1e4, 1e4), st.floats(-1.0, 1.0))
@pytest.mark.parametrize("dtype", [np.float32])
def test_float32_stays_float32_and_accurate(dtype, seed, n, d, loc, log_scale):
    x, _ = batch_1d(seed, n, d, loc, log_scale)
    x = x.astype(dtype)
    y, cache = batchnorm_forward(x, np.ones(d), np.zeros(d))
    assert y.dtype == dtype
    ref, _ = batchnorm_forward(x.astype(np.float64), np.ones(d), np.zeros(d))
    # float32 rounding of x itself (relative 6e-8 of |loc|) limits what any method can reach
    tol = 1e-3 + 1e-6 * abs(loc) / 10.0 ** log_scale
    np.testing.assert_allclose(y, ref, atol=tol)
