"""The noise that mini-batch statistics put into batch normalization, and two knobs on it.

Pure functions to measure the noise:

- :func:`hidden_unit_population` : one hidden unit's pre-activation over a data set, the
  "feature" whose batch statistics the chapter samples.
- :func:`sample_batch_statistics` : mean and (biased) variance of many random mini-batches.
- :func:`normalized_value_samples` : one fixed example standardized inside many random
  mini-batches that contain it (its output depends on its batch-mates).
- :func:`noise_vs_batch_size` and :func:`loglog_slope` : the spread of the batch statistics
  as a function of the batch size m, and the slope of that curve on log-log axes.

Two variants of batch normalization that change the amount of noise:

- ghost batch normalization (Hoffer et al., 2017): statistics over sub-batches ("ghost
  batches") of a fixed size, :func:`ghost_batchnorm_forward` / :func:`ghost_batchnorm_backward`
  and the module :class:`GhostBatchNorm1d`;
- frozen statistics: :class:`FrozenBatchNorm1d` normalizes with statistics of the whole
  training set during training too, so no example depends on its batch-mates (no batch noise).

Both modules subclass :class:`bnlib.batchnorm.BatchNorm1d` and plug into :mod:`bnlib.nn`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_float_array
from .batchnorm import BatchNorm1d, batchnorm_backward, batchnorm_forward

__all__ = [
    "hidden_unit_population",
    "sample_batch_statistics",
    "normalized_value_samples",
    "noise_vs_batch_size",
    "loglog_slope",
    "train_eval_normalized",
    "GhostBatchNormCache",
    "ghost_batchnorm_forward",
    "ghost_batchnorm_backward",
    "GhostBatchNorm1d",
    "FrozenBatchNorm1d",
    "refresh_frozen_statistics",
]


# --------------------------------------------------------------------------- sampling

def hidden_unit_population(x: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """The pre-activation of one hidden unit, ``x @ w + b``, for every row of ``x``.

    x: (N, D) inputs. The weights w (D,) are drawn like a fresh ``Linear`` layer's
    (uniform in +-1/sqrt(D)) and b = 0. Returns a 1-D array of N values: the population
    a batch normalization layer placed on that unit draws its mini-batches from.
    """
    x = _as_2d_float(x, "hidden_unit_population", "x")
    bound = 1.0 / np.sqrt(x.shape[1])
    w = rng.uniform(-bound, bound, size=x.shape[1])
    return x @ w


def _batch_indices(n: int, m: int, n_batches: int, rng: np.random.Generator,
                   exclude: int | None = None) -> np.ndarray:
    """(n_batches, m) indices; each row is m distinct indices of range(n), without ``exclude``."""
    keys = rng.random((n_batches, n))
    if exclude is not None:
        keys[:, exclude] = np.inf          # never among the m smallest keys
    return np.argpartition(keys, m - 1, axis=1)[:, :m]


def sample_batch_statistics(values: np.ndarray, m: int, n_batches: int, *,
                            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Means and biased variances of ``n_batches`` random mini-batches of size ``m``.

    values: (N,) population of one feature. Each batch is drawn without replacement (as
    in one epoch of shuffled mini-batches). Returns (means, variances), each (n_batches,).
    """
    values = _as_1d_float(values, "sample_batch_statistics")
    _check_batch_size(m, values.size, "sample_batch_statistics", min_m=1)
    batches = values[_batch_indices(values.size, m, n_batches, rng)]
    return batches.mean(axis=1), batches.var(axis=1)


def normalized_value_samples(values: np.ndarray, index: int, m: int, n_batches: int, *,
                             rng: np.random.Generator, eps: float = 1e-5) -> np.ndarray:
    """Example ``values[index]`` standardized inside ``n_batches`` random batches of size m.

    Each batch holds the example and m - 1 batch-mates drawn without replacement from the
    rest. Returns (n_batches,) values of x_hat = (x - mu_B) / sqrt(sigma2_B + eps).
    """
    values = _as_1d_float(values, "normalized_value_samples")
    _check_batch_size(m, values.size, "normalized_value_samples", min_m=2)
    mates = values[_batch_indices(values.size, m - 1, n_batches, rng, exclude=index)]
    x = values[index]
    batch = np.concatenate([np.full((n_batches, 1), x), mates], axis=1)
    return (x - batch.mean(axis=1)) / np.sqrt(batch.var(axis=1) + eps)


