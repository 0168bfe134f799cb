"""Tests for bnlib.noise: batch-statistic sampling, ghost and frozen batch normalization."""
import numpy as np
import pytest

from bnlib import nn
from bnlib.batchnorm import BatchNorm1d, batchnorm_forward
from bnlib.gradcheck import numerical_gradient, relative_error
from bnlib.widgets.noise import batch_noise_summary
from bnlib.noise import (
    FrozenBatchNorm1d,
    GhostBatchNorm1d,
    ghost_batchnorm_backward,
    ghost_batchnorm_forward,
    hidden_unit_population,
    loglog_slope,
    noise_vs_batch_size,
    normalized_value_samples,
    refresh_frozen_statistics,
    sample_batch_statistics,
)


@pytest.fixture
def population():
    return np.random.default_rng(1).gamma(2.0, size=5000)


def test_batch_statistics_are_means_of_distinct_members(population):
    rng = np.random.default_rng(0)
    means, variances = sample_batch_statistics(population[:10], 10, 3, rng=rng)
    # A batch of the whole population is the population, whatever the order.
    assert np.allclose(means, population[:10].mean())
    assert np.allclose(variances, population[:10].var())


def test_spread_of_batch_mean_follows_one_over_sqrt_m(population):
    res = noise_vs_batch_size(population, [4, 16, 64, 256], 3000, rng=np.random.default_rng(0))
    assert abs(loglog_slope(res["m"], res["std_mean"]) + 0.5) < 0.05
    assert np.allclose(res["std_mean"], res["pred_mean"], rtol=0.1)
    assert abs(loglog_slope(res["m"], res["std_var"]) + 0.5) < 0.1


def test_loglog_slope_of_a_power_law():
    m = np.array([1, 2, 4, 8.0])
    assert loglog_slope(m, 3 * m ** -0.5) == pytest.approx(-0.5)
    assert loglog_slope(m, m ** -1.0) == pytest.approx(-1.0)


def test_normalized_value_contains_the_example(population):
    rng = np.random.default_rng(0)
    values = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    # m = N: the batch is the whole population, so the value is the population z-score.
    z = normalized_value_samples(values, 4, 5, 4, rng=rng)
    expected = (10 - values.mean()) / np.sqrt(values.var() + 1e-5)
    assert np.allclose(z, expected)
    # In a batch of m the standardized value is bounded by sqrt(m - 1).
    z2 = normalized_value_samples(population, 0, 4, 500, rng=rng)
    assert np.abs(z2).max() <= np.sqrt(3) + 1e-9


def test_normalized_value_spread_shrinks_with_batch_size(population):
    spreads = [normalized_value_samples(population, 7, m, 2000,
                                        rng=np.random.default_rng(0)).std() for m in (4, 16, 64)]
    assert spreads[0] > spreads[1] > spreads[2]


@pytest.mark.parametrize("bad, error", [(1, ValueError), (6000, ValueError), (2.5, TypeError)])
def test_sampling_rejects_bad_batch_sizes(population, bad, error):
    with pytest.raises(error, match="normalized_value_samples"):
        normalized_value_samples(population, 0, bad, 10, rng=np.random.default_rng(0))


def test_hidden_unit_population_is_a_linear_unit():
    x = np.random.default_rng(0).normal(size=(50, 4))
    a = hidden_unit_population(x, rng=np.random.default_rng(3))
    b = hidden_unit_population(2 * x, rng=np.random.default_rng(3))
    assert a.shape == (50,) and np.allclose(b, 2 * a)


def test_batch_noise_summary_is_seeded(population):
    a = batch_noise_summary(population, 0, 8, 100, seed=1)
    b = batch_noise_summary(population, 0, 8, 100, seed=1)
    assert np.array_equal(a["x_hat"], b["x_hat"]) and a["spread_mean"] == b["spread_mean"]
    assert a["pred_mean"] == pytest.approx(population.std() / np.sqrt(8))


