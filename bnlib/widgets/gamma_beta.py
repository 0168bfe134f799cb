"""Chapter 4 widgets: gamma and beta reshaping a unit's output, and learned gamma/beta over
training steps. Thin wiring: the numbers come from :mod:`bnlib.affine`.

    w = gamma_beta_explorer(x)        # x: one unit's activations, shape (N,)
    w.gamma.value = 2.0; w.beta.value = 1.0; w.check.run()
    w.widget                          # display

    a = training_animator({"reproduce the input": (trajectory, x_hat)})
    a.step.value = 50
    a.widget
"""
from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..affine import identity_params, rms_distance
from ..batchnorm import batchnorm_forward
from ..exercises.gamma_beta import check_identity
from ..plotting import PALETTE
from ._core import Widget

__all__ = ["affine_view", "GammaBetaExplorer", "gamma_beta_explorer", "TrainingAnimator", "training_animator"]


def _density(values, edges):
    counts, _ = np.histogram(values, bins=edges, density=True)
    return counts


def affine_view(x, gamma: float, beta: float, eps: float = 1e-5):
    """What the gamma/beta slider widget shows for one unit x of shape (N,).

    Returns (y, distance): the layer's output gamma * x_hat + beta and its RMS distance to x.
    """
    x = np.asarray(x, dtype=float).reshape(-1, 1)
    y, _ = batchnorm_forward(x, np.array([float(gamma)]), np.array([float(beta)]), eps)
    return y[:, 0], rms_distance(y, x)


class GammaBetaExplorer(Widget):
    """Sliders for gamma and beta; the unit's output histogram drawn over its input's.

    Attributes for tests: ``gamma``, ``beta`` (FloatSliders), ``readout`` (HTML),
    ``check`` (CheckButton: reach the identity within ``tol``), ``distance`` (last RMS
    distance), ``view`` (the figure), ``widget``. Web book: gamma every 0.5, beta every 1,
    each plus the identity's value on the slider's 0.05 grid (the exercise's answer).
    """

    def __init__(self, x, *, eps: float = 1e-5, tol: float = 0.05,
                 xlim: tuple[float, float] = (-10.0, 12.0)):
        super().__init__()
        self.x = np.asarray(x, dtype=float).ravel()
        self.eps = eps
        self.tol = tol
        gamma_id, beta_id = identity_params(self.x.reshape(-1, 1), eps)
        self.target_gamma, self.target_beta = float(gamma_id[0]), float(beta_id[0])
        self.edges = np.linspace(xlim[0], xlim[1], 56)

        def on_grid(value, slider):  # the slider position nearest to value
            k = round((min(max(value, slider.min), slider.max) - slider.min) / slider.step)
            return (round(slider.min + k * slider.step, 10),)

        gamma = widgets.FloatSlider(value=1.0, min=0.0, max=5.0, step=0.05,
                                    description="gamma", continuous_update=True)
        beta = widgets.FloatSlider(value=0.0, min=-5.0, max=5.0, step=0.05,
                                   description="beta", continuous_update=True)
        self.gamma = self.add_control(gamma, every=10,
                                      include=on_grid(self.target_gamma, gamma))
        self.beta = self.add_control(beta, every=20, include=on_grid(self.target_beta, beta))
        self.readout = self.add_readout()
        self.view = self.add_figure(figsize=(6.0, 3.0), alt=(
            "Histogram of the layer's output drawn over the histogram of its original input; "
            "the two coincide when gamma is the batch standard deviation and beta the mean."))
        ax = self.view.axes
        ax.stairs(_density(self.x, self.edges), self.edges, fill=True, alpha=0.35,
                  color=PALETTE["orange"], label="original input x")
        self.stairs = ax.stairs(np.zeros(len(self.edges) - 1), self.edges, linewidth=2,
                                color=PALETTE["blue"], label="output gamma * x_hat + beta")
        ax.set_xlim(*xlim)
        ax.set_ylim(0, 0.6)
        # Few, fixed ticks: tick labels dominate the redraw time of a small figure.
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_yticks([0.0, 0.3, 0.6])
        ax.set_xlabel("activation value (arbitrary units)")
        ax.set_ylabel("density")
        ax.legend(loc="upper right")
        self.view.fig.tight_layout()
        self.check = self.add_check(
            lambda: {"gamma": self.gamma.value, "beta": self.beta.value},
            lambda gamma, beta: check_identity(gamma, beta, target_gamma=self.target_gamma,
                                               target_beta=self.target_beta, tol=self.tol),
            description="Check identity")
        self.distance = float("nan")
        self.build(self.gamma, self.beta, self.readout, self.view, self.check)

    def update(self) -> float:
        """Recompute the output for the current sliders and draw it (the base renders it)."""
        y, self.distance = affine_view(self.x, self.gamma.value, self.beta.value, self.eps)
        self.stairs.set_data(_density(y, self.edges))
        self.view.axes.set_title(f"RMS distance between output and input: {self.distance:.3f}")
        self.readout.value = (f"<b>distance to the original</b> (RMS of y &minus; x): "
                              f"{self.distance:.3f} &nbsp; output mean {round(y.mean(), 2) + 0.0:.2f}, "
                              f"std {y.std():.2f}")  # + 0.0 turns -0.00 into 0.00
        return self.distance


