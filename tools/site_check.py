"""Checks of a built course website: every local link resolves and nothing comes from the network.

:func:`check_site` walks every ``*.html`` file under the site folder and returns one line per problem:

- a local ``href`` or ``src`` (relative, or rooted at the site) whose file does not exist;
- a ``#fragment`` of a local link to an ``.html`` page that is not an ``id`` (or ``name``) there;
- an asset loaded from the network: a ``<script src>``, ``<link href>`` (style sheet, font, icon,
  preload), ``<img>``/``<source>``/``<iframe>`` ``src`` starting with ``http:``, ``https:`` or ``//``,
  and any ``url(http...)`` / ``@import`` of a web address in the site's ``.css`` files.

Links to web pages (``<a href="https://...">``) are fine: a reader follows them, the page does not
load them. ``data:`` URIs are local.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

_REMOTE = re.compile(r"^(https?:)?//", re.I)
_CSS_REMOTE = re.compile(r"(url\(\s*['\"]?\s*(https?:)?//|@import\s+['\"](https?:)?//)", re.I)
SKIPPED = {"_static", "_sources", "_images"}   # theme templates and copies, not pages
LOADED = {"script": "src", "img": "src", "source": "src", "iframe": "src", "video": "src",
          "audio": "src", "embed": "src", "input": "src"}


class _Page(HTMLParser):
    """The ids of one page, and its links and loaded assets as (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        for name in ("id", "name"):
            if name in values and tag != "meta":
                self.ids.add(values[name])
        if tag in ("a", "area") and "href" in values:
            self.refs.append((tag, "href", values["href"]))
        elif tag == "link" and "href" in values:
            self.refs.append((tag, "href", values["href"]))
        if tag in LOADED and LOADED[tag] in values:
            self.refs.append((tag, "src", values["src"]))
        if "srcset" in values:
            for candidate in values["srcset"].split(","):
                if candidate.strip():
                    self.refs.append((tag, "src", candidate.split()[0]))


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _target(folder: Path, page: Path, link: str) -> Path:
    """The file a local link (without its #fragment) of ``page`` points at; a folder means its
    index.html, an empty link the page itself."""
    path = unquote(urlsplit(link).path)
    if not path:
        return page
    target = Path(os.path.normpath(folder / path.lstrip("/") if path.startswith("/") else page.parent / path))
    return target / "index.html" if target.is_dir() else target


def check_site(site: str | os.PathLike) -> list[str]:
    """Problems of the site in folder ``site`` (empty when it is sound); ValueError when ``site``
    has no ``index.html``."""
    folder = Path(os.path.abspath(site))
    if not (folder / "index.html").is_file():
        raise ValueError(f"site {folder} has no index.html: build it first (make site)")
    pages = {path: _parse(path) for path in sorted(folder.rglob("*.html"))
             if not set(path.relative_to(folder).parts) & SKIPPED}
    problems = []
    for path, page in pages.items():
        name = path.relative_to(folder).as_posix()
        for tag, attribute, value in page.refs:
            value = value.strip()
            if _REMOTE.match(value):
                if tag not in ("a", "area"):      # a <link> to the web is loaded (style, font, icon)
                    problems.append(f"{name}: <{tag} {attribute}> loads {value} from the network")
                continue
            if not value or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):   # data:, mailto:, javascript:
                continue
            link, fragment = urldefrag(value)
            target = _target(folder, path, link)
            if not target.is_relative_to(folder):
                problems.append(f"{name}: {attribute}={value!r} points outside the site")
            elif not target.exists():
                problems.append(f"{name}: {attribute}={value!r}: {target.relative_to(folder).as_posix()} "
                                "does not exist")
            elif fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(fragment) not in ids:
                    problems.append(f"{name}: {attribute}={value!r}: no id {unquote(fragment)!r} in "
                                    f"{target.relative_to(folder).as_posix()}")
    for css in sorted(folder.rglob("*.css")):
        for number, line in enumerate(css.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _CSS_REMOTE.search(line):
                problems.append(f"{css.relative_to(folder).as_posix()}:{number}: loads from the network: "
                                f"{line.strip()[:120]}")
    return problems
