"""Checkers for chapter 3c (batch normalization in a network).

* :func:`check_bias_question`: what happens to a bias that feeds a BN layer? (choice)
* :func:`check_noisy_question`: what does the noisy-BN experiment show? (choice)
* :func:`check_percentile_band`: the learner computes the 15th/50th/85th percentiles of one
  unit's inputs over a batch, as in Figure 1 (coding).
* :func:`check_bn_gap`: widget exercise on the Figure 1 explorer: find a learning rate and
  an init scale where BN makes the biggest difference.
"""
from __future__ import annotations

import numpy as np

from ._core import Case, Feedback, check_cases, check_choice

__all__ = [
    "BIAS_QUESTION",
    "check_bias_question",
    "NOISY_QUESTION",
    "check_noisy_question",
    "reference_percentile_band",
    "percentile_band_cases",
    "check_percentile_band",
    "GAP_TARGET",
    "check_bn_gap",
]

BIAS_QUESTION = """\
A Linear layer with a bias b feeds a BatchNorm1d layer (training
mode). What does b do?
  A. It shifts the BN output by b, so the layer gets two shifts:
     b and beta.
  B. It makes training unstable: b and beta fight over the same
     shift.
  C. In training mode the batch mean absorbs b, but in eval mode
     the layer subtracts its running mean instead, so there b
     shifts the output.
  D. Nothing: BN subtracts the batch mean, which contains b, so b
     never reaches the output and its gradient is zero; beta is
     the shift that is left."""

_BIAS_FEEDBACK = {
    "A": "b is added to every example of the batch, so it is also added to the batch mean; "
         "subtracting the mean removes it again. The output does not move.",
    "B": "b's gradient is exactly zero, so plain SGD never changes it: there is no fight, "
         "just a wasted parameter (weight decay would slowly shrink it to 0).",
    "C": "The running mean is an average of batch means that all contained b, so it "
         "contains b too, and eval mode subtracts it just as training mode subtracts the "
         "batch mean. b cancels in both modes (it never changes, since its gradient is 0).",
    "D": "Right: the batch mean absorbs b, the output is unchanged and dL/db = 0 "
         "(the cell above prints both). The bias is a redundant parameter: this chapter's "
         "network keeps it, which is harmless, and model code often drops it with "
         "bias=False.",
}


def check_bias_question(answer) -> Feedback:
    """Check the answer (a letter) to :data:`BIAS_QUESTION`."""
    return check_choice(answer, "D", _BIAS_FEEDBACK)


NOISY_QUESTION = """\
The noisy-BN net of this chapter adds, right after each BN layer, a
random shift and scale per unit, drawn anew at every step, plus
per-example noise. It trains about as well as the BN net. What
does that suggest?
  A. Keeping the input distributions fixed is not what makes BN
     help: the noise undoes that, yet the benefit stays.
  B. BN works because it keeps each layer's input distribution
     fixed.
  C. Nothing about internal covariate shift: the noise averages
     out over the 60 examples of a batch, so the layers above still
     see a stable distribution.
  D. Noise after BN always speeds training up, so every network
     should have it."""

_NOISY_FEEDBACK = {
    "A": "Right: the shift is put back on purpose and the benefit survives, so reducing "
         "internal covariate shift cannot be the whole story. Santurkar et al. point to a "
         "smoother loss landscape instead.",
    "B": "The noisy net's input distributions are not fixed: the noise moves them at every "
         "step, by construction. If fixed distributions were the reason, the noisy net "
         "should train like the plain one.",
    "C": "The noise does not average out: its mean and scale are drawn anew at every step "
         "and every example of the batch shares them, so the whole distribution the next "
         "layer sees moves from step to step, by construction. Averaging over the batch "
         "cannot remove a shift that all examples share.",
    "D": "The noisy net trains about as well as BN, not better; the experiment is a probe "
         "of an explanation, not a recipe.",
}


