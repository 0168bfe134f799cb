"""Benchmark: bnlib batch norm forward+backward vs. PyTorch CPU, and staged vs. compact backward.

Run:  .venv/bin/python bench/bench_batchnorm.py [--repeats 15] [--torch-threads N]

Both libraries run side by side in one process on the same float32 data; the measurements
alternate (bnlib, torch, bnlib, torch, ...) so that load from other processes hits both
alike. Each figure is the median over ``--repeats`` rounds of the mean time of one call.
PyTorch runs forward + ``backward()`` through autograd (what a user runs); bnlib runs
``batchnorm_forward`` + ``batchnorm_backward`` (1d) or the 2d pair. Target: ratio <= 1.5.

``--against REV`` (e.g. ``--against main``) also times the ``bnlib/batchnorm.py`` of git
revision REV, in alternation with the working tree's, and prints new / old: the before/after
of a refactor, fair on a loaded machine because both see the same load.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import subprocess
import sys
import time
import types

import numpy as np

from bnlib.batchnorm import (
    batchnorm2d_backward,
    batchnorm2d_forward,
    batchnorm_backward,
    batchnorm_backward_staged,
    batchnorm_forward,
)

SHAPES = [(256, 1024), (32, 64, 16, 16)]


def per_call(fn, number: int, clock=time.perf_counter) -> float:
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number


def calibrate(fn, target: float = 0.02) -> int:
    """Number of calls that take about ``target`` seconds."""
    fn()
    n = 1
    while per_call(fn, n) * n < target and n < 10_000:
        n *= 2
    return n


def side_by_side(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """Median seconds per call for each named function, measured in alternation."""
    numbers = {k: calibrate(f) for k, f in fns.items()}
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            times[k].append(per_call(f, numbers[k], clock))
    return {k: statistics.median(v) for k, v in times.items()}


def bnlib_pair(x, gamma, beta, dy, module=None):
    """forward + backward of ``module`` (default: the installed bnlib.batchnorm)."""
    if module is None:
        fwd, bwd = ((batchnorm_forward, batchnorm_backward) if x.ndim == 2
                    else (batchnorm2d_forward, batchnorm2d_backward))
    else:
        fwd, bwd = ((module.batchnorm_forward, module.batchnorm_backward) if x.ndim == 2
                    else (module.batchnorm2d_forward, module.batchnorm2d_backward))

    def run():
        y, cache = fwd(x, gamma, beta)
        return bwd(dy, cache)
    return run


def float32_inputs(rng, shape):
    """x (shape; mean 1, std 2), gamma, beta (per channel) and dy, all float32."""
    c = shape[1]
    x = rng.normal(1.0, 2.0, shape).astype(np.float32)
    dy = rng.normal(size=shape).astype(np.float32)
    gamma = rng.uniform(0.5, 2.0, c).astype(np.float32)
    beta = rng.normal(size=c).astype(np.float32)
    return x, gamma, beta, dy


def load_revision(rev: str) -> types.ModuleType:
    """``bnlib/batchnorm.py`` as it is at git revision ``rev``, loaded as a separate module."""
    root = pathlib.Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "show", f"{rev}:bnlib/batchnorm.py"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    module = types.ModuleType(f"batchnorm_at_{rev}")
    module.__dict__["__name__"] = module.__name__
    sys.modules[module.__name__] = module  # dataclasses and NamedTuple look the module up
    exec(compile(src.replace("from ._", "from bnlib._"), f"{rev}:bnlib/batchnorm.py", "exec"),
         module.__dict__)
    return module


def compare_revision(rev: str, repeats: int, clock) -> None:
    old = load_revision(rev)
    rng = np.random.default_rng(1)
    print(f"\nthis tree vs {rev}, forward + backward, ms per call (alternating)")
    print(f"{'shape':>18} {'new':>9} {rev:>9} {'new/old':>8}   max|dx diff|")
    for shape in SHAPES:
        x, gamma, beta, dy = float32_inputs(rng, shape)
        new, before = bnlib_pair(x, gamma, beta, dy), bnlib_pair(x, gamma, beta, dy, old)
        t = side_by_side({"new": new, "old": before}, repeats, clock)
        diff = float(np.abs(new()[0] - before()[0]).max())
        print(f"{str(shape):>18} {t['new'] * 1e3:9.3f} {t['old'] * 1e3:9.3f} "
              f"{t['new'] / t['old']:8.2f}   {diff:.1e}")


def torch_pair(torch, x, gamma, beta, dy):
    xt = torch.from_numpy(x).requires_grad_(True)
    gt = torch.from_numpy(gamma).requires_grad_(True)
    bt = torch.from_numpy(beta).requires_grad_(True)
    dyt = torch.from_numpy(dy)
    rm = torch.zeros(gamma.shape[0])
    rv = torch.ones(gamma.shape[0])

    def run():
        xt.grad = gt.grad = bt.grad = None
        y = torch.nn.functional.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1,
                                           eps=1e-5)
        y.backward(dyt)

    return run


def check_agreement(torch, x, gamma, beta, dy) -> float:
    """Largest absolute difference of dx between the two libraries (sanity check)."""
    dx = bnlib_pair(x, gamma, beta, dy)()[0]
    xt = torch.from_numpy(x).requires_grad_(True)
    y = torch.nn.functional.batch_norm(xt, None, None, torch.from_numpy(gamma),
                                       torch.from_numpy(beta), training=True)
    y.backward(torch.from_numpy(dy))
    return float(np.abs(dx - xt.grad.numpy()).max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch.set_num_threads (default: PyTorch's own choice)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="wall: time.perf_counter; cpu: time.process_time (steadier on a "
                             "busy machine; fair only with --torch-threads 1)")
    parser.add_argument("--against", metavar="REV", default=None,
                        help="also time bnlib/batchnorm.py at git revision REV against this "
                             "tree's (before/after of a change)")
    args = parser.parse_args(argv)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: printing bnlib timings only.")
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)" if torch else ""))
    print(f"median of {args.repeats} rounds, {args.clock} clock, float32, forward + backward, "
          f"ms per call")
    print(f"{'shape':>18} {'bnlib':>9} {'torch':>9} {'ratio':>7}   max|dx diff|")
    for shape in SHAPES:
        x, gamma, beta, dy = float32_inputs(rng, shape)
        fns = {"bnlib": bnlib_pair(x, gamma, beta, dy)}
        if torch is not None:
            fns["torch"] = torch_pair(torch, x, gamma, beta, dy)
        t = side_by_side(fns, args.repeats, clock)
        if torch is not None:
            diff = check_agreement(torch, x, gamma, beta, dy)
            print(f"{str(shape):>18} {t['bnlib'] * 1e3:9.3f} {t['torch'] * 1e3:9.3f} "
                  f"{t['bnlib'] / t['torch']:7.2f}   {diff:.1e}")
        else:
            print(f"{str(shape):>18} {t['bnlib'] * 1e3:9.3f}")

    print("\nbackward only, (256, 1024) float32, ms per call")
    x = rng.normal(1.0, 2.0, (256, 1024)).astype(np.float32)
    dy = rng.normal(size=x.shape).astype(np.float32)
    _, cache = batchnorm_forward(x, np.ones(1024, np.float32), np.zeros(1024, np.float32))
    t = side_by_side({"compact": lambda: batchnorm_backward(dy, cache),
                      "staged": lambda: batchnorm_backward_staged(dy, cache)}, args.repeats, clock)
    print(f"  compact {t['compact'] * 1e3:.3f}   staged {t['staged'] * 1e3:.3f}   "
          f"staged / compact {t['staged'] / t['compact']:.2f}")
    if args.against:
        compare_revision(args.against, args.repeats, clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