def noise_vs_batch_size(values: np.ndarray, sizes, n_batches: int, *,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Spread (standard deviation across batches) of the batch mean and variance per size.

    Returns a dict of arrays aligned with ``sizes``: ``m``, ``std_mean``, ``std_var``, and
    the predictions ``pred_mean`` = sigma / sqrt(m) and ``pred_var`` =
    sqrt((mu4 - sigma^4) / m) (large-m laws for independent draws), and ``fpc`` =
    sqrt((N - m) / (N - 1)), the finite-population correction: batches drawn without
    replacement from N values scatter by ``fpc`` times less.
    """
    values = _as_1d_float(values, "noise_vs_batch_size")
    sizes = np.asarray(sizes, dtype=int)
    std_mean, std_var = [], []
    for m in sizes:
        means, variances = sample_batch_statistics(values, int(m), n_batches, rng=rng)
        std_mean.append(means.std())
        std_var.append(variances.std())
    centred = values - values.mean()
    sigma2, mu4 = np.mean(centred ** 2), np.mean(centred ** 4)
    return {
        "m": sizes,
        "std_mean": np.array(std_mean),
        "std_var": np.array(std_var),
        "pred_mean": np.sqrt(sigma2 / sizes),
        "pred_var": np.sqrt((mu4 - sigma2 ** 2) / sizes),
        "fpc": np.sqrt((values.size - sizes) / (values.size - 1)),
    }


def loglog_slope(m, spread) -> float:
    """Least-squares slope of log(spread) against log(m): -1/2 for a 1/sqrt(m) law."""
    slope, _ = np.polyfit(np.log(np.asarray(m, float)), np.log(np.asarray(spread, float)), 1)
    return float(slope)


def train_eval_normalized(values: np.ndarray, m: int, n_batches: int, *,
                          rng: np.random.Generator, eps: float = 1e-5) -> dict[str, np.ndarray]:
    """x_hat of one feature as training mode and as eval mode compute it, for batch size m.

    Training mode: ``n_batches`` random batches of m values, each standardized with its own
    mean and biased variance. Eval mode: every value standardized with the running
    statistics these batches lead to, the average batch mean and the average *unbiased*
    batch variance (what the moving average of PyTorch and bnlib converges to).
    Returns ``train`` (n_batches, m), ``eval`` (N,), ``running_mean``, ``running_var``.
    """
    values = _as_1d_float(values, "train_eval_normalized")
    _check_batch_size(m, values.size, "train_eval_normalized", min_m=2)
    batches = values[_batch_indices(values.size, m, n_batches, rng)]
    mean = batches.mean(axis=1, keepdims=True)
    var = batches.var(axis=1, keepdims=True)
    train = (batches - mean) / np.sqrt(var + eps)
    running_mean = float(mean.mean())
    running_var = float(batches.var(axis=1, ddof=1).mean())
    return {"train": train, "eval": (values - running_mean) / np.sqrt(running_var + eps),
            "running_mean": running_mean, "running_var": running_var}


# --------------------------------------------------------------------------- ghost BN

class GhostBatchNormCache(NamedTuple):
    """What :func:`ghost_batchnorm_backward` needs: one BatchNormCache per ghost batch."""

    caches: list
    ghost_size: int


def ghost_batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                            ghost_size: int, eps: float = 1e-5):
    """Batch normalization with statistics over consecutive sub-batches ("ghost batches").

    x: (N, D) mini-batch with N a multiple of ``ghost_size``. Rows ``0..g-1`` form the first
    ghost batch, rows ``g..2g-1`` the second, and so on (g = ghost_size); each is normalized
    with its own mean and biased variance by :func:`bnlib.batchnorm.batchnorm_forward`.
    gamma, beta: (D,), shared by all ghost batches. Returns y: (N, D) and the cache.
    With ghost_size = N this is ordinary batch normalization.
    """
    name = "ghost_batchnorm_forward"
    x = _as_2d_float(x, name, "x")
    n = x.shape[0]
    if isinstance(ghost_size, bool) or not isinstance(ghost_size, (int, np.integer)):
        raise TypeError(f"{name}: ghost_size must be an int, got {type(ghost_size).__name__}")
    if ghost_size < 2:
        raise ValueError(f"{name}: ghost_size must be at least 2 (a batch of 1 has no "
                         f"variance), got {ghost_size}")
    if n % ghost_size:
        raise ValueError(f"{name}: the batch size {n} (x has shape {x.shape}) is not a "
                         f"multiple of ghost_size={ghost_size}")
    outs, caches = [], []
    for start in range(0, n, ghost_size):
        y, cache = batchnorm_forward(x[start:start + ghost_size], gamma, beta, eps)
        outs.append(y)
        caches.append(cache)
    return np.concatenate(outs, axis=0), GhostBatchNormCache(caches, int(ghost_size))


def ghost_batchnorm_backward(dy: np.ndarray, cache: GhostBatchNormCache):
    """Gradients of ghost batch normalization: (dx (N, D), dgamma (D,), dbeta (D,)).

    Each ghost batch is an independent batch normalization, so dx is the ordinary
    backward pass per ghost batch; dgamma and dbeta add up over ghost batches.
    """
    g = cache.ghost_size
    expected = (g * len(cache.caches), cache.caches[0].x_hat.shape[1])
    dy = as_float_array(dy, "ghost_batchnorm_backward", "dy", expected, ndim=2)
    if dy.shape != expected:
        raise ValueError(f"ghost_batchnorm_backward: dy has shape {dy.shape}, expected "
                         f"{expected} (the shape of the forward output)")
    dxs, dgamma, dbeta = [], 0.0, 0.0
    for i, c in enumerate(cache.caches):
        dx, dg, db = batchnorm_backward(dy[i * g:(i + 1) * g], c)
        dxs.append(dx)
        dgamma = dgamma + dg
        dbeta = dbeta + db
    return np.concatenate(dxs, axis=0), dgamma, dbeta


class GhostBatchNorm1d(BatchNorm1d):
    """:class:`~bnlib.batchnorm.BatchNorm1d` whose training statistics come from ghost batches.

    ghost_size: rows per ghost batch; a training batch must be a multiple of it. In eval
    mode the layer behaves exactly like BatchNorm1d (running statistics). Running statistics
    are updated once per training batch with the mean of the ghost batches' means and the
    mean of their unbiased variances.
    """

    def __init__(self, num_features: int, ghost_size: int, eps: float = 1e-5,
                 momentum: float | None = 0.1, affine: bool = True):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=affine)
        self.ghost_size = int(ghost_size)
        self._ghost_cache = None

    def forward(self, x):
        if not self.training:
            self._ghost_cache = None
            return super().forward(x)
        gamma, beta = self._gamma_beta(np.float64)
        y, cache = ghost_batchnorm_forward(x, gamma, beta, self.ghost_size, self.eps)
        self._ghost_cache = cache
        g = self.ghost_size
        mean = np.mean([c.mean for c in cache.caches], axis=0)
        var_unbiased = np.mean([c.var for c in cache.caches], axis=0) * g / (g - 1)
        self._update_running(mean, var_unbiased)
        return y

    def backward(self, dy):
        if self._ghost_cache is None:
            return super().backward(dy)
        dx, dgamma, dbeta = ghost_batchnorm_backward(dy, self._ghost_cache)
        if self.affine:
            self.dgamma, self.dbeta = dgamma, dbeta
        return dx


# --------------------------------------------------------------------------- frozen BN

class FrozenBatchNorm1d(BatchNorm1d):
    """:class:`~bnlib.batchnorm.BatchNorm1d` that normalizes with fixed statistics in training.

    During training the layer uses ``running_mean`` / ``running_var`` (as in eval mode), so
    an example's output does not depend on its batch-mates: batch normalization without the
    batch noise. The statistics are constants for the backward pass; gamma and beta still
    learn. Set them from the whole training set with :func:`refresh_frozen_statistics`
    (the experiment does so before every step, so they follow the changing weights).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True):
        super().__init__(num_features, eps=eps, momentum=momentum, affine=affine)
        self.collecting = False

    def forward(self, x):
        if self.collecting:  # a pass over the whole training set: measure, store, then use
            x = np.asarray(x)
            if x.ndim != 2 or x.shape[0] < 2:
                raise ValueError(f"FrozenBatchNorm1d.forward: collecting statistics needs x of "
                                 f"shape (N, {self.num_features}) with N >= 2, got {x.shape}")
            self.running_mean = x.mean(axis=0).astype(np.float64)
            self.running_var = x.var(axis=0, ddof=1).astype(np.float64)
        if not self.training:
            return super().forward(x)
        # Training: BatchNorm1d's eval-mode computation (fixed statistics, treated as
        # constants by backward), while gamma and beta keep learning.
        self.training = False
        try:
            return super().forward(x)
        finally:
            self.training = True


