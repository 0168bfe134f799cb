"""Unit tests of bnlib.batchnorm: forward, backward (compact and staged), 2d, inference,
running statistics, the modules, numerics, dtypes, and the error messages."""
import numpy as np
import pytest

from bnlib.batchnorm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNormCache,
    NonFiniteError,
    batchnorm2d_backward,
    batchnorm2d_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
    batchnorm_inference,
    keras_to_torch_momentum,
    update_running_stats,
)
from bnlib.gradcheck import gradcheck

TOL = 1e-7  # gradient checks, float64


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_1d(rng, n=6, d=4):
    x = rng.normal(2.0, 3.0, (n, d))
    return x, rng.normal(size=d), rng.normal(size=d)


def make_2d(rng, shape=(3, 2, 4, 3)):
    x = rng.normal(-1.0, 2.0, shape)
    return x, rng.normal(size=shape[1]), rng.normal(size=shape[1])


# --- forward ---------------------------------------------------------------------------------

def test_forward_matches_definition(rng):
    x, gamma, beta = make_1d(rng)
    y, cache = batchnorm_forward(x, gamma, beta, eps=1e-5)
    mean, var = x.mean(axis=0), x.var(axis=0)  # biased variance
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-12)
    assert isinstance(cache, BatchNormCache)
    np.testing.assert_allclose(cache.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(cache.var, var, rtol=1e-12)
    np.testing.assert_allclose(cache.inv_std, 1 / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(cache.x_hat, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    assert cache.eps == 1e-5 and cache._fields == ("x_hat", "mean", "var", "inv_std", "gamma", "eps")


def test_forward_normalizes_each_feature(rng):
    x = rng.normal([0.0, 100.0, -5.0], [1.0, 50.0, 0.01], (64, 3))
    y, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), eps=1e-12)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-6)  # eps / var = 1e-8 at most


def test_2d_statistics_are_per_channel_over_n_h_w(rng):
    x, gamma, beta = make_2d(rng)
    y, cache = batchnorm2d_forward(x, gamma, beta)
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(cache.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(cache.var, var, rtol=1e-12)
    expected = (gamma[:, None, None] * (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
                + beta[:, None, None])
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert y.shape == x.shape and cache.mean.shape == (2,)


def test_2d_equals_1d_on_channels_last_layout(rng):
    x, gamma, beta = make_2d(rng)
    y2, _ = batchnorm2d_forward(x, gamma, beta)
    flat = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])
    y1, _ = batchnorm_forward(flat, gamma, beta)
    np.testing.assert_allclose(y2.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]), y1, rtol=1e-12)


# --- backward: compact, staged, numerical ----------------------------------------------------

def test_backward_1d_against_numerical_gradients(rng):
    x, gamma, beta = make_1d(rng)
    y, cache = batchnorm_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    assert gradcheck(lambda t: batchnorm_forward(t, gamma, beta)[0], x, dx, dy) < TOL
    assert gradcheck(lambda t: batchnorm_forward(x, t, beta)[0], gamma, dgamma, dy) < TOL
    assert gradcheck(lambda t: batchnorm_forward(x, gamma, t)[0], beta, dbeta, dy) < TOL


def test_backward_2d_against_numerical_gradients(rng):
    x, gamma, beta = make_2d(rng)
    y, cache = batchnorm2d_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    dx, dgamma, dbeta = batchnorm2d_backward(dy, cache)
    assert gradcheck(lambda t: batchnorm2d_forward(t, gamma, beta)[0], x, dx, dy) < TOL
    assert gradcheck(lambda t: batchnorm2d_forward(x, t, beta)[0], gamma, dgamma, dy) < TOL
    assert gradcheck(lambda t: batchnorm2d_forward(x, gamma, t)[0], beta, dbeta, dy) < TOL


@pytest.mark.parametrize("maker", [make_1d, make_2d])
def test_staged_backward_agrees_with_compact(rng, maker):
    x, gamma, beta = maker(rng)
    forward = batchnorm_forward if x.ndim == 2 else batchnorm2d_forward
    y, cache = forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    compact = batchnorm_backward(dy, cache)
    staged = batchnorm_backward_staged(dy, cache)
    for a, b in zip(compact, staged):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert gradcheck(lambda t: forward(t, gamma, beta)[0], x, staged[0], dy) < TOL