def gamma_beta_explorer(x, **kwargs) -> GammaBetaExplorer:
    """Build the gamma/beta explorer for one unit's activations x (N,)."""
    return GammaBetaExplorer(x, **kwargs)


class TrainingAnimator(Widget):
    """A step slider (with a Play button) over precomputed gamma/beta trajectories.

    runs: {task name: (Trajectory, x_hat, target)} with x_hat and target (N, D); ``feature``
    picks the unit shown. Attributes for tests: ``task`` (ToggleButtons), ``step`` (IntSlider),
    ``play``, ``readout``, ``view``, ``widget``. Web book: both tasks, every 5th step (Play
    steps through them).
    """

    def __init__(self, runs: dict, *, feature: int = 0, xlim=(-4.0, 8.0)):
        super().__init__()
        self.runs = runs
        self.feature = feature
        names = list(runs)
        steps = len(runs[names[0]][0].loss) - 1
        self.task = self.add_control(widgets.ToggleButtons(
            options=names, value=names[0], description="task",
            style={"button_width": "auto"}))
        self.step = self.add_control(widgets.IntSlider(value=0, min=0, max=steps,
                                                       description="step"), every=5)
        self.play = self.add_player(self.step, step=2, interval=150, description="play")
        self._link = self._players[-1][2]
        self.readout = self.add_readout()
        self.edges = np.linspace(xlim[0], xlim[1], 49)
        self.view = self.add_figure(1, 2, figsize=(7.5, 2.8), alt=(
            "Left: gamma and beta against the training step with their targets dashed. "
            "Right: the unit's output histogram at the chosen step over the target's."))
        left, right = self.view.axes
        self.gamma_line, = left.plot([], [], color=PALETTE["blue"], label="gamma")
        self.beta_line, = left.plot([], [], color=PALETTE["vermillion"], label="beta")
        self.gamma_target = left.axhline(0, color=PALETTE["blue"], linestyle="--", linewidth=1)
        self.beta_target = left.axhline(0, color=PALETTE["vermillion"], linestyle="--",
                                        linewidth=1)
        self.cursor = left.axvline(0, color=PALETTE["black"], linewidth=1)
        left.set_xlim(0, steps)
        left.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        left.yaxis.set_major_locator(MaxNLocator(4))
        left.set_xlabel("gradient-descent step")
        left.set_ylabel("parameter value")
        left.legend(loc="center right")
        self.target_stairs = right.stairs(np.zeros(len(self.edges) - 1), self.edges, fill=True,
                                          alpha=0.35, color=PALETTE["orange"], label="target")
        self.output_stairs = right.stairs(np.zeros(len(self.edges) - 1), self.edges,
                                          linewidth=2, color=PALETTE["blue"], label="output")
        right.set_xlim(*xlim)
        right.set_ylim(0, 0.6)
        right.xaxis.set_major_locator(MaxNLocator(4))
        right.set_yticks([0.0, 0.3, 0.6])
        right.set_xlabel("value: output (line), target (filled)")
        right.set_ylabel("density")
        self.view.fig.tight_layout()
        self._task_drawn = None
        self.build(self.task, [self.play, self.step], self.readout, self.view)

    def _set_task(self):
        traj, _, target = self.runs[self.task.value]
        f = self.feature
        steps = np.arange(len(traj.loss))
        self.gamma_line.set_data(steps, traj.gamma[:, f])
        self.beta_line.set_data(steps, traj.beta[:, f])
        self.gamma_target.set_ydata([traj.target_gamma[f]] * 2)
        self.beta_target.set_ydata([traj.target_beta[f]] * 2)
        values = np.concatenate([traj.gamma[:, f], traj.beta[:, f],
                                 [traj.target_gamma[f], traj.target_beta[f]]])
        pad = 0.1 * (values.max() - values.min() + 1e-9)
        self.view.axes[0].set_ylim(values.min() - pad, values.max() + pad)
        self.target_stairs.set_data(_density(target[:, f], self.edges))
        self._task_drawn = self.task.value

    def update(self) -> int:
        """Draw the current task and step (one slider move or one animation frame)."""
        if self.task.value != self._task_drawn:
            self._set_task()
        traj, x_hat, _ = self.runs[self.task.value]
        t, f = self.step.value, self.feature
        self.play.value = t  # keeps the saved state consistent (jslink runs in the browser)
        g, b = traj.gamma[t, f], traj.beta[t, f]
        self.output_stairs.set_data(_density(g * x_hat[:, f] + b, self.edges))
        self.cursor.set_xdata([t, t])
        self.view.axes[0].set_title(f"step {t}: gamma = {g:.2f}, beta = {b:.2f}")
        self.view.axes[1].set_title(f"loss {traj.loss[t]:.3f}")
        self.readout.value = (f"step {t}: gamma = {g:.3f} (target {traj.target_gamma[f]:.3f}), "
                              f"beta = {b:.3f} (target {traj.target_beta[f]:.3f}), "
                              f"loss = {traj.loss[t]:.4f}")
        return t


def training_animator(runs: dict, **kwargs) -> TrainingAnimator:
    """Build the training animator from precomputed runs (see :class:`TrainingAnimator`)."""
    return TrainingAnimator(runs, **kwargs)