def refresh_frozen_statistics(model, x: np.ndarray) -> None:
    """Set every FrozenBatchNorm1d in ``model`` to the statistics of ``x`` at its input.

    Runs one forward pass of ``x`` (the whole training set) with the frozen layers in
    collecting mode; the model's train/eval mode is left as it was.
    """
    frozen = [m for m in _walk(model) if isinstance(m, FrozenBatchNorm1d)]
    for layer in frozen:
        layer.collecting = True
    try:
        model.forward(x)
    finally:
        for layer in frozen:
            layer.collecting = False


# --------------------------------------------------------------------------- helpers

def _walk(model):
    """The model itself and every module inside it (Sequential supports iteration)."""
    yield model
    try:
        children = list(iter(model))
    except TypeError:
        return
    for child in children:
        if child is not model:
            yield from _walk(child)


def _as_1d_float(values, func: str) -> np.ndarray:
    """values as a 1-D float array (one feature); integers are refused, as in batchnorm.py."""
    return as_float_array(values, func, "values", "(N,)", ndim=1)


def _as_2d_float(x, func: str, name: str) -> np.ndarray:
    """x as a 2-D (N, D) float array; integers are refused, as in batchnorm.py."""
    return as_float_array(x, func, name, "(N, D)", ndim=2)


def _check_batch_size(m, n: int, func: str, min_m: int) -> None:
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
        raise TypeError(f"{func}: m must be an int, got {type(m).__name__}")
    if not min_m <= m <= n:
        raise ValueError(f"{func}: batch size m must be between {min_m} and {n} "
                         f"(the population size, values has shape ({n},)), got {m}")
