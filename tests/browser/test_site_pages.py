"""The built course website (build/site, ``make site``; ``COURSE_SITE_DIR`` names another folder)
in headless Chromium.

Every page is opened once (``site_visits``, served on 127.0.0.1) and what the browser saw is kept:
console errors, JavaScript errors, same-origin requests that failed or answered >= 400, requests
that tried to leave the site (the site must work offline: no CDN, no web font), images that did not
load, the links on the page, and the figures and tables inside notebook outputs. The tests then judge
those records:
- every page: loads (200) with none of the problems above;
- every catalogue notebook has a page, showing at least as many figures as its executed notebook has
  image outputs (image/png or image/svg+xml; the executed copy in build/executed, else the copy the
  site keeps in _sources), and a table in its outputs when its ledger is in results/;
- every internal link resolves: its page answers 200 and its #fragment is an id there (checked in
  Python with urllib and html.parser, each target fetched once).
Screenshots (1280x900): build/screenshots/home.png (index.html) and notebook_02.png (notebook 02).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
EXECUTED_DIR = REPO / "build" / "executed"
RESULTS_DIR = REPO / "results"
LOAD_TIMEOUT_MS = 30_000
TABS = 2  # tabs loading pages at once
SCREENSHOTS = {"index.html": "home.png"}  # page -> file in build/screenshots; notebook 02 added below
IMAGE_TYPES = ("image/png", "image/svg+xml")

#: What the page shows once loaded: its links (absolute, as the browser resolved them), its images
#: that did not load, and the figures and tables inside notebook outputs (MyST-NB's .cell_output).
COLLECT_JS = """() => ({
    resources: performance.getEntriesByType('resource').map(r => [r.name, r.responseStatus || 0]),
    hrefs: [...document.querySelectorAll('a[href]')].map(a => a.href),
    broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                 .map(i => (i.getAttribute('src') || '').slice(0, 120)),
    figures: document.querySelectorAll('.cell_output img, .cell_output svg').length,
    tables: document.querySelectorAll('.cell_output table').length,
})"""


@dataclass
class Visit:
    """What the browser saw on one page."""

    page: str
    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    figures: int = 0
    tables: int = 0

    def __repr__(self) -> str:  # short: pytest prints the fixture's dict of every page on failure
        return f"Visit({self.page!r}, status={self.status}, problems={len(self.problems())})"

    def problems(self) -> list[str]:
        found = []
        if self.status != 200:
            found.append(f"HTTP status {self.status}")
        found += [f"console error: {text}" for text in self.console_errors]
        found += [f"JavaScript error: {text}" for text in self.page_errors]
        found += [f"failed request: {text}" for text in dict.fromkeys(self.failed_requests)]
        found += [f"request outside the site (must work offline): {url}"
                  for url in dict.fromkeys(self.outside_requests)]
        found += [f"image did not load: {src}" for src in self.broken_images]
        return found


class Tab:
    """One browser tab that visits pages one after another; what it sees goes to ``record``, the
    :class:`Visit` of the page it is on (a reused tab is several times cheaper than a new one)."""

    def __init__(self, context, origin: str):
        self.origin = origin
        self.record: Visit | None = None
        self.page = context.new_page()
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.record.page_errors.append(str(error)))
        self.page.on("requestfailed", self._on_failed)

    def _on_console(self, message) -> None:
        if message.type == "error":
            self.record.console_errors.append(message.text)

    def _on_failed(self, request) -> None:
        # a request beyond this machine fails at once (no name resolves: conftest.CHROMIUM_ARGS)
        if request.url.startswith(self.origin + "/"):
            self.record.failed_requests.append(f"{request.url} ({request.failure})")
        elif not request.url.startswith(("data:", "blob:")):
            self.record.outside_requests.append(request.url)

    def start(self, page_path: str) -> None:
        """Navigate to ``page_path``; returns once its document arrived (the rest loads meanwhile)."""
        self.record = Visit(page_path)
        response = self.page.goto(f"{self.origin}/{page_path}", wait_until="commit", timeout=LOAD_TIMEOUT_MS)
        self.record.status = response.status if response is not None else None

    def finish(self, screenshot: Path | None = None) -> Visit:
        """Wait for the page and its images to load, record what it shows; returns its Visit."""
        record, page = self.record, self.page
        if record.status != 200:
            return record
        page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
        # lazy images load only when scrolled to: ask for all of them now, then wait for them
        page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                      ".forEach(i => i.loading = 'eager')")
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=LOAD_TIMEOUT_MS)
        seen = page.evaluate(COLLECT_JS)
        record.hrefs, record.broken_images = seen["hrefs"], seen["broken"]
        record.figures, record.tables = seen["figures"], seen["tables"]
        for url, status in seen["resources"]:  # every request the page made, with its status
            if url.startswith(self.origin + "/") and status >= 400:
                record.failed_requests.append(f"{url} -> HTTP {status}")
            elif not url.startswith((self.origin + "/", "data:", "blob:")):
                record.outside_requests.append(url)
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        return record


def visit_all(context, origin: str, pages: list[str], screenshots: dict[str, Path], tabs: int = TABS) -> dict:
    """Visit ``pages`` in ``tabs`` tabs that load in parallel: {page: Visit}."""
    pool = [Tab(context, origin) for _ in range(tabs)]
    visits = {}
    try:
        for start in range(0, len(pages), tabs):
            batch = list(zip(pool, pages[start:start + tabs]))
            for tab, page in batch:
                tab.start(page)
            for tab, page in batch:
                visits[page] = tab.finish(screenshots.get(page))
    finally:
        for tab in pool:
            tab.page.close()
    return visits


@pytest.fixture(scope="session")
def site_visits(browser, pages_to_visit, site_server, screenshot_dir, viewport) -> dict[str, Visit]:
    """Every page of the site, and every catalogue notebook's page, visited once: {page: Visit}."""
    screenshots = {page: screenshot_dir / name for page, name in SCREENSHOTS.items()}
    screenshots.update({page: screenshot_dir / "notebook_02.png"
                        for page in pages_to_visit if page.startswith("notebooks/02_")})
    context = browser.new_context(viewport=viewport)
    try:
        return visit_all(context, site_server.origin, pages_to_visit, screenshots)
    finally:
        context.close()


