"""Checkers for chapter 2 (standardization and gradient descent).

* :func:`check_standard_scaler`: the learner writes a ``fit``/``transform`` class.
* :func:`check_diverging_lr`: which learning rate makes gradient descent diverge?
* :func:`check_largest_lr`: widget exercise, find the largest learning rate that converges.
"""
from __future__ import annotations

import numpy as np

from ..gd import make_problem
from ._core import Case, Feedback, check_cases, check_choice
from .scaling import wrap_feedback

__all__ = [
    "reference_standardize",
    "standard_scaler_cases",
    "check_standard_scaler",
    "DIVERGE_QUESTION",
    "check_diverging_lr",
    "LARGEST_LR_RATIO",
    "largest_lr_target",
    "check_largest_lr",
]


def reference_standardize(x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Standardize ``x`` per column with the mean and (population) std of ``x_train``.

    A constant training column has std 0; it is divided by 1 instead, so it maps to 0
    (scikit-learn's convention).
    """
    x_train = np.asarray(x_train, dtype=float)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    return (np.asarray(x, dtype=float) - mean) / std


def _fit_then_transform(learner_cls):
    """Turn the learner's class into ``f(x_train, x) = cls().fit(x_train) then .transform(x)``."""
    def run(x_train, x):
        scaler = learner_cls()
        scaler.fit(x_train)
        return scaler.transform(x)
    return run


def standard_scaler_cases() -> list[Case]:
    """Cases for a learner's scaler class: each fits on ``args[0]`` and transforms ``args[1]``."""
    rng = np.random.default_rng(2)
    bikes = np.column_stack([rng.uniform(0, 20, 8).round(1), rng.uniform(0, 300_000, 8).round()])
    const = np.column_stack([[3.0, 1.0, 4.0, 1.0, 5.0], [7.0] * 5])
    train = np.column_stack([rng.normal(10, 2, 12), rng.normal(-50, 30, 12)])
    test = np.column_stack([[4.0, 10.0, 18.0], [-200.0, -50.0, 40.0]])
    return [
        Case("ordinary data (fit and transform the same 8 bikes)", (bikes, bikes),
             reference_standardize(bikes, bikes),
             hint="work per column: x.mean(axis=0) and x.std(axis=0)"),
        Case("a constant column", (const, const), reference_standardize(const, const),
             hint="a column whose std is 0 should become all zeros, not NaN: divide by 1 "
                  "where the std is 0, e.g. np.where(std == 0, 1.0, std)"),
        Case("fit on train, transform new data", (train, test), reference_standardize(train, test),
             hint="fit stores the training mean and std; transform reuses them and never "
                  "looks at the statistics of the data it is given"),
    ]


def _diagnose(case: Case, got) -> str | None:
    """Name the typical mistakes of a standardization scaler."""
    x_train = np.asarray(case.args[0], dtype=float)
    x = np.asarray(case.args[1], dtype=float)
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if g.shape != np.shape(case.expected):
        if g.shape == x.T.shape:
            return "your result is transposed; keep one row per example, one column per feature"
        return None
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    safe_std = np.where(std == 0, 1.0, std)
    if np.isnan(g).any():
        if (std == 0).any():
            return ("the constant column became NaN: its std is 0 and you divided by it; "
                    "divide by 1 there instead")
        return "your result contains NaN"
    guesses: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        guesses["the sign is flipped: compute (x - mean) / std, not (mean - x) / std"] = \
            -case.expected
        guesses["transform recomputed the mean and std from the data it was given; it must "
                "reuse the ones fit learned from the training data"] = reference_standardize(x, x)
        row_mean = x_train.mean(axis=1, keepdims=True)
        row_std = x_train.std(axis=1, keepdims=True)
        if x.shape == x_train.shape:
            guesses["wrong axis: you computed the statistics over each row (axis=1) instead "
                    "of each column (axis=0)"] = (x - row_mean) / row_std
        guesses["wrong axis: you used one mean and std for the whole array (no axis); "
                "standardize each column separately with axis=0"] = \
            (x - x_train.mean()) / x_train.std()
        guesses["you divided by the variance instead of the standard deviation"] = \
            (x - mean) / np.where(std == 0, 1.0, std**2)
        guesses["you used the unbiased std (ddof=1); use the population std, x.std(axis=0), "
                "as scikit-learn and batch normalization do"] = \
            (x - mean) / np.where(std == 0, 1.0, x_train.std(axis=0, ddof=1))
        guesses["you forgot to subtract the mean"] = x / safe_std
        guesses["you forgot to divide by the standard deviation"] = x - mean
    for message, wrong in guesses.items():
        if wrong.shape == g.shape and np.allclose(g, wrong, equal_nan=False):
            return message
    return None


def check_standard_scaler(learner_cls) -> Feedback:
    """Check a learner's scaler class with ``fit(x)`` and ``transform(x)`` methods.

    Runs ``learner_cls().fit(x_train)`` then ``.transform(x)`` on three cases (ordinary data,
    a constant column, train/new data) and names the mistake when one fails.
    """
    if not isinstance(learner_cls, type):
        return Feedback(False, "Not yet: pass your class itself, e.g. "
                               "check_standard_scaler(MyStandardScaler).",
                        [f"got {type(learner_cls).__name__} instead of a class"])
    return wrap_feedback(check_cases(_fit_then_transform(learner_cls),
                                     standard_scaler_cases(), diagnose=_diagnose))


#: Conceptual question: spread ratio of the problem shown and the learning-rate options.
DIVERGE_QUESTION = {"ratio": 5.0, "options": {"A": 0.001, "B": 0.01, "C": 0.05, "D": 0.2}}


def check_diverging_lr(answer) -> Feedback:
    """Which learning rate makes gradient descent diverge on the ratio-5 problem?

    The answer follows from the curvature along the steep direction: a step larger than
    2 / lambda_max overshoots further each time. Feedback explains every option.
    """
    p = make_problem(DIVERGE_QUESTION["ratio"])
    limit = p.lr_limit
    lam = p.eigenvalues[-1]
    feedback = {}
    correct = None
    for key, lr in DIVERGE_QUESTION["options"].items():
        if lr > limit:
            correct = key
            feedback[key] = (f"Yes: lr = {lr:g} is above 2 / lambda_max = 2 / {lam:.1f} = "
                             f"{limit:.3f}, so every step overshoots the steep direction by "
                             f"more than it corrects, and the error grows by a factor "
                             f"{abs(1 - lr * lam):.1f} per step.")
        elif lr > limit / 4:
            feedback[key] = (f"No: lr = {lr:g} is below the limit 2 / lambda_max = {limit:.3f}. "
                             f"It zigzags across the narrow valley (each step overshoots), but "
                             f"the zigzag shrinks, so the run converges.")
        else:
            feedback[key] = (f"No: lr = {lr:g} is far below the limit 2 / lambda_max = "
                             f"{limit:.3f}. The run converges, only slowly: it crawls along "
                             f"the long, flat axis of the ellipses.")
    return wrap_feedback(check_choice(answer, correct, feedback))


#: The spread ratio the widget exercise asks about.
LARGEST_LR_RATIO = 8


def largest_lr_target(spread_ratio: float = LARGEST_LR_RATIO) -> float:
    """The exact answer: gradient descent on the raw problem converges iff lr < 2 / lambda_max."""
    return make_problem(float(spread_ratio)).lr_limit


def check_largest_lr(spread_ratio: float, lr: float, standardized: bool,
                     target_ratio: float = LARGEST_LR_RATIO, tolerance: float = 0.15) -> Feedback:
    """Widget exercise: on the raw problem with ``target_ratio``, set the largest learning rate
    that still converges, within ``tolerance`` (relative) below the divergence limit."""
    return wrap_feedback(_check_largest_lr(spread_ratio, lr, standardized, target_ratio,
                                           tolerance))


def _check_largest_lr(spread_ratio, lr, standardized, target_ratio, tolerance) -> Feedback:
    if standardized:
        return Feedback(False, "Not yet: untick 'standardize'.",
                        ["The exercise is about the raw features, where the limit is tight."])
    if not np.isclose(spread_ratio, target_ratio):
        return Feedback(False, f"Not yet: set the spread ratio to {target_ratio:g} first.",
                        [f"it is {spread_ratio:g}"])
    limit = largest_lr_target(target_ratio)
    if lr >= limit:
        return Feedback(False, f"Not yet: lr = {lr:.4g} diverges.",
                        ["The loss grows at every step: lower the learning rate a little."])
    if lr < (1 - tolerance) * limit:
        return Feedback(False, f"Not yet: lr = {lr:.4g} converges, but a larger one still does.",
                        ["Raise it until the run just stops diverging."])
    return Feedback(True, f"Correct: lr = {lr:.4g} converges and is within "
                          f"{tolerance:.0%} of the limit 2 / lambda_max = {limit:.4g}.")
