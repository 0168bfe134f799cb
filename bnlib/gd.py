"""Gradient descent on a two-feature least-squares problem: why feature scale matters.

Chapter 2 uses this module to *measure* the claim that unequal feature spreads slow gradient
descent down. The set-up is the smallest one that shows it:

* two features, the first with spread (standard deviation) 1, the second with spread
  ``spread_ratio``; a target ``y`` that depends on both equally once they are standardized;
* a linear model without intercept, ``y_hat = x @ w``, and the mean squared loss
  ``L(w) = ||x @ w - y||^2 / (2 n)``;
* full-batch gradient descent from ``w = 0``: ``w <- w - lr * x.T @ (x @ w - y) / n``.

The loss is a quadratic in ``w`` with Hessian ``H = x.T @ x / n``. Its contours are ellipses
whose axes follow the eigenvectors of ``H``; their elongation is the condition number
``lambda_max / lambda_min`` of ``H`` (the same as that of ``x.T @ x``). Gradient descent
diverges when ``lr > 2 / lambda_max`` and, at a safe ``lr``, needs a number of steps that grows
with the condition number.

Everything here is pure NumPy/Python and fast enough for a widget: a 2 x 2 problem, iterated
with plain floats (no overflow warnings when a run diverges; the run stops instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "QuadraticProblem",
    "two_feature_data",
    "make_problem",
    "steps_to_loss",
    "loss_grid",
    "predicted_steps",
    "steps_vs_ratio",
    "GDRun",
    "explore",
    "best_fixed_lr",
    "contraction",
    "ridge_weights",
    "momentum_steps_to_loss",
]

#: A run counts as diverged once its excess loss exceeds this multiple of the starting one.
DIVERGE_FACTOR = 1e6


def two_feature_data(spread_ratio: float, n: int = 200, seed: int = 0,
                     noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two centred features with spreads 1 and ``spread_ratio`` and a noisy linear target.

    Returns x: (n, 2) and y: (n,). The columns of ``x`` are ``z[:, 0]`` and
    ``spread_ratio * z[:, 1]``, where ``z`` has exactly mean 0 and (population) standard
    deviation 1 per column, so standardizing ``x`` gives back ``z`` for every ratio. The target
    is ``y = z[:, 0] + z[:, 1] + noise * eps``: in raw units the best weights are about
    ``(1, 1 / spread_ratio)``, a small weight for the wide feature.
    """
    if not np.isfinite(spread_ratio) or spread_ratio <= 0:
        raise ValueError(f"two_feature_data: spread_ratio must be a positive number, "
                         f"got {spread_ratio!r}")
    if n < 3:
        raise ValueError(f"two_feature_data: n must be at least 3, got {n}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    y = z[:, 0] + z[:, 1] + noise * rng.standard_normal(n)
    x = z * np.array([1.0, float(spread_ratio)])
    return x, y


@dataclass(frozen=True)
class QuadraticProblem:
    """The least-squares loss ``L(w) = ||x @ w - y||^2 / (2 n)`` of a two-feature linear model.

    hessian: (2, 2), ``x.T @ x / n``. b: (2,), ``x.T @ y / n``. w_star: (2,), the minimiser.
    loss_star: the minimum loss. Build one with :meth:`from_data`.
    """

    hessian: np.ndarray
    b: np.ndarray
    w_star: np.ndarray
    loss_star: float

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray) -> "QuadraticProblem":
        """x: (n, 2) features; y: (n,) targets."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.ndim != 2 or x.shape[1] != 2 or y.shape != (x.shape[0],):
            raise ValueError(f"QuadraticProblem.from_data: expected x of shape (n, 2) and y of "
                             f"shape (n,), got {x.shape} and {y.shape}")
        n = x.shape[0]
        hessian = x.T @ x / n
        b = x.T @ y / n
        w_star = np.linalg.solve(hessian, b)
        loss_star = float(np.sum((x @ w_star - y) ** 2) / (2 * n))
        return cls(hessian, b, w_star, loss_star)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the Hessian, ascending: the curvatures along the ellipses' axes."""
        return np.linalg.eigvalsh(self.hessian)

    @property
    def condition_number(self) -> float:
        """lambda_max / lambda_min of the Hessian (equal to the condition number of x.T @ x)."""
        lo, hi = self.eigenvalues
        return float(hi / lo)

    @property
    def lr_limit(self) -> float:
        """The learning rate above which gradient descent diverges: ``2 / lambda_max``."""
        return float(2.0 / self.eigenvalues[-1])

    def loss(self, w: np.ndarray) -> np.ndarray:
        """The loss at ``w`` of shape (..., 2); returns shape (...)."""
        e = np.asarray(w, dtype=float) - self.w_star
        quad = np.einsum("...i,ij,...j->...", e, self.hessian, e)
        return self.loss_star + 0.5 * quad

    def grad(self, w: np.ndarray) -> np.ndarray:
        """The gradient ``H @ w - b`` at ``w`` of shape (2,)."""
        return self.hessian @ np.asarray(w, dtype=float) - self.b