def check_noisy_question(answer) -> Feedback:
    """Check the answer (a letter) to :data:`NOISY_QUESTION`."""
    return check_choice(answer, "A", _NOISY_FEEDBACK)


def reference_percentile_band(z: np.ndarray, unit: int) -> np.ndarray:
    """15th, 50th and 85th percentiles over the batch (rows) of column ``unit`` of z."""
    z = np.asarray(z, dtype=float)
    return np.percentile(z[:, unit], [15, 50, 85])


def percentile_band_cases() -> list[Case]:
    """Cases for a learner's ``percentile_band(z, unit)``: z (N, units) -> array of 3."""
    rng = np.random.default_rng(3)
    small = np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [3.0, 40.0], [4.0, 50.0]])
    drifted = rng.normal(-2.0, 0.5, size=(60, 4)) + np.array([0.0, 1.0, 2.0, 3.0])
    wide = rng.normal(0.0, 3.0, size=(40, 6))
    return [
        Case("five rows, unit 1", (small, 1), reference_percentile_band(small, 1),
             hint="take column `unit` (z[:, unit]), then np.percentile(..., [15, 50, 85])"),
        Case("60 rows, unit 2", (drifted, 2), reference_percentile_band(drifted, 2),
             hint="percentiles go over the examples of the batch (the rows)"),
        Case("40 rows, unit 5", (wide, 5), reference_percentile_band(wide, 5),
             hint="return the three percentiles in increasing order: 15th, 50th, 85th"),
    ]


def _diagnose_band(case: Case, got) -> str | None:
    z, unit = np.asarray(case.args[0], dtype=float), case.args[1]
    try:
        g = np.asarray(got, dtype=float).ravel()
    except (TypeError, ValueError):
        return None
    if g.shape != (3,):
        if g.size == 3 * z.shape[1] or g.size == 3 * z.shape[0]:
            return ("you computed percentiles for every unit or every example; "
                    "keep only column `unit`")
        return None
    guesses = {
        "you used fractions: np.percentile expects percents (15, 50, 85); "
        "np.quantile takes 0.15, 0.5, 0.85": np.percentile(z[:, unit], [0.15, 0.5, 0.85]),
        "you took row `unit` (one example) instead of column `unit` (one unit)":
            np.percentile(z[unit], [15, 50, 85]) if unit < len(z) else None,
        "you took percentiles of the whole matrix; keep only column `unit`":
            np.percentile(z, [15, 50, 85]),
        "the order is reversed: return the 15th, then the 50th, then the 85th percentile":
            reference_percentile_band(z, unit)[::-1],
        "you returned mean - std, mean, mean + std; the task asks for percentiles":
            z[:, unit].mean() + np.array([-1.0, 0.0, 1.0]) * z[:, unit].std(),
    }
    for message, wrong in guesses.items():
        if wrong is not None and np.allclose(g, wrong):
            return message
    return None


