"""The precomputed chapter 7 runs (bnlib/cache/ch7_runs.json) match a recomputation, and the
recorded benchmark has the fields the chapter prints."""
import numpy as np
import pytest

from bnlib.experiments import load_cache
from bnlib.experiments.practice import CONDITIONS, finetune_run, lag_trace


def test_finetune_cache_matches_a_recomputed_run():
    cache = load_cache("ch7_runs")
    run = finetune_run(1, conditions=CONDITIONS[:2])
    for name in ("source", "adabn"):
        np.testing.assert_allclose(run[name]["test"], cache["finetune"][1][name]["test"],
                                   atol=1e-4)
    assert abs(run["source_test"] - cache["finetune"][1]["source_test"]) < 1e-4


def test_lag_cache_matches_a_recomputed_trace():
    cache = load_cache("ch7_runs")["lag"]["0.01"]
    trace = lag_trace(0, bn_momentum=0.01, steps=100)
    np.testing.assert_allclose(trace["gap"], cache["gap"][:len(trace["gap"])], atol=1e-4)


def test_bench_record_has_what_the_chapter_prints():
    bench = load_cache("ch7_bench")
    assert bench["bandwidth_GBps"] > 0
    assert set(bench["folding"]) == {"batch of 540", "one image"}
    for row in bench["bn_costs"]:
        assert {"floor_us", "bnlib compact_us", "bnlib staged_us"} <= set(row)


def test_stored_model_is_the_trained_source_model():
    from bnlib.experiments.practice import digits, load_source_model, source_model
    stored = load_source_model()
    trained, _ = source_model(0)
    x = digits()[1][:50]
    # 600 SGD steps: another CPU's BLAS may round differently, so allow drift far above float64
    # rounding but far below anything that changes a prediction.
    np.testing.assert_allclose(stored(x), trained.eval()(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(stored(x).argmax(1), trained(x).argmax(1))


def test_finetune_conditions_see_the_same_examples():
    """The batch-2 and batch-10 fine-tuning runs see the same number of examples, with the
    learning rate scaled linearly, and are evaluated after the same numbers of examples."""
    from bnlib.experiments.practice import FINETUNE, finetune_schedule
    sizes = {bs for *_, bs in CONDITIONS if bs is not None}
    assert sizes == {2, 10}
    for bs in sizes:
        s = finetune_schedule(bs)
        assert s["steps"] * bs == FINETUNE["examples"]
        assert s["eval_every"] * bs == FINETUNE["eval_examples"]
        assert s["lr"] / bs == FINETUNE["lr"] / FINETUNE["lr_batch"]
    cache = load_cache("ch7_runs")["finetune"]
    for name, _, mode, bs in CONDITIONS:
        n_logs = 1 if mode is None else FINETUNE["examples"] // FINETUNE["eval_examples"] + 1
        assert all(len(r[name]["val"]) == n_logs for r in cache)
    with pytest.raises(ValueError, match="batch_size"):
        finetune_schedule(3)


def test_batch_2_finetune_cache_matches_a_recomputed_run():
    """The frozen and updating runs at batch 2 (1500 steps): the first three evaluations
    (after 0, 100 and 200 examples) match tightly, the chosen test accuracy within two test
    images (rounding over 1500 steps may flip an image on another CPU; the two conditions
    differ by about 70 images)."""
    from bnlib.experiments.practice import chosen_test
    conditions = [c for c in CONDITIONS if c[3] == 2]
    run = finetune_run(1, conditions=conditions)
    cached = load_cache("ch7_runs")["finetune"][1]
    for name, *_ in conditions:
        np.testing.assert_allclose(run[name]["test"][:3], cached[name]["test"][:3], atol=1e-4)
        assert abs(chosen_test(run[name]) - chosen_test(cached[name])) <= 2 / 300 + 1e-9
