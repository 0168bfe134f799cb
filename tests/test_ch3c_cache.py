"""Chapter 3c's cached results must be what the code produces today.

scripts/precompute_ch3c.py writes bnlib/cache/ch3c_*.json; these tests recompute points (one
full Figure 1 grid run, one full placement run, and prefixes of the other runs: training is
deterministic, so the first checkpoints of a shorter run equal the cached ones) and compare
them on what reproduces across CPUs and BLAS kernels.

Measured with bench/blas_drift.py (OpenBLAS forced to its Haswell, Sandybridge and Prescott
kernels on an AVX2 machine): the Figure 1 grid point below (2000 steps), the lr-10 sweep run
(1500 steps) and the 200-step prefixes agreed with the cache to its rounding on every kernel.
Only the placement run drifted: after 1500 steps its test accuracy differs by one test image
from the cache on Haswell kernels and by up to two between kernels along the way. Hence:

- prefixes and the first half of the grid run: to the cache's rounding (ATOL);
- the grid run's final values: two test images and 1e-3 for the percentile band (it has one
  seed, so no seed spread to compare with; two images is the largest drift measured in any
  chapter-3c run);
- the placement run's final accuracy: within 3 standard deviations of its 3 cached seeds
  (0.0057; drift measured: 0.0018 against the cache, 0.0019 between kernels).

Beyond that, the cache no longer shows what the code does: rerun
`python scripts/precompute_ch3c.py` and the chapter notebook.
"""
from pathlib import Path

import numpy as np
import pytest

from bnlib.experiments import CACHE_DIGITS, benefits, figure1, load_cache, rounded

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache"
ATOL = 1.5 * 10.0 ** -CACHE_DIGITS  # the cache's rounding
TWO_IMAGES = 2 / 540 + ATOL  # accuracy: two of the 540 test images
SEED_SPREADS = 3
RERUN = "the cache is stale: rerun scripts/precompute_ch3c.py"


def close(a, b, atol=ATOL):
    return np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=atol, rtol=0)


def test_cache_files_are_small_and_rounded():
    files = sorted(CACHE.glob("ch3c_*.json"))
    assert {f.name for f in files} == {"ch3c_figure1_grid.json", "ch3c_sweeps.json",
                                       "ch3c_why.json", "ch3c_mechanisms.json"}
    assert sum(f.stat().st_size for f in files) < 200_000
    for f in files:
        data = load_cache(f.stem)
        assert rounded(data) == data


def test_grid_is_complete():
    data = load_cache("ch3c_figure1_grid")
    g = figure1.GRID
    assert data["grid"] == g
    assert len(data["runs"]) == 2 * len(g["lrs"]) * len(g["init_scales"])
    assert data["step"] == list(range(0, g["steps"] + 1, g["eval_every"]))


@pytest.mark.slow
def test_one_full_grid_point_matches_early_and_ends_within_two_images():
    cached = load_cache("ch3c_figure1_grid")["runs"][figure1.grid_key(True, 2.0, 1.0)]
    fresh = figure1.grid_point(True, 2.0, 1.0)
    half = len(cached["test_acc"]) // 2 + 1  # steps 0 to 1000 of 2000
    for key in ("test_acc", "p15", "p50", "p85", "saturation"):
        assert close(fresh[key][:half], cached[key][:half]), (key, RERUN)
    assert close(fresh["test_acc"][-1], cached["test_acc"][-1], TWO_IMAGES), RERUN
    for key in ("p15", "p50", "p85", "saturation"):
        assert close(fresh[key][-1], cached[key][-1], 1e-3), (key, RERUN)
    assert fresh["diverged"] == cached["diverged"]


def test_sweep_prefix_is_recomputed():
    sw = load_cache("ch3c_sweeps")["lr"]
    i, seed = sw["values"].index(10.0), 1
    cached = sw["runs"]["plain"][i][seed]
    fresh = benefits.final_run(bn=False, lr=10.0, seed=sw["seeds"][seed], steps=300,
                               init_scale=sw["init_scale"], eval_every=100)
    assert close(fresh["test_acc"], cached["test_acc"][:3]), RERUN
    spec = load_cache("ch3c_sweeps")["init_scale"]
    j = spec["values"].index(3.0)
    fresh = benefits.final_run(bn=True, lr=spec["lr"], seed=0, steps=200, init_scale=3.0)
    # (this prefix was not in the drift measurement: two images, as for the placement run)
    assert close(fresh["test_acc"], spec["runs"]["bn"][j][0]["test_acc"][:2], TWO_IMAGES), RERUN


def test_noisy_and_landscape_prefixes_are_recomputed():
    why = load_cache("ch3c_why")
    h = figure1.fit_digits(benefits.noisy_model(seed=0), lr=why["noisy"]["lr"], seed=0,
                           steps=200, eval_every=100)
    assert close(h["test_acc"], why["noisy"]["acc"]["noisy"][0][:2]), RERUN
    fresh = benefits.landscape_run(bn=False, lr=why["noisy"]["lr"], seed=0, steps=200)
    for key in ("loss_range", "grad_change", "beta"):
        assert np.allclose(fresh[key], why["landscape"]["plain"][key][:2], rtol=1e-3,
                           atol=ATOL), (key, RERUN)
    assert close(fresh["test_acc"], why["landscape"]["plain"]["test_acc"][:2]), RERUN


@pytest.mark.slow
def test_one_placement_run_ends_within_the_seed_spread():
    why = load_cache("ch3c_why")["placement"]
    _, h = figure1.train_digits(bn="after", lr=why["lr"], seed=why["seeds"][0], steps=why["steps"],
                                eval_every=why["steps"], activation="relu")
    seeds = np.asarray(why["acc"]["relu/after"])
    tolerance = SEED_SPREADS * seeds.std(ddof=1)
    assert abs(h["test_acc"][-1] - seeds[0]) <= tolerance, RERUN


@pytest.mark.parametrize("name", ["ch3c_figure1_grid", "ch3c_sweeps", "ch3c_why",
                                  "ch3c_mechanisms"])
def test_cache_holds_no_machine_paths(name):
    text = (CACHE / f"{name}.json").read_text()
    assert "/work" not in text and "/tmp" not in text
