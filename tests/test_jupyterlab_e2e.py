"""End to end: every chapter notebook runs in a real JupyterLab and its widgets respond.

One JupyterLab server (started from this Python environment on 127.0.0.1 with a random port
and token, serving a temporary copy of ``notebooks/``) and one headless Debian Chromium driven
by Playwright serve the whole module; each notebook gets a fresh page and kernel. The fixtures
are module-scoped, not session-scoped: an open ``sync_playwright()`` keeps its asyncio loop
marked as running in the worker's main thread, so a session-scoped one made every later
browser test on the same xdist worker fail ("Sync API inside the asyncio loop"). Per notebook:

1. open it, run all cells, wait for the kernel to be idle;
2. assert no cell shows an error (in a cell's output or from the kernel, e.g. raised by a
   widget callback), every widget rendered (no "Loading widget..." or "Error displaying
   widget" left), and no widget value was changed by the page behind the notebook's back
   (a slider echoing a stale value after a cell set several values in a row);
3. move one control (from ``SPECS`` below, else the first slider found) and assert the widget's
   displayed output (figure or text) changes;
4. where a "Check" button exists, set a wrong then a right state (from ``SPECS``) and assert
   the feedback text; without a spec, press "Check" and assert a verdict appears.

Screenshots go to ``_build/e2e_screenshots/`` (override with ``BN_E2E_SCREENSHOTS``).
``BN_E2E_NOTEBOOKS`` points the test at another folder of notebooks (to try the harness).
Without Chromium or Playwright the test skips, unless ``CI`` is set: then it fails.

Run it alone: ``.venv/bin/pytest tests/test_jupyterlab_e2e.py -v``.
"""
from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import skip_or_fail