def test_staged_backward_exposes_every_node(rng):
    x, gamma, beta = make_1d(rng)
    y, cache = batchnorm_forward(x, gamma, beta)
    dy = rng.normal(size=y.shape)
    dx, dgamma, dbeta, steps = batchnorm_backward_staged(dy, cache, return_intermediates=True)
    for key in ("dx_hat", "distd", "dstd", "dvar", "dsq", "dxmu", "dmu", "dx"):
        assert key in steps
    np.testing.assert_allclose(steps["dx_hat"], dy * gamma)
    # the node gradients against their closed forms (not against the staged function itself)
    xmu = x - x.mean(axis=0)
    var = x.var(axis=0)
    dvar = -0.5 * np.sum(steps["dx_hat"] * xmu, axis=0) * (var + cache.eps) ** -1.5
    np.testing.assert_allclose(steps["dvar"], dvar, rtol=1e-10)
    np.testing.assert_allclose(steps["dx"], batchnorm_backward(dy, cache)[0], rtol=1e-9,
                               atol=1e-12)
    # dL/dmean through the graph is the sum of dL/dxmu with a minus sign
    np.testing.assert_allclose(steps["dmu"], -steps["dxmu"].sum(axis=0))


def test_dx_sums_to_zero_per_feature(rng):
    """The batch mean is subtracted, so shifting all of x by a constant changes nothing:
    the gradient with respect to x sums to 0 over the batch."""
    x, gamma, beta = make_1d(rng, n=10)
    y, cache = batchnorm_forward(x, gamma, beta)
    dx, _, _ = batchnorm_backward(rng.normal(size=y.shape), cache)
    np.testing.assert_allclose(dx.sum(axis=0), 0, atol=1e-12)


# --- inference and running statistics --------------------------------------------------------

def test_inference_uses_given_statistics_and_is_per_sample(rng):
    x, gamma, beta = make_1d(rng)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2.0, 4)
    y = batchnorm_inference(x, rm, rv, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(y, gamma * (x - rm) / np.sqrt(rv + 1e-3) + beta, rtol=1e-12)
    np.testing.assert_allclose(batchnorm_inference(x[:1], rm, rv, gamma, beta, eps=1e-3), y[:1])


def test_inference_2d(rng):
    x, gamma, beta = make_2d(rng)
    rm, rv = rng.normal(size=2), rng.uniform(0.5, 2.0, 2)
    y = batchnorm_inference(x, rm, rv, gamma, beta)
    c = (slice(None), None, None)
    np.testing.assert_allclose(y, gamma[c] * (x - rm[c]) / np.sqrt(rv[c] + 1e-5) + beta[c])


def test_update_running_stats_torch_convention():
    new_mean, new_var = update_running_stats(np.zeros(2), np.ones(2), np.array([10.0, -10.0]),
                                             np.array([5.0, 3.0]), momentum=0.1)
    np.testing.assert_allclose(new_mean, [1.0, -1.0])
    np.testing.assert_allclose(new_var, [0.9 + 0.5, 0.9 + 0.3])


def test_keras_momentum_maps_to_one_minus():
    assert keras_to_torch_momentum(0.99) == pytest.approx(0.01)
    assert keras_to_torch_momentum(keras_to_torch_momentum(0.9)) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="keras_to_torch_momentum"):
        keras_to_torch_momentum(1.5)


def test_module_running_stats_use_unbiased_variance(rng):
    bn = BatchNorm1d(3, momentum=0.1)
    assert bn.training and bn.num_batches_tracked == 0
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    x = rng.normal(5, 2, (8, 3))
    bn(x)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1))
    assert bn.num_batches_tracked == 1


def test_module_momentum_none_is_cumulative_average(rng):
    bn = BatchNorm1d(2, momentum=None)
    batches = [rng.normal(i, 1 + i, (5, 2)) for i in range(4)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean(0) for b in batches], axis=0))
    np.testing.assert_allclose(bn.running_var, np.mean([b.var(0, ddof=1) for b in batches], axis=0))


