"""Shared test set-up.

- Ledger tests (``@pytest.mark.ledger``) read what the notebooks wrote, so they are moved after every
  other item, including the notebook cells nbval collects.
- Unit tests run isolated from the user's environment: a temporary data cache, no mirror, no
  offline/budget/results overrides, the Agg backend, and no network except 127.0.0.1. Notebook cells
  and ledger tests are left alone: they must see the real environment.
- ``local_http_server`` serves a folder on 127.0.0.1 so the real download path can be tested without
  the internet; ``closed_port_url`` is an address where every connection is refused (offline).
"""

from __future__ import annotations

import http.server
import ipaddress
import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Variables the isolation fixture removes (a test sets them itself when it needs them).
ISOLATED_VARIABLES = ("COURSE_DATA_MIRROR", "COURSE_OFFLINE", "COURSE_BUDGET", "COURSE_RESULTS_DIR",
                      "COURSE_DEVICE")


def _is_local(host: str) -> bool:
    """True for names and addresses of this machine (loopback, or unspecified as in bind(""))."""
    if host in ("", "localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def order_ledger_last(items: list) -> list:
    """``items`` with every ``ledger``-marked item moved to the end, each group keeping its order."""
    ledger = [item for item in items if item.get_closest_marker("ledger") is not None]
    others = [item for item in items if item.get_closest_marker("ledger") is None]
    return others + ledger


#: ``make test-site`` sets it to 1: only then are the ``browser`` tests (tests/browser/) collected.
BROWSER_TESTS_ENV = "COURSE_BROWSER_TESTS"
#: ``make test`` (pass 1) names a folder here: each notebook nbval executed is saved there with its
#: outputs, as ``make course`` would write it, so ``make site`` can build from it.
SAVE_EXECUTED_ENV = "COURSE_SAVE_EXECUTED"


def pytest_configure(config):
    if os.environ.get(SAVE_EXECUTED_ENV):
        config.pluginmanager.register(SaveExecutedNotebooks(os.environ[SAVE_EXECUTED_ENV]),
                                      "course-save-executed")
    config.addinivalue_line("markers", "browser: drives headless Chromium against the built site or "
                            f"JupyterLab (run by make test-site; deselected unless {BROWSER_TESTS_ENV}=1)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    # trylast: our order is the final one, after any plugin (nbval included) has sorted the items.
    if os.environ.get(BROWSER_TESTS_ENV) != "1":
        browser = [item for item in items if item.get_closest_marker("browser") is not None]
        if browser:
            config.hook.pytest_deselected(items=browser)
            items[:] = [item for item in items if item.get_closest_marker("browser") is None]
    items[:] = order_ledger_last(items)


def executed_cell_outputs(test_outputs) -> list:
    """nbval's outputs of one cell as nbformat outputs (``None``, for a skipped cell, is none)."""
    import nbformat

    outputs = []
    for output in test_outputs or []:
        node = nbformat.from_dict(dict(output))
        if node.get("output_type") == "execute_result":
            node.setdefault("metadata", {})
        outputs.append(node)
    return outputs


class SaveExecutedNotebooks:
    """With ``COURSE_SAVE_EXECUTED`` set, keep each notebook cell's outputs and write the notebook into
    that folder once its last cell has run, unless a cell failed (then a stale copy is removed, never
    left to look current). Registered as a plugin, not as conftest hooks: a conftest's hooks only see
    the items under its own folder, and the notebooks are not under tests/."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        if _is_notebook_cell(item) and outcome.get_result().failed:
            item.parent.course_notebook_failed = True

    def pytest_runtest_teardown(self, item, nextitem):
        if not _is_notebook_cell(item):
            return
        notebook = item.parent
        target = self.folder / Path(str(notebook.fspath)).name
        if not getattr(notebook, "course_save_started", False):
            notebook.course_save_started = True
            notebook.course_execution_count = 0
            target.unlink(missing_ok=True)
        if item.test_outputs is not None:
            notebook.course_execution_count += 1
            item.cell.outputs = executed_cell_outputs(item.test_outputs)
            item.cell.execution_count = notebook.course_execution_count
        if nextitem is not None and nextitem.parent is notebook:
            return
        if getattr(notebook, "course_notebook_failed", False):
            return
        import nbformat

        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        nbformat.write(notebook.nb, str(temporary))
        os.replace(temporary, target)


def _is_notebook_cell(node) -> bool:
    # Not imported here: importing nbval costs seconds, and when the nbval plugin is active it is
    # already loaded; when it is not, no item can be a notebook cell.
    plugin = sys.modules.get("nbval.plugin")
    return plugin is not None and isinstance(node, plugin.IPyNbCell)


def _is_isolated(node) -> bool:
    return not _is_notebook_cell(node) and node.get_closest_marker("ledger") is None


def _host_of(address) -> str | None:
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        return address[0]
    return None  # AF_UNIX paths and the like are not network access


def _guard_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any connection or name lookup beyond the loopback interface fail loudly."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(host) -> None:
        if host is not None and not _is_local(host):
            raise OSError(f"unit tests must not use the network (tried to reach {host!r})")

    def connect(self, address):
        check(_host_of(address))
        return real_connect(self, address)

    def connect_ex(self, address):
        check(_host_of(address))
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        check(host.decode() if isinstance(host, bytes) else host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def course_environment(request, tmp_path_factory):
    """Isolate a unit test from the user's settings; yields the temporary data cache (or ``None``
    for notebook cells and ledger tests, which keep the real environment)."""
    if not _is_isolated(request.node):
        yield None
        return
    saved = dict(os.environ)
    cache = tmp_path_factory.mktemp("course_data_cache")
    os.environ["COURSE_DATA_DIR"] = str(cache)
    for name in ISOLATED_VARIABLES:
        os.environ.pop(name, None)
    # a unit test that records results without naming a folder must not touch <repo>/results
    os.environ["COURSE_RESULTS_DIR"] = str(tmp_path_factory.mktemp("course_results"))
    os.environ["MPLBACKEND"] = "Agg"
    # a proxy configured by the user must not swallow requests to the local test server
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    guard = pytest.MonkeyPatch()
    _guard_network(guard)
    try:
        yield cache
    finally:
        guard.undo()
        os.environ.clear()
        os.environ.update(saved)  # also drops what the test or course_lib set (e.g. PYTHONHASHSEED)


class _Handler(http.server.SimpleHTTPRequestHandler):
    timeout = 10  # seconds a stuck client may hold a server thread

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass

    def do_GET(self):
        server: LocalHTTPServer = self.server.owner
        path = self.path.split("?")[0]
        with server.lock:
            server.requests.append(path)
        cut = server.truncate.get(path)
        if cut is None:
            return super().do_GET()
        # Announce the whole file, send only its first bytes, then drop the connection: a server
        # that dies mid-transfer.
        body = (server.root / path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True


@dataclass
class LocalHTTPServer:
    """A folder (``root``) served on 127.0.0.1; ``requests`` lists every path asked for and
    ``truncate[path] = n`` makes the server send only ``n`` bytes of that file."""

    root: Path
    requests: list[str] = field(default_factory=list)
    truncate: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _httpd: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "LocalHTTPServer":
        handler = lambda *args, **kwargs: _Handler(*args, directory=str(self.root), **kwargs)  # noqa: E731
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="local-http-server")
        self._thread.start()
        return self

    def url(self, relative: str) -> str:
        return f"http://127.0.0.1:{self.port}/{relative.lstrip('/')}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the port (later connections are refused)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None


@pytest.fixture
def local_http_server(tmp_path):
    """A :class:`LocalHTTPServer` serving ``tmp_path / "served"``; stopped after the test."""
    root = tmp_path / "served"
    root.mkdir()
    server = LocalHTTPServer(root).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def closed_port_url():
    """``http://127.0.0.1:<port>`` where the port is bound but not listening: connection refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # held, so no other process can start listening there meanwhile
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def read_ledger(notebook: str) -> dict:
    """The content of ``results/<notebook>.json``. Skips when the ledger is absent, unless
    ``COURSE_REQUIRE_LEDGER=1`` (as ``make test`` sets), which turns absence into a failure."""
    from course_lib.results import Ledger

    ledger = Ledger(notebook)
    if not ledger.path.is_file():
        message = f"{ledger.path} not found: run notebooks/{notebook}.ipynb first"
        if os.environ.get("COURSE_REQUIRE_LEDGER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return ledger.read()


@pytest.fixture(scope="module")
def ledger_content(request) -> dict:
    """For a ledger test module: :func:`read_ledger` of the module's ``NOTEBOOK`` constant."""
    return read_ledger(request.module.NOTEBOOK)


@pytest.fixture(scope="module")
def models(ledger_content) -> dict:
    """The ``models`` table of the module's ledger."""
    return ledger_content["models"]


@pytest.fixture(scope="module")
def verdicts(ledger_content) -> list[dict]:
    """The ``verdicts`` the module's notebook recorded (each with its ``sentence``)."""
    return ledger_content["verdicts"]


@pytest.fixture
def ledger_of():
    """:func:`read_ledger`, for tests that read several notebooks' ledgers."""
    return read_ledger


@pytest.fixture
def one_torch_thread():
    """Tiny models train ~50x faster on one thread than on two contended ones; restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
