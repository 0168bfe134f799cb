"""Exercise checkers for chapter 3 (the batch normalization algorithm; training vs. inference).

Every checker returns a :class:`~bnlib.exercises.Feedback`. The coding checkers run the
learner's function on a few cases and, when a case fails, compare the answer with the
results of the usual mistakes (wrong axis, unbiased variance, missing eps, wrong sign, ...)
so the feedback can name the mistake instead of only printing two arrays.

- :func:`check_batchnorm_forward`: ``batchnorm_forward(x, gamma, beta, eps=1e-5) -> y``
  (returning ``(y, cache)`` is accepted too).
- :func:`check_batchnorm_backward`: ``batchnorm_backward(dy, cache) -> (dx, dgamma, dbeta)``
  with ``cache`` a :class:`bnlib.batchnorm.BatchNormCache`; checked against numerical
  gradients.
- :func:`check_batchnorm2d_backward`: the same for images, ``(N, C, H, W)`` batches with
  per-channel statistics over ``(N, H, W)``.
- :func:`check_gradient_check`: ``gradient_check(forward, backward, x, gamma, beta, rng)
  -> largest relative error of dx, dgamma, dbeta``; it must pass a correct backward pass and
  catch three wrong ones, which an all-ones upstream gradient cannot do.
- :func:`check_running_stats`: running mean and variance after :data:`RUNNING_STATS_BATCHES`
  for the PyTorch or Keras convention.
- :func:`check_keras_equivalent`: the widget exercise of the train/eval widget.
- :func:`check_eval_mode`: the conceptual question on forgetting eval mode.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._core import Case, Feedback, answer_array, check_cases, check_choice, check_number

__all__ = [
    "check_batchnorm_forward",
    "check_batchnorm_backward",
    "check_batchnorm2d_backward",
    "check_gradient_check",
    "RUNNING_STATS_BATCHES",
    "running_stats_by_hand",
    "check_running_stats",
    "check_keras_equivalent",
    "check_eval_mode",
]

_EPS = 1e-5


# --------------------------------------------------------------------------- forward pass

def _forward_variant(x, gamma, beta, eps=_EPS, *, axis=0, ddof=0, eps_mode="inside",
                     sign=1.0, affine="normal"):
    """Batch normalization with one deliberate mistake switched on (defaults: correct)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = x.mean(axis=axis, keepdims=True)
        var = x.var(axis=axis, ddof=ddof, keepdims=True)
        if eps_mode == "inside":
            x_hat = (x - mean) / np.sqrt(var + eps)
        elif eps_mode == "none":
            x_hat = (x - mean) / np.sqrt(var)
        elif eps_mode == "outside":
            x_hat = (x - mean) / (np.sqrt(var) + eps)
        elif eps_mode == "no_sqrt":
            x_hat = (x - mean) / (var + eps)
        else:  # pragma: no cover - programming error
            raise ValueError(eps_mode)
    x_hat = sign * x_hat
    if affine == "normal":
        return gamma * x_hat + beta
    if affine == "swapped":
        return beta * x_hat + gamma
    return x_hat


_FORWARD_MISTAKES = [
    (dict(axis=1), "wrong axis: you averaged over axis=1 (the features of one example) instead "
                   "of axis=0 (the examples of one feature). Use x.mean(axis=0)."),
    (dict(axis=None), "wrong axis: you used one mean and variance for the whole array; every "
                      "feature needs its own statistics over the batch (axis=0)."),
    (dict(ddof=1), "unbiased variance: you divided by m - 1 (ddof=1). Algorithm 1 normalizes "
                   "with the biased variance, the mean squared deviation (np.var's default "
                   "ddof=0)."),
    (dict(eps_mode="none"), "missing eps: add eps to the variance inside the square root, "
                            "np.sqrt(var + eps)."),
    (dict(eps_mode="outside"), "eps in the wrong place: it belongs inside the square root, "
                               "np.sqrt(var + eps), not added to the standard deviation."),
    (dict(eps_mode="no_sqrt"), "missing square root: divide by the standard deviation "
                               "np.sqrt(var + eps), not by the variance."),
    (dict(sign=-1.0), "wrong sign: normalize with x - mean, not mean - x."),
    (dict(affine="swapped"), "gamma and beta swapped: gamma scales (multiplies x_hat) and "
                             "beta shifts (is added)."),
    (dict(affine="none"), "missing scale and shift: you returned x_hat; the layer's output is "
                          "gamma * x_hat + beta."),
]


