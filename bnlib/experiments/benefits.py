"""Chapter 3's tests of batch normalization's claimed benefits, and of why it works.

Pure, seeded functions on the digits MLP (see :mod:`bnlib.experiments.figure1`):

- :func:`final_run` / :func:`sweep`: learning-rate and init-scale sweeps, with and without BN;
- :func:`placement_runs`: BN before vs. after the activation;
- :func:`bias_redundancy`: a bias feeding BN changes nothing (beta replaces it);
- :class:`NoisyBN` and :func:`noisy_bn_runs`: Santurkar et al.'s (2018) "noisy BN": random,
  time-varying shifts and scales injected after every BN layer;
- :func:`landscape_run`: how much the loss and the gradient change along the gradient
  direction (a small version of Santurkar et al.'s smoothness measurements);
- :func:`scale_invariance`, :func:`weight_norm_growth`, :func:`layer_scale_runs`: the
  scale invariance of a layer feeding BN, the effective learning rate it implies, and which
  layers' initial scale the BN net is sensitive to;
- :func:`ics_run`: Santurkar et al.'s gradient-based measure of internal covariate shift.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .figure1 import build_model, digits, fit_digits, train_digits

__all__ = [
    "final_run",
    "sweep",
    "placement_runs",
    "bias_redundancy",
    "NoisyBN",
    "noisy_model",
    "noisy_bn_runs",
    "landscape_run",
    "scale_invariance",
    "weight_norm_growth",
    "layer_scale_runs",
    "LAYER_SCALE",
    "ics_run",
    "SWEEPS",
    "SWEEP_SEEDS",
    "SWEEP_STEPS",
    "WHY",
]

BN_MODES = {"plain": None, "bn": "before"}


def final_run(*, bn: bool, lr: float, seed: int, steps: int = 1500, init_scale=None,
              eval_every: int = 100, activation: str = "sigmoid") -> dict:
    """One training run; returns its test-accuracy curve and whether it diverged.

    Test accuracy after every ``eval_every`` steps. A diverged run (loss NaN/inf) keeps its
    curve up to the divergence and counts as chance accuracy (0.1) from then on, so curves
    of every run have the same length.
    """
    _, h = train_digits(bn="before" if bn else None, lr=lr, seed=seed, steps=steps,
                        init_scale=init_scale, eval_every=eval_every, activation=activation)
    if steps % eval_every:
        raise ValueError(f"final_run: steps={steps} is not a multiple of eval_every={eval_every}")
    n_points = steps // eval_every
    acc = [float(a) for a in h["test_acc"]][:n_points]
    diverged = bool(h.diverged) or not np.all(np.isfinite(acc))
    acc = [a if np.isfinite(a) else 0.1 for a in acc]
    acc += [0.1] * (n_points - len(acc))
    return {"step": list(range(eval_every, steps + 1, eval_every)), "test_acc": acc,
            "final_acc": acc[-1], "diverged": diverged}


def sweep(param: str, values, *, seeds=(0, 1, 2), steps: int = 1500, lr: float = 0.5,
          init_scale=None, eval_every: int = 100) -> dict:
    """Sweep ``param`` ("lr" or "init_scale") over ``values`` for plain and BN nets.

    Returns {"param", "values", "seeds", "step", "runs": {"plain"|"bn": [[run per seed]
    per value]}} where each run is :func:`final_run`'s dict without the step list.
    """
    if param not in ("lr", "init_scale"):
        raise ValueError(f"sweep: param must be 'lr' or 'init_scale', got {param!r}")
    out = {"param": param, "values": [float(v) for v in values], "seeds": list(seeds),
           "steps": steps, "lr": lr, "init_scale": init_scale, "runs": {}}
    for name in BN_MODES:
        table = []
        for v in values:
            kwargs = {"lr": lr, "init_scale": init_scale, param: float(v)}
            row = []
            for seed in seeds:
                run = final_run(bn=name == "bn", seed=seed, steps=steps,
                                eval_every=eval_every, **kwargs)
                out["step"] = run.pop("step")
                row.append(run)
            table.append(row)
        out["runs"][name] = table
    return out


def placement_runs(*, seeds=(0, 1, 2), steps: int = 1500, lr: float = 0.5,
                   activations=("sigmoid", "relu")) -> dict:
    """Final test accuracy with BN before vs. after the activation, per activation and seed."""
    out = {"seeds": list(seeds), "steps": steps, "lr": lr, "acc": {}}
    for act in activations:
        for where in ("before", "after"):
            accs = []
            for seed in seeds:
                _, h = train_digits(bn=where, lr=lr, seed=seed, steps=steps,
                                    eval_every=steps, activation=act)
                accs.append(float(h["test_acc"][-1]))
            out["acc"][f"{act}/{where}"] = accs
    return out


def _pre_bn_linears(model) -> list:
    """The Linear modules whose output feeds a BatchNorm1d."""
    modules = list(model)
    return [m for m, nxt in zip(modules[:-1], modules[1:])
            if type(m).__name__ == "Linear" and type(nxt).__name__ == "BatchNorm1d"]


def bias_redundancy(*, seed: int = 0, batch_size: int = 60) -> dict:
    """Show that a bias just before BN does nothing.

    Builds the BN-before net, runs a training-mode forward pass on one batch, then sets
    every pre-BN bias to random values (std 1) and runs it again, followed by a backward
    pass. Returns the number of such biases, the largest change of the outputs, the
    largest |gradient| of the pre-BN biases and, for comparison, the largest |gradient| of
    those layers' weights.
    """
    rng = np.random.default_rng(seed)
    x_train, _, y_train, _ = digits()
    idx = rng.choice(len(x_train), batch_size, replace=False)
    xb, yb = x_train[idx], y_train[idx]
    model = build_model(bn="before", seed=seed)
    model.train()
    out_zero = model(xb)
    linears = _pre_bn_linears(model)
    for lin in linears:
        lin.bias[...] = rng.standard_normal(lin.bias.shape)
    out_random = model(xb)
    _, dlogits = nn.softmax_cross_entropy(out_random, yb)
    model.backward(dlogits)
    return {
        "n_biases": len(linears),
        "max_output_change": float(np.max(np.abs(out_random - out_zero))),
        "max_bias_grad": float(max(np.max(np.abs(lin.dbias)) for lin in linears)),
        "max_weight_grad": float(max(np.max(np.abs(lin.dweight)) for lin in linears)),
    }


class NoisyBN(nn.Module):
    """Random, time-varying distribution shift injected after a BN layer (training only).

    At every training forward pass it draws, per unit j, a shift m_j ~ U(-shift, shift) and
    a scale s_j = exp(u_j), u_j ~ U(-log(scale), log(scale)), and per activation an extra
    Gaussian term of standard deviation ``jitter``: y_ij = s_j * x_ij + m_j + jitter * n_ij.
    So every unit's input distribution has a non-zero mean and a non-unit variance that
    change at every step. In eval mode it is the identity. No parameters.
    """

    def __init__(self, num_features: int, *, rng, shift: float = 1.0, scale: float = 2.0,
                 jitter: float = 0.5):
        self.num_features = num_features
        self.rng = rng
        self.shift, self.scale, self.jitter = shift, scale, jitter
        self._s = np.ones(num_features)

    def __repr__(self) -> str:
        return (f"NoisyBN({self.num_features}, shift={self.shift}, scale={self.scale}, "
                f"jitter={self.jitter})")

    def forward(self, x):
        if not self.training:
            self._s = np.ones(self.num_features)
            return x
        d = self.num_features
        self._s = np.exp(self.rng.uniform(-np.log(self.scale), np.log(self.scale), d))
        m = self.rng.uniform(-self.shift, self.shift, d)
        return self._s * x + m + self.jitter * self.rng.standard_normal(x.shape)

    def backward(self, dout):
        return dout * self._s


def noisy_model(*, seed: int, noise_seed: int | None = None, **noise):
    """The BN-before digits MLP with a :class:`NoisyBN` after every BN layer."""
    base = build_model(bn="before", seed=seed)
    rng = np.random.default_rng(seed + 2000 if noise_seed is None else noise_seed)
    modules = []
    for m in base:
        modules.append(m)
        if type(m).__name__ == "BatchNorm1d":
            modules.append(NoisyBN(len(m.gamma), rng=rng, **noise))
    return nn.Sequential(*modules)


def noisy_bn_runs(*, seeds=(0, 1, 2), steps: int = 1500, lr: float = 0.5,
                  eval_every: int = 100) -> dict:
    """Test-accuracy curves of plain, BN and noisy-BN nets (same lr, seeds, batches)."""
    out = {"seeds": list(seeds), "steps": steps, "lr": lr, "acc": {}}
    for name in ("plain", "bn", "noisy"):
        curves = []
        for seed in seeds:
            model = (noisy_model(seed=seed) if name == "noisy"
                     else build_model(bn=BN_MODES.get(name), seed=seed))
            h = fit_digits(model, lr=lr, seed=seed, steps=steps, eval_every=eval_every)
            curves.append([float(a) for a in h["test_acc"]])
        out["acc"][name] = curves
        out["step"] = [int(s) for s in h["step"]]
    return out


def _loss_and_grads(model, xb, yb):
    out = model(xb)
    loss, dlogits = nn.softmax_cross_entropy(out, yb)
    model.backward(dlogits)
    return float(loss), [np.copy(g) for g in model.gradients()]


def _bn_state(model):
    keys = ("running_mean", "running_var", "num_batches_tracked")
    return [(m, {k: np.copy(getattr(m, k)) for k in keys if hasattr(m, k)}) for m in model]


def _restore_bn_state(state):
    for m, saved in state:
        for k, v in saved.items():
            setattr(m, k, v if np.ndim(v) else v.item())


def landscape_run(*, bn: bool, lr: float = 0.5, seed: int = 0, steps: int = 1500,
                  every: int = 100, multipliers=(0.25, 0.5, 1.0, 2.0, 4.0),
                  batch_size: int = 60) -> dict:
    """Loss and gradient variation along the gradient direction during training.

    Every ``every`` steps, on a fixed batch of training examples (training mode: BN uses
    the batch statistics), take the gradient g at the current weights w and evaluate the
    loss and gradient at w - c * lr * g for each multiplier c. Records per checkpoint:
    loss_range (max - min of those losses, including c = 0), grad_change (largest
    ||g(w - c lr g) - g(w)||) and beta (largest ||g(w - c lr g) - g(w)|| / ||c lr g||,
    an "effective smoothness"). The weights and BN running statistics are restored, so
    the measurement does not change the training run.
    """
    x_train, _, y_train, _ = digits()
    rng = np.random.default_rng(seed + 3000)
    idx = rng.choice(len(x_train), batch_size, replace=False)
    xb, yb = x_train[idx], y_train[idx]

    def record(model, step):
        if step % every:
            return {"loss_range": None, "grad_change": None, "beta": None}
        params = model.parameters()
        saved = [np.copy(p) for p in params]
        bn_state = _bn_state(model)
        with nn.train_mode(model):
            loss0, g0 = _loss_and_grads(model, xb, yb)
            losses, changes, betas = [loss0], [], []
            for c in multipliers:
                for p, w, g in zip(params, saved, g0):
                    p[...] = w - c * lr * g
                loss, g = _loss_and_grads(model, xb, yb)
                diff = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(g, g0)))
                move = c * lr * np.sqrt(sum(np.sum(b ** 2) for b in g0))
                losses.append(loss)
                changes.append(diff)
                betas.append(diff / move if move > 0 else 0.0)
            for p, w in zip(params, saved):
                p[...] = w
            _restore_bn_state(bn_state)
        finite = np.isfinite(losses)
        return {"loss_range": float(np.ptp(np.asarray(losses)[finite])),
                "grad_change": float(max(changes)), "beta": float(max(betas))}

    _, h = train_digits(bn="before" if bn else None, lr=lr, seed=seed, steps=steps,
                        eval_every=every, record=record)
    keep = [i for i, v in enumerate(h["loss_range"]) if v is not None]
    return {"step": [int(h["step"][i]) for i in keep],
            "loss_range": [h["loss_range"][i] for i in keep],
            "grad_change": [h["grad_change"][i] for i in keep],
            "beta": [h["beta"][i] for i in keep],
            "test_acc": [float(h["test_acc"][i]) for i in keep]}


#: What scripts/precompute_ch3c.py runs (and tests recompute points of).
SWEEPS = {
    "lr": {"values": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0], "lr": 0.5,
           "init_scale": None},
    "init_scale": {"values": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], "lr": 0.5,
                   "init_scale": None},
}
SWEEP_SEEDS = (0, 1, 2)
SWEEP_STEPS = 1500
WHY = {"seeds": (0, 1, 2), "steps": 1500, "lr": 0.5, "landscape_seed": 0}


def _fixed_batch(seed: int, batch_size: int):
    x_train, _, y_train, _ = digits()
    idx = np.random.default_rng(seed + 3000).choice(len(x_train), batch_size, replace=False)
    return x_train[idx], y_train[idx]


def scale_invariance(*, seed: int = 0, a: float = 10.0, layer: int = 0,
                     batch_size: int = 60) -> dict:
    """Scale the weights of one Linear that feeds BN by ``a`` and compare loss and gradients.

    BN-before Figure 1 net, one training-mode batch. ``layer`` counts the pre-BN Linear
    layers (0 = the first). Returns the loss before and after, the ratio of that layer's
    weight-gradient norms (after / before; 1/a for a scale-invariant layer) and the largest
    relative change of the other parameters' gradients (the pre-BN biases, whose gradient is
    zero, left out).
    """
    xb, yb = _fixed_batch(seed, batch_size)
    model = build_model(bn="before", seed=seed)
    model.train()
    lin = _pre_bn_linears(model)[layer]
    state = _bn_state(model)
    loss0, g0 = _loss_and_grads(model, xb, yb)
    _restore_bn_state(state)
    k = next(i for i, p in enumerate(model.parameters()) if p is lin.weight)
    lin.weight *= a
    loss1, g1 = _loss_and_grads(model, xb, yb)
    others = [np.linalg.norm(b - c) / np.linalg.norm(b) for i, (b, c) in enumerate(zip(g0, g1))
              if i != k and np.linalg.norm(b) > 1e-8]   # pre-BN biases have zero gradient
    return {"a": float(a), "loss_before": loss0, "loss_after": loss1,
            "grad_ratio": float(np.linalg.norm(g1[k]) / np.linalg.norm(g0[k])),
            "other_grads_change": float(max(others))}


def _row_norms(model) -> list[float]:
    """Median over units of the weight-row norm of every Linear that feeds BN."""
    return [float(np.median(np.linalg.norm(lin.weight, axis=1)))
            for lin in _pre_bn_linears(model)]


def weight_norm_growth(*, lrs=(0.5, 30.0), seed: int = 0, steps: int = 300) -> dict:
    """How the weights feeding BN grow under SGD, per learning rate.

    Each unit's weight row w_j feeding BN is scale invariant, so its gradient is orthogonal
    to it and every SGD step lengthens it. Returns, per lr: the median row norm of each
    pre-BN layer at the start and after ``steps`` steps, and the effective learning rate
    lr / norm**2 at the end.
    """
    out = {"steps": steps, "seed": seed, "lrs": [float(lr) for lr in lrs], "runs": {}}
    for lr in lrs:
        model = build_model(bn="before", seed=seed)
        start = _row_norms(model)
        fit_digits(model, lr=lr, seed=seed, steps=steps, eval_every=steps)
        end = _row_norms(model)
        out["runs"][f"{lr:g}"] = {"norm_start": start, "norm_end": end,
                                  "effective_lr_end": [lr / n ** 2 for n in end]}
    return out


#: The mechanism experiments of chapter 3c (scripts/precompute_ch3c.py, cache ch3c_mechanisms).
LAYER_SCALE = {"seeds": (0, 1, 2), "steps": 1500, "lr": 0.5, "scale": 10.0,
               "which": ("none", "all", "hidden", "output"), "norm_lrs": (0.5, 30.0),
               "norm_steps": 300, "ics_seed": 0}


def layer_scale_run(*, which: str, seed: int, scale: float = 10.0, lr: float = 0.5,
                    steps: int = 1500, bn: bool = True) -> float:
    """Final test accuracy when only some layers start with weights of std ``scale``.

    which: "none" (library default 1/sqrt(fan_in) everywhere), "all", "hidden" (every
    Linear but the output layer) or "output" (only the output layer). The scaled layers keep
    the default draw's directions: their weights are multiplied by scale * sqrt(fan_in).
    """
    if which not in ("none", "all", "hidden", "output"):
        raise ValueError(f"layer_scale_run: which is {which!r}; expected 'none', 'all', "
                         f"'hidden' or 'output'")
    model = build_model(bn="before" if bn else None, seed=seed)
    linears = [m for m in model if type(m).__name__ == "Linear"]
    chosen = {"none": [], "all": linears, "hidden": linears[:-1],
              "output": linears[-1:]}[which]
    for lin in chosen:
        lin.weight *= scale * np.sqrt(lin.weight.shape[1])
    h = fit_digits(model, lr=lr, seed=seed, steps=steps, eval_every=steps)
    return float(h["test_acc"][-1])


def layer_scale_runs(*, seeds=(0, 1, 2), steps: int = 1500, lr: float = 0.5,
                     scale: float = 10.0, which=("none", "all", "hidden", "output")) -> dict:
    """:func:`layer_scale_run` for every ``which`` and seed (BN net). Returns final accuracies."""
    out = {"seeds": list(seeds), "steps": steps, "lr": lr, "scale": scale, "acc": {}}
    for w in which:
        out["acc"][w] = [layer_scale_run(which=w, seed=s, scale=scale, lr=lr, steps=steps)
                         for s in seeds]
    return out


def ics_run(*, bn: bool, lr: float = 0.5, seed: int = 0, steps: int = 1500,
            every: int = 100, batch_size: int = 60) -> dict:
    """Santurkar et al.'s (2018) gradient-based internal covariate shift, during training.

    Every ``every`` steps, on a fixed training batch (training mode): G = the gradient of the
    loss with respect to the last hidden Linear's weights; then apply one SGD step (lr) to
    every layer *below* it and recompute that gradient, G'. Records ||G - G'|| / ||G|| (the
    relative change of the layer's gradient caused by the updates of the layers below: how
    much its optimization problem moved) and the cosine between G and G'. Weights and BN
    running statistics are restored after each measurement.
    """
    xb, yb = _fixed_batch(seed, batch_size)

    def record(model, step):
        if step % every:
            return {"ics_rel": None, "ics_cos": None}
        linears = [m for m in model if type(m).__name__ == "Linear"]
        target = linears[-2]                         # the last hidden layer
        modules = list(model)
        below = modules[:modules.index(target)]
        params = model.parameters()
        saved = [np.copy(p) for p in params]
        bn_state = _bn_state(model)
        with nn.train_mode(model):
            _loss_and_grads(model, xb, yb)
            g = np.copy(target.dweight)
            for m in below:
                for p, dp in zip(m.parameters(), m.gradients()):
                    p -= lr * dp
            _restore_bn_state(bn_state)
            _loss_and_grads(model, xb, yb)
            g2 = np.copy(target.dweight)
            for p, w in zip(params, saved):
                p[...] = w
            _restore_bn_state(bn_state)
        ng, ng2 = np.linalg.norm(g), np.linalg.norm(g2)
        cos = float(np.sum(g * g2) / (ng * ng2)) if ng > 0 and ng2 > 0 else 0.0
        return {"ics_rel": float(np.linalg.norm(g - g2) / ng) if ng > 0 else 0.0,
                "ics_cos": cos}

    _, h = train_digits(bn="before" if bn else None, lr=lr, seed=seed, steps=steps,
                        eval_every=every, record=record)
    keep = [i for i, v in enumerate(h["ics_rel"]) if v is not None]
    return {"step": [int(h["step"][i]) for i in keep],
            "ics_rel": [h["ics_rel"][i] for i in keep],
            "ics_cos": [h["ics_cos"][i] for i in keep],
            "test_acc": [float(h["test_acc"][i]) for i in keep]}