# Minutes in all (a page, a kernel and a full run per notebook): out of `pytest -m "not slow"`.
# Under `pytest -n 2 --dist loadfile` it shares one worker with nbval's notebooks, one after
# the other (tests/conftest.py), so the two never start kernels side by side.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = Path(os.environ.get("BN_E2E_NOTEBOOKS", REPO / "notebooks"))
SCREENSHOTS = Path(os.environ.get("BN_E2E_SCREENSHOTS", REPO / "_build" / "e2e_screenshots"))
CHROMIUM = os.environ.get("BN_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]

RUN_TIMEOUT_S = 180  # running all cells of one notebook
WIDGET_TIMEOUT_S = 30  # widgets rendering after the run
CHANGE_TIMEOUT_S = 15  # a widget's output changing after one control move


# --- What to do in each notebook ----------------------------------------------------------
# Controls are found by their label (the ipywidgets ``description``; a regular expression
# searched in the label text). Values are typed as text: into a slider's readout, as a
# dropdown / toggle-button option label, or into a text box. A value starting with "=" is a
# Python expression evaluated in the notebook's kernel first (so a right answer follows the
# notebook's data); the result is then typed in like any other value.


@dataclass(frozen=True)
class Move:
    """Change ``control`` (to ``value``; None: one arrow-key step or a click) and expect the
    widget holding it to show a different figure or text."""

    control: str
    value: str | None = None


@dataclass(frozen=True)
class Exercise:
    """Set ``wrong`` then ``right`` ((label, value) pairs), pressing ``button`` after each,
    and expect feedback containing ``wrong_text`` then ``right_text``. ``where`` is a label
    inside the exercise's widget (default: the first control of ``right``)."""

    wrong: tuple[tuple[str, str], ...]
    right: tuple[tuple[str, str], ...]
    wrong_text: str = "Not yet"
    right_text: str = "Correct"
    button: str = "Check"
    where: str | None = None


@dataclass(frozen=True)
class Spec:
    moves: tuple[Move, ...] = ()
    exercises: tuple[Exercise, ...] = ()
    known_drift: str = ""  # reported to the owner: warn instead of failing on widget drift


SPECS: dict[str, Spec] = {
    # A notebook without an entry gets the generic checks (first slider; press "Check").
    "00_how_to_use.ipynb": Spec(
        moves=(Move("center", "0"),),
        exercises=(Exercise(wrong=(("center", "-5"), ("spread", "2")),
                            right=(("center", "-5"), ("spread", "4"))),)),
    "01_min_max_scaling.ipynb": Spec(
        moves=(Move(r"\[a, b\]"), Move("outlier", "200000")),
        exercises=(Exercise(
            wrong=(("outlier", "100000"),),
            right=(("outlier", "=int(np.ceil(squeeze_threshold(squeeze.others)"
                                " / squeeze.outlier.step) * squeeze.outlier.step)"),)),)),
    "02_standardization.ipynb": Spec(
        moves=(Move("spread ratio", "5"), Move("standardize")),
        exercises=(Exercise(
            # learning rates on the slider's log grid (step 0.01 in log10), so the page does
            # not snap them: 1.1 x and 0.93 x the divergence limit 2 / lambda_max
            wrong=(("spread ratio", "8"), ("standardize", "false"),
                   ("learning rate", "=f'{10 ** round(np.log10(1.1 * gd.make_problem(8)"
                                     ".lr_limit), 2):.4f}'")),
            right=(("learning rate", "=f'{10 ** round(np.log10(0.93 * gd.make_problem(8)"
                                     ".lr_limit), 2):.4f}'"),)),)),
    "03a_bn_algorithm.ipynb": Spec(
        moves=(Move("offset", "-2"), Move("step", "1 mean"))),
    "03b_training_vs_inference.ipynb": Spec(
        moves=(Move("batches", "10"),),
        exercises=(Exercise(wrong=(("convention", "Keras"), ("momentum", "0.99")),
                            right=(("momentum", "0.9"),), where="momentum"),)),
    "03c_bn_in_a_network.ipynb": Spec(
        moves=(Move("init scale"), Move("^sweep$")),
        exercises=(Exercise(
            wrong=(("^network$", "without BN"),),
            right=(("^network$", "with BN"),
                   ("learning rate", "=f'{_bn_e2e_gap_setting()[0]:g}'"),
                   ("init scale", "=f'{_bn_e2e_gap_setting()[1]:g}'")),
            where="^network$"),)),
    "04_gamma_beta.ipynb": Spec(
        moves=(Move("gamma", "2"), Move("^step$")),
        exercises=(Exercise(
            wrong=(("gamma", "1"), ("beta", "0")), wrong_text="gamma is too small",
            right=(("gamma", "=round(float(target_gamma[0]), 2)"),
                   ("beta", "=round(float(target_beta[0]), 2)")),
            button="Check identity"),)),
    "05_batch_noise.ipynb": Spec(
        moves=(Move("^batch size m$"), Move("^mode$")),
        exercises=(Exercise(
            wrong=(("^batch size m$", "2"),),
            right=(("^batch size m$", "=_bn_e2e_noise_answer()"),)),)),
}


def _notebooks() -> list[str]:
    return sorted(p.name for p in NOTEBOOKS_DIR.glob("[0-9]*.ipynb"))


# --- Server and browser (one of each per module) -------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_lab_settings(settings_dir: Path) -> None:
    """User settings for a quiet, testable JupyterLab: every cell attached to the DOM (no
    virtual scrolling), no news or update checks, no autosave into the served copy."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    }
    for rel, value in settings.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class LabServer:
    """A JupyterLab process serving ``root``; everything it writes stays under ``home``."""

    def __init__(self, root: Path, home: Path):
        self.root, self.home = root, home
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.log_path = home / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        settings, workspaces = self.home / "settings", self.home / "workspaces"
        _write_lab_settings(settings)
        workspaces.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("IPYTHONDIR", "ipython")]:
            (self.home / sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.home / sub)
        # no build check: JupyterLab would ask the server whether its bundle needs rebuilding
        page_config = self.home / "config" / "labconfig" / "page_config.json"
        page_config.parent.mkdir(parents=True, exist_ok=True)
        page_config.write_text(json.dumps({"buildCheck": False, "buildAvailable": False}))
        env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
        env["JUPYTERLAB_WORKSPACES_DIR"] = str(workspaces)
        env.pop("MPLBACKEND", None)  # the kernel uses the inline backend, as for a learner
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
            "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no queries to PyPI
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=self.home, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                self.api("GET", "api/status")
                self.api("GET", "lab", raw=True)
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n" + self.log_tail())

    def api(self, method: str, path: str, raw: bool = False):
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return body if raw or not body else json.loads(body)

    def shutdown_kernels(self) -> None:
        """Stop every notebook session (and so its kernel) so the next notebook starts clean."""
        try:
            for session in self.api("GET", "api/sessions") or []:
                self.api("DELETE", f"api/sessions/{session['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def url(self, notebook: str, workspace: str) -> str:
        query = urllib.parse.urlencode({"reset": "", "token": self.token})
        return (f"{self.base}lab/workspaces/{workspace}/tree/"
                f"{urllib.parse.quote(notebook)}?{query}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20) -> None:
        """Terminate the process we started (it shuts its kernels down), kill on timeout."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)  # the group we created: the server and its kernels
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()


@pytest.fixture(scope="module")
def sync_playwright_api():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sync_playwright_api):
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    server = LabServer(root, home)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(sync_playwright_api):
    with sync_playwright_api() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def context(browser):
    """One context for the module, so JupyterLab's scripts come from the HTTP cache after the
    first notebook; each notebook still gets its own page, workspace and kernel."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context, lab):
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    console_errors: list[str] = []
    pg.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: console_errors.append(str(e)))
    pg.console_errors = console_errors
    try:
        yield pg
    finally:
        pg.close()
        lab.shutdown_kernels()


# --- Page helpers ---------------------------------------------------------------------------

JS_OPEN = """async (timeoutMs) => {
  const t0 = Date.now();
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  while (!(window.jupyterapp && window.jupyterapp.shell && window.jupyterapp.shell.currentWidget
           && window.jupyterapp.shell.currentWidget.sessionContext
           && window.jupyterapp.shell.currentWidget.content
           && window.jupyterapp.shell.currentWidget.content.model)) {
    if (Date.now() - t0 > timeoutMs) throw new Error('the notebook did not open');
    const accept = document.querySelector('.jp-Dialog .jp-mod-accept');
    if (accept) accept.click();
    await sleep(100);
  }
  const panel = window.jupyterapp.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  // Errors the kernel reports outside a cell's output (e.g. raised by a widget callback;
  // JupyterLab shows those only in its log console).
  window.bnKernelErrors = [];
  const watch = (kernel) => kernel && kernel.iopubMessage.connect((_, msg) => {
    const c = msg.content, t = msg.header.msg_type;
    if (t === 'error') window.bnKernelErrors.push(`${c.ename}: ${c.evalue}`);
    if (t === 'stream' && c.name === 'stderr' && /Traceback|Error:/.test(c.text))
      window.bnKernelErrors.push(c.text.slice(-600));
  });
  watch(panel.sessionContext.session && panel.sessionContext.session.kernel);
  panel.sessionContext.kernelChanged.connect((_, change) => watch(change.newValue));
  while (!panel.sessionContext.session || !panel.sessionContext.session.kernel
         || panel.sessionContext.session.kernel.status !== 'idle') {
    if (Date.now() - t0 > timeoutMs) throw new Error('the kernel did not become idle');
    const accept = document.querySelector('.jp-Dialog .jp-mod-accept');
    if (accept) accept.click();
    await sleep(100);
  }
  return panel.context.path;
}"""

JS_RUN_ALL = """async (timeoutMs) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const t0 = Date.now();
  const run = window.jupyterapp.commands.execute('notebook:run-all-cells');
  const limit = new Promise((_, rej) => setTimeout(() => rej(new Error('run all timed out')),
                                                   timeoutMs));
  const ok = await Promise.race([run, limit]);
  while (panel.sessionContext.session.kernel.status !== 'idle') {
    if (Date.now() - t0 > timeoutMs) throw new Error('the kernel stayed busy');
    await sleep(100);
  }
  return {ok: ok !== false, seconds: (Date.now() - t0) / 1000};
}"""

JS_CELL_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [];
  let index = 0;
  for (const cell of panel.content.model.cells) {
    if (cell.type === 'code') {
      for (let i = 0; i < cell.outputs.length; i++) {
        const o = cell.outputs.get(i).toJSON();
        if (o.output_type === 'error') {
          found.push(`cell ${index}: ${o.ename}: ${o.evalue}`);
        }
      }
      if (cell.executionCount === null) found.push(`cell ${index}: not executed`);
    }
    index += 1;
  }
  for (const el of document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
    const text = el.innerText;
    if (/Traceback|Error:/.test(text)) found.push('stderr: ' + text.slice(-600));
  }
  for (const e of window.bnKernelErrors || []) found.push('kernel: ' + e);
  return found;
}"""

