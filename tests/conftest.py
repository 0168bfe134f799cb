"""Shared helpers for the tests of the built book (tests/test_book_*.py, test_browser_*.py).

The book is built by ``make book`` into ``_build/html`` (override with ``BN_BOOK_HTML``). Tests
that need it skip with a reason when it is missing, except in CI (``CI`` set to a true value),
where a skip would hide a broken pipeline: there they fail.
"""
from __future__ import annotations

import os
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
