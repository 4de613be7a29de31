"""JupyterLab, started the way a learner starts it (``make lab``), runs notebook 00 through its UI.

The server runs headless on 127.0.0.1 at a free port with a random token, in its own process group
(stopped in a ``finally``), with everything it could write kept out of the repository:
- ``COURSE_RESULTS_DIR`` is a temporary folder (the self-check's progress line lands there);
- ``COURSE_OFFLINE=1``: notebook 00 loads every dataset, and a browser test downloads nothing (the
  offline stand-ins are what a learner without network sees);
- JupyterLab's user settings, workspaces, runtime files and checkpoints (the copy it makes of a
  notebook on opening it) live in temporary folders; the settings turn autosave off (the executed
  notebook must never be written back into notebooks/), render every cell (``windowingMode: none``,
  so the last cells are in the page) and fetch no news.
The test asserts that notebooks/00_welcome.ipynb is byte-for-byte unchanged and that no checkpoint
appeared in notebooks/.ipynb_checkpoints.
The notebook is run through the UI (menu Run -> Run All Cells), never through the REST API; the test
then waits until every code cell shows an execution count and looks for error output.

``make -o install``: the test runs in the environment ``make install`` made (make test-site depends on
it); ``-o`` keeps make from re-installing it because pyproject.toml is newer than the stamp.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "00_welcome.ipynb"
SERVER_START_S = 90     # caps, not expectations: a cold JupyterLab start on 2 busy cores
KERNEL_IDLE_MS = 90_000
RUN_ALL_S = 180

#: JupyterLab user settings for the test: {plugin settings file: values}.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}

# What an error output looks like once rendered: a traceback, or "SomethingError: ..." at a line start.
ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\s*\w*(Error|Exception)\b.*:", re.M)


#: True once the current notebook's kernel is connected and idle (``window.jupyterapp``: the
#: ``expose_app_in_browser`` option; read only, the run itself goes through the menu).
KERNEL_READY_JS = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const context = widget && widget.sessionContext;
    const kernel = context && context.isReady && context.session && context.session.kernel;
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}"""

#: The notebook's state as the page shows it: each code cell's input prompt ("[3]:" ran, "[*]:" runs or
#: waits, "[ ]:" never ran) and the text of each error output (rendered with the stderr MIME type, as a
#: stderr stream is: only a traceback or an "...Error:" line counts as an error).
STATE_JS = """() => {
    const panel = document.querySelector('.jp-NotebookPanel');
    const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim());
    const stderr = [...panel.querySelectorAll(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")].map(o => o.innerText);
    return {prompts, stderr};
}"""


def wait_for_run_all(page, count: int) -> dict:
    """Poll the page until all ``count`` code cells show an execution count, an error output appears,
    or ``RUN_ALL_S`` passes; returns {"done", "prompts", "errors"}."""
    deadline = time.monotonic() + RUN_ALL_S
    while True:
        state = page.evaluate(STATE_JS)
        errors = [text[-1500:] for text in state["stderr"] if ERROR_TEXT.search(text)]
        done = (len(state["prompts"]) == count
                and all(re.fullmatch(r"\[\d+\]:?", prompt) for prompt in state["prompts"]))
        if done or errors or time.monotonic() > deadline:
            return {"done": done, "prompts": state["prompts"], "errors": errors}
        page.wait_for_timeout(250)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_arguments(port: int, token: str, checkpoints: Path) -> str:
    """LAB_ARGS for ``make lab``: headless, loopback only, this port and token, no news check, and
    the checkpoint JupyterLab makes of an opened notebook kept in ``checkpoints``, not notebooks/."""
    arguments = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                 f"--FileCheckpoints.checkpoint_dir={shlex.quote(str(checkpoints))}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                 "--LabApp.news_url=None",
                 "--LabApp.expose_app_in_browser=True",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--allow-root")  # CI containers run as root
    return " ".join(arguments)


def write_lab_settings(folder: Path) -> None:
    for relative, values in LAB_SETTINGS.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


