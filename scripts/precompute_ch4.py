"""Precompute chapter 4's network-level runs into bnlib/cache/ch4_affine.json.

    .venv/bin/python scripts/precompute_ch4.py     # 20 runs, about 30 s on one core

Runs :func:`bnlib.experiments.affine_network.train_affine_network` for a sigmoid and a ReLU
network, with and without gamma and beta, over five seeds, and stores the end accuracies,
losses and the learned gamma and beta (rounded to 4 decimals). tests/test_ch4_affine.py
recomputes one run and compares.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from bnlib.experiments import rounded  # noqa: E402
from bnlib.experiments.affine_network import AFFINE_DEFAULTS, train_affine_network  # noqa: E402

CACHE = Path(__file__).resolve().parent.parent / "bnlib" / "cache" / "ch4_affine.json"
SEEDS = (0, 1, 2, 3, 4)
ACTIVATIONS = ("sigmoid", "relu")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CACHE)
    args = parser.parse_args(argv)
    runs = {}
    for act in ACTIVATIONS:
        for affine in (True, False):
            key = f"{act}/{'affine' if affine else 'no-affine'}"
            runs[key] = [rounded(train_affine_network(act, affine, seed)) for seed in SEEDS]
            print(key, [r["test_acc"] for r in runs[key]], flush=True)
    config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in AFFINE_DEFAULTS.items()}
    cache = {"config": {**config, "seeds": list(SEEDS), "activations": list(ACTIVATIONS)},
             "runs": runs}
    args.out.write_text(json.dumps(cache, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.1f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