def test_page_loads_cleanly(site_page, site_visits):
    problems = site_visits[site_page].problems()
    assert not problems, f"{site_page}:\n  " + "\n  ".join(problems)


def image_outputs(notebook: Path) -> int:
    """Outputs of ``notebook`` that carry an image (image/png or image/svg+xml; one per output)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(any(kind in output.get("data", {}) for kind in IMAGE_TYPES)
               for cell in cells for output in cell.get("outputs", []))


def test_notebook_page_shows_figures_and_results(notebook_stem, site_visits, site_dir):
    page = f"notebooks/{notebook_stem}.html"
    shown = site_visits[page]
    assert shown.status == 200, (f"{page}: no page for catalogue notebook {notebook_stem} "
                                 f"(HTTP {shown.status})")
    # the executed notebook make site built from; else the copy Sphinx kept of what it was given
    executed = EXECUTED_DIR / f"{notebook_stem}.ipynb"
    if not executed.exists():
        executed = site_dir / "_sources" / "notebooks" / f"{notebook_stem}.ipynb"
    assert executed.exists(), f"no executed copy of {notebook_stem} to compare with: run make course"
    expected = image_outputs(executed)
    assert shown.figures >= expected, (f"{page} shows {shown.figures} figures in its outputs, "
                                       f"{executed} has {expected} image outputs")
    assert not shown.broken_images, f"{page}: images that did not load: {shown.broken_images}"
    if (RESULTS_DIR / f"{notebook_stem}.json").exists():
        assert shown.tables >= 1, f"{page}: results/{notebook_stem}.json exists but no table in the outputs"


class _Anchors(HTMLParser):
    """Every id (and <a name>) of an HTML page: the fragments a link may point to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.anchors.add(value)


def fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of ``url``, never through a proxy; errors as their status."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""


def test_internal_links_resolve(site_visits, site_server):
    # target page (no fragment) -> {(fragment, page the link is on)}
    targets: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for page, shown in site_visits.items():
        for href in shown.hrefs:
            if not href.startswith(site_server.origin + "/"):
                continue  # another site, mailto:, javascript:
            target, _, fragment = href.partition("#")
            targets[target].add((urllib.parse.unquote(fragment), page))
    assert targets, "no internal link on any page"
    broken = []
    for target, links in sorted(targets.items()):
        status, kind, body = fetch(target)
        relative = target[len(site_server.origin) + 1:]
        if status != 200:
            broken += [f"{page}: link to {relative} -> HTTP {status}" for _, page in sorted(links)]
            continue
        wanted = {(fragment, page) for fragment, page in links if fragment}
        if not wanted or kind != "text/html":
            continue
        parser = _Anchors()
        parser.feed(body.decode("utf-8", errors="replace"))
        broken += [f"{page}: link to {relative}#{fragment}: no such id there"
                   for fragment, page in sorted(wanted) if fragment not in parser.anchors]
    shown = broken[:40] + ([f"... and {len(broken) - 40} more"] if len(broken) > 40 else [])
    assert not broken, f"{len(broken)} broken internal links:\n  " + "\n  ".join(shown)