def _inputs(n=12, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * [1, 5, 0.2] + [0, 3, -1], rng.uniform(0.5, 2, d), rng.normal(size=d)


def test_ghost_forward_is_bn_per_ghost_batch():
    x, gamma, beta = _inputs()
    y, _ = ghost_batchnorm_forward(x, gamma, beta, 4)
    for start in (0, 4, 8):
        assert np.allclose(y[start:start + 4], batchnorm_forward(x[start:start + 4], gamma, beta)[0])
    assert np.allclose(ghost_batchnorm_forward(x, gamma, beta, 12)[0],
                       batchnorm_forward(x, gamma, beta)[0])
    assert not np.allclose(y, batchnorm_forward(x, gamma, beta)[0])


def test_ghost_backward_matches_finite_differences():
    x, gamma, beta = _inputs()
    dy = np.random.default_rng(9).normal(size=x.shape)
    _, cache = ghost_batchnorm_forward(x, gamma, beta, 3)
    dx, dgamma, dbeta = ghost_batchnorm_backward(dy, cache)
    num_dx = numerical_gradient(lambda a: ghost_batchnorm_forward(a, gamma, beta, 3)[0], x, dy)
    num_dg = numerical_gradient(lambda g: ghost_batchnorm_forward(x, g, beta, 3)[0], gamma, dy)
    assert relative_error(dx, num_dx) < 1e-6
    assert relative_error(dgamma, num_dg) < 1e-6
    assert np.allclose(dbeta, dy.sum(axis=0))


@pytest.mark.parametrize("ghost_size, error, text", [
    (5, ValueError, "not a multiple"), (1, ValueError, "at least 2"), (2.0, TypeError, "int")])
def test_ghost_forward_validates_ghost_size(ghost_size, error, text):
    x, gamma, beta = _inputs()
    with pytest.raises(error, match=text):
        ghost_batchnorm_forward(x, gamma, beta, ghost_size)


def test_ghost_module_trains_like_bn_with_whole_batch_ghosts():
    x, _, _ = _inputs(n=8)
    dy = np.random.default_rng(2).normal(size=x.shape)
    ghost, plain = GhostBatchNorm1d(3, ghost_size=8), BatchNorm1d(3)
    assert np.allclose(ghost(x), plain(x))
    assert np.allclose(ghost.backward(dy), plain.backward(dy))
    assert np.allclose(ghost.dgamma, plain.dgamma)
    assert np.allclose(ghost.running_mean, plain.running_mean)
    assert np.allclose(ghost.running_var, plain.running_var)
    ghost.eval(), plain.eval()
    assert np.allclose(ghost(x[:3]), plain(x[:3]))


def test_ghost_module_uses_ghost_statistics_and_tracks_their_average():
    x, _, _ = _inputs(n=8)
    layer = GhostBatchNorm1d(3, ghost_size=4, momentum=1.0)
    y = layer(x)
    assert np.allclose(y[:4].mean(axis=0), 0, atol=1e-9)
    assert np.allclose(layer.running_mean, x.mean(axis=0))
    expected_var = (x[:4].var(axis=0, ddof=1) + x[4:].var(axis=0, ddof=1)) / 2
    assert np.allclose(layer.running_var, expected_var)


def test_frozen_module_has_no_batch_noise():
    x, _, _ = _inputs(n=40)
    layer = FrozenBatchNorm1d(3)
    refresh_frozen_statistics(layer, x)
    assert layer.training and not layer.collecting
    assert np.allclose(layer.running_mean, x.mean(axis=0))
    # The output of one example does not depend on its batch-mates.
    a, b = layer(x[[0, 1, 2]]), layer(x[[0, 5, 9, 11]])
    assert np.allclose(a[0], b[0])
    dy = np.ones((4, 3))
    dx = layer.backward(dy)
    assert np.allclose(dx, layer.gamma / np.sqrt(layer.running_var + layer.eps))
    assert np.allclose(layer.dbeta, 4.0)


def test_frozen_layers_in_a_model_are_refreshed_and_learn():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 6, rng=rng), FrozenBatchNorm1d(6), nn.ReLU(),
                          nn.Linear(6, 2, rng=rng))
    x = rng.normal(size=(30, 4))
    refresh_frozen_statistics(model, x)
    h = model[0](x)
    assert np.allclose(model[1].running_mean, h.mean(axis=0))
    assert np.allclose(model[1].running_var, h.var(axis=0, ddof=1))
    gamma_before = model[1].gamma.copy()
    loss, dlogits = nn.softmax_cross_entropy(model(x[:5]), np.array([0, 1, 0, 1, 1]))
    model.backward(dlogits)
    nn.SGD(model, lr=0.5).step()
    assert not np.allclose(model[1].gamma, gamma_before)


