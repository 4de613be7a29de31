"""A Sphinx HTML math renderer that needs no network: formulas drawn by matplotlib's mathtext.

Sphinx's default renderer loads MathJax from a CDN, which an offline course site cannot do. This
renderer draws each formula (inline ``$...$`` and display ``$$...$$``) to SVG with
:mod:`matplotlib.mathtext` and embeds it as an ``<img>`` with a ``data:`` URI (the TeX source is its
``alt`` text, so it can be copied and read by screen readers). mathtext knows most of the TeX the
notebooks use; :func:`normalise` rewrites the rest (``\\big(``, ``\\tfrac``, ``\\frac12``,
``\\mathbf z``, ``\\le`` ...). A formula mathtext still cannot draw is shown as its TeX source in a
``<code class="math-tex">`` (never an error). Sizes: 12 pt text at 100 dpi, so 1 pt ≈ 1.39 px.

Parsing is the slow part (about 20 ms a formula). With the Sphinx setting ``offline_math_cache``
(a folder; ``tools/build_site.py`` passes ``build/site-math-cache``) each drawn formula is also kept
on disk, one small JSON file per formula named by the SHA-256 of the TeX, the font size and the
matplotlib version, so a rebuild draws only new formulas. Each file is written whole (temporary
file, then rename), so parallel Sphinx workers can share the folder.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import os
import re
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import mathtext  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

FONT_SIZE = 12      # points, like the body text
DPI = 100           # SVG user units are points; this only scales the depth returned (pixels)

_REWRITES = [
    (re.compile(r"\\[Bb]igg?[lr]?(?=[^a-zA-Z])"), ""),            # \big( -> (  (sizes are dropped)
    (re.compile(r"\\[td]frac"), r"\\frac"),
    (re.compile(r"\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])"), r"\\frac{\1}{\2}"),   # \frac12
    (re.compile(r"\\(sqrt|mathbf|mathbb|mathcal|mathrm|boldsymbol|hat|bar|tilde)\s+([0-9a-zA-Z])"),
     r"\\\1{\2}"),                                              # \mathbf z -> \mathbf{z}
    (re.compile(r"\\le(?![a-zA-Z])"), r"\\leq"),
    (re.compile(r"\\ge(?![a-zA-Z])"), r"\\geq"),
    (re.compile(r"\\[lr]Vert"), r"\\Vert"),
    (re.compile(r"\\[lr]vert"), "|"),
    (re.compile(r"\s*\n\s*"), " "),
]


def normalise(tex: str) -> str:
    """``tex`` rewritten into the subset of TeX that mathtext parses (see the module docstring)."""
    if not isinstance(tex, str):
        raise TypeError(f"tex must be a string, got {type(tex).__name__}")
    tex = tex.strip()
    for pattern, replacement in _REWRITES:
        tex = pattern.sub(replacement, tex)
    return tex


@functools.lru_cache(maxsize=None)
def render_svg(tex: str) -> tuple[str, float] | None:
    """``(data URI of the SVG, depth below the baseline in px)`` of ``tex``, or None when mathtext
    cannot parse it."""
    buffer = io.BytesIO()
    try:
        depth = mathtext.math_to_image(f"${normalise(tex)}$", buffer, prop=FontProperties(size=FONT_SIZE),
                                       dpi=DPI, format="svg")
    except Exception:  # mathtext raises ValueError / pyparsing errors for TeX it does not know
        return None
    svg = re.sub(rb"<metadata>.*?</metadata>", b"", buffer.getvalue(), flags=re.S)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"), float(depth)


def cached_render(tex: str, cache: str | os.PathLike | None = None) -> tuple[str, float] | None:
    """:func:`render_svg`, through the folder ``cache`` when it is given (see the module docstring)."""
    if cache is None:
        return render_svg(tex)
    key = hashlib.sha256(f"{matplotlib.__version__}|{FONT_SIZE}|{DPI}|{tex}".encode()).hexdigest()
    path = Path(cache) / f"{key}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        return None if stored is None else (stored[0], float(stored[1]))
    except (OSError, ValueError, IndexError, TypeError):
        pass
    rendered = render_svg(tex)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(rendered, stream)
    os.replace(temporary, path)
    return rendered


def _tag(tex: str, display: bool, cache: str | None = None) -> str:
    alt = html.escape(" ".join(tex.split()), quote=True)
    rendered = cached_render(tex, cache)
    if rendered is None:
        return f'<code class="math-tex" title="TeX">{alt}</code>'
    uri, depth = rendered
    style = "" if display else f' style="vertical-align: -{depth:.1f}px"'
    return f'<img class="math" src="{uri}" alt="{alt}"{style}/>'


def visit_math(self, node) -> None:
    from docutils import nodes

    self.body.append(_tag(node.astext(), display=False, cache=self.builder.config.offline_math_cache))
    raise nodes.SkipNode


def visit_displaymath(self, node) -> None:
    from docutils import nodes

    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    self.body.append('<p class="math-display">')
    # amsmath environments (aligned, ...) arrive whole; mathtext draws a single line, else TeX source
    self.body.append(_tag(node.astext(), display=True, cache=self.builder.config.offline_math_cache))
    self.body.append("</p></div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_config_value("offline_math_cache", None, "html", types=frozenset({str, type(None)}))
    app.add_html_math_renderer("offline_math", inline_renderers=(visit_math, None),
                               block_renderers=(visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
