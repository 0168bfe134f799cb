"""Shared helpers for the tests of the built book (tests/test_book_*.py, test_browser_*.py).

The book is built by ``make book`` into ``_build/html`` (override with ``BN_BOOK_HTML``). Tests
that need it skip with a reason when it is missing, except in CI (``CI`` set to a true value),
where a skip would hide a broken pipeline: there they fail.
"""
from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK_HTML = Path(os.environ.get("BN_BOOK_HTML", REPO / "_build" / "html"))
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip the test with ``reason``; in CI, fail it instead."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


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


