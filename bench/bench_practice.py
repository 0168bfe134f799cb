"""Benchmark for chapter 7: what folding saves at inference, and what BN costs in training.

Run:  .venv/bin/python bench/bench_practice.py [--repeats 9] [--record]

1. **Folding.** The chapter's digits MLP (64 -> 64 -> 64 -> 10, BN before each ReLU) in eval
   mode against the same network with every BN folded into its Linear layer
   (:func:`bnlib.practice.fold_model`), on the 540 test images and on one image.
2. **BN forward + backward against the memory floor.** The machine's copy bandwidth is
   measured with ``np.copyto`` on arrays far larger than the caches (bytes read + written
   per second). A batch normalization layer must at least read x and write y forward, and
   read x and dy and write dx backward: 5 arrays of N x D float32 values. That many bytes
   divided by the bandwidth is the floor. Measured: bnlib (compact backward and the staged
   backward of chapter 3a) and, where installed, PyTorch (``F.batch_norm`` + autograd, one
   thread), each as forward + backward.

Timings alternate between the candidates (see ``bench_batchnorm.side_by_side``) and are
medians. ``--record`` writes the figures to ``bnlib/cache/ch7_bench.json``, which the
chapter prints as recorded figures (from a machine shared with other jobs: treat them as
orders of magnitude, not as a specification of this hardware).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batchnorm import side_by_side  # noqa: E402

from bnlib.batchnorm import (batchnorm_backward, batchnorm_backward_staged,  # noqa: E402
                             batchnorm_forward)
from bnlib.experiments import rounded  # noqa: E402
from bnlib.experiments.practice import source_model  # noqa: E402
from bnlib.practice import fold_model  # noqa: E402

RECORD = Path(__file__).resolve().parent.parent / "bnlib" / "cache" / "ch7_bench.json"
SIZES = [(256, 256), (1024, 1024), (4096, 1024)]
BN_ARRAYS = 5  # forward: read x, write y; backward: read x, dy, write dx


def copy_bandwidth(repeats: int, n_bytes: int = 256 * 2 ** 20) -> float:
    """Bytes per second that ``np.copyto`` moves (read + write) between two large arrays."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best.append(time.perf_counter() - t0)
    return 2 * n_bytes / float(np.median(best))


def folding(repeats: int) -> dict:
    from bnlib.experiments.practice import digits

    model, _ = source_model(0)
    folded = fold_model(model)
    model.eval()
    x_test = digits()[1]
    out = {}
    for name, x in (("batch of 540", x_test), ("one image", x_test[:1])):
        t = side_by_side({"with BN": lambda: model(x), "folded": lambda: folded(x)}, repeats)
        out[name] = {"bn_us": t["with BN"] * 1e6, "folded_us": t["folded"] * 1e6,
                     "speedup": t["with BN"] / t["folded"]}
    return out


def bn_costs(repeats: int, bandwidth: float) -> list:
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rows = []
    rng = np.random.default_rng(0)
    for n, d in SIZES:
        x = rng.normal(size=(n, d)).astype(np.float32)
        dy = rng.normal(size=(n, d)).astype(np.float32)
        gamma, beta = np.ones(d, np.float32), np.zeros(d, np.float32)

        def compact():
            y, cache = batchnorm_forward(x, gamma, beta)
            batchnorm_backward(dy, cache)

        def staged():
            y, cache = batchnorm_forward(x, gamma, beta)
            batchnorm_backward_staged(dy, cache)

        fns = {"bnlib compact": compact, "bnlib staged": staged}
        if torch is not None:
            tx = torch.from_numpy(x).requires_grad_(True)
            tg = torch.ones(d, requires_grad=True)
            tb = torch.zeros(d, requires_grad=True)
            tdy = torch.from_numpy(dy)

            def with_torch():
                y = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True)
                y.backward(tdy)

            fns["torch"] = with_torch
        t = side_by_side(fns, repeats)
        floor = BN_ARRAYS * n * d * 4 / bandwidth
        rows.append({"N": n, "D": d, "MB": BN_ARRAYS * n * d * 4 / 1e6, "floor_us": floor * 1e6,
                     **{f"{k}_us": v * 1e6 for k, v in t.items()}})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--record", action="store_true", help=f"write {RECORD.name}")
    args = parser.parse_args(argv)
    bandwidth = copy_bandwidth(args.repeats)
    print(f"copy bandwidth: {bandwidth / 1e9:.1f} GB/s")
    fold = folding(args.repeats)
    for name, r in fold.items():
        print(f"folding, {name}: with BN {r['bn_us']:.0f} us, folded {r['folded_us']:.0f} us, "
              f"speed-up {r['speedup']:.2f}x")
    rows = bn_costs(args.repeats, bandwidth)
    for r in rows:
        cells = "  ".join(f"{k[:-3]} {v:.0f} us ({v / r['floor_us']:.1f}x)"
                          for k, v in r.items() if k.endswith("_us") and k != "floor_us")
        print(f"N={r['N']:5d} D={r['D']:5d} {r['MB']:6.1f} MB: floor {r['floor_us']:.0f} us  "
              f"{cells}")
    if args.record:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        data = {"bandwidth_GBps": bandwidth / 1e9, "folding": fold, "bn_costs": rows,
                "machine": {"cpus": os.cpu_count(), "load_average_1min": load,
                            "python": platform.python_version(), "numpy": np.__version__}}
        RECORD.write_text(json.dumps(rounded(data, 3), indent=1) + "\n")
        print(f"recorded in {RECORD.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
