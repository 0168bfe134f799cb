"""Keep the web book's widgets static, and the execution cache of each widget mode apart.

``make book`` sets ``BNLIB_WIDGETS=static``: the notebooks' widgets then export precomputed,
kernel-free frames (``bnlib.widgets._static``) instead of live widgets that need a kernel.
jupyter-cache keys a notebook on its code only, so outputs executed in one mode could be
served in the other. This extension gives each mode its own cache folder
(``_build/.jupyter_cache/static``, ``_build/.jupyter_cache/live``), and warns (which fails
the ``-W`` build) when the book is built without the static mode. It also points the
export's manifest (the sha256 of every frame, read by the browser test) at
``_build/widget_manifest`` unless ``BNLIB_WIDGETS_MANIFEST`` says otherwise. The notebook
kernels inherit this process's environment.
"""
from __future__ import annotations

import os
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
MODE = "BNLIB_WIDGETS"
MANIFEST = "BNLIB_WIDGETS_MANIFEST"


def _configure(app, config) -> None:
    mode = os.environ.get(MODE, "").strip().lower() or "live"
    build = Path(app.outdir).parent
    base = Path(config.nb_execution_cache_path or build / ".jupyter_cache")
    config.nb_execution_cache_path = str((base / mode).resolve())
    os.environ.setdefault(MANIFEST, str((build / "widget_manifest").resolve()))
    if mode != "static":
        LOGGER.warning(f"{MODE} is {mode!r}: the book's widgets will need a kernel and not "
                       f"respond in the web pages; build with `make book` ({MODE}=static)")


def setup(app):
    app.connect("config-inited", _configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
