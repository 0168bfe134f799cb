"""How far do the cached long training runs drift when OpenBLAS runs other kernels?

    .venv/bin/python bench/blas_drift.py                          # Haswell, Sandybridge, Prescott
    .venv/bin/python bench/blas_drift.py --coretypes Haswell SkylakeX --threads 1 2
    .venv/bin/python bench/blas_drift.py --json drift.json        # also keep the raw numbers

A measurement to run by hand, never in the tests or in CI: it is what the tolerances of
tests/test_ch5_cache.py and tests/test_ch3c_cache.py are sized from. For every core type it
starts a fresh Python with ``OPENBLAS_CORETYPE`` (and ``OPENBLAS_NUM_THREADS``) set, checks
with threadpoolctl which kernel NumPy's OpenBLAS really runs, recomputes the runs those tests
recompute (full length) and prints, per run, how far each checkpoint lies from the cache and
from the other core types. A core type the CPU cannot run (SkylakeX without AVX-512) dies with
SIGILL and is reported as such.

The spread the seeds show (the standard deviation over the cached seeds of the final numbers)
is printed next to the drift: a final summary can only be compared within that spread.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def child() -> None:
    """Recompute the runs in this process and print them as one JSON line."""
    import threadpoolctl

    from bnlib.experiments import benefits, figure1, load_cache
    from bnlib.experiments import regularization as reg

    blas = [d for d in threadpoolctl.threadpool_info() if d.get("internal_api") == "openblas"]
    out = {"kernels": sorted({d.get("architecture", "?") for d in blas}),
           "threads": sorted({d.get("num_threads") for d in blas}), "runs": {}}
    long_runs = "--prefixes-only" not in sys.argv
    why = load_cache("ch3c_why")
    h = figure1.fit_digits(benefits.noisy_model(seed=0), lr=why["noisy"]["lr"], seed=0,
                           steps=200, eval_every=100)
    out["runs"]["ch3c noisy prefix"] = {"test_acc": h["test_acc"]}
    r = benefits.landscape_run(bn=False, lr=why["noisy"]["lr"], seed=0, steps=200)
    out["runs"]["ch3c landscape plain prefix"] = {k: r[k] for k in
                                                  ("loss_range", "grad_change", "beta", "test_acc")}
    if not long_runs:
        print("@@DRIFT@@" + json.dumps(out))
        return
    cfg = reg.load_cache()["config"]
    settings = {k: cfg[k] for k in ("n_train", "steps", "lr", "momentum", "eval_every",
                                    "ghost_size", "subset_seed")}
    settings["hidden"] = tuple(cfg["hidden"])
    for mode in ("ghost", "bn"):
        h = reg.train_run(mode, 8, cfg["seeds"][0], **settings)
        out["runs"][f"ch5 {mode}/8 seed 0"] = {"test_acc": h["test_acc"],
                                               "train_acc": h["train_acc"],
                                               "batch_stat_acc": [h["batch_stat_acc"]]}
    g = figure1.grid_point(True, 2.0, 1.0)
    out["runs"]["ch3c grid bn|2|1"] = {k: g[k] for k in
                                       ("test_acc", "p15", "p50", "p85", "saturation")}
    sw = load_cache("ch3c_sweeps")["lr"]
    r = benefits.final_run(bn=False, lr=10.0, seed=sw["seeds"][1], steps=sw["steps"],
                           init_scale=sw["init_scale"], eval_every=100)
    out["runs"]["ch3c sweep plain lr 10 seed 1"] = {"test_acc": r["test_acc"]}
    why = why["placement"]
    _, h = figure1.train_digits(bn="after", lr=why["lr"], seed=why["seeds"][0], steps=why["steps"],
                                eval_every=100, activation="relu")
    out["runs"]["ch3c placement relu/after seed 0"] = {"test_acc": h["test_acc"]}
    print("@@DRIFT@@" + json.dumps(out))


def cached() -> dict:
    """The cache's numbers for the same runs, and the spread over the cached seeds."""
    from bnlib.experiments import load_cache
    from bnlib.experiments import regularization as reg

    c5 = reg.load_cache()
    out, spread = {}, {}
    why = load_cache("ch3c_why")
    out["ch3c noisy prefix"] = {"test_acc": why["noisy"]["acc"]["noisy"][0]}
    out["ch3c landscape plain prefix"] = {k: why["landscape"]["plain"][k] for k in
                                          ("loss_range", "grad_change", "beta", "test_acc")}
    for mode in ("ghost", "bn"):
        run = c5["runs"][reg.run_key(mode, 8)]
        out[f"ch5 {mode}/8 seed 0"] = {"test_acc": run["test_acc"][0],
                                       "train_acc": run["train_acc"][0],
                                       "batch_stat_acc": [run["batch_stat_acc"][0]]}
        spread[f"ch5 {mode}/8 seed 0"] = {
            "test_acc": float(np.std(np.asarray(run["test_acc"])[:, -1], ddof=1)),
            "train_acc": float(np.std(np.asarray(run["train_acc"])[:, -1], ddof=1)),
            "batch_stat_acc": float(np.std(run["batch_stat_acc"], ddof=1))}
    g = load_cache("ch3c_figure1_grid")["runs"]["bn|2|1"]
    out["ch3c grid bn|2|1"] = {k: g[k] for k in ("test_acc", "p15", "p50", "p85", "saturation")}
    sw = load_cache("ch3c_sweeps")["lr"]
    i = sw["values"].index(10.0)
    runs = sw["runs"]["plain"][i]
    out["ch3c sweep plain lr 10 seed 1"] = {"test_acc": runs[1]["test_acc"]}
    spread["ch3c sweep plain lr 10 seed 1"] = {
        "test_acc": float(np.std([r["test_acc"][-1] for r in runs], ddof=1))}
    why = load_cache("ch3c_why")["placement"]
    acc = why["acc"]["relu/after"]
    out["ch3c placement relu/after seed 0"] = {"test_acc": [acc[0]]}
    spread["ch3c placement relu/after seed 0"] = {"test_acc": float(np.std(acc, ddof=1))}
    return {"runs": out, "spread": spread}


