"""Chapter 6's experiment: the group-normalization paper's Figure 1 in miniature.

Wu & He (2018, Figure 1) train a ResNet on ImageNet with batch norm and group norm at batch
sizes from 32 down to 2 images per worker: batch norm's error grows as the batch shrinks,
group norm's stays flat. Here a small conv net on the 8x8 digits is trained with each
normalization at batch sizes 2 to 64:

    Unflatten -> Conv2d(1, 8, 3, padding=1) -> norm(8) -> ReLU
              -> Conv2d(8, 16, 3, stride=2, padding=1) -> norm(16) -> ReLU
              -> Flatten -> Linear(256, 10)

with norm one of ``METHODS``: ``"bn"`` (:class:`~bnlib.BatchNorm2d`, evaluated with running
statistics), ``"gn"`` (:class:`~bnlib.GroupNorm` with ``groups`` groups), ``"ln"``
(GroupNorm with one group: layer norm over (C, H, W) with a per-channel affine, which is how
Wu & He compare layer norm on conv nets) and ``"none"`` (the conv layers keep their bias).

Protocol: every run sees the same number of training examples (``examples``), so a batch
of 2 takes 32 times as many steps as a batch of 64; the learning rate follows the linear
scaling rule ``lr = base_lr * batch_size / 32`` (as Wu & He), with ``base_lr`` per method
chosen on a validation split (:func:`choose_base_lr`). The digits' training split is cut
into a training part and a validation part; the test split is only used for the final
numbers. A seed fixes the initial weights and the order of the examples, shared by all
methods (paired comparisons). Every function is pure and seeded.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import nn
from ..batchnorm import BatchNorm2d
from ..data import load_digits
from ..normalization import GroupNorm

__all__ = ["METHODS", "LABELS", "BATCH_SIZES", "DEFAULTS", "splits", "build_model", "train_run",
           "choose_base_lr", "paired_table", "curves_at", "CACHE_NAME",
           "residual_gradient_norms"]

METHODS = ("bn", "gn", "ln", "none")
LABELS = {"bn": "batch norm", "gn": "group norm", "ln": "layer norm", "none": "no norm"}
BATCH_SIZES = (2, 4, 8, 16, 32, 64)
CACHE_NAME = "ch6_batch_size"

#: The settings of the chapter's cached sweep (scripts/precompute_ch6.py).
DEFAULTS = {
    "examples": 3200,      # training examples seen by every run (about 3 passes over 1000)
    "n_val": 257,          # validation images cut from the training split (1000 remain)
    "groups": 4,           # group norm's G for both conv layers (2 and 4 channels per group)
    "momentum": 0.9,
    "n_evals": 8,          # validation accuracy after every examples / n_evals examples
}


@lru_cache(maxsize=2)
def splits(n_val: int = 257, seed: int = 0):
    """(x_train, y_train, x_val, y_val, x_test, y_test): the digits' training split cut into
    a training part and ``n_val`` validation images (stratified by chance, seeded), and the
    test split. Read-only arrays (cached)."""
    x_tr, x_te, y_tr, y_te = load_digits()
    rows = np.random.default_rng(seed).permutation(len(x_tr))
    val, train = rows[:n_val], rows[n_val:]
    out = (x_tr[train], y_tr[train], x_tr[val], y_tr[val], x_te, y_te)
    for a in out:
        a.flags.writeable = False
    return out


def _norm(method: str, channels: int, groups: int):
    if method == "bn":
        return BatchNorm2d(channels)
    if method == "gn":
        return GroupNorm(groups, channels)
    if method == "ln":
        return GroupNorm(1, channels)
    raise ValueError(f"build_model: method is {method!r}; expected one of {METHODS}")


def build_model(method: str, *, seed: int, groups: int = 4) -> nn.Sequential:
    """The conv net with normalization ``method`` (one of METHODS); weights drawn with
    ``seed`` (He-scaled Gaussians, identical for every method). Input (N, 64), logits (N, 10)."""
    if method not in METHODS:
        raise ValueError(f"build_model: method is {method!r}; expected one of {METHODS}")
    rng = np.random.default_rng(seed)
    bias = method == "none"
    layers = [nn.Unflatten((1, 8, 8))]
    for c_in, c_out, stride in ((1, 8, 1), (8, 16, 2)):
        layers.append(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias, rng=rng,
                                init_scale=np.sqrt(2.0 / (9 * c_in))))
        if method != "none":
            layers.append(_norm(method, c_out, groups))
        layers.append(nn.ReLU())
    layers += [nn.Flatten(), nn.Linear(256, 10, rng=rng)]
    return nn.Sequential(*layers)


def train_run(method: str, batch_size: int, seed: int, *, base_lr: float,
              examples: int = 3200, n_val: int = 257, groups: int = 4, momentum: float = 0.9,
              n_evals: int = 8, max_steps: int | None = None, test: bool = True) -> dict:
    """Train one model; return its record (plain lists and floats, ready for JSON).

    Runs ``examples // batch_size`` SGD steps with ``lr = base_lr * batch_size / 32``.
    Returns ``seen`` (examples seen at each evaluation), ``val_acc`` (validation accuracy
    there, eval mode), ``loss`` (training loss of the first 20 steps: the recompute test
    compares these tightly), ``final_val``, ``final_test`` (NaN when ``test=False``) and
    ``diverged``. max_steps: stop early (for the recompute test).
    """
    x_tr, y_tr, x_val, y_val, x_te, y_te = splits(n_val)
    model = build_model(method, seed=seed, groups=groups)
    opt = nn.SGD(model, lr=base_lr * batch_size / 32, momentum=momentum)
    rng = np.random.default_rng(10_000 + seed)
    steps = examples // batch_size
    every = max(1, steps // n_evals)
    rec = {"seen": [], "val_acc": [], "loss": [], "diverged": False}
    perm, pos = rng.permutation(len(x_tr)), 0
    with nn._one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, steps + 1):
            if pos + batch_size > len(perm):
                perm, pos = rng.permutation(len(x_tr)), 0
            idx = perm[pos:pos + batch_size]
            pos += batch_size
            loss, dlogits = nn.softmax_cross_entropy(model(x_tr[idx]), y_tr[idx])
            if not np.isfinite(loss):
                rec["diverged"] = True
                break
            model.backward(dlogits)
            opt.step()
            if step <= 20:
                rec["loss"].append(float(loss))
            if max_steps is not None and step >= max_steps:
                break
            if step % every == 0 or step == steps:
                rec["seen"].append(step * batch_size)
                rec["val_acc"].append(nn.accuracy(model, x_val, y_val))
    ok = not rec["diverged"] and rec["val_acc"]
    rec["final_val"] = rec["val_acc"][-1] if ok else float("nan")
    rec["final_test"] = nn.accuracy(model, x_te, y_te) if (ok and test) else float("nan")
    return rec


def choose_base_lr(grid, *, seeds=(0, 1), batch_size: int = 32, methods=METHODS,
                   **settings) -> dict:
    """For each method, the ``base_lr`` of ``grid`` with the best mean final validation
    accuracy at ``batch_size`` over ``seeds`` (the test set is not used). methods: a subset of
    METHODS (the chapter's second, lower grid searches only group and layer norm).

    Returns {method: {"chosen": lr, "val": {lr: mean validation accuracy}}}.
    """
    out = {}
    for method in methods:
        scores = {}
        for lr in grid:
            accs = [train_run(method, batch_size, s, base_lr=lr, test=False, **settings)
                    ["final_val"] for s in seeds]
            scores[float(lr)] = float(np.mean(accs)) if np.all(np.isfinite(accs)) else 0.0
        out[method] = {"chosen": max(scores, key=scores.get), "val": scores}
    return out


def paired_table(runs: dict, key: str = "final_test", reference: str = "bn") -> dict:
    """Mean and SE over seeds per (method, batch size), and paired differences vs ``reference``.

    runs: {method: {str(batch_size): {key: [one value per seed]}}} (the cache's ``runs``).
    Returns {"mean": {m: {bs: ...}}, "se": {...}, "diff": {m: {bs: mean(m - reference)}},
    "diff_se": {...}} with SE = std(ddof=1) / sqrt(n seeds); seeds are paired by position.
    """
    out = {"mean": {}, "se": {}, "diff": {}, "diff_se": {}}
    for m, by_bs in runs.items():
        for name in out:
            out[name][m] = {}
        for bs, rec in by_bs.items():
            a = np.asarray(rec[key], dtype=float)
            out["mean"][m][bs] = float(a.mean())
            out["se"][m][bs] = float(a.std(ddof=1) / np.sqrt(a.size))
            d = a - np.asarray(runs[reference][bs][key], dtype=float)
            out["diff"][m][bs] = float(d.mean())
            out["diff_se"][m][bs] = float(d.std(ddof=1) / np.sqrt(d.size))
    return out


def curves_at(runs: dict, batch_size, methods=METHODS) -> dict:
    """The mean validation-accuracy curve of each method at one batch size.

    Returns {method: (seen, mean val_acc over seeds)} as arrays; the widget's pure part.
    """
    bs = str(int(batch_size))
    out = {}
    for m in methods:
        rec = runs[m][bs]
        out[m] = (np.asarray(rec["seen"], dtype=float),
                  np.mean(np.asarray(rec["val_acc"], dtype=float), axis=0))
    return out


def residual_gradient_norms(depths=(2, 8, 32, 128), *, width: int = 32, n: int = 64,
                            seed: int = 0) -> dict:
    """Pre-LN vs post-LN residual stacks at initialization (Xiong et al. 2020, in miniature).

    A stack of ``depth`` blocks on (n, width) inputs, each block an MLP branch
    ``F(h) = Linear(ReLU(Linear(h)))`` (attention left out):

    - post-LN (the original transformer): ``h <- LN(h + F(h))``;
    - pre-LN: ``h <- h + F(LN(h))``, and one final LN after the last block.

    The same weights (seeded) and a random output gradient for both placements; returns
    ``{"pre": [...], "post": [...]}``: for each depth, the Frobenius norm of the gradient of
    the last block's second Linear weight (the parameters nearest the output, whose large
    post-LN gradients Xiong et al. blame for the need for warm-up).
    """
    from ..normalization import LayerNorm

    out = {"pre": [], "post": []}
    for depth in depths:
        for placement in out:
            rng = np.random.default_rng(seed)
            x = rng.normal(size=(n, width))
            dy = rng.normal(size=(n, width)) / n
            blocks = [(nn.Linear(width, width, rng=rng), nn.ReLU(),
                       nn.Linear(width, width, rng=rng), LayerNorm(width))
                      for _ in range(depth)]
            final, h = LayerNorm(width), x
            for lin1, act, lin2, ln in blocks:
                if placement == "pre":
                    h = h + lin2(act(lin1(ln(h))))
                else:
                    h = ln(h + lin2(act(lin1(h))))
            if placement == "pre":
                final(h)                       # the final LN; its output is not needed
                g = final.backward(dy)
            else:
                g = dy
            for lin1, act, lin2, ln in reversed(blocks):
                if placement == "pre":
                    g = g + ln.backward(lin1.backward(act.backward(lin2.backward(g))))
                else:
                    g = ln.backward(g)
                    g = g + lin1.backward(act.backward(lin2.backward(g)))
            out[placement].append(float(np.linalg.norm(blocks[-1][2].dweight)))
    return out
