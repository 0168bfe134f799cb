"""Batch normalization in NumPy: pure forward/backward functions and thin PyTorch-like modules.

The mathematics lives in pure functions, CS231n style::

    y, cache = batchnorm_forward(x, gamma, beta)        # x: (N, D)
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)

and the bookkeeping (train/eval mode, running statistics, parameters) in the classes
:class:`BatchNorm1d` and :class:`BatchNorm2d`, which mirror ``torch.nn.BatchNorm1d/2d``.

Conventions (the same as PyTorch):

* Training mode normalizes with the batch mean and the *biased* batch variance
  (divide by ``m``, the number of values per feature).
* The running variance is updated with the *unbiased* batch variance (divide by ``m - 1``).
* ``momentum`` weights the new batch: ``running = (1 - momentum) * running + momentum * batch``.
  Keras writes the same update with ``momentum`` weighting the old value, so Keras'
  ``momentum=0.99`` is PyTorch's (and bnlib's) ``momentum=0.01``; see
  :func:`keras_to_torch_momentum`. ``momentum=None`` gives the cumulative (equal-weight) average.

Input rules: ``x`` must be a floating-point array (float32 or float64; the result has the
same dtype, and ``gamma``/``beta`` are cast to it). Integer input is refused with a
``TypeError`` (as PyTorch refuses integer tensors): batch normalization works on real-valued
activations, and silently converting would hide a bug in the caller. Inputs are never
modified in place. NaN or infinite values raise :class:`~bnlib._validation.NonFiniteError`
(a ``ValueError``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._module import Module
from ._validation import NonFiniteError, as_float_array, raise_non_finite, shape_text

__all__ = [
    "BatchNormCache",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_staged",
    "batchnorm2d_forward",
    "batchnorm2d_backward",
    "batchnorm_inference",
    "update_running_stats",
    "keras_to_torch_momentum",
    "BatchNorm1d",
    "BatchNorm2d",
    "NonFiniteError",
]


class BatchNormCache(NamedTuple):
    """What the backward pass needs from the forward pass.

    x_hat: the normalized input, same shape as x ((N, D) or (N, C, H, W)).
    mean, var: the batch mean and biased batch variance per feature/channel, shape (D,) or (C,).
    inv_std: ``1 / sqrt(var + eps)``, shape (D,) or (C,).
    gamma: the scale used in the forward pass (cast to x's dtype), shape (D,) or (C,).
    eps: the constant added to the variance.
    """

    x_hat: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    eps: float


# ---------------------------------------------------------------------------------------------
# Algorithm 1 (Ioffe & Szegedy, 2015), for (N, D) and (N, C, H, W) alike: an image batch is
# seen as (N, C, L) with L = H * W, and each feature/channel is reduced over its m = N * L
# values (axis 0 of (N, D); axes 0 and 2 of (N, C, L)). The inputs are already checked (the
# public functions below do that).
# ---------------------------------------------------------------------------------------------

def _ncl(a: np.ndarray) -> np.ndarray:
    """(N, D) unchanged, (N, C, H, W) as the view (N, C, L) (no copy)."""
    return a if a.ndim == 2 else a.reshape(a.shape[0], a.shape[1], -1)


def _per_feature(p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A (D,) or (C,) vector shaped to broadcast against ``v``: (D,) or (C, 1)."""
    return p if v.ndim == 2 else p[:, None]


def _channel_sum(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Per-feature sum of ``a`` (or of ``a * b``, without allocating the product) over its
    m values. Speed: einsum is about twice as fast as ``sum(axis=(0, 2))`` on (N, C, L)."""
    if a.ndim == 2:
        return np.add.reduce(a, axis=0) if b is None else np.einsum("nd,nd->d", a, b)
    return np.einsum("ncl->c", a) if b is None else np.einsum("ncl,ncl->c", a, b)


def _count(v: np.ndarray) -> int:
    """m, the number of values per feature/channel of ``v``."""
    return v.size // v.shape[1]


def _repair_rounded_mean(centered: np.ndarray, mean: np.ndarray, var: np.ndarray, m: int):
    """Correct the batch mean's rounding error; returns (mean, var), fixes ``centered`` in place.

    Why: the mean of m float32 values is off by about sqrt(m) * eps * (|mean| + std); with
    |mean| >> std (mean 1e4, std 1) that error is a sizeable part of std, and plain NumPy
    misses the float32 large-mean accuracy test by about 28x. The centred data carry the error
    as their own mean ``mc``: subtract it, add it to the mean, and use var = E[c^2] - mc^2.
    Skipped (a no-op) when the estimated error is negligible, e.g. always in float64.
    """
    dt = centered.dtype.type
    std = np.sqrt(var)
    rounding = np.sqrt(m) * np.finfo(dt).eps * (np.abs(mean) + std)
    if not np.any(rounding > 1e-4 * std):
        return mean, var
    mc = _channel_sum(centered) / dt(m)
    centered -= _per_feature(mc, centered)
    return mean + mc, var - mc * mc


def _forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float):
    """Algorithm 1, training mode. Returns y (shape of x) and a BatchNormCache."""
    v = _ncl(x)
    m, dt = _count(v), x.dtype.type
    mean = _channel_sum(v) / dt(m)                               # 1. mini-batch mean
    centered = v - _per_feature(mean, v)                         #    (a new array)
    var = _channel_sum(centered, centered) / dt(m)               # 2. mini-batch variance
    mean, var = _repair_rounded_mean(centered, mean, var, m)
    np.maximum(var, 0, out=var)
    inv_std = 1 / np.sqrt(var + dt(eps))
    x_hat = centered                                             # 3. normalize (in place:
    x_hat *= _per_feature(inv_std, v)                            #    one array less)
    y = x_hat * _per_feature(gamma, v)                           # 4. scale and shift
    y += _per_feature(beta, v)
    cache = BatchNormCache(x_hat.reshape(x.shape), mean, var, inv_std, gamma, eps)
    return y.reshape(x.shape), cache


def _backward(dout: np.ndarray, cache: BatchNormCache):
    """Backward pass of :func:`_forward`: dx (shape of dout), dgamma, dbeta."""
    x_hat, d = _ncl(cache.x_hat), _ncl(dout)
    m, dt = _count(d), d.dtype.type
    dbeta = _channel_sum(d)
    dgamma = _channel_sum(d, x_hat)
    # dx = gamma * inv_std * (dout - dbeta / m - x_hat * dgamma / m), written in four
    # passes over the batch with one new array
    dx = x_hat * _per_feature(dgamma / dt(m), d)
    dx += _per_feature(dbeta / dt(m), d)
    np.subtract(d, dx, out=dx)
    dx *= _per_feature(cache.gamma * cache.inv_std, d)
    return dx.reshape(dout.shape), dgamma, dbeta


def _inference(x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma: np.ndarray,
               beta: np.ndarray, eps: float):
    """Algorithm 1 with fixed statistics (eval mode). Returns y, x_hat, inv_std."""
    v = _ncl(x)
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    x_hat = v - _per_feature(mean, v)
    x_hat *= _per_feature(inv_std, v)
    y = x_hat * _per_feature(gamma, v)
    y += _per_feature(beta, v)
    return y.reshape(x.shape), x_hat.reshape(x.shape), inv_std


def _inference_backward(dout: np.ndarray, cache: BatchNormCache):
    """Backward pass of :func:`_inference`: the statistics are constants."""
    d, x_hat = _ncl(dout), _ncl(cache.x_hat)
    dbeta = _channel_sum(d)
    dgamma = _channel_sum(d, x_hat)
    dx = d * _per_feature(cache.gamma * cache.inv_std, d)
    return dx.reshape(dout.shape), dgamma, dbeta


# ---------------------------------------------------------------------------------------------
# Input checks, used only by the public entry points. kind: "1d" (N, D) or "2d" (N, C, H, W).
# ---------------------------------------------------------------------------------------------

_UNIT = {"1d": "feature", "2d": "channel"}


def _expected(kind: str, n=None) -> str:
    if kind == "1d":
        return f"(N, {n if n is not None else 'D'})"
    return f"(N, {n if n is not None else 'C'}, H, W)"


def _check_x(x, func: str, kind: str, *, training: bool, name: str = "x",
             num_features: int | None = None) -> np.ndarray:
    a = as_float_array(x, func, name, _expected(kind), ndim=2 if kind == "1d" else 4)
    unit = _UNIT[kind]
    if num_features is not None and a.shape[1] != num_features:
        raise ValueError(
            f"{func}: x has shape {a.shape} with {a.shape[1]} {unit}s; expected shape "
            f"{_expected(kind, num_features)} (num_features={num_features})"
        )
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(
            f"{func}: {name} has shape {a.shape}, an empty batch; expected shape "
            f"{_expected(kind, a.shape[1])} with N >= 1 and at least one {unit}"
        )
    m = a.size // a.shape[1]
    if training and m < 2:
        owner = func.split(".")[0]
        if kind == "1d":
            need = f"expected shape (N, {a.shape[1]}) with N >= 2"
        else:
            need = f"expected shape (N, {a.shape[1]}, H, W) with N * H * W >= 2"
        raise ValueError(
            f"{owner} in training mode needs at least 2 samples per {unit}, got a batch of "
            f"{m} ({func}: {name} has shape {a.shape}; {need}). Use eval mode "
            f"(running statistics) for single samples."
        )
    return a


def _check_vector(p, func: str, name: str, n: int, dtype, unit: str) -> np.ndarray:
    a = np.asarray(p)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{func}: {name} has dtype {a.dtype} and shape {a.shape}; expected a float array of "
            f"shape ({n},)"
        )
    if a.shape != (n,):
        raise ValueError(
            f"{func}: {name} has shape {a.shape} but x has {n} {unit}s; expected {name} of "
            f"shape ({n},)"
        )
    a = a.astype(dtype, copy=False)
    if not np.isfinite(a).all():
        raise_non_finite(a, func, name, (n,))
    return a


def _check_eps(eps, func: str) -> float:
    eps = float(eps)
    if not (eps >= 0.0 and np.isfinite(eps)):
        raise ValueError(f"{func}: eps is {eps}; expected a finite number >= 0")
    return eps


def _check_dy(dy, cache, func: str) -> np.ndarray:
    if not isinstance(cache, BatchNormCache):
        raise TypeError(
            f"{func}: cache is a {type(cache).__name__}; expected the BatchNormCache returned "
            f"by the forward pass"
        )
    shape = cache.x_hat.shape
    d = as_float_array(dy, func, "dy", shape, ndim=len(shape))
    if d.shape != shape:
        raise ValueError(
            f"{func}: dy has shape {d.shape}; expected shape {shape_text(shape)} (the shape of "
            f"the forward output)"
        )
    return d.astype(cache.x_hat.dtype, copy=False)


def _checked_forward(x, gamma, beta, eps, func: str, kind: str):
    """Check the arguments of a training-mode forward, then run it."""
    x = _check_x(x, func, kind, training=True)
    n, unit = x.shape[1], _UNIT[kind]
    gamma = _check_vector(gamma, func, "gamma", n, x.dtype, unit)
    beta = _check_vector(beta, func, "beta", n, x.dtype, unit)
    return _run_forward(x, gamma, beta, _check_eps(eps, func), func)


def _run_forward(x, gamma, beta, eps: float, func: str):
    """:func:`_forward`, raising NonFiniteError (naming ``func``) if x held NaN/inf or its
    statistics overflowed: checking the statistics is cheaper than scanning x first."""
    with np.errstate(over="ignore", invalid="ignore"):
        y, cache = _forward(x, gamma, beta, eps)
    if not (np.isfinite(cache.mean).all() and np.isfinite(cache.var).all()):
        raise_non_finite(x, func, "x", x.shape)
    return y, cache


def _checked_backward(dy, cache, func: str, backward=_backward):
    dy = _check_dy(dy, cache, func)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        dx, dgamma, dbeta = backward(dy, cache)
    if not (np.isfinite(dbeta).all() and np.isfinite(dgamma).all()):
        raise_non_finite(dy, func, "dy", dy.shape)
    return dx, dgamma, dbeta


def _checked_stats(x, running_mean, running_var, gamma, beta, eps, func: str, kind: str):
    n, unit = x.shape[1], _UNIT[kind]
    rm = _check_vector(running_mean, func, "running_mean", n, x.dtype, unit)
    rv = _check_vector(running_var, func, "running_var", n, x.dtype, unit)
    if (rv < 0).any():
        raise ValueError(f"{func}: running_var (shape {rv.shape}) has negative entries; expected "
                         f"variances >= 0")
    g = _check_vector(gamma, func, "gamma", n, x.dtype, unit)
    b = _check_vector(beta, func, "beta", n, x.dtype, unit)
    eps = _check_eps(eps, func)
    if not np.isfinite(x).all():
        raise_non_finite(x, func, "x", x.shape)
    return rm, rv, g, b, eps


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Batch normalization in training mode: normalize each feature with the batch statistics,
    then scale by ``gamma`` and shift by ``beta``.

    x: (N, D) mini-batch, float32 or float64, N >= 2.
    gamma, beta: (D,) scale and shift (cast to x's dtype).
    eps: added to the variance before the square root.

    Returns ``y`` (N, D), same dtype as x, and a :class:`BatchNormCache` for
    :func:`batchnorm_backward`. ``y = gamma * (x - mean) / sqrt(var + eps) + beta`` with the
    batch mean and the biased batch variance ``var = mean((x - mean)**2)``, as
    ``torch.nn.functional.batch_norm(..., training=True)``.
    """
    return _checked_forward(x, gamma, beta, eps, "batchnorm_forward", "1d")


def batchnorm_backward(dy, cache):
    """Backward pass of :func:`batchnorm_forward` with the compact formula.

    dy: (N, D) upstream gradient dL/dy. cache: from :func:`batchnorm_forward`.
    Returns dx (N, D), dgamma (D,), dbeta (D,)::

        dbeta  = sum_n dy
        dgamma = sum_n dy * x_hat
        dx     = gamma / (m * sqrt(var + eps)) * (m * dy - dbeta - x_hat * dgamma)

    with m = N. Also accepts a cache from :func:`batchnorm2d_forward` (then m = N * H * W).
    """
    return _checked_backward(dy, cache, "batchnorm_backward")


def batchnorm_backward_staged(dy, cache, return_intermediates=False):
    """Backward pass of :func:`batchnorm_forward`, node by node through the computational graph.

    Gives the same result as :func:`batchnorm_backward` (up to rounding) and is meant for
    reading. The forward graph, per feature, with m values in the batch::

        1 mu    = mean(x)               6 istd  = 1 / std
        2 xmu   = x - mu                7 x_hat = xmu * istd
        3 sq    = xmu ** 2              8 gx    = gamma * x_hat
        4 var   = mean(sq)              9 y     = gx + beta
        5 std   = sqrt(var + eps)

    dy: (N, D) (or (N, C, H, W) with a cache from :func:`batchnorm2d_forward`).
    Returns dx, dgamma, dbeta; with ``return_intermediates=True`` also a dict of the gradient
    at every node (``"dx_hat"``, ``"distd"``, ``"dstd"``, ``"dvar"``, ``"dsq"``, ``"dxmu"``,
    ``"dmu"``, ...).
    """
    dy = _check_dy(dy, cache, "batchnorm_backward_staged")
    x_hat, dout = _ncl(cache.x_hat), _ncl(dy)
    m = _count(dout)
    gamma = _per_feature(cache.gamma, dout)
    std = np.sqrt(cache.var + cache.var.dtype.type(cache.eps))
    xmu = x_hat * _per_feature(std, dout)  # recompute node 2 from the cache
    istd = cache.inv_std
    # 9: y = gx + beta
    dbeta = _channel_sum(dout)
    dgx = dout
    # 8: gx = gamma * x_hat
    dgamma = _channel_sum(dgx * x_hat)
    dx_hat = dgx * gamma
    # 7: x_hat = xmu * istd  (xmu reaches y on two paths; this is the first)
    distd = _channel_sum(dx_hat * xmu)
    dxmu1 = dx_hat * _per_feature(istd, dout)
    # 6: istd = 1 / std
    dstd = -distd / std**2
    # 5: std = sqrt(var + eps)
    dvar = dstd * 0.5 / std
    # 4: var = mean(sq)
    dsq = np.ones_like(dout) * _per_feature(dvar / m, dout)
    # 3: sq = xmu ** 2  (the second path to xmu)
    dxmu2 = 2 * xmu * dsq
    # 2: xmu = x - mu
    dxmu = dxmu1 + dxmu2
    dx1 = dxmu
    dmu = -_channel_sum(dxmu)
    # 1: mu = mean(x)
    dx2 = np.ones_like(dout) * _per_feature(dmu / m, dout)
    dx = (dx1 + dx2).reshape(dy.shape)
    if not return_intermediates:
        return dx, dgamma, dbeta
    shape = dy.shape
    steps = {
        "dbeta": dbeta, "dgamma": dgamma, "dx_hat": dx_hat.reshape(shape), "distd": distd,
        "dstd": dstd, "dvar": dvar, "dsq": dsq.reshape(shape), "dxmu": dxmu.reshape(shape),
        "dmu": dmu, "dx": dx,
    }
    return dx, dgamma, dbeta, steps


def batchnorm2d_forward(x, gamma, beta, eps=1e-5):
    """Per-channel batch normalization of images in training mode.

    x: (N, C, H, W), float32 or float64, N * H * W >= 2. gamma, beta: (C,).
    Statistics are taken over (N, H, W) for each channel, as ``torch.nn.BatchNorm2d``.
    Returns y (N, C, H, W), same dtype as x, and a :class:`BatchNormCache` (mean, var,
    inv_std of shape (C,)).
    """
    return _checked_forward(x, gamma, beta, eps, "batchnorm2d_forward", "2d")


def batchnorm2d_backward(dy, cache):
    """Backward pass of :func:`batchnorm2d_forward`.

    dy: (N, C, H, W). Returns dx (N, C, H, W), dgamma (C,), dbeta (C,); the compact formula
    of :func:`batchnorm_backward` with m = N * H * W values per channel.
    """
    return _checked_backward(dy, cache, "batchnorm2d_backward")


def batchnorm_inference(x, running_mean, running_var, gamma, beta, eps=1e-5):
    """Batch normalization in evaluation mode, with fixed (running) statistics.

    x: (N, D) or (N, C, H, W) (chosen by ``x.ndim``); any N >= 1, including a single sample.
    running_mean, running_var, gamma, beta: (D,) or (C,).
    Returns ``y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta``, same shape
    and dtype as x. Each sample's output depends only on that sample.
    """
    func = "batchnorm_inference"
    a = as_float_array(x, func, "x", "(N, D) or (N, C, H, W)", ndim=(2, 4))
    kind = "1d" if a.ndim == 2 else "2d"
    a = _check_x(a, func, kind, training=False)
    stats = _checked_stats(a, running_mean, running_var, gamma, beta, eps, func, kind)
    return _inference(a, *stats)[0]


def update_running_stats(running_mean, running_var, batch_mean, batch_var_unbiased, momentum):
    """One update of the running statistics, PyTorch convention.

    All arrays: (D,) or (C,). ``momentum`` in [0, 1] weights the new batch::

        new_mean = (1 - momentum) * running_mean + momentum * batch_mean
        new_var  = (1 - momentum) * running_var  + momentum * batch_var_unbiased

    Keras' ``momentum`` weights the *old* value instead: Keras ``momentum=0.99`` equals
    ``momentum=keras_to_torch_momentum(0.99) = 0.01`` here. PyTorch (and bnlib) feed the
    *unbiased* batch variance (divide by m - 1) into ``running_var``.
    Returns new arrays (new_mean, new_var); the inputs are not modified.
    """
    func = "update_running_stats"
    momentum = float(momentum)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"{func}: momentum is {momentum}; expected a number in [0, 1] "
                         f"(PyTorch convention: the weight of the new batch)")
    arrays = {}
    names = ("running_mean", "running_var", "batch_mean", "batch_var_unbiased")
    values = (running_mean, running_var, batch_mean, batch_var_unbiased)
    first = None
    for name, value in zip(names, values):
        a = as_float_array(value, func, name, "(D,)", ndim=1, integers="convert")
        if first is None:
            first = a.shape
        elif a.shape != first:
            raise ValueError(f"{func}: {name} has shape {a.shape}; expected shape "
                             f"{shape_text(first)} (the shape of running_mean)")
        arrays[name] = a
    new_mean = (1 - momentum) * arrays["running_mean"] + momentum * arrays["batch_mean"]
    new_var = (1 - momentum) * arrays["running_var"] + momentum * arrays["batch_var_unbiased"]
    return new_mean, new_var


def keras_to_torch_momentum(m):
    """Convert a Keras ``BatchNormalization(momentum=m)`` to the PyTorch/bnlib convention.

    Keras: ``running = m * running + (1 - m) * batch`` (m weights the old value, default 0.99).
    PyTorch/bnlib: ``running = (1 - momentum) * running + momentum * batch`` (default 0.1).
    So ``momentum = 1 - m``; Keras' 0.99 is 0.01 here. The map is its own inverse.
    """
    m = float(m)
    if not 0.0 <= m <= 1.0:
        raise ValueError(f"keras_to_torch_momentum: m is {m}; expected a number in [0, 1]")
    return 1.0 - m


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

class _BatchNorm(Module):
    """The state around Algorithm 1: parameters, running statistics, train/eval (from Module)."""

    _kind = "1d"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        name = type(self).__name__
        if int(num_features) != num_features or num_features < 1:
            raise ValueError(f"{name}: num_features is {num_features!r}; expected an int >= 1")
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"{name}: momentum is {momentum}; expected a number in [0, 1] or "
                             f"None (PyTorch convention: the weight of the new batch)")
        self.num_features = int(num_features)
        self.eps = _check_eps(eps, name)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        n = self.num_features
        self.gamma = np.ones(n) if affine else None
        self.beta = np.zeros(n) if affine else None
        self.dgamma = np.zeros(n) if affine else None
        self.dbeta = np.zeros(n) if affine else None
        self.running_mean = np.zeros(n)
        self.running_var = np.ones(n)
        self.num_batches_tracked = 0
        self.training = True
        self._cache = None
        self._cache_training = True

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_features}, eps={self.eps}, "
                f"momentum={self.momentum}, affine={self.affine})")

    def parameters(self) -> list:
        """``[gamma, beta]`` (the arrays themselves, updated in place by SGD); [] if not affine."""
        return [self.gamma, self.beta] if self.affine else []

    def gradients(self) -> list:
        """``[dgamma, dbeta]`` from the last :meth:`backward`, aligned with :meth:`parameters`."""
        return [self.dgamma, self.dbeta] if self.affine else []

    def _gamma_beta(self, dtype):
        n = self.num_features
        if self.affine:
            return self.gamma.astype(dtype, copy=False), self.beta.astype(dtype, copy=False)
        return np.ones(n, dtype), np.zeros(n, dtype)

    def _update_running(self, batch_mean, batch_var_unbiased) -> None:
        """The one running-statistics update of every BatchNorm variant (plain, ghost, ...):
        :func:`update_running_stats` with ``momentum``, or ``1 / num_batches_tracked`` (the
        cumulative average) when momentum is None, as PyTorch."""
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean, self.running_var = update_running_stats(
            self.running_mean, self.running_var, batch_mean, batch_var_unbiased, factor)

    def forward(self, x):
        """Normalize x: batch statistics in training mode, running statistics in eval mode.

        Training mode also updates ``running_mean``/``running_var`` (new arrays are assigned,
        so earlier references keep their values) and ``num_batches_tracked``.
        """
        kind = self._kind
        func = f"{type(self).__name__}.forward"
        x = _check_x(x, func, kind, training=self.training, num_features=self.num_features)
        gamma, beta = self._gamma_beta(x.dtype)
        self._cache_training = self.training
        if not self.training:
            stats = _checked_stats(x, self.running_mean, self.running_var, gamma, beta,
                                   self.eps, func, kind)
            y, x_hat, inv_std = _inference(x, *stats)
            self._cache = BatchNormCache(x_hat, self.running_mean, self.running_var, inv_std,
                                         gamma, self.eps)
            return y
        y, self._cache = _run_forward(x, gamma, beta, self.eps, func)
        m = x.size // x.shape[1]
        unbiased = self._cache.var.astype(np.float64) * (m / (m - 1))
        self._update_running(self._cache.mean.astype(np.float64), unbiased)
        return y

    def backward(self, dy):
        """Backward pass of the last :meth:`forward`: returns dx (same shape as x) and stores
        ``dgamma``/``dbeta`` (float64, like the parameters).

        In eval mode the statistics are constants, so ``dx = dy * gamma / sqrt(running_var + eps)``.
        """
        func = f"{type(self).__name__}.backward"
        if self._cache is None:
            raise RuntimeError(f"{func}: call forward(x) before backward(dy)")
        backward = _backward if self._cache_training else _inference_backward
        dx, dgamma, dbeta = _checked_backward(dy, self._cache, func, backward)
        if self.affine:
            self.dgamma = dgamma.astype(np.float64)
            self.dbeta = dbeta.astype(np.float64)
        return dx


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, D) activations, like ``torch.nn.BatchNorm1d`` for 2-D input.

    num_features: D. eps: added to the variance. momentum: weight of the new batch in the
    running statistics (PyTorch convention; Keras' momentum=0.99 is momentum=0.01 here);
    None gives the cumulative average over all batches seen. affine: learn gamma and beta.

    Attributes: ``gamma`` (D,) = 1 and ``beta`` (D,) = 0 at the start (PyTorch calls them
    ``weight`` and ``bias``; None if not affine), ``dgamma``/``dbeta`` after :meth:`backward`,
    ``running_mean`` (D,) = 0, ``running_var`` (D,) = 1 (updated with the unbiased batch
    variance), ``num_batches_tracked``, ``training``.

    Differences from PyTorch: parameters and running statistics are float64 NumPy arrays;
    computations run in the dtype of x (float32 in, float32 out); no ``track_running_stats``
    option (running statistics are always tracked); 3-D (N, C, L) input is not supported.
    """

    _kind = "1d"


class BatchNorm2d(_BatchNorm):
    """Per-channel batch normalization of (N, C, H, W) images, like ``torch.nn.BatchNorm2d``.

    num_features: C. Statistics are taken over (N, H, W); gamma, beta, running_mean,
    running_var have shape (C,). Training needs N * H * W >= 2 (as PyTorch). Everything else
    as :class:`BatchNorm1d`.
    """

    _kind = "2d"


# --------------------------------------------------------------------------------------
# What the chapter 3a and 3b widgets compute: Algorithm 1 step by step on a one-feature
# batch, and a layer's running statistics and outputs in training and eval mode. The
# widgets in bnlib.widgets.algorithm and bnlib.widgets.modes only draw these results.
from functools import lru_cache  # noqa: E402

__all__ += ["MAX_BATCH", "AlgorithmSteps", "algorithm_steps", "algorithm_table",
            "POP_MEAN", "POP_STD", "X_EXAMPLE", "MAX_BATCHES", "CONVENTIONS", "ModeOutputs",
            "training_stream", "running_stats_trajectory", "mode_outputs"]

#: Largest batch the Algorithm 1 explorer offers; smaller batches are the first values.
MAX_BATCH = 64


class AlgorithmSteps(NamedTuple):
    """Every quantity of Algorithm 1 for one feature. Arrays have shape (batch_size,)."""

    x: np.ndarray          # the raw batch
    mean: float            # mu_B
    var: float             # sigma^2_B, biased (divide by m)
    centered: np.ndarray   # x - mu_B
    x_hat: np.ndarray      # (x - mu_B) / sqrt(var + eps)
    y: np.ndarray          # gamma * x_hat + beta
    gamma: float
    beta: float
    eps: float


def _algorithm_sample(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(MAX_BATCH)


def algorithm_steps(batch_size: int = 16, offset: float = 3.0, scale: float = 2.0,
                    gamma: float = 1.0, beta: float = 0.0, eps: float = 1e-5,
                    seed: int = 0) -> AlgorithmSteps:
    """Run Algorithm 1 on the batch ``offset + scale * z[:batch_size]``.

    batch_size: 2..MAX_BATCH examples of one feature. offset, scale: move and stretch the
    raw batch. gamma, beta: the layer's scale and shift. z is a fixed standard-normal
    sample drawn from ``seed``, so the same arguments always give the same batch.
    """
    batch_size = int(batch_size)
    if not 2 <= batch_size <= MAX_BATCH:
        raise ValueError(f"algorithm_steps: batch_size is {batch_size}; expected 2..{MAX_BATCH}")
    x = offset + scale * _algorithm_sample(seed)[:batch_size]
    y, cache = batchnorm_forward(x[:, None], np.array([gamma], float), np.array([beta], float),
                                 eps)
    mean, var = float(cache.mean[0]), float(cache.var[0])
    return AlgorithmSteps(x, mean, var, x - mean, cache.x_hat[:, 0], y[:, 0],
                          float(gamma), float(beta), float(eps))


def algorithm_table(s: AlgorithmSteps, step: int = 4, n_show: int = 5) -> str:
    """The numbers of steps 1..``step`` as plain text (the first ``n_show`` examples)."""
    def row(name, values):
        shown = " ".join(f"{v:7.3f}" for v in values[:n_show])
        more = " ..." if len(values) > n_show else ""
        return f"{name:<12}{shown}{more}"

    lines = [f"batch of m = {len(s.x)}", row("x", s.x)]
    if step >= 1:
        lines.append(f"1 mean       mu = {s.mean:.3f}")
    if step >= 2:
        lines.append(f"2 variance   sigma^2 = {s.var:.3f} (divide by m)")
    if step >= 3:
        lines += [row("  x - mu", s.centered),
                  f"3 normalize  divide by sqrt(sigma^2 + eps) = {np.sqrt(s.var + s.eps):.3f}",
                  row("  x_hat", s.x_hat)]
    if step >= 4:
        lines += [f"4 scale and shift  gamma = {s.gamma:.2f}, beta = {s.beta:.2f}",
                  row("  y", s.y)]
    return "\n".join(lines)



#: The train/eval setting: one hidden unit whose input has population mean POP_MEAN and
#: standard deviation POP_STD; X_EXAMPLE is the example passed through the layer.
POP_MEAN = 3.0
POP_STD = 2.0
X_EXAMPLE = 5.0
MAX_BATCHES = 100
#: convention -> (how momentum maps to the weight of the new batch, ddof of the stored variance)
CONVENTIONS = {"pytorch": ("new", 1), "keras": ("old", 0)}


@lru_cache(maxsize=8)
def _stream(batch_size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    stream = rng.normal(POP_MEAN, POP_STD, size=(MAX_BATCHES, batch_size))
    stream.setflags(write=False)
    return stream


def training_stream(n_batches: int, batch_size: int = 8, seed: int = 0) -> np.ndarray:
    """The first ``n_batches`` training batches, shape (n_batches, batch_size) (read-only)."""
    n_batches = int(n_batches)
    if not 1 <= n_batches <= MAX_BATCHES:
        raise ValueError(f"training_stream: n_batches is {n_batches}; expected 1..{MAX_BATCHES}")
    if int(batch_size) < 2:
        raise ValueError(f"training_stream: batch_size is {batch_size}; expected >= 2")
    return _stream(int(batch_size), int(seed))[:n_batches]


def _new_weight(momentum: float, convention: str) -> tuple[float, int]:
    key = str(convention).lower()
    if key not in CONVENTIONS:
        raise ValueError(f"convention is {convention!r}; expected 'pytorch' or 'keras'")
    momentum = float(momentum)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum is {momentum}; expected a number in [0, 1]")
    which, ddof = CONVENTIONS[key]
    return (momentum if which == "new" else 1.0 - momentum), ddof


def running_stats_trajectory(momentum: float, n_batches: int, convention: str = "pytorch",
                             batch_size: int = 8, seed: int = 0):
    """Running mean and variance after 0, 1, ..., n_batches batches.

    convention "pytorch": ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased batch variance. "keras": ``running = momentum * running + (1 - momentum) * batch``
    with the biased batch variance (as Keras 3's BatchNormalization). Both start at (0, 1).
    Returns two arrays of shape (n_batches + 1,).
    """
    weight, ddof = _new_weight(momentum, convention)
    batches = training_stream(n_batches, batch_size, seed)
    means = np.empty(len(batches) + 1)
    variances = np.empty(len(batches) + 1)
    rm, rv = np.zeros(1), np.ones(1)
    means[0], variances[0] = rm[0], rv[0]
    for i, batch in enumerate(batches, start=1):
        rm, rv = update_running_stats(rm, rv, batch.mean(keepdims=True),
                                      batch.var(ddof=ddof, keepdims=True), weight)
        means[i], variances[i] = rm[0], rv[0]
    return means, variances


class ModeOutputs(NamedTuple):
    """One example's output in each mode (gamma = 1, beta = 0)."""

    running_mean: np.ndarray   # (n_batches + 1,), starting at 0
    running_var: np.ndarray    # (n_batches + 1,), starting at 1
    eval_output: float         # normalized with the final running statistics
    train_outputs: np.ndarray  # (n_batches,): normalized with each training batch it joins
    single_output: float       # a batch of one normalized with its own statistics: beta = 0
    ideal_output: float        # normalized with the population statistics


def mode_outputs(momentum: float, n_batches: int, convention: str = "pytorch",
                 x_example: float = X_EXAMPLE, batch_size: int = 8, seed: int = 0,
                 eps: float = 1e-5) -> ModeOutputs:
    """Train the running statistics on ``n_batches`` batches, then pass ``x_example`` through
    the layer in eval mode, in training mode (replacing the first value of each training
    batch, so it shares the batch with ``batch_size - 1`` others) and as a batch of one."""
    means, variances = running_stats_trajectory(momentum, n_batches, convention, batch_size,
                                                seed)
    one, zero = np.ones(1), np.zeros(1)
    eval_out = batchnorm_inference(np.array([[x_example]], float), means[-1:], variances[-1:],
                                   one, zero, eps)[0, 0]
    batches = np.array(training_stream(n_batches, batch_size, seed))
    batches[:, 0] = x_example
    # Each column of batches.T is one batch: batchnorm_forward normalizes the columns separately.
    y, _ = batchnorm_forward(batches.T, np.ones(len(batches)), np.zeros(len(batches)), eps)
    single = (x_example - x_example) / np.sqrt(0.0 + eps)
    ideal = (x_example - POP_MEAN) / POP_STD
    return ModeOutputs(means, variances, float(eval_out), y[0].copy(), float(single),
                       float(ideal))