def run_child(coretype: str, threads: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    if coretype != "default":
        env["OPENBLAS_CORETYPE"] = coretype
    extra = ["--prefixes-only"] if "--prefixes-only" in sys.argv else []
    proc = subprocess.run([sys.executable, __file__, "--child", *extra], env=env, cwd=REPO,
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("@@DRIFT@@"):
            return json.loads(line[len("@@DRIFT@@"):])
    return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}


def first_drift(a, b, tol):
    """Index of the first checkpoint where |a - b| > tol (None: none)."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x is not None and y is not None and abs(x - y) > tol:
            return i
    return None


def report(results: dict, ref: dict) -> None:
    names = list(ref["runs"])
    ok = {k: v for k, v in results.items() if "error" not in v}
    for label, res in results.items():
        if "error" in res:
            print(f"{label}: {res['error']}")
    for name in names:
        if any(name not in res["runs"] for res in ok.values()):
            continue
        print(f"\n== {name}")
        for key, cached_curve in ref["runs"][name].items():
            spread = ref["spread"].get(name, {}).get(key)
            print(f"  {key}" + (f" (seed spread of the final value: {spread:.4f})"
                                if spread is not None else ""))
            for label, res in ok.items():
                fresh = res["runs"][name][key]
                if len(cached_curve) == 1:       # only a final value is cached
                    pairs = [(fresh[-1], cached_curve[0])]
                else:
                    pairs = list(zip(fresh, cached_curve))  # (a prefix: zip stops early)
                diffs = [abs(x - y) for x, y in pairs if x is not None and y is not None]
                tol = 0.5 / 540 if "acc" in key else 5e-5
                i = first_drift([p[0] for p in pairs], [p[1] for p in pairs], tol)
                print(f"    {label:24s} vs cache: max {max(diffs):.4f}, final "
                      f"{diffs[-1]:.4f}, first checkpoint off by > {tol:.4f}: {i}")
            labels = list(ok)
            for a in range(len(labels)):
                for b in range(a + 1, len(labels)):
                    x = ok[labels[a]]["runs"][name][key]
                    y = ok[labels[b]]["runs"][name][key]
                    d = [abs(p - q) for p, q in zip(x, y)]
                    print(f"    {labels[a]} vs {labels[b]}: max {max(d):.4f}, final {d[-1]:.4f}, "
                          f"first off: {first_drift(x, y, 1e-12)}")


def main() -> int:
    if "--child" in sys.argv:
        child()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coretypes", nargs="+", default=["Haswell", "Sandybridge", "Prescott"])
    ap.add_argument("--threads", nargs="+", type=int, default=[1])
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument("--prefixes-only", action="store_true",
                    help="only the short (200-step) runs: a minute instead of about ten")
    args = ap.parse_args()
    results = {}
    for ct in args.coretypes:
        for t in args.threads:
            res = run_child(ct, t)
            label = f"{ct} ({','.join(res.get('kernels', ['?']))}, {t} thr)"
            results[label] = res
            print(f"ran {label}", flush=True)
    ref = cached()
    if args.json:
        args.json.write_text(json.dumps({"results": results, "cache": ref}, indent=1))
    report(results, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
