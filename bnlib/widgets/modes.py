"""Training vs. evaluation mode: one example's output in each mode as the momentum varies.

The setting: one hidden unit whose input has population mean :data:`POP_MEAN` and standard
deviation :data:`POP_STD`. A BatchNorm layer (gamma = 1, beta = 0) sees ``n_batches``
training batches of ``batch_size`` values and keeps running statistics with the chosen
convention. Then one example, ``x_example``, goes through the layer:

- eval mode: normalized with the running statistics (what inference should do);
- training mode: normalized with the statistics of whichever batch it lands in, so its
  output changes from batch to batch;
- a batch of one normalized with its own statistics: x - mean(x) = 0, so the output is beta
  whatever the input (bnlib and PyTorch refuse this in training mode);
- ideal: normalized with the population statistics, ``(x - POP_MEAN) / POP_STD``.

Pure part: :func:`running_stats_trajectory`, :func:`mode_outputs`. Thin part:
:func:`modes_explorer` (momentum, number of batches, convention, and a Check button for the
widget exercise :func:`bnlib.exercises.batchnorm.check_keras_equivalent`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from ..batchnorm import batchnorm_forward, batchnorm_inference, update_running_stats
from ..exercises.batchnorm import check_keras_equivalent
from ..plotting import PALETTE
from ._core import CheckButton, LiveFigure

__all__ = [
    "POP_MEAN",
    "POP_STD",
    "X_EXAMPLE",
    "MAX_BATCHES",
    "CONVENTIONS",
    "ModeOutputs",
    "training_stream",
    "running_stats_trajectory",
    "mode_outputs",
    "ModesFigure",
    "ModesExplorer",
    "modes_explorer",
]

POP_MEAN = 3.0
POP_STD = 2.0
X_EXAMPLE = 5.0
MAX_BATCHES = 100
#: convention -> (how momentum maps to the weight of the new batch, ddof of the stored variance)
CONVENTIONS = {"pytorch": ("new", 1), "keras": ("old", 0)}


@lru_cache(maxsize=8)
def _stream(batch_size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    stream = rng.normal(POP_MEAN, POP_STD, size=(MAX_BATCHES, batch_size))
    stream.setflags(write=False)
    return stream


def training_stream(n_batches: int, batch_size: int = 8, seed: int = 0) -> np.ndarray:
    """The first ``n_batches`` training batches, shape (n_batches, batch_size) (read-only)."""
    n_batches = int(n_batches)
    if not 1 <= n_batches <= MAX_BATCHES:
        raise ValueError(f"training_stream: n_batches is {n_batches}; expected 1..{MAX_BATCHES}")
    if int(batch_size) < 2:
        raise ValueError(f"training_stream: batch_size is {batch_size}; expected >= 2")
    return _stream(int(batch_size), int(seed))[:n_batches]


def _new_weight(momentum: float, convention: str) -> tuple[float, int]:
    key = str(convention).lower()
    if key not in CONVENTIONS:
        raise ValueError(f"convention is {convention!r}; expected 'pytorch' or 'keras'")
    momentum = float(momentum)
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum is {momentum}; expected a number in [0, 1]")
    which, ddof = CONVENTIONS[key]
    return (momentum if which == "new" else 1.0 - momentum), ddof


def running_stats_trajectory(momentum: float, n_batches: int, convention: str = "pytorch",
                             batch_size: int = 8, seed: int = 0):
    """Running mean and variance after 0, 1, ..., n_batches batches.

    convention "pytorch": ``running = (1 - momentum) * running + momentum * batch`` with the
    unbiased batch variance. "keras": ``running = momentum * running + (1 - momentum) * batch``
    with the biased batch variance (as Keras 3's BatchNormalization). Both start at (0, 1).
    Returns two arrays of shape (n_batches + 1,).
    """
    weight, ddof = _new_weight(momentum, convention)
    batches = training_stream(n_batches, batch_size, seed)
    means = np.empty(len(batches) + 1)
    variances = np.empty(len(batches) + 1)
    rm, rv = np.zeros(1), np.ones(1)
    means[0], variances[0] = rm[0], rv[0]
    for i, batch in enumerate(batches, start=1):
        rm, rv = update_running_stats(rm, rv, batch.mean(keepdims=True),
                                      batch.var(ddof=ddof, keepdims=True), weight)
        means[i], variances[i] = rm[0], rv[0]
    return means, variances


class ModeOutputs(NamedTuple):
    """One example's output in each mode (gamma = 1, beta = 0)."""

    running_mean: np.ndarray   # (n_batches + 1,), starting at 0
    running_var: np.ndarray    # (n_batches + 1,), starting at 1
    eval_output: float         # normalized with the final running statistics
    train_outputs: np.ndarray  # (n_batches,): normalized with each training batch it joins
    single_output: float       # a batch of one normalized with its own statistics: beta = 0
    ideal_output: float        # normalized with the population statistics


def mode_outputs(momentum: float, n_batches: int, convention: str = "pytorch",
                 x_example: float = X_EXAMPLE, batch_size: int = 8, seed: int = 0,
                 eps: float = 1e-5) -> ModeOutputs:
    """Train the running statistics on ``n_batches`` batches, then pass ``x_example`` through
    the layer in eval mode, in training mode (replacing the first value of each training
    batch, so it shares the batch with ``batch_size - 1`` others) and as a batch of one."""
    means, variances = running_stats_trajectory(momentum, n_batches, convention, batch_size,
                                                seed)
    one, zero = np.ones(1), np.zeros(1)
    eval_out = batchnorm_inference(np.array([[x_example]], float), means[-1:], variances[-1:],
                                   one, zero, eps)[0, 0]
    batches = np.array(training_stream(n_batches, batch_size, seed))
    batches[:, 0] = x_example
    # Each column of batches.T is one batch: batchnorm_forward normalizes the columns separately.
    y, _ = batchnorm_forward(batches.T, np.ones(len(batches)), np.zeros(len(batches)), eps)
    single = (x_example - x_example) / np.sqrt(0.0 + eps)
    ideal = (x_example - POP_MEAN) / POP_STD
    return ModeOutputs(means, variances, float(eval_out), y[0].copy(), float(single),
                       float(ideal))


class ModesFigure:
    """Left: the running mean over training batches against a reference curve. Right: the
    example's output in eval mode, in training mode (one dot per batch) and alone.

    The artists are created once; :meth:`update` moves them (no ``ax.clear()``).
    """

    _ROWS = ("eval mode", "train mode,\nbatch of {}", "own stats,\nbatch of 1")

    def __init__(self, axes, reference: np.ndarray, batch_size: int = 8):
        self.axes = left, right = axes
        left.plot(np.arange(len(reference)), reference, color="#999999", lw=3, alpha=0.6,
                  label="PyTorch default (0.1)")
        (self.curve,) = left.plot([0], [0], color=PALETTE["blue"], lw=1.8, label=" ")
        left.axhline(POP_MEAN, color=PALETTE["black"], ls="--", lw=1, label="population mean")
        left.set(xlim=(0, MAX_BATCHES), ylim=(-0.5, 6.5), xlabel="training batches seen",
                 ylabel="running mean", title="Running mean during training")
        self.legend = left.legend(loc="lower right")
        colours = (PALETTE["blue"], PALETTE["orange"], PALETTE["vermillion"])
        self.dots = [right.scatter([0.0], [2 - i], color=c, s=30, alpha=0.7, zorder=3)
                     for i, c in enumerate(colours)]
        self.ideal = right.axvline(0, color=PALETTE["black"], ls="--", lw=1, label="ideal")
        right.set_yticks([2, 1, 0], [self._ROWS[0], self._ROWS[1].format(batch_size),
                                     self._ROWS[2]])
        right.set(ylim=(-0.6, 2.6), xlim=(-3, 5),
                  xlabel=f"output for x = {X_EXAMPLE:g} (γ = 1, β = 0)")
        right.legend(loc="lower right")

    def update(self, out: ModeOutputs, momentum: float, convention: str) -> None:
        left, right = self.axes
        self.curve.set_data(np.arange(len(out.running_mean)), out.running_mean)
        name = {"pytorch": "PyTorch", "keras": "Keras"}[convention]
        self.legend.get_texts()[1].set_text(f"{name}, momentum {momentum:.2f}")
        for i, values in enumerate(([out.eval_output], out.train_outputs, [out.single_output])):
            self.dots[i].set_offsets(np.column_stack([values, np.full(len(values), 2 - i)]))
        self.ideal.set_xdata([out.ideal_output, out.ideal_output])
        right.set_title(f"Eval output {out.eval_output:.2f}, ideal {out.ideal_output:.2f}")


class ModesExplorer:
    """Sliders -> :func:`mode_outputs` -> running mean curve and the example's outputs.

    Attributes: ``convention`` (ToggleButtons, values "pytorch"/"keras"), ``momentum``,
    ``n_batches`` (sliders), ``check`` (CheckButton for
    :func:`~bnlib.exercises.batchnorm.check_keras_equivalent`), ``live``, ``widget``.
    """

    def __init__(self, momentum=0.1, n_batches=30, convention="pytorch", batch_size=8, seed=0):
        self.batch_size, self.seed = batch_size, seed
        style = {"description_width": "90px"}
        self.convention = widgets.ToggleButtons(options=[("PyTorch", "pytorch"),
                                                         ("Keras", "keras")],
                                                value=convention, description="convention",
                                                style=style)
        self.momentum = widgets.FloatSlider(momentum, min=0.0, max=1.0, step=0.01,
                                            description="momentum", continuous_update=False,
                                            style=style)
        self.n_batches = widgets.IntSlider(n_batches, min=1, max=MAX_BATCHES,
                                           description="batches", continuous_update=False,
                                           style=style)
        self.live = LiveFigure(1, 2, figsize=(8.0, 3.0),
                               alt="Left: running mean over training batches. Right: one "
                                   "example's output in eval mode, training mode and alone.")
        self.live.fig.subplots_adjust(wspace=0.45, left=0.08, right=0.98, top=0.88, bottom=0.17)
        reference, _ = running_stats_trajectory(0.1, MAX_BATCHES, "pytorch", batch_size, seed)
        self.drawing = ModesFigure(self.live.axes, reference, batch_size)
        self.check = CheckButton(lambda: {"convention": self.convention.value,
                                          "momentum": self.momentum.value},
                                 check_keras_equivalent)
        for control in (self.convention, self.momentum, self.n_batches):
            control.observe(lambda _: self.update(), names="value")
        self.widget = widgets.VBox([self.convention, self.momentum, self.n_batches,
                                    self.live.output, self.check.widget])
        self.update()

    def state(self) -> ModeOutputs:
        return mode_outputs(self.momentum.value, self.n_batches.value, self.convention.value,
                            batch_size=self.batch_size, seed=self.seed)

    def update(self) -> None:
        self.drawing.update(self.state(), self.momentum.value, self.convention.value)
        self.live.refresh()


def modes_explorer(**kwargs) -> ModesExplorer:
    """Build the train/eval mode widget; display its ``.widget``. Keyword arguments: initial
    ``momentum``, ``n_batches``, ``convention``, and ``batch_size``, ``seed``."""
    return ModesExplorer(**kwargs)
