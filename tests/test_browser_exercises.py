"""The exercises of the built book, in Chromium, as a reader meets them.

Exercises are sphinx-exercise ``exercise`` directives; their solutions are ``solution``
directives (gated with ``solution-start``/``solution-end`` around code cells) with
``:class: dropdown``, which sphinx-togglebutton folds (see /EXERCISE_PATTERN in the
coordination notes and chapter 00). On every page of the book the test asserts:

- no spoiler: before the reader opens anything, no checker verdict "Correct" is visible
  anywhere on the page, every solution is folded (its body not displayed), and opening it
  shows its body;
- every solution names an exercise of its page;
- a coding exercise (its placeholder cell raises ``NotImplementedError``) says that checking
  needs JupyterLab;
- every in-page choice exercise (``bnlib.widgets.ChoiceExercise``, exported for the web book
  with a manifest of the checker's verdict for every option, see test_browser_widgets.py):
  choose a wrong option and the right one as a reader does, open Check, and the feedback
  shown is the checker's verdict for that option, "Not yet" for the wrong one and "Correct"
  for the right one. Chapter 00's quiz is also checked against its checker called here.

The test reads the page only through what a reader sees (rendered text, displayed elements),
so it holds for any chapter that follows the pattern.
"""
from __future__ import annotations

import json
import os
import re

import pytest

from book_browser import PAGE_TIMEOUT_MS, PageReport, built_pages, wait_until_rendered
from conftest import BOOK_HTML

MANIFEST = os.environ.get("BNLIB_WIDGETS_MANIFEST") or str(BOOK_HTML.parent / "widget_manifest")

# A checker's verdict on a right answer starts with "Correct" (bnlib.exercises._core.Feedback),
# possibly after a mark such as a tick.
VERDICT = re.compile(r"(^|\n)[^\S\n]*(\S{1,2}[^\S\n]+)?Correct\b")

EXERCISES = r"""() => {
    const shown = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
        && getComputedStyle(el).visibility !== 'hidden';
    const body = sol => [...sol.children].filter(c => !c.classList.contains('admonition-title'));
    const exercises = [...document.querySelectorAll('div.exercise.admonition')].map(ex => {
        // The cells that follow the exercise, up to the next exercise or solution.
        const cells = [];
        for (let el = ex.nextElementSibling; el; el = el.nextElementSibling) {
            if (el.matches('div.exercise, div.solution')) break;
            if (el.matches('div.cell')) cells.push(el);
        }
        return {id: ex.id, title: ex.querySelector('.admonition-title').innerText.trim(),
                text: ex.innerText,
                placeholder: cells.some(c => /NotImplementedError/.test(
                    (c.querySelector('.cell_input') || c).textContent))};
    });
    const solutions = [...document.querySelectorAll('div.solution.admonition')].map(sol => {
        const link = sol.querySelector('.admonition-title a');
        return {id: sol.id, title: sol.querySelector('.admonition-title').innerText.trim(),
                dropdown: sol.classList.contains('dropdown'),
                folded: sol.classList.contains('toggle-hidden'),
                bodyShown: body(sol).some(shown),
                target: link ? decodeURIComponent(link.getAttribute('href').split('#')[1] || '') : null};
    });
    return {exercises, solutions, text: document.body.innerText};
}"""
BODY_SHOWN = r"""(id) => {
    const sol = document.getElementById(id);
    return [...sol.children].filter(c => !c.classList.contains('admonition-title'))
        .some(el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length));
}"""

PAGES = built_pages()
def visible_verdicts(text: str) -> list[str]:
    """The lines of visible text that carry a "Correct" verdict."""
    return [line.strip() for line in text.splitlines() if VERDICT.search("\n" + line)]


def test_verdict_pattern_finds_checker_output():
    """The pattern must match what the checkers print, and not prose that merely says 'correct'."""
    assert visible_verdicts("x\n\N{WHITE HEAVY CHECK MARK} Correct: all 3 cases pass.\ny")
    assert visible_verdicts("Correct: you chose C.")
    assert not visible_verdicts("The correct answer is folded below.")
    assert not visible_verdicts("Not yet: you chose A. That is not correct.")


@pytest.fixture
def tab(browser):
    report = PageReport()
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
    context.route("**/*", report.route)
    page = context.new_page()
    page.on("pageerror", report.page_error)
    yield page
    context.close()
    assert not report.outside, f"requests left loopback: {report.outside}"
    assert not report.console_errors, "\n".join(report.console_errors)


@pytest.mark.parametrize("page", PAGES or ["(book not built)"])
def test_no_solution_or_verdict_visible_before_opening(page, server, tab):
    tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
    wait_until_rendered(tab)
    state = tab.evaluate(EXERCISES)

    spoilers = visible_verdicts(state["text"])
    assert not spoilers, f"{page}: a verdict is visible before any solution is opened: {spoilers}"
    ids = {ex["id"] for ex in state["exercises"]}
    for sol in state["solutions"]:
        assert sol["dropdown"], f"{page}: {sol['title']!r} is not a dropdown (add :class: dropdown)"
        assert sol["folded"] and not sol["bodyShown"], f"{page}: {sol['title']!r} is not folded"
        assert sol["target"] in ids, (
            f"{page}: {sol['title']!r} points to {sol['target']!r}, not to an exercise of the page")
    for ex in state["exercises"]:
        if ex["placeholder"]:
            assert "JupyterLab" in ex["text"], (
                f"{page}: coding exercise {ex['title']!r} does not say that checking needs "
                "JupyterLab (`make lab`)")

    # Opening a solution shows it: folding hides something real, and the reader can get to it.
    for sol in state["solutions"]:
        tab.locator(f"[id='{sol['id']}'] > .admonition-title").click()
        assert tab.evaluate(BODY_SHOWN, sol["id"]), f"{page}: {sol['title']!r} did not open"


