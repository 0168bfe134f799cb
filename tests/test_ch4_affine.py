"""Chapter 4 pure functions (bnlib.affine): identity parameters, saturation measures, and
learning gamma and beta by gradient descent."""
import math

import numpy as np
import pytest

from bnlib import affine
from bnlib.widgets.gamma_beta import affine_view
from bnlib.batchnorm import batchnorm2d_forward, batchnorm_forward


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identity_params_return_the_input_1d(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.uniform(-50, 50, 4), scale=rng.uniform(0.01, 20, 4), size=(16, 4))
    gamma, beta = affine.identity_params(x)
    y, _ = batchnorm_forward(x, gamma, beta)
    assert gamma.shape == beta.shape == (4,)
    assert np.max(np.abs(y - x)) <= 16 * np.spacing(np.abs(x).max())


def test_identity_params_return_the_input_2d_one_per_channel():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 5, 6)) * np.array([0.1, 1.0, 7.0])[:, None, None] + 4.0
    gamma, beta = affine.identity_params(x)
    assert gamma.shape == beta.shape == (3,)
    assert np.allclose(beta, x.mean(axis=(0, 2, 3)))
    assert np.allclose(gamma, np.sqrt(x.var(axis=(0, 2, 3)) + 1e-5))
    y, _ = batchnorm2d_forward(x, gamma, beta)
    assert np.max(np.abs(y - x)) <= 16 * np.spacing(np.abs(x).max())


def test_identity_params_swapped_is_not_the_identity():
    x = np.random.default_rng(0).normal(5.0, 2.0, size=(32, 1))
    gamma, beta = affine.identity_params(x)
    y, _ = batchnorm_forward(x, beta, gamma)
    assert np.max(np.abs(y - x)) > 1.0


def test_batch_stats_rejects_other_ranks():
    with pytest.raises(ValueError, match="batch_stats.*shape \\(3,\\)"):
        affine.batch_stats(np.ones(3))


def test_saturation_threshold_is_where_the_sigmoid_reaches_095():
    assert math.isclose(float(affine.sigmoid(affine.SATURATION_Z)), 0.95)
    assert math.isclose(float(affine.sigmoid(-affine.SATURATION_Z)), 0.05)
    assert affine.saturation_fraction(np.array([0.0, 3.0, -3.0, 1.0])) == 0.5
    with pytest.raises(ValueError, match="empty"):
        affine.saturation_fraction(np.array([]))


def test_standard_normal_rarely_saturates_and_is_nearly_linear():
    z = np.random.default_rng(0).standard_normal(20000)
    # P(|Z| > ln 19) for a standard normal is about 0.0032
    assert affine.saturation_fraction(z) == pytest.approx(0.0032, abs=0.0015)
    assert affine.sigmoid_linearity(z) > 0.97
    assert affine.sigmoid_linearity(4.0 * z) < 0.85


def test_sigmoid_linearity_needs_spread():
    assert affine.sigmoid_linearity(np.linspace(-0.1, 0.1, 50)) > 0.9999
    with pytest.raises(ValueError, match="distinct"):
        affine.sigmoid_linearity(np.ones(5))


@pytest.mark.parametrize("m", [2, 5, 9, 10, 40])
def test_max_standardized_value_is_reached_by_one_outlier(m):
    x = np.zeros((m, 1))
    x[0] = 3.0
    z, _ = batchnorm_forward(x, np.ones(1), np.zeros(1), eps=0.0)
    assert np.isclose(np.abs(z).max(), affine.max_standardized_value(m))
    random = np.random.default_rng(m).standard_normal((m, 1)) ** 3
    zr, _ = batchnorm_forward(random, np.ones(1), np.zeros(1), eps=0.0)
    assert np.abs(zr).max() <= affine.max_standardized_value(m) + 1e-12
    assert (affine.max_standardized_value(m) > affine.SATURATION_Z) == (m >= 10)


def test_max_standardized_value_rejects_batch_of_one():
    with pytest.raises(ValueError, match="at least 2"):
        affine.max_standardized_value(1)


def test_rms_distance_and_affine_view():
    x = np.random.default_rng(1).normal(2.0, 3.0, 500)
    assert affine.rms_distance(x, x) == 0.0
    assert affine.rms_distance(x + 1.0, x) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        affine.rms_distance(x[:3], x)
    y, d = affine_view(x, 1.0, 0.0)
    assert abs(y.mean()) < 1e-12 and y.std() == pytest.approx(1.0, abs=1e-5)
    assert d == pytest.approx(affine.rms_distance(y, x))
    gamma, beta = affine.identity_params(x.reshape(-1, 1))
    _, d_id = affine_view(x, gamma[0], beta[0])
    assert d_id < 1e-12


