"""Chapter 3 (algorithm; training vs. inference) checkers: right answers pass, typical wrong
answers fail with feedback that names the mistake."""
import numpy as np
import pytest

from bnlib.batchnorm import batchnorm_backward, batchnorm_forward
from bnlib.exercises import batchnorm as ex
from bnlib.gradcheck import numerical_gradient, relative_error


def text(feedback):
    return str(feedback).lower()


# ------------------------------------------------------------------------------- forward

def forward_ok(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_forward_reference_passes():
    fb = ex.check_batchnorm_forward(forward_ok)
    assert fb.correct, str(fb)


def test_forward_accepts_y_cache_pair():
    fb = ex.check_batchnorm_forward(lambda x, g, b, eps=1e-5: batchnorm_forward(x, g, b, eps))
    assert fb.correct, str(fb)


@pytest.mark.parametrize("fn, words", [
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(1, keepdims=True))
     / np.sqrt(x.var(1, keepdims=True) + eps) + b, ["wrong axis", "axis=1"]),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(1)) / np.sqrt(x.var(1) + eps) + b,
     ["raised", "wrong axis"]),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean()) / np.sqrt(x.var() + eps) + b,
     ["wrong axis", "whole array"]),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + b,
     ["unbiased variance"]),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / (x.std(0) + eps) + b,
     ["eps in the wrong place"]),
    (lambda x, g, b, eps=1e-5: g * (x - x.mean(0)) / (x.var(0) + eps) + b,
     ["square root"]),
    (lambda x, g, b, eps=1e-5: g * (x.mean(0) - x) / np.sqrt(x.var(0) + eps) + b,
     ["wrong sign"]),
    (lambda x, g, b, eps=1e-5: b * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + g,
     ["swapped"]),
    (lambda x, g, b, eps=1e-5: (x - x.mean(0)) / np.sqrt(x.var(0) + eps),
     ["missing scale and shift"]),
    (lambda x, g, b, eps=1e-5: x.mean(0), ["shape", "one number per feature"]),
    (lambda x, g, b, eps=1e-5: None, ["returned none"]),
])
def test_forward_mistakes_are_named(fn, words):
    with np.errstate(all="ignore"):
        fb = ex.check_batchnorm_forward(fn)
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)


def test_forward_missing_eps_is_named():
    def no_eps(x, g, b, eps=1e-5):
        with np.errstate(all="ignore"):
            return g * (x - x.mean(0)) / np.sqrt(x.var(0)) + b
    fb = ex.check_batchnorm_forward(no_eps)
    assert not fb.correct and "missing eps" in text(fb), str(fb)


def test_forward_nan_names_eps():
    def nan_on_constant(x, g, b, eps=1e-5):
        std = x.std(0)
        with np.errstate(all="ignore"):
            y = g * (x - x.mean(0)) / np.where(std == 0, 0.0, np.sqrt(std**2 + eps)) + b
        return y
    fb = ex.check_batchnorm_forward(nan_on_constant)
    assert not fb.correct
    assert "nan" in text(fb) and "eps" in text(fb), str(fb)


def test_forward_exception_and_placeholder():
    def boom(x, g, b, eps=1e-5):
        raise KeyError("oops")

    def todo(x, g, b, eps=1e-5):
        raise NotImplementedError
    assert "raised keyerror" in text(ex.check_batchnorm_forward(boom))
    assert "placeholder" in text(ex.check_batchnorm_forward(todo))
    assert "function" in text(ex.check_batchnorm_forward(3))


def test_forward_wrong_shape_is_named():
    fb = ex.check_batchnorm_forward(lambda x, g, b, eps=1e-5: forward_ok(x, g, b, eps).T)
    assert not fb.correct and "shape" in text(fb), str(fb)


# ------------------------------------------------------------------------------ backward

def test_backward_reference_passes():
    fb = ex.check_batchnorm_backward(batchnorm_backward)
    assert fb.correct, str(fb)


def _parts(dy, c):
    m = dy.shape[0]
    return m, dy.sum(0), (dy * c.x_hat).sum(0)


def b_sign(dy, c):
    dx, g, b = batchnorm_backward(dy, c)
    return -dx, g, b


def b_constants(dy, c):
    _, s, sx = _parts(dy, c)
    return c.gamma * c.inv_std * dy, sx, s


def b_no_var_path(dy, c):
    m, s, sx = _parts(dy, c)
    return c.gamma * c.inv_std * (dy - s / m), sx, s


