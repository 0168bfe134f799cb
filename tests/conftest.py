"""Shared set-up of the suite: how the tests are grouped on xdist workers, which are slow, and
the helpers of the tests of the built book (tests/test_book_*.py, test_browser_*.py).

The book is built by ``make book`` into ``_build/html`` (override with ``BN_BOOK_HTML``). Tests
that need it skip with a reason when it is missing, except in CI (``CI`` set to a true value),
where a skip would hide a broken pipeline: there they fail.

``make test`` runs ``pytest -n 2 --dist loadfile``: one worker runs all the tests of a file.
Here nbval's notebooks and the JupyterLab end-to-end test count as one file (the scheduler
below): they all start Jupyter kernels, and the e2e test (a JupyterLab server, Chromium and a
kernel per notebook) running next to nbval once starved nbval's kernel start-up past its
timeout. Together they run one after the other on one worker, first, as the largest unit.
nbval's kernel start-up timeout stays at its default, 60 s: measured at 3 to 5 s (kernel ready,
plus 5 s for the first numpy/matplotlib import) on this 2-core machine at a load average of 9.
"""
from __future__ import annotations

import fnmatch
import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK_HTML = Path(os.environ.get("BN_BOOK_HTML", REPO / "_build" / "html"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# One BLAS thread per process (and per kernel it starts: they inherit the environment). The
# matrices are small, two xdist workers already use both cores, and OpenBLAS threads that
# wait for each other on a busy machine only burn CPU time.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

KERNEL_GROUP = "kernels"
E2E_FILE = "test_jupyterlab_e2e.py"
#: Notebooks whose nbval run takes more than about 5 s: all their cells are marked ``slow``, as
#: a notebook's cells only run in order. Execution alone takes 4.5 to 7 s for these on a quiet
#: 2-core machine (bench/README.md; 1.4 to 3.4 s for the others), plus 2 to 5 s of kernel
#: start-up; the book build at a load average of 10 showed the same order (44 to 97 s).
SLOW_NOTEBOOKS = ("02_standardization.ipynb", "03b_training_vs_inference.ipynb",
                  "03c_bn_in_a_network.ipynb", "05_batch_noise.ipynb")


def pytest_configure(config):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(int(os.environ["OPENBLAS_NUM_THREADS"]))


#: Test files that are slow as a whole: each starts Chromium (the browser tests), or each of
#: their tests builds a widget twice and renders its frames (8 to 41 s a widget, measured with
#: ``--durations`` on this 2-core machine at a load average of 4).
SLOW_FILES = ("test_browser_*.py", "test_static_widgets.py")
#: Single tests measured above 5 s in the same run (file::test-name patterns).
SLOW_TESTS = ("test_ch3c_mechanisms.py::test_mechanisms_cache_matches_the_code",
              "test_ch5_widgets.py::*", "test_ch3c_widgets.py::test_figure1_explorer_*",
              "test_widgets_core.py::test_static_export_*", "test_ch3c_cache.py::*",
              "test_ch4_widgets.py::test_the_base_times_every_move")


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        test = f"{name}::{item.name}"
        if (item.path.suffix == ".ipynb" and name in SLOW_NOTEBOOKS) or any(
                fnmatch.fnmatch(name, pattern) for pattern in SLOW_FILES) or any(
                fnmatch.fnmatch(test, pattern) for pattern in SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown under -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` with one change: the notebooks and the e2e test are one "file"."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class KernelsTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb") or path.endswith(E2E_FILE):
                return KERNEL_GROUP
            return super()._split_scope(nodeid)

    return KernelsTogether(config, log)


def skip_or_fail(reason: str) -> None:
    """Skip the test (or, called at import time, the whole module) with ``reason``; in CI,
    fail it instead."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="session")
def book_html() -> Path:
    """The built book's HTML folder; skips (fails in CI) when the book is not built."""
    if not (BOOK_HTML / "index.html").is_file():
        skip_or_fail(f"the book is not built ({BOOK_HTML}/index.html missing): run `make book`")
    return BOOK_HTML


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output readable
        pass


@pytest.fixture(scope="module")
def server(book_html):
    """The built book served on 127.0.0.1 (a free port) for the module's tests."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(book_html):
    """Debian's Chromium driven by Playwright (skips, or fails in CI, without them)."""
    from book_browser import CHROMIUM, CHROMIUM_ARGS

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install -r requirements.txt)")
    if not Path(CHROMIUM).is_file():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


