"""Batch normalization after the algorithm: what deployment and many devices need.

* **Inference is an affine map** (Ioffe & Szegedy, Algorithm 2). With running statistics a
  BN layer computes ``y = a * x + b`` per feature, ``a = gamma / sqrt(running_var + eps)``
  and ``b = beta - a * running_mean`` (:func:`inference_affine`). The map can be folded into
  the Linear or Conv2d layer before it (:func:`fold_batchnorm`), so BN costs nothing at
  inference.
* **Population statistics** ("precise BN", Wu & Johnson 2021): after training, replace the
  moving averages by equal-weight averages of the batch statistics over many training batches,
  computed with the final weights (:func:`recompute_bn_statistics`).
* **Synchronized BN** over K workers (:func:`sync_batchnorm_forward`,
  :func:`sync_batchnorm_backward`): each worker holds a shard of the batch; the workers
  all-reduce per-channel sums, so every worker normalizes with the statistics of the whole
  batch. The result equals batch normalization of the concatenated batch, forward and
  backward. Per-device BN (no all-reduce) is ghost batch normalization with ghosts of the
  shard size.

PyTorch equivalents: ``torch.nn.utils.fusion.fuse_linear_bn_weights`` and
``fuse_conv_bn_weights`` (folding), ``torch.nn.SyncBatchNorm`` (synchronized BN; it
all-gathers each worker's mean, variance and count instead of all-reducing sums, which gives
the same statistics).
"""
from __future__ import annotations

from typing import NamedTuple

import copy
from contextlib import contextmanager

import numpy as np

from ._module import eval_mode, train_mode
from ._validation import as_float_array, shape_text
from .batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm, _check_eps, _check_vector

__all__ = [
    "inference_affine",
    "fold_batchnorm",
    "fold_model",
    "batchnorm_layers",
    "kept_running_statistics",
    "predict_in_batch",
    "dropout_variance_shift",
    "recompute_bn_statistics",
    "SyncBatchNormCache",
    "sync_batchnorm_forward",
    "sync_batchnorm_backward",
    "per_device_statistics",
    "per_device_spread",
    "sync_traffic",
]


# ---------------------------------------------------------------------------------------------
# Inference as an affine map, and folding
# ---------------------------------------------------------------------------------------------

def _check_bn(bn, func: str) -> None:
    if not isinstance(bn, _BatchNorm):
        raise TypeError(f"{func}: bn is a {type(bn).__name__}; expected a BatchNorm1d or "
                        f"BatchNorm2d")
    if bn.num_batches_tracked == 0:
        raise ValueError(
            f"{func}: {type(bn).__name__}({bn.num_features}) has no running statistics yet "
            f"(num_batches_tracked = 0, so running_mean and running_var are still their initial "
            f"0 and 1); train it, or call recompute_bn_statistics, before using them")


def inference_affine(bn):
    """The affine map ``y = a * x + b`` that ``bn`` computes in eval mode.

    bn: a :class:`~bnlib.BatchNorm1d` or :class:`~bnlib.BatchNorm2d` with running statistics.
    Returns ``a`` and ``b``, each (num_features,) float64::

        a = gamma / sqrt(running_var + eps)
        b = beta - a * running_mean

    (gamma = 1 and beta = 0 when the layer is not affine.)
    """
    _check_bn(bn, "inference_affine")
    gamma = bn.gamma if bn.affine else np.ones(bn.num_features)
    beta = bn.beta if bn.affine else np.zeros(bn.num_features)
    a = gamma / np.sqrt(bn.running_var + bn.eps)
    return a, beta - a * bn.running_mean