@lru_cache(maxsize=256)
def make_problem(spread_ratio: float, standardized: bool = False, n: int = 200,
                 seed: int = 0) -> QuadraticProblem:
    """The problem of :func:`two_feature_data`, raw or with both features standardized.

    Cached: widgets call it on every slider move.
    """
    x, y = two_feature_data(spread_ratio, n=n, seed=seed)
    if standardized:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    return QuadraticProblem.from_data(x, y)


def _iterate(problem: QuadraticProblem, lr: float, max_steps: int, w0, target=None,
             keep_path: bool = True):
    """Plain-float gradient descent on the 2 x 2 quadratic (fast, no overflow warnings).

    Returns (path list, excess-loss list, steps to target or None, diverged flag).
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"gradient descent: lr must be a positive number, got {lr!r}")
    (h11, h12), (_, h22) = problem.hessian.tolist()
    s1, s2 = problem.w_star.tolist()
    w1, w2 = (0.0, 0.0) if w0 is None else (float(w0[0]), float(w0[1]))
    e1, e2 = w1 - s1, w2 - s2  # error; the gradient is H @ e
    excess = 0.5 * (h11 * e1 * e1 + 2 * h12 * e1 * e2 + h22 * e2 * e2)
    start = excess
    path = [(w1, w2)] if keep_path else None
    excesses = [excess] if keep_path else None
    reached = 0 if target is not None and excess <= target else None
    diverged = False
    t = 0
    while t < max_steps and reached is None:
        g1 = h11 * e1 + h12 * e2
        g2 = h12 * e1 + h22 * e2
        e1 -= lr * g1
        e2 -= lr * g2
        t += 1
        excess = 0.5 * (h11 * e1 * e1 + 2 * h12 * e1 * e2 + h22 * e2 * e2)
        if keep_path:
            path.append((e1 + s1, e2 + s2))
            excesses.append(excess)
        if not excess <= DIVERGE_FACTOR * max(start, 1e-300):  # also catches inf and NaN
            diverged = True
            break
        if target is not None and excess <= target:
            reached = t
    return path, excesses, reached, diverged


def steps_to_loss(problem: QuadraticProblem, lr: float, target: float,
                  max_steps: int = 200_000, w0: np.ndarray | None = None) -> int | None:
    """Number of gradient-descent steps until the loss is at most ``target``.

    Returns None if the run diverges or has not reached the target after ``max_steps``.
    ``target`` must exceed the minimum loss ``problem.loss_star``.
    """
    if not target > problem.loss_star:
        raise ValueError(f"steps_to_loss: target {target!r} is not above the minimum loss "
                         f"{problem.loss_star:.6g}; no run can reach it")
    _, _, reached, _ = _iterate(problem, lr, int(max_steps), w0,
                                target=target - problem.loss_star, keep_path=False)
    return reached


def loss_grid(problem: QuadraticProblem, w1_range: tuple[float, float],
              w2_range: tuple[float, float], num: int = 60):
    """The loss on a ``num`` x ``num`` grid of weights, for contour plots.

    Returns W1, W2, L, each of shape (num, num) (``np.meshgrid`` convention).
    """
    w1 = np.linspace(*w1_range, num)
    w2 = np.linspace(*w2_range, num)
    W1, W2 = np.meshgrid(w1, w2)
    L = problem.loss(np.stack([W1, W2], axis=-1))
    return W1, W2, L


def predicted_steps(problem: QuadraticProblem, lr: float, delta: float,
                    w0: np.ndarray | None = None) -> float:
    """The step count that the slowest direction alone predicts.

    Along an eigenvector of the Hessian with eigenvalue lam, the error e is multiplied by
    (1 - lr * lam) at every step, so that direction's excess loss lam * e**2 / 2 falls below
    ``delta`` after ln(lam * e**2 / (2 * delta)) / (-2 ln|1 - lr * lam|) steps. The largest
    of these over both directions is returned (inf if some |1 - lr * lam| >= 1, 0 if the
    start is already within ``delta``). With lr = 1 / lambda_max the slow direction's factor
    is 1 - 1 / kappa, so the count grows like kappa / 2 * ln(...): linearly in the condition
    number kappa.
    """
    lams, vecs = np.linalg.eigh(problem.hessian)
    w = np.zeros(2) if w0 is None else np.asarray(w0, dtype=float)
    e = vecs.T @ (w - problem.w_star)
    worst = 0.0
    for lam, ei in zip(lams, e):
        excess = 0.5 * lam * ei**2
        if excess <= delta:
            continue
        factor = abs(1.0 - lr * lam)
        if factor >= 1.0:
            return float("inf")
        if factor == 0.0:
            worst = max(worst, 1.0)
            continue
        worst = max(worst, np.log(excess / delta) / (-2.0 * np.log(factor)))
    return float(worst)


def steps_vs_ratio(ratios, delta: float = 1e-3, lr_rule: float = 1.0, n: int = 200,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """Steps to come within ``delta`` of the minimum loss, raw vs standardized, per ratio.

    Each run uses ``lr = lr_rule / lambda_max`` of its own problem (``lr_rule=1`` is the
    textbook safe step 1/L; divergence starts at 2). Returns a dict of arrays: ``ratio``,
    ``condition_number`` (raw), ``steps_raw``, ``steps_standardized`` (-1 where not reached),
    ``predicted_raw`` (:func:`predicted_steps` for the raw runs).
    """
    out = {"ratio": [], "condition_number": [], "steps_raw": [], "steps_standardized": [],
           "predicted_raw": []}
    for r in ratios:
        for key, std in (("steps_raw", False), ("steps_standardized", True)):
            p = make_problem(float(r), std, n, seed)
            k = steps_to_loss(p, lr_rule / p.eigenvalues[-1], p.loss_star + delta)
            out[key].append(-1 if k is None else k)
        raw = make_problem(float(r), False, n, seed)
        out["ratio"].append(float(r))
        out["condition_number"].append(raw.condition_number)
        out["predicted_raw"].append(predicted_steps(raw, lr_rule / raw.eigenvalues[-1], delta))
    return {k: np.array(v) for k, v in out.items()}


@dataclass
class GDRun:
    """One measured gradient-descent run (what chapter 2's cells, exercise and explorer read).

    path: (k + 1, 2) weights; losses: (k + 1,); steps: steps to reach the target loss or None;
    diverged: whether the run blew up; problem: the problem it ran on; target: the loss target
    (None for a run without one).
    """

    path: np.ndarray
    losses: np.ndarray
    steps: int | None
    diverged: bool
    problem: QuadraticProblem
    target: float | None


def explore(spread_ratio: float, lr: float, standardized: bool = False,
            max_steps: int = 2000, delta: float | None = 1e-3) -> GDRun:
    """Run gradient descent from zeros on ``make_problem(spread_ratio, standardized)``: stop
    at the target loss ``loss_star + delta``, at divergence (the excess loss above 1e6 times
    the starting one) or after ``max_steps`` steps. ``delta=None``: no target, every step
    is taken (then ``steps`` and ``target`` are None)."""
    p = make_problem(float(spread_ratio), bool(standardized))
    path, excesses, reached, diverged = _iterate(p, float(lr), int(max_steps), None,
                                                 target=delta)
    return GDRun(np.array(path), p.loss_star + np.array(excesses), reached, diverged, p,
                 None if delta is None else p.loss_star + delta)


def best_fixed_lr(problem: QuadraticProblem) -> float:
    """The fixed learning rate that makes gradient descent's worst direction shrink fastest.

    Along an eigenvector with eigenvalue lam the error is multiplied by ``1 - lr * lam`` per
    step; the worst factor ``max(|1 - lr * lam_min|, |1 - lr * lam_max|)`` is smallest where
    the two are equal, at ``lr = 2 / (lam_min + lam_max)``. There both directions shrink by
    ``(kappa - 1) / (kappa + 1)`` per step (:func:`contraction`).
    """
    lo, hi = problem.eigenvalues
    return float(2.0 / (lo + hi))


def contraction(problem: QuadraticProblem, lr: float) -> np.ndarray:
    """Per-direction error factors ``|1 - lr * lam|`` of one gradient step, shape (2,).

    Ordered like ``problem.eigenvalues`` (flat direction first, steep second). A factor
    above 1 diverges; a factor between 0 and 1 that comes from ``1 - lr * lam < 0`` is an
    oscillation (the error changes sign every step), which is harmless as long as it is
    below 1. The run's speed is set by the larger factor.
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"contraction: lr must be a positive number, got {lr!r}")
    return np.abs(1.0 - float(lr) * problem.eigenvalues)