def test_module_2d_running_stats(rng):
    bn = BatchNorm2d(2, momentum=0.5)
    x, _, _ = make_2d(rng)
    bn(x)
    m = x.shape[0] * x.shape[2] * x.shape[3]
    np.testing.assert_allclose(bn.running_mean, 0.5 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.running_var, 0.5 + 0.5 * x.var(axis=(0, 2, 3)) * m / (m - 1))


def test_module_eval_uses_running_stats_and_updates_nothing(rng):
    bn = BatchNorm1d(3)
    for _ in range(3):
        bn(rng.normal(1, 2, (16, 3)))
    rm, rv, nb = bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked
    assert bn.eval() is bn and not bn.training
    x = rng.normal(size=(1, 3))  # a single sample is fine in eval mode
    y = bn(x)
    np.testing.assert_allclose(y, (x - rm) / np.sqrt(rv + bn.eps))
    np.testing.assert_array_equal(bn.running_mean, rm)
    assert bn.num_batches_tracked == nb
    assert bn.train() is bn and bn.training


def test_module_running_stats_are_new_arrays(rng):
    """Learners append bn.running_mean to a list each step: old entries must not change."""
    bn = BatchNorm1d(2)
    seen = []
    for _ in range(3):
        bn(rng.normal(3, 1, (4, 2)))
        seen.append(bn.running_mean)
    assert not np.allclose(seen[0], seen[2])


def test_module_backward_training_and_eval(rng):
    x, gamma, beta = make_1d(rng)
    bn = BatchNorm1d(4)
    bn.gamma[:] = gamma
    bn.beta[:] = beta
    y = bn(x)
    dy = rng.normal(size=y.shape)
    dx = bn.backward(dy)
    ref = batchnorm_backward(dy, batchnorm_forward(x, gamma, beta)[1])
    np.testing.assert_allclose(dx, ref[0])
    np.testing.assert_allclose(bn.dgamma, ref[1])
    np.testing.assert_allclose(bn.dbeta, ref[2])
    assert bn.parameters()[0] is bn.gamma and bn.gradients()[0] is bn.dgamma

    bn.eval()
    y = bn(x)
    dx = bn.backward(dy)
    f = lambda t: batchnorm_inference(t, bn.running_mean, bn.running_var, gamma, beta)
    assert gradcheck(f, x, dx, dy) < TOL
    f = lambda t: batchnorm_inference(x, bn.running_mean, bn.running_var, t, beta)
    assert gradcheck(f, gamma, bn.dgamma, dy) < TOL


def test_module_2d_backward_against_numerical(rng):
    x, _, _ = make_2d(rng)
    bn = BatchNorm2d(2)
    y = bn(x)
    dy = rng.normal(size=y.shape)
    dx = bn.backward(dy)
    f = lambda t: BatchNorm2d(2)(t)
    assert gradcheck(f, x, dx, dy) < TOL


def test_module_affine_false_has_no_parameters(rng):
    bn = BatchNorm1d(3, affine=False)
    assert bn.parameters() == [] and bn.gradients() == [] and bn.gamma is None
    x = rng.normal(size=(5, 3))
    y = bn(x)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))
    assert bn.backward(np.ones_like(y)).shape == x.shape


def test_module_repr_names_its_settings():
    bn = BatchNorm1d(4, momentum=0.01)
    assert repr(bn) == "BatchNorm1d(4, eps=1e-05, momentum=0.01, affine=True)"


# --- numerics, dtypes, no in-place modification ----------------------------------------------