def _forward_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    small = np.array([[1.0, 50.0, 2.0], [3.0, 30.0, 2.5], [5.0, 90.0, 1.0], [7.0, 70.0, 0.5]])
    x2 = rng.normal(4.0, 3.0, size=(6, 3))
    g2, b2 = np.array([2.0, 0.5, -1.5]), np.array([1.0, -2.0, 0.25])
    constant = np.array([[1.0, 2.0], [3.0, 2.0], [8.0, 2.0], [4.0, 2.0], [9.0, 2.0]])
    g3, b3 = np.array([1.5, 1.5]), np.array([0.5, 0.5])
    tiny = np.column_stack([rng.normal(0.0, 1e-3, 8), rng.normal(5.0, 2.0, 8)])
    g4, b4 = np.array([0.7, 1.2]), np.array([-0.3, 0.4])
    spec = [
        ("a 4 x 3 batch, gamma = 1, beta = 0", small, np.ones(3), np.zeros(3), ""),
        ("a 6 x 3 batch with gamma and beta", x2, g2, b2,
         "y = gamma * x_hat + beta, one gamma and one beta per feature (column)."),
        ("a constant feature", constant, g3, b3,
         "a constant feature has variance 0; eps keeps the division finite and x_hat = 0."),
        ("a feature with a tiny variance", tiny, g4, b4,
         "here the variance is close to eps, so where eps goes matters."),
    ]
    cases = [Case(name, (x, g, b), _forward_variant(x, g, b), hint)
             for name, x, g, b, hint in spec]
    cases.append(Case("the tiny-variance batch with eps=0.1 passed as a keyword", (tiny, g4, b4),
                      _forward_variant(tiny, g4, b4, eps=0.1),
                      "use the eps argument your function receives, not a fixed 1e-5.",
                      kwargs={"eps": 0.1}))
    return cases


def _diagnose_forward(case: Case, got: Any) -> str | None:
    x, gamma, beta = case.args
    eps = case.kwargs.get("eps", _EPS)
    g = answer_array(got)
    if g is None:
        return None
    if eps != _EPS and g.shape == x.shape and np.allclose(g, _forward_variant(x, gamma, beta)):
        return (f"your function ignores its eps argument: with eps={eps:g} it returned the "
                f"result for eps=1e-5.")
    if g.shape == (x.shape[1],):
        return "you returned one number per feature (a statistic?), not the normalized batch."
    if g.shape == (x.shape[0],):
        return "you returned one number per example: wrong axis (reduce over axis=0 only)."
    if g.shape != x.shape:
        return None
    if np.isnan(g).any():
        return ("NaN: a constant feature has variance 0 and 0 / 0 is NaN. Missing eps: use "
                "np.sqrt(var + eps).")
    for kwargs, message in _FORWARD_MISTAKES:
        variant = _forward_variant(x, gamma, beta, eps, **kwargs)
        if variant.shape == g.shape and np.allclose(g, variant, rtol=1e-6, atol=1e-8,
                                                    equal_nan=True):
            return message
    return None


def _wrong_axis_on_exception(feedback: Feedback) -> Feedback:
    if not feedback.correct and "raised" in feedback.title and any(
            "broadcast" in d for d in feedback.details):
        feedback.details.append(
            "likely mistake: wrong axis. Statistics over axis=1 give one number per example, "
            "which cannot be subtracted from the (N, D) batch; reduce over axis=0 (or use "
            "keepdims=True and check the axis).")
    return feedback


def _first_of_pair(fn: Callable) -> Callable:
    """Accept ``(y, cache)`` as well as ``y`` from the learner's forward function."""
    def wrapped(x, *args, **kwargs):
        out = fn(x, *args, **kwargs)
        if isinstance(out, tuple) and len(out) == 2 and np.shape(out[0]) == np.shape(x):
            return out[0]
        return out
    return wrapped


def check_batchnorm_forward(learner_fn: Callable) -> Feedback:
    """Check ``batchnorm_forward(x, gamma, beta, eps=1e-5) -> y`` (x: (N, D); gamma, beta: (D,))."""
    if not callable(learner_fn):
        return check_cases(learner_fn, [])
    feedback = check_cases(_first_of_pair(learner_fn), _forward_cases(),
                           diagnose=_diagnose_forward)
    return _wrong_axis_on_exception(feedback)


