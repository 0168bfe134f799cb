"""Checkers for chapter 7 (batch normalization in practice).

- :func:`check_fold_batchnorm` : coding, fold an eval-mode BN into the Linear or Conv2d
  before it; cases cover both layouts, a layer without bias, a large eps, and a BN left in
  training mode right after a training batch (the running-vs-batch-statistics trap).
- :func:`check_sync_statistics` : coding, the synchronized mean and variance from each
  worker's count, per-channel sum and sum of squares.
- :func:`check_workers_target` : widget exercise (the workers slider).
- :func:`check_deployment_bug` : multiple choice, diagnose a drop in accuracy at deployment.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..batchnorm import BatchNorm1d, BatchNorm2d
from ..practice import fold_batchnorm, per_device_spread
from ._core import Case, Feedback, check_cases, check_choice

__all__ = [
    "fold_cases",
    "check_fold_batchnorm",
    "sync_cases",
    "check_sync_statistics",
    "WORKER_OPTIONS",
    "WORKERS_TARGET",
    "workers_answer",
    "check_workers_target",
    "check_deployment_bug",
]


# --------------------------------------------------------------------------- folding

def _trained(cls, c, rng, shape, eps=1e-5, last_training=False):
    bn = cls(c, eps=eps, momentum=0.3)
    bn.gamma[:] = rng.uniform(0.5, 2.0, c)
    bn.beta[:] = rng.normal(size=c)
    for _ in range(4):
        bn(rng.normal(2.0, 1.5, size=shape))
    bn.eval()
    if last_training:  # one more training batch with other statistics, and left in training mode
        bn.train()
        bn(rng.normal(-3.0, 0.4, size=shape))
    return bn


def fold_cases() -> list[Case]:
    """The cases of the folding exercise (fixed seed). Each case's args: (weight, bias, bn)."""
    rng = np.random.default_rng(7)

    def case(name, w_shape, bias, bn, hint):
        w = rng.normal(size=w_shape)
        b = rng.normal(size=w_shape[0]) if bias else None
        return Case(name, (w, b, bn), fold_batchnorm(w, b, bn), hint)

    return [
        case("Linear 4 -> 3 with bias", (3, 4), True, _trained(BatchNorm1d, 3, rng, (16, 3)),
             "weight' = a[:, None] * weight and bias' = a * (bias - running_mean) + beta."),
        case("Linear without bias (bias is None)", (2, 5), False,
             _trained(BatchNorm1d, 2, rng, (16, 2)),
             "A missing bias is a bias of zeros; the folded layer still needs bias' "
             "= beta - a * running_mean."),
        case("Conv2d 2 -> 3 channels, 3x3 kernels", (3, 2, 3, 3), True,
             _trained(BatchNorm2d, 3, rng, (4, 3, 5, 5)),
             "Output channel o of a (out, in, kh, kw) weight is weight[o]: scale it by a[o] "
             "(reshape a to (out, 1, 1, 1))."),
        case("a large eps (eps = 0.5)", (3, 3), True,
             _trained(BatchNorm1d, 3, rng, (16, 3), eps=0.5),
             "eps goes inside the square root: a = gamma / sqrt(running_var + eps)."),
        case("a BN left in training mode after a training batch", (3, 4), True,
             _trained(BatchNorm1d, 3, rng, (16, 3), last_training=True),
             "Folding gives the eval-mode network: use running_mean and running_var, whatever "
             "mode the layer is in and whatever batch it saw last."),
    ]