@pytest.mark.parametrize("shape", [(256, 8), (4096, 3), (32, 4, 5, 5), (64, 2, 16, 16)])
def test_float32_with_large_mean(rng, shape):
    x = rng.normal(1e4, 1.0, shape).astype(np.float32)
    c = x.shape[1]
    forward = batchnorm_forward if x.ndim == 2 else batchnorm2d_forward
    y, cache = forward(x, np.ones(c), np.zeros(c))
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    y64 = y.astype(np.float64)
    assert np.abs(y64.mean(axis=axes)).max() < 1e-3
    assert np.abs(y64.var(axis=axes) - 1).max() < 0.01
    assert y.dtype == np.float32 and cache.x_hat.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(rng, dtype):
    x = rng.normal(size=(6, 3)).astype(dtype)
    y, cache = batchnorm_forward(x, np.ones(3), np.zeros(3))  # float64 gamma/beta
    dx, dgamma, dbeta = batchnorm_backward(np.ones_like(y), cache)
    assert y.dtype == dx.dtype == dgamma.dtype == dbeta.dtype == dtype
    x4 = rng.normal(size=(2, 3, 2, 2)).astype(dtype)
    y4, cache4 = batchnorm2d_forward(x4, np.ones(3), np.zeros(3))
    assert y4.dtype == batchnorm2d_backward(np.ones_like(y4), cache4)[0].dtype == dtype
    assert batchnorm_inference(x, np.zeros(3), np.ones(3), np.ones(3), np.zeros(3)).dtype == dtype
    bn = BatchNorm1d(3)
    assert bn(x).dtype == dtype and bn.backward(np.ones_like(x)).dtype == dtype
    assert bn.eval()(x).dtype == dtype


def test_inputs_are_not_modified(rng):
    x, gamma, beta = make_1d(rng)
    dy = rng.normal(size=x.shape)
    copies = [a.copy() for a in (x, gamma, beta, dy)]
    y, cache = batchnorm_forward(x, gamma, beta)
    cache_copy = [np.copy(c) for c in cache[:5]]
    batchnorm_backward(dy, cache)
    batchnorm_backward_staged(dy, cache)
    batchnorm_inference(x, gamma, np.abs(beta), gamma, beta)
    bn = BatchNorm1d(4)
    bn(x)
    bn.backward(dy)
    for a, b in zip((x, gamma, beta, dy), copies):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(cache[:5], cache_copy):
        np.testing.assert_array_equal(a, b)
    x4, g4, b4 = make_2d(rng)
    x4c = x4.copy()
    batchnorm2d_forward(x4, g4, b4)
    np.testing.assert_array_equal(x4, x4c)