# -------------------------------------------------------------------------- backward pass

def _safe_inv_sqrt(var):
    with np.errstate(divide="ignore"):
        return 1 / np.sqrt(var)


def _backward_mistakes(dy, x, cache):
    """(name, (dx, dgamma, dbeta), message) for the usual mistakes in the backward pass."""
    x_hat, inv_std, gamma = cache.x_hat, cache.inv_std, cache.gamma
    m, sum_dy, sum_dy_xhat = dy.shape[0], dy.sum(axis=0), (dy * x_hat).sum(axis=0)
    dx = gamma * inv_std / m * (m * dy - sum_dy - x_hat * sum_dy_xhat)
    dgamma, dbeta = sum_dy_xhat, sum_dy
    return [
        ((-dx, dgamma, dbeta), "wrong sign in dx: the gradient points the other way."),
        ((gamma * inv_std * dy, dgamma, dbeta),
         "you treated the mean and variance as constants (dx = gamma * dy / std). They depend "
         "on every x in the batch; add the paths through the variance and the mean."),
        ((gamma * inv_std * (dy - sum_dy / m), dgamma, dbeta),
         "missing the path through the variance: the term - x_hat * sum(dy * x_hat) / m."),
        ((gamma * inv_std * (dy - x_hat * sum_dy_xhat / m), dgamma, dbeta),
         "missing the path through the mean: the term - sum(dy) / m."),
        ((inv_std / m * (m * dy - sum_dy - x_hat * sum_dy_xhat), dgamma, dbeta),
         "dx is missing the factor gamma (y = gamma * x_hat + beta)."),
        ((gamma * inv_std * (m * dy - sum_dy - x_hat * sum_dy_xhat), dgamma, dbeta),
         "dx is m times too large: the compact formula divides by m."),
        ((dx * np.sqrt(cache.var + cache.eps) * _safe_inv_sqrt(cache.var), dgamma, dbeta),
         "missing eps: you divided by sqrt(var); use cache.inv_std = 1 / sqrt(var + eps)."),
        ((dx, dbeta, dgamma), "dgamma and dbeta swapped: dgamma = sum(dy * x_hat), "
                              "dbeta = sum(dy)."),
        ((dx, (dy * x).sum(axis=0), dbeta),
         "dgamma uses x instead of x_hat: gamma multiplies x_hat, so dgamma = sum(dy * x_hat)."),
        ((dx, -dgamma, -dbeta), "wrong sign in dgamma and dbeta."),
    ]


def _diagnose_backward(case: Case, got: Any, inputs: dict) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return "return the three gradients as a tuple: (dx, dgamma, dbeta)."
    dy, x, cache = inputs[case.name]
    n, d = x.shape
    try:
        parts = [np.asarray(g, dtype=float) for g in got]
    except (TypeError, ValueError):
        return None
    for name, part in zip(("dgamma", "dbeta"), parts[1:]):
        if part.shape == (n,):
            return (f"wrong axis: {name} has one value per example; sum over the batch "
                    f"(axis=0) to get one value per feature, shape ({d},).")
        if part.shape == (n, d):
            return f"{name} must be summed over the batch (axis=0): expected shape ({d},)."
    if parts[0].shape != x.shape:
        return f"dx must have the shape of x, {x.shape}."
    if any(np.isnan(p).any() for p in parts):
        return ("NaN: with a constant feature the variance is 0. Use cache.inv_std (it "
                "includes eps) instead of 1 / np.sqrt(cache.var).")
    return _matching_mistake(parts, _backward_mistakes(dy, x, cache))


def _matching_mistake(parts, mistakes) -> str | None:
    """The message of the first known mistake whose (dx, dgamma, dbeta) the answer matches."""
    for expected, message in mistakes:
        if all(p.shape == np.shape(e) and np.allclose(p, e, rtol=1e-6, atol=1e-8)
               for p, e in zip(parts, expected)):
            return message
    return None


