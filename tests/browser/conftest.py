"""Shared set-up of the browser tests: headless system Chromium driven by Playwright, and the built
site served on 127.0.0.1.

- ``browser`` (session): one headless Chromium for every test. Only the system's browser is used
  (``chromium`` on PATH, else /usr/bin/chromium); nothing is ever downloaded. Missing: the test FAILS
  (these tests only run when asked for, ``COURSE_BROWSER_TESTS=1``, so a skip would hide a broken CI).
- ``site_dir`` (session): build/site, which ``make site`` writes (``COURSE_SITE_DIR`` names another
  folder, e.g. a site built elsewhere); missing: FAIL saying "run make site".
- ``site_server`` (session): build/site served over HTTP on 127.0.0.1 at a free port, in a thread;
  ``pages_to_visit``: every page of the site plus the page each catalogue notebook must have.
- ``screenshot_dir``: build/screenshots, where the screenshots the issue asks for are kept;
  ``viewport``: the page size.

Parametrization (``pytest_generate_tests``): a test taking ``site_page`` runs once per HTML page of
the built site (``site_pages``: every page but Sphinx's _static/_sources/_images folders); one taking
``notebook_stem`` once per notebook of the course catalogue whose file exists (each must have a page).

Pages are 1280x900 CSS pixels (``VIEWPORT``), the size of the kept screenshots.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE_DIR = Path(os.environ.get("COURSE_SITE_DIR") or REPO / "build" / "site")
SCREENSHOT_DIR = REPO / "build" / "screenshots"

#: Viewport of every page (CSS pixels): the screenshots are this size.
VIEWPORT = {"width": 1280, "height": 900}

#: Chromium switches: no sandbox (CI containers run as root), no GPU, no background traffic of its
#: own (component updates, sync, QUIC probes, proxies), and no name resolves except 127.0.0.1: a page
#: that asks for anything beyond this machine gets an immediate failure (recorded by the tests), never
#: the internet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


#: Folders of a Sphinx build that hold assets and sources, not pages.
ASSET_FOLDERS = ("_static", "_sources", "_images", "_downloads", ".doctrees")


def site_pages(root: Path) -> list[str]:
    """The site's HTML pages, as '/'-separated paths relative to ``root``, sorted; [] if none."""
    if not root.is_dir():
        return []
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*.html")
                  if not set(path.relative_to(root).parts[:-1]) & set(ASSET_FOLDERS))


def catalogue_stems() -> list[str]:
    """Stems of the catalogue's notebooks whose file exists (course_lib.catalogue.available)."""
    from course_lib import catalogue

    return [meta.stem for meta in catalogue.available(REPO)]


def pytest_generate_tests(metafunc):
    if "site_page" in metafunc.fixturenames:
        # no site: one item, index.html, which fails through the site_dir fixture ("run make site")
        metafunc.parametrize("site_page", site_pages(SITE_DIR) or ["index.html"])
    if "notebook_stem" in metafunc.fixturenames:
        metafunc.parametrize("notebook_stem", catalogue_stems())


def chromium_executable() -> str:
    """Path of the system's Chromium; FAILS the test (not a skip) naming the package to install."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    pytest.fail("no Chromium found for the browser tests: install Debian's chromium: "
                "apt-get install chromium", pytrace=False)


@pytest.fixture(scope="session")
def browser():
    """One headless system Chromium (Playwright's sync API) for the whole session."""
    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency in pyproject
        pytest.fail("the Python package playwright is missing: run make install", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """build/site, which must hold a built site (index.html)."""
    if not (SITE_DIR / "index.html").is_file():
        pytest.fail(f"no built site at {SITE_DIR / 'index.html'}: run make site "
                    "(after make course)", pytrace=False)
    return SITE_DIR


@pytest.fixture(scope="session")
def pages_to_visit(site_dir) -> list[str]:
    """Every page of the site and the page every catalogue notebook must have (sorted, '/'-paths)."""
    return sorted(set(site_pages(site_dir)) | {f"notebooks/{stem}.html" for stem in catalogue_stems()})


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    timeout = 10  # seconds a stuck client may hold a server thread

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass


class SiteServer:
    """A folder served over HTTP on 127.0.0.1 (free port) by a daemon thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.root = root
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="site-server")
        self._thread.start()

    def url(self, relative: str | os.PathLike) -> str:
        """The address of ``relative`` (a path inside the served folder, '/'-separated)."""
        return f"{self.origin}/{Path(relative).as_posix().lstrip('/')}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def site_server(site_dir):
    server = SiteServer(site_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def viewport() -> dict:
    """The size of every page and screenshot (``VIEWPORT``)."""
    return dict(VIEWPORT)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
