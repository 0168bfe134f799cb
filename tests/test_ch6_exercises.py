"""Chapter 6's checkers: typical wrong answers get feedback naming the mistake; correct
answers written differently pass."""
import numpy as np
import pytest

from bnlib.exercises.family import (SCENARIOS, check_cube_target, check_group_norm,
                                    check_mean_shapes, check_scenario)


# --------------------------------------------------------------------------- group norm

def gn_reshape(x, num_groups, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    v = x.reshape(n, num_groups, -1)
    mu = v.mean(axis=2, keepdims=True)
    var = v.var(axis=2, keepdims=True)
    y = ((v - mu) / np.sqrt(var + eps)).reshape(x.shape)
    return gamma.reshape(1, c, 1, 1) * y + beta.reshape(1, c, 1, 1)


def gn_loops(x, num_groups, gamma, beta):
    """Another valid method: explicit loops, float32 arithmetic, manual variance."""
    out = np.empty_like(x)
    size = x.shape[1] // num_groups
    for i in range(x.shape[0]):
        for g in range(num_groups):
            block = x[i, g * size:(g + 1) * size].astype(np.float32)
            mu = block.sum() / block.size
            var = ((block - mu) ** 2).sum() / block.size
            out[i, g * size:(g + 1) * size] = (block - mu) / np.sqrt(var + 1e-5)
    return out * gamma[:, None, None] + beta[:, None, None]


def gn_rounded(x, num_groups, gamma, beta):
    return np.round(gn_reshape(x, num_groups, gamma, beta), 7)


@pytest.mark.parametrize("fn", [gn_reshape, gn_loops, gn_rounded])
def test_correct_group_norms_written_differently_pass(fn):
    fb = check_group_norm(fn)
    assert fb.correct, str(fb)


def batch_axes(x, g, gamma, beta):
    mu, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    return gamma[:, None, None] * (x - mu) / np.sqrt(var + 1e-5) + beta[:, None, None]


def layer_axes(x, g, gamma, beta):
    return gn_reshape(x, 1, gamma, beta)


def per_channel(x, g, gamma, beta):
    return gn_reshape(x, x.shape[1], gamma, beta)


def swapped(x, g, gamma, beta):  # num_groups read as channels per group
    return gn_reshape(x, x.shape[1] // g, gamma, beta)


def interleaved(x, g, gamma, beta):
    n, c, h, w = x.shape
    v = x.reshape(n, c // g, g, h, w)
    mu, var = v.mean(axis=(1, 3, 4), keepdims=True), v.var(axis=(1, 3, 4), keepdims=True)
    y = ((v - mu) / np.sqrt(var + 1e-5)).reshape(x.shape)
    return gamma[:, None, None] * y + beta[:, None, None]


def unbiased(x, g, gamma, beta):
    n, c = x.shape[:2]
    v = x.reshape(n, g, -1)
    y = ((v - v.mean(2, keepdims=True)) / np.sqrt(v.var(2, ddof=1, keepdims=True) + 1e-5))
    return gamma[:, None, None] * y.reshape(x.shape) + beta[:, None, None]


def no_affine(x, g, gamma, beta):
    return gn_reshape(x, g, np.ones_like(gamma), np.zeros_like(beta))


@pytest.mark.parametrize("fn, words", [
    (batch_axes, ["(N, H, W)", "batch norm"]),
    (layer_axes, ["(C, H, W)", "layer norm"]),
    (per_channel, ["instance norm", "one group per channel"]),
    (swapped, ["channels per group"]),
    (interleaved, ["interleaved"]),
    (unbiased, ["ddof=1"]),
    (no_affine, ["gamma and beta"]),
])
def test_typical_group_norm_mistakes_are_named(fn, words):
    fb = check_group_norm(fn)
    assert not fb.correct
    text = str(fb)
    for w in words:
        assert w in text, text


def test_group_norm_checker_survives_placeholders_and_crashes():
    def placeholder(*a):
        raise NotImplementedError

    assert "placeholder" in str(check_group_norm(placeholder))
    assert "raised" in str(check_group_norm(lambda x, g, gm, b: x.reshape(-1, 7)))
    assert "None" in str(check_group_norm(lambda *a: None))


def test_g1_and_gc_cases_catch_a_solution_that_only_handles_middle_groups():
    def only_two_groups(x, g, gamma, beta):
        return gn_reshape(x, 2 if x.shape[1] % 2 == 0 else 1, gamma, beta)
    fb = check_group_norm(only_two_groups)
    assert not fb.correct and "3 groups of 2" in str(fb)


# --------------------------------------------------------------------------- scenarios

@pytest.mark.parametrize("scenario, right", [("detection", "D"), ("style", "C"),
                                             ("transformer", "B")])
def test_scenarios_feedback_per_option(scenario, right):
    for letter in "ABCD":
        fb = check_scenario(scenario, letter.lower() if letter == "A" else letter)
        assert fb.correct == (letter == right)
        assert fb.details and fb.details[0] == SCENARIOS[scenario][1][letter]
    names = {"B": "layer norm", "C": "instance norm", "D": "group norm"}
    assert check_scenario(scenario, names[right].upper()).correct  # the name works too
    assert not check_scenario(scenario, "E").correct
    assert "one of" in check_scenario(scenario, "E").title


def test_correct_letters_are_not_always_in_the_same_position():
    assert len({s[2] for s in SCENARIOS.values()}) == len(SCENARIOS)


# --------------------------------------------------------------------------- shapes

def test_mean_shapes_accepts_plain_keepdims_and_lists():
    assert check_mean_shapes({"batch": (6,), "layer": (8,), "instance": (8, 6),
                              "group": (8, 3)}).correct
    assert check_mean_shapes({"BN": [1, 6, 1, 1], "LN": (8, 1, 1, 1), "IN": np.array([8, 6, 1, 1]),
                              "GN": (8, 3, 1, 1, 1)}).correct
    assert check_mean_shapes({"bn": 6, "ln": 8, "in": (8, 6), "gn": (8, 3, 1)}).correct


def test_mean_shapes_name_the_mistakes():
    fb = check_mean_shapes({"batch": (8,), "layer": (6,), "instance": (8, 6), "group": (8, 2)})
    text = str(fb)
    assert not fb.correct and "3 of 4" in text
    assert "layer-norm mean" in text and "batch-norm mean" in text
    assert "channels per group" in text
    fb = check_mean_shapes({"batch": (6,), "layer": (8,), "instance": (8, 6), "group": (8, 6)})
    assert "instance-norm mean" in str(fb)
    assert "no answer for group" in str(check_mean_shapes({"batch": (6,), "layer": (8,),
                                                            "instance": (8, 6)}))
    assert not check_mean_shapes([(6,)]).correct


# --------------------------------------------------------------------------- cube target

def test_cube_target():
    assert check_cube_target("group", 3).correct
    fb = check_cube_target(method="group", num_groups=2)
    assert not fb.correct and "3 channel(s)" in fb.title
    assert "all 6 channels" in str(check_cube_target("layer"))
    assert "every example" in str(check_cube_target("batch", 6))
