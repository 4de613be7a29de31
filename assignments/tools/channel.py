"""The data-only channel between the trusted grader and the sandboxed process running a submission.

The grader never unpickles anything a student wrote and never runs a test inside the student's
process. Instead the worker (``worker.py``, inside the sandbox) executes the notebook and then answers
requests over two pipes, and the tests run in the grader with *proxies* for the student's variables:

- **data is copied**: ``None``, ``bool``, ``int``, ``float``, ``str``; NumPy arrays and scalars of
  bool/int/uint/float dtype; torch tensors (sent detached, from the CPU); ``list``, ``tuple`` and
  ``dict`` with ``str`` keys of data. Arrays travel as raw bytes with their dtype and shape, checked on
  arrival, never as pickles.
- **everything else stays where it lives and travels as a handle**: a student's function, model or
  fitted estimator reaches a test as a :class:`Remote` that can be called and whose public attributes
  can be read; a callable a test passes to student code becomes a callback that runs in the grader.

A message is an 8-byte big-endian length followed by that many bytes of UTF-8 JSON. The same code runs
on both ends; :func:`loopback` runs both ends in one process (no sandbox) for authoring tests.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import select
import threading
import time

#: the largest message either end accepts; the grader accepts far less from the worker
#: (:data:`MAX_REPLY_BYTES`): what a student's function returns is small, and parsing is the grader's memory
MAX_MESSAGE_BYTES = 256 * 2**20
MAX_REPLY_BYTES = 16 * 2**20
#: JSON lists and objects in one message at most (a reply of 8 million ``[]`` would cost ~1 GB to parse)
MAX_CONTAINERS = 100_000
#: array element kinds that are data: bool, signed and unsigned integers, floats
DATA_KINDS = "biuf"
_HEADER = 8


class ChannelError(RuntimeError):
    """The other end broke the protocol, closed the channel or ran out of time."""


class ChannelTimeout(ChannelError):
    """No answer before the deadline."""


class StudentError(Exception):
    """An exception raised by the student's code; the message is ``"<type>: <message>"``."""


# --- values <-> JSON ------------------------------------------------------------------------------

def _array_to_wire(array, tag: str) -> dict:
    import numpy as np

    array = np.asarray(array)
    array = np.ascontiguousarray(array).reshape(array.shape)  # ascontiguousarray makes 0-d arrays 1-d
    if array.dtype.kind not in DATA_KINDS or array.dtype.itemsize > 8:
        raise TypeError(f"arrays of dtype {array.dtype} are not data")
    return {"$": tag, "dtype": array.dtype.str, "shape": list(array.shape),
            "b64": base64.b64encode(array.tobytes()).decode("ascii")}