# A cell's own outputs (not those nested in an Output widget); a widget view holds
# a .jupyter-widgets element once rendered and the text "Loading widget..." before.
CELL_OUTPUTS = ".jp-Notebook .jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output"

JS_WIDGET_STATUS = """(sel) => {
  const outputs = [...document.querySelectorAll(sel)];
  const views = outputs.filter(v => v.querySelector(':scope > .jupyter-widgets'));
  const loading = outputs.filter(v => /Loading widget\\.\\.\\./.test(v.innerText)
                                      && !v.querySelector('.jupyter-widgets'));
  const broken = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
      .filter(v => /Error displaying widget/.test(v.innerText));
  return {views: views.length, loading: loading.length,
          broken: broken.map(v => v.innerText.slice(0, 300))};
}"""


JS_KERNEL_EVAL = """async (expr) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const reply = await kernel.requestExecute(
      {code: '', silent: true, store_history: false, user_expressions: {v: expr}}).done;
  const v = reply.content.user_expressions.v;
  if (v.status !== 'ok') throw new Error(`${expr}: ${v.ename}: ${v.evalue}`);
  return v.data['text/plain'];
}"""


# Installed in the kernel before Run All: records every control value the page sends while
# no one touches it. A value the kernel set but the page changed and sent back (e.g. a
# FloatLogSlider snapping an off-step value) leaves the widget in another state than the
# notebook meant.
KERNEL_WATCH = """
import ipywidgets as _bn_w
__bn_e2e_drift = []
def _bn_e2e_same(a, b):
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_bn_e2e_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
        except (TypeError, ValueError):
            return False
    return a == b
def _bn_e2e_set_state(self, sync_data, _orig=_bn_w.Widget.set_state):
    for key in ('value', 'index'):
        if key in sync_data and type(self).__name__ != 'Play':
            old = getattr(self, key, None)
            new = sync_data[key]
            if not _bn_e2e_same(old, new):
                __bn_e2e_drift.append((type(self).__name__, getattr(self, 'description', ''),
                                       repr(old), repr(new)))
    return _orig(self, sync_data)
_bn_w.Widget.set_state = _bn_e2e_set_state
del _bn_w
def _bn_e2e_gap_setting():  # chapter 3c: a grid point where BN beats the plain net enough
    from bnlib.experiments import load_cache
    from bnlib.exercises.network import check_bn_gap
    d = load_cache('ch3c_figure1_grid')
    return next((lr, s) for lr in d['grid']['lrs'] for s in d['grid']['init_scales']
                if check_bn_gap(True, lr, s, data=d).correct)
def _bn_e2e_noise_answer():  # chapter 5: the smallest batch size meeting the noise target
    from bnlib.exercises.noise import NOISE_TARGET, NOISE_TARGET_SIZES
    return min(m for m in NOISE_TARGET_SIZES if m ** -0.5 <= NOISE_TARGET)
"""

