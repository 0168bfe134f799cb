"""Every entry of book/_toc.yml is a page of the built book.

Jupyter Book drops a toc entry it cannot resolve (for example one that starts with ``../``)
with no error, so the page silently disappears. These tests read the toc and look for each
entry's HTML page in the build.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from conftest import REPO

TOC = REPO / "book" / "_toc.yml"


def toc_entries(node=None) -> list[str]:
    """All ``root`` and ``file`` entries of the toc, in reading order."""
    if node is None:
        node = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                found.append(str(node[key]))
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                found.extend(toc_entries(child))
    return found


def _source(entry: str) -> Path | None:
    for suffix in ("", ".md", ".ipynb"):
        candidate = REPO / f"{entry}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def test_toc_lists_the_landing_page_and_the_how_to_page():
    entries = toc_entries()
    assert entries[0] == "book/intro"
    assert "notebooks/00_how_to_use" in entries


def test_toc_entries_are_repository_paths_without_parent_references():
    bad = [e for e in toc_entries() if e.startswith(("../", "/")) or "/../" in e]
    assert not bad, f"toc entries must be paths from the repository root, got {bad}"


def test_every_toc_entry_has_a_source_file():
    missing = [e for e in toc_entries() if _source(e) is None]
    assert not missing, f"toc entries without a .md/.ipynb file: {missing}"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_entries())
    notebooks = sorted(p.relative_to(REPO).with_suffix("").as_posix()
                       for p in (REPO / "notebooks").glob("*.ipynb"))
    missing = [nb for nb in notebooks if nb not in listed]
    assert not missing, f"notebooks not in book/_toc.yml (not in the book): {missing}"


def test_every_toc_entry_is_in_the_built_html(book_html):
    missing = [e for e in toc_entries() if not (book_html / f"{e}.html").is_file()]
    assert not missing, f"toc entries missing from {book_html}: {missing}"


def test_built_pages_are_not_older_than_their_sources(book_html):
    """A page that failed to build keeps an old HTML file; catch that, too."""
    stale = []
    for entry in toc_entries():
        source, page = _source(entry), book_html / f"{entry}.html"
        if source and page.is_file() and page.stat().st_mtime + 1 < source.stat().st_mtime:
            stale.append(entry)
    assert not stale, f"built pages older than their sources (rebuild with make book): {stale}"
