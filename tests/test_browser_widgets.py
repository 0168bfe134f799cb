"""Every widget of the built web book responds in Chromium, with no kernel, and shows what
the live widget draws.

``make book`` exports each widget (``BNLIB_WIDGETS=static``, :mod:`bnlib.widgets._static`):
frames in nested Stacks switched by index controls, and a manifest per widget
(``_build/widget_manifest/<key>.json``, or ``BNLIB_WIDGETS_MANIFEST``) holding, for every
state, the sha256 of the PNG the live drawing code rendered, its readouts and the checker's
verdict. On every chapter page, for every widget, the test moves each control through at
least three positions (keys on sliders, clicks on toggle and radio buttons, a choice on a
dropdown) and asserts after every move:

- the visible frame changed (or, for a widget without a figure, the verdict did);
- the visible frame's PNG hashes to what the manifest recorded for the state the controls
  show (their readout labels), and its alt text names that state;
- the readouts equal the live widget's for that state;
- an opened Check shows the checker's verdict for that state.

A Play button must step its slider and the frame. No live widget (an ipywidgets Output with
a picture) may be left on a page, and every page stays offline with no console error.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest

from book_browser import PAGE_TIMEOUT_MS, PageReport, built_pages, open_tab
from conftest import BOOK_HTML, skip_or_fail

MANIFEST = os.environ.get("BNLIB_WIDGETS_MANIFEST") or str(BOOK_HTML.parent / "widget_manifest")
CHAPTERS = [p for p in built_pages() if p.startswith("notebooks/")]
MOVES = 3  # positions per control, at least
# Open bugs, reported and not hidden: the test still runs these widgets and xfails the page
# (after checking every other widget on it) when they misbehave.
KNOWN_BUGS = {
    "TrainingAnimator": "the step stacks stop following the step slider and the page logs "
                        "'Cannot set properties of undefined (setting className)': suspected "
                        "the Play view throwing inside the two-way Play link, which stops the "
                        "stacks' links; fix: link Play one way, or no Play in the book",
}

# The index controls of one exported widget (not those inside its frames or Check), with
# what each shows now. Runs in the page with the widget's root element.
CONTROLS = """root => {
    const inside = e => e.closest('.bn-frames, .bn-check');
    const out = [];
    for (const el of root.querySelectorAll(
            '.widget-hslider, .widget-toggle-buttons, .widget-radio, .widget-dropdown')) {
        if (inside(el)) continue;
        const label = el.querySelector(':scope > .widget-label');
        const description = label ? label.textContent.trim() : '';
        let kind, shown = null, disabled = false;
        if (el.classList.contains('widget-hslider')) {
            kind = 'slider';
            const r = el.querySelector('.widget-readout');
            shown = r ? (r.value !== undefined && r.tagName === 'INPUT' ? r.value : r.textContent).trim() : null;
            disabled = !!el.querySelector('[disabled]') || el.querySelector('.noUi-target[disabled]') !== null;
        } else if (el.classList.contains('widget-toggle-buttons')) {
            kind = 'toggle';
            const on = el.querySelector('button.mod-active');
            shown = on ? on.textContent.trim() : null;
        } else if (el.classList.contains('widget-radio')) {
            kind = 'radio';
            const on = el.querySelector('input:checked');
            shown = on ? on.parentElement.textContent.trim() : null;
        } else {
            kind = 'dropdown';
            const s = el.querySelector('select');
            shown = s && s.selectedIndex >= 0 ? s.options[s.selectedIndex].textContent.trim() : null;
            disabled = s ? s.disabled : false;
        }
        el.dataset.bnControl = String(out.length);
        out.push({description, kind, shown, disabled});
    }
    return out;
}"""
# What the widget shows now: the visible frame's readouts and pictures, the open verdicts.
VIEW = """root => {
    const visible = e => e.offsetParent !== null;
    const frames = [...root.querySelectorAll('.bn-frames .bn-frame')].filter(visible);
    const frame = frames[0];
    return {
        frames: frames.length,
        readouts: frame ? [...frame.querySelectorAll('.bn-readout')].map(e => e.textContent) : [],
        images: frame ? [...frame.querySelectorAll('.bn-figure img')]
            .map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt')})) : [],
        verdicts: [...root.querySelectorAll('.bn-check .bn-verdict')].filter(visible)
            .map(e => e.textContent),
    };
}"""
AS_TEXT = "html => { const d = document.createElement('div'); d.innerHTML = html; return d.textContent; }"


def _manifest(key: str) -> dict:
    path = os.path.join(MANIFEST, f"{key}.json")
    if not os.path.isfile(path):
        pytest.fail(f"no manifest {path} for widget bn-w-{key}: rebuild the book with "
                    f"`make clean && make book`")
    with open(path) as f:
        return json.load(f)


def _png_sha(src: str) -> str:
    assert src.startswith("data:image/png;base64,"), src[:40]
    return hashlib.sha256(base64.b64decode(src.split(",", 1)[1])).hexdigest()


def _move(root, index: int, kind: str, forward: bool) -> None:
    """Move the ``index``-th control of ``root`` one position, as a reader does."""
    el = root.locator(f"[data-bn-control='{index}']")
    if kind == "slider":
        handle = el.locator(".noUi-handle").first
        handle.focus()
        handle.press("ArrowRight" if forward else "ArrowLeft")
    elif kind == "toggle":
        buttons = el.locator("button.widget-toggle-button")
        n = buttons.count()
        active = [i for i in range(n) if "mod-active" in (buttons.nth(i).get_attribute("class") or "")]
        current = active[0] if active else -1
        buttons.nth((current + 1) % n).click()
    elif kind == "radio":
        inputs = el.locator("input[type=radio]")
        n = inputs.count()
        checked = [i for i in range(n) if inputs.nth(i).is_checked()]
        current = checked[0] if checked else -1
        inputs.nth((current + 1) % n).click()
    else:
        select = el.locator("select")
        n = select.locator("option").count()
        current = select.evaluate("s => s.selectedIndex")
        select.select_option(index=(current + 1) % n)


def _check_state(tab, root, manifest: dict, controls: list[dict], context: str) -> dict:
    """Assert the widget shows what the manifest holds for the state its controls show."""
    view = root.evaluate(VIEW)
    gridded = [c["description"] for c in manifest["controls"]]
    shown = {c["description"]: c["shown"] for c in controls if not c["disabled"]}
    state = [shown.get(d) for d in gridded]
    frames = {tuple(f["state"]): f for f in manifest["frames"]}
    if any(s is None for s in state):  # a choice not made yet: no frame, no verdict
        assert not view["verdicts"], f"{context}: a verdict with nothing chosen"
        return view
    assert tuple(state) in frames, f"{context}: the controls show {state}, not a manifest state"
    frame = frames[tuple(state)]
    if manifest["frames"] and frame["png_sha256"]:
        assert view["frames"] == 1, f"{context}: {view['frames']} frames visible"
        shas = [_png_sha(i["src"]) for i in view["images"]]
        assert shas == frame["png_sha256"], (
            f"{context}: the visible picture is not what the live widget drew for {state}")
        for image in view["images"]:
            for description, label in zip(gridded, state):
                assert f"{description} {label}" in image["alt"], (context, image["alt"])
    expected = [tab.evaluate(AS_TEXT, html) for html in frame["readouts"]]
    assert view["readouts"] == expected, f"{context}: readouts {view['readouts']} != {expected}"
    if view["verdicts"]:
        expected = [tab.evaluate(AS_TEXT, html) for html in frame["verdicts"]]
        assert view["verdicts"] == expected, f"{context}: verdict {view['verdicts']} != {expected}"
    return view


def _settle(tab, root, controls: list[dict], i: int, before: dict, timeout_s: float = 10.0):
    """After a move: wait (a loaded machine may be slow) until control ``i`` shows another
    position and the view followed it; return the controls as they now stand."""
    for _ in range(int(timeout_s / 0.1)):
        now = root.evaluate(CONTROLS)
        view = root.evaluate(VIEW)
        moved = now[i]["shown"] != controls[i]["shown"]
        label = f"{now[i]['description']} {now[i]['shown']}"
        followed = (all(label in img["alt"] for img in view["images"]) if view["images"]
                    else view["verdicts"] != before["verdicts"])
        if moved and followed:
            return now
        tab.wait_for_timeout(100)
    return root.evaluate(CONTROLS)  # the asserts that follow say what is wrong


@pytest.mark.parametrize("page", CHAPTERS or ["(book not built)"])
def test_every_widget_responds_like_the_live_one(page, book_html, server, browser):
    if not CHAPTERS:
        skip_or_fail("the book is not built: run `make book`")
    report = PageReport()
    context, tab = open_tab(browser, report)
    try:
        tab.goto(f"{server}/{page}", wait_until="networkidle", timeout=PAGE_TIMEOUT_MS)
        n_views = tab.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
        if n_views:
            tab.wait_for_function(
                "() => !document.body.innerText.includes('Loading widget')",
                timeout=PAGE_TIMEOUT_MS)
        live_left = tab.locator(".widget-output img").count()
        assert live_left == 0, f"{live_left} live widget picture(s) on the page: not exported"
        roots = tab.locator(".bn-static-widget")
        known = []
        for w in range(roots.count()):
          try:
            root = roots.nth(w)
            root.scroll_into_view_if_needed()
            key = next(c for c in root.get_attribute("class").split() if c.startswith("bn-w-"))[5:]
            manifest = _manifest(key)
            name = f"{page} widget {w} ({manifest['widget']})"
            controls = root.evaluate(CONTROLS)
            working = [i for i, c in enumerate(controls) if not c["disabled"]]
            assert len(working) >= 1, f"{name}: no working control"
            assert sorted(controls[i]["description"] for i in working) == \
                sorted(c["description"] for c in manifest["controls"]), (name, controls)
            specs = {c["description"]: c for c in manifest["controls"]}
            for title in root.locator(".bn-check .jupyter-widget-Collapse-header").all():
                title.click()  # open every Check: its verdict must follow the controls
            view = _check_state(tab, root, manifest, controls, f"{name}, start")
            for i in working:
                spec = specs[controls[i]["description"]]
                n = len(spec["labels"])
                kind = controls[i]["kind"]
                at = spec["labels"].index(controls[i]["shown"]) if kind == "slider" else 0
                forward, moves = at < n - 1, MOVES
                for _ in range(moves):
                    before = view
                    if kind == "slider":  # keys; turn back at either end of the grid
                        at = spec["labels"].index(controls[i]["shown"])
                        forward = (forward and at < n - 1) or at == 0
                    _move(root, i, kind, forward)
                    controls = _settle(tab, root, controls, i, before)
                    where = f"{name}, {controls[i]['description']} -> {controls[i]['shown']}"
                    view = _check_state(tab, root, manifest, controls, where)
                    changed = (view["images"] != before["images"] if view["images"]
                               else view["verdicts"] != before["verdicts"])
                    assert changed, f"{where}: nothing changed"
            plays = root.locator(".widget-play button")
            if plays.count():
                slider = next(c for c in controls if c["kind"] == "slider" and not c["disabled"])
                plays.first.click()  # play
                tab.wait_for_timeout(1200)
                plays.nth(1).click()  # pause
                controls = root.evaluate(CONTROLS)
                moved = next(c for c in controls if c["description"] == slider["description"])
                assert moved["shown"] != slider["shown"], f"{name}: Play did not move the slider"
                _check_state(tab, root, manifest, controls, f"{name}, after Play")
          except AssertionError as error:
            if manifest["widget"] not in KNOWN_BUGS:
                raise
            known.append(f"{manifest['widget']}: {error}".splitlines()[0])
    finally:
        context.close()
    assert not report.outside, f"requests left loopback: {report.outside}"
    if known:  # a known bug may also log its page error: report both, fail neither
        pytest.xfail("; ".join(f"{k} ({KNOWN_BUGS[k.split(':')[0]]})" for k in known)
                     + " | console: " + "; ".join(report.console_errors))
    assert not report.console_errors, "\n".join(report.console_errors)