JS_KERNEL_RUN = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const reply = await kernel.requestExecute({code, silent: true, store_history: false}).done;
  if (reply.content.status !== 'ok') throw new Error(reply.content.evalue);
}"""


def _drift(page) -> list[tuple]:
    """Control values the page changed on its own since the last call (then forgets them)."""
    text = page.evaluate(JS_KERNEL_EVAL, "(__bn_e2e_drift[:], __bn_e2e_drift.clear())[0]")
    return ast.literal_eval(text)


def _resolve(page, value: str | None) -> str | None:
    """A spec value as text to type; "=expr" is evaluated in the notebook's kernel."""
    if value is None or not value.startswith("="):
        return value
    text = page.evaluate(JS_KERNEL_EVAL, value[1:])
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


def _label_regex(label: str) -> re.Pattern:
    return re.compile(label, re.IGNORECASE)


def _widget_areas(page):
    return page.locator(CELL_OUTPUTS).filter(has=page.locator(":scope > .jupyter-widgets"))


def _area_with_label(page, label: str):
    """The displayed widget (one cell output) holding a control labelled ``label``."""
    areas = _widget_areas(page).filter(
        has=page.locator(".widget-label, .widget-label-basic", has_text=_label_regex(label)))
    assert areas.count() >= 1, f"no widget with a control labelled {label!r}"
    return areas.first


