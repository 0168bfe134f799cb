"""Chapter 6's library: layer, group, instance and RMS normalization and Conv2d.

Gradient checks (float64, random upstream gradient, relative error below 1e-7) on every
backward pass, and clear errors for bad input. PyTorch parity is in test_ch6_torch_parity.py,
the hypothesis properties in test_ch6_properties.py.
"""
import numpy as np
import pytest

import bnlib
from bnlib.gradcheck import gradcheck
from bnlib.nn import Conv2d, Flatten, Unflatten
from bnlib.normalization import (
    GroupNorm,
    InstanceNorm2d,
    LayerNorm,
    RMSNorm,
    groupnorm_backward,
    groupnorm_forward,
    instancenorm_backward,
    instancenorm_forward,
    layernorm_backward,
    layernorm_forward,
    rmsnorm_backward,
    rmsnorm_forward,
)

TOL = 1e-7


def _x(shape, seed=0, loc=0.5, scale=2.0):
    rng = np.random.default_rng(seed)
    return loc + scale * rng.standard_normal(shape), rng


# (name, forward(x, gamma, beta) -> (y, cache), backward, x shape, parameter shape)
FAMILY = [
    ("layer (N, D)", lambda x, g, b: layernorm_forward(x, 5, g, b), layernorm_backward,
     (4, 5), (5,)),
    ("layer (N, T, D)", lambda x, g, b: layernorm_forward(x, 4, g, b), layernorm_backward,
     (2, 3, 4), (4,)),
    ("layer (N, C, H, W)", lambda x, g, b: layernorm_forward(x, (3, 2, 2), g, b),
     layernorm_backward, (2, 3, 2, 2), (3, 2, 2)),
    ("group G=2", lambda x, g, b: groupnorm_forward(x, 2, g, b), groupnorm_backward,
     (2, 4, 3, 2), (4,)),
    ("group G=1", lambda x, g, b: groupnorm_forward(x, 1, g, b), groupnorm_backward,
     (2, 4, 2, 2), (4,)),
    ("group G=C", lambda x, g, b: groupnorm_forward(x, 4, g, b), groupnorm_backward,
     (2, 4, 2, 3), (4,)),
    ("instance", lambda x, g, b: instancenorm_forward(x, g, b), instancenorm_backward,
     (2, 3, 3, 2), (3,)),
]