def _backward_cases():
    from ..batchnorm import batchnorm_forward
    from ..gradcheck import numerical_gradient

    rng = np.random.default_rng(5)
    constant = np.column_stack([rng.normal(2.0, 1.5, 5), np.full(5, 3.0), rng.normal(0, 4, 5)])
    spec = [
        ("a 5 x 3 batch, random dy", rng.normal(1.0, 2.0, (5, 3)),
         np.array([1.5, 0.8, -1.2]), np.array([0.1, -0.3, 0.2]), ""),
        ("a 8 x 2 batch, random dy", rng.normal(-3.0, 0.5, (8, 2)),
         np.array([2.0, 0.5]), np.array([0.0, 1.0]), ""),
        ("a constant feature", constant, np.array([1.0, 2.0, 0.5]), np.zeros(3),
         "cache.inv_std already includes eps: 1 / sqrt(var + eps)."),
    ]
    cases, inputs = [], {}
    for name, x, gamma, beta, hint in spec:
        dy = rng.standard_normal(x.shape)
        y, cache = batchnorm_forward(x, gamma, beta)
        dx = numerical_gradient(lambda x_: batchnorm_forward(x_, gamma, beta)[0], x, dy)
        dgamma = numerical_gradient(lambda g_: batchnorm_forward(x, g_, beta)[0], gamma, dy)
        dbeta = numerical_gradient(lambda b_: batchnorm_forward(x, gamma, b_)[0], beta, dy)
        cases.append(Case(name, (dy, cache), (dx, dgamma, dbeta), hint))
        inputs[name] = (dy, x, cache)
    return cases, inputs


def check_batchnorm_backward(learner_fn: Callable) -> Feedback:
    """Check ``batchnorm_backward(dy, cache) -> (dx, dgamma, dbeta)`` against numerical gradients.

    ``cache`` is the :class:`bnlib.batchnorm.BatchNormCache` that
    :func:`bnlib.batchnorm.batchnorm_forward` returns (fields x_hat, mean, var, inv_std,
    gamma, eps). The expected gradients are central differences of sum(y * dy), not the
    library's own backward pass.
    """
    if not callable(learner_fn):
        return check_cases(learner_fn, [])
    cases, inputs = _backward_cases()
    feedback = check_cases(learner_fn, cases, rtol=1e-5, atol=1e-6,
                           diagnose=lambda case, got: _diagnose_backward(case, got, inputs))
    return _wrong_axis_on_exception(feedback)


# ------------------------------------------------------------ spatial (2d) backward pass

def _c(v):
    """A per-channel vector (C,) shaped to broadcast against (N, C, H, W)."""
    return np.asarray(v)[None, :, None, None]


def _backward2d_mistakes(dy, cache):
    """(gradients, message) for the usual mistakes of a BatchNorm2d backward pass."""
    x_hat, s, g = cache.x_hat, _c(cache.inv_std), _c(cache.gamma)
    axes = (0, 2, 3)
    n, m = dy.shape[0], dy.size // dy.shape[1]
    dbeta, dgamma = dy.sum(axis=axes), (dy * x_hat).sum(axis=axes)
    dx = g * s / m * (m * dy - _c(dbeta) - x_hat * _c(dgamma))
    # the 1d formula with sums over the examples only (one "feature" per channel and pixel)
    sum_n, sum_n_xhat = dy.sum(axis=0, keepdims=True), (dy * x_hat).sum(axis=0, keepdims=True)
    dx_per_pixel = g * s / n * (n * dy - sum_n - x_hat * sum_n_xhat)
    dx_wrong_m = g * s / n * (n * dy - _c(dbeta) - x_hat * _c(dgamma))
    return [
        ((dx_per_pixel, dgamma, dbeta),
         "dx sums over the examples only (axis 0), as for a (N, D) batch: in BatchNorm2d every "
         "pixel of every image is an example of its channel, so the sums in dx go over axes "
         "(0, 2, 3)."),
        ((dx_wrong_m, dgamma, dbeta),
         "m is wrong: a channel's statistics come from N * H * W values, so divide by "
         "m = N * H * W, not by N."),
        ((-dx, dgamma, dbeta), "wrong sign in dx."),
        ((dx, dbeta, dgamma), "dgamma and dbeta swapped: dgamma = sum(dy * x_hat), "
                              "dbeta = sum(dy), both over axes (0, 2, 3)."),
        ((dx / g, dgamma, dbeta), "dx is missing the factor gamma."),
    ]