def b_no_mean_path(dy, c):
    m, s, sx = _parts(dy, c)
    return c.gamma * c.inv_std * (dy - c.x_hat * sx / m), sx, s


def b_no_gamma(dy, c):
    dx, g, b = batchnorm_backward(dy, c)
    return dx / c.gamma, g, b


def b_no_m(dy, c):
    m = dy.shape[0]
    dx, g, b = batchnorm_backward(dy, c)
    return dx * m, g, b


def b_swapped(dy, c):
    dx, g, b = batchnorm_backward(dy, c)
    return dx, b, g


def b_wrong_axis(dy, c):
    dx, _, _ = batchnorm_backward(dy, c)
    return dx, (dy * c.x_hat).sum(1), dy.sum(1)


def b_not_summed(dy, c):
    dx, _, _ = batchnorm_backward(dy, c)
    return dx, dy * c.x_hat, dy


def b_no_eps(dy, c):
    m, s, sx = _parts(dy, c)
    with np.errstate(all="ignore"):
        k = c.gamma / np.sqrt(c.var)
    return k / m * (m * dy - s - c.x_hat * sx), sx, s


def b_two_values(dy, c):
    dx, g, _ = batchnorm_backward(dy, c)
    return dx, g


def b_nan(dy, c):
    dx, g, b = batchnorm_backward(dy, c)
    return dx * np.nan, g, b


@pytest.mark.parametrize("fn, words", [
    (b_sign, ["wrong sign"]),
    (b_constants, ["constants"]),
    (b_no_var_path, ["path through the variance"]),
    (b_no_mean_path, ["path through the mean"]),
    (b_no_gamma, ["factor gamma"]),
    (b_no_m, ["divides by m"]),
    (b_swapped, ["swapped"]),
    (b_wrong_axis, ["wrong axis", "shape"]),
    (b_not_summed, ["summed over the batch", "shape"]),
    (b_no_eps, ["missing eps"]),
    (b_two_values, ["3 return values"]),
    (b_nan, ["nan"]),
])
def test_backward_mistakes_are_named(fn, words):
    fb = ex.check_batchnorm_backward(fn)
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)


def test_backward_exception_is_reported():
    def boom(dy, cache):
        return cache.nothing
    fb = ex.check_batchnorm_backward(boom)
    assert not fb.correct and "raised attributeerror" in text(fb), str(fb)


# ------------------------------------------------------------------------ gradient check

def _numerical_all(forward, x, gamma, beta, dy):
    return (numerical_gradient(lambda x_: forward(x_, gamma, beta)[0], x, dy),
            numerical_gradient(lambda g_: forward(x, g_, beta)[0], gamma, dy),
            numerical_gradient(lambda b_: forward(x, gamma, b_)[0], beta, dy))