@pytest.mark.parametrize("name, fwd, bwd, shape, pshape", FAMILY, ids=[f[0] for f in FAMILY])
def test_gradients_match_central_differences(name, fwd, bwd, shape, pshape):
    x, rng = _x(shape)
    gamma = rng.uniform(0.5, 2.0, pshape)
    beta = rng.normal(size=pshape)
    y, cache = fwd(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    dx, dgamma, dbeta = bwd(dy, cache)
    assert gradcheck(lambda x_: fwd(x_, gamma, beta)[0], x, dx, dy) < TOL
    assert gradcheck(lambda g_: fwd(x, g_, beta)[0], gamma, dgamma, dy) < TOL
    assert gradcheck(lambda b_: fwd(x, gamma, b_)[0], beta, dbeta, dy) < TOL


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rmsnorm_gradients_match_central_differences(eps):
    x, rng = _x((3, 2, 5))
    gamma = rng.uniform(0.5, 2.0, 5)
    y, cache = rmsnorm_forward(x, 5, gamma, eps)
    dy = rng.standard_normal(y.shape)
    dx, dgamma = rmsnorm_backward(dy, cache)
    assert gradcheck(lambda x_: rmsnorm_forward(x_, 5, gamma, eps)[0], x, dx, dy) < TOL
    assert gradcheck(lambda g_: rmsnorm_forward(x, 5, g_, eps)[0], gamma, dgamma, dy) < TOL


@pytest.mark.parametrize("stride, padding, bias", [(1, 0, True), (2, 1, True), ((1, 2), (2, 1), False)])
def test_conv2d_gradients_match_central_differences(stride, padding, bias):
    x, rng = _x((2, 3, 5, 6))
    conv = Conv2d(3, 4, (3, 2), stride=stride, padding=padding, bias=bias, rng=rng)
    if bias:
        conv.bias[:] = rng.normal(size=4)
    y = conv(x)
    dy = rng.standard_normal(y.shape)
    dx = conv.backward(dy)

    def with_weight(w):
        c = Conv2d(3, 4, (3, 2), stride=stride, padding=padding, bias=bias, rng=rng)
        c.weight, c.bias = w, conv.bias
        return c(x)

    assert gradcheck(conv.forward, x, dx, dy) < TOL
    assert gradcheck(with_weight, conv.weight, conv.dweight, dy) < TOL
    if bias:
        def with_bias(b):
            c = Conv2d(3, 4, (3, 2), stride=stride, padding=padding, rng=rng)
            c.weight, c.bias = conv.weight, b
            return c(x)
        assert gradcheck(with_bias, conv.bias, conv.dbias, dy) < TOL


def test_conv2d_output_shape_and_a_hand_computed_value():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    conv = Conv2d(1, 1, 2, stride=2, rng=np.random.default_rng(0))
    conv.weight[:] = np.array([[1.0, 0.0], [0.0, -1.0]])  # top-left minus bottom-right
    conv.bias[:] = 0.5
    y = conv(x)
    assert y.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(y[0, 0], np.full((2, 2), -5.0 + 0.5))  # x[i,j]-x[i+1,j+1] = -5


@pytest.mark.parametrize("module, shape", [
    (LayerNorm(5), (4, 5)), (GroupNorm(2, 4), (3, 4, 2, 2)),
    (InstanceNorm2d(3, affine=True), (2, 3, 2, 2)), (RMSNorm(5), (2, 3, 5)),
])
def test_module_backward_matches_the_functional_form_and_train_equals_eval(module, shape):
    x, rng = _x(shape)
    module.gamma[:] = rng.uniform(0.5, 2.0, module.gamma.shape)
    dy = rng.standard_normal(shape)
    y_train = module.train()(x)
    dx = module.backward(dy)
    y_eval = module.eval()(x)
    np.testing.assert_array_equal(y_train, y_eval)  # no running statistics, nothing updated
    assert len(module.parameters()) == len(module.gradients()) == (1 if module.beta is None else 2)
    assert gradcheck(module.forward, x, dx, dy) < TOL
    # each example is normalized alone: the output for one example does not depend on others
    np.testing.assert_allclose(module(x[:1]), y_train[:1], atol=1e-12)


def test_modules_are_exported_with_torch_defaults():
    assert LayerNorm(4).eps == 1e-5 and LayerNorm(4).elementwise_affine
    assert GroupNorm(2, 4).affine and GroupNorm(2, 4).eps == 1e-5
    assert not InstanceNorm2d(3).affine and InstanceNorm2d(3).parameters() == []
    assert RMSNorm(4).eps is None and RMSNorm(4).beta is None
    for name in ("LayerNorm", "GroupNorm", "InstanceNorm2d", "RMSNorm", "Conv2d",
                 "layernorm_forward", "groupnorm_backward", "rmsnorm_forward"):
        assert hasattr(bnlib, name) and name in bnlib.__all__


def test_rmsnorm_default_eps_is_the_machine_epsilon_of_the_dtype():
    x = np.zeros((2, 3))  # mean square 0: the output is x / sqrt(eps) = 0, inv_rms = eps**-0.5
    for dtype in (np.float32, np.float64):
        _, cache = rmsnorm_forward(x.astype(dtype), 3)
        np.testing.assert_allclose(cache.inv_std, np.finfo(dtype).eps ** -0.5, rtol=1e-6)
        assert cache.inv_std.dtype == dtype


def test_float32_in_float32_out_and_inputs_untouched():
    x, _ = _x((2, 4, 3, 3))
    x32 = x.astype(np.float32)
    before = x32.copy()
    y = GroupNorm(2, 4)(x32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(x32, before)


def test_mean_shapes_per_method():
    x, _ = _x((2, 6, 3, 3))
    assert layernorm_forward(x, (6, 3, 3))[1].mean.shape == (2, 1, 1, 1)
    assert groupnorm_forward(x, 3)[1].mean.shape == (2, 3)
    assert instancenorm_forward(x)[1].mean.shape == (2, 6)
    assert rmsnorm_forward(x, 3)[1].mean is None


def test_sequential_conv_net_trains_one_step():
    rng = np.random.default_rng(0)
    model = bnlib.Sequential(Unflatten((1, 4, 4)), Conv2d(1, 4, 3, padding=1, rng=rng),
                             GroupNorm(2, 4), bnlib.ReLU(), Flatten(), bnlib.Linear(64, 3, rng=rng))
    x = rng.normal(size=(5, 16))
    y = np.array([0, 1, 2, 1, 0])
    loss0, d = bnlib.softmax_cross_entropy(model(x), y)
    dx = model.backward(d)
    assert dx.shape == x.shape
    bnlib.SGD(model, lr=0.1).step()
    loss1, _ = bnlib.softmax_cross_entropy(model(x), y)
    assert loss1 < loss0


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

BAD = [
    (lambda: groupnorm_forward(np.ones((2, 6, 2, 2)), 4), ValueError,
     ["num_groups=4", "6 channels", "divisible", "[1, 2, 3, 6]"]),
    (lambda: GroupNorm(4, 6), ValueError, ["num_groups=4", "num_channels=6"]),
    (lambda: GroupNorm(2, 4)(np.ones((2, 6, 2, 2))), ValueError, ["(N, 4, *)", "6 channels"]),
    (lambda: layernorm_forward(np.ones((4, 5)), 6), ValueError,
     ["normalized_shape is (6,)", "(*, 6)", "(4, 5)"]),
    (lambda: LayerNorm((3, 4))(np.ones((2, 4, 3))), ValueError,
     ["LayerNorm.forward", "(*, 3, 4)"]),
    (lambda: rmsnorm_forward(np.ones((4, 5)), (4, 4)), ValueError, ["(*, 4, 4)"]),
    (lambda: layernorm_forward(np.ones((4, 5)), 5, gamma=np.ones(4)), ValueError,
     ["gamma has shape (4,)", "(5,)"]),
    (lambda: groupnorm_forward(np.ones((2, 4, 3)), 2, beta=np.ones(2)), ValueError,
     ["beta has shape (2,)", "(4,)", "4 channels"]),
    (lambda: layernorm_forward(np.arange(10).reshape(2, 5), 5), TypeError,
     ["integer dtype", "astype(float)"]),
    (lambda: GroupNorm(1, 2)(np.ones((2, 2, 2), dtype=np.int32)), TypeError, ["integer"]),
    (lambda: InstanceNorm2d(2)(np.array([[[[1.0, np.nan]], [[0.0, 1.0]]]])),
     bnlib.NonFiniteError, ["NaN", "(0, 0, 0, 1)"]),
    (lambda: RMSNorm(3)(np.array([[1.0, np.inf, 0.0]])), bnlib.NonFiniteError, ["RMSNorm.forward"]),
    (lambda: InstanceNorm2d(3)(np.ones((2, 3, 4))), ValueError, ["(N, 3, H, W)"]),
    (lambda: groupnorm_forward(np.ones((2, 4)), 0), ValueError, ["num_groups", ">= 1"]),
    (lambda: layernorm_forward(np.ones((4, 5)), 5, eps=-1.0), ValueError, ["eps"]),
    (lambda: layernorm_backward(np.ones((3, 5)), layernorm_forward(np.ones((4, 5)), 5)[1]),
     ValueError, ["dy has shape (3, 5)", "(4, 5)"]),
    (lambda: groupnorm_backward(np.ones((4, 5)), None), TypeError, ["NormCache"]),
    (lambda: LayerNorm(3).backward(np.ones((2, 3))), RuntimeError, ["forward(x)"]),
    (lambda: Conv2d(3, 4, 3, rng=np.random.default_rng(0))(np.ones((2, 2, 5, 5))), ValueError,
     ["(N, 3, H, W)"]),
    (lambda: Conv2d(1, 1, 5, rng=np.random.default_rng(0))(np.ones((1, 1, 3, 3))), ValueError,
     ["too small", "Conv2d.forward"]),
    (lambda: Conv2d(1, 1, 3, rng=0), TypeError, ["numpy.random.Generator"]),
    (lambda: Conv2d(1, 1, (3, 3, 3), rng=np.random.default_rng(0)), ValueError, ["kernel_size"]),
]


@pytest.mark.parametrize("call, error, words", BAD)
def test_bad_input_gets_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_residual_gradient_norms_pre_and_post_ln():
    """Xiong et al. (2020) in miniature: at initialization the gradient of the last block's
    output weights keeps its size with depth in post-LN and shrinks like 1/sqrt(L) in
    pre-LN (measured: norm x sqrt(L) between 3.2 and 3.8 for L = 2..128)."""
    from bnlib.experiments.family import residual_gradient_norms
    depths = (2, 8, 32, 128)
    g = residual_gradient_norms(depths)
    pre, post = np.array(g["pre"]), np.array(g["post"])
    scaled = pre * np.sqrt(depths)
    assert scaled.max() < 1.5 * scaled.min()
    assert post.max() < 1.5 * post.min() and post[-1] > 4 * pre[-1]
    # one depth: the same weights give the same numbers (seeded)
    assert residual_gradient_norms((8,))["pre"][0] == pytest.approx(pre[1], rel=1e-12)
