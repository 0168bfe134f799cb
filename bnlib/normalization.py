"""The normalization family in NumPy: layer, group, instance and RMS normalization.

Every member computes the same thing, ``y = gamma * (x - mean) / sqrt(var + eps) + beta``;
they differ only in the axes the mean and variance are taken over. For an image batch
(N, C, H, W) (Wu & He, 2018, Figure 2):

=============  ============================  ===================================
method         statistics over               one mean per
=============  ============================  ===================================
batch norm     (N, H, W)                     channel: shape (C,)
layer norm     (C, H, W)                     example: shape (N,)
instance norm  (H, W)                        example and channel: shape (N, C)
group norm     (C / G channels, H, W)        example and group: shape (N, G)
=============  ============================  ===================================

RMS normalization (Zhang & Sennrich, 2019) is layer norm without the centring:
``y = gamma * x / sqrt(mean(x**2) + eps)``.

None of them uses the batch: each example is normalized by its own statistics, so there are
no running statistics and training and evaluation compute the same function.

Pure functions, CS231n style, as in :mod:`bnlib.batchnorm`::

    y, cache = groupnorm_forward(x, num_groups, gamma, beta)       # x: (N, C, H, W)
    dx, dgamma, dbeta = groupnorm_backward(dy, cache)

and thin modules with PyTorch's names and defaults (:class:`LayerNorm`, :class:`GroupNorm`,
:class:`InstanceNorm2d`, :class:`RMSNorm`) that work like :class:`~bnlib.BatchNorm1d`.

Input rules (the same as :mod:`bnlib.batchnorm`): ``x`` must be float32 or float64 (the result
has the same dtype; gamma and beta are cast to it); integer input raises ``TypeError``; NaN or
infinity raises :class:`~bnlib.NonFiniteError`; inputs are never modified.

All four reduce to one computation: reshape x so that each row holds the values that share a
mean and a variance, normalize the rows, then apply the per-feature (or per-channel) affine.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array, raise_non_finite, shape_text
from .nn import Module

__all__ = [
    "NormCache",
    "normalize_rows",
    "normalize_rows_backward",
    "layernorm_forward",
    "layernorm_backward",
    "groupnorm_forward",
    "groupnorm_backward",
    "instancenorm_forward",
    "instancenorm_backward",
    "rmsnorm_forward",
    "rmsnorm_backward",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm2d",
    "RMSNorm",
    "METHODS_2D",
    "statistics_shape",
    "statistics_mask",
    "statistics_picture",
]


class NormCache(NamedTuple):
    """What the backward pass of a family member needs from its forward pass.

    x_hat: the normalized input (before gamma and beta), same shape as x.
    mean: the mean of each normalization group: shape ``x.shape[:-k] + (1,) * k`` for layer
    norm with a k-dimensional normalized_shape (as PyTorch's ``native_layer_norm``), (N, G)
    for group norm, (N, C) for instance norm; None for RMS norm, which does not centre.
    inv_std: ``1 / sqrt(var + eps)`` (RMS norm: ``1 / sqrt(mean(x**2) + eps)``), shape of mean.
    gamma: the scale used, shaped to broadcast against x, or None (no affine).
    eps: the constant that was added.
    rows: the 2-D shape (rows, values per row) in which every row is one normalization group.
    param_axes: the axes of x that dgamma and dbeta are summed over.
    param_shape: the shape of gamma and beta as the caller gave them.
    center: False for RMS norm.
    """

    x_hat: np.ndarray
    mean: np.ndarray | None
    inv_std: np.ndarray
    gamma: np.ndarray | None
    eps: float
    rows: tuple
    param_axes: tuple
    param_shape: tuple
    center: bool


# ---------------------------------------------------------------------------------------------
# The mathematics: normalize each row of a 2-D view
# ---------------------------------------------------------------------------------------------

def normalize_rows(v, eps, center=True):
    """Normalize each row of ``v`` (R, M) by its own mean and biased variance.

    center=False gives RMS normalization (no mean is subtracted; the "variance" is the mean
    square). Returns ``x_hat`` (R, M), ``mean`` (R,) (None when not centring) and
    ``inv_std`` (R,). ``v`` is not modified. No validation: the public functions check first.
    """
    dt = v.dtype.type
    m = dt(v.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        if center:
            mean = np.add.reduce(v, axis=1) / m
            xc = v - mean[:, None]
        else:
            mean, xc = None, v.copy()
        ms = np.einsum("rm,rm->r", xc, xc) / m
    inv_std = 1 / np.sqrt(ms + dt(eps))
    xc *= inv_std[:, None]
    return xc, mean, inv_std


def normalize_rows_backward(g, x_hat, inv_std, center=True):
    """Gradient through :func:`normalize_rows`: g = dL/dx_hat (R, M) -> dL/dv (R, M).

    ``dv = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))`` per row (without the
    ``mean(g)`` term for RMS normalization). Exact, eps included.
    """
    m = g.shape[1]
    proj = np.einsum("rm,rm->r", g, x_hat) / m
    dv = g - x_hat * proj[:, None]
    if center:
        dv -= (np.add.reduce(g, axis=1) / m)[:, None]
    dv *= inv_std[:, None]
    return dv


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------

def _check_x(x, func, expected, min_ndim):
    a = as_float_array(x, func, "x", expected)
    if a.ndim < min_ndim:
        got = f"{a.ndim} dimension" + ("" if a.ndim == 1 else "s")
        raise ValueError(f"{func}: x has shape {a.shape} ({got}); expected shape {expected} "
                         f"(at least {min_ndim} dimensions)")
    if a.size == 0:
        raise ValueError(f"{func}: x has shape {a.shape}, which is empty; expected shape "
                         f"{expected} with every size >= 1")
    if not np.isfinite(a).all():
        raise_non_finite(a, func, "x", expected)
    return a


def _check_eps(eps, func):
    eps = float(eps)
    if not (eps >= 0.0 and np.isfinite(eps)):
        raise ValueError(f"{func}: eps is {eps}; expected a finite number >= 0")
    return eps


def _check_param(p, func, name, shape, dtype, why):
    if p is None:
        return None
    a = np.asarray(p)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {name} has dtype {a.dtype} and shape {a.shape}; expected a "
                        f"float array of shape {shape_text(shape)}")
    if a.shape != tuple(shape):
        raise ValueError(f"{func}: {name} has shape {a.shape}; expected shape "
                         f"{shape_text(shape)} ({why})")
    a = a.astype(dtype, copy=False)
    if not np.isfinite(a).all():
        raise_non_finite(a, func, name, shape)
    return a


def _normalized_shape(normalized_shape, func):
    if isinstance(normalized_shape, (int, np.integer)):
        shape = (int(normalized_shape),)
    else:
        try:
            shape = tuple(int(s) for s in normalized_shape)
        except TypeError:
            raise TypeError(f"{func}: normalized_shape is {normalized_shape!r}; expected an int "
                            f"or a tuple of ints (the trailing dimensions of x)") from None
    if not shape or min(shape) < 1:
        raise ValueError(f"{func}: normalized_shape is {normalized_shape!r}; expected an int "
                         f">= 1 or a non-empty tuple of ints >= 1")
    return shape


def _check_trailing(x, shape, func):
    k = len(shape)
    if x.ndim < k or tuple(x.shape[-k:]) != shape:
        want = "(*, " + ", ".join(str(s) for s in shape) + ")"
        raise ValueError(f"{func}: x has shape {x.shape} but normalized_shape is {shape}; "
                         f"expected x of shape {want} (its last {k} dimension"
                         f"{'' if k == 1 else 's'} equal to normalized_shape)")


def _check_cache(cache, func):
    if not isinstance(cache, NormCache):
        raise TypeError(f"{func}: cache is a {type(cache).__name__}; expected the NormCache "
                        f"returned by the forward pass")
    return cache


def _check_dy(dy, cache, func):
    shape = cache.x_hat.shape
    d = as_float_array(dy, func, "dy", shape)
    if d.shape != shape:
        raise ValueError(f"{func}: dy has shape {d.shape}; expected shape {shape_text(shape)} "
                         f"(the shape of the forward output)")
    if not np.isfinite(d).all():
        raise_non_finite(d, func, "dy", shape)
    return d.astype(cache.x_hat.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# The shared forward and backward
# ---------------------------------------------------------------------------------------------

def _forward(x, rows, stat_shape, gamma, beta, eps, param_axes, param_shape, center):
    x_hat, mean, inv_std = normalize_rows(x.reshape(rows), eps, center)
    x_hat = x_hat.reshape(x.shape)
    y = x_hat if gamma is None else x_hat * gamma
    if beta is not None:
        y = y + beta
    elif gamma is None:
        y = x_hat.copy()
    cache = NormCache(x_hat, None if mean is None else mean.reshape(stat_shape),
                      inv_std.reshape(stat_shape), gamma, eps, rows, param_axes,
                      param_shape, center)
    return y, cache


def _backward(dy, cache):
    dgamma = (dy * cache.x_hat).sum(axis=cache.param_axes)
    dbeta = dy.sum(axis=cache.param_axes)
    g = dy if cache.gamma is None else dy * cache.gamma
    dx = normalize_rows_backward(g.reshape(cache.rows), cache.x_hat.reshape(cache.rows),
                                 cache.inv_std.reshape(-1), cache.center)
    return (dx.reshape(dy.shape), dgamma.reshape(cache.param_shape),
            dbeta.reshape(cache.param_shape))


def _channel_bc(ndim):
    """The shape that makes a (C,) vector broadcast against ``(N, C, *spatial)``."""
    return (-1,) + (1,) * (ndim - 2)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def layernorm_forward(x, normalized_shape, gamma=None, beta=None, eps=1e-5):
    """Layer normalization: normalize each example over its trailing ``normalized_shape``
    dimensions, then scale by ``gamma`` and shift by ``beta`` elementwise.

    x: ``(*, *normalized_shape)``, e.g. (N, D) with normalized_shape=D, (N, T, D) for a sequence
    (each token normalized on its own) or (N, C, H, W) with normalized_shape=(C, H, W).
    normalized_shape: an int or a tuple, the trailing shape of x.
    gamma, beta: arrays of shape normalized_shape (cast to x's dtype), or None (1 and 0).
    eps: added to the variance.

    Returns y (same shape and dtype as x) and a :class:`NormCache`; the cache's mean and
    inv_std have shape ``x.shape[:-k] + (1,) * k``. Same as
    ``torch.nn.functional.layer_norm(x, normalized_shape, gamma, beta, eps)``.
    """
    func = "layernorm_forward"
    shape = _normalized_shape(normalized_shape, func)
    x = _check_x(x, func, "(*, " + ", ".join(map(str, shape)) + ")", len(shape))
    _check_trailing(x, shape, func)
    why = "normalized_shape"
    gamma = _check_param(gamma, func, "gamma", shape, x.dtype, why)
    beta = _check_param(beta, func, "beta", shape, x.dtype, why)
    k = len(shape)
    lead = x.shape[:-k]
    rows = (int(np.prod(lead, dtype=np.int64)), int(np.prod(shape, dtype=np.int64)))
    return _forward(x, rows, lead + (1,) * k, gamma, beta, _check_eps(eps, func),
                    tuple(range(x.ndim - k)), shape, True)


def layernorm_backward(dy, cache):
    """Backward pass of :func:`layernorm_forward`.

    dy: upstream gradient, the shape of x. Returns dx (shape of x), dgamma and dbeta (shape
    normalized_shape; summed over the leading dimensions; computed even when the forward
    pass had no gamma/beta, as the gradient with respect to gamma = 1, beta = 0).
    """
    func = "layernorm_backward"
    cache = _check_cache(cache, func)
    return _backward(_check_dy(dy, cache, func), cache)


def _grouped_forward(x, g: int, gamma, beta, eps, func: str):
    """Group norm with g groups of channels (instance norm: g = C), x already checked."""
    n, c = x.shape[:2]
    why = f"one value per channel; x has {c} channels"
    gamma = _check_param(gamma, func, "gamma", (c,), x.dtype, why)
    beta = _check_param(beta, func, "beta", (c,), x.dtype, why)
    bc = _channel_bc(x.ndim)
    rows = (n * g, x.size // (n * g))
    axes = (0,) + tuple(range(2, x.ndim))
    return _forward(x, rows, (n, g), None if gamma is None else gamma.reshape(bc),
                    None if beta is None else beta.reshape(bc), _check_eps(eps, func),
                    axes, (c,), True)


def _grouped_backward(dy, cache, func: str):
    cache = _check_cache(cache, func)
    return _backward(_check_dy(dy, cache, func), cache)


def groupnorm_forward(x, num_groups, gamma=None, beta=None, eps=1e-5):
    """Group normalization: split the C channels into ``num_groups`` groups of C / G
    consecutive channels and normalize each (example, group) over its channels and
    positions; then a per-channel affine (Wu & He, 2018).

    x: ``(N, C, *spatial)``, e.g. (N, C, H, W). num_groups: G, must divide C. G = 1 is layer norm
    over (C, H, W); G = C is instance norm. gamma, beta: (C,) or None.
    Returns y (shape and dtype of x) and a :class:`NormCache` with mean and inv_std of shape
    (N, G). Same as ``torch.nn.functional.group_norm(x, num_groups, gamma, beta, eps)``.
    """
    func = "groupnorm_forward"
    x = _check_x(x, func, "(N, C, *)", 2)
    n, c = x.shape[:2]
    if isinstance(num_groups, bool) or int(num_groups) != num_groups or num_groups < 1:
        raise ValueError(f"{func}: num_groups is {num_groups!r}; expected an int >= 1 that "
                         f"divides the number of channels ({c})")
    g = int(num_groups)
    if c % g:
        divisors = [d for d in range(1, c + 1) if c % d == 0]
        raise ValueError(f"{func}: num_groups={g} does not divide the {c} channels of x "
                         f"(shape {x.shape}); expected x of shape (N, C, *) with C divisible "
                         f"by num_groups (for C={c}: num_groups in {divisors})")
    return _grouped_forward(x, g, gamma, beta, eps, func)


def groupnorm_backward(dy, cache):
    """Backward pass of :func:`groupnorm_forward`.

    dy: ``(N, C, *)``. Returns dx ``(N, C, *)``, dgamma (C,) and dbeta (C,) (summed over N and the
    positions).
    """
    return _grouped_backward(dy, cache, "groupnorm_backward")


def instancenorm_forward(x, gamma=None, beta=None, eps=1e-5):
    """Instance normalization: normalize each (example, channel) over its positions
    (Ulyanov et al., 2016); then an optional per-channel affine.

    x: ``(N, C, *spatial)`` with at least one spatial dimension, e.g. (N, C, H, W).
    gamma, beta: (C,) or None (the default of ``torch.nn.InstanceNorm2d``, affine=False).
    Returns y and a :class:`NormCache` with mean and inv_std of shape (N, C). Same as
    ``torch.nn.functional.instance_norm(x, weight=gamma, bias=beta, eps=eps)``.
    """
    func = "instancenorm_forward"
    x = _check_x(x, func, "(N, C, H, W)", 3)
    c = x.shape[1]
    return _grouped_forward(x, c, gamma, beta, eps, func)


def instancenorm_backward(dy, cache):
    """Backward pass of :func:`instancenorm_forward`.

    dy: ``(N, C, *)``. Returns dx ``(N, C, *)``, dgamma (C,) and dbeta (C,).
    """
    return _grouped_backward(dy, cache, "instancenorm_backward")


def rmsnorm_forward(x, normalized_shape, gamma=None, eps=None):
    """RMS normalization (Zhang & Sennrich, 2019): divide each example by the root mean
    square of its trailing ``normalized_shape`` values, without centring, then scale by
    ``gamma``. There is no beta.

    x: ``(*, *normalized_shape)``, e.g. (N, T, D) with normalized_shape=D.
    gamma: shape normalized_shape, or None. eps: added to the mean square; None gives the
    machine epsilon of x's dtype (``np.finfo(x.dtype).eps``), PyTorch's default.
    ``y = gamma * x / sqrt(mean(x**2) + eps)``. Returns y and a :class:`NormCache` (mean is
    None; inv_std has shape ``x.shape[:-k] + (1,) * k``). Same as
    ``torch.nn.functional.rms_norm(x, normalized_shape, gamma, eps)``.
    """
    func = "rmsnorm_forward"
    shape = _normalized_shape(normalized_shape, func)
    x = _check_x(x, func, "(*, " + ", ".join(map(str, shape)) + ")", len(shape))
    _check_trailing(x, shape, func)
    gamma = _check_param(gamma, func, "gamma", shape, x.dtype, "normalized_shape")
    eps = float(np.finfo(x.dtype).eps) if eps is None else _check_eps(eps, func)
    k = len(shape)
    lead = x.shape[:-k]
    rows = (int(np.prod(lead, dtype=np.int64)), int(np.prod(shape, dtype=np.int64)))
    return _forward(x, rows, lead + (1,) * k, gamma, None, eps, tuple(range(x.ndim - k)),
                    shape, False)


def rmsnorm_backward(dy, cache):
    """Backward pass of :func:`rmsnorm_forward`.

    dy: the shape of x. Returns dx (shape of x) and dgamma (shape normalized_shape)::

        dx = gamma * inv_rms * (dy - x_hat * mean(gamma * dy * x_hat))   (per example)
    """
    func = "rmsnorm_backward"
    cache = _check_cache(cache, func)
    dx, dgamma, _ = _backward(_check_dy(dy, cache, func), cache)
    return dx, dgamma


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------

class _Norm(Module):
    """Shared bookkeeping: float64 parameters, gradients, the cache of the last forward."""

    _has_beta = True

    def _init_params(self, shape, affine):
        self.affine = bool(affine)
        self.gamma = np.ones(shape) if affine else None
        self.beta = np.zeros(shape) if affine and self._has_beta else None
        self.dgamma = np.zeros(shape) if affine else None
        self.dbeta = np.zeros(shape) if affine and self._has_beta else None
        self.training = True
        self._cache = None

    def parameters(self) -> list:
        """``[gamma, beta]`` (``[gamma]`` for RMSNorm); [] without affine parameters."""
        return [p for p in (self.gamma, self.beta) if p is not None]

    def gradients(self) -> list:
        """``[dgamma, dbeta]`` from the last :meth:`backward`, aligned with :meth:`parameters`."""
        return [g for g in (self.dgamma, self.dbeta) if g is not None]

    def _params(self, dtype):
        gamma = None if self.gamma is None else self.gamma.astype(dtype, copy=False)
        beta = None if self.beta is None else self.beta.astype(dtype, copy=False)
        return gamma, beta

    def backward(self, dy):
        """Backward pass of the last :meth:`forward`: returns dx (shape of x) and stores
        ``dgamma``/``dbeta`` (float64, like the parameters) when the module is affine."""
        func = f"{type(self).__name__}.backward"
        if self._cache is None:
            raise RuntimeError(f"{func}: call forward(x) before backward(dy)")
        cache = self._cache
        dx, dgamma, dbeta = _backward(_check_dy(dy, cache, func), cache)
        if self.gamma is not None:
            self.dgamma = dgamma.astype(np.float64)
        if self.beta is not None:
            self.dbeta = dbeta.astype(np.float64)
        return dx


def _check_size(value, name, cls):
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{cls}: {name} is {value!r}; expected an int >= 1")
    return int(value)


class LayerNorm(_Norm):
    """Layer normalization, like ``torch.nn.LayerNorm(normalized_shape, eps=1e-5,
    elementwise_affine=True)``.

    normalized_shape: the trailing shape of the input that is normalized (an int D for
    (N, D) or (N, T, D) input; (C, H, W) for images). Attributes: ``gamma`` (ones) and
    ``beta`` (zeros) of shape normalized_shape (PyTorch's ``weight`` and ``bias``; None when
    ``elementwise_affine=False``), ``dgamma``/``dbeta`` after :meth:`backward`.
    forward: x ``(*, *normalized_shape)`` -> same shape. Training and eval mode compute the same
    thing (no running statistics). Differences from PyTorch: float64 NumPy parameters, no
    ``bias=False`` option.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        name = type(self).__name__
        self.normalized_shape = _normalized_shape(normalized_shape, name)
        self.eps = _check_eps(eps, name)
        self.elementwise_affine = bool(elementwise_affine)
        self._init_params(self.normalized_shape, elementwise_affine)

    def __repr__(self) -> str:
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine})")

    def forward(self, x):
        """x: ``(*, *normalized_shape)`` -> y of the same shape and dtype."""
        gamma, beta = self._params(np.asarray(x).dtype if np.asarray(x).dtype.kind == "f"
                                   else np.float64)
        try:
            y, self._cache = layernorm_forward(x, self.normalized_shape, gamma, beta, self.eps)
        except (TypeError, ValueError) as err:
            raise type(err)(str(err).replace("layernorm_forward", "LayerNorm.forward")) from None
        return y


