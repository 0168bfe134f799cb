"""Precompute chapter 6's batch-size sweep into bnlib/cache/ch6_batch_size.json.

    .venv/bin/python scripts/precompute_ch6.py        # a few CPU-minutes on one core

1. choose each method's base learning rate on the validation split (batch size 32, two
   seeds, the grid below; the test set is not used);
2. train every method at every batch size for every seed with its chosen rate
   (:func:`bnlib.experiments.family.train_run`) and store the validation curves and the final
   validation and test accuracies, rounded to 4 decimals.
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    start = time.process_time()
    lrs = choose_base_lr(LR_GRID, seeds=LR_SEEDS, **DEFAULTS)
    print({m: v["chosen"] for m, v in lrs.items()}, flush=True)
    runs = {}
    for method in METHODS:
        runs[method] = {}
        for bs in BATCH_SIZES:
            recs = [train_run(method, bs, s, base_lr=lrs[method]["chosen"], **DEFAULTS)
                    for s in SEEDS]
            runs[method][str(bs)] = {
                "seen": recs[0]["seen"],
                "val_acc": [r["val_acc"] for r in recs],
                "loss": [r["loss"] for r in recs],
                "final_val": [r["final_val"] for r in recs],
                "final_test": [r["final_test"] for r in recs],
                "diverged": [bool(r["diverged"]) for r in recs],
            }
            print(f"{method:>4} {bs:>3}: test {[round(r['final_test'], 3) for r in recs]} "
                  f"({time.process_time() - start:.0f} CPU-s)", flush=True)
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
