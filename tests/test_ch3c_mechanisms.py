"""Chapter 3b/3c additions: precise BN, scale invariance and the effective learning rate, the
layer-scale runs, Santurkar et al.'s gradient-based internal covariate shift, and the cache
file bnlib/cache/ch3c_mechanisms.json that scripts/precompute_ch3c.py writes for them."""
import numpy as np
import pytest

from bnlib import nn
from bnlib.experiments import CACHE_DIGITS, benefits, figure1, load_cache, rounded

ATOL = 1.5 * 10.0 ** -CACHE_DIGITS
TWO_IMAGES = 2 / 540 + ATOL
RERUN = "the cache is stale: rerun scripts/precompute_ch3c.py --only mechanisms"


# ------------------------------------------------------------------------------ precise BN

def test_precise_bn_sets_population_statistics_layer_by_layer():
    rng = np.random.default_rng(0)
    model = nn.mlp([5, 4, 3, 2], activation="relu", bn="before", rng=rng)
    x = rng.normal(2.0, 3.0, size=(200, 5))
    before = model[1].running_mean.copy()
    nn.precise_bn(model, x)
    assert model.training  # mode restored
    z1 = model[0](x)
    assert np.allclose(model[1].running_mean, z1.mean(axis=0))
    assert np.allclose(model[1].running_var, z1.var(axis=0, ddof=1))
    assert not np.allclose(before, model[1].running_mean)
    # the second BN layer sees the first one already in eval mode with its new statistics
    z2 = model[3](model[2](model[1].eval()(z1)))
    assert np.allclose(model[4].running_mean, z2.mean(axis=0))
    assert np.allclose(model[4].running_var, z2.var(axis=0, ddof=1))


# ------------------------------------------------------------ scale invariance, eff. lr

@pytest.mark.parametrize("a", [10.0, 3.0])
def test_scaling_the_weights_feeding_bn_divides_their_gradient(a):
    r = benefits.scale_invariance(seed=0, a=a)
    assert abs(r["loss_after"] - r["loss_before"]) < 1e-4 * abs(r["loss_before"])
    assert r["grad_ratio"] == pytest.approx(1 / a, rel=1e-3)
    assert r["other_grads_change"] < 1e-3   # exact up to eps


def test_without_bn_scaling_the_weights_changes_the_loss():
    """The control: scale invariance is BN's, not every network's."""
    x, y = figure1.digits()[0][:60], figure1.digits()[2][:60]
    model = figure1.build_model(bn=None, seed=0)
    loss0, _ = nn.softmax_cross_entropy(model(x), y)
    model[0].weight *= 10.0
    loss1, _ = nn.softmax_cross_entropy(model(x), y)
    bn = benefits.scale_invariance(seed=0, a=10.0)
    assert abs(loss1 - loss0) > 1e-3
    assert abs(loss1 - loss0) > 100 * abs(bn["loss_after"] - bn["loss_before"])


def test_gradient_of_a_weight_row_feeding_bn_is_orthogonal_to_it():
    x, y = figure1.digits()[0][:60], figure1.digits()[2][:60]
    model = figure1.build_model(bn="before", seed=0)
    _, dlogits = nn.softmax_cross_entropy(model(x), y)
    model.backward(dlogits)
    w, g = model[0].weight, model[0].dweight
    cos = np.sum(w * g, axis=1) / (np.linalg.norm(w, axis=1) * np.linalg.norm(g, axis=1))
    assert np.abs(cos).max() < 1e-3   # exact up to eps
    # the output layer has no BN after it: its rows are not orthogonal to their gradients
    w, g = model[-1].weight, model[-1].dweight
    cos = np.sum(w * g, axis=1) / (np.linalg.norm(w, axis=1) * np.linalg.norm(g, axis=1))
    assert np.abs(cos).max() > 1e-2


def test_weight_norm_grows_faster_with_a_larger_learning_rate():
    r = benefits.weight_norm_growth(lrs=(0.5, 30.0), steps=20)
    slow, fast = r["runs"]["0.5"], r["runs"]["30"]
    assert slow["norm_start"] == fast["norm_start"]
    assert min(np.subtract(fast["norm_end"], fast["norm_start"])) > 0
    assert min(fast["norm_end"]) > max(slow["norm_end"])


def test_layer_scale_run_validates_and_none_is_the_default_net():
    with pytest.raises(ValueError, match="which"):
        benefits.layer_scale_run(which="first", seed=0)
    acc = benefits.layer_scale_run(which="none", seed=0, steps=50)
    _, h = figure1.train_digits(bn="before", lr=0.5, seed=0, steps=50, eval_every=50)
    assert acc == h["test_acc"][-1]
    assert benefits.layer_scale_run(which="output", seed=0, steps=50) != acc


# ------------------------------------------------------------------------------------ ICS

def test_ics_is_zero_when_the_layers_below_do_not_move():
    r = benefits.ics_run(bn=True, lr=1e-9, steps=100, every=100)
    assert r["ics_rel"][0] < 1e-6 and r["ics_cos"][0] == pytest.approx(1.0)
    moving = benefits.ics_run(bn=True, lr=0.5, steps=100, every=100)
    assert moving["ics_rel"][0] > 1e-3


# ---------------------------------------------------------------------------------- cache

def test_mechanisms_cache_is_small_rounded_and_complete():
    data = load_cache("ch3c_mechanisms")
    assert rounded(data) == data
    spec = benefits.LAYER_SCALE
    assert sorted(data["layer_scale"]["acc"]) == sorted(spec["which"])
    assert all(len(v) == len(spec["seeds"]) for v in data["layer_scale"]["acc"].values())
    assert len(data["ics"]["bn"]["ics_rel"]) == spec["steps"] // 100
    assert data["figure1_baseline"]["step"][-1] == figure1.FIGURE1_LIVE["steps"]


def test_mechanisms_cache_matches_the_code():
    data = load_cache("ch3c_mechanisms")
    ics = benefits.ics_run(bn=True, lr=0.5, seed=0, steps=200)
    assert np.allclose(ics["ics_rel"], data["ics"]["bn"]["ics_rel"][:2], atol=1e-3), RERUN
    base = figure1.run_figure1(bn=False, init_scale=0.3, lr=0.5, steps=100, eval_every=50,
                               seed=0)
    cached = data["figure1_baseline"]
    for key in ("test_acc", "p15", "p50", "p85"):
        assert np.allclose(base[key], cached[key][:3], atol=ATOL), (key, RERUN)
    norms = benefits.weight_norm_growth(lrs=(30.0,), steps=data["weight_norm"]["steps"])
    assert np.allclose(norms["runs"]["30"]["norm_end"],
                       data["weight_norm"]["runs"]["30"]["norm_end"], atol=1e-2), RERUN
    acc = benefits.layer_scale_run(which="output", seed=0)
    assert abs(acc - data["layer_scale"]["acc"]["output"][0]) <= TWO_IMAGES, RERUN