class GroupNorm(_Norm):
    """Group normalization, like ``torch.nn.GroupNorm(num_groups, num_channels, eps=1e-5,
    affine=True)``.

    num_groups: G, must divide num_channels (C). Each example's channels are split into G
    groups of C / G consecutive channels; each group is normalized over its channels and
    positions. Attributes: ``gamma`` (C,) ones and ``beta`` (C,) zeros (per channel, not per
    group), ``dgamma``/``dbeta`` after :meth:`backward`.
    forward: x ``(N, C, *)`` -> same shape. No running statistics (train and eval are the same).
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True):
        name = type(self).__name__
        self.num_groups = _check_size(num_groups, "num_groups", name)
        self.num_channels = _check_size(num_channels, "num_channels", name)
        if self.num_channels % self.num_groups:
            raise ValueError(f"{name}: num_groups={self.num_groups} does not divide "
                             f"num_channels={self.num_channels}; expected num_channels "
                             f"divisible by num_groups")
        self.eps = _check_eps(eps, name)
        self._init_params((self.num_channels,), affine)

    def __repr__(self) -> str:
        return (f"GroupNorm({self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine})")

    def forward(self, x):
        """x: ``(N, num_channels, *)`` -> y of the same shape and dtype."""
        func = "GroupNorm.forward"
        a = _check_x(x, func, f"(N, {self.num_channels}, *)", 2)
        if a.shape[1] != self.num_channels:
            raise ValueError(f"{func}: x has shape {a.shape} with {a.shape[1]} channels; "
                             f"expected shape (N, {self.num_channels}, *) "
                             f"(num_channels={self.num_channels})")
        gamma, beta = self._params(a.dtype)
        y, self._cache = groupnorm_forward(a, self.num_groups, gamma, beta, self.eps)
        return y


class InstanceNorm2d(_Norm):
    """Instance normalization of (N, C, H, W) images, like ``torch.nn.InstanceNorm2d(
    num_features, eps=1e-5, affine=False)``.

    Each (example, channel) is normalized over its H x W positions. With ``affine=True``,
    ``gamma``/``beta`` (C,) are learned; by default there are none (as PyTorch).
    Differences from PyTorch: no running statistics at all (PyTorch has
    ``track_running_stats=False`` by default too, but can track them; there is no
    ``momentum`` here); unbatched (C, H, W) input is not accepted.
    """

    def __init__(self, num_features, eps=1e-5, affine=False):
        name = type(self).__name__
        self.num_features = _check_size(num_features, "num_features", name)
        self.eps = _check_eps(eps, name)
        self._init_params((self.num_features,), affine)

    def __repr__(self) -> str:
        return f"InstanceNorm2d({self.num_features}, eps={self.eps}, affine={self.affine})"

    def forward(self, x):
        """x: (N, num_features, H, W) -> y of the same shape and dtype."""
        func = "InstanceNorm2d.forward"
        expected = f"(N, {self.num_features}, H, W)"
        a = _check_x(x, func, expected, 4)
        if a.ndim != 4 or a.shape[1] != self.num_features:
            raise ValueError(f"{func}: x has shape {a.shape}; expected shape {expected} "
                             f"(num_features={self.num_features})")
        gamma, beta = self._params(a.dtype)
        y, self._cache = instancenorm_forward(a, gamma, beta, self.eps)
        return y


class RMSNorm(_Norm):
    """RMS normalization, like ``torch.nn.RMSNorm(normalized_shape, eps=None,
    elementwise_affine=True)``.

    ``y = gamma * x / sqrt(mean(x**2) + eps)`` over the trailing normalized_shape dimensions.
    eps=None uses the machine epsilon of the input's dtype (PyTorch's default). Attributes:
    ``gamma`` (ones, shape normalized_shape; PyTorch's ``weight``), ``dgamma``; ``beta`` and
    ``dbeta`` are None (RMSNorm has no shift).
    """

    _has_beta = False

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        name = type(self).__name__
        self.normalized_shape = _normalized_shape(normalized_shape, name)
        self.eps = None if eps is None else _check_eps(eps, name)
        self.elementwise_affine = bool(elementwise_affine)
        self._init_params(self.normalized_shape, elementwise_affine)

    def __repr__(self) -> str:
        return (f"RMSNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine})")

    def forward(self, x):
        """x: ``(*, *normalized_shape)`` -> y of the same shape and dtype."""
        dtype = np.asarray(x).dtype
        gamma, _ = self._params(dtype if dtype.kind == "f" else np.float64)
        try:
            y, self._cache = rmsnorm_forward(x, self.normalized_shape, gamma, self.eps)
        except (TypeError, ValueError) as err:
            raise type(err)(str(err).replace("rmsnorm_forward", "RMSNorm.forward")) from None
        return y


# ---------------------------------------------------------------------------------------------
# Which values share a mean: the pure computations behind the chapter's cube widget and
# its shape exercise
# ---------------------------------------------------------------------------------------------

#: The methods of the family on an (N, C, H, W) batch, in the order of Wu & He's Figure 2.
METHODS_2D = ("batch", "layer", "instance", "group")


def _check_method(method, shape, num_groups, func):
    if method not in METHODS_2D:
        raise ValueError(f"{func}: method is {method!r}; expected one of {METHODS_2D}")
    if len(shape) != 4:
        raise ValueError(f"{func}: shape is {tuple(shape)}; expected an (N, C, H, W) shape")
    c = shape[1]
    if method == "group" and (int(num_groups) < 1 or c % int(num_groups)):
        raise ValueError(f"{func}: num_groups={num_groups} does not divide C={c}; expected "
                         f"num_groups in {[d for d in range(1, c + 1) if c % d == 0]}")


def statistics_shape(method, shape, num_groups=1):
    """The shape of the mean (and of the variance) that ``method`` computes for an input of
    ``shape`` (N, C, H, W), without kept dimensions: batch (C,), layer (N,), instance (N, C),
    group (N, num_groups)."""
    _check_method(method, shape, num_groups, "statistics_shape")
    n, c = shape[:2]
    return {"batch": (c,), "layer": (n,), "instance": (n, c),
            "group": (n, int(num_groups))}[method]


def statistics_mask(method, shape, index, num_groups=1):
    """A boolean array of ``shape`` (N, C, H, W): True at the values that share one mean and
    variance with the value at ``index`` (n, c, h, w) under ``method`` (one of
    ``METHODS_2D``; ``num_groups`` for "group"). Its sum is the number of values averaged."""
    func = "statistics_mask"
    _check_method(method, shape, num_groups, func)
    n, c, h, w = (int(s) for s in shape)
    i, j = int(index[0]), int(index[1])
    if not (0 <= i < n and 0 <= j < c):
        raise ValueError(f"{func}: index {tuple(index)} is outside shape {tuple(shape)}")
    example = np.arange(n)[:, None] == i
    channel = np.ones((1, c), bool)
    if method in ("batch", "instance"):
        channel = np.arange(c)[None, :] == j
    elif method == "group":
        size = c // int(num_groups)
        channel = (np.arange(c) // size == j // size)[None, :]
    rows = channel if method == "batch" else example & channel
    return np.broadcast_to(np.broadcast_to(rows, (n, c))[:, :, None, None], (n, c, h, w)).copy()


def statistics_picture(mask, index) -> np.ndarray:
    """The (N, C, H, W) ``mask`` of :func:`statistics_mask` as a 2-D integer picture: one
    column of blocks per example, one row of blocks per channel, each block the H x W
    positions, one blank pixel between blocks. Values: 0 blank, 1 not shared, 2 shares the
    statistics, 3 the block of the chosen value (example ``index[0]``, channel ``index[1]``)."""
    mask = np.asarray(mask, dtype=bool)
    n, c, h, w = mask.shape
    img = np.zeros((c * (h + 1) - 1, n * (w + 1) - 1), dtype=np.int8)
    for i in range(n):
        for j in range(c):
            block = np.where(mask[i, j], 2, 1)
            if (i, j) == (int(index[0]), int(index[1])):
                block = np.where(mask[i, j], 3, 1)
            img[j * (h + 1):j * (h + 1) + h, i * (w + 1):i * (w + 1) + w] = block
    return img
