"""Precompute chapter 7's training runs into bnlib/cache/ch7_runs.json.

    .venv/bin/python scripts/precompute_ch7.py        # about 2 min on one loaded core
    .venv/bin/python scripts/precompute_ch7.py --finetune-only   # about 40 s

For every seed: the precise-BN runs (:func:`bnlib.experiments.practice.precise_bn_run`) at
two BN momenta (PyTorch's default 0.1 and Keras' default, 0.99 in Keras' convention, i.e.
0.01), the fine-tuning runs (:func:`finetune_run`); for seed 0 the lag traces of the
moving average (:func:`lag_trace`); and the trained network of seed 0 (the chapter's model)
in bnlib/cache/ch7_model.npz. Floats are rounded to 4 decimals.
tests/test_ch7_cache.py recomputes a run and compares.
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
import numpy as np  # noqa: E402

from bnlib.experiments.practice import (CONDITIONS, FINETUNE, SOURCE,  # noqa: E402
                                        finetune_run, lag_trace, model_arrays,
                                        precise_bn_run, source_model)

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache" / "ch7_runs.json"
MODEL = CACHE.with_name("ch7_model.npz")
SEEDS = (0, 1, 2, 3, 4)
MOMENTA = (0.1, 0.01)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE)
    parser.add_argument("--finetune-only", action="store_true",
                        help="keep the stored precise-BN and lag runs, recompute fine-tuning")
    parser.add_argument("--model-only", action="store_true",
                        help=f"only (re)write {MODEL.name}, the trained network of seed 0")
    args = parser.parse_args(argv)
    np.savez_compressed(MODEL, **model_arrays(source_model(0)[0]))
    print(f"wrote {MODEL.name} ({MODEL.stat().st_size // 1024} KB)")
    if args.model_only:
        return 0
    start = time.perf_counter()
    if args.finetune_only:
        out = json.loads(args.out.read_text())
        out["config"]["finetune"] = FINETUNE
        out["config"]["conditions"] = [list(c) for c in CONDITIONS]
        out["finetune"] = [finetune_run(s) for s in SEEDS]
        args.out.write_text(json.dumps(rounded(out), separators=(",", ":")) + "\n")
        print(f"wrote {args.out.name} (fine-tuning only) in "
              f"{time.perf_counter() - start:.0f} s")
        return 0
    out = {"config": {"source": SOURCE, "finetune": FINETUNE, "seeds": list(SEEDS),
                      "momenta": list(MOMENTA),
                      "conditions": [list(c) for c in CONDITIONS]},
           "precise": {str(m): [precise_bn_run(s, bn_momentum=m) for s in SEEDS]
                       for m in MOMENTA},
           "lag": {str(m): lag_trace(0, bn_momentum=m) for m in MOMENTA}}
    print(f"precise BN and lag: {time.perf_counter() - start:.0f} s", flush=True)
    out["finetune"] = [finetune_run(s) for s in SEEDS]
    args.out.write_text(json.dumps(rounded(out), separators=(",", ":")) + "\n")
    print(f"wrote {args.out.name} ({args.out.stat().st_size // 1024} KB) in "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