# --- training-mode vs eval-mode x_hat (the tiny-batch mechanism) ----------------------------

def test_train_eval_normalized_mean_square_and_bounds():
    from bnlib.noise import train_eval_normalized
    values = np.random.default_rng(0).normal(size=2000)
    for m in (2, 4):
        r = train_eval_normalized(values, m, 3000, rng=np.random.default_rng(1))
        assert r["train"].shape == (3000, m) and r["eval"].shape == (2000,)
        # inside a batch the mean square is var / (var + eps): 1 up to eps
        assert np.mean(r["train"] ** 2) == pytest.approx(1.0, abs=0.01)
        # Bessel-corrected running variance: about 1 at evaluation as well
        assert np.mean(r["eval"] ** 2) == pytest.approx(1.0, abs=0.05)
        assert np.abs(r["train"]).max() <= np.sqrt(m - 1) + 1e-9
        assert np.abs(r["eval"]).max() > np.sqrt(m - 1)      # the shape differs
    with pytest.raises(ValueError, match="train_eval_normalized"):
        train_eval_normalized(values, 1, 10, rng=np.random.default_rng(0))


# --- paired comparisons and honest early stopping (bnlib.experiments.regularization) --------

def test_paired_difference_removes_what_the_seed_shares():
    from bnlib.experiments.regularization import paired_difference
    seed_effect = np.array([0.90, 0.95, 0.92, 0.97, 0.91])
    runs = {"a": {"test_acc": [[0.0, v + 0.01] for v in seed_effect]},
            "b": {"test_acc": [[0.0, v] for v in seed_effect]}}
    d, se, per_seed = paired_difference(runs, "a", "b")
    assert d == pytest.approx(0.01) and se == pytest.approx(0.0, abs=1e-12)
    assert per_seed.shape == (5,)
    runs["a"]["test_acc"][0][1] += 0.05                        # one seed differs: SE > 0
    assert paired_difference(runs, "a", "b")[1] > 0


def test_best_by_validation_uses_validation_not_test():
    from bnlib.experiments.regularization import best_by_validation
    run = {"val_acc": [[0.5, 0.9, 0.6], [0.7, 0.6, 0.8]],
           "test_acc": [[0.4, 0.5, 0.99], [0.1, 0.2, 0.3]]}
    picked, test_at = best_by_validation(run)
    assert picked.tolist() == [1, 2] and test_at.tolist() == [0.5, 0.3]
    with pytest.raises(ValueError, match="val_acc"):
        best_by_validation({"test_acc": [[0.1]]})


def test_validation_subset_is_disjoint_from_the_training_subset():
    from bnlib.experiments.regularization import training_subset, validation_subset
    x_tr, _, _, _ = training_subset(200, subset_seed=0)
    x_val, y_val = validation_subset(200, n_train=200, subset_seed=0)
    assert x_val.shape == (200, 64) and y_val.shape == (200,)
    train_rows = {row.tobytes() for row in x_tr}
    assert sum(row.tobytes() in train_rows for row in x_val) <= 2   # only duplicate images
    _, y_noisy = validation_subset(200, n_train=200, subset_seed=0, label_noise=0.3)
    assert np.sum(y_noisy != y_val) == 60


def test_run_key_names_a_non_default_ghost_size():
    from bnlib.experiments.regularization import run_key
    assert run_key("ghost", 32) == run_key("ghost", 32, ghost_size=4) == "ghost/32"
    assert run_key("ghost", 32, ghost_size=16) == "ghost/32+g16"
    assert run_key("bn", 32, ghost_size=16) == "bn/32"