def test_non_contiguous_input(rng):
    x = rng.normal(size=(5, 8))[:, ::2]
    y, cache = batchnorm_forward(x, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(y, batchnorm_forward(np.ascontiguousarray(x), np.ones(4), np.zeros(4))[0])
    x4 = rng.normal(size=(3, 4, 5, 6)).transpose(0, 1, 3, 2)
    y4, _ = batchnorm2d_forward(x4, np.ones(4), np.zeros(4))
    np.testing.assert_allclose(y4, batchnorm2d_forward(x4.copy(), np.ones(4), np.zeros(4))[0])


def test_constant_feature_gives_beta(rng):
    x = np.column_stack([np.full(5, 3.0), rng.normal(size=5)])
    y, _ = batchnorm_forward(x, np.array([2.0, 1.0]), np.array([0.5, 0.0]))
    np.testing.assert_allclose(y[:, 0], 0.5)


# --- error messages: function, parameter, got shape, expected shape ---------------------------

X = np.arange(12.0).reshape(4, 3)
ONES, ZEROS = np.ones(3), np.zeros(3)
X4 = np.arange(24.0).reshape(2, 3, 2, 2)
CACHE = batchnorm_forward(X, ONES, ZEROS)[1]
WITH_NAN = X.copy()
WITH_NAN[1, 2] = np.nan
WITH_INF = X4.copy()
WITH_INF[0, 1, 0, 0] = np.inf

ERROR_CASES = [
    # (call, exception, fragments the message must contain)
    (lambda: batchnorm_forward(X[0], ONES, ZEROS), ValueError,
     ["batchnorm_forward", "x", "(3,)", "(N, D)"]),
    (lambda: batchnorm_forward(X, np.ones(4), ZEROS), ValueError,
     ["batchnorm_forward", "gamma", "(4,)", "(3,)"]),
    (lambda: batchnorm_forward(X, ONES, np.zeros((3, 1))), ValueError,
     ["batchnorm_forward", "beta", "(3, 1)", "(3,)"]),
    (lambda: batchnorm_forward(X[:1], ONES, ZEROS), ValueError,
     ["batchnorm_forward", "batch of 1", "x", "(1, 3)", "(N, 3)"]),
    (lambda: BatchNorm1d(3)(X[:1]), ValueError,
     ["BatchNorm1d in training mode needs at least 2 samples per feature, got a batch of 1",
      "(1, 3)", "(N, 3)"]),
    (lambda: BatchNorm2d(3)(X4[:1, :, :1, :1]), ValueError,
     ["BatchNorm2d", "batch of 1", "(1, 3, 1, 1)", "(N, 3, H, W)"]),
    (lambda: batchnorm_forward(X[:0], ONES, ZEROS), ValueError,
     ["batchnorm_forward", "x", "(0, 3)", "empty", "(N, 3)"]),
    (lambda: batchnorm_forward(X.astype(int), ONES, ZEROS), TypeError,
     ["batchnorm_forward", "x", "int", "(4, 3)", "(N, D)"]),
    (lambda: batchnorm_forward(WITH_NAN, ONES, ZEROS), NonFiniteError,
     ["batchnorm_forward", "x", "NaN", "(4, 3)", "(1, 2)"]),
    (lambda: batchnorm2d_forward(WITH_INF, ONES, ZEROS), NonFiniteError,
     ["batchnorm2d_forward", "x", "infinite", "(2, 3, 2, 2)"]),
    (lambda: batchnorm2d_forward(X, ONES, ZEROS), ValueError,
     ["batchnorm2d_forward", "x", "(4, 3)", "(N, C, H, W)"]),
    (lambda: batchnorm2d_forward(X4, np.ones(2), ZEROS), ValueError,
     ["batchnorm2d_forward", "gamma", "(2,)", "(3,)", "channels"]),
    (lambda: batchnorm_backward(np.ones((4, 2)), CACHE), ValueError,
     ["batchnorm_backward", "dy", "(4, 2)", "(4, 3)"]),
    (lambda: batchnorm_backward_staged(np.ones((3, 3)), CACHE), ValueError,
     ["batchnorm_backward_staged", "dy", "(3, 3)", "(4, 3)"]),
    (lambda: batchnorm_backward(np.full((4, 3), np.nan), CACHE), NonFiniteError,
     ["batchnorm_backward", "dy", "NaN", "(4, 3)"]),
    (lambda: batchnorm_backward(np.ones((4, 3)), (1, 2)), TypeError,
     ["batchnorm_backward", "cache", "BatchNormCache"]),
    (lambda: batchnorm_inference(X, np.zeros(2), ONES, ONES, ZEROS), ValueError,
     ["batchnorm_inference", "running_mean", "(2,)", "(3,)"]),
    (lambda: batchnorm_inference(X, ZEROS, -ONES, ONES, ZEROS), ValueError,
     ["batchnorm_inference", "running_var", "negative"]),
    (lambda: batchnorm_inference(X[0], ZEROS, ONES, ONES, ZEROS), ValueError,
     ["batchnorm_inference", "x", "(3,)", "(N, D) or (N, C, H, W)"]),
    (lambda: BatchNorm1d(4)(X), ValueError,
     ["BatchNorm1d.forward", "x", "(4, 3)", "(N, 4)"]),
    (lambda: BatchNorm1d(3).backward(X), RuntimeError, ["BatchNorm1d.backward", "forward"]),
    (lambda: update_running_stats(ZEROS, ONES, np.zeros(2), ONES, 0.1), ValueError,
     ["update_running_stats", "batch_mean", "(2,)", "(3,)"]),
    (lambda: update_running_stats(ZEROS, ONES, ZEROS, ONES, 1.5), ValueError,
     ["update_running_stats", "momentum", "1.5"]),
    (lambda: BatchNorm1d(3, momentum=-0.1), ValueError, ["BatchNorm1d", "momentum"]),
]


@pytest.mark.parametrize("call, exc, fragments", ERROR_CASES,
                         ids=[f"case{i}" for i in range(len(ERROR_CASES))])
def test_error_messages_name_function_parameter_and_shapes(call, exc, fragments):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_non_finite_error_is_a_value_error():
    assert issubclass(NonFiniteError, ValueError)


def test_overflowing_statistics_raise_instead_of_warning():
    x = np.array([[1e200, 0.0], [-1e200, 1.0]])
    with pytest.raises(NonFiniteError, match="batchnorm_forward: x .*overflow"):
        batchnorm_forward(x, np.ones(2), np.zeros(2))
