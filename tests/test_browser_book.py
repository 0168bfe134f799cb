"""Open every page of the built book in headless Chromium and check that it works offline.

The build (``_build/html``, see conftest.py) is served on 127.0.0.1 by Python's http.server in
a thread. Debian's Chromium (``/usr/bin/chromium``, never a browser Playwright downloads) opens
each page through Playwright's sync API. Per page the test asserts:

- no request leaves loopback (a route handler aborts and records any other host);
- math is typeset: every ``.math`` element holds an ``mjx-container`` and no raw ``\\(`` is left
  in the text outside code;
- widgets from the saved state are visible (no "Loading widget" or error left) and each
  LiveFigure's picture is there;
- no broken image, no failed request or HTTP error, no console error or page error.

A full-page screenshot of each page goes to ``_build/html/_screenshots/``. Without Chromium,
Playwright or a built book the test skips with the reason (in CI it fails instead).
"""
from __future__ import annotations

import pytest

from book_browser import (CHROMIUM, LOOPBACK, PAGE_TIMEOUT_MS, PageReport,  # noqa: F401
                          built_pages, open_tab)
from conftest import BOOK_HTML, skip_or_fail  # noqa: F401

# JavaScript run in the page after it loaded.
WAIT_FOR_MATH = """async () => {
    if (!document.querySelector('.math')) return 'no math';
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (!window.MathJax || !MathJax.startup) return 'MathJax did not load';
    await MathJax.startup.promise;
    return 'typeset';
}"""
MATH_STATE = r"""() => {
    const maths = [...document.querySelectorAll('.math')];
    const untypeset = maths.filter(m => !m.querySelector('mjx-container')).length;
    const body = document.body.cloneNode(true);
    body.querySelectorAll('pre, code, script, style, textarea, .highlight, mjx-container')
        .forEach(e => e.remove());
    const text = body.textContent;
    // TeX that reached the page as text: \( \[ delimiters, or a TeX command in the prose
    // (an unpaired $ leaves the whole formula raw).
    const commands = text.match(/\\(frac|mathrm|mathbf|mathcal|hat|bar|sqrt|sum|prod|mu|sigma|gamma|beta|epsilon|partial|cdot|times|left|right|operatorname|text)(?![a-zA-Z])/g) || [];
    return {maths: maths.length, containers: document.querySelectorAll('mjx-container').length,
            untypeset, raw: ['\\(', '\\['].filter(s => text.includes(s)).concat(commands.slice(0, 5)),
            errors: [...document.querySelectorAll('mjx-merror')]
                .map(e => e.getAttribute('data-mjx-error')).slice(0, 5)};
}"""
WIDGET_VIEWS = "script[type='application/vnd.jupyter.widget-view+json']"
# html-manager renders each saved view into a div.widget-subarea inserted before its script.
WIDGET_ROOTS = """() => [...document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']")]
    .map(s => {
        const area = s.previousElementSibling;
        return area && area.classList.contains('widget-subarea')
            ? area.querySelector('.jupyter-widgets') : null;
    })"""
WIDGETS_RENDERED = f"""() => ({WIDGET_ROOTS})().every(root => root !== null)
    && !document.body.innerText.includes('Loading widget')"""
WIDGET_STATE = f"""() => {{
    const text = document.body.innerText;
    const roots = ({WIDGET_ROOTS})();
    const hidden = roots.filter(root => {{
        if (!root) return true;
        const r = root.getBoundingClientRect();
        return r.width === 0 || r.height === 0;
    }}).length;
    return {{savedState: !!document.querySelector("script[type='application/vnd.jupyter.widget-state+json']"),
            loading: text.includes('Loading widget'),
            error: /Error (displaying|rendering) widget|Could not create/.test(text),
            hidden,
            outputImages: document.querySelectorAll('.widget-output img').length,
            outputs: document.querySelectorAll('.widget-output').length}};
}}"""
BROKEN_IMAGES = """() => [...document.images]
    .filter(img => !img.complete || img.naturalWidth === 0)
    .map(img => img.currentSrc || img.src || img.outerHTML.slice(0, 80))"""


def screenshot_path(book_html: Path, page: str) -> Path:
    folder = book_html / "_screenshots"
    folder.mkdir(exist_ok=True)
    return folder / (page.removesuffix(".html").replace("/", "__") + ".png")


PAGES = built_pages()


@pytest.mark.parametrize("page", PAGES or ["(book not built)"])
def test_page_renders_offline(page, book_html, server, browser):
    report = PageReport()
    context, tab = open_tab(browser, report, failures=True)
    try:
        tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
        assert tab.evaluate(WAIT_FOR_MATH) in ("no math", "typeset"), "MathJax did not load"
        n_views = tab.locator(WIDGET_VIEWS).count()
        if n_views:
            try:
                tab.wait_for_function(WIDGETS_RENDERED, timeout=PAGE_TIMEOUT_MS)
            except Exception:  # noqa: BLE001 - a timeout; the asserts below say what is missing
                pass
        tab.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
        math = tab.evaluate(MATH_STATE)
        widgets = tab.evaluate(WIDGET_STATE)
        broken = tab.evaluate(BROKEN_IMAGES)
        # The screenshot is for people (to look at the page), not something the test checks:
        # a full-page capture of a long page (book/api.html) timed out at 30 s on this 2-core
        # machine at a load average of 8, so it may fail without failing the test.
        try:
            tab.screenshot(path=str(screenshot_path(book_html, page)), full_page=True,
                           timeout=120_000)
        except Exception as exc:  # noqa: BLE001 - a Playwright timeout
            print(f"{page}: screenshot not taken ({type(exc).__name__})")
    finally:
        context.close()

    assert not report.outside, f"requests left loopback: {report.outside}"
    assert math["untypeset"] == 0 and not math["raw"], f"math not typeset (raw TeX left): {math}"
    assert not math["errors"], f"MathJax could not typeset some TeX: {math}"
    if math["maths"]:
        assert math["containers"] > 0, f"page has math but no mjx-container: {math}"
    if n_views:
        assert not widgets["loading"] and not widgets["error"], f"widgets: {widgets}"
        assert widgets["savedState"], (
            "the page has widget views but no saved widget state (did its notebook execute "
            f"during the build?): {widgets}")
        assert widgets["hidden"] == 0, f"{widgets['hidden']} widget(s) not visible: {widgets}"
        assert widgets["outputImages"] >= 1 or widgets["outputs"] == 0, (
            f"a LiveFigure's saved picture is missing: {widgets}")
    assert not broken, f"broken images: {broken}"
    assert not report.failed, f"failed requests: {report.failed}"
    assert not report.console_errors, "\n".join(report.console_errors)


def test_book_has_pages(book_html):
    pages = built_pages()
    assert "index.html" in pages and len(pages) > 2, pages


def test_search_finds_a_chapter(book_html, server, browser):
    """The offline search (Sphinx's searchindex.js) returns the how-to page for a word in it."""
    report = PageReport()
    context = browser.new_context(service_workers="block")
    context.route("**/*", report.route)
    tab = context.new_page()
    tab.on("pageerror", report.page_error)
    try:
        tab.goto(f"{server}/search.html?q=widget", wait_until="networkidle",
                 timeout=PAGE_TIMEOUT_MS)
        tab.wait_for_selector("ul.search li a", timeout=PAGE_TIMEOUT_MS)
        hrefs = tab.eval_on_selector_all("ul.search li a", "links => links.map(a => a.href)")
    finally:
        context.close()
    assert any("00_how_to_use" in h for h in hrefs), hrefs
    assert not report.outside and not report.console_errors, (report.outside,
                                                              report.console_errors)
