"""Drop nbval's marker comments (``# NBVAL_CHECK_OUTPUT``, ``# NBVAL_IGNORE_OUTPUT``, ...) from
the code cells shown in the book.

The markers tell the test suite which printed outputs carry a claim; a reader of the web book
does not need them, and the copy button should not copy them. The notebooks keep them (nbval
reads them there), so this only changes what the HTML shows.
"""
from __future__ import annotations

import re

from docutils import nodes

MARKER_LINE = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*(\n|$)", re.MULTILINE)


def strip_markers(text: str) -> str:
    """``text`` without the lines that hold only an nbval marker."""
    return MARKER_LINE.sub("", text)


def _strip_doctree(app, doctree) -> None:
    for container in doctree.findall(nodes.container):
        if "cell_input" not in container.get("classes", []):
            continue
        for block in container.findall(nodes.literal_block):
            text = block.astext()
            cleaned = strip_markers(text)
            if cleaned != text:
                block.children = []
                block += nodes.Text(cleaned)
                block.rawsource = cleaned


def setup(app):
    app.connect("doctree-read", _strip_doctree)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
