"""bnlib.practice (chapter 7): inference as an affine map, folding BN into the layer before it,
precise BN, and synchronized BN. The references are independent of the code under test: the
eval-mode network itself, a direct convolution written with sliding windows, the definition
of the population statistics, batch normalization of the concatenated batch, numerical
gradients, and PyTorch's own fusion helpers where torch is installed."""
import numpy as np
import pytest

from bnlib import BatchNorm1d, BatchNorm2d, Linear, Sequential, mlp
from bnlib.batchnorm import batchnorm2d_forward, batchnorm_backward, batchnorm2d_backward
from bnlib.batchnorm import batchnorm_forward
from bnlib.gradcheck import gradcheck
from bnlib.practice import (
    fold_batchnorm,
    inference_affine,
    recompute_bn_statistics,
    sync_batchnorm_backward,
    sync_batchnorm_forward,
)
from conftest import skip_or_fail

# float64 rounding over a few hundred multiply-adds: 1e-12 is ~10^4 ulps of values of order 1.
ROUND = 1e-12


def trained_bn(cls, c, rng, steps=5, shape=None):
    """A BN layer with non-trivial gamma, beta and running statistics."""
    bn = cls(c, momentum=0.3)
    bn.gamma[:] = rng.uniform(0.5, 2.0, c)
    bn.beta[:] = rng.normal(size=c)
    for _ in range(steps):
        bn(rng.normal(3.0, 2.0, size=shape or (16, c)))
    return bn.eval()


def conv2d_reference(x, w, b):
    """Direct 'valid' convolution (cross-correlation, as PyTorch) with sliding windows."""
    kh, kw = w.shape[2:]
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # N,C,H',W',kh,kw
    return np.einsum("nchwij,ocij->nohw", win, w) + b[None, :, None, None]


