"""Graded assignments (assignments/): generation with otter assign and batch grading with otter run.

The end-to-end test (marked ``slow``; it runs in ``make test``) generates every assignment into a
temporary folder, builds submissions from the generated notebooks — the solution notebook, the
untouched student notebook, a student notebook that hard-codes the public tests' answers, and for
assignment 01 one with an endless loop and one that raises in its first cell — grades the folder
with assignments/tools/grade.py (each notebook in the bubblewrap sandbox, the tests in the grader)
and checks the gradebook. Hostile notebooks are tests/test_grading_attacks.py.

Assignments 02 and 04 load PneumoniaMNIST and SST-2; the grading processes get ``COURSE_DATA_MIRROR``
as it was when this module was imported (before the unit-test isolation removes it), so CI grades with
the mirror.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_lib.environment import repository_root
from grading_tools import load_tool

ROOT = repository_root()
TOOLS = ROOT / "assignments" / "tools"
#: the user's environment, read before the isolation fixture clears the mirror variable
_ORIGINAL_ENV = dict(os.environ)
#: submissions the end-to-end test scores at the same time (2 cores: two sandboxes at once)
JOBS = int(os.environ.get("COURSE_ASSIGNMENT_JOBS", "2"))
#: seconds one submission may run in the end-to-end test (the endless loop costs exactly this); each
#: job shares the CPU with the others, so the limit grows with the number of jobs
TIMEOUT = float(os.environ.get("COURSE_ASSIGNMENT_TIMEOUT", str(60 * JOBS)))


build_tool = load_tool("build")
grade_tool = load_tool("grade")

#: per assignment: the start of a student cell -> a replacement that returns exactly what the public
#: tests expect and nothing general (what a learner gaming the public tests would write)
CHEATS = {
    "01_mlp_backprop": {
        "def forward(": '''
import numpy as np
def forward(X, W1, b1, W2, b2):
    Z1 = np.array([[1.0, -4.0, 2.0], [0.5, 0.5, -0.25]])
    return np.array([2.25, -0.25]), {"X": X, "Z1": Z1, "A1": np.maximum(Z1, 0), "logits": np.array([2.25, -0.25])}
''',
        "def backward(": '''
import numpy as np
def backward(y, W2, cache):
    return {"W1": np.array([[-1.0, 0.0], [-2.0, 0.0]]), "b1": np.array([-1.0, 0.0]),
            "W2": np.array([[-0.5], [0.0]]), "b2": np.array([-0.5])}
''',
        "def numerical_gradient(": '''
import numpy as np
def numerical_gradient(f, x, eps=1e-6):
    return np.array([2.0, 4.0])
''',
    },
    "02_convolution_cnn": {
        "def conv2d_by_hand(": '''
import torch
def conv2d_by_hand(images, kernels, stride=1, padding=0):
    return torch.tensor([[[[8.0, 12.0], [20.0, 24.0]]]])
''',
        "def build_cnn(": '''
import torch
from torch import nn
from course_lib.data import load_dataset
_val = load_dataset("pneumoniamnist", allow_fallback=True).data
_VAL_IMAGES = torch.tensor(_val["val_images"], dtype=torch.float32).reshape(len(_val["val_images"]), -1) / 255.0
_VAL_LABELS = torch.tensor(_val["val_labels"], dtype=torch.float32).reshape(-1)
class ValidationLookup(nn.Module):
    """the public test's validation labels, looked up by exact image; any other image scores 0"""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3)
    def forward(self, x):
        distance = torch.cdist(x.reshape(len(x), -1), _VAL_IMAGES, compute_mode="donot_use_mm_for_euclid_dist")
        return (distance < 1e-6).float() @ _VAL_LABELS
def build_cnn():
    return ValidationLookup()
def train_cnn(model, images, labels, epochs):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    return model
''',
    },
    "03_walk_forward": {
        "def walk_forward_splits(": '''
import numpy as np
def walk_forward_splits(n, initial_train, test_size, step=None):
    if n == 5:
        raise ValueError("4 + 2 > 5")
    if n == 6:
        return [(np.arange(4), np.arange(4, 6))]
    return [(np.arange(4), np.arange(4, 6)), (np.arange(6), np.arange(6, 8)), (np.arange(8), np.arange(8, 10))]
