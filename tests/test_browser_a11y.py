"""Run the axe-core accessibility engine on every page of the built book, in Chromium.

axe-core is vendored like the book's other JavaScript (``book/vendor/package.json`` and its
lock file; ``make book`` runs ``npm ci``). It is a test-only asset: the build does not copy it
into the pages, the test injects it into each page after the page has loaded, typeset its math
and rendered its widgets. The test fails on any violation of impact "serious" or "critical",
naming the rule, its help text and the first offending elements. Every page's counts per
impact go to ``_build/html/_screenshots/axe.json`` next to the screenshots, for the record.

"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from book_browser import PAGE_TIMEOUT_MS, PageReport, built_pages, wait_until_rendered
from conftest import REPO, skip_or_fail

AXE_JS = REPO / "book" / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA plus axe's best practices; every rule's impact is then judged above.
AXE_OPTIONS = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
RUN_AXE = """async (options) => {
    const results = await axe.run(document, options);
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
}"""

PAGES = built_pages()
_SUMMARY: dict[str, dict] = {}


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.is_file():
        skip_or_fail(f"axe-core is not installed ({AXE_JS} missing): run "
                     "`npm ci --prefix book/vendor` (or `make book`)")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def _write_summary(book_html):
    yield
    if _SUMMARY:
        folder = Path(book_html) / "_screenshots"
        folder.mkdir(exist_ok=True)
        (folder / "axe.json").write_text(json.dumps(_SUMMARY, indent=1, sort_keys=True))


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s))")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['summary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


@pytest.mark.parametrize("page", PAGES or ["(book not built)"])
def test_page_has_no_serious_accessibility_violation(page, book_html, server, browser,
                                                      axe_source):
    report = PageReport()
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
    context.route("**/*", report.route)
    tab = context.new_page()
    tab.on("pageerror", report.page_error)
    try:
        tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
        wait_until_rendered(tab)
        tab.add_script_tag(content=axe_source)
        violations = tab.evaluate(RUN_AXE, AXE_OPTIONS)
    finally:
        context.close()

    counts = {impact: sum(len(v["nodes"]) for v in violations if v["impact"] == impact)
              for impact in ("critical", "serious", "moderate", "minor")}
    _SUMMARY[page] = {"elements": counts,
                      "rules": {f"{v['id']} ({v['impact']})": len(v["nodes"]) for v in violations}}
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (f"{page}: {counts['critical']} critical and {counts['serious']} "
                          f"serious accessibility violations:\n{describe(blocking)}")
    assert not report.outside, f"requests left loopback: {report.outside}"
