"""The grader's trusted layer in pieces: the data-only channel (assignments/tools/channel.py), names as
data and spreadsheet-safe cells (grade.py), and the sandbox's confinement (sandbox.py, needs
bubblewrap). The whole grader against hostile notebooks is tests/test_grading_attacks.py."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_lib.environment import repository_root

TOOLS = repository_root() / "assignments" / "tools"
sys.path.insert(0, str(TOOLS))

import channel  # noqa: E402
import grade  # noqa: E402
import sandbox  # noqa: E402


def _round_trip(value):
    return channel.from_wire(json.loads(json.dumps(channel.to_wire(value, _refuse))))


def _refuse(value):
    raise TypeError(f"not data: {type(value).__name__}")


# --- the codec ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [None, True, 3, -2.5, "text", [1, "a"], (1, (2, 3)), {"a": [1.0, None]}])
def test_plain_values_round_trip(value):
    assert _round_trip(value) == value
    assert type(_round_trip(value)) is type(value)


def test_arrays_and_tensors_keep_dtype_shape_and_bits():
    for dtype in (np.float32, np.float64, np.int64, np.uint8, np.bool_):
        array = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
        back = _round_trip(array)
        assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array)
    tensor = torch.randn(3, 2, requires_grad=True)
    back = _round_trip({"w": tensor})["w"]
    assert isinstance(back, torch.Tensor) and not back.requires_grad and torch.equal(back, tensor.detach())
    assert _round_trip(np.float32(1.5)) == 1.5 and type(_round_trip(np.int64(7))) is int


def test_zero_dimensional_arrays_and_tensors_keep_their_empty_shape():
    # a q1 answer that wrongly squeezes (1,) to () must not pass the grader while failing locally
    assert _round_trip(np.array(2.5)).shape == ()
    back = _round_trip(torch.tensor(0.25))
    assert isinstance(back, torch.Tensor) and back.shape == () and back.item() == 0.25
    assert _round_trip(torch.zeros(1)).shape == (1,)


def test_what_is_not_data_is_handed_to_export():
    seen = []
    wire = channel.to_wire([np.array(["a"], dtype=object), {1: 2}, lambda: 0, {1, 2}],
                           lambda v: seen.append(type(v).__name__) or {"$": "handle", "id": len(seen)})
    assert seen == ["ndarray", "dict", "function", "set"]
    assert all(item["$"] == "handle" for item in wire)


@pytest.mark.parametrize("bad", [
    {"$": "ndarray", "dtype": "|O", "shape": [1], "b64": ""},                                 # object array
    {"$": "ndarray", "dtype": "<f8", "shape": [3], "b64": base64.b64encode(b"\0" * 16).decode()},  # size
    {"$": "ndarray", "dtype": "<f8", "shape": [-1], "b64": ""},                                # shape
    {"$": "pickle", "data": "gASV"},                                                          # unknown tag
    {"$": "handle", "id": 1},                                                                 # no handles here
    {"no": "tag"},
])
def test_malformed_values_are_refused(bad):
    with pytest.raises(channel.ChannelError):
        channel.from_wire(bad)


def test_deep_nesting_is_refused():
    value = []
    for _ in range(100):
        value = [value]
    with pytest.raises(channel.ChannelError, match="nested"):
        channel.from_wire(value)


@pytest.fixture
def pipe():
    """A fresh pipe ``(read_fd, write_fd)``, closed after the test."""
    read_fd, write_fd = os.pipe()
    yield read_fd, write_fd
    os.close(read_fd)
    os.close(write_fd)


def test_oversized_message_is_refused(pipe):
    read_fd, write_fd = pipe
    os.write(write_fd, (10**9).to_bytes(8, "big"))
    with pytest.raises(channel.ChannelError, match="refused a message"):
        channel.PipeTransport(read_fd, write_fd, max_bytes=1000).receive()


def test_a_message_of_many_containers_is_refused(pipe):
    transport = channel.PipeTransport(*pipe)
    # the message is larger than a pipe's buffer: send it from a thread while this one reads
    sender = threading.Thread(target=transport.send, args=([[]] * (channel.MAX_CONTAINERS + 1),))
    sender.start()
    with pytest.raises(channel.ChannelError, match="lists and objects"):
        transport.receive()
    sender.join(timeout=10)
    assert not sender.is_alive()


def test_reading_keeps_to_the_deadline(pipe):
    transport = channel.PipeTransport(*pipe)
    transport.time_left = 0.2
    start = time.monotonic()
    with pytest.raises(channel.ChannelTimeout):
        transport.receive()
    assert time.monotonic() - start < 2


# --- proxies ----------------------------------------------------------------------------------------

class _Model:
    scale = 2.0

    def __call__(self, x):
        return np.asarray(x) * self.scale

    def fit(self, x):
        return self


def test_loopback_proxies_call_read_and_call_back():
    def numerical_gradient(f, x, eps=1e-6):
        return np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(len(x))])

    def broken():
        raise ValueError("student bug")

    env = channel.loopback({"numerical_gradient": numerical_gradient, "model": _Model(), "broken": broken,
                            "answer": 42})
    # the callable the test passes runs in the grader; the student's code only sees its results
    grad = env["numerical_gradient"](lambda v: float((v ** 2).sum()), np.array([1.0, -2.0]))
    # central differences of a quadratic are exact up to float64 rounding of (f(x+h) - f(x-h)) / 2h: ~1e-9
    np.testing.assert_allclose(grad, [2.0, -4.0], atol=1e-6)
    model = env["model"]
    assert isinstance(model, channel.Remote) and env["answer"] == 42
    assert model.scale == 2.0
    np.testing.assert_array_equal(model.fit([1])([1, 2]), [2.0, 4.0])  # a handle goes back as itself
    with pytest.raises(AttributeError, match="public"):
        model.__dict__  # noqa: B018
    with pytest.raises(AttributeError):
        model.scale = 3
    with pytest.raises(channel.StudentError, match="ValueError: student bug"):
        env["broken"]()
    assert env.get("not_defined") is None and "not_defined" not in env
    with pytest.raises(TypeError, match="cannot be sent"):
        env["model"](object())


# --- names and cells ----------------------------------------------------------------------------------

def test_student_keys_are_safe_and_distinct():
    names = ["alice", 'o"brien', "$(touch x)", "../../etc/passwd", "a\nb", "ünïcode", "x" * 200, ".hidden",
             "-rf", "alice-" + "0" * 10]
    keys = grade.student_keys(names)
    assert keys["alice"] == "alice"
    assert len(set(keys.values())) == len(names)
    for key in keys.values():
        assert key == Path(key).name and not key.startswith((".", "-")) and len(key) <= 80
        assert all(ch.isalnum() or ch in "_.-" for ch in key) and key.isascii()
    # a student who names their file after another's key does not get that key
    taken = grade.student_keys(['o"brien', keys['o"brien']])
    assert len(set(taken.values())) == 2


def test_spreadsheet_formulas_are_neutralised():
    assert [grade.spreadsheet_safe(v) for v in ["=1+1", "+x", "-y", "@z", "\tq", "alice", 3.0]] == \
        ["'=1+1", "'+x", "'-y", "'@z", "'\tq", "alice", 3.0]


def test_plain_text_strips_control_characters_and_fences():
    text = grade.plain_text("a\x1b[31mred\x00```\nend" + "x" * 1000, limit=50)
    assert "\x1b" not in text and "\x00" not in text and "```" not in text and text.endswith("[...]")


def test_one_line_cannot_fake_a_line():
    assert "\n" not in grade.one_line("bob\n01_mlp_backprop/alice: 7/7\r\n") and "⏎" in grade.one_line("a\nb")


def test_rejected_submissions_say_why(tmp_path):
    link = tmp_path / "link.ipynb"
    link.symlink_to("/etc/passwd")
    with pytest.raises(grade.SubmissionRejected, match="regular file"):
        grade.read_submission(link, "01_mlp_backprop")
    (tmp_path / "junk.ipynb").write_text("not json")
    with pytest.raises(grade.SubmissionRejected, match="notebook"):
        grade.read_submission(tmp_path / "junk.ipynb", "01_mlp_backprop")
    nb = nbformat.v4.new_notebook(metadata={"otter": {"assignment_name": "03_walk_forward"}})
    nbformat.write(nb, tmp_path / "other.ipynb")
    with pytest.raises(grade.SubmissionRejected, match="made for assignment '03_walk_forward'"):
        grade.read_submission(tmp_path / "other.ipynb", "01_mlp_backprop")


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="memory_bytes"):
        sandbox.Limits(memory_bytes=0)


# --- the sandbox ------------------------------------------------------------------------------------------

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None and not os.environ.get("CI"),
                                 reason="bubblewrap is not installed (apt install bubblewrap)")


@needs_bwrap
def test_scratch_folders_never_hide_the_python_installation(tmp_path, monkeypatch):
    # bubblewrap mounts in order: a venv or clone under /tmp (a fresh CI clone) or under the sandbox's
    # home must be bound after the tmpfs that would otherwise cover it
    python_paths = [tmp_path / "clone" / ".venv", Path(sandbox.SANDBOX_HOME) / "repo" / "course_lib"]
    monkeypatch.setattr(sandbox, "_python_paths", lambda: python_paths)
    cmd = sandbox.bwrap_command(tmp_path, "nb.ipynb", 3, 4, sandbox.Limits())
    tmpfs = [i for i, arg in enumerate(cmd) if arg == "--tmpfs"]
    assert {cmd[i + 1] for i in tmpfs} == {"/tmp", sandbox.SANDBOX_HOME}
    for path in python_paths:
        bind = next(i for i, arg in enumerate(cmd[:-1]) if arg == "--ro-bind" and cmd[i + 1] == str(path))
        assert bind > max(tmpfs), f"{path} is bound before a tmpfs that covers it"


@needs_bwrap
def test_sandbox_confines_a_notebook(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden")
    probes = f'''
import os, socket, numpy as np
def probe(path):
    try:
        return open(path).read()
    except OSError as error:
        return type(error).__name__
seen = {{
    "secret": probe({str(secret)!r}),
    "repo_file": probe({str(TOOLS / "grade.py")!r}),
    "env": sorted(os.environ),
    "uid": os.getuid(),
}}
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    seen["network"] = "open"
except OSError as error:
    seen["network"] = type(error).__name__
try:
    big = np.ones(4 * 2**30, dtype=np.uint8)
    seen["memory"] = "allocated"
except MemoryError:
    seen["memory"] = "MemoryError"
try:
    open({str(TOOLS / "PWNED")!r}, "w").write("x")
    seen["write_repo"] = "written"
except OSError as error:
    seen["write_repo"] = type(error).__name__
children = 0
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            import time
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError:
    pass
seen["children"] = children
print("x" * 3_000_000)
'''
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(probes)]
    nbformat.write(nb, staging / "probe.ipynb")
    os.environ["GRADER_SECRET_MARKER"] = "s3cr3t"
    try:
        with sandbox.Sandbox(staging, "probe.ipynb", tmp_path / "out.log") as box:
            box.transport.time_left = 120
            ready = box.transport.receive()
            seen = channel.StudentNamespace(channel.GraderEnd(box.transport))["seen"]
    finally:
        del os.environ["GRADER_SECRET_MARKER"]
    assert ready["ready"]["cell_errors"] == []
    assert seen["secret"] == "FileNotFoundError" and seen["repo_file"] == "FileNotFoundError"
    assert "GRADER_SECRET_MARKER" not in seen["env"] and seen["uid"] == 65534
    assert seen["network"] != "open" and seen["memory"] == "MemoryError"
    assert seen["children"] < sandbox.Limits().processes, "the process limit did not hold"
    assert seen["write_repo"] in ("FileNotFoundError", "OSError", "PermissionError") and not (TOOLS / "PWNED").exists()
    log = (tmp_path / "out.log").read_text()
    assert len(log) < sandbox.Limits().output_bytes + 200 and "more bytes of output dropped" in log