def _diagnose_backward2d(case: Case, got: Any, inputs: dict) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return "return the three gradients as a tuple: (dx, dgamma, dbeta)."
    dy, cache = inputs[case.name]
    n, c, h, w = dy.shape
    try:
        parts = [np.asarray(p, dtype=float) for p in got]
    except (TypeError, ValueError):
        return None
    for name, part in zip(("dgamma", "dbeta"), parts[1:]):
        if part.shape == (c, h, w):
            return (f"{name} has one value per channel and pixel, shape {part.shape}: sum over "
                    f"the pixels too, axis=(0, 2, 3), to get shape ({c},).")
        if part.shape != (c,) and part.size != c:
            return (f"{name} must have one value per channel, shape ({c},); sum over "
                    f"axis=(0, 2, 3).")
    if parts[0].shape != dy.shape:
        return f"dx must have the shape of x, {dy.shape}."
    return _matching_mistake(parts, _backward2d_mistakes(dy, cache))


def _backward2d_cases():
    from ..batchnorm import batchnorm2d_forward
    from ..gradcheck import numerical_gradient

    rng = np.random.default_rng(7)
    spec = [
        ("a (2, 3, 2, 2) batch, random dy", rng.normal(1.0, 2.0, (2, 3, 2, 2)),
         np.array([1.5, 0.8, -1.2]), np.array([0.1, -0.3, 0.2])),
        ("a (3, 2, 3, 2) batch, random dy", rng.normal(-2.0, 0.5, (3, 2, 3, 2)),
         np.array([2.0, 0.5]), np.array([0.0, 1.0])),
        ("a (1, 2, 4, 4) batch: one image", rng.normal(0.0, 3.0, (1, 2, 4, 4)),
         np.array([0.7, 1.3]), np.array([0.5, -0.5])),
    ]
    cases, inputs = [], {}
    for name, x, gamma, beta in spec:
        dy = rng.standard_normal(x.shape)
        _, cache = batchnorm2d_forward(x, gamma, beta)
        dx = numerical_gradient(lambda x_: batchnorm2d_forward(x_, gamma, beta)[0], x, dy)
        dgamma = numerical_gradient(lambda g_: batchnorm2d_forward(x, g_, beta)[0], gamma, dy)
        dbeta = numerical_gradient(lambda b_: batchnorm2d_forward(x, gamma, b_)[0], beta, dy)
        hint = ("every pixel of every image is one example of its channel: m = N * H * W"
                if x.shape[0] == 1 else "")
        cases.append(Case(name, (dy, cache), (dx, dgamma, dbeta), hint))
        inputs[name] = (dy, cache)
    return cases, inputs


def check_batchnorm2d_backward(learner_fn: Callable) -> Feedback:
    """Check ``batchnorm2d_backward(dy, cache) -> (dx, dgamma, dbeta)`` for images.

    dy: (N, C, H, W); ``cache`` is what :func:`bnlib.batchnorm.batchnorm2d_forward` returns
    (x_hat (N, C, H, W); mean, var, inv_std, gamma of shape (C,); eps). dgamma and dbeta have
    shape (C,). Checked against central differences on three batches, one of them a single
    image (whose channels are still normalized over H * W values).
    """
    if not callable(learner_fn):
        return check_cases(learner_fn, [])
    cases, inputs = _backward2d_cases()
    feedback = check_cases(learner_fn, cases, rtol=1e-5, atol=1e-6,
                           diagnose=lambda case, got: _diagnose_backward2d(case, got, inputs))
    return _wrong_axis_on_exception(feedback)


# ------------------------------------------------------------------------- gradient check

def _buggy_backward(dy, cache):
    """A plausible wrong backward pass: it forgets the path through the variance."""
    m = dy.shape[0]
    dx = cache.gamma * cache.inv_std * (dy - dy.sum(axis=0) / m)
    return dx, (dy * cache.x_hat).sum(axis=0), dy.sum(axis=0)


def _mean_dbeta_backward(dy, cache):
    """Correct dx and dgamma, but dbeta averaged over the batch instead of summed."""
    from ..batchnorm import batchnorm_backward
    dx, dgamma, _ = batchnorm_backward(dy, cache)
    return dx, dgamma, dy.mean(axis=0)


def _swapped_backward(dy, cache):
    """Correct dx, but dgamma and dbeta swapped."""
    from ..batchnorm import batchnorm_backward
    dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    return dx, dbeta, dgamma


