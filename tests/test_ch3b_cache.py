"""Chapter 3c's cached results must be what the code produces today.

scripts/precompute_ch3.py writes bnlib/cache/ch3_*.json; these tests recompute points (one
full Figure 1 grid run, one full placement run, and prefixes of the other runs: training is
deterministic, so the first checkpoints of a shorter run equal the cached ones) and compare.

With unchanged code the numbers agree to the cache's rounding. A change in bnlib that only
moves floating-point rounding (a faster sigmoid, a reordered sum) is amplified by training,
so long runs are compared within a small tolerance (a couple of test images, a few
hundredths of a percentile); anything beyond that means the cache no longer shows what the
code does: rerun `python scripts/precompute_ch3.py` and the chapter notebook.
"""
from pathlib import Path

import numpy as np
import pytest

from bnlib.experiments import CACHE_DIGITS, benefits, figure1, load_cache, rounded

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache"
ATOL = 1.5 * 10.0 ** -CACHE_DIGITS
TWO_IMAGES = 2 / 540 + ATOL  # accuracy tolerance: two of the 540 test images
RERUN = "the cache is stale: rerun scripts/precompute_ch3.py"


def close(a, b, atol=ATOL):
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=atol, rtol=0)


def test_cache_files_are_small_and_rounded():
    files = sorted(CACHE.glob("ch3_*.json"))
    assert {f.name for f in files} == {"ch3_figure1_grid.json", "ch3_sweeps.json", "ch3_why.json"}
    assert sum(f.stat().st_size for f in files) < 200_000
    for f in files:
        data = load_cache(f.stem)
        assert rounded(data) == data


def test_grid_is_complete():
    data = load_cache("ch3_figure1_grid")
    g = figure1.GRID
    assert data["grid"] == g
    assert len(data["runs"]) == 2 * len(g["lrs"]) * len(g["init_scales"])
    assert data["step"] == list(range(0, g["steps"] + 1, g["eval_every"]))


def test_one_full_grid_point_is_recomputed_exactly():
    cached = load_cache("ch3_figure1_grid")["runs"][figure1.grid_key(True, 2.0, 1.0)]
    fresh = figure1.grid_point(True, 2.0, 1.0)
    tolerance = {"test_acc": 0.02, "p15": 0.1, "p50": 0.1, "p85": 0.1, "saturation": 0.02}
    for key, atol in tolerance.items():
        assert close(fresh[key], cached[key], atol), (key, RERUN)
    assert fresh["diverged"] == cached["diverged"]


def test_sweep_prefix_is_recomputed():
    sw = load_cache("ch3_sweeps")["lr"]
    i, seed = sw["values"].index(10.0), 1
    cached = sw["runs"]["plain"][i][seed]
    fresh = benefits.final_run(bn=False, lr=10.0, seed=sw["seeds"][seed], steps=300,
                               init_scale=sw["init_scale"], eval_every=100)
    assert close(fresh["test_acc"], cached["test_acc"][:3], TWO_IMAGES), RERUN
    spec = load_cache("ch3_sweeps")["init_scale"]
    j = spec["values"].index(3.0)
    fresh = benefits.final_run(bn=True, lr=spec["lr"], seed=0, steps=200, init_scale=3.0)
    assert close(fresh["test_acc"], spec["runs"]["bn"][j][0]["test_acc"][:2], TWO_IMAGES), RERUN


def test_noisy_and_landscape_prefixes_are_recomputed():
    why = load_cache("ch3_why")
    _, h = figure1.train_run(bn=None, lr=why["noisy"]["lr"], seed=0, steps=200, eval_every=100,
                             model=benefits.noisy_model(seed=0))
    assert close(h["test_acc"], why["noisy"]["acc"]["noisy"][0][:2], TWO_IMAGES), RERUN
    fresh = benefits.landscape_run(bn=False, lr=why["noisy"]["lr"], seed=0, steps=200)
    for key in ("loss_range", "grad_change", "beta"):
        assert np.allclose(fresh[key], why["landscape"]["plain"][key][:2], rtol=1e-3,
                           atol=ATOL), (key, RERUN)
    assert close(fresh["test_acc"], why["landscape"]["plain"]["test_acc"][:2], TWO_IMAGES)


def test_one_placement_run_is_recomputed():
    why = load_cache("ch3_why")["placement"]
    _, h = figure1.train_run(bn="after", lr=why["lr"], seed=why["seeds"][0], steps=why["steps"],
                             eval_every=why["steps"], activation="relu")
    assert close(h["test_acc"][-1], why["acc"]["relu/after"][0], TWO_IMAGES), RERUN


@pytest.mark.parametrize("name", ["ch3_figure1_grid", "ch3_sweeps", "ch3_why"])
def test_cache_holds_no_machine_paths(name):
    text = (CACHE / f"{name}.json").read_text()
    assert "/work" not in text and "/tmp" not in text