def test_train_affine_first_step_matches_the_hand_gradient():
    rng = np.random.default_rng(5)
    x = affine.activation_batch(rng, n=40)
    t = rng.normal(size=x.shape)
    run = affine.train_affine(x, t, steps=1, lr=0.3)
    x_hat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    residual = (x_hat - t) / len(x)  # gamma = 1, beta = 0 at the start
    assert np.allclose(run.gamma[1], 1.0 - 0.3 * np.sum(residual * x_hat, axis=0))
    assert np.allclose(run.beta[1], 0.0 - 0.3 * np.sum(residual, axis=0))
    assert run.loss[0] == pytest.approx(0.5 * np.sum((x_hat - t) ** 2) / len(x))


def test_train_affine_learns_the_identity():
    x = affine.activation_batch(np.random.default_rng(0), n=128, means=(4.0, -2.0, 0.0),
                                stds=(3.0, 0.2, 1.0))
    run = affine.train_affine(x, x, steps=300, lr=0.05)
    gamma, beta = affine.identity_params(x)
    assert np.allclose(run.target_gamma, gamma) and np.allclose(run.target_beta, beta)
    assert np.allclose(run.gamma[-1], gamma, atol=1e-4)
    assert np.allclose(run.beta[-1], beta, atol=1e-4)
    assert np.all(np.diff(run.loss) <= 1e-15)  # lr below 1/curvature: the loss never rises
    assert run.gamma.shape == run.beta.shape == (301, 3) and run.loss.shape == (301,)


def test_train_affine_standardized_target_ends_near_one_and_zero():
    rng = np.random.default_rng(2)
    means, stds = np.array([3.0, -1.5]), np.array([2.0, 0.5])
    x = affine.activation_batch(rng, n=256, means=means, stds=stds)
    run = affine.train_affine(x, (x - means) / stds, steps=300, lr=0.05,
                              gamma0=x.std(0), beta0=x.mean(0))
    # best answer on this batch: the batch statistics relative to the population's
    assert np.allclose(run.target_gamma, np.sqrt(x.var(0) + 1e-5) / stds, atol=1e-6)
    assert np.allclose(run.target_beta, (x.mean(0) - means) / stds, atol=1e-6)
    assert np.allclose(run.gamma[-1], run.target_gamma, atol=1e-3)
    assert np.allclose(run.gamma[-1], 1.0, atol=0.15) and np.allclose(run.beta[-1], 0.0, atol=0.2)


@pytest.mark.parametrize("learn_gamma, learn_beta", [(False, True), (True, False), (False, False)])
def test_frozen_parameters_stay_put_and_identity_fails(learn_gamma, learn_beta):
    x = affine.activation_batch(np.random.default_rng(0), n=64)
    run = affine.train_affine(x, x, steps=100, lr=0.1, learn_gamma=learn_gamma,
                              learn_beta=learn_beta)
    if not learn_gamma:
        assert np.all(run.gamma == 1.0)
    if not learn_beta:
        assert np.all(run.beta == 0.0)
    assert run.loss[-1] > 0.05


def test_train_affine_rejects_mismatched_target():
    with pytest.raises(ValueError, match="train_affine.*same"):
        affine.train_affine(np.ones((4, 2)), np.ones((4, 3)))


# --- the network-level experiment (bnlib/cache/ch4_affine.json) ---------------------------

def test_affine_network_cache_matches_a_recomputed_run():
    from bnlib.experiments import load_cache
    from bnlib.experiments.affine_network import train_affine_network
    cached = load_cache("ch4_affine")["runs"]["sigmoid/affine"][0]
    run = train_affine_network("sigmoid", True, 0)
    # 300 steps: rounding differences between CPUs stay far below these tolerances
    assert abs(run["test_acc"] - cached["test_acc"]) <= 0.01
    assert abs(run["train_loss"] - cached["train_loss"]) <= 0.01
    assert np.allclose(np.mean(run["gamma"], axis=1), np.mean(cached["gamma"], axis=1), atol=0.02)


def test_affine_network_without_affine_has_no_parameters_in_bn():
    from bnlib.batchnorm import BatchNorm1d
    from bnlib.experiments.affine_network import build_affine_network
    model = build_affine_network("relu", False, seed=0)
    bns = [m for m in model.modules if isinstance(m, BatchNorm1d)]
    assert len(bns) == 3 and all(bn.gamma is None and bn.beta is None for bn in bns)
    with pytest.raises(ValueError, match="activation"):
        build_affine_network("tanh", True, seed=0)
