"""Serve MathJax, require.js and the ipywidgets HTML manager from the built book itself.

By default the pages load these three scripts from CDNs; offline, the math then stays raw TeX
and the widgets stay blank. The npm packages declared in ``book/vendor/package.json`` (installed
with ``npm ci`` into ``book/vendor/node_modules``; ``make book`` does it) are copied into
``<html output>/_static/vendor/`` when the build finishes, and ``book/_config.yml`` points
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

# (source under node_modules, destination under _static/vendor, glob patterns to skip)
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
    target = Path(app.outdir) / "_static" / "vendor"
    for src, dst, skip in ASSETS:
        source, destination = NODE_MODULES / src, target / dst
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*skip))
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    logger.info("offline_assets: copied MathJax, require.js and html-manager to %s", target)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _check_installed)
    app.connect("build-finished", _copy_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
