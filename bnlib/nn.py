"""Tiny neural networks in NumPy: enough to rerun the batch-normalization paper's Figure 1.

Modules mirror PyTorch's names (``forward``/``__call__``, ``train()``/``eval()``,
``parameters()``) and add an explicit ``backward(dout) -> dx``, CS231n style. Each module
keeps what its backward pass needs from the last forward pass. ``parameters()`` and
``gradients()`` return aligned lists of arrays; :class:`SGD` updates the parameter arrays
in place. Everything runs vectorized in float64. Inputs must be floating-point arrays:
integer input raises ``TypeError`` (as in :mod:`bnlib.batchnorm`); labels are integers.
:func:`train`, :func:`accuracy` and :func:`unit_percentiles` run BLAS single-threaded,
which is much faster for matrices this small on a shared machine.

Ioffe & Szegedy (2015), Figure 1: a network with three hidden layers of 100 sigmoid units,
trained on mini-batches of 60, with and without batch normalization::

    rng = np.random.default_rng(0)
    x_train, x_test, y_train, y_test = load_digits()
    model = mlp([64, 100, 100, 100, 10], activation="sigmoid", bn="before", rng=rng)
    hist = train(model, x_train, y_train, x_test=x_test, y_test=y_test,
                 steps=2000, batch_size=60, lr=0.5, rng=rng)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import numpy as np

from ._validation import NonFiniteError, as_float_array, raise_non_finite
from ._module import Module, eval_mode, train_mode
from .batchnorm import BatchNorm1d
from .practice import recompute_bn_statistics

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "Sigmoid",
    "sigmoid",
    "Tanh",
    "Sequential",
    "mlp",
    "softmax_cross_entropy",
    "SGD",
    "accuracy",
    "History",
    "train",
    "unit_percentiles",
    "precise_bn",
    "eval_mode",
    "train_mode",
]


def _check_batch(x, func: str, n_features: int) -> np.ndarray:
    a = as_float_array(x, func, "x", f"(N, {n_features})", ndim=2)
    if a.shape[1] != n_features or a.shape[0] == 0:
        raise ValueError(f"{func}: x has shape {a.shape}; expected shape (N, {n_features}) "
                         f"with N >= 1")
    return a


class Linear(Module):
    """Fully connected layer ``y = x @ weight.T + bias``, like ``torch.nn.Linear``.

    in_features, out_features: sizes. rng: a ``numpy.random.Generator`` (required: no
    global randomness). bias: learn a bias (zeros at the start).
    init_scale: standard deviation of the Gaussian initial weights; None gives
    ``1 / sqrt(in_features)``. (PyTorch draws uniformly from +-1/sqrt(in_features) instead.)

    Attributes: ``weight`` (out_features, in_features), ``bias`` (out_features,) or None,
    ``dweight``, ``dbias`` after :meth:`backward`.
    forward: x (N, in_features) -> (N, out_features).
    """

    def __init__(self, in_features, out_features, *, rng, bias=True, init_scale=None):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"Linear: rng is {type(rng).__name__}; expected a "
                            f"numpy.random.Generator such as np.random.default_rng(0)")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        if self.in_features < 1 or self.out_features < 1:
            raise ValueError(f"Linear: got in_features={in_features}, out_features="
                             f"{out_features}; expected sizes >= 1")
        scale = 1.0 / np.sqrt(self.in_features) if init_scale is None else float(init_scale)
        self.init_scale = scale
        self.weight = rng.standard_normal((self.out_features, self.in_features)) * scale
        self.bias = np.zeros(self.out_features) if bias else None
        self.dweight = np.zeros_like(self.weight)
        self.dbias = np.zeros(self.out_features) if bias else None
        self._x = None

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")

    def forward(self, x):
        """x: (N, in_features) -> (N, out_features)."""
        x = _check_batch(x, "Linear.forward", self.in_features)
        self._x = x
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias
        return y

    def backward(self, dout):
        """dout: (N, out_features) -> dx (N, in_features); stores dweight, dbias."""
        x = self._saved("_x")
        dout = self._check_dout(dout, (x.shape[0], self.out_features))
        self.dweight = dout.T @ x
        if self.bias is not None:
            self.dbias = dout.sum(axis=0)
        return dout @ self.weight

    def parameters(self) -> list:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def gradients(self) -> list:
        return [self.dweight] if self.bias is None else [self.dweight, self.dbias]


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, elementwise (the one sigmoid of bnlib).

    x: any shape; floating-point input keeps its dtype, other input becomes float64.
    Keeps full relative precision for negative x (sigmoid(-40) = 4.2e-18, not 0); below
    x = -709 exp(-x) overflows to inf quietly and the result is 0 (the true value < 1e-308).
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-x)
    if e.ndim == 0:  # a scalar: numpy returned a number, not an array to reuse
        return 1.0 / (1.0 + e)
    e += 1.0
    return np.reciprocal(e, out=e)


class _Elementwise(Module):
    def forward(self, x):
        func = f"{type(self).__name__}.forward"
        x = as_float_array(x, func, "x", "any shape")
        self._out = self._f(x)
        return self._out

    def backward(self, dout):
        out = self._saved("_out")
        dout = self._check_dout(dout, out.shape)
        return self._df(dout, out)


class Sigmoid(_Elementwise):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise; any shape, like
    ``torch.nn.Sigmoid``. Forward: :func:`sigmoid` (its precision notes apply).
    Backward: ``dx = dout * y * (1 - y)``.
    """

    _f = staticmethod(sigmoid)

    @staticmethod
    def _df(dout, y):
        return dout * y * (1.0 - y)