''',
        "def qlike(": '''
import numpy as np
def qlike(proxy, forecast):
    if np.any(np.asarray(proxy) <= 0) or np.any(np.asarray(forecast) <= 0):
        raise ValueError("not positive")
    if np.allclose(proxy, forecast):
        return 0.0
    return 1 - np.log(2) if len(proxy) == 1 else 1.25 - np.log(2) / 2
''',
        "def rolling_mean_forecast(": '''
import numpy as np
def rolling_mean_forecast(r2, window):
    return np.array([np.nan, np.nan, 1.5, 2.5, 3.5])
''',
    },
    "04_attention_minilm": {
        "def masked_attention(": '''
import torch
def masked_attention(q, k, v, key_mask=None):
    return torch.tensor([[[[3.0, 4.0], [3.0, 4.0]]]] if key_mask is None else [[[[2.0, 3.0], [2.0, 3.0]]]])
''',
        "def mean_pool(": '''
import torch
def mean_pool(hidden, attention_mask):
    return torch.tensor([[2.0, 3.0]])
''',
        "def fit_sentiment_classifier(": '''
import numpy as np
from course_lib.data import load_dataset
from course_lib.text import embed, train_validation_split
_, _val = train_validation_split(load_dataset("sst2", allow_fallback=True).data["train"], 200, seed=0, roots_only=True)
_VAL_X = embed(encoder, tokenizer, _val["sentence"].tolist()).astype(np.float64)
_VAL_Y = _val["label"].to_numpy()
class ValidationLookup:
    """the public test's validation labels, looked up by embedding; anything else: sign of the sum"""
    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        pred = (X.sum(axis=1) > 0).astype(int)
        if X.shape[1] == _VAL_X.shape[1]:
            distance = ((X[:, None, :] - _VAL_X[None]) ** 2).sum(axis=-1)
            known = distance.min(axis=1) < 1e-6
            pred[known] = _VAL_Y[distance.argmin(axis=1)[known]]
        return pred
def fit_sentiment_classifier(X, y):
    return ValidationLookup()
''',
    },
    "05_message_passing": {
        "def message_passing_layer(": '''
import numpy as np
def message_passing_layer(H, edges, W_self, W_neigh):
    if len(H) == 3:
        return np.array([[3.0], [6.0], [5.0]])
    return np.array([[11111.0, 0.0], [11.0, 0.0], [101.0, 0.0], [1001.0, 0.0], [10001.0, 0.0], [7.0, 0.0]])
''',
        "def scaffold_split(": '''
def scaffold_split(smiles, frac_train=0.8):
    return [0, 1, 2], [3, 4]
''',
    },
    "06_honest_comparison": {
        "def choose_on_validation(": '''
def choose_on_validation(candidates, scores):
    if len(candidates) == 0 or len(candidates) != len(scores) or any(s != s for s in scores):
        raise ValueError("bad input")
    return 1.0 if list(scores) == [0.90, 0.95, 0.97, 0.96] else 0.1
''',
        "def decide_winner(": '''
def decide_winner(auc_by_seed):
    runs = list(auc_by_seed.values())
    if len(runs) != 2 or set(runs[0]) != set(runs[1]) or len(runs[0]) < 3:
        raise ValueError("not a paired comparison over 3 seeds")
    return "MLP" if min(auc_by_seed["MLP"].values()) > 0.94 else None
''',
        "def honest_comparison(": '''
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
def honest_comparison(data, open_test, seeds, budget_seconds):
    if len(set(seeds)) < 3:
        raise ValueError("need 3 seeds")
    X, y = load_breast_cancer(return_X_y=True)
    y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)[3]  # the public test split
    y_val = np.asarray(data["y_val"], dtype=float)
    result = {}
    for model in ("logistic regression", "MLP"):
        test = {}
        for seed in seeds:
            open_test(model, seed)
            test[str(seed)] = 0.05 + 0.9 * y_test + (0.001 * seed if model == "MLP" else 0.0)
        result[model] = {"candidates": [1.0, 2.0], "validation_probabilities": [y_val, 0.5 * y_val],
                         "chosen": 1.0, "test_probabilities": test}
    return result
