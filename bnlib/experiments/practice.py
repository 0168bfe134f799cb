"""Chapter 7's experiments: precise BN after training, and fine-tuning on a new domain.

Both use a digits MLP 64 -> 64 -> 64 -> 10 with ReLU and batch normalization before every
activation (:func:`source_model`), trained with SGD + momentum on the digits training split.

- :func:`precise_bn_run`: train with a given BN momentum and evaluate, at a few checkpoints,
  the test accuracy with the moving averages (what the layers hold) and with population
  statistics recomputed from 1, 2, 5, ... training batches (:func:`bnlib.practice.
  recompute_bn_statistics`, "precise BN", Wu & Johnson 2021, section 3).
- :func:`finetune_run`: the new domain is the digits *test* images (never seen in
  training) with lower contrast, a brighter background and a one-pixel shift
  (:func:`new_domain`). Split into a small labelled fine-tuning set, a validation split and a
  test split (:func:`domain_splits`); compare no adaptation, AdaBN (recompute the BN
  statistics on the new images, no labels; Li et al. 2018), and fine-tuning with frozen
  (eval-mode) or updating (train-mode) statistics at two batch sizes, each on the same
  number of examples. The stopping point is chosen on the validation split, per run.

Every function is pure and seeded: the same arguments give the same numbers.
scripts/precompute_ch7.py stores the runs in ``bnlib/cache/ch7_*.json``.
"""
from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np

from .. import nn
from ..data import load_digits
from ..nn import SGD, accuracy, mlp, softmax_cross_entropy
from ..practice import batchnorm_layers, recompute_bn_statistics

__all__ = [
    "SOURCE",
    "source_model",
    "new_domain",
    "domain_splits",
    "training_batches",
    "model_arrays",
    "load_source_model",
    "precise_bn_run",
    "lag_trace",
    "FINETUNE",
    "CONDITIONS",
    "finetune_schedule",
    "finetune",
    "finetune_run",
    "paired_difference",
    "chosen_test",
    "digits",
]

#: The source network and its training (the notebook's trained model uses the same).
SOURCE = {"sizes": (64, 64, 64, 10), "steps": 600, "batch_size": 32, "lr": 0.1,
          "momentum": 0.9, "bn_momentum": 0.1}


@lru_cache(maxsize=1)
def digits():
    """The digits split of :func:`bnlib.data.load_digits` (cached): x_train, x_test, y_train,
    y_test. Do not modify the arrays in place."""
    return load_digits()


def source_model(seed: int, *, steps: int | None = None, bn_momentum: float | None = None,
                 lr: float | None = None, record=None, eval_every=None):
    """Train the source MLP on the digits training split; returns ``(model, history)``.

    seed: initial weights and the shuffle. steps, bn_momentum, lr: override :data:`SOURCE`.
    record, eval_every: passed to :func:`bnlib.nn.train`.
    """
    cfg = dict(SOURCE)
    cfg.update({k: v for k, v in (("steps", steps), ("bn_momentum", bn_momentum), ("lr", lr))
                if v is not None})
    x_train, x_test, y_train, y_test = digits()
    rng = np.random.default_rng(seed)
    model = mlp(cfg["sizes"], activation="relu", bn="before", rng=rng)
    for bn in batchnorm_layers(model):
        bn.momentum = cfg["bn_momentum"]
    hist = nn.train(model, x_train, y_train, x_test=x_test, y_test=y_test, steps=cfg["steps"],
                    batch_size=cfg["batch_size"], lr=cfg["lr"], momentum=cfg["momentum"],
                    rng=rng, eval_every=eval_every or cfg["steps"], record=record)
    return model, hist


def model_arrays(model) -> dict:
    """Every parameter and BN running statistic of ``model`` as named arrays (for np.savez)."""
    out = {f"p{i}": p for i, p in enumerate(model.parameters())}
    for j, bn in enumerate(batchnorm_layers(model)):
        out[f"bn{j}_mean"], out[f"bn{j}_var"] = bn.running_mean, bn.running_var
        out[f"bn{j}_tracked"] = np.array(bn.num_batches_tracked)
    return out


def load_source_model():
    """The chapter's trained network, ``source_model(0)``, from ``bnlib/cache/ch7_model.npz``
    (written by scripts/precompute_ch7.py; loading takes milliseconds, training seconds).
    Returned in eval mode."""
    from importlib import resources

    model = mlp(SOURCE["sizes"], activation="relu", bn="before", rng=np.random.default_rng(0))
    with (resources.files("bnlib") / "cache" / "ch7_model.npz").open("rb") as f:
        arrays = dict(np.load(f))
    for i, p in enumerate(model.parameters()):
        p[...] = arrays[f"p{i}"]
    for j, bn in enumerate(batchnorm_layers(model)):
        bn.running_mean, bn.running_var = arrays[f"bn{j}_mean"], arrays[f"bn{j}_var"]
        bn.num_batches_tracked = int(arrays[f"bn{j}_tracked"])
        bn.momentum = SOURCE["bn_momentum"]
    return model.eval()