class Tanh(_Elementwise):
    """Hyperbolic tangent, elementwise; any shape. Backward: ``dx = dout * (1 - y**2)``."""

    @staticmethod
    def _f(x):
        return np.tanh(x)

    @staticmethod
    def _df(dout, y):
        return dout * (1.0 - y * y)


class ReLU(_Elementwise):
    """Rectified linear unit ``max(x, 0)``, elementwise; any shape.
    Backward: ``dx = dout`` where ``x > 0``, else 0 (the gradient at exactly 0 is 0)."""

    @staticmethod
    def _f(x):
        return np.maximum(x, 0.0)

    @staticmethod
    def _df(dout, y):
        return dout * (y > 0)


class Sequential(Module):
    """A chain of modules, like ``torch.nn.Sequential``; supports ``len``, indexing, slicing
    (returns a Sequential sharing the modules) and iteration.

    ``forward(x, keep=True)`` stores each module's output in ``self.activations`` (a list
    aligned with the modules: ``activations[i]`` is the output of ``self[i]``), so you can
    inspect, e.g., the inputs of a sigmoid layer. With ``keep=False`` (the default, also
    for ``model(x)``) the list is emptied.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        for i, m in enumerate(modules):
            if not (callable(getattr(m, "forward", None)) and callable(getattr(m, "backward", None))):
                raise TypeError(f"Sequential: module {i} is a {type(m).__name__}; expected a "
                                f"module with forward and backward")
        self.modules = list(modules)
        self.activations: list = []
        self.training = True

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self):
        return iter(self.modules)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.modules[i])
        return self.modules[i]

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {m!r}" for i, m in enumerate(self.modules))
        return f"Sequential({inner}\n)"

    def forward(self, x, keep: bool = False):
        """Run x through every module in order. keep: store each output in ``activations``."""
        acts = []
        for m in self.modules:
            x = m(x)
            if keep:
                acts.append(x)
        self.activations = acts
        return x

    def backward(self, dout):
        """Backpropagate dout through the modules in reverse order; returns dx."""
        for m in reversed(self.modules):
            dout = m.backward(dout)
        return dout

    def train(self, mode: bool = True):
        self.training = bool(mode)
        for m in self.modules:
            m.train(mode)
        return self

    def parameters(self) -> list:
        return [p for m in self.modules for p in m.parameters()]

    def gradients(self) -> list:
        return [g for m in self.modules for g in m.gradients()]


_ACTIVATIONS = {"sigmoid": Sigmoid, "relu": ReLU, "tanh": Tanh}


def mlp(sizes, *, activation="sigmoid", bn=None, rng, init_scale=None, bias=True) -> Sequential:
    """A multilayer perceptron as a :class:`Sequential`.

    sizes: layer widths ``[in, hidden..., out]``, e.g. ``[64, 100, 100, 100, 10]``.
    activation: "sigmoid", "relu" or "tanh" after every hidden Linear (none after the last).
    bn: None (no batch normalization); "before": Linear -> BatchNorm1d -> activation, as in
    Ioffe & Szegedy (2015); "after": Linear -> activation -> BatchNorm1d.
    rng: numpy Generator for the initial weights. init_scale, bias: passed to every Linear.
    The output layer gives logits (N, sizes[-1]) for :func:`softmax_cross_entropy`.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp: sizes is {sizes}; expected at least two sizes >= 1 "
                         f"([in, ..., out])")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"mlp: activation is {activation!r}; expected one of "
                         f"{sorted(_ACTIVATIONS)}")
    if bn not in (None, "before", "after"):
        raise ValueError(f"mlp: bn is {bn!r}; expected None, 'before' or 'after'")
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(Linear(fan_in, fan_out, rng=rng, bias=bias, init_scale=init_scale))
        if bn == "before":
            layers.append(BatchNorm1d(fan_out))
        layers.append(_ACTIVATIONS[activation]())
        if bn == "after":
            layers.append(BatchNorm1d(fan_out))
    layers.append(Linear(sizes[-2], sizes[-1], rng=rng, bias=bias, init_scale=init_scale))
    return Sequential(*layers)


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy loss and its gradient.

    logits: (N, C) float. labels: (N,) integers in [0, C).
    Returns ``loss`` (a float, the mean over the batch) and ``dlogits`` (N, C):
    ``(softmax(logits) - onehot(labels)) / N``. Uses the log-sum-exp shift, so large logits
    do not overflow; non-finite logits raise :class:`~bnlib.NonFiniteError`.
    """
    func = "softmax_cross_entropy"
    z = as_float_array(logits, func, "logits", "(N, C)", ndim=2)
    n, c = z.shape
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{func}: labels has dtype {y.dtype} and shape {y.shape}; expected "
                        f"integer class indices of shape ({n},)")
    if y.shape != (n,) or n == 0:
        raise ValueError(f"{func}: labels has shape {y.shape} and logits {z.shape}; expected "
                         f"labels of shape ({n},) with N >= 1")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(f"{func}: labels (shape {y.shape}) range over [{y.min()}, {y.max()}]; "
                         f"expected integers in [0, {c - 1}] for logits of shape {z.shape}")
    if not np.isfinite(z).all():
        raise_non_finite(z, func, "logits", z.shape)
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
    dlogits = exp / total
    dlogits[rows, y] -= 1.0
    dlogits /= n
    return loss, dlogits


def _collect(modules_or_model) -> list:
    if hasattr(modules_or_model, "parameters"):
        return [modules_or_model]
    try:
        mods = list(modules_or_model)
    except TypeError:
        mods = []
    if not mods or not all(hasattr(m, "parameters") and hasattr(m, "gradients") for m in mods):
        raise TypeError(f"SGD: got {type(modules_or_model).__name__}; expected a model or a list "
                        f"of modules with parameters() and gradients()")
    return mods


class SGD:
    """Stochastic gradient descent with optional momentum, PyTorch convention.

    modules_or_model: a model (e.g. a :class:`Sequential`) or a list of modules.
    lr: learning rate. momentum: 0 for plain SGD. Each :meth:`step` reads the current
    gradients and updates every parameter array in place::

        v = momentum * v + grad        (v starts at 0; skipped when momentum == 0)
        p -= lr * v

    This is ``torch.optim.SGD`` (dampening 0, no weight decay).
    """

    def __init__(self, modules_or_model, lr, momentum=0.0):
        self.modules = _collect(modules_or_model)
        self.lr = float(lr)
        self.momentum = float(momentum)
        if not self.lr > 0:
            raise ValueError(f"SGD: lr is {lr}; expected a learning rate > 0")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"SGD: momentum is {momentum}; expected a number in [0, 1)")
        self._velocity = None

    def parameters(self) -> list:
        return [p for m in self.modules for p in m.parameters()]

    def gradients(self) -> list:
        return [g for m in self.modules for g in m.gradients()]

    def step(self) -> None:
        """Update every parameter in place with its current gradient."""
        params, grads = self.parameters(), self.gradients()
        if self.momentum == 0.0:
            for p, g in zip(params, grads):
                p -= self.lr * g
            return
        if self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self._velocity):
            v *= self.momentum
            v += g
            p -= self.lr * v


def accuracy(model, x, y) -> float:
    """Fraction of the rows of x whose arg-max logit equals the label in y.

    x: (N, D); y: (N,) integer labels. Runs the model in eval mode and restores the mode
    it was in before.
    """
    y = np.asarray(y)
    with eval_mode(model), np.errstate(over="ignore", invalid="ignore"), _one_blas_thread():
        logits = model(x)
    if np.shape(logits)[0] != y.shape[0]:
        raise ValueError(f"accuracy: y has shape {y.shape} but the model gave {np.shape(logits)[0]} "
                         f"predictions; expected y of shape ({np.shape(logits)[0]},)")
    return float(np.mean(np.argmax(logits, axis=1) == y))


class History(dict):
    """The training record: a dict of aligned lists, one entry per evaluation.

    Keys: ``"step"`` (steps completed), ``"loss"`` (mean training mini-batch loss since the
    previous evaluation), ``"train_acc"``, ``"test_acc"`` (NaN when no test set was given),
    plus every key returned by the ``record`` callback.
    ``diverged`` is True (and ``diverged_step`` the step) when the loss became NaN or
    infinite and training stopped early. Keys are also readable as attributes (``h.loss``).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.diverged = False
        self.diverged_step = None

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def arrays(self) -> dict:
        """The lists as NumPy arrays (a new dict)."""
        return {k: np.asarray(v) for k, v in self.items()}