def fold_batchnorm(weight, bias, bn):
    """Fold an eval-mode BN layer into the Linear or Conv2d layer that feeds it.

    weight: (out, in) for a Linear layer followed by a BatchNorm1d, or (out, in, kh, kw) for a
    Conv2d followed by a BatchNorm2d (PyTorch's layouts). bias: (out,), or None for a layer
    without bias. bn: the BN layer, with ``num_features == out`` and running statistics.

    Returns ``(weight', bias')`` with the shapes of weight and (out,), such that the layer with
    them computes what layer + BN compute in eval mode::

        weight' = a[:, None] * weight          (a[:, None, None, None] for a convolution)
        bias'   = a * (bias - running_mean) + beta

    where ``a = gamma / sqrt(running_var + eps)`` (:func:`inference_affine`). The running
    statistics are used, never the statistics of a batch: the folded layer is the eval-mode
    network. Like ``torch.nn.utils.fusion.fuse_linear_bn_weights``/``fuse_conv_bn_weights``.
    """
    func = "fold_batchnorm"
    _check_bn(bn, func)
    c = bn.num_features
    kind = "(out, in)" if isinstance(bn, BatchNorm1d) else "(out, in, kh, kw)"
    w = as_float_array(weight, func, "weight", kind, ndim=(2, 4))
    if isinstance(bn, BatchNorm1d) and w.ndim != 2:
        raise ValueError(f"{func}: weight has shape {w.shape}, a convolution's; a BatchNorm1d "
                         f"follows a Linear layer, expected weight of shape ({c}, in)")
    if isinstance(bn, BatchNorm2d) and w.ndim != 4:
        raise ValueError(f"{func}: weight has shape {w.shape}, a Linear layer's; a BatchNorm2d "
                         f"follows a Conv2d, expected weight of shape ({c}, in, kh, kw)")
    if w.shape[0] != c:
        expected = (c,) + w.shape[1:]
        raise ValueError(f"{func}: weight has shape {w.shape} with {w.shape[0]} outputs but bn has "
                         f"num_features={c}; expected weight of shape {shape_text(expected)}")
    if bias is None:
        b = np.zeros(c)
    else:
        b = as_float_array(bias, func, "bias", (c,), ndim=1)
        if b.shape != (c,):
            raise ValueError(f"{func}: bias has shape {b.shape}; expected shape ({c},) "
                             f"(one per output) or None")
    a, shift = inference_affine(bn)
    new_weight = a.reshape((c,) + (1,) * (w.ndim - 1)) * w
    return new_weight, a * b + shift  # a * (b - mean) + beta


def fold_model(model):
    """A copy of ``model`` with every BN layer folded into the Linear or Conv2d before it.

    model: a :class:`~bnlib.Sequential` in which every BatchNorm1d directly follows a
    Linear and every BatchNorm2d a Conv2d (BN before the activation, as in Ioffe & Szegedy).
    Returns a new Sequential without BN layers (the other modules deep-copied, ``model``
    untouched) that computes what ``model`` computes in eval mode, up to float rounding.
    A BN that follows anything else (an activation, another BN) raises ``ValueError``:
    its affine map cannot be folded into the layer before it.
    """
    from .nn import Conv2d, Linear, Sequential  # nn imports batchnorm; practice sits above both

    func = "fold_model"
    modules = list(getattr(model, "modules", ()))
    if not modules:
        raise TypeError(f"fold_model: model is a {type(model).__name__}; expected a Sequential")
    out = []
    for i, m in enumerate(modules):
        if not isinstance(m, _BatchNorm):
            out.append(copy.deepcopy(m))
            continue
        prev = modules[i - 1] if i else None
        wanted = Linear if isinstance(m, BatchNorm1d) else Conv2d
        if not isinstance(prev, wanted) or not out or out[-1].__class__ is not wanted:
            raise ValueError(
                f"{func}: module {i} is a {type(m).__name__} after "
                f"{type(prev).__name__ if prev is not None else 'nothing'}; only a BN directly "
                f"after a {wanted.__name__} can be folded into it")
        layer = out[-1]
        layer.weight, bias = fold_batchnorm(layer.weight, layer.bias, m)
        if layer.bias is None:  # the folded layer needs a bias: BN's shift lives there
            layer.dbias = np.zeros_like(bias)
        layer.bias = bias
    folded = Sequential(*out)
    return folded.eval()


