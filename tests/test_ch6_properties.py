"""Hypothesis properties of the normalization family: what each method is invariant to, and
group norm's two limits (G = 1 is layer norm, G = C is instance norm)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bnlib.batchnorm import batchnorm2d_forward
from bnlib.normalization import (groupnorm_backward, groupnorm_forward, instancenorm_forward,
                                 layernorm_backward, layernorm_forward, rmsnorm_forward)

FEW = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 4)
scales = st.floats(0.05, 20.0)
shifts = st.floats(-50.0, 50.0)


def images(seed, n, c, h, w):
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 2.0, (n, c, h, w)) * rng.uniform(0.5, 2.0, (1, c, 1, 1)), rng


@FEW
@given(seeds, sizes, st.integers(1, 3), scales, shifts)
def test_layernorm_ignores_the_scale_and_shift_of_a_whole_example(seed, n, k, a, b):
    x, rng = images(seed, n + 1, 2 * k, 3, 2)
    i = int(rng.integers(n + 1))
    x2 = x.copy()
    x2[i] = a * x2[i] + b
    y = layernorm_forward(x, x.shape[1:], eps=0.0)[0]
    y2 = layernorm_forward(x2, x.shape[1:], eps=0.0)[0]
    np.testing.assert_allclose(y2, y, atol=1e-9)


@FEW
@given(seeds, sizes, st.integers(2, 4), scales, shifts)
def test_instancenorm_ignores_one_channel_of_one_example_but_layernorm_does_not(seed, n, c, a, b):
    x, rng = images(seed, n, c, 3, 3)
    i, j = int(rng.integers(n)), int(rng.integers(c))
    x2 = x.copy()
    x2[i, j] = a * x2[i, j] + b
    np.testing.assert_allclose(instancenorm_forward(x2, eps=0.0)[0],
                               instancenorm_forward(x, eps=0.0)[0], atol=1e-9)
    if abs(a - 1) > 0.1:  # a real change of one channel's scale moves the layer statistics
        ln, ln2 = (layernorm_forward(v, v.shape[1:], eps=0.0)[0] for v in (x, x2))
        other = [k for k in range(c) if k != j][0]
        assert np.abs(ln2[i, other] - ln[i, other]).max() > 1e-6


@FEW
@given(seeds, st.integers(2, 4), st.integers(1, 4), scales, shifts)
def test_batchnorm_ignores_the_scale_of_the_batch_per_channel_but_depends_on_the_batch(
        seed, n, c, a, b):
    x, rng = images(seed, n, c, 2, 2)
    g, z = np.ones(c), np.zeros(c)
    y = batchnorm2d_forward(x, g, z, eps=0.0)[0]
    np.testing.assert_allclose(batchnorm2d_forward(a * x + b, g, z, eps=0.0)[0], y, atol=1e-9)
    # ...but one example's output changes when another example changes; layer norm's does not
    x2 = x.copy()
    x2[-1] = 3.0 * x2[-1] + 1.0
    assert np.abs(batchnorm2d_forward(x2, g, z, eps=0.0)[0][0] - y[0]).max() > 1e-6
    ln = layernorm_forward(x, x.shape[1:])[0]
    np.testing.assert_array_equal(layernorm_forward(x2, x.shape[1:])[0][0], ln[0])


@FEW
@given(seeds, sizes, st.integers(1, 6), st.integers(1, 3))
def test_groupnorm_with_one_group_is_layernorm_and_with_c_groups_is_instancenorm(seed, n, c, h):
    x, rng = images(seed, n, c, h, 2)
    gamma, beta = rng.uniform(0.5, 2.0, c), rng.normal(size=c)
    ln_gamma = np.broadcast_to(gamma[:, None, None], x.shape[1:])
    ln_beta = np.broadcast_to(beta[:, None, None], x.shape[1:])
    y1, c1 = groupnorm_forward(x, 1, gamma, beta)
    yl, cl = layernorm_forward(x, x.shape[1:], ln_gamma, ln_beta)
    np.testing.assert_allclose(y1, yl, atol=1e-12)
    dy = rng.standard_normal(x.shape)
    np.testing.assert_allclose(groupnorm_backward(dy, c1)[0], layernorm_backward(dy, cl)[0],
                               atol=1e-10)
    np.testing.assert_allclose(groupnorm_forward(x, c, gamma, beta)[0],
                               instancenorm_forward(x, gamma, beta)[0], atol=1e-12)


@FEW
@given(seeds, sizes, st.integers(1, 5), st.integers(1, 6))
def test_rmsnorm_is_layernorm_on_centred_input_and_keeps_the_sign(seed, n, t, d):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, (n, t, d))
    xc = x - x.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(rmsnorm_forward(xc, d, eps=1e-5)[0],
                               layernorm_forward(x, d, eps=1e-5)[0], atol=1e-9)
    y = rmsnorm_forward(x, d)[0]
    assert np.all(np.sign(y) == np.sign(x))
    np.testing.assert_allclose(np.mean(y**2, axis=-1), 1.0, atol=1e-6)


@FEW
@given(seeds, sizes, st.integers(1, 4), st.integers(1, 5))
def test_layernorm_normalizes_each_token_of_a_sequence(seed, n, t, d):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 5.0, (n, t, d + 1))
    y = layernorm_forward(x, d + 1, eps=0.0)[0]
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=-1), 1.0, atol=1e-7)
    # one token alone gives the same output as in its sequence
    np.testing.assert_allclose(layernorm_forward(x[:, :1], d + 1, eps=0.0)[0], y[:, :1])