def _control(area, label: str):
    """The row (slider, dropdown, ...) whose description matches ``label``."""
    rows = area.locator(".widget-inline-hbox, .widget-hbox, .widget-toggle-buttons, "
                        ".widget-radio, .widget-checkbox").filter(
        has=area.page.locator(":scope > .widget-label, :scope > .widget-label-basic",
                              has_text=_label_regex(label)))
    assert rows.count() >= 1, f"no control labelled {label!r}"
    return rows.first


def _snapshot(area) -> tuple:
    """What the learner sees of a widget: its figure(s) and the text of its outputs."""
    return area.evaluate("""el => [
        [...el.querySelectorAll('img')].map(i => i.src),
        [...el.querySelectorAll('.widget-output, .widget-html, .widget-label-basic')]
            .map(e => e.innerText).join('\\n')]""")


def _wait_for_change(area, before: tuple, what: str) -> tuple:
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    n_images = len(before[0])
    last = None
    while time.monotonic() < deadline:
        now = _snapshot(area)
        settled = len(now[0]) >= n_images and all(now[0])
        if now != before and settled and now == last:
            return now
        last = now
        area.page.wait_for_timeout(150)
    raise AssertionError(f"{what}: the widget's output did not change within "
                         f"{CHANGE_TIMEOUT_S} s")


def _set_control(row, value: str | None) -> None:
    """Set a control like a learner would: type into a slider's readout, pick an option,
    click a toggle, type into a text box; value None: one arrow-key step on a slider."""
    classes = row.get_attribute("class") or ""
    page = row.page
    if "widget-slider" in classes:
        readout = row.locator(".widget-readout")
        editable = readout.count() and readout.get_attribute("contenteditable") == "true"
        handle = row.locator(".noUi-handle").first
        if value is not None and editable:
            before = handle.get_attribute("aria-valuenow")
            readout.evaluate("(el, v) => { el.focus(); el.textContent = v; }", value)
            readout.press("Enter")
            page.wait_for_timeout(100)
            # a number slider parses the text and rewrites it; a selection slider's readout
            # is editable too but ignores the text (and Enter adds a line break to it)
            if "\n" not in readout.inner_text() or handle.get_attribute("aria-valuenow") != before:
                return
            for key in ("ArrowLeft", "ArrowRight"):  # restore its readout from the slider
                handle.press(key)
                _settle(page, quiet_s=0.15)
        if value is None:
            now = float(handle.get_attribute("aria-valuenow") or 0)
            top = float(handle.get_attribute("aria-valuemax") or 0)
            handle.press("ArrowLeft" if now >= top else "ArrowRight")
            return
        # selection slider: step with the keyboard until the readout shows the value, one
        # step at a time (each step's update reaches the kernel before the next key)
        keys = ("ArrowRight", "ArrowLeft")
        try:  # numeric options: start in the right direction
            if float(value) < float(readout.inner_text().strip()):
                keys = keys[::-1]
        except ValueError:
            pass
        for key in keys:
            for _ in range(60):
                if readout.inner_text().strip() == value:
                    return
                previous = handle.get_attribute("aria-valuenow")
                handle.press(key)
                _settle(page, quiet_s=0.15)
                if handle.get_attribute("aria-valuenow") == previous:
                    break
        raise AssertionError(f"could not set the slider to {value!r}")
    if row.locator("select").count():
        select = row.locator("select").first
        if value is None:
            options = select.locator("option").all_inner_texts()
            current = select.evaluate("s => s.options[s.selectedIndex].text")
            value = next(o for o in options if o != current)
        select.select_option(label=value)
        return
    if "widget-toggle-buttons" in classes:
        buttons = row.locator("button")
        if value is None:
            row.locator("button:not(.mod-active)").first.click()
        else:
            buttons.filter(has_text=re.compile(rf"^\s*{re.escape(value)}\s*$")).first.click()
        return
    if "widget-radio" in classes:
        row.locator("label", has_text=value).first.click()
        return
    if "widget-checkbox" in classes:
        box = row.locator("input[type=checkbox]")
        want = (not box.is_checked()) if value is None else value.lower() in ("1", "true")
        box.set_checked(want)
        return
    box = row.locator("input, textarea").first
    box.fill(value or "1")
    box.press("Enter")
    box.blur()


