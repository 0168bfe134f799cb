"""Training vs. evaluation mode: one example's output in each mode as the momentum varies.

The setting and the computation are in :mod:`bnlib.batchnorm` (:data:`POP_MEAN`,
:data:`POP_STD`, :func:`running_stats_trajectory`, :func:`mode_outputs`): one hidden unit, a
BatchNorm layer (gamma = 1, beta = 0) that sees ``n_batches`` training batches and keeps
running statistics with the chosen convention, then one example ``x_example`` through the
layer in eval mode, in training mode, as a batch of one, and normalized with the population
statistics (the ideal). Here: :class:`ModesExplorer` (momentum, number of batches,
convention, and a Check button for the widget exercise
:func:`bnlib.exercises.batchnorm.check_keras_equivalent`).
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from ..batchnorm import (CONVENTIONS, MAX_BATCHES, POP_MEAN, POP_STD, X_EXAMPLE, ModeOutputs,
                         mode_outputs, running_stats_trajectory, training_stream)
from ..exercises.batchnorm import check_keras_equivalent
from ..plotting import PALETTE
from ._core import Widget

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


class ModesFigure:
    """Left, top: the running mean over training batches against a reference curve; left,
    bottom: the running variance, the same way. Right: the example's output in eval mode,
    in training mode (one dot per batch) and alone.

    ``axes`` is ``(mean_ax, var_ax, output_ax)``. The artists are created once;
    :meth:`update` moves them (no ``ax.clear()``).
    """

    _ROWS = ("eval mode", "train mode,\nbatch of {}", "own stats,\nbatch of 1")

    def __init__(self, axes, reference: tuple, batch_size: int = 8):
        self.axes = top, bottom, right = axes
        self.curves = []
        for ax, ref, pop, name in ((top, reference[0], POP_MEAN, "mean"),
                                   (bottom, reference[1], POP_STD ** 2, "variance")):
            ax.plot(np.arange(len(ref)), ref, color="#999999", lw=3, alpha=0.6,
                    label="PyTorch default (0.1)")
            self.curves.append(ax.plot([0], [0], color=PALETTE["blue"], lw=1.8,
                                       label=" ")[0])
            ax.axhline(pop, color=PALETTE["black"], ls="--", lw=1,
                       label=f"population {name}")
            ax.set(xlim=(0, MAX_BATCHES), ylabel=f"running {name}")
        top.set(ylim=(-0.5, 6.5), title="Running statistics during training")
        top.tick_params(labelbottom=False)
        bottom.set(ylim=(0.0, 12.0), xlabel="training batches seen")
        self.legend = top.legend(loc="lower right", fontsize=8)
        self.var_legend = bottom.legend(loc="upper right", fontsize=8)
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
        right = self.axes[2]
        steps = np.arange(len(out.running_mean))
        self.curves[0].set_data(steps, out.running_mean)
        self.curves[1].set_data(steps, out.running_var)
        name = {"pytorch": "PyTorch", "keras": "Keras"}[convention]
        for legend in (self.legend, self.var_legend):
            legend.get_texts()[1].set_text(f"{name}, momentum {momentum:.2f}")
        for i, values in enumerate(([out.eval_output], out.train_outputs, [out.single_output])):
            self.dots[i].set_offsets(np.column_stack([values, np.full(len(values), 2 - i)]))
        self.ideal.set_xdata([out.ideal_output, out.ideal_output])
        right.set_title(f"Eval output {out.eval_output:.2f}, ideal {out.ideal_output:.2f}")


class ModesExplorer(Widget):
    """Sliders -> :func:`~bnlib.batchnorm.mode_outputs` -> running mean and variance curves
    and the example's outputs.

    Attributes: ``convention`` (ToggleButtons, values "pytorch"/"keras"), ``momentum``,
    ``n_batches`` (sliders), ``check`` (CheckButton for
    :func:`~bnlib.exercises.batchnorm.check_keras_equivalent`), ``live``, ``widget``.
    Web book: both conventions, 11 momenta (0 to 1, with 0.1, 0.9 and 0.99), 6 batch counts.
    """

    def __init__(self, momentum=0.1, n_batches=30, convention="pytorch", batch_size=8, seed=0):
        super().__init__()
        self.batch_size, self.seed = batch_size, seed
        style = {"description_width": "90px"}
        self.convention = self.add_control(widgets.ToggleButtons(
            options=[("PyTorch", "pytorch"), ("Keras", "keras")], value=convention,
            description="convention", style=style))
        self.momentum = self.add_control(widgets.FloatSlider(
            momentum, min=0.0, max=1.0, step=0.01, description="momentum",
            continuous_update=False, style=style),
            grid=[0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0])
        self.n_batches = self.add_control(widgets.IntSlider(
            n_batches, min=1, max=MAX_BATCHES, description="batches",
            continuous_update=False, style=style), grid=[1, 5, 10, 30, 60, 100])
        self.live = self.add_figure(2, 2, figsize=(8.0, 4.4),
                                    alt="Left: running mean (top) and running variance "
                                        "(bottom) over training batches. Right: one "
                                        "example's output in eval mode, training mode and "
                                        "alone.")
        fig, grid = self.live.fig, self.live.axes[0, 1].get_gridspec()
        for ax in self.live.axes[:, 1]:
            ax.remove()
        output_ax = fig.add_subplot(grid[:, 1])
        fig.subplots_adjust(wspace=0.45, hspace=0.12, left=0.08, right=0.98, top=0.93,
                            bottom=0.11)
        reference = running_stats_trajectory(0.1, MAX_BATCHES, "pytorch", batch_size, seed)
        self.drawing = ModesFigure((self.live.axes[0, 0], self.live.axes[1, 0], output_ax),
                                   reference, batch_size)
        self.check = self.add_check(lambda: {"convention": self.convention.value,
                                             "momentum": self.momentum.value},
                                    check_keras_equivalent)
        self.build(self.convention, self.momentum, self.n_batches, self.live, self.check)

    def state(self) -> ModeOutputs:
        return mode_outputs(self.momentum.value, self.n_batches.value, self.convention.value,
                            batch_size=self.batch_size, seed=self.seed)

    def update(self) -> ModeOutputs:
        """Recompute and draw (the base renders it)."""
        out = self.state()
        self.drawing.update(out, self.momentum.value, self.convention.value)
        return out


def modes_explorer(**kwargs) -> ModesExplorer:
    """Build the train/eval mode widget; display its ``.widget``. Keyword arguments: initial
    ``momentum``, ``n_batches``, ``convention``, and ``batch_size``, ``seed``."""
    return ModesExplorer(**kwargs)
