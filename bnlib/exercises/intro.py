"""Checkers for the "how to use this book" page: a widget, a choice and a coding exercise."""
from __future__ import annotations

import numpy as np

from ._core import Case, Feedback, answer_array, check_cases, check_choice

__all__ = ["zscore_cases", "check_zscore", "check_standardize_widget", "check_intro_modes",
           "INTRO_MODES_FEEDBACK"]


def _reference_zscore(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / x.std()


def zscore_cases() -> list[Case]:
    """The cases a learner's ``zscore(x)`` (1-D array in, z-scores out) must pass."""
    simple = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    shifted = np.array([100.0, 102.0, 104.0, 98.0])
    negative = np.array([-3.0, -1.0, -2.0, -6.0, 0.0])
    return [
        Case("five numbers", (simple,), _reference_zscore(simple),
             hint="subtract the mean, then divide by the standard deviation"),
        Case("large values", (shifted,), _reference_zscore(shifted),
             hint="use the mean of x itself, not 0"),
        Case("negative values", (negative,), _reference_zscore(negative),
             hint="np.std divides by n by default, which is what we want here"),
    ]


def _diagnose(case: Case, got) -> str | None:
    """Name the typical mistakes: wrong sign, unbiased std, forgot to center or to scale."""
    x = np.asarray(case.args[0], dtype=float)
    g = answer_array(got)
    if g is None:
        return None
    if g.shape != x.shape:
        return None
    guesses = {
        "the sign is flipped: compute (x - mean) / std, not (mean - x) / std": -case.expected,
        "you divided by the unbiased std (ddof=1); use x.std() (divides by n)":
            (x - x.mean()) / x.std(ddof=1),
        "you forgot to subtract the mean": x / x.std(),
        "you forgot to divide by the standard deviation": x - x.mean(),
        "you divided by the variance instead of the standard deviation": (x - x.mean()) / x.var(),
    }
    for message, wrong in guesses.items():
        if np.allclose(g, wrong):
            return message
    return None


def check_zscore(learner_fn) -> Feedback:
    """Check a learner's ``zscore(x)`` on a few 1-D arrays; name the mistake when it fails."""
    return check_cases(learner_fn, zscore_cases(), diagnose=_diagnose)


def check_standardize_widget(center: float, spread: float) -> Feedback:
    """Widget exercise: set the sample's center to -5 and its spread to 4.

    Whatever the sliders say, the z-scores keep mean 0 and std 1; the exercise makes the
    reader move both sliders and see that.
    """
    target = {"center": -5.0, "spread": 4.0}
    off = []
    if not np.isclose(center, target["center"]):
        off.append(f"center is {center:g}; set it to {target['center']:g}")
    if not np.isclose(spread, target["spread"]):
        off.append(f"spread is {spread:g}; set it to {target['spread']:g}")
    if off:
        return Feedback(False, "Not yet: move the sliders to the target.", off)
    return Feedback(True, "Correct: center -5, spread 4, and the z-scores still have mean 0, std 1.")


# What happens in the web book when a reader moves a widget's slider (the right answer is C).
INTRO_MODES_FEEDBACK = {
    "A": "The web book runs no Python at all, neither in your browser nor anywhere else: "
         "that is why it works offline. The figures were drawn when the book was built.",
    "B": "Every control of every widget works in the web book: it switches between "
         "positions computed when the book was built.",
    "C": "The book drew the figure for every position of the slider when it was built, with "
         "the widget's own drawing code, so you see what the live widget draws there.",
    "D": "There is no server behind the pages: they work offline, from the files of the "
         "built book alone.",
}


def check_intro_modes(answer) -> Feedback:
    """Choice exercise: what moving a slider does in the web book (A, B, C or D)."""
    if answer is None:
        return Feedback(False, "Not yet: choose A, B, C or D, then press Check.")
    return check_choice(answer, "C", INTRO_MODES_FEEDBACK)