# ---------------------------------------------------------------------------------------------
# Population statistics after training ("precise BN")
# ---------------------------------------------------------------------------------------------

def batchnorm_layers(model) -> list:
    """Every BatchNorm1d/2d in ``model``, in order (a module, or a container with ``modules``)."""
    if isinstance(model, _BatchNorm):
        return [model]
    return [bn for m in getattr(model, "modules", ()) for bn in batchnorm_layers(m)]


def recompute_bn_statistics(model, batches, *, statistics: str = "batch_average"):
    """Replace every BN layer's running statistics by population statistics ("precise BN").

    The one precise-BN function; it offers the two estimates of the population statistics:

    ``statistics="batch_average"`` (default; Wu & Johnson 2021, section 3): ``batches`` is an
    iterable of input batches x (or of (x, y) pairs, y ignored), e.g. training batches of the
    size used in training. The model (any bnlib model with BatchNorm1d/2d layers) runs
    forward in training mode over every batch, with each BN layer's momentum set to None:
    ``running_mean`` becomes the equal-weight average of the batch means and ``running_var``
    the average of the unbiased batch variances.

    ``statistics="whole_set"`` (Ioffe & Szegedy 2015, Algorithm 2): ``batches`` is one array
    x (N, D), e.g. the whole training set, and the model a :class:`~bnlib.nn.Sequential` of
    BatchNorm1d and other layers. Each BN layer gets the mean and the unbiased variance of its
    input over all rows of x; layers are treated in order, so a later layer sees the earlier
    ones already fixed (eval mode). This is :func:`bnlib.nn.precise_bn`.

    Both use the final weights and change no parameter; momentum and the training/eval mode
    are restored afterwards. Returns the model.
    """
    func = "recompute_bn_statistics"
    if statistics == "whole_set":
        return _whole_set_statistics(model, batches)
    if statistics != "batch_average":
        raise ValueError(f"{func}: statistics is {statistics!r}; expected 'batch_average' or "
                         f"'whole_set'")
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"{func}: the model has no BatchNorm1d/BatchNorm2d layer")
    saved = [(bn, bn.momentum, bn.running_mean, bn.running_var, bn.num_batches_tracked)
             for bn in layers]
    n_batches = 0
    try:
        for bn in layers:
            bn.momentum = None
            bn.num_batches_tracked = 0
        with train_mode(model):
            for batch in batches:
                x = batch[0] if isinstance(batch, tuple) else batch
                model(x)
                n_batches += 1
        if n_batches == 0:
            raise ValueError(f"{func}: batches is empty; expected at least one batch")
    except BaseException:
        for bn, _, mean, var, tracked in saved:
            bn.running_mean, bn.running_var, bn.num_batches_tracked = mean, var, tracked
        raise
    finally:
        for bn, momentum, *_ in saved:
            bn.momentum = momentum
    return model


def _whole_set_statistics(model, x):
    try:
        with eval_mode(model):
            for i, m in enumerate(model):
                if isinstance(m, BatchNorm1d):
                    inputs = model[:i](x) if i else np.asarray(x, dtype=float)
                    m.running_mean = inputs.mean(axis=0)
                    m.running_var = inputs.var(axis=0, ddof=1)
    finally:
        model.activations = []
    return model


