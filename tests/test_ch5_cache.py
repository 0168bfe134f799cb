"""The precomputed chapter-5 runs: recompute points and compare them with the cache."""
import numpy as np
import pytest

from bnlib.experiments.regularization import (CACHE_PATH, MODES, load_cache, run_key,
                                              summarize, train_run)

ACC_TOL = 0.005   # under 3 of 540 test images: room for BLAS rounding, not for a changed run


@pytest.fixture(scope="module")
def cache():
    return load_cache()


def _settings(cache):
    keys = ("n_train", "hidden", "steps", "lr", "momentum", "eval_every", "ghost_size",
            "subset_seed")
    settings = {k: cache["config"][k] for k in keys}
    settings["hidden"] = tuple(settings["hidden"])
    return settings


def test_cache_is_small_and_complete(cache):
    assert CACHE_PATH.stat().st_size < 200 * 1024
    cfg = cache["config"]
    assert tuple(cfg["modes"]) == MODES
    n_points = len(cache["steps"])
    for bs in cfg["batch_sizes"]:
        for mode in cfg["modes"]:
            run = cache["runs"][run_key(mode, bs)]
            assert np.shape(run["test_acc"]) == (len(cfg["seeds"]), n_points)
    for bs in cfg["tiny_batch_sizes"]:
        assert run_key("bn", bs) in cache["runs"]
    for mode in ("none", "bn"):
        assert run_key(mode, 32, cfg["weight_decay"]) in cache["runs"]


@pytest.mark.parametrize("mode, batch_size", [("ghost", 8), ("bn", 8)])
def test_recomputed_run_matches_cache(cache, mode, batch_size):
    seed = cache["config"]["seeds"][0]
    hist = train_run(mode, batch_size, seed, **_settings(cache))
    run = cache["runs"][run_key(mode, batch_size)]
    assert hist["step"] == cache["steps"]
    np.testing.assert_allclose(hist["train_acc"], run["train_acc"][0], atol=ACC_TOL)
    np.testing.assert_allclose(hist["test_acc"], run["test_acc"][0], atol=ACC_TOL)
    assert hist["batch_stat_acc"] == pytest.approx(run["batch_stat_acc"][0], abs=ACC_TOL)


def test_summarize_matches_the_raw_runs(cache):
    key = run_key("bn", cache["config"]["batch_sizes"][0])
    s = summarize(cache["runs"], key)
    test = np.asarray(cache["runs"][key]["test_acc"])
    assert s["final_test"][0] == pytest.approx(test[:, -1].mean())
    assert s["final_test"][1] == pytest.approx(test[:, -1].std(ddof=1))
    train = np.asarray(cache["runs"][key]["train_acc"])
    assert s["final_gap"][0] == pytest.approx((train[:, -1] - test[:, -1]).mean())


def test_label_noise_flips_the_stated_fraction_to_other_classes():
    from bnlib.experiments.regularization import training_subset
    x_clean, y_clean, _, y_test = training_subset(200, subset_seed=0)
    x_noisy, y_noisy, _, y_test2 = training_subset(200, subset_seed=0, label_noise=0.3)
    assert np.array_equal(x_clean, x_noisy) and np.array_equal(y_test, y_test2)
    assert np.sum(y_clean != y_noisy) == 60
