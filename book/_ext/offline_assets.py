"""Serve MathJax, require.js and the ipywidgets HTML manager from the built book itself.

By default the pages load these three scripts from CDNs; offline, the math then stays raw TeX
and the widgets stay blank. The npm packages declared in ``book/vendor/package.json`` (installed
with ``npm ci`` into ``book/vendor/node_modules``; ``make book`` does it) are copied into
``<html output>/_static/offline/`` when the build finishes, and ``book/_config.yml`` points
``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` there.

They are deliberately *not* in ``book/_static``: Jupyter Book adds every .js/.css file found
there to every page, which would load 24 MB of MathJax components on each page.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = Path(__file__).resolve().parent.parent / "vendor"
NODE_MODULES = VENDOR / "node_modules"
# Tells html-manager where its font files are (see the comment in the file).
WIDGETS_SHIM = Path(__file__).resolve().parent / "widgets_offline.js"

# (source under node_modules, destination under _static/offline, glob patterns to skip)
ASSETS = [
    # MathJax 3: the TeX-to-CommonHTML component plus what it loads lazily (TeX extensions
    # via autoload, the CHTML fonts, the context menu and its accessibility tools).
    ("mathjax/es5", "mathjax", ["mml-*.js", "tex-mml-*.js", "tex-svg*.js", "tex-chtml-full*.js",
                                "node-main.js", "svg.js", "svg", "*.map"]),
    ("requirejs/require.js", "requirejs/require.js", []),
    # The bundle that renders saved widget state (ipywidgets 8 needs html-manager 1.x), plus
    # the font files its CSS refers to.
    ("@jupyter-widgets/html-manager/dist", "html-manager", ["embed.js*", "libembed-amd.js"]),
]


def _check_installed(app: Sphinx) -> None:
    missing = [src for src, _, _ in ASSETS if not (NODE_MODULES / src).exists()]
    if missing and app.builder.format == "html":
        raise ExtensionError(
            "offline_assets: the JavaScript assets are not installed "
            f"({', '.join(missing)} missing under book/vendor/node_modules). "
            "Run `npm ci --prefix book/vendor` (or `make book`)."
        )


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "offline"
    for src, dst, skip in ASSETS:
        source, destination = NODE_MODULES / src, target / dst
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*skip))
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    shutil.copy2(WIDGETS_SHIM, target / WIDGETS_SHIM.name)
    logger.info("offline_assets: copied MathJax, require.js and html-manager to %s", target)


def _drop_thebe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Remove sphinx-thebe's scripts: thebe is off (no launch buttons), yet Jupyter Book loads
    the extension, which adds its config script twice (a console error: THEBE_JS_URL declared
    twice) and names a CDN URL."""
    def is_thebe(asset) -> bool:
        name = getattr(asset, "filename", None) or ""
        body = getattr(asset, "attributes", {}).get("body", "") or ""
        return "thebe" in name or "THEBE_JS_URL" in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if not is_thebe(a)]


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _check_installed)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("build-finished", _copy_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
