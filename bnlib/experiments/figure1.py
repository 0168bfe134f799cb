"""Figure 1 of Ioffe & Szegedy (2015), reproduced on the 8x8 digits.

A fully connected net with three hidden layers of 100 sigmoid units is trained with plain
SGD on mini-batches of 60, with and without batch normalization (BN before each sigmoid,
as in the paper). Every ``eval_every`` steps the run records the test accuracy and the
15th/50th/85th percentiles, over the test set, of the input to one sigmoid of the last
hidden layer. Everything is a pure function of its arguments: the same seed gives the
same numbers.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import nn
from ..affine import SATURATION_Z, saturation_fraction  # re-exported: one definition
from ..data import load_digits

__all__ = [
    "SATURATION_Z",
    "digits",
    "build_model",
    "sigmoid_layer",
    "sigmoid_input",
    "saturation_fraction",
    "fit_digits",
    "train_digits",
    "run_figure1",
    "band_summary",
    "layer_drift",
    "GRID",
    "FIGURE1_LIVE",
    "grid_point",
    "grid_key",
]

@lru_cache(maxsize=1)
def _digits_cached():
    return load_digits()


def digits():
    """The course's digits split (x_train, x_test, y_train, y_test); copies, safe to modify."""
    return tuple(np.copy(a) for a in _digits_cached())


def build_model(*, bn: str | None, seed: int, init_scale: float | None = None,
                hidden=(100, 100, 100), activation: str = "sigmoid", bias: bool = True):
    """The digits MLP: 64 inputs, ``hidden`` layers, 10 outputs. bn: None, "before", "after"."""
    rng = np.random.default_rng(seed)
    return nn.mlp([64, *hidden, 10], activation=activation, bn=bn, rng=rng,
                  init_scale=init_scale, bias=bias)


def sigmoid_layer(model) -> int:
    """Index of the module whose output feeds the model's last activation (Sigmoid, ...).

    In the BN-before net that is the last hidden BatchNorm1d; without BN, the last hidden
    Linear. Its output is the "sigmoid input" of Figure 1(b, c).
    """
    acts = [i for i, m in enumerate(model) if type(m).__name__ in ("Sigmoid", "ReLU", "Tanh")]
    if not acts or acts[-1] == 0:
        raise ValueError("sigmoid_layer: the model has no activation after a layer")
    return acts[-1] - 1


def sigmoid_input(model, x) -> np.ndarray:
    """Input to the last hidden layer's activation for every row of x, shape (N, units).

    Runs the model in eval mode (BN uses its running statistics) and restores the mode.
    With BN before the activation this is the BN output; without BN, the linear output.
    """
    layer = sigmoid_layer(model)
    try:
        with nn.eval_mode(model):
            model.forward(x, keep=True)
        z = model.activations[layer]
    finally:
        model.activations = []
    return z


def fit_digits(model, *, lr: float, seed: int, steps: int, batch_size: int = 60,
               eval_every: int = 50, record=None):
    """Train ``model`` (a digits MLP, e.g. from :func:`build_model`) on the digits split with
    plain SGD; returns its :class:`~bnlib.nn.History` (``history.diverged`` marks a
    divergence). ``record(model, step)`` is :func:`bnlib.nn.train`'s callback, called at every
    evaluation. The mini-batches are drawn from ``seed + 1000``."""
    x_train, x_test, y_train, y_test = digits()
    rng = np.random.default_rng(seed + 1000)
    return nn.train(model, x_train, y_train, x_test=x_test, y_test=y_test,
                    steps=steps, batch_size=batch_size, lr=lr, rng=rng,
                    eval_every=eval_every, record=record)


def train_digits(*, bn: str | None, lr: float, seed: int, steps: int, init_scale=None,
                 batch_size: int = 60, eval_every: int = 50, activation: str = "sigmoid",
                 bias: bool = True, record=None):
    """Build the digits MLP (:func:`build_model`; bn: None, "before" or "after") and train
    it with :func:`fit_digits`; returns (model, history)."""
    model = build_model(bn=bn, seed=seed, init_scale=init_scale, activation=activation,
                        bias=bias)
    return model, fit_digits(model, lr=lr, seed=seed, steps=steps, batch_size=batch_size,
                             eval_every=eval_every, record=record)


