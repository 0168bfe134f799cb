"""Precompute chapter 5's training runs into bnlib/cache/ch5_regularization.json.

    .venv/bin/python scripts/precompute_ch5.py            # everything (about 20 min, 1 core)
    .venv/bin/python scripts/precompute_ch5.py --missing  # only runs absent or lacking a field

Runs :func:`bnlib.experiments.regularization.train_run` for every configuration below and
several seeds, and stores the accuracy curves rounded to 4 decimals (a small JSON file that
the notebook and its widgets load). tests/test_ch5_cache.py recomputes one run and compares.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrices: threads only add contention
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bnlib.experiments.regularization import DEFAULTS, MODES, run_key, train_run  # noqa: E402

from bnlib.experiments.regularization import CACHE_PATH as CACHE  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
BATCH_SIZES = (8, 32, 128)          # the main grid: every mode at every batch size
TINY_BATCH_SIZES = (2, 4)           # extra BN and no-BN runs for the tiny-batch caveat
GHOST_SIZES = (8, 16)               # ghost sizes beside the default 4, at batch size 32
N_VAL = 200                         # held-out training images that pick the early-stopping step
WEIGHT_DECAY = 1e-3                 # "other regularizer" comparison at batch size 32
LABEL_NOISE = 0.3                   # the harder setting: 30% of the 200 labels wrong
CONFIG = {**DEFAULTS, "steps": 1000, "eval_every": 50}


def configurations():
    """(mode, batch_size, weight_decay, label_noise, ghost_size, n_val, required fields) for
    every configuration the chapter uses; a cached run lacking a required field is redone."""
    base = ("train_acc", "test_acc", "batch_stat_acc")
    for bs in BATCH_SIZES:
        for mode in MODES:
            yield mode, bs, 0.0, 0.0, None, 0, base
    for bs in TINY_BATCH_SIZES:
        yield "bn", bs, 0.0, 0.0, None, 0, base + ("train_batch_stat_acc",)
        yield "none", bs, 0.0, 0.0, None, 0, base
    for g in GHOST_SIZES:
        yield "ghost", 32, 0.0, 0.0, g, 0, base
    for mode in ("none", "bn"):
        yield mode, 32, WEIGHT_DECAY, 0.0, None, 0, base
    for mode in ("none", "bn", "wholeset", "ghost"):
        yield mode, 32, 0.0, LABEL_NOISE, None, N_VAL, base + ("val_acc",)


def _round(values):
    return [round(float(v), 4) for v in values]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE)
    parser.add_argument("--missing", action="store_true",
                        help="keep the runs already in --out; compute only the missing ones")
    args = parser.parse_args(argv)
    settings = {k: v for k, v in CONFIG.items() if k != "weight_decay"}
    runs, steps = {}, None
    if args.missing and args.out.exists():
        old = json.loads(args.out.read_text())
        runs, steps = old["runs"], old["steps"]
    for mode, bs, wd, ln, g, n_val, required in configurations():
        key = run_key(mode, bs, wd, ln, ghost_size=g)
        if key in runs and all(f in runs[key] for f in required):
            continue
        start = time.perf_counter()
        extra = {"ghost_size": g} if g is not None else {}
        hists = [train_run(mode, bs, seed, weight_decay=wd, label_noise=ln, n_val=n_val,
                           **{**settings, **extra})
                 for seed in SEEDS]
        steps = hists[0]["step"]
        runs[key] = {
            "train_acc": [_round(h["train_acc"]) for h in hists],
            "test_acc": [_round(h["test_acc"]) for h in hists],
            "batch_stat_acc": _round(h["batch_stat_acc"] for h in hists),
            "train_batch_stat_acc": _round(h["train_batch_stat_acc"] for h in hists),
            "diverged": [bool(h["diverged"]) for h in hists],
        }
        if n_val:
            runs[key]["val_acc"] = [_round(h["val_acc"]) for h in hists]
        print(f"{key:>12}: {time.perf_counter() - start:6.1f} s, final test "
              f"{[round(h['test_acc'][-1], 3) for h in hists]}", flush=True)
    cache = {
        "config": {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
                   "seeds": list(SEEDS), "batch_sizes": list(BATCH_SIZES),
                   "tiny_batch_sizes": list(TINY_BATCH_SIZES), "modes": list(MODES),
                   "ghost_sizes": [settings["ghost_size"], *GHOST_SIZES], "n_val": N_VAL,
                   "weight_decay": WEIGHT_DECAY, "label_noise": LABEL_NOISE},
        "steps": steps,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cache, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