def _fold_variants(w, b, bn) -> dict:
    """Wrong foldings a learner typically writes, keyed by the sentence that names them."""
    b0 = np.zeros(w.shape[0]) if b is None else b
    shape = (-1,) + (1,) * (w.ndim - 1)
    rm, rv, g, be, eps = bn.running_mean, bn.running_var, bn.gamma, bn.beta, bn.eps

    def fold(a, mean=rm, bias=None):
        return a.reshape(shape) * w, (a * (b0 - mean) + be) if bias is None else bias

    a = g / np.sqrt(rv + eps)
    out = {
        "eps is outside the square root: use gamma / sqrt(running_var + eps), not "
        "gamma / (sqrt(running_var) + eps).": fold(g / (np.sqrt(rv) + eps)),
        "eps is missing: a = gamma / sqrt(running_var + eps).": fold(g / np.sqrt(rv)),
        "you divided by the variance; divide by the standard deviation sqrt(running_var + "
        "eps).": fold(g / (rv + eps)),
        "the bias ignores the running mean: bias' = a * (bias - running_mean) + beta.":
            fold(a, bias=a * b0 + be),
        "the bias is not scaled: bias' = a * (bias - running_mean) + beta, not "
        "bias - running_mean + beta.": fold(a, bias=b0 - rm + be),
    }
    cache = getattr(bn, "_cache", None)
    if cache is not None and np.size(cache.mean) == bn.num_features:
        m, v = np.ravel(cache.mean), np.ravel(cache.var)
        out["you folded with the statistics of the last batch the layer saw; folding must "
            "use running_mean and running_var, the statistics of eval mode."] = \
            fold(g / np.sqrt(v + eps), mean=m)
    return out


def _diagnose_fold(case: Case, got: Any) -> str | None:
    w, b, bn = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return a pair (weight, bias)."
    try:
        gw, gb = np.asarray(got[0], dtype=float), np.asarray(got[1], dtype=float)
    except (TypeError, ValueError):
        return None
    if gb.shape == ():
        return "bias' has one value per output: shape (out,), even when bias is None."
    if gw.shape != w.shape:
        return f"weight' keeps the shape of weight, {w.shape}."
    a = bn.gamma / np.sqrt(bn.running_var + bn.eps)
    if w.ndim == 2 and w.shape[0] == w.shape[1] and np.allclose(gw, w * a[None, :]):
        return "you scaled the columns (inputs); scale the rows: weight' = a[:, None] * weight."
    for sentence, (vw, vb) in _fold_variants(w, b, bn).items():
        if np.allclose(gw, vw, rtol=1e-10, atol=0) and np.allclose(gb, vb, rtol=1e-10, atol=1e-12):
            return sentence
    return None


def check_fold_batchnorm(learner_fn) -> Feedback:
    """Run ``learner_fn(weight, bias, bn) -> (weight', bias')`` on :func:`fold_cases`."""
    return check_cases(learner_fn, fold_cases(), rtol=1e-7, atol=1e-9, diagnose=_diagnose_fold)


# --------------------------------------------------------------------------- sync BN

def _sync_reference(counts, sums, sumsqs):
    n = np.sum(counts)
    mean = np.sum(sums, axis=0) / n
    return mean, np.sum(sumsqs, axis=0) / n - mean ** 2


def sync_cases() -> list[Case]:
    """Cases of the synchronized-statistics exercise: per-worker (counts (K,), sums (K, C),
    sums of squares (K, C)), built from shards whose sizes and means differ."""
    rng = np.random.default_rng(11)
    cases = []
    for name, sizes, shift, hint in (
        ("2 workers, 8 rows each", (8, 8), 0.0,
         "mean = (sum of the sums) / (sum of the counts)."),
        ("3 workers with different shard sizes", (2, 5, 9), 0.0,
         "Weight each worker by its count: the average of the workers' means is wrong when the "
         "shards differ in size."),
        ("4 workers whose shards have different means", (6, 6, 6, 6), 3.0,
         "The variance of the whole batch includes the spread between the workers' means: "
         "sum(sumsqs) / n - mean**2."),
    ):
        shards = [rng.normal(size=(m, 3)) + shift * k for k, m in enumerate(sizes)]
        args = (np.array(sizes), np.stack([s.sum(0) for s in shards]),
                np.stack([(s * s).sum(0) for s in shards]))
        cases.append(Case(name, args, _sync_reference(*args), hint))
    return cases


