"""How fast do the course's widgets answer a slider move? And how long do the notebooks run?

    python bench/bench_widgets.py                 # every chapter notebook and its widgets
    python bench/bench_widgets.py notebooks/04_gamma_beta.ipynb
    python bench/bench_widgets.py --suite         # also time the full test suite (slow)
    python bench/bench_widgets.py --suite --no-notebooks   # only the test suite
    python bench/bench_widgets.py --markdown      # print the tables as Markdown

Each notebook runs top to bottom in a fresh kernel (nbclient; this is its execution time).
Then, in the same kernel, every widget the notebook built is found (any object with a
``.widget`` ipywidgets box and control attributes: sliders, dropdowns, toggle buttons) and
each control is swept over up to ``--points`` values; every move sets ``control.value``,
which runs the widget's observer exactly as a learner's slider move does: the pure compute
function, the artist updates, and ``LiveFigure.refresh`` (an Agg render to PNG by the inline
backend, sent into the Output widget). A last fresh kernel builds the factories that need no
arguments and that no notebook used.

Columns: ``compute`` is the median time per move spent inside bnlib's computational
functions the widget calls (found by wrapping the functions the widget module and the
observers' closures refer to, outside ``bnlib.widgets._core``, ``bnlib.plotting`` and
``bnlib.exercises``; drawing functions excluded); ``compute+redraw`` is the median wall time
of the whole move, ``max`` its worst case, and ``CPU`` the median CPU time of the kernel
process per move (less sensitive to other programs competing for the processors). A move is
OK when compute+redraw stays under 150 ms; "wall only" marks a move over budget in wall time
but not in CPU time, which points at other programs loading the machine. Timings depend on the machine and its load (the
script prints the load average): compare runs on the same, quiet machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
BUDGET_MS = 150.0
MARK = "@@BENCH@@"

# Runs inside the notebook's kernel after its last cell. Finds the widgets, wraps the
# compute functions, sweeps every control and prints one JSON line after MARK.
KERNEL_CODE = r'''
def _bench_widgets(points, skip_labels, make_factories):
    import gc, importlib, inspect, json, pkgutil, statistics, time, types
    import numpy as np
    import ipywidgets as W
    import bnlib.widgets

    EXCLUDED = ("bnlib.widgets._core", "bnlib.plotting", "bnlib.exercises")
    clock = {"depth": 0, "spent": 0.0, "names": set()}

    def is_compute(f):
        """A bnlib function that computes (not one that draws, not shared wiring)."""
        mod = getattr(f, "__module__", "") or ""
        if not (inspect.isfunction(f) and mod.startswith("bnlib.")
                and not mod.startswith(EXCLUDED) and not getattr(f, "_bench_wrapped", False)):
            return False
        if f.__name__.lstrip("_").startswith(("draw", "plot")):
            return False
        params = set(inspect.signature(f).parameters)
        return not params & {"ax", "axes", "fig", "figure"}

    def wrap(f):
        def timed(*args, **kwargs):
            clock["depth"] += 1
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                clock["depth"] -= 1
                if clock["depth"] == 0:
                    clock["spent"] += time.perf_counter() - start
                    clock["names"].add(f.__name__)
        timed._bench_wrapped = True
        timed.__name__ = f.__name__
        timed.__wrapped__ = f
        return timed

    modules = []
    for info in pkgutil.iter_modules(bnlib.widgets.__path__):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"bnlib.widgets.{info.name}"))
    for mod in modules:  # the functions a widget module calls by global name
        for name, value in list(vars(mod).items()):
            if is_compute(value):
                setattr(mod, name, wrap(value))

    def wrap_closure(fn, seen):
        fn = getattr(fn, "__func__", fn)
        if not inspect.isfunction(fn) or id(fn) in seen:
            return
        seen.add(id(fn))
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if is_compute(value):
                cell.cell_contents = wrap(value)
            elif inspect.isfunction(value):
                wrap_closure(value, seen)

    CONTROL_TYPES = (W.IntSlider, W.FloatSlider, W.FloatLogSlider, W.SelectionSlider,
                     W.Dropdown, W.ToggleButtons, W.RadioButtons, W.Checkbox, W.ToggleButton,
                     W.BoundedIntText, W.BoundedFloatText, W.IntRangeSlider,
                     W.FloatRangeSlider)

    def controls(obj):
        found = []
        for name, value in vars(obj).items():
            if (not name.startswith("_") and isinstance(value, CONTROL_TYPES)
                    and not isinstance(value, W.Play) and not value.disabled):
                found.append((name, value))
        return found

    def handlers(control):
        notifiers = getattr(control, "_trait_notifiers", {})
        out = []
        for trait in ("value", "index"):
            for h in notifiers.get(trait, {}).get("change", []):
                out.append(getattr(h, "__func__", h))
        return out

    def label(obj, ctrls):
        t = type(obj)
        if t.__module__.startswith("bnlib."):
            return f"{t.__module__.split('.')[-1]}.{t.__name__}"
        for _, c in ctrls:
            for h in handlers(c):
                qual = getattr(h, "__qualname__", "")
                if "<locals>" in qual:
                    return f"{h.__module__.split('.')[-1]}.{qual.split('.')[0]}"
        return t.__name__

    def sweep_values(c):
        if isinstance(c, (W.IntRangeSlider, W.FloatRangeSlider)):
            grid = np.linspace(c.min, c.max, points + 1)
            grid = [c.min + round((g - c.min) / c.step) * c.step for g in grid]
            cast = int if isinstance(c, W.IntRangeSlider) else float
            half = len(grid) // 2
            return [(cast(grid[i]), cast(grid[-1 - i])) for i in range(half)] + \
                   [(cast(grid[0]), cast(grid[i])) for i in range(1, half)]
        if isinstance(c, (W.SelectionSlider, W.Dropdown, W.ToggleButtons, W.RadioButtons)):
            values = list(c._options_values)
        elif isinstance(c, (W.Checkbox, W.ToggleButton)):
            values = [not c.value, c.value] * (points // 2)
        elif isinstance(c, W.FloatLogSlider):
            values = list(c.base ** np.linspace(c.min, c.max, points))
        else:
            lo, hi, step = c.min, c.max, getattr(c, "step", None) or 1
            raw = np.linspace(lo, hi, points)
            values = sorted({min(hi, max(lo, lo + round((v - lo) / step) * step)) for v in raw})
            if isinstance(c, (W.IntSlider, W.BoundedIntText)):
                values = [int(v) for v in values]
            else:
                values = [float(v) for v in values]
        if len(values) > points:
            idx = np.linspace(0, len(values) - 1, points).round().astype(int)
            values = [values[i] for i in sorted(set(idx))]
        return values

    candidates = []
    user_ns = get_ipython().user_ns
    for name, value in list(user_ns.items()):
        if not name.startswith("_") and isinstance(getattr(value, "widget", None), W.Widget):
            candidates.append(value)
    for value in gc.get_objects():
        try:
            if isinstance(getattr(value, "widget", None), W.Widget):
                candidates.append(value)
        except Exception:
            pass
    if make_factories:
        for mod in modules:
            for name, f in vars(mod).items():
                f = getattr(f, "__wrapped__", f)
                if (name.startswith("_") or not inspect.isfunction(f)
                        or f.__module__ != mod.__name__):
                    continue
                sig = inspect.signature(f)
                if any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                       p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in sig.parameters.values()):
                    continue
                try:
                    obj = f()
                except Exception:
                    continue
                if isinstance(getattr(obj, "widget", None), W.Widget):
                    candidates.append(obj)

    rows, seen_ids, seen_labels = [], set(), set(skip_labels)
    for obj in candidates:
        if id(obj) in seen_ids or isinstance(obj, W.Widget):
            continue
        seen_ids.add(id(obj))
        ctrls = controls(obj)
        if not ctrls:
            continue
        name = label(obj, ctrls)
        if name in seen_labels:
            continue
        seen_labels.add(name)
        for cname, c in ctrls:
            seen = set()
            for h in handlers(c):
                wrap_closure(h, seen)
            clock["names"] = set()
            original = c.value
            values = [v for v in sweep_values(c) if v != original] + [original]
            compute, total, cpu, error = [], [], [], None
            for v in values:
                if v == c.value:
                    continue
                clock["spent"] = 0.0
                start, start_cpu = time.perf_counter(), time.process_time()
                try:
                    c.value = v
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"[:120]
                    break
                wall_ms = 1000 * (time.perf_counter() - start)
                cpu_ms = 1000 * (time.process_time() - start_cpu)
                # A bnlib.widgets.Widget times its own redraw (update + render): the one
                # timing code of the widgets. Other objects: the time of the whole move.
                total.append(getattr(obj, "last_update_ms", wall_ms))
                cpu.append(getattr(obj, "last_update_cpu_ms", cpu_ms))
                compute.append(1000 * clock["spent"])
            rows.append({
                "widget": name, "control": cname, "kind": type(c).__name__,
                "moves": len(total),
                "compute_ms": statistics.median(compute) if compute else None,
                "total_ms": statistics.median(total) if total else None,
                "max_ms": max(total) if total else None,
                "cpu_ms": statistics.median(cpu) if cpu else None,
                "compute_functions": sorted(clock["names"]), "error": error,
            })
    return rows
'''


def _bench_cell(points: int, skip: list[str], make_factories: bool) -> str:
    return (KERNEL_CODE + f"\nimport json as _json\nprint({MARK!r} + _json.dumps("
            f"_bench_widgets({points}, {skip!r}, {make_factories!r})))\n")


def _rows_from(cell) -> list[dict]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            for line in out.get("text", "").splitlines():
                if line.startswith(MARK):
                    return json.loads(line[len(MARK):])
    raise RuntimeError("the benchmark cell printed no result: "
                       + json.dumps(cell.get("outputs", []))[:2000])


def run_notebook(path: Path | None, points: int, skip: list[str],
                 make_factories: bool = False) -> tuple[float | None, list[dict]]:
    """Execute ``path`` (None: an empty notebook), then benchmark its widgets in its kernel.
    Returns (execution seconds, rows). Nothing is written back to the notebook."""
    if path is None:
        nb, cwd = nbformat.v4.new_notebook(), REPO
    else:
        nb, cwd = nbformat.read(path, as_version=4), path.parent
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.reset_execution_trackers()
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        bench = nbformat.v4.new_code_cell(_bench_cell(points, skip, make_factories))
        nb.cells.append(bench)
        client.execute_cell(bench, len(nb.cells) - 1)
    return (seconds if path is not None else None), _rows_from(bench)


def run_suite() -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q"],
                          cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):
            print(line[:200], file=sys.stderr)
    return seconds, (lines[-1] if lines else f"exit code {proc.returncode}")


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _fmt(ms: float | None, digits: int = 0) -> str:
    return "-" if ms is None else f"{ms:.{digits}f}"


def print_tables(rows: list[dict], notebooks: list[tuple[str, float]],
                 suite: tuple[float, str] | None, markdown: bool,
                 load: float | None = None) -> None:
    header = ["widget", "control", "nb", "compute ms", "compute+redraw ms", "max ms",
              "CPU ms", "verdict"] + (["compute functions"] if markdown else [])
    table = []
    for r in rows:
        if r["error"]:
            verdict = f"ERROR {r['error']}"
        elif r["total_ms"] is None:
            verdict = "no moves"
        else:
            verdict = "OK" if r["total_ms"] < BUDGET_MS else f"over {BUDGET_MS:.0f} ms"
            if r["total_ms"] >= BUDGET_MS and (r.get("cpu_ms") or 0) < BUDGET_MS:
                verdict += " (wall only: load?)"
        table.append([r["widget"], f"{r['control']} ({r['kind']})", r["notebook"],
                      _fmt(r["compute_ms"], 1), _fmt(r["total_ms"]), _fmt(r["max_ms"]),
                      _fmt(r["cpu_ms"]), verdict]
                     + ([", ".join(r["compute_functions"])] if markdown else []))
    nb_table = [[name, f"{s:.1f}"] for name, s in notebooks]
    if suite:
        nb_table.append(["full test suite (pytest)", f"{suite[0]:.1f} ({suite[1]})"])
    if load is None:
        load = _load()
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end; "
          f"times are medians over each control's sweep; budget {BUDGET_MS:.0f} ms\n")
    for head, body in ((header, table), (["notebook", "execution s"], nb_table)):
        if markdown:
            print("| " + " | ".join(head) + " |")
            print("|" + "|".join(" --- " for _ in head) + "|")
            for line in body:
                print("| " + " | ".join(line) + " |")
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(head, *body)] if body else \
                [len(h) for h in head]
            print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
            for line in body:
                print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebooks/[0-9]*.ipynb")
    parser.add_argument("--points", type=int, default=9, help="values per control sweep")
    parser.add_argument("--suite", action="store_true", help="also time the full test suite")
    parser.add_argument("--no-notebooks", action="store_true",
                        help="skip the notebooks and widgets (with --suite: time the suite only)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--from-json", type=Path,
                        help="print the tables of an earlier --json file instead of measuring")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        print_tables(saved["widgets"], [tuple(t) for t in saved["notebooks"]],
                     saved.get("suite"), args.markdown, saved.get("load"))
        return 0
    paths = args.notebooks or sorted((REPO / "notebooks").glob("[0-9]*.ipynb"))
    if args.no_notebooks:
        paths = []

    rows: list[dict] = []
    timings: list[tuple[str, float]] = []
    failed: list[str] = []
    for path in paths:
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        try:
            seconds, found = run_notebook(path, args.points, [r["widget"] for r in rows])
        except Exception as exc:  # noqa: BLE001 - report and go on with the other notebooks
            print(f"{path.name}: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
            failed.append(path.name)
            continue
        timings.append((path.name, seconds))
        rows += [dict(r, notebook=path.name.split("_")[0]) for r in found]
    if not args.no_notebooks:
        print("building the remaining argument-free widget factories ...", file=sys.stderr)
        _, found = run_notebook(None, args.points, [r["widget"] for r in rows],
                                make_factories=True)
        rows += [dict(r, notebook="-") for r in found]
    suite = None
    if args.suite:
        print("running the full test suite ...", file=sys.stderr, flush=True)
        suite = run_suite()
    load = _load()
    print_tables(rows, timings, suite, args.markdown, load)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"widgets": rows, "notebooks": timings,
                                         "suite": suite, "load": load}, indent=1))
    if failed:
        print("notebooks that failed to run: " + ", ".join(failed))
    over = [r for r in rows if r["error"] or (r["total_ms"] or 0) >= BUDGET_MS]
    return 1 if over or failed else 0


if __name__ == "__main__":
    sys.exit(main())
