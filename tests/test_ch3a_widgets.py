"""Chapter 3 widgets: the pure compute functions and the thin widgets driven like a learner."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from bnlib.batchnorm import BatchNorm1d  # noqa: E402
from bnlib import batchnorm as core  # noqa: E402
from bnlib.widgets import algorithm as alg  # noqa: E402
from bnlib.widgets import modes  # noqa: E402


# ---------------------------------------------------------------------- Algorithm 1

def test_algorithm_steps_follow_algorithm_1():
    s = core.algorithm_steps(batch_size=12, offset=-2.0, scale=1.5, gamma=2.0, beta=0.5)
    assert s.x.shape == (12,)
    assert np.isclose(s.mean, s.x.mean())
    assert np.isclose(s.var, np.mean((s.x - s.x.mean()) ** 2))  # biased: divide by m
    assert np.allclose(s.x_hat, (s.x - s.mean) / np.sqrt(s.var + 1e-5))
    assert np.allclose(s.y, 2.0 * s.x_hat + 0.5)


def test_x_hat_does_not_depend_on_offset_and_scale():
    a = core.algorithm_steps(batch_size=20, offset=0.0, scale=1.0)
    b = core.algorithm_steps(batch_size=20, offset=4.5, scale=2.5)
    assert not np.allclose(a.x, b.x)
    assert np.allclose(a.x_hat, b.x_hat, atol=1e-5)
    assert abs(b.x_hat.mean()) < 1e-12 and np.isclose(b.x_hat.var(), 1.0, atol=1e-5)


def test_smaller_batches_are_prefixes_and_bad_sizes_refused():
    small = core.algorithm_steps(batch_size=4)
    big = core.algorithm_steps(batch_size=10)
    assert np.allclose(small.x, big.x[:4])
    for bad in (1, core.MAX_BATCH + 1):
        with pytest.raises(ValueError, match="batch_size"):
            core.algorithm_steps(batch_size=bad)


def test_algorithm_table_grows_with_the_step():
    s = core.algorithm_steps(batch_size=8)
    tables = [core.algorithm_table(s, step) for step in range(1, 5)]
    assert all(len(a) < len(b) for a, b in zip(tables, tables[1:]))
    assert f"mu = {s.mean:.3f}" in tables[0] and "x_hat" in tables[2] and "gamma" in tables[3]


def test_algorithm_explorer_follows_its_sliders():
    w = alg.algorithm_explorer()
    w.batch_size.value = 30
    w.offset.value = -4.0
    w.gamma.value = 2.0
    w.step.value = 4
    s = w.state()
    assert s.x.shape == (30,) and np.isclose(s.y.std(), 2.0, atol=1e-3)
    assert "y" in w.table.value
    title = w.live.axes[1].get_title()
    assert "step 4" in title and "std 2.00" in title


def test_static_diagrams_draw():
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    alg.plot_bn_graph(ax)
    assert len(ax.texts) >= 8
    fig2, axes = plt.subplots(1, 2)
    alg.plot_bn_axes(axes, n=4, d=5, c=3, hw=3)
    assert len(axes[0].patches) == 4 * 5 and len(axes[1].patches) == 4 * 3 * 9
    plt.close("all")


# ------------------------------------------------------------------------ modes

def test_pytorch_trajectory_matches_batchnorm1d():
    means, variances = core.running_stats_trajectory(0.1, 5, "pytorch")
    bn = BatchNorm1d(1, momentum=0.1)
    for batch in core.training_stream(5):
        bn(batch[:, None])
    assert np.isclose(means[-1], bn.running_mean[0]) and np.isclose(variances[-1],
                                                                    bn.running_var[0])
    assert means[0] == 0.0 and variances[0] == 1.0 and means.shape == (6,)


def test_keras_momentum_is_one_minus_pytorch_for_the_mean():
    torch_mean, torch_var = core.running_stats_trajectory(0.1, 40, "pytorch")
    keras_mean, keras_var = core.running_stats_trajectory(0.9, 40, "keras")
    assert np.allclose(torch_mean, keras_mean)
    # Keras stores the biased variance: smaller by about (m - 1) / m once it has converged.
    assert (keras_var[1:] < torch_var[1:]).all()
    mixed, _ = core.running_stats_trajectory(0.99, 40, "pytorch")   # a Keras value in PyTorch
    batches = core.training_stream(40)
    assert abs(mixed[-1] - batches[-1].mean()) < abs(torch_mean[-1] - batches[-1].mean())


def test_mode_outputs():
    out = core.mode_outputs(0.1, 60)
    assert out.single_output == 0.0
    assert np.isclose(out.ideal_output, (core.X_EXAMPLE - core.POP_MEAN) / core.POP_STD)
    assert abs(out.eval_output - out.ideal_output) < 0.3
    assert out.train_outputs.shape == (60,) and out.train_outputs.std() > 0.1
    frozen = core.mode_outputs(0.0, 60)   # PyTorch momentum 0: running stats stay (0, 1)
    assert np.isclose(frozen.eval_output, core.X_EXAMPLE / np.sqrt(1 + 1e-5))


def test_mode_inputs_are_validated():
    with pytest.raises(ValueError, match="convention"):
        core.mode_outputs(0.1, 5, "tensorflow")
    with pytest.raises(ValueError, match="momentum"):
        core.mode_outputs(1.5, 5)
    with pytest.raises(ValueError, match="n_batches"):
        core.mode_outputs(0.1, 0)


def test_modes_explorer_exercise_flow():
    w = modes.modes_explorer()
    assert not w.check.run().correct          # PyTorch selected: switch the convention
    w.convention.value = "keras"
    w.momentum.value = 0.99
    assert not w.check.run().correct
    w.momentum.value = 0.9
    w.n_batches.value = 50
    assert w.check.run().correct
    assert "Correct" in w.check.result.value
    assert w.drawing.axes[2].get_title().startswith("Eval output")
    # the variance panel draws the running variance of the chosen convention
    out = w.state()
    assert np.allclose(w.drawing.curves[1].get_ydata(), out.running_var)
    assert np.allclose(w.drawing.curves[0].get_ydata(), out.running_mean)