def train(model, x_train, y_train, *, x_test=None, y_test=None, steps, batch_size, lr, rng,
          momentum=0.0, eval_every=None, record: Callable | None = None) -> History:
    """Train ``model`` with mini-batch SGD on softmax cross-entropy; return a :class:`History`.

    x_train: (N, D) float; y_train: (N,) integer labels; x_test, y_test: optional test set.
    steps: number of SGD steps; batch_size: rows per mini-batch (sampled without replacement,
    reshuffled by ``rng`` each epoch); lr, momentum: for :class:`SGD`.
    eval_every: evaluate after every that many steps and after the last step (None: about 20
    evaluations, ``max(1, steps // 20)``).
    record: optional ``record(model, step) -> dict``, called at each evaluation with the
    model in eval mode (training mode is restored afterwards); the values are appended to
    the history under their keys. Use it for activation statistics (see
    :func:`unit_percentiles`).

    If the loss becomes NaN or infinite (or a layer meets non-finite input), training stops,
    ``History.diverged`` is set and ``History.diverged_step`` records the step; what was
    logged before is kept.
    """
    func = "train"
    x_train = as_float_array(x_train, func, "x_train", "(N, D)", ndim=2)
    y_train = np.asarray(y_train)
    n = x_train.shape[0]
    if y_train.shape != (n,):
        raise ValueError(f"{func}: y_train has shape {y_train.shape}; expected shape ({n},) "
                         f"(one label per row of x_train, shape {x_train.shape})")
    if (x_test is None) != (y_test is None):
        raise ValueError(f"{func}: give both x_test and y_test, or neither")
    steps, batch_size = int(steps), int(batch_size)
    if steps < 1:
        raise ValueError(f"{func}: steps is {steps}; expected >= 1")
    if not 1 <= batch_size <= n:
        raise ValueError(f"{func}: batch_size is {batch_size}; expected 1 <= batch_size <= {n} "
                         f"(x_train has shape {x_train.shape})")
    eval_every = max(1, steps // 20) if eval_every is None else int(eval_every)
    if eval_every < 1:
        raise ValueError(f"{func}: eval_every is {eval_every}; expected >= 1")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng is {type(rng).__name__}; expected a numpy.random.Generator")

    opt = SGD(model, lr, momentum)
    hist = History(step=[], loss=[], train_acc=[], test_acc=[])
    model.train()
    perm, pos = rng.permutation(n), 0
    losses = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), _one_blas_thread():
        for step in range(1, steps + 1):
            if pos + batch_size > n:
                perm, pos = rng.permutation(n), 0
            idx = perm[pos:pos + batch_size]
            pos += batch_size
            try:
                loss, dlogits = softmax_cross_entropy(model(x_train[idx]), y_train[idx])
                if not np.isfinite(loss):
                    raise NonFiniteError(f"{func}: loss is {loss} at step {step}")
                model.backward(dlogits)
            except NonFiniteError:
                hist.diverged, hist.diverged_step = True, step
                break
            opt.step()
            losses.append(loss)
            if step % eval_every == 0 or step == steps:
                _log(hist, model, step, float(np.mean(losses)), x_train, y_train, x_test,
                     y_test, record)
                losses = []
    model.train()
    return hist


