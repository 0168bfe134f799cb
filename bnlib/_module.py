"""The module base class shared by :mod:`bnlib.nn` and :mod:`bnlib.batchnorm`, and the one
"run in a mode, then restore it" context manager (public as ``bnlib.nn.Module``,
``bnlib.nn.eval_mode``, ``bnlib.nn.train_mode``; they live here so that batchnorm.py and
practice.py need not import nn.py)."""
from __future__ import annotations

from contextlib import contextmanager

from ._validation import as_float_array

__all__ = ["Module", "eval_mode", "train_mode"]


@contextmanager
def _in_mode(model, training: bool):
    was_training = getattr(model, "training", True)
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)


def eval_mode(model):
    """``with eval_mode(model):`` runs the block with ``model`` in eval mode (BN uses its
    running statistics) and restores the mode it was in, also after an exception. Like
    ``model.eval()`` + ``model.train(was_training)``; PyTorch has no such helper (its
    ``torch.no_grad`` is about gradients, not the mode)."""
    return _in_mode(model, False)


def train_mode(model):
    """``with train_mode(model):`` the same in training mode (BN uses batch statistics and
    updates its running statistics: see :func:`bnlib.practice.kept_running_statistics` to keep
    them)."""
    return _in_mode(model, True)


class Module:
    """Base class: a layer with ``forward``/``__call__``, ``backward``, a ``training`` flag and
    (possibly empty) aligned ``parameters()``/``gradients()`` lists."""

    training = True

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):  # pragma: no cover - overridden
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - overridden
        raise NotImplementedError

    def train(self, mode: bool = True):
        """Switch to training mode (``mode=False``: eval mode). Returns self."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode. Returns self."""
        return self.train(False)

    def parameters(self) -> list:
        """The parameter arrays (updated in place by an optimizer)."""
        return []

    def gradients(self) -> list:
        """Gradients from the last backward pass, aligned with :meth:`parameters`."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _saved(self, name: str):
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward: call forward(x) before "
                               f"backward(dout)")
        return value

    def _check_dout(self, dout, shape):
        func = f"{type(self).__name__}.backward"
        d = as_float_array(dout, func, "dout", shape, ndim=len(shape))
        if d.shape != shape:
            raise ValueError(f"{func}: dout has shape {d.shape}; expected shape {shape} (the "
                             f"shape of the forward output)")
        return d