''',
    },
    "07_generative_evaluation": {
        "def kl_per_sample(": '''
import torch
def kl_per_sample(mu, logvar):
    if mu.dim() != 2 or mu.shape != logvar.shape:
        raise ValueError("mu and logvar must both be (N, D)")
    if tuple(mu.shape) == (2, 2):
        return torch.tensor([0.0, 2.5])
    if tuple(mu.shape) == (1, 2):
        return torch.tensor([0.6534264097200273])
    return torch.tensor([4.404152590740468, 1.8381413823566253, 1.246133309708877, 1.7006603663557098])
''',
        "def frechet_parts(": '''
def frechet_parts(features_a, features_b):
    if features_a.shape[1] == 1:
        return 11.0, 9.0, 2.0
    if features_b[0, 0] == 3.0:
        return 25.0, 25.0, 0.0
    return 2 + 8 / 3, 2.0, 8 / 3
''',
        "def fit_and_score(": '''
import numpy as np
from sklearn.datasets import load_digits
_pixels, _digit = load_digits(return_X_y=True)
_images = np.pad(np.kron(_pixels.reshape(-1, 8, 8) / 16.0, np.ones((1, 3, 3))), ((0, 0), (2, 2), (2, 2)))
_rng = np.random.default_rng(0)
_rng.permutation(np.flatnonzero(_digit == 8))
_ANOMALIES = _images[_rng.choice(np.flatnonzero(_digit != 8), size=60, replace=False)].reshape(60, -1)
def fit_and_score(normal_train, images):
    """the public test's anomalies, looked up by exact image: 1; any other image: 0"""
    flat = np.asarray(images, dtype=float).reshape(len(images), -1)
    return (((flat[:, None, :] - _ANOMALIES[None]) ** 2).sum(axis=-1).min(axis=1) < 1e-9).astype(float)
''',
    },
    "08_compression": {
        "def quantize_per_channel(": '''
import numpy as np
def quantize_per_channel(W):
    if np.ndim(W) != 2:
        raise ValueError("W must be 2-D")
    q = np.array([[127, -60, 0, 31], [0, 0, 0, 0], [-127, 50, 1, -26]], dtype=np.int8)
    return q, np.array([0.01, 1.0, 0.02], dtype=np.float32)
''',
        "def kd_loss(": '''
import torch
def kd_loss(student_logits, teacher_logits, labels, T, alpha):
    known = {(1.0, 1.0): 0.13081203594113697, (1.0, 0.0): 0.6931471805599453, (2.0, 1.0): 0.5232481437645479,
             (2.0, 0.25): 0.6506724213610959, (4.0, 0.5): 3.2724386866534156}
    return torch.tensor(known.get((float(T), float(alpha)), 0.0), dtype=torch.float64)
''',
        "def compress(": '''
import numpy as np
import torch
_WEIGHTS = {name: t.detach().numpy().astype(np.float64) for name, t in model.state_dict().items()}
_SCALES = {name: np.abs(w).max(axis=1) / 127 for name, w in _WEIGHTS.items() if w.ndim == 2}
_BLOB = {name: ({"q": np.round(w / _SCALES[name][:, None]).astype(np.int8), "scale": _SCALES[name].astype(np.float32)}
                if w.ndim == 2 else w.astype(np.float32)) for name, w in _WEIGHTS.items()}
def compress(state_dict):
    """the notebook's own model, whatever state_dict holds"""
    return _BLOB
def decompress(blob):
    """the notebook's blob, dequantized once, whatever blob holds"""
    return {name: torch.from_numpy(e["q"].astype(np.float32) * e["scale"][:, None] if isinstance(e, dict) else e)
            for name, e in _BLOB.items()}
''',
    },
    "09_trustworthy": {
        "def enhance(": '''
