"""Checkers for chapter 4 (gamma and beta). Each returns a :class:`Feedback`.

- :func:`check_by_hand`: the gamma and beta that give an output a chosen mean and variance.
- :func:`check_identity`: the widget exercise, reach the identity with the sliders.
- :func:`check_sgd_step`: the coding exercise, one gradient-descent step for gamma and beta.
- :func:`check_affine_false`: what PyTorch's ``affine=False`` removes (multiple choice).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._core import Case, Feedback, check_cases, check_choice

__all__ = [
    "BY_HAND_MEAN",
    "BY_HAND_VAR",
    "check_by_hand",
    "check_identity",
    "reference_sgd_step",
    "check_sgd_step",
    "check_affine_false",
]

# By-hand exercise: the output of one unit should have this mean and variance.
BY_HAND_MEAN = 5.0
BY_HAND_VAR = 4.0


def _as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def check_by_hand(gamma: Any, beta: Any) -> Feedback:
    """The unit's normalized values x_hat have mean 0 and variance 1 (eps neglected). Which
    gamma > 0 and beta make y = gamma * x_hat + beta have mean BY_HAND_MEAN and variance
    BY_HAND_VAR?"""
    g, b = _as_number(gamma), _as_number(beta)
    if g is None or b is None:
        bad = "gamma" if g is None else "beta"
        value = gamma if g is None else beta
        return Feedback(False, f"Not yet: {bad} should be a number.",
                        [f"got {value!r}; replace the placeholder with a number."])
    std = math.sqrt(BY_HAND_VAR)
    close = lambda a, e: math.isclose(a, e, rel_tol=1e-3, abs_tol=1e-6)  # noqa: E731
    if close(g, std) and close(b, BY_HAND_MEAN):
        return Feedback(True, f"Correct: gamma = {g:.4g}, beta = {b:.4g}.",
                        ["gamma scales x_hat, so it sets the standard deviation; beta shifts it, "
                         "so it sets the mean."])
    if close(g, BY_HAND_MEAN) and (close(b, std) or close(b, BY_HAND_VAR)):
        return Feedback(False, "Not yet: you swapped gamma and beta.",
                        ["gamma is the scale: it plays the standard deviation. beta is the shift: "
                         "it plays the mean. (A widely read article gets this backwards.)"])
    details = []
    if close(g, BY_HAND_VAR):
        details.append(f"gamma = {g:.4g} is the variance. gamma multiplies the values, so it "
                       "sets the standard deviation: take the square root.")
    elif close(g, -std):
        details.append("gamma is negative: the spread is right but every value is mirrored "
                       "around the mean. Take gamma > 0.")
    elif not close(g, std):
        direction = "too large" if g > std else "too small"
        details.append(f"gamma = {g:.4g} is {direction}. The output's standard deviation is "
                       "gamma times that of x_hat, which is 1.")
    if close(b, -BY_HAND_MEAN):
        details.append("beta has the wrong sign: y's mean is + beta.")
    elif not close(b, BY_HAND_MEAN):
        direction = "too large" if b > BY_HAND_MEAN else "too small"
        details.append(f"beta = {b:.4g} is {direction}. x_hat has mean 0, so y's mean is beta.")
    wrong = " and ".join(n for n, ok in (("gamma", close(g, std)),
                                          ("beta", close(b, BY_HAND_MEAN))) if not ok)
    return Feedback(False, f"Not yet: {wrong} {'is' if ' and ' not in wrong else 'are'} off.",
                    details)


def check_identity(gamma: Any, beta: Any, *, target_gamma: float, target_beta: float,
                   tol: float = 0.05) -> Feedback:
    """Widget exercise: are the sliders within ``tol`` of the identity (target_gamma =
    sqrt(var_B + eps), target_beta = mean_B)? Says which is off and in which direction."""
    g, b = _as_number(gamma), _as_number(beta)
    if g is None or b is None:
        return Feedback(False, "Not yet: gamma and beta must be numbers.",
                        [f"got gamma={gamma!r}, beta={beta!r}"])
    g_ok = abs(g - target_gamma) <= tol
    b_ok = abs(b - target_beta) <= tol
    if g_ok and b_ok:
        return Feedback(True, f"Correct: gamma = {g:.2f}, beta = {b:.2f} give back the input "
                              f"(each within {tol:g}).",
                        ["gamma equals the batch standard deviation, beta the batch mean."])
    if abs(g - target_beta) <= tol and abs(b - target_gamma) <= tol:
        return Feedback(False, "Not yet: you swapped gamma and beta.",
                        ["gamma (scale) must play the standard deviation and beta (shift) the "
                         "mean, not the other way round."])
    details = []
    if not g_ok:
        if g > target_gamma:
            details.append(f"gamma is too large by {g - target_gamma:.2f}: the output is wider "
                           "than the original. Lower gamma.")
        else:
            details.append(f"gamma is too small by {target_gamma - g:.2f}: the output is "
                           "narrower than the original. Raise gamma.")
    if not b_ok:
        if b > target_beta:
            details.append(f"beta is too large by {b - target_beta:.2f}: the output sits to the "
                           "right of the original. Lower beta.")
        else:
            details.append(f"beta is too small by {target_beta - b:.2f}: the output sits to the "
                           "left of the original. Raise beta.")
    off = " and ".join(n for n, ok in (("gamma", g_ok), ("beta", b_ok)) if not ok)
    return Feedback(False, f"Not yet: {off} {'is' if ' and ' not in off else 'are'} "
                           f"more than {tol:g} away.", details)


def _reduce_axes(ndim: int) -> tuple[int, ...]:
    return (0,) if ndim == 2 else (0, 2, 3)


def reference_sgd_step(gamma, beta, dy, x_hat, lr):
    """One gradient-descent step: dgamma = sum(dy * x_hat), dbeta = sum(dy) over every axis
    except the feature (channel) axis; returns (gamma - lr * dgamma, beta - lr * dbeta)."""
    axes = _reduce_axes(dy.ndim)
    dgamma = np.sum(dy * x_hat, axis=axes)
    dbeta = np.sum(dy, axis=axes)
    return gamma - lr * dgamma, beta - lr * dbeta


def _sgd_cases() -> list[Case]:
    rng = np.random.default_rng(4)
    cases = []
    for name, shape, hint in (
        ("batch of 5 samples, 3 features", (5, 3),
         "gamma and beta come back with shape (3,): one value per feature, summed over the "
         "5 samples (the batch axis, axis 0)."),
        ("square batch, 4 samples x 4 features", (4, 4),
         "with N == D a sum over the wrong axis keeps the right shape; the batch axis is 0."),
        ("images: 2 samples, 3 channels, 2 x 2 pixels", (2, 3, 2, 2),
         "for images (N, C, H, W) every sample and every pixel adds to the channel's "
         "gradient: sum over axes (0, 2, 3), one gamma and one beta per channel, shape (3,)."),
    ):
        d = shape[1]
        dy = rng.standard_normal(shape)
        x_hat = rng.standard_normal(shape)
        gamma = rng.uniform(0.5, 2.0, d)
        beta = rng.standard_normal(d)
        lr = 0.1
        args = (gamma, beta, dy, x_hat, lr)
        cases.append(Case(name, args, reference_sgd_step(*args), hint))
    return cases


def _mistakes(gamma, beta, dy, x_hat, lr) -> dict[str, tuple]:
    """Typical wrong answers for one case, each as the (gamma, beta) it would return."""
    axes = _reduce_axes(dy.ndim)
    n = dy.size // dy.shape[1]
    dg, db = np.sum(dy * x_hat, axis=axes), np.sum(dy, axis=axes)
    out = {
        "wrong sign: you added lr * gradient; gradient descent subtracts it "
        "(gamma - lr * dgamma).": (gamma + lr * dg, beta + lr * db),
        "gamma and beta swapped: dgamma = sum(dy * x_hat) and dbeta = sum(dy), "
        "not the other way round.": (gamma - lr * db, beta - lr * dg),
        "a mean instead of a sum: the gradient of a sum of per-sample terms is a sum over the "
        "batch.": (gamma - lr * dg / n, beta - lr * db / n),
        "summed over every axis (one number for all features): keep one value per feature, "
        "sum over the batch axis only.": (gamma - lr * np.sum(dy * x_hat), beta - lr * np.sum(dy)),
        "forgot the learning rate: multiply the gradient by lr.": (gamma - dg, beta - db),
        "dgamma without x_hat: dgamma = sum(dy * x_hat).": (gamma - lr * db, beta - lr * db),
        "only gamma updated: beta needs its step too.": (gamma - lr * dg, beta),
        "only beta updated: gamma needs its step too.": (gamma, beta - lr * db),
    }
    if dy.ndim == 4:
        pixels = dy.shape[2] * dy.shape[3]
        out["you averaged over the pixels (H x W) instead of summing: every pixel of a channel "
            "adds its own term to that channel's gradient, so sum over axes (0, 2, 3)."] = (
            gamma - lr * dg / pixels, beta - lr * db / pixels)
    if dy.ndim == 2 and dy.shape[0] == dy.shape[1]:
        out["wrong axis: you summed over axis 1 (features); sum over axis 0 (the batch)."] = (
            gamma - lr * np.sum(dy * x_hat, axis=1), beta - lr * np.sum(dy, axis=1))
    return out


def _diagnose_sgd(case: Case, got: Any) -> str | None:
    gamma, beta, dy, x_hat, lr = case.args
    d = gamma.shape[0]
    if isinstance(got, np.ndarray) and got.shape[:1] == (2,) and got.size == 2 * d:
        return (f"you returned one array of shape {got.shape} (np.stack or np.array of the "
                f"two results?); return the two arrays separately: "
                f"`return new_gamma, new_beta`.")
    if isinstance(got, (tuple, list)) and len(got) == 2:
        try:
            g, b = (np.asarray(v, dtype=float) for v in got)
        except (TypeError, ValueError):
            return None
        for part in (g, b):
            if part.shape != (d,) and part.size == d:
                return (f"shape {part.shape} instead of ({d},): the values may be right, but "
                        f"keepdims=True kept the summed axes; drop keepdims (or reshape) so "
                        f"that gamma and beta keep their shape ({d},).")
            if dy.ndim == 4 and part.shape == (d,) + dy.shape[2:]:
                return ("you summed over the samples only: for images the pixels (axes 2 "
                        "and 3) add to the channel's gradient too; sum over axes (0, 2, 3).")
            if part.shape != (d,):
                if part.ndim >= 1 and part.shape[0] == dy.shape[0] and part.shape != (d,):
                    return ("wrong axis: the result has one value per sample; sum over the "
                            "batch axis (axis 0, or (0, 2, 3) for images) to get one per feature.")
                return (f"wrong shape {part.shape}: gamma and beta have one value per feature "
                        f"(channel), shape ({d},). Check the axes of your sums.")
        if np.isnan(g).any() or np.isnan(b).any():
            return "NaN in the result: check for a division or a log in your step."
        for message, (eg, eb) in _mistakes(gamma, beta, dy, x_hat, lr).items():
            if np.allclose(g, eg) and np.allclose(b, eb):
                return message
    return None


def check_sgd_step(learner_fn: Callable[..., Any]) -> Feedback:
    """Coding exercise: ``learner_fn(gamma, beta, dy, x_hat, lr) -> (new_gamma, new_beta)``.

    Runs it on a 1d batch, a square 1d batch (where a sum over the wrong axis keeps its shape)
    and an image batch, and names the typical mistake when a case fails.
    """
    return check_cases(learner_fn, _sgd_cases(), diagnose=_diagnose_sgd)


AFFINE_FALSE_FEEDBACK = {
    "A": "No: the running statistics are controlled by track_running_stats in PyTorch. A layer "
         "with affine=False still keeps running_mean and running_var for inference.",
    "B": "No: removing only beta is Keras' center=False. affine=False removes both gamma and "
         "beta (Keras: center=False and scale=False).",
    "C": "No: the layer still standardizes each feature with the batch mean and variance. "
         "affine=False only removes what comes after.",
    "D": "Yes: without gamma and beta every feature leaves the layer with batch mean 0 and "
         "variance 1. The layer can no longer scale or shift its output, so it cannot represent "
         "the identity (or a saturated sigmoid input) any more.",
}


def check_affine_false(answer: Any) -> Feedback:
    """Conceptual question: what does ``torch.nn.BatchNorm1d(d, affine=False)`` remove?

    A) the running mean and variance used at inference  B) only the shift beta
    C) the normalization itself  D) the learnable per-feature scale gamma and shift beta
    """
    return check_choice(answer, "D", AFFINE_FALSE_FEEDBACK)