#: The wrong backward passes a gradient check must catch, with what is wrong in each.
_WRONG_BACKWARDS = {
    "no variance path": (_buggy_backward, "dx forgets the path through the variance"),
    "dbeta averaged": (_mean_dbeta_backward, "dbeta is the average of dy over the batch "
                                              "instead of the sum"),
    "dgamma, dbeta swapped": (_swapped_backward, "dgamma and dbeta are swapped"),
}


class _RecordingBackward:
    """Wraps a backward function and remembers the upstream gradients it was given."""

    def __init__(self, fn):
        self.fn = fn
        self.dys: list[np.ndarray] = []

    def __call__(self, dy, cache):
        self.dys.append(np.array(dy, dtype=float, copy=True))
        return self.fn(dy, cache)


def _constant_per_feature(dy: np.ndarray) -> bool:
    return dy.ndim == 2 and dy.shape[0] > 1 and bool(np.allclose(dy, dy[:1]))


def _largest_error(err) -> float:
    """The learner's result as one number: a number, or the largest of several errors."""
    if isinstance(err, dict):
        err = list(err.values())
    if isinstance(err, (tuple, list)):
        return max(float(e) for e in err)
    return float(err)


def check_gradient_check(learner_fn: Callable) -> Feedback:
    """Check ``gradient_check(forward, backward, x, gamma, beta, rng) -> largest relative error``.

    The learner's check compares all three gradients (dx, dgamma, dbeta) of ``backward`` with
    numerical ones and returns the largest relative error (a tuple, list or dict of the three
    errors is accepted too). It runs four times: with a correct backward pass (it must report
    an error below 1e-5) and with three wrong ones (a dx that forgets the variance path, a
    dbeta averaged instead of summed, dgamma and dbeta swapped), each of which it must catch
    (an error above 1e-3). The backward functions record the upstream gradient they receive,
    so an all-ones (or otherwise constant) ``dy`` is named.
    """
    from ..batchnorm import batchnorm_backward, batchnorm_forward

    if not callable(learner_fn):
        return check_cases(learner_fn, [])
    x = np.random.default_rng(11).normal(2.0, 3.0, size=(6, 4))
    gamma, beta = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 0.5, -0.5, 1.0])
    runs = [("correct", batchnorm_backward)] + [(k, fn) for k, (fn, _) in
                                                _WRONG_BACKWARDS.items()]
    results = {}
    for label, backward in runs:
        recorder = _RecordingBackward(backward)
        try:
            err = learner_fn(batchnorm_forward, recorder, x.copy(), gamma.copy(), beta.copy(),
                             np.random.default_rng(0))
        except NotImplementedError:
            return Feedback(False, "Not yet: the function is still a placeholder.",
                            ["Replace `raise NotImplementedError` with your code."])
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            which = "correct" if label == "correct" else "wrong"
            return Feedback(False, f"Not yet: your check raised {type(exc).__name__} with a "
                                   f"{which} backward pass.", [f"message: {exc}"])
        if not recorder.dys:
            return Feedback(False, "Not yet: your check never called `backward`.",
                            ["Call backward(dy, cache) to get the analytic gradients you check."])
        dy = recorder.dys[-1]
        if dy.shape != x.shape:
            return Feedback(False, "Not yet: the upstream gradient has the wrong shape.",
                            [f"expected dy of shape {x.shape} (the shape of y), got {dy.shape}"])
        if not np.isfinite(dy).all():
            return Feedback(False, "Not yet: your upstream gradient contains NaN or inf.")
        if _constant_per_feature(dy):
            kind = "an all-ones" if np.allclose(dy, 1.0) else "a constant"
            return Feedback(False, f"Not yet: your check uses {kind} upstream gradient dy.", [
                "With dy constant within each feature, sum(y * dy) does not depend on x "
                "(each feature of y sums to m * beta), so the true dx is zero.",
                "A wrong backward pass that forgets the variance path also returns zero, so "
                "the check cannot tell them apart. Use a random dy: "
                "rng.standard_normal(y.shape).",
            ])
        try:
            results[label] = _largest_error(err)
        except (TypeError, ValueError):
            return Feedback(False, "Not yet: return the largest relative error as one number.",
                            [f"got {type(err).__name__}"])
        if np.isnan(results[label]):
            return Feedback(False, "Not yet: your check returned NaN.")
    if results["correct"] > 1e-5:
        return Feedback(False, "Not yet: your check reports a large error for a correct "
                               "backward pass.", [
            f"relative error {results['correct']:.2g} (expected below 1e-5)",
            "hint: compare backward's dx with numerical_gradient(f, x, dy) for the same dy, "
            "where f(x) returns forward(x, gamma, beta)[0]; likewise dgamma and dbeta, with "
            "functions of gamma and of beta.",
        ])
    for label, (_, what) in _WRONG_BACKWARDS.items():
        if results[label] < 1e-3:
            return Feedback(False, "Not yet: your check passes a wrong backward pass.", [
                f"relative error {results[label]:.2g} for a backward pass whose {what} "
                "(expected above 1e-3)",
                "hint: check all three gradients, dx, dgamma and dbeta, and return the "
                "largest of the three errors.",
            ])
    wrong = ", ".join(f"{results[k]:.2f}" for k in _WRONG_BACKWARDS)
    return Feedback(True, "Correct: your check passes a correct backward pass and catches "
                          "three wrong ones.",
                    [f"relative error for the correct pass: below 1e-7 is "
                     f"{results['correct'] < 1e-7}; for the wrong passes: {wrong}"])


