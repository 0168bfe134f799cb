"""Checkers for chapter 2 (standardization and gradient descent).

* :func:`check_standard_scaler`: the learner writes a ``fit``/``transform`` class.
* :func:`check_fastest_lr`: which learning rate reaches the target loss in the fewest steps?
* :func:`check_largest_lr`: widget exercise, find the largest learning rate that converges.
"""
from __future__ import annotations

import numpy as np

from ..gd import contraction, explore, make_problem
from ._core import Case, Feedback, answer_array, check_cases, check_choice
from .scaling import wrap_feedback

__all__ = [
    "reference_standardize",
    "standard_scaler_cases",
    "check_standard_scaler",
    "FASTEST_LR_QUESTION",
    "check_fastest_lr",
    "fastest_lr_feedback",
    "RTOL",
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
    """Turn the learner's class into ``f(x_train, x) = cls().fit(x_train).transform(x)``,
    the chained call the spec promises (``fit`` returns ``self``)."""
    def run(x_train, x):
        return learner_cls().fit(x_train).transform(x)
    return run


def _fit_return_problem(learner_cls) -> Feedback | None:
    """Feedback if ``fit`` runs but does not return the scaler itself, else None."""
    try:
        scaler = learner_cls()
        returned = scaler.fit(np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]]))
    except Exception:  # noqa: BLE001 - placeholders and bugs are reported by check_cases
        return None
    if returned is scaler:
        return None
    got = "None (no return statement)" if returned is None else type(returned).__name__
    return Feedback(False, "Not yet: fit must return self.",
                    [f"fit returned {got}; end it with `return self`, so that "
                     f"MyStandardScaler().fit(x).transform(x) works, as in scikit-learn"])


#: Relative tolerance of the scaler check: loose enough for an epsilon of 1e-5 inside the
#: square root (batch normalization's habit; the test data have spreads of 2 and more).
RTOL = 1e-4


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
    g = answer_array(got)
    if g is None:
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
        for eps in (1e-3, 1e-2, 1e-1):
            guesses[f"you divide by sqrt(var + {eps:g}): an epsilon that large changes the "
                    f"result; use the plain std (an epsilon like batch normalization's 1e-5 "
                    f"would pass)"] = (x - mean) / np.sqrt(std**2 + eps)
    for message, wrong in guesses.items():
        if wrong.shape == g.shape and np.allclose(g, wrong, equal_nan=False):
            return message
    expected = np.asarray(case.expected, dtype=float)
    if np.all(np.isfinite(g)) and np.allclose(g, expected, rtol=1e-2, atol=1e-6):
        worst = np.max(np.abs(g - expected) / np.maximum(np.abs(expected), 1e-12))
        return (f"your values differ from the expected ones by up to {worst:.1e} (relative), "
                f"too small to see in the printout but above the tolerance {RTOL:g}; an "
                f"epsilon added to the variance, or a float32 computation?")
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
    problem = _fit_return_problem(learner_cls)
    if problem is not None:
        return wrap_feedback(problem)
    return wrap_feedback(check_cases(_fit_then_transform(learner_cls),
                                     standard_scaler_cases(), rtol=RTOL, diagnose=_diagnose))


#: Conceptual question: the spread ratio of the problem shown and the learning-rate options.
#: The answer is the option whose worse direction shrinks fastest per step (here "B"), not the
#: largest learning rate that converges.
FASTEST_LR_QUESTION = {"ratio": 5.0, "options": {"A": 0.03, "B": 0.07, "C": 0.079, "D": 0.085}}


def fastest_lr_feedback(ratio: float, options: dict) -> tuple[str, dict[str, str]]:
    """The correct key and the feedback per option of the fastest-learning-rate question.

    Each option's per-step error factors along the flat and the steep direction,
    ``|1 - lr * lam|`` (:func:`bnlib.gd.contraction`), decide: a factor above 1 diverges;
    otherwise the larger factor sets the speed, and the option with the smallest one wins.
    The step counts quoted are measured with :func:`bnlib.gd.explore`.
    """
    p = make_problem(float(ratio))
    lam_min, lam_max = p.eigenvalues
    factors = {k: contraction(p, lr) for k, lr in options.items()}
    converging = {k: f.max() for k, f in factors.items() if f.max() < 1}
    correct = min(converging, key=converging.get)
    feedback = {}
    for key, lr in options.items():
        flat, steep = factors[key]
        run = explore(ratio, lr, max_steps=20_000)
        where = (f"per step the flat direction shrinks by |1 - lr * lambda_min| = {flat:.3f} "
                 f"and the steep one by |1 - lr * lambda_max| = {steep:.3f}")
        if steep >= 1:
            feedback[key] = (f"No: lr = {lr:g} is above 2 / lambda_max = {p.lr_limit:.4f}; the "
                             f"steep direction's factor |1 - lr * lambda_max| = {steep:.3f} "
                             f"exceeds 1, so each step overshoots by more than it corrects "
                             f"and the run diverges.")
        elif key == correct:
            feedback[key] = (f"Yes: {where}. The slower of the two, {max(flat, steep):.3f}, "
                             f"is the smallest of the four options, so this run needs the "
                             f"fewest steps ({run.steps}). The best fixed step "
                             f"2 / (lambda_min + lambda_max) = "
                             f"{2 / (lam_min + lam_max):.4f} makes both factors equal.")
        elif 1 - lr * lam_max < 0:
            feedback[key] = (f"No: lr = {lr:g} converges, zigzagging (1 - lr * lambda_max is "
                             f"negative, so every step overshoots the valley floor), but {where}: "
                             f"so close to the limit the zigzag itself dies out slowly, and "
                             f"the run needs {run.steps} steps.")
        else:
            feedback[key] = (f"No: lr = {lr:g} does not overshoot the steep direction, but "
                             f"{where}: the run crawls along the flat axis and needs "
                             f"{run.steps} steps. A larger step is still safe.")
    return correct, feedback


def check_fastest_lr(answer) -> Feedback:
    """Which learning rate reaches the target loss in the fewest steps on the ratio-5 problem?

    Feedback explains every option with its two per-step factors and its measured steps.
    """
    correct, feedback = fastest_lr_feedback(FASTEST_LR_QUESTION["ratio"],
                                            FASTEST_LR_QUESTION["options"])
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