def run_figure1(*, bn: bool, lr: float = 0.5, init_scale=None, steps: int = 2000,
                seed: int = 0, unit: int = 0, eval_every: int = 50,
                keep_layer_stats: bool = False) -> dict:
    """Train the Figure 1 net once; return its curves as plain lists of floats.

    Keys: step (0, eval_every, ..., steps: the untrained net comes first), test_acc, p15,
    p50, p85 (percentiles over the test set of the input to
    sigmoid ``unit`` in the last hidden layer), saturation (fraction of all last-layer
    sigmoid inputs with |z| > SATURATION_Z), diverged. With ``keep_layer_stats`` also
    unit_mean and unit_std: (checkpoints, units) lists of every last-layer unit's input
    mean and standard deviation over the test set.
    """
    _, x_test, _, y_test = digits()

    def record(model, step):
        z = sigmoid_input(model, x_test)
        p15, p50, p85 = np.percentile(z[:, unit], [15, 50, 85])
        out = {"p15": float(p15), "p50": float(p50), "p85": float(p85),
               "saturation": saturation_fraction(z)}
        if keep_layer_stats:
            out["unit_mean"] = z.mean(axis=0).tolist()
            out["unit_std"] = z.std(axis=0).tolist()
        return out

    model = build_model(bn="before" if bn else None, seed=seed, init_scale=init_scale)
    start = {"step": 0, "test_acc": nn.accuracy(model, x_test, y_test), **record(model, 0)}
    history = fit_digits(model, lr=lr, seed=seed, steps=steps, eval_every=eval_every,
                         record=record)
    keys = ["step", "test_acc", "p15", "p50", "p85", "saturation"]
    if keep_layer_stats:
        keys += ["unit_mean", "unit_std"]
    n = min(len(history[k]) for k in keys)
    result = {k: [start[k]] + list(history[k])[:n] for k in keys}
    result["step"] = [int(s) for s in result["step"]]
    result["test_acc"] = [float(a) for a in result["test_acc"]]
    result["diverged"] = bool(getattr(history, "diverged", False))
    return result


def band_summary(run: dict, start_step: int = 100, target_acc: float = 0.9) -> dict:
    """Summarize how the percentile band of a Figure 1 run moves over training.

    Measured from the first checkpoint at or after ``start_step`` (by then BN's running
    statistics, which eval mode uses, have settled) to the end:
    median_range (max - min of the median over those checkpoints: how far the centre of the
    distribution wanders), width_start and width_end (p85 - p15), width_ratio
    (width_end / width_start), final_acc, final_saturation, and steps_to_target (first
    checkpoint whose test accuracy reaches ``target_acc``; None if never).
    """
    steps = np.asarray(run["step"])
    if len(steps) < 2:
        raise ValueError("band_summary: the run has fewer than 2 checkpoints")
    i0 = int(np.searchsorted(steps, start_step))
    if i0 >= len(steps) - 1:
        raise ValueError(f"band_summary: start_step={start_step} leaves fewer than 2 "
                         f"checkpoints (last step {steps[-1]})")
    p15, p50, p85 = (np.asarray(run[k], dtype=float)[i0:] for k in ("p15", "p50", "p85"))
    width = p85 - p15
    acc = np.asarray(run["test_acc"], dtype=float)
    reached = np.flatnonzero(acc >= target_acc)
    return {
        "median_range": float(p50.max() - p50.min()),
        "width_start": float(width[0]),
        "width_end": float(width[-1]),
        "width_ratio": float(width[-1] / width[0]) if width[0] > 0 else float("inf"),
        "final_acc": float(acc[-1]),
        "final_saturation": float(run["saturation"][-1]),
        "steps_to_target": int(steps[reached[0]]) if reached.size else None,
    }


def layer_drift(run: dict, start_step: int = 100) -> dict:
    """How all last-layer sigmoid inputs move, from ``start_step`` to the end of a run.

    Needs a run made with ``keep_layer_stats=True``. Returns mean_shift (the average over
    units of |mean at the end - mean at start_step|, in units of z), std_ratio (the median
    over units of std at the end / std at start_step), std_start and std_end (medians over
    units), and units (how many).
    """
    if "unit_mean" not in run:
        raise ValueError("layer_drift: the run has no unit statistics; use "
                         "run_figure1(..., keep_layer_stats=True)")
    i0 = int(np.searchsorted(np.asarray(run["step"]), start_step))
    mean = np.asarray(run["unit_mean"], dtype=float)
    std = np.asarray(run["unit_std"], dtype=float)
    return {
        "mean_shift": float(np.mean(np.abs(mean[-1] - mean[i0]))),
        "std_ratio": float(np.median(std[-1] / std[i0])),
        "std_start": float(np.median(std[i0])),
        "std_end": float(np.median(std[-1])),
        "units": int(mean.shape[1]),
    }


#: The settings of chapter 3c's two live Figure 1 runs (and of the cached plain run at init
#: scale 0.3 that the chapter draws next to them).
FIGURE1_LIVE = {"lr": 0.5, "steps": 1200, "eval_every": 50, "seed": 0, "unit": 0}


#: The Figure 1 explorer's precomputed grid (scripts/precompute_ch3c.py): seed 0.
GRID = {"lrs": [0.05, 0.2, 0.5, 2.0, 8.0], "init_scales": [0.01, 0.1, 0.3, 1.0, 3.0],
        "steps": 2000, "eval_every": 100, "seed": 0, "unit": 0}


def grid_key(bn: bool, lr: float, init_scale: float) -> str:
    """The key of one grid point in the cache, e.g. "bn|0.5|0.1"."""
    return f"{'bn' if bn else 'plain'}|{float(lr):g}|{float(init_scale):g}"


def grid_point(bn: bool, lr: float, init_scale: float) -> dict:
    """Compute one point of :data:`GRID` (what the cache stores under :func:`grid_key`)."""
    return run_figure1(bn=bn, lr=lr, init_scale=init_scale, steps=GRID["steps"],
                       eval_every=GRID["eval_every"], seed=GRID["seed"], unit=GRID["unit"])