_BLAS = []  # a threadpoolctl controller, created on first use


@contextmanager
def _one_blas_thread():
    """Run BLAS single-threaded: for these small matrices, threads only add waiting (8x
    slower on a busy 2-core machine). threadpoolctl ships with scikit-learn; entering the
    context costs about 10 microseconds once the controller exists."""
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS.append(ThreadpoolController())
        except ImportError:  # pragma: no cover - scikit-learn always brings it
            _BLAS.append(None)
    if _BLAS[0] is None:  # pragma: no cover
        yield
        return
    with _BLAS[0].limit(limits=1, user_api="blas"):
        yield


def _log(hist, model, step, loss, x_train, y_train, x_test, y_test, record):
    hist["step"].append(step)
    hist["loss"].append(loss)
    hist["train_acc"].append(accuracy(model, x_train, y_train))
    hist["test_acc"].append(float("nan") if x_test is None else accuracy(model, x_test, y_test))
    if record is not None:
        with eval_mode(model):
            values = record(model, step)
        for key, value in dict(values).items():
            hist.setdefault(key, []).append(value)


def unit_percentiles(model, x, layer, unit, q=(15, 50, 85)) -> np.ndarray:
    """Percentiles of one unit's activation over the rows of x (eval mode, mode restored).

    model: a :class:`Sequential`; layer: index of the module whose *output* you want (e.g.
    the BatchNorm1d or Linear right before a sigmoid gives the sigmoid's input); unit: column.
    Returns an array of len(q): by default the 15th, 50th and 85th percentiles, as in
    Ioffe & Szegedy (2015), Figure 1(b, c).
    """
    try:
        with eval_mode(model), _one_blas_thread():
            model.forward(x, keep=True)
        acts = model.activations[layer]
    finally:
        model.activations = []
    if not 0 <= unit < acts.shape[1]:
        raise ValueError(f"unit_percentiles: unit is {unit}; layer {layer} has output shape "
                         f"{acts.shape}; expected 0 <= unit < {acts.shape[1]}")
    return np.percentile(acts[:, unit], q)


