"""Test scaffolding stays out of the web book: no nbval marker reaches a page."""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from hide_test_markers import strip_markers  # noqa: E402


def test_strip_markers_removes_only_marker_lines():
    source = "# NBVAL_CHECK_OUTPUT\nx = 1  # NBVAL_ not a marker here\n  # NBVAL_IGNORE_OUTPUT\nprint(x)"
    assert strip_markers(source) == "x = 1  # NBVAL_ not a marker here\nprint(x)"


# A code cell's source as myst-nb renders it (outputs use other lexers, e.g. myst-ansi).
CODE_CELL = re.compile(r'<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>'
                       r"(.*?)</pre>", re.DOTALL)


def test_no_code_cell_in_the_book_shows_an_nbval_marker(book_html):
    pages = sorted((book_html / "notebooks").glob("*.html"))
    assert pages, "no chapter pages in the built book"
    cells = {p.name: CODE_CELL.findall(p.read_text(encoding="utf-8")) for p in pages}
    assert sum(map(len, cells.values())) > 50, "code cells not found: has the markup changed?"
    shown = [name for name, sources in cells.items()
             if any("NBVAL_" in re.sub(r"<[^>]+>", "", src) for src in sources)]
    assert not shown, f"nbval markers visible in code cells of: {shown}"