def gc_ok(forward, backward, x, gamma, beta, rng):
    y, cache = forward(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    errors = [relative_error(a, n) for a, n in
              zip(backward(dy, cache), _numerical_all(forward, x, gamma, beta, dy))]
    return max(errors)


def gc_tuple(forward, backward, x, gamma, beta, rng):
    """Returns the three errors instead of their maximum: accepted too."""
    y, cache = forward(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    return tuple(relative_error(a, n) for a, n in
                 zip(backward(dy, cache), _numerical_all(forward, x, gamma, beta, dy)))


def gc_dx_only(forward, backward, x, gamma, beta, rng):
    y, cache = forward(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    dx, _, _ = backward(dy, cache)
    return relative_error(dx, numerical_gradient(lambda x_: forward(x_, gamma, beta)[0], x, dy))


def gc_dx_dgamma(forward, backward, x, gamma, beta, rng):
    y, cache = forward(x, gamma, beta)
    dy = rng.standard_normal(y.shape)
    dx, dgamma, _ = backward(dy, cache)
    num = _numerical_all(forward, x, gamma, beta, dy)
    return max(relative_error(dx, num[0]), relative_error(dgamma, num[1]))


@pytest.mark.parametrize("check", [gc_ok, gc_tuple])
def test_gradient_check_reference_passes(check):
    fb = ex.check_gradient_check(check)
    assert fb.correct, str(fb)


@pytest.mark.parametrize("check, words", [
    (gc_dx_only, ["dbeta is the average", "all three gradients"]),
    (gc_dx_dgamma, ["dbeta is the average", "all three gradients"]),
])
def test_gradient_check_of_dx_alone_is_not_enough(check, words):
    fb = ex.check_gradient_check(check)
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)


def _gc_with(make_dy):
    def check(forward, backward, x, gamma, beta, rng):
        y, cache = forward(x, gamma, beta)
        dy = make_dy(y, rng)
        return max(relative_error(a, n) for a, n in
                   zip(backward(dy, cache), _numerical_all(forward, x, gamma, beta, dy)))
    return check


@pytest.mark.parametrize("make_dy, words", [
    (lambda y, rng: np.ones_like(y), ["all-ones upstream gradient"]),
    (lambda y, rng: np.tile(rng.standard_normal(y.shape[1]), (y.shape[0], 1)), ["constant"]),
])
def test_gradient_check_constant_dy_is_named(make_dy, words):
    fb = ex.check_gradient_check(_gc_with(make_dy))
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)


def test_gradient_check_other_mistakes():
    def never_calls(forward, backward, x, gamma, beta, rng):
        return 0.0

    def wrong_shape(forward, backward, x, gamma, beta, rng):
        y, cache = forward(x, gamma, beta)
        backward(rng.standard_normal(y.shape[1]), cache)
        return 0.0

    def compares_wrong_thing(forward, backward, x, gamma, beta, rng):
        y, cache = forward(x, gamma, beta)
        dy = rng.standard_normal(y.shape)
        dx, _, _ = backward(dy, cache)
        return relative_error(dx, dy)

    def always_zero(forward, backward, x, gamma, beta, rng):
        y, cache = forward(x, gamma, beta)
        backward(rng.standard_normal(y.shape), cache)
        return 0.0

    assert "never called" in text(ex.check_gradient_check(never_calls))
    assert "raised" in text(ex.check_gradient_check(wrong_shape))
    assert "large error for a correct" in text(ex.check_gradient_check(compares_wrong_thing))
    assert "passes a wrong backward" in text(ex.check_gradient_check(always_zero))


# ------------------------------------------------------------------ running statistics

def test_running_stats_by_hand_matches_bnlib_module():
    from bnlib.batchnorm import BatchNorm1d
    bn = BatchNorm1d(1, momentum=0.1)
    for batch in ex.RUNNING_STATS_BATCHES:
        bn(batch[:, None])
    mean, var = ex.running_stats_by_hand(ex.RUNNING_STATS_BATCHES, new_weight=0.1, ddof=1)
    assert np.isclose(bn.running_mean[0], mean) and np.isclose(bn.running_var[0], var)


def right_answers(convention):
    weight, ddof = (0.1, 1) if convention == "pytorch" else (0.01, 0)
    return ex.running_stats_by_hand(ex.RUNNING_STATS_BATCHES, new_weight=weight, ddof=ddof)


@pytest.mark.parametrize("convention", ["pytorch", "keras"])
def test_running_stats_right(convention):
    assert ex.check_running_stats(convention, *right_answers(convention)).correct


@pytest.mark.parametrize("convention, which, make, words", [
    ("pytorch", 0, lambda b: ex.running_stats_by_hand(b, new_weight=0.9, ddof=1), ["weight 0.9"]),
    ("keras", 0, lambda b: ex.running_stats_by_hand(b, new_weight=0.99, ddof=0), ["weight 0.99"]),
    ("pytorch", 1, lambda b: ex.running_stats_by_hand(b, new_weight=0.1, ddof=0), ["unbiased"]),
    ("keras", 1, lambda b: ex.running_stats_by_hand(b, new_weight=0.01, ddof=1), ["biased"]),
    ("pytorch", 0, lambda b: ex.running_stats_by_hand(b, new_weight=0.01, ddof=0), ["keras"]),
    ("pytorch", 0, lambda b: (np.mean([x.mean() for x in b]), 0), ["plain average"]),
])
def test_running_stats_mistakes_are_named(convention, which, make, words):
    answer = list(right_answers(convention))
    answer[which] = make(ex.RUNNING_STATS_BATCHES)[which]
    fb = ex.check_running_stats(convention, *answer)
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)


@pytest.mark.parametrize("convention", ["pytorch", "keras"])
def test_running_stats_rounded_to_three_significant_figures_pass(convention):
    mean, var = right_answers(convention)
    rounded = [float(f"{v:.3g}") for v in (mean, var)]
    fb = ex.check_running_stats(convention, *rounded)
    assert fb.correct, str(fb)
    assert ex.check_running_stats("keras", 0.129, 1.129).correct   # the example
    # two significant figures are too coarse for the mean of the PyTorch convention
    assert not ex.check_running_stats("pytorch", 1.2, 2.709).correct


