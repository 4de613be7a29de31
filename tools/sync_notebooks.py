"""Keep every notebook's Colab setup cell identical and generated from pyproject.toml, and keep
notebooks free of outputs.

    python tools/sync_notebooks.py           # rewrite the setup cell, strip outputs
    python tools/sync_notebooks.py --check   # exit 1 if any notebook is out of sync (used by tests)

The setup cell is the first code cell, tagged ``colab-setup``. It does nothing locally or on Binder;
on Colab it clones the repository and installs course_lib.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_meta import repository_url  # noqa: E402

from course_lib import catalogue  # noqa: E402
from course_lib.environment import repository_root  # noqa: E402

TAG = "colab-setup"


def setup_cell_source() -> str:
    return f'''# Colab only: fetch the course and install course_lib. Locally and on Binder this does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPO_URL = "{repository_url()}"
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "/content/course"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")'''


def notebook_paths(root: str | os.PathLike | None = None) -> list[Path]:
    """The course notebooks of the catalogue that exist, then the assignments' master notebooks."""
    root = Path(root) if root is not None else repository_root()
    return catalogue.available_paths(root) + sorted((root / "assignments").glob("*/*.ipynb"))


def problems_in(nb) -> list[str]:
    problems = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code or TAG not in code[0].metadata.get("tags", []):
        problems.append(f"first code cell is not tagged {TAG!r}")
    elif code[0].source != setup_cell_source():
        problems.append("Colab setup cell differs from tools/sync_notebooks.py's")
    if any(c.get("outputs") or c.get("execution_count") for c in code):
        problems.append("has stored outputs or execution counts")
    return problems


def sync(nb) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and TAG in code[0].metadata.get("tags", []):
        code[0].source = setup_cell_source()
    else:
        cell = nbformat.v4.new_code_cell(setup_cell_source(), metadata={"tags": [TAG]})
        first_code = nb.cells.index(code[0]) if code else len(nb.cells)
        nb.cells.insert(first_code, cell)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    parser.add_argument("paths", nargs="*", type=Path)
    args = parser.parse_args()
    failed = False
    for path in args.paths or notebook_paths():
        nb = nbformat.read(path, as_version=4)
        if args.check:
            for problem in problems_in(nb):
                print(f"{path.name}: {problem}")
                failed = True
        else:
            sync(nb)
            nbformat.write(nb, path)
    if args.check and failed:
        print("run: make sync")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