# ---------------------------------------------------------------- running statistics

#: The three batches (one feature, four examples each) of the running-statistics exercise.
RUNNING_STATS_BATCHES = (
    np.array([2.0, 4.0, 6.0, 8.0]),
    np.array([0.0, 2.0, 2.0, 4.0]),
    np.array([3.0, 3.0, 9.0, 9.0]),
)


def running_stats_by_hand(batches, *, new_weight: float, ddof: int, init=(0.0, 1.0)):
    """Exponential moving averages of the batch means and variances.

    new_weight: the weight of the new batch (PyTorch's momentum; 1 - Keras' momentum).
    ddof: 1 for the unbiased batch variance (PyTorch's running_var), 0 for the biased one
    (Keras). init: the starting (running_mean, running_var); both libraries start at (0, 1).
    """
    from ..batchnorm import update_running_stats

    mean, var = np.array([float(init[0])]), np.array([float(init[1])])
    for batch in batches:
        b = np.asarray(batch, dtype=float)
        mean, var = update_running_stats(mean, var, b.mean(keepdims=True),
                                         b.var(ddof=ddof, keepdims=True), new_weight)
    return float(mean[0]), float(var[0])


#: Relative tolerance of the running-statistics answers: three significant figures are enough
#: (0.129 for 0.128805 passes); the nearest typical wrong answer is 4.7 % away.
RUNNING_STATS_RTOL = 5e-3

_CONVENTIONS = {"pytorch": dict(new_weight=0.1, ddof=1), "keras": dict(new_weight=0.01, ddof=0)}


def _running_wrong_answers(convention: str, which: int) -> dict[float, str]:
    right = _CONVENTIONS[convention]
    other = "keras" if convention == "pytorch" else "pytorch"
    b = RUNNING_STATS_BATCHES
    wrong: dict[float, str] = {}

    def add(value, message):
        if not np.isclose(value, running_stats_by_hand(b, **right)[which],
                          rtol=RUNNING_STATS_RTOL):
            wrong.setdefault(value, message)

    mixed = 1 - right["new_weight"]
    add(running_stats_by_hand(b, new_weight=mixed, ddof=right["ddof"])[which],
        f"you put the weight {mixed:g} on the new batch: "
        + ("PyTorch's momentum 0.1 weights the new batch: running = 0.9 * running + 0.1 * batch."
           if convention == "pytorch" else
           "Keras' momentum 0.99 weights the old value: running = 0.99 * running + 0.01 * batch."))
    if which == 1:
        add(running_stats_by_hand(b, new_weight=right["new_weight"], ddof=1 - right["ddof"])[1],
            "wrong variance: PyTorch's running_var averages the unbiased batch variance "
            "(divide by m - 1)." if convention == "pytorch" else
            "wrong variance: Keras' moving_variance averages the biased batch variance it "
            "normalizes with (divide by m).")
    add(running_stats_by_hand(b, **_CONVENTIONS[other])[which],
        f"that is the {other} convention; this part asks for {convention}.")
    first = (b[0].mean(), b[0].var(ddof=right["ddof"]))
    add(running_stats_by_hand(b[1:], **right, init=first)[which],
        "the running statistics start at mean 0 and variance 1, not at the first batch's values.")
    plain = [x.mean() for x in b] if which == 0 else [x.var(ddof=right["ddof"]) for x in b]
    add(float(np.mean(plain)), "that is the plain average of the three batches; the running "
                               "statistics are an exponential moving average starting at (0, 1).")
    return wrong


