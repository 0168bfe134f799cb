"""Gamma and beta: the learnable scale and shift of batch normalization (chapter 4).

Pure functions behind the chapter's figures, experiments and widgets:

- how normalization confines a sigmoid to its near-linear regime
  (:func:`saturation_fraction`, :func:`sigmoid_linearity`, :func:`max_standardized_value`);
- the parameters that make the layer return its input (:func:`identity_params`);
- learning gamma and beta by gradient descent on one batch (:func:`train_affine`), with the
  option to freeze either of them, which is what PyTorch's ``affine=False`` and Keras'
  ``center=False`` / ``scale=False`` do;
- the distance readout of the widgets (:func:`rms_distance`).

Conventions follow :mod:`bnlib.batchnorm`: x is (N, D) with one gamma and one beta per
feature (D,), or (N, C, H, W) with one per channel (C,); biased batch variance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .batchnorm import batchnorm_backward, batchnorm_forward
from .nn import sigmoid  # the one sigmoid; re-exported for chapter 4

__all__ = [
    "SATURATION_Z",
    "sigmoid",
    "saturation_fraction",
    "sigmoid_linearity",
    "max_standardized_value",
    "batch_stats",
    "identity_params",
    "rms_distance",
    "Trajectory",
    "train_affine",
    "activation_batch",
]

# sigmoid(z) leaves [0.05, 0.95] exactly when |z| > ln(19) (about 2.94): its slope there is
# under a fifth of the slope at 0. The course calls that region "saturated".
SATURATION_Z = math.log(19.0)


def saturation_fraction(z, threshold: float = SATURATION_Z) -> float:
    """Fraction of the values in ``z`` where the sigmoid is saturated (|z| > threshold)."""
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        raise ValueError("saturation_fraction: z is empty; expected at least one value")
    return float(np.mean(np.abs(z) > threshold))


def sigmoid_linearity(z) -> float:
    """How linear the sigmoid is over the values ``z``: the R^2 of the best straight line.

    Fits sigmoid(z) ~ a * z + b by least squares over the given values and returns
    1 - residual variance / variance of sigmoid(z). 1.0 means the unit acts as a linear map on
    these inputs; a unit that uses its saturation scores well below 1.
    """
    z = np.asarray(z, dtype=float).ravel()
    if z.size < 2 or np.ptp(z) == 0:
        raise ValueError(f"sigmoid_linearity: need at least two distinct values, got {z.size} "
                         "value(s) with no spread")
    s = sigmoid(z)
    slope, intercept = np.polyfit(z, s, 1)
    residual = s - (slope * z + intercept)
    return float(1.0 - residual.var() / s.var())


def max_standardized_value(m: int) -> float:
    """The largest |z| any standardized value can reach in a batch of m: sqrt(m - 1).

    With the biased variance, one value far from m - 1 equal others gives exactly this, so a
    batch of m <= 9 can never push a normalized value past ln(19) into the saturated region.
    """
    if m < 2:
        raise ValueError(f"max_standardized_value: need a batch of at least 2, got m={m}")
    return math.sqrt(m - 1)


def batch_stats(x):
    """Per-feature batch mean and biased variance: axis 0 for (N, D), axes (0, 2, 3) for
    (N, C, H, W). Returns (mean, var), each (D,) or (C,)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        axes = (0,)
    elif x.ndim == 4:
        axes = (0, 2, 3)
    else:
        raise ValueError(f"batch_stats: x has shape {x.shape}; expected (N, D) or (N, C, H, W)")
    return x.mean(axis=axes), x.var(axis=axes)


def identity_params(x, eps: float = 1e-5):
    """The gamma and beta that make batch normalization return ``x`` unchanged.

    gamma = sqrt(var_B + eps) (the scale plays the standard deviation) and beta = mean_B (the
    shift plays the mean), per feature or channel. Returns (gamma, beta).
    """
    mean, var = batch_stats(x)
    return np.sqrt(var + eps), mean


def rms_distance(y, x) -> float:
    """Root-mean-square distance between the layer's output y and its input x (0 = identity)."""
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    if y.shape != x.shape:
        raise ValueError(f"rms_distance: y has shape {y.shape} but x has shape {x.shape}")
    return float(np.sqrt(np.mean((y - x) ** 2)))


@dataclass
class Trajectory:
    """gamma and beta over gradient-descent steps (step 0 = initial values).

    gamma, beta: (steps + 1, D). loss: (steps + 1,), the loss before each update (the last entry
    is the loss of the final parameters). target_gamma, target_beta: (D,), the best answer of
    the task, computed in closed form (for plots and asserts).
    """

    gamma: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    target_gamma: np.ndarray
    target_beta: np.ndarray


def _best_affine(x_hat, target):
    """Least-squares gamma, beta for target ~ gamma * x_hat + beta, per column."""
    xc = x_hat - x_hat.mean(axis=0)
    tc = target - target.mean(axis=0)
    gamma = (xc * tc).sum(axis=0) / (xc * xc).sum(axis=0)
    beta = target.mean(axis=0) - gamma * x_hat.mean(axis=0)
    return gamma, beta


def train_affine(x, target, *, steps: int = 200, lr: float = 0.05, gamma0=None, beta0=None,
                 learn_gamma: bool = True, learn_beta: bool = True,
                 eps: float = 1e-5) -> Trajectory:
    """Learn gamma and beta by gradient descent so that batch norm of x matches ``target``.

    x, target: (N, D), one fixed batch. The loss is 0.5 * mean over samples of the summed squared
    error, so dL/dy = (y - target) / N; dgamma and dbeta come from
    :func:`bnlib.batchnorm.batchnorm_backward`. ``learn_gamma=False`` keeps gamma at gamma0 (like
    Keras' ``scale=False``), ``learn_beta=False`` keeps beta at beta0 (``center=False``); both
    False is PyTorch's ``affine=False``. gamma0/beta0 default to 1 and 0, the usual start.
    """
    x = np.asarray(x, dtype=float)
    target = np.asarray(target, dtype=float)
    if x.ndim != 2 or target.shape != x.shape:
        raise ValueError(f"train_affine: x has shape {x.shape} and target {target.shape}; "
                         "expected the same (N, D) shape for both")
    n, d = x.shape
    gamma = np.ones(d) if gamma0 is None else np.array(gamma0, dtype=float).reshape(d)
    beta = np.zeros(d) if beta0 is None else np.array(beta0, dtype=float).reshape(d)
    gammas, betas, losses = [gamma.copy()], [beta.copy()], []
    for _ in range(steps):
        y, cache = batchnorm_forward(x, gamma, beta, eps)
        losses.append(0.5 * np.sum((y - target) ** 2) / n)
        _, dgamma, dbeta = batchnorm_backward((y - target) / n, cache)
        if learn_gamma:
            gamma = gamma - lr * dgamma
        if learn_beta:
            beta = beta - lr * dbeta
        gammas.append(gamma.copy())
        betas.append(beta.copy())
    y, cache = batchnorm_forward(x, gamma, beta, eps)
    losses.append(0.5 * np.sum((y - target) ** 2) / n)
    best_gamma, best_beta = _best_affine(cache.x_hat, target)
    return Trajectory(np.array(gammas), np.array(betas), np.array(losses), best_gamma, best_beta)


def activation_batch(rng, n: int = 256, means=(3.0, -1.5), stds=(2.0, 0.5)):
    """A batch of pre-activations of a few units with different means and spreads: (n, D)."""
    means = np.asarray(means, dtype=float)
    stds = np.asarray(stds, dtype=float)
    return means + stds * rng.standard_normal((n, means.size))