#: np.percentile's methods (NumPy >= 1.22); every one is a valid percentile definition.
_PERCENTILE_METHODS = ("linear", "lower", "higher", "nearest", "midpoint", "inverted_cdf",
                       "averaged_inverted_cdf", "closest_observation",
                       "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                       "normal_unbiased")


def _other_definitions(column: np.ndarray) -> dict[str, np.ndarray]:
    """The band of one column under other valid percentile definitions, by name."""
    q = np.array([15.0, 50.0, 85.0])
    out = {}
    for method in _PERCENTILE_METHODS[1:]:
        out[f"np.percentile(..., method='{method}')"] = np.percentile(column, q, method=method)
    s, n = np.sort(column), len(column)
    for name, idx in (("sorted[int(q / 100 * n)]", (q / 100 * n).astype(int)),
                      ("sorted[int(q / 100 * (n - 1))]", (q / 100 * (n - 1)).astype(int)),
                      ("sorted[round(q / 100 * (n - 1))]", np.rint(q / 100 * (n - 1)).astype(int)),
                      ("sorted[ceil(q / 100 * n) - 1]", np.ceil(q / 100 * n).astype(int) - 1)):
        out[f"sort and index, {name}"] = s[np.clip(idx, 0, n - 1)]
    return out


def check_percentile_band(learner_fn) -> Feedback:
    """Check a learner's ``percentile_band(z, unit)``; name the mistake when it fails.

    NumPy's default (linear interpolation) is the reference, but any other standard
    definition (every ``method`` of ``np.percentile``, or sorting the column and indexing
    it) is accepted, and the feedback says which one it recognized.
    """
    if not callable(learner_fn):
        return check_cases(learner_fn, [])
    recognized: set[str] = set()

    def accepting(z, unit):
        got = learner_fn(z, unit)
        try:
            g = np.asarray(got, dtype=float).ravel()
            column = np.asarray(z, dtype=float)[:, unit]
        except (TypeError, ValueError, IndexError):
            return got
        reference = reference_percentile_band(z, unit)
        if g.shape == (3,) and not np.allclose(g, reference):
            for name, values in _other_definitions(column).items():
                if np.allclose(g, values):
                    recognized.add(name)
                    return reference
        return got

    feedback = check_cases(accepting, percentile_band_cases(), diagnose=_diagnose_band)
    if feedback.correct and recognized:
        feedback.details.append(
            "your values follow another valid definition of a percentile ("
            + "; ".join(sorted(recognized)) + "). np.percentile's default interpolates "
            "linearly between the two nearest values; the definitions differ by less than the "
            "gap between neighbouring values, so with many examples the band looks the same.")
    elif not feedback.correct and "failed" in feedback.title:
        feedback.details.append(
            "accepted: np.percentile or np.quantile with any method, or sorting the column "
            "and indexing it.")
    return feedback


#: The widget exercise's target: BN's final test accuracy beats the plain net's by this much.
GAP_TARGET = 0.5


def check_bn_gap(bn: bool, lr: float, init_scale: float, data: dict | None = None) -> Feedback:
    """Widget exercise: find a learning rate and an init scale where the BN net's final test
    accuracy beats the plain net's (same settings) by GAP_TARGET or more. The gap does not
    depend on ``bn`` (which network the explorer shows), so either setting is accepted.

    data: the Figure 1 grid (``load_cache("ch3c_figure1_grid")``, loaded when None).
    """
    from ..experiments import load_cache
    from ..experiments.figure1 import grid_key

    data = load_cache("ch3c_figure1_grid") if data is None else data
    key_bn, key_plain = grid_key(True, lr, init_scale), grid_key(False, lr, init_scale)
    if key_bn not in data["runs"]:
        return Feedback(False, "Not yet: that setting is not on the precomputed grid.",
                        [f"got lr={lr!r}, init_scale={init_scale!r}; use the sliders"])
    with_bn = data["runs"][key_bn]["test_acc"][-1]
    plain = data["runs"][key_plain]["test_acc"][-1]
    gap = with_bn - plain
    numbers = f"BN net {with_bn:.1%}, plain net {plain:.1%}: a gap of {100 * gap:+.1f} points"
    if gap >= GAP_TARGET:
        details = ["Here the plain sigmoid net barely learns in 2000 steps while the BN net "
                   "does; the benefit depends on the setting."]
        if not bn:
            details.append("(The gap is the same whichever network the explorer shows; "
                           "switch BN on to see the BN net's curves.)")
        return Feedback(True, f"Correct: {numbers}.", details)
    hint = ("try a very small or a very large learning rate, or a tiny or a huge init scale: "
            "where do plain sigmoids saturate or barely move?")
    return Feedback(False, f"Not yet: {numbers}; the target is a gap of at least "
                           f"{100 * GAP_TARGET:.0f} points.", [f"hint: {hint}"])
