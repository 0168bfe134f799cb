"""Chapter 7's checkers: typical wrong answers get feedback that names the mistake; correct
answers written differently pass. The correct answers here are written independently of
bnlib.practice (by hand from the formulas, or another valid method)."""
import numpy as np
import pytest

from bnlib.exercises.practice import (check_deployment_bug, check_fold_batchnorm,
                                      check_sync_statistics, check_workers_target, fold_cases,
                                      workers_answer)


# --- folding ----------------------------------------------------------------------------------

def fold_by_hand(weight, bias, bn):
    """Fold via an explicit loop over output channels: another valid method."""
    w = np.array(weight, dtype=float)
    b = np.zeros(w.shape[0]) if bias is None else np.array(bias, dtype=float)
    for o in range(w.shape[0]):
        scale = bn.gamma[o] / np.sqrt(bn.running_var[o] + bn.eps)
        w[o] = w[o] * scale
        b[o] = (b[o] - bn.running_mean[o]) * scale + bn.beta[o]
    return w, b


def fold_rounded(weight, bias, bn):
    w, b = fold_by_hand(weight, bias, bn)
    return w.round(10), list(b.round(10))      # rounded, bias as a list


def test_fold_checker_accepts_correct_answers_written_differently():
    assert check_fold_batchnorm(fold_by_hand).correct
    assert check_fold_batchnorm(fold_rounded).correct


def _wrong(a_of, bias_of=None, stats="running"):
    def fold(weight, bias, bn):
        w = np.asarray(weight, float)
        b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, float)
        if stats == "batch":
            mean, var = np.ravel(bn._cache.mean), np.ravel(bn._cache.var)
        else:
            mean, var = bn.running_mean, bn.running_var
        a = a_of(bn, var)
        new_b = (a * (b - mean) + bn.beta) if bias_of is None else bias_of(a, b, mean, bn)
        return a.reshape((-1,) + (1,) * (w.ndim - 1)) * w, new_b
    return fold


@pytest.mark.parametrize("fn, words", [
    (_wrong(lambda bn, v: bn.gamma / (np.sqrt(v) + bn.eps)), "outside the square root"),
    (_wrong(lambda bn, v: bn.gamma / np.sqrt(v)), "eps is missing"),
    (_wrong(lambda bn, v: bn.gamma / (v + bn.eps)), "divided by the variance"),
    (_wrong(lambda bn, v: bn.gamma / np.sqrt(v + bn.eps), lambda a, b, m, bn: a * b + bn.beta),
     "ignores the running mean"),
    (_wrong(lambda bn, v: bn.gamma / np.sqrt(v + bn.eps), lambda a, b, m, bn: b - m + bn.beta),
     "not scaled"),
    (_wrong(lambda bn, v: bn.gamma / np.sqrt(v + bn.eps), stats="batch"),
     "statistics of the last batch"),
])
def test_fold_checker_names_the_mistake(fn, words):
    fb = check_fold_batchnorm(fn)
    assert not fb.correct
    assert words in str(fb), str(fb)


def test_fold_checker_names_the_conv_and_bias_none_mistakes():
    def linear_only(weight, bias, bn):      # a[:, None] breaks on 4-d weights
        a = bn.gamma / np.sqrt(bn.running_var + bn.eps)
        return a[:, None] * weight, a * (bias - bn.running_mean) + bn.beta
    fb = check_fold_batchnorm(linear_only)
    assert not fb.correct and "Linear without bias" in fb.title, str(fb)

    def columns(weight, bias, bn):
        a = bn.gamma / np.sqrt(bn.running_var + bn.eps)
        b = 0 if bias is None else bias
        return weight * a[None, :] if weight.ndim == 2 else weight, a * (b - bn.running_mean) + bn.beta
    fb = check_fold_batchnorm(columns)
    assert not fb.correct
    # the first case is 3 x 4: columns cannot broadcast, so the learner's error is reported
    assert "raised" in fb.title or "columns" in str(fb), str(fb)


def test_fold_checker_turns_exceptions_and_none_into_feedback():
    def placeholder(weight, bias, bn):
        raise NotImplementedError
    assert "placeholder" in str(check_fold_batchnorm(placeholder))
    assert "pair" in str(check_fold_batchnorm(lambda w, b, bn: None)) or \
        "None" in str(check_fold_batchnorm(lambda w, b, bn: None))
    assert "function" in str(check_fold_batchnorm(None))


def test_fold_cases_cover_linear_conv_eps_and_the_trap():
    names = " | ".join(c.name for c in fold_cases())
    for words in ("Linear", "Conv2d", "without bias", "eps", "training mode"):
        assert words in names
    trap = fold_cases()[-1].args[2]
    assert trap.training
    assert np.abs(np.ravel(trap._cache.mean) - trap.running_mean).max() > 1.0


# --- synchronized statistics ------------------------------------------------------------------

def sync_total_variance(counts, sums, sumsqs):
    """Law of total variance: within-worker variance plus between-worker spread."""
    counts = np.asarray(counts, float)[:, None]
    means = sums / counts
    n = counts.sum()
    mean = (counts * means).sum(0) / n
    within = (sumsqs - counts * means ** 2).sum(0) / n
    between = (counts * (means - mean) ** 2).sum(0) / n
    return mean, within + between


def test_sync_checker_accepts_another_valid_method():
    assert check_sync_statistics(sync_total_variance).correct
    assert check_sync_statistics(
        lambda c, s, q: (s.sum(0) / c.sum(), q.sum(0) / c.sum() - (s.sum(0) / c.sum()) ** 2)).correct


@pytest.mark.parametrize("fn, words", [
    (lambda c, s, q: ((s / c[:, None]).mean(0), q.sum(0) / c.sum() - (s.sum(0) / c.sum()) ** 2),
     "averaged the workers' means"),
    (lambda c, s, q: (s.sum(0) / c.sum(), (q / c[:, None] - (s / c[:, None]) ** 2).mean(0)),
     "averaged the workers' variances"),
    (lambda c, s, q: (s.sum(0) / c.sum(), (q.sum(0) / c.sum() - (s.sum(0) / c.sum()) ** 2)
                      * c.sum() / (c.sum() - 1)), "unbiased"),
    (lambda c, s, q: (s.sum(0) / c.sum(), q.sum(0) / c.sum()), "subtract mean**2"),
    (lambda c, s, q: s.sum(0) / c.sum(), "pair (mean, var)"),
])
def test_sync_checker_names_the_mistake(fn, words):
    fb = check_sync_statistics(fn)
    assert not fb.correct and words in str(fb), str(fb)


# --- widget target and diagnosis --------------------------------------------------------------

def test_workers_target_against_the_square_root_law():
    """For independent standard normal rows, the per-device means scatter like 1/sqrt(N/K):
    a quarter of a standard deviation at shards of 16, i.e. K = 16 for N = 256."""
    x = np.random.default_rng(0).normal(size=(256, 32))
    assert workers_answer(x) == 16
    assert check_workers_target(16, x).correct
    assert "more than" in str(check_workers_target(64, x))
    assert "larger K" in str(check_workers_target(4, x))


def test_deployment_bug_feedback_per_option():
    assert check_deployment_bug("c").correct
    for wrong, words in (("A", "eps"), ("B", "constants"), ("D", "learning rate")):
        fb = check_deployment_bug(wrong)
        assert not fb.correct and words in str(fb)
    assert "one of" in str(check_deployment_bug(None))
