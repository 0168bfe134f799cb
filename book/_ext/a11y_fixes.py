"""Markup fixes for the accessibility audit (tests/test_browser_a11y.py, axe-core).

Each replacement repairs HTML that an upstream package writes, on every page, after Sphinx
rendered the body:

- myst-nb's folded code cells: ``<summary aria-label="Toggle hidden content">`` hides the
  visible text "Show code cell source" from screen readers (axe: label-content-name-mismatch,
  WCAG 2.5.3). Without the aria-label the summary is named by what it shows.
- the bibliography page (docutils' citation list): ``role="list"`` on a div whose children
  are not list items (axe: aria-required-children, critical), and the deprecated
  ``doc-biblioentry`` role on each entry (axe: aria-deprecated-role).
"""
from __future__ import annotations

REPLACEMENTS = [
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
    ('<div role="list" class="citation-list">', '<div class="citation-list">'),
    (' role="doc-biblioentry"', ""),
]


def _fix_body(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if not body:
        return
    for old, new in REPLACEMENTS:
        body = body.replace(old, new)
    context["body"] = body


def setup(app):
    app.connect("html-page-context", _fix_body)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
