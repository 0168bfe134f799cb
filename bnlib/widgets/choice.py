"""A multiple-choice (or pick-a-number) exercise on the widget base: options and a Check.

    from bnlib.exercises.gamma_beta import check_affine_false
    quiz = ChoiceExercise(["A", "B", "C", "D"], check_affine_false)
    quiz.widget          # live: radio buttons + Check; web book: the verdict of each option

The checker is called with the chosen option's value and returns a
:class:`bnlib.exercises.Feedback`; the web book shows that exact feedback for every option.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import ipywidgets as widgets

from ..exercises._core import Feedback
from ._core import Widget

__all__ = ["ChoiceExercise"]

_KINDS = {"radio": widgets.RadioButtons, "toggle": widgets.ToggleButtons,
          "dropdown": widgets.Dropdown, "slider": widgets.SelectionSlider}


class ChoiceExercise(Widget):
    """Options as a control and a Check that runs ``check(value)``.

    options: the values, or (label, value) pairs ("A", 16, ("16 examples", 16), ...).
    check: ``check(value) -> Feedback`` (for a letter, e.g. a function built on
    :func:`bnlib.exercises.check_choice`). It must accept every option (and None, nothing
    chosen yet, in the live notebook).
    kind: "radio" (default), "toggle", "dropdown" or "slider" (a number picked from a set;
    a slider always holds a value, the first option unless ``value`` says otherwise).
    value: the option chosen at the start (default: none, except for a slider).
    Attributes for tests: ``choice`` (the control), ``check`` (CheckButton), ``widget``.
    """

    def __init__(self, options: Sequence[Any], check: Callable[[Any], Feedback], *,
                 description: str = "answer", kind: str = "radio", value: Any = None,
                 check_label: str = "Check"):
        super().__init__()
        if kind not in _KINDS:
            raise ValueError(f"ChoiceExercise: kind is {kind!r}; expected one of "
                             f"{sorted(_KINDS)}")
        options = list(options)
        if len(options) < 2:
            raise ValueError(f"ChoiceExercise: options must hold at least 2 choices, got "
                             f"{options!r}")
        kwargs = {"options": options, "description": description,
                  "style": {"description_width": "initial"}}
        if value is not None or kind != "slider":
            kwargs["value"] = value
        self.choice = self.add_control(_KINDS[kind](**kwargs))
        self.check_function = check
        self.check = self.add_check(lambda: {"answer": self.choice.value},
                                    lambda answer: check(answer), description=check_label)
        self.build(self.choice, self.check)

    def update(self) -> Any:
        """Nothing to draw: a new choice clears the previous verdict."""
        self.check.result.value = ""
        return self.choice.value
