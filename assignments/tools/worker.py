"""Runs one submission inside the sandbox, then answers the grader's requests over the channel.

    python worker.py SUBMISSION_DIR NOTEBOOK_NAME READ_FD WRITE_FD

Copies ``SUBMISSION_DIR`` (read-only: the notebook and its public tests) into the working folder,
executes the notebook's code cells in order with IPython (magics and ``!`` lines behave as in
Jupyter; a cell that raises is recorded and the next one runs), sends ``{"ready": {"cell_errors":
[...]}}`` and serves the notebook's variables until the grader closes the channel (see
``channel.py``). Everything here runs with the student's code and is trusted for nothing: the grader
computes every score itself from the values this process returns.
"""

from __future__ import annotations

import json
import shutil
import sys

from channel import PipeTransport, WorkerEnd


def code_cells(notebook_path: str) -> list[str]:
    with open(notebook_path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    cells = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(source) if isinstance(source, list) else str(source))
    return cells


def run_cells(cells: list[str]) -> tuple[dict, list[str]]:
    """Execute ``cells`` in one IPython shell; returns its namespace and one line per failing cell."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` without a front end to draw in
    errors = []
    for number, source in enumerate(cells, start=1):
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            errors.append(f"code cell {number}: {type(error).__name__}: {str(error)[:300]}")
    return shell.user_ns, errors


def main(argv: list[str]) -> int:
    source, notebook_name, read_fd, write_fd = argv[0], argv[1], int(argv[2]), int(argv[3])
    shutil.copytree(source, ".", dirs_exist_ok=True)
    transport = PipeTransport(read_fd, write_fd)
    namespace, errors = run_cells(code_cells(notebook_name))
    transport.send({"ready": {"cell_errors": errors}})
    WorkerEnd(namespace, transport).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