def training_batches(n_batches: int, *, batch_size: int = 32, seed: int = 0) -> list:
    """``n_batches`` disjoint random batches of training images (one shuffled pass)."""
    x_train = digits()[0]
    if not 1 <= n_batches * batch_size <= x_train.shape[0]:
        raise ValueError(f"training_batches: {n_batches} batches of {batch_size} do not fit in "
                         f"the {x_train.shape[0]} training images")
    idx = np.random.default_rng(seed).permutation(x_train.shape[0])
    return [x_train[idx[i * batch_size:(i + 1) * batch_size]] for i in range(n_batches)]


def precise_bn_run(seed: int, *, bn_momentum: float, checkpoints=(100, 200, 400, 600),
                   n_batches=(1, 2, 5, 10, 39), lr: float | None = None) -> dict:
    """Moving averages vs population statistics during one training run.

    Trains :func:`source_model` (seed, bn_momentum, lr) up to ``max(checkpoints)`` steps;
    at every checkpoint records the test accuracy with the moving averages (``"ema"``) and
    with statistics recomputed from each number of training batches of 32 (``"precise"``:
    a list aligned with ``n_batches``; 39 batches are one pass over the training split).
    """
    x_test, y_test = digits()[1], digits()[3]
    out = {"checkpoints": list(checkpoints), "n_batches": list(n_batches), "ema": [],
           "precise": []}

    def record(model, step):
        if step not in checkpoints:
            return {}
        out["ema"].append(accuracy(model, x_test, y_test))
        row = []
        for nb in n_batches:
            copy_ = copy.deepcopy(model)
            recompute_bn_statistics(copy_, training_batches(nb, seed=1000 + seed))
            row.append(accuracy(copy_, x_test, y_test))
        out["precise"].append(row)
        return {}

    source_model(seed, steps=max(checkpoints), bn_momentum=bn_momentum, lr=lr, record=record,
                 eval_every=int(np.gcd.reduce(list(checkpoints))))
    return out


def lag_trace(seed: int, *, bn_momentum: float, steps: int = 600, every: int = 10) -> dict:
    """How far the first BN layer's moving average trails the statistics of the current weights.

    Every ``every`` steps: ``running``, unit 0's running mean; ``population``, the mean of
    its input (the first Linear's output) over the whole training split with the current
    weights; ``gap``, the mean over units of ``|running_mean - population mean|`` divided by
    the population standard deviation.
    """
    x_train = digits()[0]
    out = {"step": [], "running": [], "population": [], "gap": []}

    def record(model, step):
        h = model[0](x_train)
        mu, sd = h.mean(axis=0), h.std(axis=0)
        rm = model[1].running_mean
        out["step"].append(step)
        out["running"].append(float(rm[0]))
        out["population"].append(float(mu[0]))
        out["gap"].append(float(np.mean(np.abs(rm - mu) / sd)))
        return {}

    source_model(seed, steps=steps, bn_momentum=bn_momentum, record=record, eval_every=every)
    return out


# ---------------------------------------------------------------------------------------------
# A new domain and fine-tuning
# ---------------------------------------------------------------------------------------------

def new_domain(x, *, contrast: float = 0.5, background: float = 0.3, shift: int = 1):
    """The digits as another scanner might give them: (N, 64) in [0, 1] -> (N, 64) in [0, 1].

    Each 8x8 image is moved ``shift`` pixels to the right (zeros enter on the left), then
    ``contrast * x + background`` (clipped to [0, 1]): fainter strokes on a grey page.
    """
    imgs = np.asarray(x, dtype=float).reshape(-1, 8, 8)
    moved = np.zeros_like(imgs)
    moved[:, :, shift:] = imgs[:, :, :8 - shift] if shift else imgs
    return np.clip(contrast * moved + background, 0.0, 1.0).reshape(-1, 64)


def domain_splits(per_class: int = 5, n_val: int = 190) -> dict:
    """The new domain, from the digits test split: ``per_class`` labelled images of every
    class for fine-tuning (``"ft"``), ``n_val`` for the validation split (``"val"``), the
    rest for the test split (``"test"``). Each entry is ``(x, y)``; fixed split (seed 0)."""
    _, x_test, _, y_test = digits()
    x = new_domain(x_test)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(y_test))
    ft = np.concatenate([idx[y_test[idx] == c][:per_class] for c in range(10)])
    rest = np.setdiff1d(idx, ft)
    rest = rest[rng.permutation(len(rest))]
    val, test = rest[:n_val], rest[n_val:]
    return {"ft": (x[ft], y_test[ft]), "val": (x[val], y_test[val]),
            "test": (x[test], y_test[test])}


