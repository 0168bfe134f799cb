"""Chapter 4's network-level experiment: what do gamma and beta buy a whole network?

An MLP on the digits (64 -> 3 hidden layers -> 10) with batch normalization before every
activation (as in Ioffe & Szegedy, 2015), trained with and without the affine parameters
(``BatchNorm1d(affine=True)`` vs ``affine=False``), for a sigmoid and a ReLU activation.
:func:`train_affine_network` trains one configuration and returns its end accuracies and the
learned gamma and beta of every normalization layer. Everything is seeded: the same arguments
give the same numbers on one machine.

The runs are small enough (about a second each) for the chapter to run a few seeds itself;
scripts/precompute_ch4.py stores a larger sweep in ``bnlib/cache/ch4_affine.json``.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..batchnorm import BatchNorm1d
from ..data import load_digits

__all__ = ["AFFINE_DEFAULTS", "build_affine_network", "train_affine_network"]

#: The settings of the chapter's runs.
AFFINE_DEFAULTS = {"hidden": (64, 64, 64), "steps": 300, "batch_size": 64, "lr": 0.1,
                   "momentum": 0.9}

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def build_affine_network(activation: str, affine: bool, *, seed: int,
                         hidden=(64, 64, 64)) -> nn.Sequential:
    """Linear (no bias) -> BatchNorm1d(affine) -> activation, per hidden layer; then Linear.

    activation: "sigmoid" or "relu". The hidden Linear layers have no bias: with ``affine``
    the BN shift beta replaces it; without, nothing can shift a unit (that is the point).
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"build_affine_network: activation must be one of "
                         f"{sorted(_ACTIVATIONS)}, got {activation!r}")
    rng = np.random.default_rng(seed)
    layers, width_in = [], 64
    for width in hidden:
        layers += [nn.Linear(width_in, width, rng=rng, bias=False),
                   BatchNorm1d(width, affine=affine), _ACTIVATIONS[activation]()]
        width_in = width
    layers.append(nn.Linear(width_in, 10, rng=rng))
    return nn.Sequential(*layers)


def train_affine_network(activation: str, affine: bool, seed: int, **settings) -> dict:
    """Train one network on the digits training split; evaluate on the test split.

    settings: overrides of :data:`AFFINE_DEFAULTS`. Returns a dict of plain values:
    ``train_loss`` (mean loss of the last evaluation interval), ``train_acc``, ``test_acc``
    (eval mode) and, with ``affine``, ``gamma`` and ``beta``: one list per BN layer.
    """
    cfg = {**AFFINE_DEFAULTS, **settings}
    x_train, x_test, y_train, y_test = load_digits()
    model = build_affine_network(activation, affine, seed=seed, hidden=cfg["hidden"])
    hist = nn.train(model, x_train, y_train, x_test=x_test, y_test=y_test,
                    steps=cfg["steps"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                    momentum=cfg["momentum"], eval_every=cfg["steps"],
                    rng=np.random.default_rng(1000 + seed))
    out = {"train_loss": float(hist["loss"][-1]), "train_acc": float(hist["train_acc"][-1]),
           "test_acc": float(hist["test_acc"][-1]), "diverged": bool(hist.diverged)}
    if affine:
        bns = [m for m in model.modules if isinstance(m, BatchNorm1d)]
        out["gamma"] = [bn.gamma.tolist() for bn in bns]
        out["beta"] = [bn.beta.tolist() for bn in bns]
    return out
