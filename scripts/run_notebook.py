"""Execute chapter notebooks in place and store only the outputs that tests compare.

    python scripts/run_notebook.py notebooks/01_min_max_scaling.ipynb [...]

Each notebook runs top to bottom in a fresh kernel (working directory: its folder). Then the
outputs of cells marked ``# NBVAL_CHECK_OUTPUT`` are kept (nbval compares them on every test
run) and every other output, execution count and the saved widget state are dropped: the book
build executes the notebooks itself, so stored figures would only bloat the repository.
Prints each notebook's execution time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import nbclient_wakeup  # noqa: E402  (see its docstring: nbclient issue #312)

nbclient_wakeup.patch()

MARK = "NBVAL_CHECK_OUTPUT"


def run(path: Path, timeout: int = 60) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            coalesce_streams=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    count = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if MARK not in cell.source:
            cell.outputs = []
            cell.execution_count = None
            continue
        # nbval treats a cell with outputs but no execution count as unrun and fails it,
        # so kept cells are numbered 1, 2, ... (stable across runs, unlike kernel counts).
        count += 1
        cell.execution_count = count
        for out in cell.outputs:
            if "execution_count" in out:
                out["execution_count"] = count
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        seconds = run(path)
        print(f"{path}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
