"""Render bnlib's plain-text docstrings on the API page (book/api.md) without warnings.

bnlib's docstrings are written for people reading the code, not as reStructuredText. This
extension escapes the two constructs that reStructuredText misreads, and resolves the short
names docstrings use (``Feedback``, ``backward``) to the documented objects.
"""
from __future__ import annotations

import re

from sphinx.application import Sphinx

_LITERAL = re.compile(r"(``.+?``|`[^`]+`_?|:[a-z:]+:`[^`]+`)")
_PIPE = re.compile(r"(?<!\\)\|")
_TRAILING_UNDERSCORE = re.compile(r"(?<!\w)(\w*[A-Za-z0-9])_(?=[\s.,;:)\]]|$)")


def _plain_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    """bnlib's docstrings are written as plain text, not reStructuredText: outside literals,
    ``|z|`` is an absolute value (not a substitution) and ``mean_`` a fitted attribute (not a
    hyperlink). Escape both so the API page renders them as written."""
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        for j in range(0, len(parts), 2):  # even indices: outside literals and roles
            parts[j] = _TRAILING_UNDERSCORE.sub(r"\1\\_", _PIPE.sub(r"\\|", parts[j]))
        lines[i] = "".join(parts)


API_PAGE = "book/api"


def _resolve_short_name(app: Sphinx, env, node, contnode):
    """On the API page, resolve a short Python name (``Feedback``, ``backward``) written in a
    docstring to the documented bnlib object with that name, preferring the same class, then
    the same module."""
    if node.get("refdomain") != "py" or node.get("refdoc") != API_PAGE:
        return None
    target = node["reftarget"].lstrip(".~")
    short = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    found = [name for name in domain.objects if name.rsplit(".", 1)[-1] == short]
    module, cls = node.get("py:module") or "", node.get("py:class") or ""
    for prefix in (f"{module}.{cls}." if cls else None, f"{module}.", "bnlib."):
        near = [n for n in found if prefix and n.startswith(prefix)]
        if len(near) == 1:
            obj = domain.objects[near[0]]
            return domain.resolve_xref(env, node["refdoc"], app.builder, obj.objtype,
                                       near[0], node, contnode)
    return None


def _quiet_api_page(app: Sphinx, domain, node) -> bool | None:
    """A docstring role naming something the API page does not document (a private helper, an
    undocumented constant) renders as code text, not as a broken link: no warning there. Every
    other page keeps -n's strictness."""
    if node.get("refdoc") == API_PAGE and domain is not None and domain.name == "py":
        return True
    return None


def setup(app: Sphinx) -> dict:
    app.connect("autodoc-process-docstring", _plain_docstring)
    app.connect("missing-reference", _resolve_short_name)
    app.connect("warn-missing-reference", _quiet_api_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
