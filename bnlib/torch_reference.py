"""PyTorch's ``torch.nn.BatchNorm1d`` on fixed batches: the reference chapter 3b compares
bnlib's :class:`~bnlib.batchnorm.BatchNorm1d` with.

PyTorch is optional (a multi-gigabyte install), so the book cannot count on it. With PyTorch
installed, :func:`torch_batchnorm1d_reference` runs it; without, it returns what PyTorch
computed on the same inputs when ``scripts/record_ch3b_torch.py`` ran, stored with PyTorch's
version in ``bnlib/cache/ch3b_torch_batchnorm1d.json``. Either way bnlib is run live on the
inputs and compared; ``source`` says which kind of reference it was compared with.
"""
from __future__ import annotations

import json
from importlib import resources

import numpy as np

__all__ = ["RECORD_NAME", "comparison_inputs", "run_torch_batchnorm1d", "run_bnlib_batchnorm1d",
           "torch_batchnorm1d_reference"]

#: The recorded reference, ``bnlib/cache/<RECORD_NAME>.json``.
RECORD_NAME = "ch3b_torch_batchnorm1d"
#: The arrays a run returns: training-mode outputs (n_batches, N, D), running statistics
#: (D,) after those batches, eval-mode output of the probe (1, D).
OUTPUTS = ("train_outputs", "running_mean", "running_var", "eval_output")


def comparison_inputs(seed: int = 1, n_batches: int = 3, batch_size: int = 8,
                      features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Training batches (n_batches, batch_size, features) and one probe row (1, features),
    drawn from N(3, 2^2) with ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    batches = rng.normal(3.0, 2.0, size=(n_batches, batch_size, features))
    probe = rng.normal(3.0, 2.0, size=(1, features))
    return batches, probe


def run_torch_batchnorm1d(batches: np.ndarray, probe: np.ndarray) -> dict:
    """A fresh float64 ``torch.nn.BatchNorm1d`` (PyTorch defaults) trained on ``batches`` one
    after the other, then switched to eval mode and fed ``probe``. Needs PyTorch."""
    import torch

    bn = torch.nn.BatchNorm1d(batches.shape[2], dtype=torch.float64)
    with torch.no_grad():
        train = [bn(torch.from_numpy(np.ascontiguousarray(b))).numpy() for b in batches]
        bn.eval()
        probe_out = bn(torch.from_numpy(np.ascontiguousarray(probe))).numpy()
    return {"train_outputs": np.stack(train), "running_mean": bn.running_mean.numpy().copy(),
            "running_var": bn.running_var.numpy().copy(), "eval_output": probe_out,
            "torch_version": torch.__version__}


def run_bnlib_batchnorm1d(batches: np.ndarray, probe: np.ndarray) -> dict:
    """The same steps as :func:`run_torch_batchnorm1d` with bnlib's BatchNorm1d."""
    from .batchnorm import BatchNorm1d

    bn = BatchNorm1d(batches.shape[2])
    train = np.stack([bn(b) for b in batches])
    bn.eval()
    return {"train_outputs": train, "running_mean": bn.running_mean.copy(),
            "running_var": bn.running_var.copy(), "eval_output": bn(probe)}


def _load_record() -> dict:
    path = resources.files("bnlib") / "cache" / f"{RECORD_NAME}.json"
    with path.open("r", encoding="utf-8") as f:
        data = json.load(f)
    arrays = {k: np.asarray(data[k], dtype=np.float64)
              for k in ("batches", "probe", *OUTPUTS)}
    return {**data, **arrays}


def torch_batchnorm1d_reference(live: bool | None = None) -> dict:
    """PyTorch's outputs on :func:`comparison_inputs`, with the inputs.

    live: True runs PyTorch (ImportError without it), False reads the record, None (default)
    runs PyTorch when it can be imported and reads the record otherwise.
    Returns a dict with ``batches``, ``probe``, the arrays of :data:`OUTPUTS`,
    ``torch_version`` and ``source`` ("live" or "recorded").
    """
    if live is None:
        try:
            import torch  # noqa: F401
        except ImportError:
            live = False
        else:
            live = True
    if not live:
        return {**_load_record(), "source": "recorded"}
    batches, probe = comparison_inputs()
    return {"batches": batches, "probe": probe, **run_torch_batchnorm1d(batches, probe),
            "source": "live"}