def _array_from_wire(obj: dict):
    import numpy as np

    dtype = np.dtype(obj["dtype"])
    shape = obj["shape"]
    if dtype.kind not in DATA_KINDS or dtype.itemsize > 8 or dtype.fields is not None:
        raise ChannelError(f"refused an array of dtype {obj['dtype']!r}")
    if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                            for n in shape) and len(shape) <= 32):
        raise ChannelError(f"refused an array shape {shape!r}")
    raw = base64.b64decode(obj["b64"], validate=True)
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(raw):
        raise ChannelError(f"array bytes ({len(raw)}) do not match dtype {dtype} and shape {shape}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def to_wire(value, export):
    """``value`` as JSON-ready data; ``export(value) -> dict`` handles whatever is not data."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [to_wire(v, export) for v in value]
        return items if type(value) is list else {"$": "tuple", "items": items}
    if isinstance(value, dict) and all(type(k) is str for k in value):
        import collections

        if type(value) in (dict, collections.OrderedDict):
            return {"$": "dict", "items": [[k, to_wire(v, export)] for k, v in value.items()]}
    module = type(value).__module__ or ""
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray) and type(value) is np.ndarray and value.dtype.kind in DATA_KINDS:
            return _array_to_wire(value, "ndarray")
        if isinstance(value, np.generic) and value.dtype.kind in DATA_KINDS:
            return value.item()
    if module == "torch":
        import torch

        if type(value) is torch.Tensor or type(value) is torch.nn.Parameter:
            tensor = value.detach().cpu()
            if tensor.dtype in (torch.bfloat16, torch.float16):
                tensor = tensor.float()
            if tensor.dtype.is_complex:
                return export(value)
            return _array_to_wire(tensor.numpy(), "tensor")
    return export(value)


def from_wire(obj, depth: int = 0, *, handle=None, callback=None):
    """The value a JSON object encodes. ``handle(id)`` / ``callback(id)`` build the proxies for
    ``{"$": "handle"}`` / ``{"$": "callback"}`` (refused when ``None``)."""
    if depth > 64:
        raise ChannelError("refused a value nested more than 64 levels deep")
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, list):
        return [from_wire(v, depth + 1, handle=handle, callback=callback) for v in obj]
    if not isinstance(obj, dict) or not isinstance(obj.get("$"), str):
        raise ChannelError("refused a malformed value")
    tag = obj["$"]
    if tag == "tuple":
        return tuple(from_wire(v, depth + 1, handle=handle, callback=callback) for v in obj["items"])
    if tag == "dict":
        out = {}
        for key, v in obj["items"]:
            if not isinstance(key, str):
                raise ChannelError("refused a dict key that is not a string")
            out[key] = from_wire(v, depth + 1, handle=handle, callback=callback)
        return out
    if tag == "ndarray":
        return _array_from_wire(obj)
    if tag == "tensor":
        import torch

        return torch.from_numpy(_array_from_wire(obj))
    if tag == "handle" and handle is not None and isinstance(obj.get("id"), int):
        return handle(obj["id"], str(obj.get("label", ""))[:80])
    if tag == "callback" and callback is not None and isinstance(obj.get("id"), int):
        return callback(obj["id"])
    raise ChannelError(f"refused a value tagged {tag!r}")


# --- framing ------------------------------------------------------------------------------------

class PipeTransport:
    """Length-prefixed JSON over two file descriptors.

    ``time_left``: seconds this end may spend *waiting for the other end* in total (``None``: no
    limit). Each wait spends from it, so the grader's own work between requests (computing
    references) is not charged to the student's time limit."""

    def __init__(self, read_fd: int, write_fd: int, max_bytes: int = MAX_MESSAGE_BYTES):
        self.read_fd, self.write_fd, self.max_bytes = read_fd, write_fd, max_bytes
        self.time_left: float | None = None

    def _wait(self, fd: int, for_write: bool) -> None:
        if self.time_left is None:
            return
        if self.time_left <= 0:
            raise ChannelTimeout("the time limit ran out")
        start = time.monotonic()
        ready = (select.select([], [fd], [], self.time_left) if for_write
                 else select.select([fd], [], [], self.time_left))
        self.time_left -= time.monotonic() - start
        if not any(ready):
            self.time_left = 0.0
            raise ChannelTimeout("the time limit ran out")

    def _read_exact(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            self._wait(self.read_fd, False)
            chunk = os.read(self.read_fd, min(n - got, 1 << 20))
            if not chunk:
                raise ChannelError("the other end closed the channel")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def send(self, message) -> None:
        data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")
        view = memoryview(len(data).to_bytes(_HEADER, "big") + data)
        while view:
            self._wait(self.write_fd, True)
            try:
                written = os.write(self.write_fd, view[:1 << 16])
            except BrokenPipeError as error:
                raise ChannelError("the other end closed the channel") from error
            view = view[written:]

    def receive(self):
        size = int.from_bytes(self._read_exact(_HEADER), "big")
        if size > self.max_bytes:
            raise ChannelError(f"refused a message of {size} bytes (limit {self.max_bytes})")
        data = self._read_exact(size)
        if data.count(b"[") + data.count(b"{") > MAX_CONTAINERS:
            raise ChannelError(f"refused a message with more than {MAX_CONTAINERS} lists and objects")
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ChannelError(f"refused a message that is not JSON: {type(error).__name__}") from error


class QueueTransport:
    """Two in-process queues with a JSON round trip on every message (for :func:`loopback`)."""

    def __init__(self, inbox: queue.Queue, outbox: queue.Queue):
        self.inbox, self.outbox, self.time_left = inbox, outbox, None

    def send(self, message) -> None:
        self.outbox.put(json.dumps(message, allow_nan=True))

    def receive(self):
        return json.loads(self.inbox.get())


# --- the worker's end: serves the student's namespace ------------------------------------------

class WorkerEnd:
    """Answers the grader's requests about ``namespace`` (the executed notebook's globals)."""

    def __init__(self, namespace: dict, transport):
        self.namespace, self.transport = namespace, transport
        self.objects: dict[int, object] = {}

    def _export(self, value) -> dict:
        key = id(value)
        self.objects[key] = value
        return {"$": "handle", "id": key, "label": type(value).__name__}

    def _callback(self, key: int):
        def call_grader(*args, **kwargs):
            self.transport.send({"callback": key, "args": to_wire(list(args), self._export),
                                 "kwargs": to_wire(kwargs, self._export)})
            return self._wait_for_callback()
        return call_grader

    def _wait_for_callback(self):
        while True:
            message = self.transport.receive()
            if "callback_result" in message:
                return self._decode(message["callback_result"])
            if "callback_error" in message:
                raise RuntimeError(f"the grader's function raised: {str(message['callback_error'])[:200]}")
            self.transport.send(self.answer(message))

    def _decode(self, obj):
        return from_wire(obj, handle=lambda key, _label: self.objects[key], callback=self._callback)

    def answer(self, message) -> dict:
        """The reply to one request: ``{"ok": value}``, ``{"undefined": name}`` or ``{"error": ...}``."""
        try:
            op = message.get("op")
            if op == "get":
                if message["name"] not in self.namespace:
                    return {"undefined": message["name"]}
                value = self.namespace[message["name"]]
            elif op == "getattr":
                value = getattr(self.objects[message["target"]], message["name"])
            elif op == "call":
                target = self.objects[message["target"]]
                value = target(*self._decode(message["args"]), **self._decode(message["kwargs"]))
            else:
                return {"error": {"type": "ProtocolError", "message": f"unknown request {op!r}"}}
            return {"ok": to_wire(value, self._export)}
        except BaseException as error:  # noqa: BLE001 - whatever the student raises goes back as data
            return {"error": {"type": type(error).__name__, "message": str(error)[:2000]}}

    def serve(self) -> None:
        """Answer requests until the grader closes the channel."""
        while True:
            try:
                message = self.transport.receive()
            except ChannelError:
                return
            self.transport.send(self.answer(message))


# --- the grader's end: proxies -------------------------------------------------------------------

class Remote:
    """A student's object that is not data (a function, a model, an estimator). Call it, or read a
    public attribute; the results come back as data or as another ``Remote``."""

    __slots__ = ("_end", "_key", "_label")

    def __init__(self, end: "GraderEnd", key: int, label: str):
        object.__setattr__(self, "_end", end)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args, **kwargs):
        return self._end.request({"op": "call", "target": self._key,
                                  "args": self._end.encode(list(args)), "kwargs": self._end.encode(kwargs)})

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(f"{name!r}: only public attributes of the student's objects can be read")
        return self._end.request({"op": "getattr", "target": self._key, "name": name})

    def __setattr__(self, name, value):
        raise AttributeError("the student's objects cannot be changed from a test")

    def __repr__(self) -> str:
        return f"<student's {self._label or 'object'}>"