def test_running_stats_bad_input():
    assert "should be a number" in text(ex.check_running_stats("pytorch", "abc", 1.0))
    assert "nan" in text(ex.check_running_stats("keras", 0.1, float("nan")))
    assert "'pytorch' or 'keras'" in text(ex.check_running_stats("tf", 0.1, 1.0))


# ---------------------------------------------------------------- widget and concept

def test_keras_equivalent():
    assert ex.check_keras_equivalent("keras", 0.9).correct
    assert "switch the convention" in text(ex.check_keras_equivalent("pytorch", 0.1))
    assert "something else in keras" in text(ex.check_keras_equivalent("keras", 0.1))
    assert "default" in text(ex.check_keras_equivalent("keras", 0.99))
    assert "slower" in text(ex.check_keras_equivalent("keras", 0.95))
    assert "faster" in text(ex.check_keras_equivalent("keras", 0.5))


def test_eval_mode_question():
    assert ex.check_eval_mode("c").correct
    for wrong in "ABD":
        fb = ex.check_eval_mode(wrong)
        assert not fb.correct and len(fb.details[0]) > 40
    assert "one of" in text(ex.check_eval_mode("E"))


# ----------------------------------------------------------------- forward: eps argument

def test_forward_that_ignores_eps_is_named():
    def fixed_eps(x, gamma, beta, eps=1e-5):
        return gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta
    fb = ex.check_batchnorm_forward(fixed_eps)
    assert not fb.correct and "ignores its eps argument" in text(fb), str(fb)


# ------------------------------------------------------------------ 2d (spatial) backward

def bn2d_backward_ok(dy, cache):
    axes, m = (0, 2, 3), dy.size // dy.shape[1]
    g, s = cache.gamma[:, None, None], cache.inv_std[:, None, None]
    dbeta, dgamma = dy.sum(axis=axes), (dy * cache.x_hat).sum(axis=axes)
    dx = g * s / m * (m * dy - dbeta[:, None, None] - cache.x_hat * dgamma[:, None, None])
    return dx, dgamma, dbeta


def bn2d_backward_by_reshape(dy, cache):
    n, c, h, w = dy.shape
    rows = lambda a: a.transpose(0, 2, 3, 1).reshape(-1, c)  # noqa: E731
    dx, dgamma, dbeta = batchnorm_backward(rows(dy), cache._replace(x_hat=rows(cache.x_hat)))
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta


@pytest.mark.parametrize("fn", [bn2d_backward_ok, bn2d_backward_by_reshape])
def test_bn2d_backward_right_answers_pass(fn):
    fb = ex.check_batchnorm2d_backward(fn)
    assert fb.correct, str(fb)


def _per_pixel(dy, cache):
    n, x_hat = dy.shape[0], cache.x_hat
    g, s = cache.gamma[:, None, None], cache.inv_std[:, None, None]
    dx = g * s / n * (n * dy - dy.sum(0, keepdims=True)
                      - x_hat * (dy * x_hat).sum(0, keepdims=True))
    return dx, (dy * x_hat).sum((0, 2, 3)), dy.sum((0, 2, 3))


def _wrong_m(dy, cache):
    """The compact formula with m = N (the batch size) instead of N * H * W."""
    _, dgamma, dbeta = bn2d_backward_ok(dy, cache)
    n, g, s = dy.shape[0], cache.gamma[:, None, None], cache.inv_std[:, None, None]
    dx = g * s / n * (n * dy - dbeta[:, None, None] - cache.x_hat * dgamma[:, None, None])
    return dx, dgamma, dbeta


@pytest.mark.parametrize("fn, words", [
    (_per_pixel, ["examples only", "(0, 2, 3)"]),
    (_wrong_m, ["m = n * h * w"]),
    (lambda dy, c: (bn2d_backward_ok(dy, c)[0], (dy * c.x_hat).sum(0), dy.sum((0, 2, 3))),
     ["one value per channel"]),
    (lambda dy, c: bn2d_backward_ok(dy, c)[::-1], ["shape"]),
    (lambda dy, c: (bn2d_backward_ok(dy, c)[0],) + bn2d_backward_ok(dy, c)[:0:-1],
     ["swapped"]),
])
def test_bn2d_backward_mistakes_are_named(fn, words):
    fb = ex.check_batchnorm2d_backward(fn)
    assert not fb.correct
    for word in words:
        assert word in text(fb), str(fb)