def _feedback(area) -> str:
    fb = area.locator(".bn-feedback")
    return " | ".join(t.strip() for t in fb.all_inner_texts())


def _settle(page, quiet_s: float = 0.3) -> None:
    """Wait until the kernel has been idle for ``quiet_s`` (the widget manager may hold back
    a value update until the previous one is processed; a click must come after it)."""
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    idle_since = None
    while time.monotonic() < deadline:
        status = page.evaluate("() => window.jupyterapp.shell.currentWidget"
                               ".sessionContext.session.kernel.status")
        now = time.monotonic()
        if status == "idle":
            idle_since = idle_since or now
            if now - idle_since >= quiet_s:
                return
        else:
            idle_since = None
        page.wait_for_timeout(50)


def _press_and_read(area, button: str, before: str, expect: str = "") -> str:
    """Press ``button``; return the feedback once it is new text (or, as the same verdict may
    be shown twice, once it contains ``expect`` after a short wait)."""
    _settle(area.page)
    area.locator("button", has_text=_label_regex(rf"^\s*{button}\s*$")).first.click()
    start = time.monotonic()
    text = ""
    while time.monotonic() - start < CHANGE_TIMEOUT_S:
        text = _feedback(area)
        if text and text != before and expect in text:
            return text
        if text and expect and expect in text and time.monotonic() - start > 2:
            return text
        area.page.wait_for_timeout(100)
    return text or f"(no feedback; before: {before!r})"