class GraderEnd:
    """Asks the worker for the student's variables and calls the student's functions."""

    def __init__(self, transport):
        self.transport = transport
        self.callbacks: dict[int, object] = {}

    def encode(self, value):
        def export(obj):
            if isinstance(obj, Remote):
                return {"$": "handle", "id": obj._key}
            if callable(obj):
                self.callbacks[id(obj)] = obj
                return {"$": "callback", "id": id(obj)}
            raise TypeError(f"a {type(obj).__name__} cannot be sent to the student's code "
                            "(only data, the student's own objects and callables)")
        return to_wire(value, export)

    def decode(self, obj):
        return from_wire(obj, handle=lambda key, label: Remote(self, key, label))

    def _run_callback(self, message) -> dict:
        function = self.callbacks.get(message.get("callback"))
        if function is None:
            raise ChannelError("the worker called back a function the grader never sent")
        try:
            args = from_wire(message["args"], handle=lambda key, label: Remote(self, key, label))
            kwargs = from_wire(message["kwargs"], handle=lambda key, label: Remote(self, key, label))
            return {"callback_result": self.encode(function(*args, **kwargs))}
        except ChannelError:
            raise
        except Exception as error:  # noqa: BLE001 - the callback's failure goes back to the caller
            return {"callback_error": f"{type(error).__name__}"}

    def request(self, message):
        self.transport.send(message)
        while True:
            reply = self.transport.receive()
            if not isinstance(reply, dict):
                raise ChannelError("refused a reply that is not an object")
            if "callback" in reply:
                self.transport.send(self._run_callback(reply))
                continue
            if "ok" in reply:
                return self.decode(reply["ok"])
            if "undefined" in reply:
                raise NameError(f"the notebook defines no {str(reply['undefined'])[:80]!r}")
            if "error" in reply and isinstance(reply["error"], dict):
                kind = str(reply["error"].get("type", "Error"))[:80]
                raise StudentError(f"{kind}: {str(reply['error'].get('message', ''))[:2000]}")
            raise ChannelError("refused a reply of unknown form")

    def get(self, name: str, default=None):
        """The student's variable ``name`` (data or a :class:`Remote`), or ``default`` if undefined."""
        try:
            return self.request({"op": "get", "name": name})
        except NameError:
            return default


class StudentNamespace(dict):
    """The global environment otter's test runner reads (``env.get(name)``), fetched on demand."""

    def __init__(self, end: GraderEnd):
        super().__init__()
        self.end = end

    def get(self, name, default=None):
        return self.end.get(name, default)

    def __getitem__(self, name):
        value = self.end.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name) -> bool:
        return self.end.get(name, _MISSING) is not _MISSING


_MISSING = object()


def loopback(namespace: dict) -> StudentNamespace:
    """Proxies for ``namespace`` exactly as a test receives them at grading time, with both ends of the
    channel in this process (a thread serves ``namespace``; no sandbox). For authoring tests:
    ``env = loopback({"f": f}); test_f(env["f"])``."""
    to_worker, to_grader = queue.Queue(), queue.Queue()
    worker = WorkerEnd(namespace, QueueTransport(to_worker, to_grader))
    threading.Thread(target=worker.serve, daemon=True).start()
    return StudentNamespace(GraderEnd(QueueTransport(to_grader, to_worker)))
