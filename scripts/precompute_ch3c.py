"""Precompute chapter 3's heavy experiments into small JSON files in bnlib/cache.

    python scripts/precompute_ch3c.py [--only figure1|sweeps|why|mechanisms]

Writes (floats rounded to bnlib.experiments.CACHE_DIGITS decimals):
- bnlib/cache/ch3c_figure1_grid.json: the Figure 1 explorer's grid (BN on/off x learning
  rate x init scale; test accuracy and sigmoid-input percentiles over training);
- bnlib/cache/ch3c_sweeps.json: learning-rate and init-scale sweeps over three seeds;
- bnlib/cache/ch3c_why.json: BN placement, noisy BN and the loss-landscape measurements;
- bnlib/cache/ch3c_mechanisms.json: which layers' initial scale matters with BN, how the
  weights feeding BN grow with the learning rate, and Santurkar et al.'s gradient-based
  internal covariate shift, with and without BN.
Every entry is produced by a pure, seeded function of bnlib.experiments; the tests in
tests/test_ch3c_cache.py recompute points and compare them with these files.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bnlib.experiments import rounded
from bnlib.experiments import benefits, figure1

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache"


def figure1_grid() -> dict:
    g = figure1.GRID
    runs = {}
    for bn in (False, True):
        for lr in g["lrs"]:
            for scale in g["init_scales"]:
                run = figure1.grid_point(bn, lr, scale)
                run.pop("step")
                runs[figure1.grid_key(bn, lr, scale)] = run
    step = list(range(0, g["steps"] + 1, g["eval_every"]))
    return {"grid": g, "step": step, "runs": runs}


def sweeps() -> dict:
    out = {}
    for param, spec in benefits.SWEEPS.items():
        out[param] = benefits.sweep(param, spec["values"], seeds=benefits.SWEEP_SEEDS,
                                    steps=benefits.SWEEP_STEPS, lr=spec["lr"],
                                    init_scale=spec["init_scale"])
    return out


def why() -> dict:
    w = benefits.WHY
    return {
        "placement": benefits.placement_runs(seeds=w["seeds"], steps=w["steps"], lr=w["lr"]),
        "noisy": benefits.noisy_bn_runs(seeds=w["seeds"], steps=w["steps"], lr=w["lr"]),
        "landscape": {name: benefits.landscape_run(bn=name == "bn", lr=w["lr"],
                                                   seed=w["landscape_seed"], steps=w["steps"])
                      for name in ("plain", "bn")},
    }


def mechanisms() -> dict:
    s = benefits.LAYER_SCALE
    return {
        "layer_scale": benefits.layer_scale_runs(seeds=s["seeds"], steps=s["steps"],
                                                 lr=s["lr"], scale=s["scale"],
                                                 which=s["which"]),
        "weight_norm": benefits.weight_norm_growth(lrs=s["norm_lrs"], steps=s["norm_steps"]),
        "ics": {name: benefits.ics_run(bn=name == "bn", lr=s["lr"], seed=s["ics_seed"],
                                       steps=s["steps"])
                for name in ("plain", "bn")},
        "figure1_baseline": figure1_baseline(),
    }


def figure1_baseline() -> dict:
    """The plain Figure 1 run at init scale 0.3, with the notebook's live settings."""
    return figure1.run_figure1(bn=False, init_scale=0.3, **figure1.FIGURE1_LIVE)


JOBS = {"figure1": ("ch3c_figure1_grid", figure1_grid), "sweeps": ("ch3c_sweeps", sweeps),
        "why": ("ch3c_why", why), "mechanisms": ("ch3c_mechanisms", mechanisms)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(JOBS), action="append")
    args = parser.parse_args(argv)
    CACHE.mkdir(exist_ok=True)
    for job in args.only or list(JOBS):
        name, fn = JOBS[job]
        start = time.perf_counter()
        data = rounded(fn())
        path = CACHE / f"{name}.json"
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"{path.name}: {path.stat().st_size / 1024:.1f} KB "
              f"in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
