"""Precompute chapter 6's batch-size sweep into bnlib/cache/ch6_batch_size.json.

    .venv/bin/python scripts/precompute_ch6.py        # a few CPU-minutes on one core

1. choose each method's base learning rate on the validation split (batch size 32, two
   seeds, the grid below; the test set is not used);
2. train every method at every batch size for every seed with its chosen rate
   (:func:`bnlib.experiments.family.train_run`) and store the validation curves and the final
   validation and test accuracies, rounded to 4 decimals.
3. ``--low-lr``: keep the stored sweep and add a second, lower learning-rate search for
   group and layer norm (which chose the grid's lowest rate, so the grid may have limited
   them), on the validation split only; for a method whose best lower rate beats its first
   choice on validation, also train its whole sweep at that rate (``runs_low_lr``).
tests/test_ch6_cache.py recomputes one short run and compares.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrices: threads only add contention
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bnlib.experiments import rounded  # noqa: E402
from bnlib.experiments.family import (BATCH_SIZES, CACHE_NAME, DEFAULTS, METHODS,  # noqa: E402
                                      choose_base_lr, train_run)

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache" / f"{CACHE_NAME}.json"
SEEDS = (0, 1, 2, 3, 4)
LR_GRID = (0.05, 0.1, 0.2, 0.4)
LR_SEEDS = (0, 1)
LOW_LR_GRID = (0.0125, 0.025)
LOW_LR_METHODS = ("gn", "ln")


def sweep(method: str, base_lr: float, start: float) -> dict:
    """Every batch size and seed of one method at one base rate, as the cache stores it."""
    out = {}
    for bs in BATCH_SIZES:
        recs = [train_run(method, bs, s, base_lr=base_lr, **DEFAULTS) for s in SEEDS]
        out[str(bs)] = {
            "seen": recs[0]["seen"],
            "val_acc": [r["val_acc"] for r in recs],
            "loss": [r["loss"] for r in recs],
            "final_val": [r["final_val"] for r in recs],
            "final_test": [r["final_test"] for r in recs],
            "diverged": [bool(r["diverged"]) for r in recs],
        }
        print(f"{method:>4} {bs:>3}: test {[round(r['final_test'], 3) for r in recs]} "
              f"({time.process_time() - start:.0f} CPU-s)", flush=True)
    return out


def low_lr(path: Path) -> int:
    """Step 3: the lower grid for group and layer norm, added to the stored cache."""
    start = time.process_time()
    cache = json.loads(path.read_text())
    lrs = choose_base_lr(LOW_LR_GRID, seeds=LR_SEEDS, methods=LOW_LR_METHODS, **DEFAULTS)
    cache["config"]["low_lr_grid"] = list(LOW_LR_GRID)
    cache["lr_search_low"] = {m: {str(k): a for k, a in v["val"].items()}
                              for m, v in lrs.items()}
    cache["runs_low_lr"], cache["base_lr_low"] = {}, {}
    for m in LOW_LR_METHODS:
        # the stored scores are rounded to 4 decimals: compare at that precision, and a
        # lower rate must be strictly better than the first grid's choice (a tie keeps it)
        low = {k: round(a, 4) for k, a in lrs[m]["val"].items()}
        best = max(low, key=low.get)
        first = cache["lr_search_val"][m][str(cache["base_lr"][m])]
        print(f"{m}: lower grid {low}, first grid's choice {first}", flush=True)
        if low[best] > first:
            cache["base_lr_low"][m] = best
            cache["runs_low_lr"][m] = sweep(m, best, start)
    cache["cpu_seconds_low_lr"] = round(time.process_time() - start)
    path.write_text(json.dumps(rounded(cache), separators=(",", ":")) + "\n")
    print(f"wrote {path} in {cache['cpu_seconds_low_lr']} CPU-s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE)
    parser.add_argument("--low-lr", action="store_true",
                        help="only step 3: add the lower learning-rate search to the cache")
    args = parser.parse_args(argv)
    if args.low_lr:
        return low_lr(args.out)
    start = time.process_time()
    lrs = choose_base_lr(LR_GRID, seeds=LR_SEEDS, **DEFAULTS)
    print({m: v["chosen"] for m, v in lrs.items()}, flush=True)
    runs = {m: sweep(m, lrs[m]["chosen"], start) for m in METHODS}
    cache = {
        "config": {**DEFAULTS, "seeds": list(SEEDS), "batch_sizes": list(BATCH_SIZES),
                   "methods": list(METHODS), "lr_grid": list(LR_GRID),
                   "lr_seeds": list(LR_SEEDS), "lr_batch_size": 32},
        "base_lr": {m: v["chosen"] for m, v in lrs.items()},
        "lr_search_val": {m: {str(k): s for k, s in v["val"].items()} for m, v in lrs.items()},
        "cpu_seconds": round(time.process_time() - start),
        "runs": runs,
    }
    args.out.write_text(json.dumps(rounded(cache), separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