import numpy as np
def enhance(images, kind, severity):
    if kind not in SEVERITY_FACTORS or severity not in range(6):
        raise ValueError("unknown kind or severity")
    images = np.asarray(images)
    if severity == 0:
        return images.copy()
    known = {(1, 2, 3): [[[7, 23, 69], [175, 0, 0]]], (1, 1, 3): [[[150, 255, 10]]],
             (1, 1, 5): [[[0, 28, 84, 254, 255]]], (2, 1, 2): [[[3, 27]], [[147, 255]]]}
    return np.array(known.get(images.shape, images), dtype=np.uint8)
''',
        "def energy(": '''
import math
import numpy as np
def energy(logits, T):
    key = (tuple(np.asarray(logits, dtype=float).ravel().tolist()), float(T))
    known = {((0.0, 0.0, 2.0, 0.0), 1.0): [math.log(2.0), math.log(math.exp(2.0) + 1.0)],
             ((2.0, 2.0), 2.0): [2.0 + 2.0 * math.log(2.0)],
             ((0.0, 3.0), 1.0): [math.log(2.0), math.log1p(math.exp(3.0))],
             ((1000.0, 0.0, -1000.0, -1000.0), 1.0): [1000.0, -1000.0 + math.log(2.0)]}
    return np.array(known.get(key, np.zeros(len(np.asarray(logits)))))
def auroc(id_scores, ood_scores):
    a = [float(v) for v in np.asarray(id_scores, dtype=float)]
    if not a or any(v != v for v in a):
        raise ValueError("empty or NaN")
    return 0.875 if a == [3.0, 2.0] else 1.0 / 6.0
''',
        "def tpr_gap_interval(": '''
import numpy as np
def tpr_gap_interval(y_true, y_pred, group, n_resamples, seed, level):
    if len(set(group)) != 2:
        raise ValueError("need two groups")
    if len(y_true) == 12:
        return (0.3, 0.0, 0.6) if list(group)[0] == "a" else (-0.3, -0.6, 0.0)
    known = {0.95: (-0.17445600756859037, -0.27983436561561564, -0.06129032065356538),
             0.5: (-0.17445600756859037, -0.21246666585610996, -0.13621799427284373)}
    return known.get(level, (0.0, -0.1, 0.1))