@contextmanager
def kept_running_statistics(model):
    """Run ``model`` in training mode inside the block and put every BN layer's running
    statistics (and the model's mode) back afterwards: for looking at what training mode
    computes without letting the look change the model."""
    layers = batchnorm_layers(model)
    saved = [(bn.running_mean, bn.running_var, bn.num_batches_tracked) for bn in layers]
    try:
        with train_mode(model):
            yield model
    finally:
        for bn, (mean, var, tracked) in zip(layers, saved):
            bn.running_mean, bn.running_var, bn.num_batches_tracked = mean, var, tracked


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def predict_in_batch(model, x, batchmates):
    """Class probabilities for the single example ``x`` in two modes.

    x: (D,) one example. batchmates: (M, D) the other examples of its batch (M >= 1).
    Returns ``(train_probs, eval_probs)``, each (classes,): the example's softmax output
    when the model runs in training mode on the batch ``[x, *batchmates]`` (batch
    statistics: depends on the batch-mates) and in eval mode on ``x`` alone (running
    statistics: does not). The model's running statistics and mode are left unchanged.
    """
    func = "predict_in_batch"
    x = as_float_array(x, func, "x", "(D,)", ndim=1)
    mates = as_float_array(batchmates, func, "batchmates", f"(M, {x.shape[0]})", ndim=2)
    if mates.shape[1] != x.shape[0] or mates.shape[0] < 1:
        raise ValueError(f"{func}: batchmates has shape {mates.shape}; expected shape "
                         f"(M, {x.shape[0]}) with M >= 1 (x has {x.shape[0]} features)")
    with kept_running_statistics(model):
        train_probs = _softmax(model(np.vstack([x[None], mates])))[0]
    with eval_mode(model):
        eval_probs = _softmax(model(x[None]))[0]
    return train_probs, eval_probs


def dropout_variance_shift(h, p, *, rng):
    """How dropout before a BN layer shifts the variance BN sees (Li et al. 2019).

    h: (N, D) activations that feed dropout. p: the drop probability, 0 <= p < 1. rng: a
    numpy Generator for the dropout mask. Inverted dropout (PyTorch's) keeps each value
    with probability 1 - p and divides it by 1 - p in training mode, and is the identity in
    eval mode. Returns ``(train_var, eval_var)``, each (D,): the per-feature variance of
    the dropout output in training mode (what BN's running variance learns) and in eval
    mode (what BN meets at inference). For a feature with mean mu and variance s2,
    ``train_var = (s2 + p * mu**2) / (1 - p)`` on average, larger than ``eval_var = s2``.
    """
    func = "dropout_variance_shift"
    h = as_float_array(h, func, "h", "(N, D)", ndim=2)
    if not 0.0 <= float(p) < 1.0:
        raise ValueError(f"{func}: p is {p}; expected a drop probability in [0, 1)")
    keep = rng.random(h.shape) >= p
    train_out = h * keep / (1.0 - p)
    return train_out.var(axis=0), h.var(axis=0)


# ---------------------------------------------------------------------------------------------
# Synchronized batch normalization over K simulated workers
# ---------------------------------------------------------------------------------------------

class SyncBatchNormCache(NamedTuple):
    """What :func:`sync_batchnorm_backward` needs: per-worker ``x_hats`` (shapes of the shards),
    the global ``mean``/``var`` (biased)/``inv_std`` (C,), ``gamma`` (C,), the number ``count``
    of values per channel in the whole batch, and ``sent``, the numbers each worker sent
    (all-reduced) per forward pass."""

    x_hats: list
    mean: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    count: int
    sent: int


def _axes(a: np.ndarray) -> tuple:
    return (0,) if a.ndim == 2 else (0, 2, 3)


