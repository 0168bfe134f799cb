"""Checkers for chapter 5 (the noise of mini-batch statistics).

- :func:`check_quadruple_batch` : numeric, how the spread of the batch mean changes when the
  batch size quadruples.
- :func:`check_ghost_batchnorm` : coding, the forward pass of ghost batch normalization,
  checked against :func:`bnlib.noise.ghost_batchnorm_forward`.
- :func:`check_noise_target` : widget exercise (the batch-size slider), the smallest batch
  size whose batch-mean spread is at most a tenth of the unit's standard deviation.
- :func:`check_eval_statistics` : multiple choice, why evaluation uses running statistics.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..batchnorm import batchnorm_forward
from ..noise import ghost_batchnorm_forward
from ._core import Case, Feedback, check_cases, check_choice, check_number

__all__ = [
    "check_quadruple_batch",
    "ghost_batchnorm_cases",
    "check_ghost_batchnorm",
    "NOISE_TARGET",
    "NOISE_TARGET_SIZES",
    "check_noise_target",
    "check_eval_statistics",
    "check_noise_control",
    "check_tiny_batches",
]


# --------------------------------------------------------------------------- numeric

def check_quadruple_batch(answer: Any) -> Feedback:
    """The batch size goes from 16 to 64: by what factor does the spread (standard
    deviation across batches) of the batch mean change? Expected: 1/2."""
    return check_number(
        answer, 0.5, rtol=0.02, name="the factor",
        wrong_answers={
            0.25: "1/4 is the factor for the *variance* of the batch mean (it goes like 1/m); "
                  "the spread is its square root, so it goes like 1/sqrt(m).",
            4.0: "Larger batches average more examples, so the noise shrinks; and it shrinks "
                 "with the square root of the batch size, not the batch size itself.",
            2.0: "Right size of change, wrong direction: a larger batch averages more examples "
                 "and its mean scatters less, so the factor is below 1.",
            1.0: "The spread does depend on the batch size: the standard error of a mean of m "
                 "values is sigma / sqrt(m).",
            1 / 16: "That is 1/m**2 ... the spread of a mean goes like 1/sqrt(m), so a 4x "
                    "larger batch gives a factor 1/sqrt(4).",
        })


# --------------------------------------------------------------------------- coding

def _ghost_reference(x, gamma, beta, ghost_size, eps=1e-5):
    return ghost_batchnorm_forward(x, gamma, beta, ghost_size, eps)[0]


def ghost_batchnorm_cases() -> list[Case]:
    """The cases the coding exercise runs (fixed seed: the same for every learner)."""
    rng = np.random.default_rng(5)

    def case(name, n, d, g, hint="", scales=None):
        x = rng.normal(size=(n, d)) * (scales if scales is not None else 1.0) + rng.normal(size=d)
        gamma, beta = rng.uniform(0.5, 2.0, size=d), rng.normal(size=d)
        return Case(name, (x, gamma, beta, g), _ghost_reference(x, gamma, beta, g), hint)

    cases = [
        case("8 rows, two ghost batches of 4", 8, 3, 4,
             "Rows 0-3 form one ghost batch, rows 4-7 the next; each gets its own mean/variance."),
        case("6 rows, three ghost batches of 2", 6, 2, 2,
             "With ghost_size=2 each ghost batch has 2 rows."),
        case("ghost_size equal to the batch size (plain BN)", 5, 3, 5,
             "With a single ghost batch the result is ordinary batch normalization."),
        case("features on very different scales", 12, 4, 3,
             "Statistics are per feature (per column), within each ghost batch.",
             scales=np.array([0.1, 1.0, 10.0, 100.0])),
    ]
    # A feature that is constant inside the first ghost batch: only eps keeps it finite.
    x = rng.normal(size=(4, 2))
    x[:2, 0] = 3.0
    gamma, beta = np.array([1.5, 0.7]), np.array([0.2, -0.4])
    cases.append(Case("a feature constant inside one ghost batch", (x, gamma, beta, 2),
                      _ghost_reference(x, gamma, beta, 2),
                      "Add eps to the variance before the square root."))
    return cases


def _diagnose_ghost(case: Case, got: Any) -> str | None:
    """Name the typical mistake that reproduces the learner's wrong answer, if any."""
    x, gamma, beta, g = case.args
    n, d = x.shape
    if isinstance(got, tuple):
        return "return only y (an array of shape (N, D)), not a tuple such as (y, cache)."
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if got.shape == (n // g, g, d):
        return "you returned the (groups, ghost_size, D) array; reshape it back to (N, D)."
    if got.shape != (n, d):
        return None

    def bn(a, axis=0, ddof=0):
        mean = a.mean(axis=axis, keepdims=True)
        var = a.var(axis=axis, ddof=ddof, keepdims=True)
        return (a - mean) / np.sqrt(var + 1e-5)

    groups = x.reshape(n // g, g, d)
    right = _ghost_reference(x, gamma, beta, g)
    candidates = {
        "the sign is flipped: x_hat = (x - mean) / sqrt(var + eps), not (mean - x).":
            2 * beta - right,
        "you used the statistics of the whole batch; compute the mean and variance of each "
        "ghost batch of ghost_size rows separately.": batchnorm_forward(x, gamma, beta)[0],
        "you averaged over the features (axis=1); average over the rows of each ghost batch "
        "(axis=0 within the group).": gamma * bn(groups, axis=2).reshape(n, d) + beta,
        "you split the batch into ghost_size groups; split it into groups OF ghost_size "
        "consecutive rows (N // ghost_size groups).":
            gamma * bn(x.reshape(g, n // g, d), axis=1).reshape(n, d) + beta,
        "your ghost batches take every k-th row (strided); a ghost batch is ghost_size "
        "consecutive rows.": gamma * bn(x.reshape(g, n // g, d), axis=0).reshape(n, d) + beta,
        "you used the unbiased variance (divide by ghost_size - 1); batch normalization "
        "divides by the number of rows (biased variance).":
            gamma * bn(groups, axis=1, ddof=1).reshape(n, d) + beta,
        "you forgot to scale by gamma and shift by beta.": bn(groups, axis=1).reshape(n, d),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        no_eps = (groups - groups.mean(axis=1, keepdims=True)) / groups.std(axis=1, keepdims=True)
    candidates["you left out eps: divide by sqrt(var + eps), not sqrt(var)."] = \
        gamma * no_eps.reshape(n, d) + beta
    eps_outside = (groups - groups.mean(axis=1, keepdims=True)) / (
        groups.std(axis=1, keepdims=True) + 1e-5)
    candidates["eps is outside the square root: divide by sqrt(var + eps), not by "
               "sqrt(var) + eps. The two differ only in about the fifth digit, which is why "
               "the printed arrays look the same."] = gamma * eps_outside.reshape(n, d) + beta
    for message, wrong in candidates.items():
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=1e-9, atol=1e-9):
            return message
    if np.isnan(got).any():
        return "NaN appears when a feature is constant inside a ghost batch: add eps to the " \
               "variance before the square root."
    return None


def check_ghost_batchnorm(learner_fn: Callable[..., Any]) -> Feedback:
    """Check ``learner_fn(x, gamma, beta, ghost_size) -> y`` against bnlib's ghost BN."""
    return check_cases(learner_fn, ghost_batchnorm_cases(), rtol=1e-6, atol=1e-8,
                       diagnose=_diagnose_ghost)


# --------------------------------------------------------------------------- widget

NOISE_TARGET = 0.1
NOISE_TARGET_SIZES = (2, 4, 8, 16, 32, 64, 128, 256)


def check_noise_target(batch_size: int) -> Feedback:
    """Widget exercise: the smallest batch size (among the slider's values) whose predicted
    batch-mean spread sigma / sqrt(m) is at most NOISE_TARGET * sigma."""
    try:
        m = int(batch_size)
    except (TypeError, ValueError):
        return Feedback(False, "Not yet: the batch size should be a whole number.",
                        [f"got {batch_size!r}"])
    ratio = 1 / np.sqrt(m)
    answer = min(s for s in NOISE_TARGET_SIZES if 1 / np.sqrt(s) <= NOISE_TARGET)
    line = f"at m = {m} the batch mean scatters by sigma / sqrt({m}) = {ratio:.3f} sigma."
    if m not in NOISE_TARGET_SIZES:
        sizes = ", ".join(str(v) for v in NOISE_TARGET_SIZES)
        if ratio <= NOISE_TARGET and 1 / np.sqrt(m - 1) > NOISE_TARGET:
            return Feedback(False, f"Not yet: m = {m} is the exact threshold, but it is not "
                                   f"on the slider.",
                            [line, f"The slider offers {sizes}: pick the smallest of those "
                                   f"that is at least {m}."])
        return Feedback(False, f"Not yet: m = {m} is not on the slider.",
                        [line, f"The slider offers {sizes}; answer with one of them."])
    if m == answer:
        return Feedback(True, f"Correct: m = {m} is the smallest batch size on the slider "
                              f"with a spread of at most {NOISE_TARGET} sigma.", [line])
    if ratio > NOISE_TARGET:
        return Feedback(False, f"Not yet: m = {m} is too small.",
                        [line, f"That is above {NOISE_TARGET} sigma: make the batch larger."])
    return Feedback(False, f"Not yet: m = {m} meets the target but is not the smallest.",
                    [line, "Try a smaller batch size: is it still below the target?"])


# --------------------------------------------------------------------------- conceptual

def check_eval_statistics(answer: Any) -> Feedback:
    """Why must evaluation use running statistics rather than the test batch's statistics?

    A) a prediction would depend on the batch-mates  B) the running variance is unbiased
    C) batch statistics would leak the test labels  D) only for speed
    """
    return check_choice(answer, "A", {
        "A": "Yes: with batch statistics a test example's output would depend on which other "
             "examples share its batch, and a single example has no batch variance at all. "
             "Running statistics make the prediction a fixed function of the example.",
        "B": "The running variance is indeed fed the unbiased batch variance, but that is not "
             "the reason: it only makes x_hat have mean square about 1 at evaluation, as it "
             "has inside every training batch (the chapter measures both). Think about what a "
             "prediction would depend on.",
        "C": "Batch statistics use the inputs only, never the labels, so nothing about the "
             "labels leaks. The problem is that a prediction depends on its batch-mates.",
        "D": "The predictions are not the same: the chapter measures a different accuracy with "
             "batch statistics, most of all for small batches.",
    })


def check_noise_control(answer: Any) -> Feedback:
    """Which comparison isolates the batch noise of BN (learning objective: a control)?

    A) BN vs no BN  B) BN vs frozen statistics  C) BN vs whole-set statistics, same batch
    size  D) BN at batch size 8 vs BN at batch size 128
    """
    return check_choice(answer, "C", {
        "A": "No: no BN differs from BN in everything batch normalization does (the "
             "normalization, gamma and beta, the gradient through the statistics), not only in "
             "the noise. A difference could come from any of them.",
        "B": "No: frozen statistics remove the noise, but they also cut the gradient through "
             "the statistics, and the chapter shows that this alone costs accuracy. The "
             "difference mixes two causes.",
        "C": "Yes: whole-set statistics keep the normalization, gamma and beta and the gradient "
             "through the statistics, and remove the batch noise: the statistics are those of "
             "all 200 images instead of the mini-batch. It is the closest noise-free control, "
             "not an exact copy of BN: through those statistics every step's gradient depends "
             "on all 200 images. Pair the runs by seed and read the difference with its "
             "standard error.",
        "D": "No: changing the batch size changes the SGD noise of the gradient and the number "
             "of examples per step too, not only the noise of the batch statistics.",
    })


def check_tiny_batches(answer: Any) -> Feedback:
    """Tiny batches (learning objective: the caveats). Which statement is true?

    A) the batch variance is too small, so training divides by the wrong scale
    B) a (1, D) batch is fine in training mode: each example becomes 0
    C) ghost batches of 2 fix tiny batches  D) at m = 2 every x_hat is about -1 or +1
    """
    return check_choice(answer, "D", {
        "A": "No: inside its own batch x_hat is divided by that batch's own standard "
             "deviation, so its mean square is 1 (up to eps) however biased the batch variance "
             "is, and the Bessel-corrected running variance gives mean square about 1 at "
             "evaluation too. The mismatch is the shape of the distribution, not its scale.",
        "B": "No: with one example the batch mean is the example and the variance is 0, so "
             "the layer outputs beta whatever it receives; bnlib and PyTorch refuse a (1, D) "
             "batch in training mode rather than erase the input silently.",
        "C": "No: a ghost batch of 2 is a batch of 2 as far as the statistics go; it makes the "
             "noise larger, not smaller. Ghost batches turn the noise up.",
        "D": "Yes: a batch of two values normalizes to -a and +a with a = |d| / sqrt(d^2 + "
             "eps), d half their difference: 1 unless the two values nearly coincide. Training "
             "sees only about +-1, evaluation sees the unit's whole range, up to about 3 here.",
    })
