"""Shared machinery for exercise checkers: a verdict object and helpers that run a
learner's code defensively and describe what went wrong.

Every checker in :mod:`bnlib.exercises` returns a :class:`Feedback`. It prints as one or
more plain-text lines (what nbval compares) and renders as a coloured box in Jupyter.
"""
from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = [
    "Feedback",
    "Case",
    "check_cases",
    "check_number",
    "check_choice",
    "describe_array",
    "answer_array",
    "wrap_feedback",
]


@dataclass
class Feedback:
    """The verdict of a checker.

    correct: whether the answer passed every case.
    title: one line, e.g. "Correct: all 3 cases pass." or "Not yet: case 'constant column' failed."
    details: further lines (expected vs. got, a hint).
    """

    correct: bool
    title: str
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        # No emoji mark: it renders as an empty box where no emoji font is installed, and the
        # title already starts with "Correct:" or "Not yet:".
        lines = [self.title] + [f"   {d}" for d in self.details]
        return "\n".join(lines)

    def __repr__(self) -> str:  # what nbval compares (text/plain)
        return str(self)

    def __bool__(self) -> bool:
        return self.correct

    def _repr_html_(self) -> str:
        colour = "#0b7a3e" if self.correct else "#b3261e"
        background = "#e8f5ee" if self.correct else "#fdecea"
        status = "bn-feedback-correct" if self.correct else "bn-feedback-not-yet"
        body = "".join(f"<li>{html.escape(d)}</li>" for d in self.details)
        body = f"<ul style='margin:0.3em 0 0 0'>{body}</ul>" if body else ""
        return (
            f"<div class='bn-feedback {status}' role='status' style='border-left:4px solid "
            f"{colour};background:{background};padding:0.5em 0.8em;margin:0.3em 0'>"
            f"<strong>{html.escape(self.title)}</strong>{body}</div>"
        )


def describe_array(a: Any, max_items: int = 6) -> str:
    """A short, readable description of an answer: its shape and first values."""
    if isinstance(a, np.ndarray):
        flat = np.asarray(a).ravel()
        shown = np.array2string(flat[:max_items], precision=4, separator=", ")
        more = ", ..." if flat.size > max_items else ""
        return f"array of shape {a.shape} {shown[:-1]}{more}]"
    if isinstance(a, (float, np.floating)):
        return f"{float(a):.6g}"
    return repr(a)


@dataclass
class Case:
    """One test case for a coding exercise.

    name: shown to the learner ("constant column").
    args: positional arguments for the learner's function.
    expected: the reference result (array, number or tuple of arrays).
    hint: shown when this case fails.
    """

    name: str
    args: tuple
    expected: Any
    hint: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def _compare(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """Return None if got matches expected, else a sentence saying how it differs."""
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else 1
            return f"expected {len(expected)} return values, got {n}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = _compare(g, e, rtol, atol)
            if problem:
                return f"return value {i + 1}: {problem}"
        return None
    if got is None:
        return "your function returned None (did you forget `return`?)"
    try:
        g = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"expected numbers, got {type(got).__name__}"
    e = np.asarray(expected, dtype=float)
    if g.shape != e.shape:
        return f"expected shape {e.shape}, got shape {g.shape}"
    if np.isnan(g).any() and not np.isnan(e).any():
        return f"your result contains NaN (expected {describe_array(e)}); a division by zero?"
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return f"expected {describe_array(e)}, got {describe_array(g)}"
    return None


def check_cases(
    learner_fn: Callable[..., Any],
    cases: Sequence[Case],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    diagnose: Callable[[Case, Any], str | None] | None = None,
) -> Feedback:
    """Run ``learner_fn`` on every case and report the first failure precisely.

    Exceptions raised by the learner's code become feedback, never a traceback.
    ``diagnose(case, got)`` may return a sentence naming a typical mistake (wrong axis,
    wrong sign, ...); it is added to the feedback of a failed case.
    """
    if not callable(learner_fn):
        return Feedback(False, "Not yet: pass your function itself, e.g. check(my_function).",
                        [f"got {type(learner_fn).__name__} instead of a function"])
    for case in cases:
        args = tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in case.args)
        try:
            got = learner_fn(*args, **dict(case.kwargs))
        except NotImplementedError:
            return Feedback(False, "Not yet: the function is still a placeholder.",
                            ["Replace `raise NotImplementedError` with your code."])
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything
            return Feedback(False, f"Not yet: case '{case.name}' raised {type(exc).__name__}.",
                            [f"message: {exc}"] + ([f"hint: {case.hint}"] if case.hint else []))
        problem = _compare(got, case.expected, rtol, atol)
        if problem:
            details = [problem]
            if diagnose is not None:
                guess = diagnose(case, got)
                if guess:
                    details.append(f"likely mistake: {guess}")
            if case.hint:
                details.append(f"hint: {case.hint}")
            return Feedback(False, f"Not yet: case '{case.name}' failed.", details)
    return Feedback(True, f"Correct: all {len(cases)} cases pass.")