# ---------------------------------------------------------------------------------------------
# Convolution and reshaping (chapter 6)
# ---------------------------------------------------------------------------------------------

from .conv import conv2d_backward, conv2d_forward, pair as _pair  # noqa: E402

__all__ += ["Conv2d", "Flatten", "Unflatten"]


class Conv2d(Module):
    """2-D convolution (cross-correlation) by im2col, like ``torch.nn.Conv2d``.

    in_channels, out_channels: C_in, C_out. kernel_size, stride, padding: an int or a pair
    (zero padding). bias: learn a bias (zeros at the start). rng: a ``numpy.random.Generator``
    (required). init_scale: standard deviation of the Gaussian initial weights; None gives
    ``1 / sqrt(in_channels * kh * kw)`` (as :class:`Linear`; PyTorch draws uniformly instead).

    Attributes: ``weight`` (C_out, C_in, kh, kw) (PyTorch's layout), ``bias`` (C_out,) or
    None, ``dweight``/``dbias`` after :meth:`backward`.
    forward: x (N, C_in, H, W) -> (N, C_out, H_out, W_out) with
    ``H_out = (H + 2 * padding - kh) // stride + 1`` (and the same for W).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 *, rng, init_scale=None):
        name = "Conv2d"
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{name}: rng is {type(rng).__name__}; expected a "
                            f"numpy.random.Generator such as np.random.default_rng(0)")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        if self.in_channels < 1 or self.out_channels < 1:
            raise ValueError(f"{name}: got in_channels={in_channels}, out_channels="
                             f"{out_channels}; expected sizes >= 1")
        self.kernel_size = _pair(kernel_size, "kernel_size", name, 1)
        self.stride = _pair(stride, "stride", name, 1)
        self.padding = _pair(padding, "padding", name, 0)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        scale = 1.0 / np.sqrt(fan_in) if init_scale is None else float(init_scale)
        self.init_scale = scale
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = rng.standard_normal(shape) * scale
        self.bias = np.zeros(self.out_channels) if bias else None
        self.dweight = np.zeros_like(self.weight)
        self.dbias = np.zeros(self.out_channels) if bias else None
        self._cache = None

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size="
                f"{self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None})")

    def forward(self, x):
        """x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out)."""
        func = "Conv2d.forward"
        a = as_float_array(x, func, "x", f"(N, {self.in_channels}, H, W)", ndim=4)
        if a.shape[1] != self.in_channels or a.shape[0] == 0:
            raise ValueError(f"{func}: x has shape {a.shape}; expected shape "
                             f"(N, {self.in_channels}, H, W) with N >= 1")
        if not np.isfinite(a).all():
            raise_non_finite(a, func, "x", a.shape)
        try:
            y, self._cache = conv2d_forward(a, self.weight, self.bias, self.stride, self.padding)
        except ValueError as err:
            raise ValueError(str(err).replace("conv2d_forward", func)) from None
        self._out_shape = y.shape
        return y

    def backward(self, dout):
        """dout: (N, out_channels, H_out, W_out) -> dx (N, in_channels, H, W); stores
        dweight, dbias."""
        cache = self._saved("_cache")
        dout = self._check_dout(dout, self._out_shape)
        dx, self.dweight, dbias = conv2d_backward(dout, cache)
        if self.bias is not None:
            self.dbias = dbias
        return dx

    def parameters(self) -> list:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def gradients(self) -> list:
        return [self.dweight] if self.bias is None else [self.dweight, self.dbias]


class Flatten(Module):
    """Flatten every dimension after the first: ``(N, *)`` -> ``(N, prod(*))``, like
    ``torch.nn.Flatten()``. Backward reshapes the gradient back."""

    def forward(self, x):
        a = as_float_array(x, "Flatten.forward", "x", "(N, *)")
        self._shape = a.shape
        return a.reshape(a.shape[0], -1)

    def backward(self, dout):
        shape = self._saved("_shape")
        return np.asarray(dout).reshape(shape)


class Unflatten(Module):
    """Reshape (N, D) rows into ``(N, *unflattened_size)``, e.g. (N, 64) -> (N, 1, 8, 8) for the
    digits, like ``torch.nn.Unflatten(1, unflattened_size)``."""

    def __init__(self, unflattened_size):
        self.unflattened_size = tuple(int(s) for s in unflattened_size)

    def __repr__(self) -> str:
        return f"Unflatten({self.unflattened_size})"

    def forward(self, x):
        size = int(np.prod(self.unflattened_size))
        a = as_float_array(x, "Unflatten.forward", "x", f"(N, {size})", ndim=2)
        if a.shape[1] != size:
            raise ValueError(f"Unflatten.forward: x has shape {a.shape}; expected shape "
                             f"(N, {size}) to reshape to (N, {self.unflattened_size})")
        return a.reshape(a.shape[0], *self.unflattened_size)

    def backward(self, dout):
        d = np.asarray(dout)
        return d.reshape(d.shape[0], -1)


def precise_bn(model, x):
    """Replace every BN layer's running statistics by population statistics ("precise BN").

    model: a :class:`Sequential`; x: (N, D) inputs, e.g. the whole training set. With the
    model's current weights, each BatchNorm1d gets the mean and the unbiased variance of its
    input over all rows of x, as in Algorithm 2 of Ioffe & Szegedy (2015). Layers are
    treated in order, so a later layer sees the earlier layers already fixed (eval mode).
    Modifies the model in place (its mode is restored) and returns it. The same as
    ``bnlib.practice.recompute_bn_statistics(model, x, statistics="whole_set")``, the one
    precise-BN function (its default averages per-batch statistics instead).
    """
    return recompute_bn_statistics(model, x, statistics="whole_set")