# --- in-page choice exercises ---------------------------------------------------------------

# The option controls of an exported choice widget (outside its Check), as the reader sees them.
CHOICE_CONTROL = """root => {
    const el = [...root.querySelectorAll(
            '.widget-radio, .widget-toggle-buttons, .widget-dropdown, .widget-hslider')]
        .find(e => !e.closest('.bn-check'));
    if (!el) return null;
    const kind = el.classList.contains('widget-radio') ? 'radio'
        : el.classList.contains('widget-toggle-buttons') ? 'toggle'
        : el.classList.contains('widget-dropdown') ? 'dropdown' : 'slider';
    el.dataset.bnChoice = '1';
    return kind;
}"""
VISIBLE_VERDICTS = """root => [...root.querySelectorAll('.bn-check .bn-verdict')]
    .filter(e => e.offsetParent !== null).map(e => e.textContent.replace(/\\s+/g, ' ').trim())"""
AS_TEXT = """html => { const d = document.createElement('div'); d.innerHTML = html;
    return d.textContent.replace(/\\s+/g, ' ').trim(); }"""


def choose(root, kind: str, label: str, labels: list[str]) -> None:
    """Pick the option shown as ``label``, with the mouse or the keyboard, as a reader does."""
    control = root.locator("[data-bn-choice='1']")
    if kind == "radio":
        control.locator("label").filter(has_text=re.compile(f"^{re.escape(label)}$")) \
            .locator("input").click()
    elif kind == "toggle":
        control.locator("button").filter(has_text=re.compile(f"^{re.escape(label)}$")).click()
    elif kind == "dropdown":
        control.locator("select").select_option(label=label)
    else:
        handle = control.locator(".noUi-handle").first
        handle.focus()
        handle.press("Home")
        for _ in range(labels.index(label)):
            handle.press("ArrowRight")


def manifest_of(root) -> dict | None:
    key = next((c[5:] for c in (root.get_attribute("class") or "").split()
                if c.startswith("bn-w-")), None)
    path = os.path.join(MANIFEST, f"{key}.json")
    if key is None or not os.path.isfile(path):
        pytest.fail(f"no manifest {path} for an exported widget: rebuild with `make book`")
    with open(path) as f:
        return json.load(f)


def verdict_shown(tab, root, kind, label, labels) -> list[str]:
    choose(root, kind, label, labels)
    tab.wait_for_timeout(150)
    return root.evaluate(VISIBLE_VERDICTS)


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")]
                         or ["(book not built)"])
def test_choice_exercises_give_the_checkers_feedback(page, server, tab):
    tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
    wait_until_rendered(tab)
    roots = tab.locator(".bn-static-widget")
    quizzes = 0
    for w in range(roots.count()):
        root = roots.nth(w)
        manifest = manifest_of(root)
        if manifest["widget"] != "ChoiceExercise":
            continue
        quizzes += 1
        root.scroll_into_view_if_needed()
        kind = root.evaluate(CHOICE_CONTROL)
        labels = manifest["controls"][0]["labels"]
        verdicts = {tuple(f["state"])[0]: [tab.evaluate(AS_TEXT, h) for h in f["verdicts"]]
                    for f in manifest["frames"]}
        right = [label for label, v in verdicts.items() if v and VERDICT.search("\n" + v[0])]
        wrong = [label for label, v in verdicts.items() if v and not VERDICT.search("\n" + v[0])]
        name = f"{page} choice exercise {quizzes} ({labels})"
        assert right and wrong, f"{name}: needs a right and a wrong option: {verdicts}"
        assert not root.evaluate(VISIBLE_VERDICTS), f"{name}: a verdict shows before Check"
        root.locator(".bn-check .jupyter-widget-Collapse-header").first.click()  # open Check
        for label in (wrong[0], right[0]):
            shown = verdict_shown(tab, root, kind, label, labels)
            assert shown == verdicts[label], (
                f"{name}: after choosing {label!r} Check shows {shown}, the checker says "
                f"{verdicts[label]}")
        assert shown and VERDICT.search("\n" + shown[0]), f"{name}: right answer not 'Correct'"
    if page.startswith("notebooks/00_"):
        assert quizzes >= 1, f"{page}: chapter 00's choice exercise is not in the page"


def test_chapter_00_quiz_shows_what_its_checker_says(server, tab):
    """Independent of the build's manifest: the page's feedback is the checker's, called here."""
    from bnlib.exercises.intro import check_intro_modes

    page = "notebooks/00_how_to_use.html"
    if page not in PAGES:
        pytest.skip(f"{page} is not built")
    tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
    wait_until_rendered(tab)
    roots = tab.locator(".bn-static-widget")
    root = next(roots.nth(i) for i in range(roots.count())
                if manifest_of(roots.nth(i))["widget"] == "ChoiceExercise")
    root.scroll_into_view_if_needed()
    kind = root.evaluate(CHOICE_CONTROL)
    root.locator(".bn-check .jupyter-widget-Collapse-header").first.click()
    for answer in ("B", "C"):
        shown = "\n".join(verdict_shown(tab, root, kind, answer, ["A", "B", "C", "D"]))
        feedback = check_intro_modes(answer)
        for line in [feedback.title, *feedback.details]:
            assert line in shown, f"choosing {answer}: {line!r} not in the page's {shown!r}"
        assert ("Correct" in shown) == feedback.correct == (answer == "C")