def check_number(
    answer: Any,
    expected: float,
    *,
    rtol: float = 1e-3,
    atol: float = 0.0,
    wrong_answers: Mapping[float, str] | None = None,
    name: str = "your answer",
    unit: str = "",
) -> Feedback:
    """Check a numeric answer; ``wrong_answers`` maps known wrong values to targeted feedback."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"Not yet: {name} should be a number.", [f"got {answer!r}"])
    if np.isnan(value):
        return Feedback(False, f"Not yet: {name} is NaN.", ["Replace the placeholder with a number."])
    if np.isclose(value, expected, rtol=rtol, atol=atol):
        return Feedback(True, f"Correct: {name} = {value:.6g}{unit}.")
    for wrong, message in (wrong_answers or {}).items():
        if np.isclose(value, wrong, rtol=rtol, atol=atol):
            return Feedback(False, f"Not yet: {name} = {value:.6g}{unit}.", [message])
    direction = "too large" if value > expected else "too small"
    return Feedback(False, f"Not yet: {name} = {value:.6g}{unit} is {direction}.")


def check_choice(answer: Any, correct: str, feedback: Mapping[str, str]) -> Feedback:
    """Check a multiple-choice answer (a letter); ``feedback`` explains every option."""
    options = sorted(feedback)
    key = str(answer).strip().upper() if answer is not None else ""
    if key not in feedback:
        return Feedback(False, f"Not yet: answer with one of {', '.join(options)}.",
                        [f"got {answer!r}"])
    return Feedback(key == correct.upper(),
                    ("Correct: " if key == correct.upper() else "Not yet: ") + f"you chose {key}.",
                    [feedback[key]])


def answer_array(got) -> np.ndarray | None:
    """A learner's answer as a float array, or None when it is not array-like (the checker
    reports that itself; a diagnosis then has nothing to add)."""
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def wrap_feedback(feedback: Feedback, width: int = 72) -> Feedback:
    """Break the title and each detail of ``feedback`` into lines of at most ``width`` chars.

    Used by the checkers of chapters 01-02, whose verdicts quote long sentences; the other
    chapters' verdicts are short and printed as they are (wrapping them now would change
    their stored outputs for no reader's gain).

    Printed verdicts then fit the book's output boxes (which do not wrap); the HTML form is
    unchanged, since a line break inside a sentence renders as a space. Details that show
    an array stay on one line.
    """
    def wrap(text: str, indent: str) -> str:
        if "array of shape" in text:  # keep an array's printout on one line
            return text
        lines = textwrap.wrap(text, width=width, break_on_hyphens=False,
                              break_long_words=False)
        return ("\n" + indent).join(lines) if lines else text
    return Feedback(feedback.correct, wrap(feedback.title, "  "),
                    [wrap(d, "   ") for d in feedback.details])
