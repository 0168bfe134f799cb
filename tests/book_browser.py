"""Serving the built book and driving Debian's Chromium, for every browser test of the book.

The ``server`` and ``browser`` fixtures live in conftest.py; this module holds what they and
every browser test of the book share: Chromium's path and flags, the list of built pages, and
:class:`PageReport`, which records what went wrong while a page loaded.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from conftest import BOOK_HTML

CHROMIUM = os.environ.get("BN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SKIP_DIRS = {"_static", "_sources", "_images", "_screenshots", "_downloads"}
PAGE_TIMEOUT_MS = 30_000


def built_pages() -> list[str]:
    """Every HTML page of the build, relative to its root (empty if not built)."""
    if not BOOK_HTML.is_dir():
        return []
    return sorted(p.relative_to(BOOK_HTML).as_posix() for p in BOOK_HTML.rglob("*.html")
                  if not SKIP_DIRS.intersection(p.relative_to(BOOK_HTML).parts))


class PageReport:
    """What went wrong while one page loaded."""

    def __init__(self):
        self.outside: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []

    def route(self, route):
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOOPBACK:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def console(self, msg):
        if msg.type == "error":
            self.console_errors.append(f"console: {msg.text} @ {msg.location.get('url', '')}")

    def page_error(self, error):
        self.console_errors.append(f"page error: {error}")

    def request_failed(self, request):
        if urlparse(request.url).hostname in LOOPBACK:
            self.failed.append(f"{request.url}: {request.failure}")

    def response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")



def open_tab(browser, report: PageReport, *, failures: bool = False):
    """A new 1280 x 900 browser context and tab whose requests, console errors and page errors
    go to ``report`` (with ``failures``, also failed requests and HTTP errors).
    Returns (context, tab); close the context when done."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
    context.route("**/*", report.route)
    tab = context.new_page()
    tab.on("console", report.console)
    tab.on("pageerror", report.page_error)
    if failures:
        tab.on("requestfailed", report.request_failed)
        tab.on("response", report.response)
    return context, tab


# What a page needs before it is looked at as a reader sees it: MathJax has typeset, the
# ipywidgets HTML manager has rendered every saved view, the toggle buttons (folded cells and
# dropdown solutions) are in place. Shared by test_browser_a11y.py and test_browser_exercises.py.
_RENDERED = """async () => {
    for (let i = 0; i < 200 && document.querySelector('.math')
             && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
        await new Promise(r => setTimeout(r, 50));
    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
        await MathJax.startup.promise;
    const views = () => [...document.querySelectorAll(
        "script[type='application/vnd.jupyter.widget-view+json']")];
    const rendered = () => views().every(s => {
        const area = s.previousElementSibling;
        return area && area.classList.contains('widget-subarea')
            && area.querySelector('.jupyter-widgets');
    });
    const toggles = () => [...document.querySelectorAll('.admonition.dropdown')]
        .every(a => a.querySelector('.toggle-button'));
    for (let i = 0; i < 400 && !(rendered() && toggles()); i++)
        await new Promise(r => setTimeout(r, 50));
    return rendered() && toggles();
}"""


def wait_until_rendered(tab) -> None:
    """Wait until the page's math, widgets and toggle buttons are in place (or time out)."""
    tab.evaluate(_RENDERED)
    tab.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