def wait_for_server(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll ``url`` (/api/status) until it answers 200; fail early when the server process died."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make lab exited with {process.returncode} before serving:\n{tail(log)}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer {url.split('?')[0]} within {SERVER_START_S} s:\n{tail(log)}")


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (make, jupyter), SIGKILL it if it is still there after 15 s."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def lab_server(tmp_path):
    """``make lab`` serving notebooks/ headless; yields (base URL, token, server log path)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-settings"
    write_lab_settings(settings)
    env = dict(os.environ)
    env.update({
        "COURSE_RESULTS_DIR": str(tmp_path / "results"),
        "COURSE_OFFLINE": "1",
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    arguments = lab_arguments(port, token, tmp_path / "checkpoints")
    command = ["make", "--no-print-directory", "-o", "install", "lab", f"LAB_ARGS={arguments}"]
    venv = Path(sys.prefix)
    if (venv / "bin" / "jupyter").exists():
        command.append(f"VENV={venv}")  # the environment running these tests
    log = tmp_path / "lab.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", process, log)
        yield base, token, log
    finally:
        stop_group(process)


def test_notebook_00_runs_in_jupyterlab(browser, lab_server, screenshot_dir, viewport):
    base, token, log = lab_server
    notebook_file = REPO / "notebooks" / NOTEBOOK
    before = notebook_file.read_bytes()
    checkpoint = REPO / "notebooks" / ".ipynb_checkpoints" / f"{Path(NOTEBOOK).stem}-checkpoint.ipynb"
    checkpoint_before = checkpoint.exists()
    page = browser.new_page(viewport=viewport)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}", wait_until="domcontentloaded")
        panel = page.locator(".jp-NotebookPanel").first
        panel.wait_for(state="visible", timeout=KERNEL_IDLE_MS)
        # the kernel started, its connection is up and it is idle: only then does a run reach it (the
        # toolbar's indicator says "idle" earlier, and cells run then stay unexecuted)
        page.wait_for_function(KERNEL_READY_JS, timeout=KERNEL_IDLE_MS)

        # the cells are rendered in batches: wait for as many code cells as the file has
        count = sum(cell["cell_type"] == "code" for cell in json.loads(before)["cells"])
        code_cells = panel.locator(".jp-Notebook .jp-CodeCell")
        page.wait_for_function("n => document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell').length"
                               " >= n", arg=count, timeout=KERNEL_IDLE_MS)
        assert code_cells.count() == count, f"{code_cells.count()} code cells shown, the file has {count}"
        assert panel.locator(".jp-OutputArea-output").count() == 0, "outputs shown before running (stored?)"

        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

        state = wait_for_run_all(page, count)
        if state["errors"] or not state["done"]:
            page.screenshot(path=str(screenshot_dir / "jupyterlab.png"))
        assert not state["errors"], "error output in the notebook:\n" + "\n---\n".join(state["errors"])
        assert state["done"], (f"Run All Cells did not finish within {RUN_ALL_S} s; input prompts "
                               f"{state['prompts']}\nserver log:\n{tail(log)}")
        # the last code cell (the progress table) shows its output
        last = code_cells.nth(count - 1)
        last_output = last.locator(".jp-OutputArea-output").first
        last_output.wait_for(timeout=30_000)
        assert last_output.inner_text().strip(), "the last code cell's output is empty"
        panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=30_000)
        outputs = panel.locator(".jp-OutputArea-output").count()
        assert outputs >= count // 2, f"only {outputs} outputs for {count} code cells"
        # the run's own HTML output arrived (a dataset table of notebook 00)
        assert panel.locator(".jp-OutputArea-output table").count() >= 1, "no table rendered"
        # the screenshot shows the last code cell, its execution count and its output, at the top
        last.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(screenshot_dir / "jupyterlab.png"))
        assert not page_errors, f"JavaScript errors in JupyterLab: {page_errors}"
    finally:
        page.close()
    assert notebook_file.read_bytes() == before, f"notebooks/{NOTEBOOK} was modified by the test"
    assert checkpoint_before or not checkpoint.exists(), f"JupyterLab wrote {checkpoint} (in the repository)"
