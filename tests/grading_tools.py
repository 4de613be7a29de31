"""Load the grading tools (``assignments/tools/*.py``, scripts rather than a package) in tests."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from course_lib.environment import repository_root

TOOLS = repository_root() / "assignments" / "tools"


def load_tool(name: str, prefix: str = "assignment") -> ModuleType:
    """Import ``assignments/tools/<name>.py`` as the module ``<prefix>_<name>`` (registered in sys.modules)."""
    path = TOOLS / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"no grading tool {name!r}: {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"{prefix}_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