def ridge_weights(problem: QuadraticProblem, alpha: float) -> np.ndarray:
    """The minimiser of ``L(w) + alpha / 2 * ||w||**2`` (weight decay / L2 penalty), (2,).

    Solves ``(H + alpha I) w = b``. The penalty treats both weights alike, so what it does to
    the model depends on the features' units: a weight that multiplies a wide feature is small
    and barely penalized. ``alpha`` must be >= 0.
    """
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"ridge_weights: alpha must be a number >= 0, got {alpha!r}")
    return np.linalg.solve(problem.hessian + float(alpha) * np.eye(2), problem.b)


def momentum_steps_to_loss(problem: QuadraticProblem, lr: float, beta: float, target: float,
                           max_steps: int = 200_000) -> int | None:
    """Steps of gradient descent with heavy-ball momentum until the loss is at most ``target``.

    The update is PyTorch's SGD with ``momentum=beta`` (dampening 0): ``v <- beta * v + g``,
    ``w <- w - lr * v``, from ``w = 0``, ``v = 0``. Returns None if the run diverges or has
    not reached the target after ``max_steps``. With ``lr = 4 / (sqrt(lam_min) +
    sqrt(lam_max))**2`` and ``beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))**2`` (Polyak's
    tuning) the error shrinks like ``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)`` per step instead
    of ``(kappa - 1) / (kappa + 1)``.
    """
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"momentum_steps_to_loss: lr must be a positive number, got {lr!r}")
    if not (np.isfinite(beta) and 0 <= beta < 1):
        raise ValueError(f"momentum_steps_to_loss: beta must be in [0, 1), got {beta!r}")
    if not target > problem.loss_star:
        raise ValueError(f"momentum_steps_to_loss: target {target!r} is not above the minimum "
                         f"loss {problem.loss_star:.6g}; no run can reach it")
    h = problem.hessian
    e = -problem.w_star.copy()  # error at w = 0
    v = np.zeros(2)
    gap = float(target - problem.loss_star)
    start = 0.5 * float(e @ h @ e)
    for t in range(1, int(max_steps) + 1):
        v = beta * v + h @ e
        e = e - lr * v
        excess = 0.5 * float(e @ h @ e)
        if not excess <= DIVERGE_FACTOR * max(start, 1e-300):
            return None
        if excess <= gap:
            return t
    return None