def _per_channel(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A (C,) vector shaped to broadcast against a (N, C) or (N, C, H, W) array."""
    return v if a.ndim == 2 else v[:, None, None]


def allreduce_sum(values: list) -> np.ndarray:
    """What an all-reduce gives every worker: the sum of the workers' arrays (same shape)."""
    return np.sum(np.stack(values), axis=0)


def _check_shards(shards, func: str, name: str, like=None) -> list:
    if isinstance(shards, np.ndarray) or not isinstance(shards, (list, tuple)) or not shards:
        raise TypeError(f"{func}: {name} is a {type(shards).__name__}; expected a non-empty list "
                        f"of arrays, one per worker, each (N_k, C) or (N_k, C, H, W)")
    out = []
    for k, s in enumerate(shards):
        a = as_float_array(s, func, f"{name}[{k}]", "(N_k, C) or (N_k, C, H, W)", ndim=(2, 4))
        ref = out[0] if out else None
        if like is not None:
            if a.shape != like[k].shape:
                raise ValueError(f"{func}: {name}[{k}] has shape {a.shape}; expected shape "
                                 f"{like[k].shape} (the shape of worker {k}'s forward output)")
        elif ref is not None and (a.ndim != ref.ndim or a.shape[1:] != ref.shape[1:]):
            raise ValueError(f"{func}: {name}[{k}] has shape {a.shape} but {name}[0] has shape "
                             f"{ref.shape}; expected every shard to share the shape after the "
                             f"batch axis, (N_k, {', '.join(map(str, ref.shape[1:]))})")
        out.append(a)
    return out


def sync_batchnorm_forward(shards, gamma, beta, eps=1e-5):
    """Synchronized batch normalization in training mode over K workers.

    shards: a list of K arrays, worker k's part of the batch, each (N_k, C) or
    (N_k, C, H, W) (same C, H, W; N_k may differ). gamma, beta: (C,).

    Each worker sends C numbers (its per-channel sums) to an all-reduce and gets the global
    mean; then C more (its sums of squared deviations from that mean) and gets the global
    biased variance: 2C numbers per worker per forward pass. Every worker then normalizes its
    shard with the statistics of the whole batch. Returns the list of outputs (the shards'
    shapes) and a :class:`SyncBatchNormCache`. Equals :func:`~bnlib.batchnorm_forward` (or
    ``batchnorm2d_forward``) of the concatenated batch up to float rounding.
    """
    func = "sync_batchnorm_forward"
    xs = _check_shards(shards, func, "shards")
    c = xs[0].shape[1]
    dtype = np.result_type(*xs)
    gamma = _check_vector(gamma, func, "gamma", c, dtype, "channel")
    beta = _check_vector(beta, func, "beta", c, dtype, "channel")
    eps = _check_eps(eps, func)
    axes = _axes(xs[0])
    count = sum(int(np.prod([x.shape[i] for i in axes])) for x in xs)
    if count < 2:
        raise ValueError(f"{func}: the whole batch has {count} value per channel; expected at "
                         f"least 2 (a variance needs two values)")
    # all-reduce 1: per-channel sums -> the global mean
    mean = allreduce_sum([x.sum(axis=axes) for x in xs]) / count
    # all-reduce 2: per-channel sums of squared deviations -> the global (biased) variance
    centred = [x - _per_channel(mean, x) for x in xs]
    var = allreduce_sum([(xc * xc).sum(axis=axes) for xc in centred]) / count
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hats = [xc * _per_channel(inv_std, xc) for xc in centred]
    ys = [_per_channel(gamma, xh) * xh + _per_channel(beta, xh) for xh in x_hats]
    cache = SyncBatchNormCache(x_hats, mean, var, inv_std, gamma, count, sent=2 * c)
    return ys, cache


def sync_batchnorm_backward(dys, cache):
    """Backward pass of :func:`sync_batchnorm_forward`.

    dys: a list of K upstream gradients, the shapes of the forward outputs. Each worker sends
    its per-channel ``sum(dy)`` and ``sum(dy * x_hat)`` (2C numbers) to an all-reduce; then

        dx_k = gamma * inv_std * (dy_k - sum(dy) / m - x_hat_k * sum(dy * x_hat) / m)

    with m the number of values per channel in the whole batch. Returns ``(dxs, dgamma,
    dbeta)``: the list of per-worker dx (shard shapes) and dgamma, dbeta (C,), equal to the
    gradients of one big batch.
    """
    func = "sync_batchnorm_backward"
    if not isinstance(cache, SyncBatchNormCache):
        raise TypeError(f"{func}: cache is a {type(cache).__name__}; expected the "
                        f"SyncBatchNormCache returned by sync_batchnorm_forward")
    gs = _check_shards(dys, func, "dys", like=cache.x_hats)
    if len(gs) != len(cache.x_hats):
        raise ValueError(f"{func}: dys has {len(gs)} arrays; expected {len(cache.x_hats)}, one "
                         f"per worker")
    axes = _axes(gs[0])
    dbeta = allreduce_sum([g.sum(axis=axes) for g in gs])
    dgamma = allreduce_sum([(g * xh).sum(axis=axes) for g, xh in zip(gs, cache.x_hats)])
    m = cache.count
    scale = cache.gamma * cache.inv_std
    dxs = [_per_channel(scale, g) * (g - _per_channel(dbeta / m, g)
                                     - xh * _per_channel(dgamma / m, g))
           for g, xh in zip(gs, cache.x_hats)]
    return dxs, dgamma, dbeta


def per_device_statistics(x, workers):
    """The statistics each of K workers would normalize with, per device and synchronized.

    x: (N, C) or (N, C, H, W), the global batch; workers: K, a divisor of N (worker k holds
    rows ``k*N/K ... (k+1)*N/K - 1``). Returns a dict with ``means`` and ``vars`` (K, C):
    each worker's own batch mean and biased variance (per-device BN, i.e. ghost BN with
    ghosts of N/K), ``mean`` and ``var`` (C,): the synchronized statistics of the whole
    batch (what SyncBN gives every worker), and ``shard`` = N/K.
    """
    func = "per_device_statistics"
    a = as_float_array(x, func, "x", "(N, C) or (N, C, H, W)", ndim=(2, 4))
    n = a.shape[0]
    k = int(workers)
    if k != workers or k < 1 or n % k:
        raise ValueError(f"{func}: workers is {workers!r}; expected a divisor of the batch size "
                         f"N = {n} (x has shape {a.shape})")
    shards = np.split(a, k)
    axes = _axes(a)
    if a.size // a.shape[1] // k < 2:
        raise ValueError(f"{func}: {k} workers leave {n // k} row(s) each; per-device BN needs "
                         f"at least 2 values per channel on every worker")
    return {"means": np.stack([s.mean(axis=axes) for s in shards]),
            "vars": np.stack([s.var(axis=axes) for s in shards]),
            "mean": a.mean(axis=axes), "var": a.var(axis=axes), "shard": n // k}


def per_device_spread(x, workers) -> float:
    """How much per-device BN's statistics disagree: the standard deviation of the K workers'
    batch means, in units of the global standard deviation, averaged over the channels
    (0 for one worker). x, workers: as :func:`per_device_statistics`."""
    s = per_device_statistics(x, workers)
    if s["means"].shape[0] == 1:
        return 0.0
    return float(np.mean(s["means"].std(axis=0) / np.sqrt(s["var"])))


def sync_traffic(model, bytes_per_number: int = 4) -> dict:
    """What synchronized BN adds to the communication of one training step.

    model: a bnlib model. Returns a dict: ``bn_layers``, ``bn_numbers`` (2C forward + 2C
    backward per BN layer with C channels, summed), ``gradient_numbers`` (every parameter,
    what data-parallel training all-reduces anyway), ``bn_all_reduces`` (2 per layer
    forward, 1 per layer backward: sync points the step waits for) and both sizes in bytes.
    """
    layers = batchnorm_layers(model)
    bn_numbers = sum(4 * bn.num_features for bn in layers)
    grad_numbers = sum(int(np.size(p)) for p in model.parameters())
    return {"bn_layers": len(layers), "bn_numbers": bn_numbers,
            "gradient_numbers": grad_numbers, "bn_all_reduces": 3 * len(layers),
            "bn_bytes": bn_numbers * bytes_per_number,
            "gradient_bytes": grad_numbers * bytes_per_number}
