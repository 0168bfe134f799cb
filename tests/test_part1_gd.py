"""bnlib.gd: the two-feature least-squares problem and gradient descent on it (chapter 2)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from bnlib import gd
from bnlib.scaling import standardize


@pytest.mark.parametrize("ratio", [1.0, 3.0, 25.0])
def test_data_has_the_requested_spreads_and_standardizes_to_the_same_z(ratio):
    x, y = gd.two_feature_data(ratio, n=100, seed=3)
    assert x.shape == (100, 2) and y.shape == (100,)
    assert np.allclose(x.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(x.std(axis=0), [1.0, ratio])
    z_here = standardize(x)
    z_one = standardize(gd.two_feature_data(1.0, n=100, seed=3)[0])
    assert np.allclose(z_here, z_one)


@pytest.mark.parametrize("bad", [0.0, -2.0, np.nan, np.inf])
def test_data_rejects_a_bad_ratio(bad):
    with pytest.raises(ValueError, match="spread_ratio"):
        gd.two_feature_data(bad)


def test_problem_matches_a_direct_least_squares_fit():
    x, y = gd.two_feature_data(7.0, n=150, seed=1)
    p = gd.QuadraticProblem.from_data(x, y)
    w_lstsq = np.linalg.lstsq(x, y, rcond=None)[0]
    assert np.allclose(p.w_star, w_lstsq)
    assert np.allclose(p.hessian, x.T @ x / len(y))
    assert np.isclose(p.condition_number, np.linalg.cond(x.T @ x))
    rng = np.random.default_rng(0)
    for w in rng.normal(size=(5, 2)):
        direct = np.sum((x @ w - y) ** 2) / (2 * len(y))
        assert np.isclose(p.loss(w), direct)
        assert np.allclose(p.grad(w), x.T @ (x @ w - y) / len(y))


def test_problem_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        gd.QuadraticProblem.from_data(np.ones((5, 3)), np.ones(5))


def test_gradient_matches_finite_differences():
    p = gd.make_problem(4.0)
    w = np.array([0.3, -0.2])
    h = 1e-6
    numeric = [(p.loss(w + h * e) - p.loss(w - h * e)) / (2 * h) for e in np.eye(2)]
    assert np.allclose(p.grad(w), numeric, rtol=1e-5)


def test_a_run_without_target_takes_every_gradient_step():
    p = gd.make_problem(5.0)
    lr = 0.5 / p.eigenvalues[-1]
    run = gd.explore(5.0, lr, max_steps=30, delta=None)
    path, losses = run.path, run.losses
    assert run.steps is None and run.target is None
    assert path.shape == (31, 2) and losses.shape == (31,)
    w = np.zeros(2)
    for k in range(30):
        w = w - lr * p.grad(w)
        assert np.allclose(path[k + 1], w)
    assert np.allclose(losses, p.loss(path))
    assert np.all(np.diff(losses) <= 1e-15)  # a safe step never increases a quadratic loss


def test_a_diverging_run_stops_early_without_warnings():
    p = gd.make_problem(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        far = gd.explore(10.0, 3.0 / p.eigenvalues[-1], max_steps=100_000, delta=None)
        path, losses = far.path, far.losses
        run = gd.explore(10.0, 1.0, max_steps=100_000)
    assert len(path) < 1000 and np.all(np.isfinite(losses))
    assert run.diverged and run.steps is None


def test_divergence_sets_in_exactly_at_two_over_lambda_max():
    p = gd.make_problem(6.0)
    limit = p.lr_limit
    assert np.isclose(limit, 2 / np.linalg.eigvalsh(p.hessian).max())
    target = p.loss_star + 1e-3
    assert gd.steps_to_loss(p, 0.98 * limit, target) is not None
    assert gd.steps_to_loss(p, 1.02 * limit, target) is None


def test_steps_to_loss_rejects_an_unreachable_target_and_bad_lr():
    p = gd.make_problem(2.0)
    with pytest.raises(ValueError, match="target"):
        gd.steps_to_loss(p, 0.1, p.loss_star)
    with pytest.raises(ValueError, match="lr"):
        gd.steps_to_loss(p, -0.1, p.loss_star + 1)


def test_standardized_problem_has_the_same_minimum_loss_and_is_well_conditioned():
    raw, std = gd.make_problem(12.0), gd.make_problem(12.0, standardized=True)
    assert np.isclose(raw.loss_star, std.loss_star)
    assert std.condition_number < 1.5 < 100 < raw.condition_number


def test_steps_grow_like_the_condition_number_and_match_the_prediction():
    sweep = gd.steps_vs_ratio([1, 3, 9, 27], delta=1e-3)
    raw, std = sweep["steps_raw"], sweep["steps_standardized"]
    assert np.all(np.diff(raw) > 0)
    assert np.all(std == std[0]) and raw[0] == std[0]
    slope = np.polyfit(np.log(sweep["condition_number"][1:]), np.log(raw[1:]), 1)[0]
    assert 0.9 < slope < 1.1
    assert np.all(np.abs(raw - np.ceil(sweep["predicted_raw"])) <= 1)


@pytest.mark.parametrize("factor", [0.3, 1.0, 1.7])
def test_predicted_steps_agrees_with_simulation(factor):
    p = gd.make_problem(8.0)
    lr = factor / p.eigenvalues[-1]
    measured = gd.steps_to_loss(p, lr, p.loss_star + 1e-4)
    assert abs(measured - gd.predicted_steps(p, lr, 1e-4)) <= 2
    assert gd.predicted_steps(p, 2.1 / p.eigenvalues[-1], 1e-4) == np.inf


def test_loss_grid_evaluates_the_loss_on_a_meshgrid():
    p = gd.make_problem(3.0)
    W1, W2, L = gd.loss_grid(p, (-1, 2), (-0.5, 0.5), num=7)
    assert W1.shape == W2.shape == L.shape == (7, 7)
    # meshgrid convention: w1 varies along the columns, w2 along the rows
    assert np.allclose(W1[0], np.linspace(-1, 2, 7))
    assert np.allclose(W2[:, 0], np.linspace(-0.5, 0.5, 7))
    # the loss straight from the data, ||x w - y||^2 / (2 n), not through p.loss
    x, y = gd.two_feature_data(3.0, n=200, seed=0)
    for i, j in [(0, 0), (2, 5), (6, 3)]:
        w = np.array([W1[i, j], W2[i, j]])
        assert np.isclose(L[i, j], np.sum((x @ w - y) ** 2) / (2 * len(y)))


def test_explore_reports_the_steps_to_its_target():
    run = gd.explore(10, 0.01)
    p = gd.make_problem(10.0)
    assert run.steps == gd.steps_to_loss(p, 0.01, p.loss_star + 1e-3)
    assert len(run.path) == run.steps + 1 and run.losses[-1] <= run.target
    slow = gd.explore(10, 1e-4, max_steps=50)
    assert slow.steps is None and not slow.diverged and len(slow.path) == 51


# --- the best fixed step, weight decay and momentum (chapter 2) ---------------------------


@pytest.mark.parametrize("ratio", [3.0, 10.0])
def test_best_fixed_lr_minimises_the_worst_factor_and_gives_the_closed_form_rate(ratio):
    p = gd.make_problem(ratio)
    best = gd.best_fixed_lr(p)
    grid = np.linspace(0.01, 1.999, 4000) / p.eigenvalues[-1]
    worst = [gd.contraction(p, lr).max() for lr in grid]
    assert np.isclose(grid[int(np.argmin(worst))], best, rtol=1e-3)  # brute force agrees
    kappa = p.condition_number
    np.testing.assert_allclose(gd.contraction(p, best), (kappa - 1) / (kappa + 1))


def test_contraction_is_the_measured_per_step_factor():
    p = gd.make_problem(6.0)
    lr = 1.5 / p.eigenvalues[-1]
    # few steps: the fast direction stays above rounding
    path = gd.explore(6.0, lr, max_steps=15, delta=None).path
    lams, vecs = np.linalg.eigh(p.hessian)
    e = (path - p.w_star) @ vecs  # the error in eigen-coordinates
    measured = np.abs(e[1:] / e[:-1])
    np.testing.assert_allclose(measured, np.broadcast_to(gd.contraction(p, lr), e[1:].shape),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="lr"):
        gd.contraction(p, 0.0)


def test_ridge_weights_match_sklearn():
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    x, y = gd.two_feature_data(10.0, n=200, seed=0)
    p = gd.make_problem(10.0)
    alpha = 0.1
    # sklearn minimises ||y - Xw||^2 + a ||w||^2; ours ||Xw - y||^2 / (2n) + alpha/2 ||w||^2
    ref = sklearn_linear.Ridge(alpha=alpha * len(y), fit_intercept=False).fit(x, y).coef_
    np.testing.assert_allclose(gd.ridge_weights(p, alpha), ref, rtol=1e-10)
    np.testing.assert_allclose(gd.ridge_weights(p, 0.0), p.w_star)
    with pytest.raises(ValueError, match="alpha"):
        gd.ridge_weights(p, -1.0)


def test_momentum_with_beta_zero_is_plain_gradient_descent_and_tuned_momentum_is_faster():
    p = gd.make_problem(10.0)
    target = p.loss_star + 1e-3
    for factor in (0.5, 1.0, 1.9):
        lr = factor / p.eigenvalues[-1]
        assert gd.momentum_steps_to_loss(p, lr, 0.0, target) == gd.steps_to_loss(p, lr, target)
    lo, hi = p.eigenvalues
    k = hi / lo
    lr = 4 / (np.sqrt(lo) + np.sqrt(hi)) ** 2
    beta = ((np.sqrt(k) - 1) / (np.sqrt(k) + 1)) ** 2
    fast = gd.momentum_steps_to_loss(p, lr, beta, target)
    assert fast < gd.steps_to_loss(p, gd.best_fixed_lr(p), target) / 3
    assert gd.momentum_steps_to_loss(p, 2.5 / hi, 0.0, target) is None  # diverges
    with pytest.raises(ValueError, match="beta"):
        gd.momentum_steps_to_loss(p, lr, 1.0, target)
