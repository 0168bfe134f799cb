"""Chapter 4 widgets driven as a reader would: sliders, Check button, step slider. (How long
a move takes is measured by bench/bench_widgets.py, not asserted here.)"""

import numpy as np
import pytest

from bnlib import affine
from bnlib.batchnorm import batchnorm_forward
from bnlib.widgets.gamma_beta import affine_view, gamma_beta_explorer, training_animator


@pytest.fixture(scope="module")
def unit():
    return affine.activation_batch(np.random.default_rng(0), n=256)


@pytest.fixture(scope="module")
def runs(unit):
    run = affine.train_affine(unit, unit, steps=60, lr=0.05)
    _, cache = batchnorm_forward(unit, np.ones(2), np.zeros(2))
    z = (unit - unit.mean(0)) / unit.std(0)
    run_b = affine.train_affine(unit, z, steps=60, lr=0.05)
    return {"identity": (run, cache.x_hat, unit), "standard": (run_b, cache.x_hat, z)}


def test_explorer_readout_follows_the_sliders(unit):
    w = gamma_beta_explorer(unit[:, 0])
    w.gamma.value, w.beta.value = 1.0, 0.0
    _, expected = affine_view(unit[:, 0], 1.0, 0.0)
    assert w.distance == pytest.approx(expected)
    assert f"{expected:.3f}" in w.readout.value
    w.beta.value = 2.0
    _, moved = affine_view(unit[:, 0], 1.0, 2.0)
    assert w.distance == pytest.approx(moved) and f"{moved:.3f}" in w.readout.value


def test_explorer_check_reaches_the_identity(unit):
    w = gamma_beta_explorer(unit[:, 0], tol=0.05)
    gamma, beta = affine.identity_params(unit[:, :1])
    w.gamma.value, w.beta.value = 1.0, 0.0
    verdict = w.check.run()
    assert not verdict.correct and "gamma is too small" in str(verdict)
    assert "Not yet" in w.check.result.value
    w.gamma.value = round(float(gamma[0]) / 0.05) * 0.05
    w.beta.value = round(float(beta[0]) / 0.05) * 0.05
    verdict = w.check.run()
    assert verdict.correct, str(verdict)
    assert w.distance < 0.05
    w.gamma.value, w.beta.value = w.beta.value, w.gamma.value
    assert "swapped" in str(w.check.run())


def test_animator_steps_and_tasks(runs):
    a = training_animator(runs, feature=0)
    assert a.step.max == a.play.max == 60
    a.step.value = 30
    run = runs["identity"][0]
    assert f"gamma = {run.gamma[30, 0]:.3f}" in a.readout.value
    assert list(a.cursor.get_xdata()) == [30, 30]
    a.task.value = "standard"
    assert f"gamma = {runs['standard'][0].gamma[30, 0]:.3f}" in a.readout.value
    assert np.allclose(a.gamma_line.get_ydata(), runs["standard"][0].gamma[:, 0])


def test_the_base_times_every_move(unit, runs):
    # No time limit (budgets live in bench/): the base records each redraw's wall and CPU time.
    explorer = gamma_beta_explorer(unit[:, 0])
    animator = training_animator(runs)
    for w, slider, values in ((explorer, explorer.gamma, (0.5, 3.0)),
                              (animator, animator.step, (0, 30))):
        for v in values:
            slider.value = v
            assert np.isfinite([w.last_update_ms, w.last_update_cpu_ms]).all()  # recorded, not bounded
    assert animator.play.value == 30  # the Play button follows the slider


def test_close_closes_every_widget_of_an_instance(unit, runs):
    # The notebook drives an undisplayed copy in test-only cells and closes it afterwards.
    def open_widgets(root):
        found = [root] if root.comm is not None else []
        for child in getattr(root, "children", ()):
            found += open_widgets(child)
        return found

    for w in (gamma_beta_explorer(unit[:, 0]), training_animator(runs, feature=0)):
        assert len(open_widgets(w.widget)) >= 4
        w.close()
        assert open_widgets(w.widget) == [] and w.view.output.comm is None
    assert w._link.comm is None  # the animator's play-step link