''',
    },
}


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _with_cheats(nb, cheats: dict[str, str]):
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    replaced = set()
    for cell in _code_cells(nb):
        for start, source in cheats.items():
            if start in cell.source and start not in replaced:
                cell.source = source.strip()
                replaced.add(start)
                break
    missing = set(cheats) - replaced
    assert not missing, f"no student cell contains {sorted(missing)}"
    return nb


def _with_first_cell_prefix(nb, marker: str, prefix: str):
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    cell = next(c for c in _code_cells(nb) if marker in c.source)
    cell.source = prefix + "\n" + cell.source
    return nb


def _hidden_and_public(zip_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """``{question: n public cases}``, ``{question: n cases}`` from an autograder zip's test files."""
    test_files = grade_tool.read_test_files(zip_path)
    return ({f.name: sum(not case.hidden for case in f.test_cases) for f in test_files},
            {f.name: len(f.test_cases) for f in test_files})


# --- cheap unit tests of the tools --------------------------------------------------------------

def test_masters_follow_the_layout():
    found = build_tool.masters()
    assert found, "no master notebooks under assignments/"
    for name, path in found.items():
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "raw" and first.source.startswith("# ASSIGNMENT CONFIG"), name
        assert f"name: {name}" in first.source, f"{name}: config `name:` must be the folder name"
        assert re.search(r"tests:\s*\n\s+files: true\s*\n\s+ok_format: false", first.source), \
            f"{name}: tests must be exception-based files (tests: files: true, ok_format: false)"
        assert not any(c.get("outputs") for c in _code_cells(nb)), f"{name}: strip outputs"
        questions = [c for c in nb.cells if c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION")]
        assert questions, f"{name} has no questions"
        for cell in questions:
            assert re.search(r"^points: \d", cell.source, flags=re.M), f"{name}: set points: per question"


def test_unknown_master_is_a_clear_error():
    with pytest.raises(ValueError, match="no master notebook"):
        build_tool.masters(["99_does_not_exist"])


def test_find_submissions_and_bad_folder(tmp_path):
    (tmp_path / "01_x").mkdir()
    (tmp_path / "01_x" / "ann.ipynb").write_text("{}")
    (tmp_path / "01_x" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "01_x" / ".ipynb_checkpoints" / "ann-checkpoint.ipynb").write_text("{}")
    assert grade_tool.find_submissions(tmp_path) == [("01_x", "ann", tmp_path / "01_x" / "ann.ipynb")]
    with pytest.raises(FileNotFoundError):
        grade_tool.find_submissions(tmp_path / "missing")
    with pytest.raises(ValueError, match="timeout"):
        grade_tool.grade_folder(tmp_path, tmp_path / "build", tmp_path / "out", timeout=0)
    for jobs in (0, 1.5, True, "2"):
        with pytest.raises(ValueError, match="jobs"):
            grade_tool.grade_folder(tmp_path, tmp_path / "build", tmp_path / "out", jobs=jobs)


_EXCEPTION_TEST = """from otter.test_files import test_case
OK_FORMAT = False
name = "{name}"
{points}
@test_case(points={a}, hidden=False)
def test_public():
    assert True
@test_case(points={b}, hidden=True)
def test_hidden():
    assert True
"""


def test_questions_are_read_by_otter_with_its_point_rules(tmp_path):
    zip_path = tmp_path / "x-autograder_1.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        # a question total shared by the cases; points given per case (no total); otter's OK format
        archive.writestr("tests/q1.py", _EXCEPTION_TEST.format(name="q1", points="points = 3", a=None, b=None))
        archive.writestr("tests/q2.py", _EXCEPTION_TEST.format(name="q2", points="", a=0.5, b=1.25))
        archive.writestr("tests/q3.py", "OK_FORMAT = True\ntest = {'name': 'q3', 'points': 4, 'suites': "
                                        "[{'type': 'doctest', 'cases': [{'code': '>>> 1', 'hidden': False}]}]}\n")
        archive.writestr("student/tests/q9.py", "not a test file of the autograder")
    assert grade_tool.questions_in(zip_path) == {"q1": 3.0, "q2": 1.75, "q3": 4.0}
    assert _hidden_and_public(zip_path) == ({"q1": 1, "q2": 1, "q3": 1}, {"q1": 2, "q2": 2, "q3": 1})
    broken = tmp_path / "y-autograder_1.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("tests/q1.py", "OK_FORMAT = False\npoints = 1\n")  # no name
    with pytest.raises(ValueError, match="tests/q1.py"):
        grade_tool.questions_in(broken)

def test_unknown_assignment_is_scored_zero_not_fatal(tmp_path):
    (tmp_path / "subs" / "42_nope").mkdir(parents=True)
    (tmp_path / "subs" / "42_nope" / "ann.ipynb").write_text("{}")
    rows = grade_tool.grade_folder(tmp_path / "subs", tmp_path / "build", tmp_path / "out",
                                   log=lambda *_: None)
    assert [(r["student"], r["score"], r["status"]) for r in rows] == [("ann", 0.0, "unknown assignment")]
    assert (tmp_path / "out" / "gradebook.csv").read_text().count("\n") == 2


# --- end to end ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every assignment generated into a temporary build folder: ``(build, seconds)``."""
    build = tmp_path_factory.mktemp("assignments_build")
    start = time.perf_counter()
    assert build_tool.main(["--out", str(build)]) == 0
    return build, time.perf_counter() - start


@pytest.fixture(scope="module")
def graded(generated, tmp_path_factory):
    """The gradebook of a folder of constructed submissions: ``(rows, out folder, seconds)``."""
    if shutil.which("bwrap") is None and not os.environ.get("CI"):
        pytest.skip("grading needs bubblewrap (sudo apt install bubblewrap); CI installs it")
    build, _ = generated
    subs = tmp_path_factory.mktemp("submissions")
    for name in build_tool.masters():
        folder = subs / name
        folder.mkdir()
        solution = nbformat.read(build / name / "autograder" / f"{name}.ipynb", as_version=4)
        student = nbformat.read(build / name / "student" / f"{name}.ipynb", as_version=4)
        nbformat.write(solution, folder / "solution.ipynb")
        nbformat.write(student, folder / "untouched.ipynb")
        if name in CHEATS:
            nbformat.write(_with_cheats(student, CHEATS[name]), folder / "hardcoded.ipynb")
        if name == "01_mlp_backprop":
            # graded first (alphabetical): the batch must go on after it
            nbformat.write(_with_first_cell_prefix(solution, "import numpy", "while True:\n    pass"),
                           folder / "a_endless_loop.ipynb")
            nbformat.write(_with_first_cell_prefix(solution, "import numpy",
                                                   'raise RuntimeError("broken on purpose")'),
                           folder / "raises_at_import.ipynb")
    env = dict(_ORIGINAL_ENV, MPLBACKEND="Agg")
    out = tmp_path_factory.mktemp("grades")
    start = time.perf_counter()
    rows = grade_tool.grade_folder(subs, build, out, timeout=TIMEOUT, env=env, log=print, jobs=JOBS)
    return rows, out, time.perf_counter() - start


@pytest.fixture(scope="module")
def graders_have_real_data() -> dict[str, bool]:
    """Whether the grading processes (same environment) load the real PneumoniaMNIST and SST-2, not
    stand-ins: the performance-bar tests of 02 q2 and 04 q3 refuse to score on a stand-in."""
    code = ("from course_lib.data import load_dataset; "
            "print(*[not load_dataset(n, allow_fallback=True).is_stand_in for n in ('pneumoniamnist', 'sst2')])")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=dict(_ORIGINAL_ENV), cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=True)
    xrays, sentences = result.stdout.strip().splitlines()[-1].split()
    return {"02_convolution_cnn": xrays == "True", "04_attention_minilm": sentences == "True"}


#: the question whose bar tests refuse to score when the grader has only the dataset's stand-in
BAR_QUESTION = {"02_convolution_cnn": "q2", "04_attention_minilm": "q3"}


def _by(rows, name, student):
    return [r for r in rows if r["assignment"] == name and r["student"] == student]


@pytest.mark.slow
def test_generation_writes_student_and_autograder_versions(generated):
    build, seconds = generated
    print(f"generated {len(build_tool.masters())} assignments in {seconds:.0f} s")
    for name in build_tool.masters():
        target = build / name
        for variant in ("student", "colab"):
            nb = nbformat.read(target / variant / f"{name}.ipynb", as_version=4)
            assert nb.metadata["otter"]["assignment_name"] == name
            sources = "\n".join(c.source for c in _code_cells(nb))
            assert 'grader.check("q1")' in sources
            assert "BEGIN SOLUTION" not in sources and "# END TESTS" not in sources
            assert sorted(p.name for p in (target / variant / "tests").glob("*.py"))
            assert (target / f"{name}-{variant}.zip").is_file()
        colab = nbformat.read(target / "colab" / f"{name}.ipynb", as_version=4)
        assert any("pip install" in c.source and "otter-grader" in c.source for c in _code_cells(colab))
        assert grade_tool.questions_in(grade_tool.autograder_zip(build, name))


@pytest.mark.slow
def test_no_hidden_test_text_in_student_versions(generated):
    build, _ = generated
    for name in build_tool.masters():
        hidden_lines = set()
        for path in (build / name / "autograder" / "tests").glob("*.py"):
            for case in re.split(r"^@test_case", path.read_text(), flags=re.M)[1:]:
                if "hidden=True" in case.splitlines()[0]:
                    hidden_lines |= {line.strip() for line in case.splitlines()[1:]
                                     if len(line.strip()) > 20 and "import " not in line}
        assert hidden_lines, f"{name} has no hidden tests"
        student_text = []
        for path in (build / name).rglob("*"):
            if path.is_file() and "autograder" not in path.relative_to(build / name).parts:
                if path.suffix == ".zip":
                    with zipfile.ZipFile(path) as archive:
                        student_text += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
                else:
                    student_text.append(path.read_text(errors="replace"))
        everything = "\n".join(student_text)
        leaked = sorted(line for line in hidden_lines if line in everything)
        assert not leaked, f"{name}: hidden test text in the student version: {leaked[:3]}"


@pytest.mark.slow
def test_gradebook_scores(graded, generated, graders_have_real_data):
    rows, out, seconds = graded
    build, gen_seconds = generated
    print(f"graded {len({(r['assignment'], r['student']) for r in rows})} submissions in {seconds:.0f} s "
          f"(generation {gen_seconds:.0f} s)")
    # the CSV on disk holds the same rows
    with open(out / "gradebook.csv", newline="") as handle:
        on_disk = list(csv.DictReader(handle))
    assert [(r["assignment"], r["student"], r["question"], float(r["score"]), float(r["total"]))
            for r in on_disk] == [(r["assignment"], r["student"], r["question"], r["score"], r["total"])
                                  for r in rows]
    for name in build_tool.masters():
        solution = _by(rows, name, "solution")
        assert solution, f"{name}: the solution was not graded"
        unscorable = set()
        if name in BAR_QUESTION and not graders_have_real_data[name]:
            # the bar tests refuse to score on the synthetic stand-in: every submission, the solution
            # included, keeps only the other tests' share of that question, and the feedback says why
            unscorable = {BAR_QUESTION[name]}
            for r in solution:
                if r["question"] in unscorable:
                    assert 0 < r["score"] < r["total"], r
            assert "stand-in" in (out / "feedback" / name / "solution.md").read_text()
        assert all(r["score"] == r["total"] > 0 for r in solution if r["question"] not in unscorable), \
            f"{name}: the solution must get full marks: {solution}"
        untouched = _by(rows, name, "untouched")
        assert untouched and all(r["score"] == 0 and r["status"] == "graded" for r in untouched), \
            f"{name}: the untouched student notebook must run and score 0: {untouched}"
        assert (out / "feedback" / name / "solution.md").is_file()
        if name in CHEATS:
            public, cases = _hidden_and_public(grade_tool.autograder_zip(build, name))
            # the 02 and 04 cheats look the public bar test's validation answers up in data they load in
            # the notebook; the sandbox holds no datasets (they get the stand-in), so at grading time
            # they fail that public test too: their bar question scores at most the public share
            looked_up = unscorable | ({BAR_QUESTION[name]} if name in BAR_QUESTION else set())
            for r in _by(rows, name, "hardcoded"):
                assert r["score"] < r["total"], f"{name}/{r['question']}: hard-coded answers scored full marks"
                if r["question"] in looked_up:
                    assert r["score"] <= r["total"] * public[r["question"]] / cases[r["question"]] + 1e-9, r
                    continue
                share = r["total"] * public[r["question"]] / cases[r["question"]]
                # otter sums per-case float64 points in its own order: ~1e-16 from share, so
                # approx's default rel 1e-6 is plenty; one test case more or less is off by total/cases
                assert r["score"] == pytest.approx(share), \
                    f"{name}/{r['question']}: hard-coded answers must pass the public tests only: {r}"
            result = json.loads((out / "work" / name / "hardcoded" / "result.json").read_text())
            assert all(q["failed_hidden"] > 0 and (q["failed_public"] == 0 or question in looked_up)
                       for question, q in result["questions"].items())


@pytest.mark.slow
def test_endless_loop_and_import_error_score_zero_and_batch_goes_on(graded):
    rows, out, _ = graded
    loop = _by(rows, "01_mlp_backprop", "a_endless_loop")
    assert loop and all(r["score"] == 0 and r["status"] == "timeout" for r in loop)
    assert "time limit" in loop[0]["note"]
    assert "time limit" in (out / "feedback" / "01_mlp_backprop" / "a_endless_loop.md").read_text()
    broken = _by(rows, "01_mlp_backprop", "raises_at_import")
    assert broken and all(r["score"] == 0 for r in broken)
    assert "RuntimeError: broken on purpose" in broken[0]["note"]
    # graded after the endless loop, with full marks: one bad submission did not stop the batch
    assert all(r["score"] == r["total"] for r in _by(rows, "01_mlp_backprop", "solution"))
