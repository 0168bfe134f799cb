"""Chapter 5's experiment: does the noise of batch statistics regularize?

An over-parameterized MLP (64 -> 256 -> 256 -> 10, ReLU) is trained on a small subset of the
digits training split and evaluated on the full test split. The normalization after each
hidden linear layer is one of the modes:

- ``"none"``: no normalization (the linear layers keep their bias);
- ``"bn"``: :class:`bnlib.batchnorm.BatchNorm1d` (statistics of the mini-batch: noisy);
- ``"frozen"``: :class:`bnlib.noise.FrozenBatchNorm1d`, statistics of the whole training
  subset, recomputed before every step and treated as constants (no batch noise);
- ``"ghost"``: :class:`bnlib.noise.GhostBatchNorm1d`, statistics over ghost batches of
  ``ghost_size`` rows (more noise than ``"bn"`` at the same batch size);
- ``"wholeset"``: ordinary BatchNorm1d, but every step runs the *whole* training subset
  forward, so the statistics are those of all training examples (no batch noise) and the
  backward pass goes through them as usual; only the rows of the mini-batch carry loss.
  Unlike ``"frozen"``, this keeps batch normalization's gradient through the statistics.

The training loop is written out here rather than calling :func:`bnlib.nn.train` because
two modes need a hook inside every step (refreshing the frozen statistics, weight decay).
Each step draws ``batch_size`` distinct training examples at random. Every function is
pure and seeded: the same arguments give the same numbers.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import nn
from ..batchnorm import BatchNorm1d
from ..data import load_digits
from ..noise import FrozenBatchNorm1d, GhostBatchNorm1d, refresh_frozen_statistics

__all__ = [
    "MODES",
    "DEFAULTS",
    "training_subset",
    "validation_subset",
    "build_model",
    "batch_statistics_accuracy",
    "train_run",
    "run_key",
    "summarize",
    "paired_difference",
    "best_by_validation",
    "CACHE_PATH",
    "load_cache",
]

#: Where scripts/precompute_ch5.py stores the runs.
CACHE_PATH = Path(__file__).resolve().parent.parent / "cache" / "ch5_regularization.json"

MODES = ("none", "bn", "frozen", "wholeset", "ghost")

#: The settings the chapter's precomputed runs use (scripts/precompute_ch5.py).
DEFAULTS = {
    "n_train": 200,
    "hidden": (256, 256),
    "steps": 1500,
    "lr": 0.05,
    "momentum": 0.9,
    "eval_every": 100,
    "ghost_size": 4,
    "weight_decay": 0.0,
    "subset_seed": 0,
}


@lru_cache(maxsize=1)
def _digits():
    return load_digits()


def training_subset(n_train: int, *, subset_seed: int = 0, label_noise: float = 0.0):
    """(x_train, y_train, x_test, y_test): ``n_train`` random rows of the digits training
    split (chosen with ``subset_seed``) and the whole test split. Copies, safe to modify.

    label_noise: the fraction of training labels replaced by a different, random class
    (a harder setting: the network can only fit them by memorizing); test labels are clean.
    """
    x_train, x_test, y_train, y_test = _digits()
    rng = np.random.default_rng(subset_seed)
    rows = rng.permutation(len(x_train))[:n_train]
    y = y_train[rows].copy()
    if label_noise:
        flip = rng.permutation(n_train)[:int(round(label_noise * n_train))]
        y[flip] = (y[flip] + rng.integers(1, 10, size=flip.size)) % 10
    return x_train[rows].copy(), y, x_test.copy(), y_test.copy()


def validation_subset(n_val: int, *, n_train: int = 200, subset_seed: int = 0,
                      label_noise: float = 0.0):
    """(x_val, y_val): ``n_val`` further rows of the digits training split, disjoint from the
    :func:`training_subset` of the same ``n_train`` and ``subset_seed`` (the next rows of the
    same permutation), for choosing a step or a setting without looking at the test split.

    label_noise: the same fraction of wrong labels as the training subset (a held-out part
    of the same noisy data, which is all a practitioner would have).
    """
    x_train, _, y_train, _ = _digits()
    rng = np.random.default_rng(subset_seed)
    rows = rng.permutation(len(x_train))[n_train:n_train + n_val]
    if rows.size < n_val:
        raise ValueError(f"validation_subset: n_val + n_train must be at most {len(x_train)}, "
                         f"got {n_val} + {n_train}")
    y = y_train[rows].copy()
    if label_noise:
        flip_rng = np.random.default_rng(subset_seed + 1)
        flip = flip_rng.permutation(n_val)[:int(round(label_noise * n_val))]
        y[flip] = (y[flip] + flip_rng.integers(1, 10, size=flip.size)) % 10
    return x_train[rows].copy(), y


def _norm_layer(mode: str, width: int, ghost_size: int):
    if mode in ("bn", "wholeset"):
        return BatchNorm1d(width)
    if mode == "frozen":
        return FrozenBatchNorm1d(width)
    if mode == "ghost":
        return GhostBatchNorm1d(width, ghost_size)
    raise ValueError(f"build_model: mode must be one of {MODES}, got {mode!r}")


def build_model(mode: str, *, seed: int, hidden=(256, 256), ghost_size: int = 4):
    """The MLP for ``mode`` (one of MODES), weights drawn with ``seed``.

    Normalization sits between each hidden linear layer and its ReLU (as in Ioffe &
    Szegedy, 2015); with normalization the hidden linear layers have no bias (beta replaces it).
    """
    if mode not in MODES:
        raise ValueError(f"build_model: mode must be one of {MODES}, got {mode!r}")
    rng = np.random.default_rng(seed)
    layers, width_in = [], 64
    for width in hidden:
        layers.append(nn.Linear(width_in, width, rng=rng, bias=(mode == "none")))
        if mode != "none":
            layers.append(_norm_layer(mode, width, ghost_size))
        layers.append(nn.ReLU())
        width_in = width
    layers.append(nn.Linear(width_in, 10, rng=rng))
    return nn.Sequential(*layers)


def batch_statistics_accuracy(model, x, y, batch_size: int, *, seed: int = 0) -> float:
    """Accuracy when every normalization layer uses the statistics of test batches.

    The test set is shuffled and cut into batches of ``batch_size`` (the remainder is
    dropped); a copy of the model runs in training mode, so the model's own running
    statistics are left untouched. This is what the network would predict if it were
    (wrongly) evaluated in training mode.
    """
    rows = np.random.default_rng(seed).permutation(len(x))
    rows = rows[: len(rows) // batch_size * batch_size]
    clone = copy.deepcopy(model).train()
    correct = 0
    for start in range(0, len(rows), batch_size):
        idx = rows[start:start + batch_size]
        correct += int(np.sum(np.argmax(clone(x[idx]), axis=1) == y[idx]))
    return correct / len(rows)


def _weight_decay(model, weight_decay: float) -> None:
    """Add weight_decay * W to the gradient of every weight matrix (not biases, gamma, beta)."""
    for p, g in zip(model.parameters(), model.gradients()):
        if p.ndim == 2:
            g += weight_decay * p


def train_run(mode: str, batch_size: int, seed: int, *, n_train: int = 200,
              hidden=(256, 256), steps: int = 1500, lr: float = 0.05, momentum: float = 0.9,
              eval_every: int = 100, ghost_size: int = 4, weight_decay: float = 0.0,
              subset_seed: int = 0, label_noise: float = 0.0, n_val: int = 0) -> dict:
    """Train one model and return its history (plain lists, ready for JSON).

    Returns a dict with ``step``, ``loss`` (training loss of the last batch), ``train_acc``
    and ``test_acc`` (eval mode, running statistics) every ``eval_every`` steps, with
    ``n_val > 0`` also ``val_acc`` (on :func:`validation_subset`), and at the end
    ``batch_stat_acc`` (test accuracy with batch statistics of test batches of
    ``batch_size``, see :func:`batch_statistics_accuracy`), ``train_batch_stat_acc`` (the
    same on the training subset: what the network gets right in the mode it trained in) and
    ``diverged``.
    """
    x_tr, y_tr, x_te, y_te = training_subset(n_train, subset_seed=subset_seed,
                                             label_noise=label_noise)
    if n_val:
        x_val, y_val = validation_subset(n_val, n_train=n_train, subset_seed=subset_seed,
                                         label_noise=label_noise)
    model = build_model(mode, seed=seed, hidden=hidden, ghost_size=ghost_size)
    opt = nn.SGD(model, lr=lr, momentum=momentum)
    rng = np.random.default_rng(10_000 + seed)
    hist = {"step": [], "loss": [], "train_acc": [], "test_acc": [], "diverged": False}
    if n_val:
        hist["val_acc"] = []
    for step in range(steps + 1):
        if mode == "frozen":  # the statistics follow the weights; eval uses them as well
            refresh_frozen_statistics(model, x_tr)
        if step % eval_every == 0 or step == steps:
            hist["step"].append(step)
            hist["train_acc"].append(nn.accuracy(model, x_tr, y_tr))
            hist["test_acc"].append(nn.accuracy(model, x_te, y_te))
            if n_val:
                hist["val_acc"].append(nn.accuracy(model, x_val, y_val))
        if step == steps:
            break
        idx = rng.choice(n_train, size=batch_size, replace=False)
        if mode == "wholeset":  # statistics of all rows; only the batch's rows carry loss
            logits = model(x_tr)
            loss, dbatch = nn.softmax_cross_entropy(logits[idx], y_tr[idx])
            dlogits = np.zeros_like(logits)
            dlogits[idx] = dbatch
        else:
            loss, dlogits = nn.softmax_cross_entropy(model(x_tr[idx]), y_tr[idx])
        if not np.isfinite(loss):
            hist["diverged"] = True
            break
        model.backward(dlogits)
        if weight_decay:
            _weight_decay(model, weight_decay)
        opt.step()
        if step % eval_every == 0:
            hist["loss"].append(float(loss))
    hist["batch_stat_acc"] = (batch_statistics_accuracy(model, x_te, y_te, batch_size, seed=seed)
                              if mode != "none" else hist["test_acc"][-1])
    hist["train_batch_stat_acc"] = (
        batch_statistics_accuracy(model, x_tr, y_tr, batch_size, seed=seed)
        if mode != "none" else hist["train_acc"][-1])
    return hist


def run_key(mode: str, batch_size: int, weight_decay: float = 0.0,
            label_noise: float = 0.0, ghost_size: int | None = None) -> str:
    """The cache key of a configuration, e.g. ``"bn/8"``, ``"none/32+wd"``, ``"bn/32+ln"``;
    a ghost size other than the default 4 is appended: ``"ghost/32+g16"``."""
    key = f"{mode}/{batch_size}" + ("+wd" if weight_decay else "") + ("+ln" if label_noise else "")
    if mode == "ghost" and ghost_size is not None and ghost_size != DEFAULTS["ghost_size"]:
        key += f"+g{ghost_size}"
    return key


def summarize(runs: dict, key: str) -> dict:
    """Mean and standard deviation over seeds of one configuration's curves and end values.

    runs: the ``"runs"`` mapping of the cache (key -> {"train_acc": [[...] per seed], ...}).
    Returns arrays ``train_mean``, ``train_std``, ``test_mean``, ``test_std``, ``gap_mean``,
    ``gap_std`` (train - test accuracy, per step) and the final values ``final_train``,
    ``final_test``, ``final_gap`` (mean, std) and ``n_seeds``.
    """
    run = runs[key]
    train = np.asarray(run["train_acc"], dtype=float)
    test = np.asarray(run["test_acc"], dtype=float)
    gap = train - test
    out = {"n_seeds": train.shape[0]}
    for name, a in (("train", train), ("test", test), ("gap", gap)):
        out[f"{name}_mean"] = a.mean(axis=0)
        out[f"{name}_std"] = a.std(axis=0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1])
        out[f"final_{name}"] = (float(out[f"{name}_mean"][-1]), float(out[f"{name}_std"][-1]))
    return out


def paired_difference(runs: dict, key_a: str, key_b: str, *, field: str = "test_acc",
                      index: int = -1) -> tuple[float, float, np.ndarray]:
    """Seed-by-seed difference A - B of one configuration pair at one evaluation point.

    Runs with the same seed share the batch order (and, among the BN modes, the initial
    weights), so the per-seed differences remove what the seed does to both runs alike.
    Returns (mean difference, its standard error sd/sqrt(n), the per-seed differences).
    """
    a = np.asarray(runs[key_a][field], dtype=float)
    b = np.asarray(runs[key_b][field], dtype=float)
    if a.ndim == 2:
        a, b = a[:, index], b[:, index]
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
    return float(d.mean()), se, d


def best_by_validation(run: dict) -> tuple[np.ndarray, np.ndarray]:
    """Early stopping done honestly: for each seed, the evaluation point with the highest
    validation accuracy (the first one on ties) and the test accuracy there.

    run: one cache entry with ``val_acc`` and ``test_acc`` (seeds x points).
    Returns (chosen point index per seed, test accuracy at it per seed).
    """
    if "val_acc" not in run:
        raise ValueError("best_by_validation: the run has no 'val_acc' (train it with n_val > 0)")
    val = np.asarray(run["val_acc"], dtype=float)
    test = np.asarray(run["test_acc"], dtype=float)
    best = np.argmax(val, axis=1)
    return best, test[np.arange(test.shape[0]), best]


def load_cache(path: Path | str | None = None) -> dict:
    """The precomputed runs (see scripts/precompute_ch5.py) as a dict."""
    return json.loads(Path(path or CACHE_PATH).read_text())