def _shot(target, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        target.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    except Exception as exc:  # noqa: BLE001 - a screenshot must never fail the test
        print(f"screenshot {name} failed: {exc}")


# --- The test -------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", _notebooks())
def test_notebook_runs_and_widgets_respond(notebook, lab, page):
    """Run all, no errors, widgets rendered; a control moves the figure; an exercise
    answers wrong then right. A screenshot of the page is saved when anything fails."""
    stem = Path(notebook).stem
    try:
        _check_notebook(notebook, stem, lab, page)
    except BaseException:
        _shot(page, f"{stem}-9-failure")
        print(f"\nJupyterLab log (end):\n{lab.log_tail(15)}")
        raise


def _check_notebook(notebook: str, stem: str, lab: LabServer, page) -> None:
    for old in SCREENSHOTS.glob(f"{stem}-*"):
        old.unlink()
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    page.goto(lab.url(notebook, workspace=f"e2e-{stem}"))
    page.evaluate(JS_OPEN, RUN_TIMEOUT_S * 1000)
    timings["open"] = time.monotonic() - t0

    # 1. run all cells
    page.evaluate(JS_KERNEL_RUN, KERNEL_WATCH)
    t1 = time.monotonic()
    result = page.evaluate(JS_RUN_ALL, RUN_TIMEOUT_S * 1000)
    timings["run all"] = time.monotonic() - t1

    # 2. no errors, every widget rendered
    errors = page.evaluate(JS_CELL_ERRORS)
    assert not errors, f"{notebook}: cells show errors:\n" + "\n".join(errors)
    assert result["ok"], f"{notebook}: Run All Cells reported a failure"
    deadline = time.monotonic() + WIDGET_TIMEOUT_S
    while True:
        status = page.evaluate(JS_WIDGET_STATUS, CELL_OUTPUTS)
        if not status["loading"] and not status["broken"]:
            break
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert not status["broken"], f"{notebook}: widgets failed to display: {status['broken']}"
    assert not status["loading"], (f"{notebook}: {status['loading']} of {status['views']} "
                                   f"widgets still say 'Loading widget...'")

    # Let the page and the kernel agree before interacting: the widget manager sends held-back
    # updates (e.g. a slider snapping a value to its step) once the kernel is idle.
    _settle(page, quiet_s=1.0)
    _shot(page, f"{stem}-0-after-run")
    spec = SPECS.get(notebook, Spec())
    drift = _drift(page)
    if drift:
        message = (
            f"{notebook}: after Run All the page sent widget values back and the kernel took "
            f"them, so the widgets show another state than the notebook left them in "
            f"(type, description, kernel value, value from the page): {drift}. The page "
            f"re-snaps each value the kernel sets to the slider's step (2.0 may come back as "
            f"1.9999999999999998) and sends it back; when a cell sets several values in a row, "
            f"the echo of an earlier value arrives after the last one. Fix: drive a second, "
            f"undisplayed instance of the widget in test-only cells, not the displayed one.")
        if not spec.known_drift:
            raise AssertionError(message)
        warnings.warn(f"known issue ({spec.known_drift}): {message}", stacklevel=1)
    elif spec.known_drift:
        warnings.warn(f"{notebook}: the known widget drift no longer happens; remove "
                      f"known_drift from its spec", stacklevel=1)
    interacted = []
    # 3. a control move changes what the widget shows
    moves = spec.moves
    if not moves and status["views"]:
        sliders = page.locator(".jp-Notebook .widget-slider")
        if sliders.count():
            label = sliders.first.locator(".widget-label").inner_text().strip()
            moves = (Move(control=re.escape(label) if label else ".*"),)
    for i, move in enumerate(moves):
        area = _area_with_label(page, move.control)
        area.scroll_into_view_if_needed()
        before = _snapshot(area)
        t = time.monotonic()
        _set_control(_control(area, move.control), _resolve(page, move.value))
        _wait_for_change(area, before, f"{notebook}: moving {move.control!r}")
        timings[f"move {move.control}"] = time.monotonic() - t
        _shot(area, f"{stem}-1-move-{i}")
        interacted.append(f"moved {move.control!r}")

    # 4. an exercise: wrong state, then right state
    for i, ex in enumerate(spec.exercises):
        area = _area_with_label(page, ex.where or ex.right[0][0])
        area.scroll_into_view_if_needed()
        for label, value in ex.wrong:
            _set_control(_control(area, label), _resolve(page, value))
            _settle(page)
        wrong = _press_and_read(area, ex.button, _feedback(area), ex.wrong_text)
        assert ex.wrong_text in wrong, f"{notebook}: wrong state gave {wrong!r}"
        _shot(area, f"{stem}-2-exercise-{i}-wrong")
        for label, value in ex.right:
            _set_control(_control(area, label), _resolve(page, value))
            _settle(page)
        right = _press_and_read(area, ex.button, wrong, ex.right_text)
        assert ex.right_text in right, f"{notebook}: right state gave {right!r}"
        _shot(area, f"{stem}-3-exercise-{i}-right")
        interacted.append(f"exercise: {wrong[:40]!r} -> {right[:40]!r}")
    if not spec.exercises:
        checks = _widget_areas(page).filter(
            has=page.locator("button", has_text=re.compile(r"^\s*Check\s*$")))
        if checks.count():
            area = checks.first
            area.scroll_into_view_if_needed()
            verdict = _press_and_read(area, "Check", _feedback(area), "")
            assert re.search(r"Correct|Not yet", verdict), f"{notebook}: Check gave {verdict!r}"
            interacted.append(f"pressed Check: {verdict[:40]!r}")

    errors = page.evaluate(JS_CELL_ERRORS)
    assert not errors, f"{notebook}: errors after interacting:\n" + "\n".join(errors)
    timings["total"] = time.monotonic() - t0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{stem}-timings.json").write_text(json.dumps(
        {"notebook": notebook, "seconds": timings, "widgets": status["views"],
         "interactions": interacted}, indent=1))
    print(f"\n{notebook}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
          + f"; {status['views']} widgets; " + "; ".join(interacted))