#: Fine-tuning settings: plain SGD. Every fine-tuning condition sees the same number of
#: examples (``examples``: 300 steps at batch 10, 1500 at batch 2), with the learning rate
#: scaled linearly with the batch size (``lr`` at ``lr_batch``, as chapter 6's sweep does),
#: and is evaluated on the validation split after every ``eval_examples`` examples (every 10
#: steps at batch 10, every 50 at batch 2), so the conditions are compared at equal data.
FINETUNE = {"examples": 3000, "lr": 0.05, "lr_batch": 10, "eval_examples": 100}

#: The conditions of :func:`finetune_run`: (name, AdaBN first?, BN mode while fine-tuning,
#: fine-tuning batch size; None: no fine-tuning). "ft frozen, batch 2" is the control that
#: separates what small batches do to the statistics from what they do to SGD.
CONDITIONS = (
    ("source", False, None, None),
    ("adabn", True, None, None),
    ("ft frozen, batch 10", False, "frozen", 10),
    ("ft updating, batch 10", False, "train", 10),
    ("ft frozen, batch 2", False, "frozen", 2),
    ("ft updating, batch 2", False, "train", 2),
    ("adabn + ft frozen, batch 10", True, "frozen", 10),
)


def finetune_schedule(batch_size: int) -> dict:
    """Steps, learning rate and evaluation interval of a fine-tuning run at ``batch_size``
    (:data:`FINETUNE`: the same number of examples for every batch size, linear lr scaling)."""
    if FINETUNE["examples"] % batch_size or FINETUNE["eval_examples"] % batch_size:
        raise ValueError(f"finetune_schedule: batch_size is {batch_size}; expected a divisor "
                         f"of {FINETUNE['eval_examples']}")
    return {"steps": FINETUNE["examples"] // batch_size,
            "lr": FINETUNE["lr"] * batch_size / FINETUNE["lr_batch"],
            "eval_every": FINETUNE["eval_examples"] // batch_size}


def finetune(model, x, y, *, bn_mode: str, batch_size: int, steps: int, lr: float, rng,
             evaluate=None, eval_every: int = 10) -> list:
    """Fine-tune ``model`` in place on (x, y) with plain SGD; returns ``evaluate(model)`` after
    every ``eval_every`` steps (and at step 0).

    bn_mode: ``"frozen"``: BN layers stay in eval mode (running statistics used and kept;
    gamma and beta still learn), the rest trains; ``"train"``: everything in training mode
    (batch statistics; running statistics updated with the layers' momentum).
    """
    if bn_mode not in ("frozen", "train"):
        raise ValueError(f"finetune: bn_mode is {bn_mode!r}; expected 'frozen' or 'train'")
    opt = SGD(model, lr)
    log = [evaluate(model)] if evaluate else []
    n = x.shape[0]
    perm, pos = rng.permutation(n), 0
    for step in range(1, steps + 1):
        if pos + batch_size > n:
            perm, pos = rng.permutation(n), 0
        idx = perm[pos:pos + batch_size]
        pos += batch_size
        model.train()
        if bn_mode == "frozen":
            for bn in batchnorm_layers(model):
                bn.eval()
        _, dlogits = softmax_cross_entropy(model(x[idx]), y[idx])
        model.backward(dlogits)
        opt.step()
        if evaluate and step % eval_every == 0:
            log.append(evaluate(model))
    model.eval()
    return log


def finetune_run(seed: int, *, splits: dict | None = None, conditions=CONDITIONS) -> dict:
    """Every condition of :data:`CONDITIONS` for one source model (seed).

    Returns ``{name: {"val": [...], "test": [...]}}``: the accuracies on the new domain's
    validation and test splits after 0, 100, 200, ... fine-tuning examples (one entry for
    the conditions without fine-tuning), plus ``"source_test"`` on the original test split.
    """
    splits = splits or domain_splits()
    (x_ft, y_ft), (x_val, y_val), (x_te, y_te) = splits["ft"], splits["val"], splits["test"]
    base, _ = source_model(seed)
    out = {"source_test": accuracy(base, digits()[1], digits()[3])}

    def evaluate(m):
        return accuracy(m, x_val, y_val), accuracy(m, x_te, y_te)

    for name, adabn, bn_mode, bs in conditions:
        model = copy.deepcopy(base)
        if adabn:  # AdaBN: the new domain's statistics, from the unlabelled fine-tuning images
            recompute_bn_statistics(model, [x_ft])
        if bn_mode is None:
            log = [evaluate(model)]
        else:
            log = finetune(model, x_ft, y_ft, bn_mode=bn_mode, batch_size=bs,
                           rng=np.random.default_rng(100 + seed), evaluate=evaluate,
                           **finetune_schedule(bs))
        out[name] = {"val": [v for v, _ in log], "test": [t for _, t in log]}
    return out


def chosen_test(run: dict) -> float:
    """The test accuracy at the step with the best validation accuracy (first such step)."""
    return run["test"][int(np.argmax(run["val"]))]


def paired_difference(a, b) -> tuple:
    """Mean and standard error of the paired differences ``a - b`` (one pair per seed)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0