def _diagnose_sync(case: Case, got: Any) -> str | None:
    counts, sums, sumsqs = case.args
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return "return a pair (mean, var), each of shape (C,)."
    try:
        gm, gv = np.asarray(got[0], dtype=float), np.asarray(got[1], dtype=float)
    except (TypeError, ValueError):
        return None
    mean, var = case.expected
    n = counts.sum()
    means = sums / counts[:, None]
    vars_ = sumsqs / counts[:, None] - means ** 2
    if gm.shape == mean.shape and not np.allclose(gm, mean) and np.allclose(gm, means.mean(0)):
        return "you averaged the workers' means; weight them by their counts (sum of sums / n)."
    if gv.shape != var.shape:
        return None
    if np.allclose(gv, vars_.mean(0)) or np.allclose(gv, (counts[:, None] * vars_).sum(0) / n):
        return ("you averaged the workers' variances: that misses the spread between the "
                "workers' means. Use sum(sumsqs) / n - mean**2.")
    if np.allclose(gv, var * n / (n - 1)):
        return "that is the unbiased variance; batch normalization divides by n (biased)."
    if np.allclose(gv, sumsqs.sum(0) / n):
        return "sum(sumsqs) / n is the mean of the squares; subtract mean**2."
    return None


def check_sync_statistics(learner_fn) -> Feedback:
    """Run ``learner_fn(counts, sums, sumsqs) -> (mean, var)`` on :func:`sync_cases`."""
    return check_cases(learner_fn, sync_cases(), rtol=1e-8, atol=1e-10, diagnose=_diagnose_sync)


# --------------------------------------------------------------------------- widget

#: The workers slider's options (divisors of the global batch of 256) and the target spread.
WORKER_OPTIONS = (1, 2, 4, 8, 16, 32, 64, 128)
WORKERS_TARGET = 0.25


def workers_answer(x) -> int:
    """The largest K on the slider whose per-device batch means scatter by at most
    :data:`WORKERS_TARGET` global standard deviations (averaged over the channels)."""
    return max(k for k in WORKER_OPTIONS if per_device_spread(x, k) <= WORKERS_TARGET)


def check_workers_target(workers, x) -> Feedback:
    """Widget exercise: the largest number of workers K for which per-device BN's batch means
    scatter by at most a quarter of a standard deviation. x: the global batch the widget uses."""
    best = workers_answer(x)
    spread = per_device_spread(x, int(workers))
    if workers == best:
        return Feedback(True, f"Correct: K = {workers}, shards of {x.shape[0] // workers} rows.",
                        [f"the per-device means scatter by {spread:.3f} standard deviations"])
    if spread > WORKERS_TARGET:
        return Feedback(False, f"Not yet: with K = {workers} the per-device means scatter by "
                        f"{spread:.3f} standard deviations, more than {WORKERS_TARGET}.",
                        ["Fewer workers means larger shards and steadier statistics."])
    return Feedback(False, f"Not yet: K = {workers} is within the target ({spread:.3f}), but a "
                    f"larger K still is.",
                    ["The spread grows like 1/sqrt(N/K); try more workers."])


# --------------------------------------------------------------------------- choice

DEPLOYMENT_OPTIONS = {
    "A": "The eps of the BN layers was folded outside the square root.",
    "B": "The moving averages lag behind the final weights; precise BN would fix it.",
    "C": "The served model is still in training mode, so each request's prediction uses "
         "the statistics of whatever requests share its batch.",
    "D": "The learning rate was too high in the last epochs.",
}


def check_deployment_bug(answer: Any) -> Feedback:
    """Multiple choice (see the chapter): which bug explains 97% offline, 60% served, and
    the same image getting different answers on different requests?"""
    return check_choice(answer, "C", {
        "A": "A wrong eps changes the folded weights once and for all: every request would get "
             "the same (possibly wrong) answer for the same image, and with eps = 1e-5 the "
             "error is tiny unless a channel's variance is tiny.",
        "B": "Stale moving averages cost accuracy, but they are constants at serving time: the "
             "same image would always get the same answer. Here the answer changes between "
             "requests.",
        "C": "Yes: in training mode BN normalizes with the statistics of the batch, so the "
             "answer depends on the batch-mates (and a request served alone would be refused "
             "or normalized to beta). Call model.eval() before serving.",
        "D": "A bad learning rate would show in the offline test accuracy too, and cannot make "
             "one image's prediction change from request to request.",
    })
