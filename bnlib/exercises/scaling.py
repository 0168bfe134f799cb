"""Checkers for chapter 1 (min-max scaling).

* :func:`check_minmax`: the learner writes ``minmax(x_train, x)``.
* :func:`check_leakage`: why must the scaler not be fitted before the train/test split?
* :func:`check_outlier_squeeze`: widget exercise, find the outlier that squeezes the rest.
"""
from __future__ import annotations

import numpy as np

from ._core import Case, Feedback, answer_array, check_cases, check_choice, wrap_feedback

__all__ = [
    "wrap_feedback",
    "reference_minmax",
    "minmax_cases",
    "check_minmax",
    "LEAKAGE_OPTIONS",
    "LEAKAGE_FEEDBACK",
    "check_leakage",
    "SQUEEZE_BAND",
    "squeeze_threshold",
    "format_share",
    "check_outlier_squeeze",
]


def reference_minmax(x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Min-max scale ``x`` per column to [0, 1] with the min and max of ``x_train``.

    A constant training column (max == min) maps to 0, the lower end of the range.
    """
    x_train = np.asarray(x_train, dtype=float)
    lo = x_train.min(axis=0)
    span = x_train.max(axis=0) - lo
    return (np.asarray(x, dtype=float) - lo) / np.where(span == 0, 1.0, span)


def minmax_cases() -> list[Case]:
    """Cases for a learner's ``minmax(x_train, x)``."""
    bikes = np.array([[16.3, 162723.0], [3.6, 41210.0], [1.0, 13480.0], [0.4, 5120.0],
                      [19.8, 287305.0], [8.5, 97730.0]])  # age (years), distance (km)
    # price (rupees), dual SIM (0/1): a shop's "dual SIM" filter leaves a constant column
    phones = np.array([[14999.0, 1.0], [21999.0, 1.0], [54999.0, 1.0], [12999.0, 1.0]])
    train = np.array([[2.0, 30000.0], [4.0, 45000.0], [10.0, 130000.0], [6.0, 70000.0]])
    new = np.array([[1.0, 9000.0], [18.0, 310000.0], [6.0, 80000.0]])
    return [
        Case("ordinary data (6 bikes, scaled with their own min and max)", (bikes, bikes),
             reference_minmax(bikes, bikes),
             hint="per column: (x - x_train.min(axis=0)) / (x_train.max(axis=0) - "
                  "x_train.min(axis=0))"),
        Case("a constant column (only dual-SIM phones)", (phones, phones),
             reference_minmax(phones, phones),
             hint="where max == min, divide by 1 instead (np.where(span == 0, 1.0, span)); "
                  "the constant column then maps to 0"),
        Case("fit on train, apply to new data", (train, new), reference_minmax(train, new),
             hint="take min and max from x_train only; new values below the training minimum "
                  "become negative and above the maximum exceed 1, and that is correct"),
    ]


def _diagnose(case: Case, got) -> str | None:
    """Name the typical mistakes of min-max scaling."""
    x_train = np.asarray(case.args[0], dtype=float)
    x = np.asarray(case.args[1], dtype=float)
    g = answer_array(got)
    if g is None:
        return None
    expected = np.asarray(case.expected)
    if g.shape != expected.shape:
        if g.shape == x.T.shape:
            return "your result is transposed; keep one row per example, one column per feature"
        return None
    lo, hi = x_train.min(axis=0), x_train.max(axis=0)
    span = hi - lo
    if np.isnan(g).any():
        if (span == 0).any():
            return ("the constant column became NaN: max - min is 0 there and you divided by "
                    "it; divide by 1 instead so the column maps to 0")
        return "your result contains NaN"
    safe = np.where(span == 0, 1.0, span)
    guesses: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        guesses["the result is flipped (1 - expected): compute (x - min) / (max - min), not "
                "(max - x) / (max - min)"] = 1.0 - expected
        guesses["the sign is flipped: compute (x - min) / (max - min), not "
                "(min - x) / (max - min)"] = -expected
        guesses["you used the min and max of the data you scale instead of the training "
                "data's (fit on x_train, then apply to x)"] = reference_minmax(x, x)
        guesses["wrong axis: you used one min and max for the whole array; scale each column "
                "separately with axis=0"] = (x - x_train.min()) / (x_train.max() - x_train.min())
        if x.shape == x_train.shape:
            rlo = x_train.min(axis=1, keepdims=True)
            rspan = x_train.max(axis=1, keepdims=True) - rlo
            guesses["wrong axis: you took min and max over each row (axis=1) instead of each "
                    "column (axis=0)"] = (x - rlo) / rspan
        guesses["you divided by the maximum instead of by (max - min)"] = \
            (x - lo) / np.where(hi == 0, 1.0, hi)
        guesses["you forgot to subtract the minimum"] = x / safe
    for message, wrong in guesses.items():
        if wrong.shape == g.shape and np.all(np.isfinite(wrong)) and np.allclose(g, wrong):
            return message
    return None


def check_minmax(learner_fn) -> Feedback:
    """Check a learner's ``minmax(x_train, x)``: scale ``x`` per column to [0, 1] with the
    min and max of ``x_train``. Cases: ordinary data, a constant column, train/new data."""
    return wrap_feedback(check_cases(learner_fn, minmax_cases(), diagnose=_diagnose))


#: The options of the leakage question, as the notebook shows them (the answer is "D").
LEAKAGE_OPTIONS = {
    "A": "Nothing is wrong: the scaling is linear and loses no information, and fitting on "
         "more rows only makes the fitted minimum and maximum more accurate.",
    "B": "The scaled test values can then fall outside [0, 1], and a model trained only on "
         "values in [0, 1] does not know what to do with them.",
    "C": "It only wastes computation: the scaler is fitted on more rows than it needs, "
         "although the fitted minimum and maximum come out the same.",
    "D": "The minimum or maximum can come from a test row, so the training data is prepared "
         "with knowledge of the test set; the test score is no longer clean.",
}

#: Feedback per option of the leakage question.
LEAKAGE_FEEDBACK = {
    "A": "No: the scaling is indeed linear and loses no information, but that is not the "
         "point. The fitted minimum and maximum are learned from data; fitted on all rows, "
         "they contain something learned from the test rows.",
    "B": "No: it is the other way round. Fitting on everything guarantees that the test values "
         "land inside [0, 1]; fitted on the training data alone, new values may fall outside, "
         "and that is correct.",
    "C": "No: the minimum and maximum come out the same only if no test row lies beyond the "
         "training range; when one does, every scaled training value changes (the cell below "
         "measures by how much). Speed is not the issue.",
    "D": "Yes: whenever a test row holds a column's minimum or maximum, the training data is "
         "scaled with knowledge of the test set, so the test set is no longer unseen data. The "
         "resulting bias of the test score can go either way and is often small for a scaler, "
         "but it is not zero (Moscovich and Rosset, 2022), so keep the test rows out of every "
         "fit.",
}


def check_leakage(answer) -> Feedback:
    """Why is fitting the scaler on the whole data set, before the split, a mistake?"""
    return wrap_feedback(check_choice(answer, "D", LEAKAGE_FEEDBACK))


#: The widget exercise asks for the smallest outlier value that squeezes the other values
#: into the bottom ``SQUEEZE_BAND`` of the scaled range.
SQUEEZE_BAND = 0.10


def squeeze_threshold(others: np.ndarray, band: float = SQUEEZE_BAND) -> float:
    """The smallest outlier value that squeezes ``others`` into [0, band] after scaling.

    With the outlier above every other value, the others span
    (max - min) / (outlier - min) of [0, 1]; setting that to ``band`` gives the threshold.
    """
    others = np.asarray(others, dtype=float)
    lo, hi = others.min(), others.max()
    return float(lo + (hi - lo) / band)


def format_share(share: float, band: float = SQUEEZE_BAND) -> str:
    """A share of [0, 1] as a percentage with enough digits not to look equal to ``band``.

    ``format_share(0.1003)`` is "10.03%", not "10.0%": a value just above the target must not
    read as the target (the checker and a widget readout should both use this).
    """
    for digits in (1, 2, 3, 4):
        text = f"{share:.{digits}%}"
        if share == band or text != f"{band:.{digits}%}":
            return text
    return text


def check_outlier_squeeze(outlier: float, others: np.ndarray, band: float = SQUEEZE_BAND,
                          tolerance: float = 0.10) -> Feedback:
    """Widget exercise: drag the outlier to the smallest value at which the other values
    fill at most the bottom ``band`` of [0, 1] (within ``tolerance``, relative)."""
    return wrap_feedback(_check_outlier_squeeze(outlier, others, band, tolerance))


def _check_outlier_squeeze(outlier, others, band, tolerance) -> Feedback:
    others = np.asarray(others, dtype=float)
    lo, hi = others.min(), others.max()
    top = max(float(outlier), hi)
    bottom = min(float(outlier), lo)
    spread = (hi - lo) / (top - bottom)
    threshold = squeeze_threshold(others, band)
    if spread > band + 1e-12:
        return Feedback(False, f"Not yet: the other values still fill {format_share(spread, band)}"
                               f" of [0, 1], more than {band:.0%}.",
                        [f"Drag the outlier further out until they fill at most {band:.0%}."])
    if outlier > threshold * (1 + tolerance):
        return Feedback(False, f"Not yet: the others fill {format_share(spread, band)}, below "
                               f"{band:.0%}, but a smaller outlier already does that.",
                        ["Find the smallest value: drag the outlier back down a little."])
    return Feedback(True, f"Correct: at {outlier:,.0f} the other values fill "
                          f"{format_share(spread, band)} of "
                          f"[0, 1]; the threshold is min + (max - min) / {band:g} = "
                          f"{threshold:,.0f}.")
