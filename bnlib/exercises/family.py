"""Checkers for chapter 6 (the normalization family).

- :func:`check_group_norm`: coding, the forward pass of group normalization on (N, C, H, W),
  checked on cases that include G = 1, G = C and channel counts where confusing "number of
  groups" with "channels per group" gives a different answer; a failed case names the axes
  the learner's code most likely normalized over.
- :func:`check_scenario`: choice, which normalization fits a scenario (feedback per option).
- :func:`check_mean_shapes`: predict the shape of the mean each method computes.
- :func:`check_cube_target`: widget exercise (the cube), make one mean cover exactly two
  channels of one example.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from ..normalization import groupnorm_forward, statistics_shape
from ._core import Case, Feedback, answer_array, check_cases, check_choice

__all__ = [
    "group_norm_cases",
    "check_group_norm",
    "SCENARIOS",
    "check_scenario",
    "MEAN_SHAPE_INPUT",
    "check_mean_shapes",
    "CUBE_SHAPE",
    "check_cube_target",
]


# --------------------------------------------------------------------------- coding

def _normalize(x, axes, eps, ddof=0):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    return (x - mean) / np.sqrt(var + eps)


def _affine(x_hat, gamma, beta):
    return x_hat * gamma[None, :, None, None] + beta[None, :, None, None]


def _grouped(x, groups, eps, interleaved=False):
    n, c, h, w = x.shape
    if interleaved:  # channel k in group k % G
        v = x.reshape(n, c // groups, groups, h, w)
        return _normalize(v, (1, 3, 4), eps).reshape(x.shape)
    v = x.reshape(n, groups, c // groups, h, w)
    return _normalize(v, (2, 3, 4), eps).reshape(x.shape)


def _typical_mistakes(x, groups, gamma, beta, eps) -> dict:
    """What common wrong implementations return on this case, by name."""
    c = x.shape[1]
    out = {
        "the statistics were taken over (N, H, W) for each channel: that is batch norm; "
        "group norm never mixes examples": _affine(_normalize(x, (0, 2, 3), eps), gamma, beta),
        "the statistics were taken over all of (C, H, W) of each example: that is layer norm "
        "(group norm with G = 1); split the channels into num_groups groups first":
            _affine(_normalize(x, (1, 2, 3), eps), gamma, beta),
        "each channel was normalized on its own over (H, W): that is instance norm (one group "
        "per channel); group norm puts C / G channels in each group":
            _affine(_normalize(x, (2, 3), eps), gamma, beta),
        "the groups look interleaved (channel k in group k % G): reshape to (N, G, C // G, H, W) "
        "so that each group holds consecutive channels":
            _affine(_grouped(x, groups, eps, interleaved=True), gamma, beta),
        "the variance looks unbiased (ddof=1); normalization uses the biased variance "
        "(divide by the number of values)":
            _affine(_normalize(x.reshape(x.shape[0], groups, -1), 2, eps, ddof=1)
                    .reshape(x.shape), gamma, beta),
        "gamma and beta were not applied (or applied per group instead of per channel)":
            _grouped(x, groups, eps),
    }
    if c % (c // groups) == 0 and c // groups != groups:
        out["num_groups was used as the number of channels per group: with C channels and G "
            "groups, each group has C // G channels"] = _affine(
                _grouped(x, c // groups, eps), gamma, beta)
    return out


def group_norm_cases() -> list[Case]:
    """The cases the coding exercise runs (fixed seed: the same for every learner)."""
    rng = np.random.default_rng(6)

    def case(name, shape, groups, hint):
        x = rng.normal(size=shape) * rng.uniform(0.5, 3.0, (1, shape[1], 1, 1)) \
            + rng.normal(size=(1, shape[1], 1, 1))
        gamma, beta = rng.uniform(0.5, 2.0, shape[1]), rng.normal(size=shape[1])
        expected = groupnorm_forward(x, groups, gamma, beta, 1e-5)[0]
        return Case(name, (x, groups, gamma, beta), expected, hint)

    return [
        case("6 channels in 2 groups of 3", (2, 6, 3, 3), 2,
             "Reshape x to (N, G, C // G, H, W) and average over the last three axes."),
        case("6 channels in 3 groups of 2", (3, 6, 2, 4), 3,
             "num_groups is the number of groups, not the number of channels in a group."),
        case("G = 1 (layer norm over C, H, W)", (2, 4, 3, 2), 1,
             "With one group, all channels of an example share one mean."),
        case("G = C (one group per channel: instance norm)", (2, 4, 2, 3), 4,
             "With G = C every channel is its own group."),
        case("a batch of one image", (1, 8, 2, 2), 4,
             "Group norm does not use the batch: a single image works."),
    ]


def _diagnose(case: Case, got: Any) -> str | None:
    x, groups, gamma, beta = case.args
    g = answer_array(got)
    if g is None:
        return None
    if g.shape != x.shape:
        return None
    for sentence, wrong in _typical_mistakes(x, groups, gamma, beta, 1e-5).items():
        if np.allclose(g, wrong, atol=1e-6) and not np.allclose(wrong, case.expected, atol=1e-6):
            return sentence
    return None


def check_group_norm(learner_fn: Callable) -> Feedback:
    """Check ``learner_fn(x, num_groups, gamma, beta) -> y``, group norm forward with
    eps = 1e-5, x (N, C, H, W), gamma and beta (C,)."""
    return check_cases(learner_fn, group_norm_cases(), rtol=1e-5, atol=1e-6,
                       diagnose=_diagnose)


# --------------------------------------------------------------------------- choice

#: Scenario -> (question, {letter: (option, feedback)}, correct letter).
_OPTIONS = {"A": "batch norm", "B": "layer norm", "C": "instance norm", "D": "group norm"}

SCENARIOS = {
    "detection": (
        "An object detector is trained on large images, so only 2 images fit in memory per "
        "step. Which normalization suits its conv layers?",
        {"A": "Not here: with 2 images per batch the batch statistics are noisy and differ "
              "from the running statistics used at test time; this is exactly where Wu & He "
              "saw batch norm's error grow.",
         "B": "It works without the batch, but putting all channels of an image in one group "
              "is a strong constraint for a conv net; Wu & He found it clearly worse than "
              "group norm on images.",
         "C": "It works without the batch, but each channel alone is a small sample and its "
              "contrast is removed; on recognition tasks it was the weakest of the family.",
         "D": "Group norm does not depend on the batch size and keeps groups of related "
              "channels together: the method designed for this case."},
        "D"),
    "style": (
        "A style-transfer network should render every input photo in one painting's style, "
        "whatever the photo's contrast. Which normalization suits it?",
        {"A": "Batch norm mixes the statistics of different photos, so each output depends on "
              "the other photos in the batch, and it keeps each photo's contrast.",
         "B": "Layer norm removes one mean and one scale per image, but keeps the contrast "
              "between its channels, which carries the photo's own style.",
         "C": "Instance norm removes each channel's mean and contrast per image, so the "
              "input's contrast cannot leak into the output: why Ulyanov et al. used it.",
         "D": "Group norm with G < C keeps some per-channel contrast inside each group; with "
              "G = C it is instance norm, the usual choice here."},
        "C"),
    "transformer": (
        "A transformer language model processes sequences of tokens, (N, T, D), with batches "
        "whose sequences have different lengths. Which normalization suits it?",
        {"A": "Batch norm would average over other sequences and over padded positions; its "
              "statistics change with the batch's mix of lengths. Transformers do not use it.",
         "B": "Layer norm normalizes each token over its D features, independent of the batch "
              "and of the sequence length (RMSNorm, its uncentred variant, is common too).",
         "C": "Instance norm has no natural meaning for tokens: it would normalize each "
              "feature over the positions of one sequence, mixing tokens and padding.",
         "D": "Group norm is defined on channels of images; on tokens, one group of all D "
              "features is layer norm, the actual choice."},
        "B"),
}


def check_scenario(scenario: str, answer: Any) -> Feedback:
    """Check the letter chosen for one of ``SCENARIOS`` ("detection", "style",
    "transformer"); A batch norm, B layer norm, C instance norm, D group norm."""
    if scenario not in SCENARIOS:
        return Feedback(False, f"Not yet: unknown scenario {scenario!r}.",
                        [f"choose one of {sorted(SCENARIOS)}"])
    _, feedback, correct = SCENARIOS[scenario]
    if isinstance(answer, str) and answer.strip().lower() in {v for v in _OPTIONS.values()}:
        answer = {v: k for k, v in _OPTIONS.items()}[answer.strip().lower()]
    return check_choice(answer, correct, feedback)


# --------------------------------------------------------------------------- shapes

#: The input of the shape exercise: x of shape (N, C, H, W) = (8, 6, 4, 4), group norm G = 3.
MEAN_SHAPE_INPUT = {"shape": (8, 6, 4, 4), "num_groups": 3}
_KEY = {"batch": "batch", "bn": "batch", "layer": "layer", "ln": "layer",
        "instance": "instance", "in": "instance", "group": "group", "gn": "group"}


def _as_shape(value):
    try:
        return tuple(int(v) for v in np.atleast_1d(value))
    except (TypeError, ValueError):
        return None


def _shape_mistake(method, got, shape, groups) -> str:
    n, c, h, w = shape
    names = {statistics_shape(m, shape, groups): m for m in ("batch", "layer", "instance")}
    names[statistics_shape("group", shape, groups)] = "group"
    if method == "group" and got == (n, c // groups):
        return (f"(N, C // G) = {got} counts channels per group; the mean has one value per "
                f"example and group: (N, G)")
    if got in names and names[got] != method:
        return f"{got} is the shape of the {names[got]}-norm mean"
    if len(got) == 4:
        return "drop the averaged dimensions (or compare with keepdims=True shapes of length 4)"
    return "count one value per group of values that share a mean"


def check_mean_shapes(answers: Mapping[str, Any]) -> Feedback:
    """Check the predicted shape of the mean for each method on x of shape (8, 6, 4, 4) with
    G = 3. answers: {"batch": (...), "layer": ..., "instance": ..., "group": ...} (also "bn",
    "ln", "in", "gn"); shapes as tuples, without the averaged dimensions, or with them kept
    as size 1 (NumPy's ``keepdims=True``: (1, 6, 1, 1) for batch norm)."""
    shape, groups = MEAN_SHAPE_INPUT["shape"], MEAN_SHAPE_INPUT["num_groups"]
    if not isinstance(answers, Mapping):
        return Feedback(False, "Not yet: give a dict such as {'batch': (6,), ...}.",
                        [f"got {type(answers).__name__}"])
    given = {}
    for k, v in answers.items():
        key = _KEY.get(str(k).strip().lower())
        if key:
            given[key] = v
    missing = [m for m in ("batch", "layer", "instance", "group") if m not in given]
    if missing:
        return Feedback(False, f"Not yet: no answer for {', '.join(missing)}.",
                        ["give one shape per method"])
    problems = []
    n, c, h, w = shape
    kept = {"batch": (1, c, 1, 1), "layer": (n, 1, 1, 1), "instance": (n, c, 1, 1)}
    for m in ("batch", "layer", "instance", "group"):
        got = _as_shape(given[m])
        want = statistics_shape(m, shape, groups)
        ok = got == want or got == kept.get(m) or (m == "group" and got in (
            (n, groups, 1), (n, groups, 1, 1, 1)))
        if got is None:
            problems.append(f"{m}: {given[m]!r} is not a shape")
        elif not ok:
            problems.append(f"{m}: {got} is not right; {_shape_mistake(m, got, shape, groups)}")
    if problems:
        return Feedback(False, f"Not yet: {len(problems)} of 4 shapes are wrong.", problems)
    return Feedback(True, "Correct: all 4 shapes.",
                    [f"batch {statistics_shape('batch', shape)}, layer "
                     f"{statistics_shape('layer', shape)}, instance "
                     f"{statistics_shape('instance', shape)}, group "
                     f"{statistics_shape('group', shape, groups)}"])


# --------------------------------------------------------------------------- widget

#: The cube widget's batch: 4 examples, 6 channels, 3 x 3 positions.
CUBE_SHAPE = (4, 6, 3, 3)


def check_cube_target(method: str, num_groups: int = 1) -> Feedback:
    """Widget exercise: set the cube so that one mean covers exactly two channels of one
    example. method, num_groups: the widget's controls."""
    groups = int(num_groups)
    c = CUBE_SHAPE[1]
    if method == "group" and c // groups == 2:
        return Feedback(True, f"Correct: group norm with G = {groups} puts {c // groups} "
                        f"channels of one example in each group.")
    hints = {
        "batch": "Batch norm's highlighted cells span every example: one channel of all of them.",
        "layer": "Layer norm covers all 6 channels of the example, not 2.",
        "instance": "Instance norm covers one channel of one example.",
    }
    if method == "group":
        return Feedback(False, f"Not yet: G = {groups} gives {c // groups} channel(s) per group.",
                        [f"C / G should be 2 with C = {c}."])
    return Feedback(False, "Not yet: that method cannot cover exactly two channels.",
                    [hints.get(method, f"unknown method {method!r}")])
