"""Chapter 3c experiments: the pure, seeded functions behind the notebook and the cache."""
import numpy as np
import pytest

from bnlib import nn
from bnlib.experiments import benefits, figure1, rounded


def test_saturation_fraction_counts_both_tails():
    z = np.array([[-3.0, 0.0], [2.9, 3.0], [-2.0, 10.0]])
    assert figure1.saturation_fraction(z) == pytest.approx(3 / 6)
    assert figure1.SATURATION_Z == pytest.approx(np.log(19.0))
    sig = 1 / (1 + np.exp(-figure1.SATURATION_Z))
    assert sig == pytest.approx(0.95)


@pytest.mark.parametrize("bn, kind", [(None, "Linear"), ("before", "BatchNorm1d"),
                                      ("after", "Linear")])
def test_sigmoid_layer_is_the_module_feeding_the_last_sigmoid(bn, kind):
    model = figure1.build_model(bn=bn, seed=0)
    i = figure1.sigmoid_layer(model)
    assert type(model[i]).__name__ == kind
    assert type(model[i + 1]).__name__ == "Sigmoid"
    assert not any(type(m).__name__ == "Sigmoid" for m in list(model)[i + 2:])


def test_sigmoid_input_matches_a_manual_eval_forward_and_restores_the_mode():
    model = figure1.build_model(bn="before", seed=1)
    x = figure1.digits()[1][:50]
    model.train()
    model(figure1.digits()[0][:60])  # move the running statistics away from 0 / 1
    z = figure1.sigmoid_input(model, x)
    assert model.training
    model.eval()
    h = x
    for m in list(model)[: figure1.sigmoid_layer(model) + 1]:
        h = m(h)
    assert z.shape == (50, 100)
    assert np.allclose(z, h)


def test_run_figure1_is_deterministic_and_starts_at_step_0():
    a = figure1.run_figure1(bn=True, lr=0.5, steps=100, eval_every=50, seed=3)
    b = figure1.run_figure1(bn=True, lr=0.5, steps=100, eval_every=50, seed=3)
    assert a == b
    assert a["step"] == [0, 50, 100]
    assert len(a["p15"]) == len(a["test_acc"]) == 3
    assert all(lo <= mid <= hi for lo, mid, hi in zip(a["p15"], a["p50"], a["p85"]))
    c = figure1.run_figure1(bn=True, lr=0.5, steps=100, eval_every=50, seed=4)
    assert c["p50"] != a["p50"]  # the seed matters


def _fake_run():
    return {"step": [0, 100, 200, 300], "test_acc": [0.1, 0.5, 0.92, 0.95],
            "p15": [0.0, -1.0, -2.0, -3.0], "p50": [0.0, 0.0, 1.0, 0.5],
            "p85": [0.0, 1.0, 2.0, 3.0], "saturation": [0.0, 0.0, 0.1, 0.2]}


def test_band_summary_on_a_known_run():
    s = figure1.band_summary(_fake_run(), start_step=100)
    assert s["width_start"] == 2.0 and s["width_end"] == 6.0 and s["width_ratio"] == 3.0
    assert s["median_range"] == 1.0
    assert s["steps_to_target"] == 200 and s["final_saturation"] == 0.2
    assert figure1.band_summary(_fake_run(), target_acc=0.99)["steps_to_target"] is None
    with pytest.raises(ValueError, match="start_step"):
        figure1.band_summary(_fake_run(), start_step=300)


def test_layer_drift_on_known_statistics():
    run = {"step": [0, 100, 200], "unit_mean": [[0, 0], [1.0, -1.0], [2.0, 1.0]],
           "unit_std": [[1, 1], [1.0, 2.0], [4.0, 2.0]]}
    d = figure1.layer_drift(run, start_step=100)
    assert d["mean_shift"] == pytest.approx(1.5)
    assert d["std_ratio"] == pytest.approx(2.5)
    assert d["units"] == 2
    with pytest.raises(ValueError, match="keep_layer_stats"):
        figure1.layer_drift(_fake_run())


def test_bias_before_bn_is_redundant_but_other_biases_are_not():
    r = benefits.bias_redundancy(seed=0)
    assert r["n_biases"] == 3
    assert r["max_output_change"] < 1e-12 and r["max_bias_grad"] < 1e-12
    assert r["max_weight_grad"] > 1e-3
    # Control: without BN the same change of the biases does change the output.
    model = figure1.build_model(bn=None, seed=0)
    x = figure1.digits()[0][:60]
    before = model(x)
    model[0].bias[...] = 1.0
    assert np.abs(model(x) - before).max() > 1e-3
    assert benefits._pre_bn_linears(figure1.build_model(bn="after", seed=0)) == []


def test_noisy_bn_is_a_random_affine_map_with_the_matching_backward():
    x = np.random.default_rng(0).normal(size=(500, 4))
    a = benefits.NoisyBN(4, rng=np.random.default_rng(7))
    b = benefits.NoisyBN(4, rng=np.random.default_rng(7))
    d = np.random.default_rng(1).normal(size=x.shape) * 1e-3
    ya, yb = a(x), b(x + d)
    assert np.allclose(yb - ya, a._s * d)  # same noise: exactly linear in x with slope s
    dout = np.random.default_rng(2).normal(size=x.shape)
    assert np.allclose(a.backward(dout), dout * a._s)
    assert np.all((a._s >= 0.5) & (a._s <= 2.0))
    assert np.abs(ya.mean(axis=0)).max() > 0.1  # non-zero mean
    assert not np.allclose(ya.std(axis=0), 1.0, atol=0.05)  # non-unit variance
    y2 = a(x)
    assert not np.allclose(y2, ya)  # redrawn at every step
    assert a.parameters() == [] and np.array_equal(a.eval()(x), x)


def test_noisy_model_puts_noise_after_every_bn():
    names = [type(m).__name__ for m in benefits.noisy_model(seed=0)]
    idx = [i for i, n in enumerate(names) if n == "BatchNorm1d"]
    assert len(idx) == 3 and all(names[i + 1] == "NoisyBN" for i in idx)


def test_landscape_measurement_does_not_change_the_training_run():
    probed = benefits.landscape_run(bn=True, steps=200, every=100)
    _, plain = figure1.train_digits(bn="before", lr=0.5, seed=0, steps=200, eval_every=100)
    assert probed["test_acc"] == [float(a) for a in plain["test_acc"]]
    assert probed["step"] == [100, 200]
    assert all(v >= 0 for v in probed["loss_range"] + probed["grad_change"] + probed["beta"])


def test_final_run_and_sweep_shapes():
    r = benefits.final_run(bn=False, lr=0.5, seed=0, steps=200, eval_every=100)
    assert r["step"] == [100, 200] and len(r["test_acc"]) == 2 and not r["diverged"]
    with pytest.raises(ValueError, match="multiple"):
        benefits.final_run(bn=False, lr=0.5, seed=0, steps=150, eval_every=100)
    with pytest.raises(ValueError, match="param"):
        benefits.sweep("momentum", [0.9])


def test_rounded_rounds_floats_only():
    assert rounded({"a": [0.123456, 2, (1.00004, "x")], "b": True}) == \
        {"a": [0.1235, 2, [1.0, "x"]], "b": True}


def test_build_model_matches_the_paper_architecture():
    model = figure1.build_model(bn="before", seed=0)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == \
        [(64, 100), (100, 100), (100, 100), (100, 10)]