def test_inference_is_the_affine_map_of_eval_mode():
    rng = np.random.default_rng(0)
    bn = trained_bn(BatchNorm1d, 4, rng)
    a, b = inference_affine(bn)
    x = rng.normal(size=(7, 4))
    np.testing.assert_allclose(a * x + b, bn(x), rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(a, bn.gamma / np.sqrt(bn.running_var + bn.eps), rtol=ROUND)


def test_folded_linear_gives_the_eval_mode_outputs():
    rng = np.random.default_rng(1)
    lin = Linear(5, 3, rng=rng)
    bn = trained_bn(BatchNorm1d, 3, rng)
    net = Sequential(lin, bn).eval()
    w, b = fold_batchnorm(lin.weight, lin.bias, bn)
    x = rng.normal(size=(9, 5))
    np.testing.assert_allclose(x @ w.T + b, net(x), rtol=ROUND, atol=ROUND)
    assert w.shape == lin.weight.shape and b.shape == (3,)


def test_folded_linear_without_bias():
    rng = np.random.default_rng(2)
    lin = Linear(4, 2, rng=rng, bias=False)
    bn = trained_bn(BatchNorm1d, 2, rng)
    w, b = fold_batchnorm(lin.weight, None, bn)
    x = rng.normal(size=(6, 4))
    np.testing.assert_allclose(x @ w.T + b, bn(lin(x)), rtol=ROUND, atol=ROUND)


def test_folded_conv_gives_the_eval_mode_outputs():
    rng = np.random.default_rng(3)
    w0, b0 = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    bn = trained_bn(BatchNorm2d, 3, rng, shape=(4, 3, 5, 5))
    x = rng.normal(size=(2, 2, 6, 6))
    w, b = fold_batchnorm(w0, b0, bn)
    np.testing.assert_allclose(conv2d_reference(x, w, b), bn(conv2d_reference(x, w0, b0)),
                               rtol=ROUND, atol=ROUND)


def test_folding_uses_running_statistics_not_batch_statistics():
    """The trap: folding with the statistics of the current batch is not the eval network."""
    rng = np.random.default_rng(4)
    lin = Linear(3, 2, rng=rng)
    bn = trained_bn(BatchNorm1d, 2, rng)
    x = rng.normal(size=(8, 3))
    w, b = fold_batchnorm(lin.weight, lin.bias, bn)
    batch_mode = batchnorm_forward(lin(x), bn.gamma, bn.beta, bn.eps)[0]
    folded = x @ w.T + b
    assert np.abs(folded - batch_mode).max() > 0.1
    np.testing.assert_allclose(folded, bn(lin(x)), rtol=ROUND, atol=ROUND)


@pytest.mark.parametrize("weight, bias, bn, message", [
    (np.zeros((3, 5)), None, BatchNorm1d(3), "no running statistics yet"),
    (np.zeros((4, 5)), None, "bn", "expected a BatchNorm1d or BatchNorm2d"),
])
def test_fold_refuses_unusable_batchnorm(weight, bias, bn, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fold_batchnorm(weight, bias, bn)


def test_fold_names_the_mismatched_shape():
    rng = np.random.default_rng(5)
    bn1 = trained_bn(BatchNorm1d, 3, rng)
    bn2 = trained_bn(BatchNorm2d, 3, rng, shape=(4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"weight has shape \(4, 5\).*expected weight of shape \(3, 5\)"):
        fold_batchnorm(np.zeros((4, 5)), None, bn1)
    with pytest.raises(ValueError, match=r"bias has shape \(2,\); expected shape \(3,\)"):
        fold_batchnorm(np.zeros((3, 5)), np.zeros(2), bn1)
    with pytest.raises(ValueError, match="a BatchNorm2d follows a Conv2d"):
        fold_batchnorm(np.zeros((3, 5)), None, bn2)
    with pytest.raises(ValueError, match="a BatchNorm1d follows a Linear layer"):
        fold_batchnorm(np.zeros((3, 2, 3, 3)), None, bn1)


def test_fold_matches_torch_fusion_helpers():
    try:
        import torch
        from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights
    except ImportError:
        skip_or_fail("PyTorch is not installed; the fusion parity test needs the CPU build")
    rng = np.random.default_rng(6)
    t = torch.from_numpy
    bn = trained_bn(BatchNorm1d, 3, rng)
    w0, b0 = rng.normal(size=(3, 4)), rng.normal(size=3)
    w, b = fold_batchnorm(w0, b0, bn)
    tw, tb = fuse_linear_bn_weights(t(w0), t(b0), t(bn.running_mean), t(bn.running_var),
                                    bn.eps, t(bn.gamma), t(bn.beta))
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(b, tb.detach().numpy(), rtol=ROUND, atol=ROUND)
    bn2 = trained_bn(BatchNorm2d, 3, rng, shape=(4, 3, 2, 2))
    c0 = rng.normal(size=(3, 2, 3, 3))
    w, b = fold_batchnorm(c0, b0, bn2)
    tw, tb = fuse_conv_bn_weights(t(c0), t(b0), t(bn2.running_mean), t(bn2.running_var),
                                  bn2.eps, t(bn2.gamma), t(bn2.beta))
    np.testing.assert_allclose(w, tw.detach().numpy(), rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(b, tb.detach().numpy(), rtol=ROUND, atol=ROUND)


# --- precise BN -------------------------------------------------------------------------------

def test_precise_bn_gives_the_population_statistics_of_the_first_layer():
    """The first BN's input does not depend on any BN, so its population statistics follow from
    the definition: the mean of the batch means and the mean of the unbiased batch variances."""
    rng = np.random.default_rng(7)
    model = mlp([6, 5, 4, 3], bn="before", rng=rng)
    data = rng.normal(2.0, 3.0, size=(64, 6))
    batches = np.split(data, 8)
    model.eval()
    weights_before = [p.copy() for p in model.parameters()]
    recompute_bn_statistics(model, batches)
    first_bn = model[1]
    hidden = [model[0](b) for b in batches]
    np.testing.assert_allclose(first_bn.running_mean, np.mean([h.mean(0) for h in hidden], 0),
                               rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(first_bn.running_var,
                               np.mean([h.var(0, ddof=1) for h in hidden], 0), rtol=ROUND)
    assert first_bn.momentum == 0.1 and not model.training
    for before, after in zip(weights_before, model.parameters()):
        np.testing.assert_array_equal(before, after)


def test_precise_bn_accepts_pairs_and_refuses_empty_input():
    rng = np.random.default_rng(8)
    model = mlp([3, 4, 2], bn="before", rng=rng)
    x, y = rng.normal(size=(10, 3)), np.zeros(10, int)
    recompute_bn_statistics(model, [(x, y)])
    np.testing.assert_allclose(model[1].running_mean, model[0](x).mean(0), rtol=ROUND, atol=ROUND)
    before = model[1].running_mean.copy()
    with pytest.raises(ValueError, match="batches is empty"):
        recompute_bn_statistics(model, [])
    np.testing.assert_array_equal(model[1].running_mean, before)
    with pytest.raises(ValueError, match="no BatchNorm1d/BatchNorm2d layer"):
        recompute_bn_statistics(mlp([3, 2], rng=rng), [x])


# --- synchronized BN --------------------------------------------------------------------------

def shards_of(x, sizes):
    return np.split(x, np.cumsum(sizes)[:-1])


@pytest.mark.parametrize("shape, sizes", [((12, 4), [3, 5, 4]), ((6, 3, 2, 2), [1, 2, 3]),
                                          ((8, 5), [4, 4])])
def test_sync_bn_equals_one_big_batch_forward_and_backward(shape, sizes):
    rng = np.random.default_rng(9)
    c = shape[1]
    x = rng.normal(5.0, 2.0, size=shape)
    gamma, beta = rng.uniform(0.5, 2, c), rng.normal(size=c)
    dy = rng.normal(size=shape)
    fwd, bwd = ((batchnorm_forward, batchnorm_backward) if len(shape) == 2
                else (batchnorm2d_forward, batchnorm2d_backward))
    y, cache = fwd(x, gamma, beta)
    dx, dgamma, dbeta = bwd(dy, cache)
    ys, sync_cache = sync_batchnorm_forward(shards_of(x, sizes), gamma, beta)
    dxs, sdgamma, sdbeta = sync_batchnorm_backward(shards_of(dy, sizes), sync_cache)
    np.testing.assert_allclose(np.concatenate(ys), y, rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(np.concatenate(dxs), dx, rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(sdgamma, dgamma, rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(sdbeta, dbeta, rtol=ROUND, atol=ROUND)
    assert sync_cache.sent == 2 * c


def test_sync_bn_backward_matches_numerical_gradient():
    rng = np.random.default_rng(10)
    sizes = [2, 3]
    x = rng.normal(size=(5, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    dy = rng.normal(size=x.shape)
    ys, cache = sync_batchnorm_forward(shards_of(x, sizes), gamma, beta)
    dxs, _, _ = sync_batchnorm_backward(shards_of(dy, sizes), cache)

    def f(x_):
        return np.concatenate(sync_batchnorm_forward(shards_of(x_, sizes), gamma, beta)[0])

    assert gradcheck(f, x, np.concatenate(dxs), dy) < 1e-7


def test_per_device_bn_differs_from_sync_bn():
    """Without the all-reduce each worker normalizes with its own shard: ghost BN."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(8, 2)) + np.repeat([[0.0], [3.0]], 4, axis=0)
    gamma, beta = np.ones(2), np.zeros(2)
    sync = np.concatenate(sync_batchnorm_forward(np.split(x, 2), gamma, beta)[0])
    per_device = np.concatenate([batchnorm_forward(s, gamma, beta)[0] for s in np.split(x, 2)])
    assert np.abs(sync - per_device).max() > 0.5


def test_sync_bn_errors_name_the_parameter():
    x = np.zeros((4, 3))
    with pytest.raises(TypeError, match="expected a non-empty list of arrays"):
        sync_batchnorm_forward(x, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"shards\[1\] has shape \(2, 4\)"):
        sync_batchnorm_forward([x, np.zeros((2, 4))], np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="gamma"):
        sync_batchnorm_forward([x], np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match="at least 2"):
        sync_batchnorm_forward([np.zeros((1, 3))], np.ones(3), np.zeros(3))
    with pytest.raises(TypeError, match="integer dtype"):
        sync_batchnorm_forward([np.zeros((4, 3), int)], np.ones(3), np.zeros(3))
    _, cache = sync_batchnorm_forward([x + np.arange(4)[:, None]], np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"dys\[0\] has shape \(3, 3\); expected shape \(4, 3\)"):
        sync_batchnorm_backward([np.zeros((3, 3))], cache)
    with pytest.raises(TypeError, match="SyncBatchNormCache"):
        sync_batchnorm_backward([np.zeros((4, 3))], None)


# --- whole-model folding, train-mode predictions, dropout, per-device statistics --------------

def test_fold_model_gives_the_eval_outputs_for_linear_and_conv_networks():
    from bnlib import Conv2d, Flatten, ReLU, Unflatten
    from bnlib.practice import fold_model
    rng = np.random.default_rng(12)
    net = mlp([6, 5, 4, 3], activation="relu", bn="before", rng=rng)
    for _ in range(3):
        net(rng.normal(1.0, 2.0, size=(16, 6)))
    net.eval()
    x = rng.normal(size=(9, 6))
    folded = fold_model(net)
    assert not any(isinstance(m, BatchNorm1d) for m in folded)
    np.testing.assert_allclose(folded(x), net(x), rtol=ROUND, atol=ROUND)
    conv = Sequential(Unflatten((1, 4, 4)), Conv2d(1, 2, 3, padding=1, bias=False, rng=rng),
                      BatchNorm2d(2), ReLU(), Flatten(), Linear(32, 3, rng=rng))
    conv(rng.normal(size=(5, 16)))
    conv.eval()
    xc = rng.normal(size=(4, 16))
    np.testing.assert_allclose(fold_model(conv)(xc), conv(xc), rtol=ROUND, atol=ROUND)
    with pytest.raises(ValueError, match="only a BN directly after a Linear"):
        fold_model(mlp([3, 4, 2], bn="after", rng=rng))


def test_predict_in_batch_depends_on_the_batch_in_train_mode_only_and_changes_nothing():
    from bnlib.practice import predict_in_batch
    rng = np.random.default_rng(13)
    net = mlp([4, 8, 3], bn="before", rng=rng)
    for _ in range(3):
        net(rng.normal(size=(16, 4)))
    net.eval()
    saved = net[1].running_mean.copy(), net[1].num_batches_tracked
    x = rng.normal(size=4)
    p1, e1 = predict_in_batch(net, x, rng.normal(size=(7, 4)))
    p2, e2 = predict_in_batch(net, x, rng.normal(size=(7, 4)) + 3.0)
    assert np.abs(p1 - p2).max() > 1e-3
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(e1.sum(), 1.0)
    np.testing.assert_array_equal(net[1].running_mean, saved[0])
    assert net[1].num_batches_tracked == saved[1] and not net.training
    with pytest.raises(ValueError, match=r"batchmates has shape \(2, 3\)"):
        predict_in_batch(net, x, np.zeros((2, 3)))


def test_dropout_variance_shift_matches_the_closed_form():
    from bnlib.practice import dropout_variance_shift
    rng = np.random.default_rng(14)
    h = rng.normal(2.0, 1.0, size=(200_000, 2))
    train_var, eval_var = dropout_variance_shift(h, 0.5, rng=rng)
    np.testing.assert_allclose(train_var, (1.0 + 0.5 * 4.0) / 0.5, rtol=0.02)
    np.testing.assert_allclose(eval_var, 1.0, rtol=0.02)
    with pytest.raises(ValueError, match="p is 1.0"):
        dropout_variance_shift(h, 1.0, rng=rng)


def test_per_device_statistics_are_ghost_bn_and_sync_is_the_whole_batch():
    from bnlib.noise import ghost_batchnorm_forward
    from bnlib.practice import per_device_statistics, sync_traffic
    rng = np.random.default_rng(15)
    x = rng.normal(size=(12, 3))
    s = per_device_statistics(x, 3)
    gamma, beta = np.ones(3), np.zeros(3)
    per_device = np.concatenate([(xs - m) / np.sqrt(v + 1e-5)
                                 for xs, m, v in zip(np.split(x, 3), s["means"], s["vars"])])
    np.testing.assert_allclose(per_device, ghost_batchnorm_forward(x, gamma, beta, 4)[0],
                               rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(s["mean"], x.mean(0), rtol=ROUND)
    np.testing.assert_allclose(s["var"], x.var(0), rtol=ROUND)
    with pytest.raises(ValueError, match="expected a divisor"):
        per_device_statistics(x, 5)
    t = sync_traffic(mlp([4, 8, 6, 2], bn="before", rng=rng))
    assert t["bn_numbers"] == 4 * (8 + 6) and t["bn_layers"] == 2
    assert t["gradient_numbers"] == 4 * 8 + 8 + 8 * 6 + 6 + 6 * 2 + 2 + 2 * (8 + 6)
