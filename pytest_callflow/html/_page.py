"""One self-contained HTML file: the template, the CSS and the scripts of
this package inlined, and the report's data as JSON in a
``<script type="application/json">`` block.

Nothing is fetched: a Content-Security-Policy allows no network at all and
runs only the page's own script and style (by hash), so even a string that
slipped past escaping could not run.  The data block is escaped so that no
``</script>`` (nor ``<!--``) inside a name can end it: ``<``, ``>`` and
``&`` are written as JSON ``\\u`` escapes, which ``JSON.parse`` reads back
unchanged.  Names reach the page only through ``textContent`` and SVG text
nodes, never as markup."""

import base64
import functools
import hashlib
import html
import json
import math
import os
import re
from typing import Any, Dict, Tuple

from .. import __version__
from .._naming import (FLAG_ASYNC_GENERATOR, FLAG_BUILTIN, FLAG_COROUTINE, FLAG_EXTERNAL,
                       FLAG_GENERATOR)
from ..baseline import write_atomic

_HERE = os.path.dirname(os.path.abspath(__file__))

# Page scripts, in load order: helpers first, the dispatcher last.
SCRIPTS = ("util.js", "table.js", "callgraph.js", "flame.js", "timeline.js", "views.js",
           "compare.js", "session.js", "app.js")
STYLES = ("report.css",)
TEMPLATE = "template.html"

FLAGS = {"generator": FLAG_GENERATOR, "coroutine": FLAG_COROUTINE,
         "async_generator": FLAG_ASYNC_GENERATOR, "builtin": FLAG_BUILTIN,
         "external": FLAG_EXTERNAL}

_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                   "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029]")
_SLOT = re.compile(r"\{\{(\w+)\}\}")


def _read(name: str) -> str:
    path = os.path.join(_HERE, name)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise RuntimeError(f"the HTML report's file {path} is missing ({exc.strerror}): "
                           f"pytest_callflow is not installed completely") from None


@functools.lru_cache(maxsize=None)
def assets() -> Tuple[str, str, str]:
    """(template, css, js), read once."""
    css = "\n".join(_read(n) for n in STYLES)
    js = "\n".join(_read(n) for n in SCRIPTS)
    # Our own files: a closing tag in them would end the element early.
    if "</style" in css.lower() or "</script" in js.lower() or "<!--" in js:
        raise RuntimeError("the report's CSS or script contains a closing tag")
    return _read(TEMPLATE), css, js


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def script_json(doc: Any) -> str:
    """``doc`` as JSON that is safe inside a ``<script>`` element."""
    try:
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or infinity somewhere (comparison percentages)
        text = json.dumps(_finite(doc), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
    return _SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def render_page(kind: str, title: str, body: Dict[str, Any]) -> str:
    """The page of a report of ``kind`` (graph, comparison, session) with
    ``body``'s fields in its data block."""
    template, css, js = assets()
    doc = {"v": 1, "kind": kind, "title": title, "tool": f"pytest-callflow {__version__}",
           "flags": FLAGS}
    doc.update(body)
    csp = (f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; "
           f"img-src data:; base-uri 'none'; form-action 'none'")
    slots = {"title": html.escape(title, quote=True), "csp": html.escape(csp, quote=True),
             "css": css, "js": js, "data": script_json(doc), "kind": kind}
    # One pass: text put into a slot is never searched for slots again.
    return _SLOT.sub(lambda m: slots[m.group(1)], template)


def write_page(path: Any, text: str) -> str:
    """Write ``text`` to ``path`` atomically (parent directories made);
    returns the path written."""
    target = os.fspath(path)
    if not isinstance(target, str):
        raise TypeError(f"path: expected a str or os.PathLike of str, got {path!r}")
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    write_atomic(target, text)
    return target