def check_running_stats(convention: str, running_mean: Any, running_var: Any) -> Feedback:
    """Check running_mean and running_var after :data:`RUNNING_STATS_BATCHES`.

    convention: "pytorch" (momentum 0.1 on the new batch, unbiased variance) or "keras"
    (momentum 0.99 on the old value, biased variance). Both start at mean 0, variance 1.
    Answers rounded to three significant figures pass (relative tolerance
    :data:`RUNNING_STATS_RTOL`).
    """
    key = str(convention).strip().lower()
    if key not in _CONVENTIONS:
        return Feedback(False, "Not yet: convention must be 'pytorch' or 'keras'.",
                        [f"got {convention!r}"])
    expected = running_stats_by_hand(RUNNING_STATS_BATCHES, **_CONVENTIONS[key])
    parts = [check_number(answer, value, wrong_answers=_running_wrong_answers(key, i),
                          name=name, rtol=RUNNING_STATS_RTOL)
             for i, (answer, value, name) in enumerate(
                 [(running_mean, expected[0], "running_mean"),
                  (running_var, expected[1], "running_var")])]
    label = "PyTorch" if key == "pytorch" else "Keras"
    if all(p.correct for p in parts):
        return Feedback(True, f"Correct: both {label} running statistics match.",
                        [p.title.removeprefix("Correct: ") for p in parts])
    details = []
    for p in parts:
        details.append(p.title.replace("Not yet: ", "").replace("Correct: ", "correct: "))
        details.extend(p.details)
    return Feedback(False, f"Not yet: the {label} running statistics do not both match.", details)


# ------------------------------------------------------------- widget and concept checks

def check_keras_equivalent(convention: str, momentum: float, **_ignored: Any) -> Feedback:
    """Widget exercise: pick the Keras momentum that reproduces PyTorch's default (0.1)."""
    key = str(convention).strip().lower()
    if key != "keras":
        return Feedback(False, "Not yet: switch the convention to Keras first.",
                        ["The task is to find the Keras momentum that behaves like PyTorch's "
                         "default momentum 0.1."])
    m = float(momentum)
    if np.isclose(m, 0.9, atol=1e-9):
        return Feedback(True, "Correct: Keras momentum 0.9 equals PyTorch momentum 0.1.",
                        ["Keras weights the old value by its momentum, PyTorch weights the new "
                         "batch: keras_momentum = 1 - torch_momentum."])
    if np.isclose(m, 0.1, atol=1e-9):
        return Feedback(False, "Not yet: momentum 0.1 means something else in Keras.",
                        ["Keras multiplies the OLD running value by its momentum, so 0.1 keeps "
                         "only 10% of the history and follows each new batch closely."])
    if np.isclose(m, 0.99, atol=1e-9):
        return Feedback(False, "Not yet: 0.99 is Keras' default, not PyTorch's.",
                        ["It keeps 99% of the old value per batch: an average over about 100 "
                         "batches, ten times slower than PyTorch's default."])
    slower = "slower" if m > 0.9 else "faster"
    return Feedback(False, f"Not yet: Keras momentum {m:g} adapts {slower} than PyTorch's 0.1.",
                    ["Compare the two update rules: PyTorch 0.9 * old + 0.1 * new, Keras "
                     "momentum * old + (1 - momentum) * new."])


_EVAL_MODE_FEEDBACK = {
    "A": "No. In training mode the layer ignores its running averages and normalizes with the "
         "statistics of the batch in front of it, so outputs differ from eval mode.",
    "B": "No, because of the word 'only'. Training mode does also overwrite the running "
         "averages with test statistics, but the immediate damage is that the outputs use "
         "the current batch's statistics.",
    "C": "Yes. Each prediction then depends on the other examples in the batch: a batch of one "
         "class is normalized towards the average and predictions collapse; a single example "
         "is either rejected or normalized to beta.",
    "D": "No. Only a batch with one value per feature cannot be normalized (variance 0); larger "
         "batches run without any error, which is why the bug goes unnoticed.",
}


def check_eval_mode(answer: Any) -> Feedback:
    """Conceptual question: what goes wrong when you predict without switching to eval mode?"""
    return check_choice(answer, "C", _EVAL_MODE_FEEDBACK)
