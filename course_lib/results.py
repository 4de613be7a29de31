"""The results ledger: what each notebook measured, with the data's provenance, as JSON.

Each notebook writes ``results/<notebook>.json``::

    {"notebook": "01_foundations", "updated": "...",
     "models": {"MLP": {"dataset": "breast_cancer", "provenance": "bundled", "stand_in": false,
                        "real": true, "source": "scikit-learn", "split": "test", "test_evaluations": 1,
                        "metrics": {"accuracy": {"mean": 0.97, "std": 0.01, "n": 3}},
                        "seconds": 1.2, "params": 4321}},
     "verdicts": [{"metric": "test AUC", "model_a": "MLP", "model_b": "logistic regression",
                   "winner": null, "sentence": "...", ...}]}

Every entry is a final evaluation on a :class:`course_lib.holdout.SealedSplit`, and records how many
times the model was scored on it (``test_evaluations``, which the ledger tests require to be 1).
``verdicts`` are :class:`course_lib.verdicts.Verdict` objects, as computed in the run.

The data fields come from the :class:`course_lib.data.LoadedDataset` the notebook loaded (never
retyped): ``stand_in`` is true when the data is not the dataset the notebook names (a synthetic
stand-in, or real data from another source), ``real`` is false for synthetic data. A learner's own
file (:func:`course_lib.data.load_local`) is recorded with provenance ``local``, ``real`` true,
``stand_in`` false and its sha256 ``checksum``; the course's quality bars do not apply to it.

This module owns the ledger: writing (:class:`Ledger`), reading (:func:`read_ledger`,
:func:`load_ledgers`) and rendering (:func:`ledger_markdown` for one notebook, :func:`scoreboard` and
:func:`scoreboard_markdown` across notebooks). Tests read it to enforce each notebook's quality bars
when its data was the named dataset.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from course_lib import environment
from course_lib.data.loading import LoadedDataset
from course_lib.data.local import DEMONSTRATION_NOTE
from course_lib.data.registry import LOCAL, is_real_provenance
from course_lib.holdout import SealedSplit
from course_lib.verdicts import NO_CLEAR_WINNER, Verdict

_NOTEBOOK_NAME = re.compile(r"^[0-9a-z][0-9a-z_]*$")


def _check_number(name: str, value: Any) -> float:
    # numbers.Real also admits NumPy scalars (np.float32, np.int64), which metrics often are
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _normalise_metric(name: str, value: Any) -> dict[str, float]:
    """A metric as ``{"mean", "std", "n"}``; a bare number counts as one run."""
    if isinstance(value, Mapping):
        if "mean" not in value:
            raise ValueError(f"metric {name!r} needs a 'mean' (got keys {sorted(value)})")
        return {"mean": _check_number(f"{name}.mean", value["mean"]),
                "std": _check_number(f"{name}.std", value.get("std", 0.0)),
                "n": int(value.get("n", 1))}
    return {"mean": _check_number(name, value), "std": 0.0, "n": 1}


class Ledger:
    """The results file of one notebook.

    >>> loaded = load_dataset("breast_cancer")    # doctest: +SKIP
    >>> ledger = Ledger("01_foundations")          # doctest: +SKIP
    >>> X, y = test.open("MLP")                    # doctest: +SKIP
    >>> ledger.record("MLP", {"accuracy": 0.97}, data=loaded, test=test)  # doctest: +SKIP
    """

    def __init__(self, notebook: str, directory: str | os.PathLike | None = None, *, reset: bool = False):
        if not isinstance(notebook, str) or not _NOTEBOOK_NAME.match(notebook):
            raise ValueError(f"notebook must be a name like '01_foundations', got {notebook!r}")
        self.notebook = notebook
        self.directory = Path(directory) if directory is not None else environment.results_dir()
        if reset:
            self.reset()

    @property
    def path(self) -> Path:
        return self.directory / f"{self.notebook}.json"

    def read(self) -> dict:
        """The ledger's content (an empty ledger if the file does not exist)."""
        if not self.path.is_file():
            return {"notebook": self.notebook, "models": {}, "verdicts": []}
        return _parse(self.path)

    def reset(self) -> None:
        """Start the notebook's ledger afresh (call once at the top of a run)."""
        self.path.unlink(missing_ok=True)

    def record(
        self,
        model: str,
        metrics: Mapping[str, Any],
        *,
        data: LoadedDataset,
        test: SealedSplit,
        seconds: float | None = None,
        params: int | None = None,
        notes: str = "",
        scored_as: str | None = None,
    ) -> dict:
        """Add or replace one model's results; returns the stored entry.

        ``metrics`` maps a metric name to a number or to ``{"mean", "std", "n"}``. ``data`` is the
        :class:`~course_lib.data.LoadedDataset` the model was trained and scored on: its name,
        provenance, source and stand-in flag are stored with the entry (and its ``checksum``, for a
        local file). ``test`` is the
        sealed split the metrics were computed on: the entry records its name and how many times
        the model opened it (``scored_as``: the name it opened it under, default ``model``). A model
        that never opened it cannot be recorded: its numbers would not be test numbers.
        """
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty name")
        if not isinstance(metrics, Mapping) or not metrics:
            raise ValueError("metrics must be a non-empty mapping of name -> value")
        if not isinstance(data, LoadedDataset):
            raise TypeError(f"data must be the LoadedDataset the model was scored on (from load_dataset), "
                            f"got {type(data).__name__}")
        is_real_provenance(data.provenance)  # raises on a provenance outside the known ones
        if not isinstance(test, SealedSplit):
            raise TypeError(f"test must be the SealedSplit the model was scored on, got {type(test).__name__}")
        evaluations = test.evaluations(scored_as or model)
        if evaluations == 0:
            raise ValueError(f"{scored_as or model!r} never opened the {test.name} split: "
                             f"score it with test.open({scored_as or model!r}) before recording")
        entry = {
            "dataset": data.name,
            "provenance": data.provenance,
            "stand_in": bool(data.is_stand_in),
            "real": bool(data.is_real),
            "source": str(data.source),
            "split": test.name,
            "test_evaluations": evaluations,
            "metrics": {name: _normalise_metric(name, value) for name, value in metrics.items()},
            "seconds": None if seconds is None else _check_number("seconds", seconds),
            "params": None if params is None or pd.isna(params) else int(params),
            "notes": notes,
        }
        if data.checksum:
            entry["checksum"] = str(data.checksum)
        content = self.read()
        content["notebook"] = self.notebook
        content["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        content["models"][model] = entry
        self._write(content)
        return entry

    def record_comparison(self, comparison, *, data: LoadedDataset, test: SealedSplit,
                          prefix: str = "") -> None:
        """Record every model of a :class:`course_lib.evaluation.SeedComparison` scored on ``test``
        (each model opened it under its name in the comparison)."""
        for _, row in comparison.summary.iterrows():
            metrics = {m: {"mean": row[f"{m}_mean"], "std": row[f"{m}_std"], "n": int(row["n_seeds"])}
                       for m in comparison.metrics}
            self.record(prefix + row["model"], metrics, data=data, test=test,
                        seconds=float(row["seconds"]), params=row["params"], scored_as=row["model"])

    def record_verdict(self, verdict: Verdict) -> dict:
        """Store a verdict (replacing one on the same metric and pair of models); returns it as stored."""
        if not isinstance(verdict, Verdict):
            raise TypeError(f"verdict must be a Verdict (from course_lib.verdicts), got {type(verdict).__name__}")
        stored = verdict.as_dict()
        content = self.read()
        content["notebook"] = self.notebook
        same = lambda v: (v["metric"], v["model_a"], v["model_b"]) == (stored["metric"], stored["model_a"],  # noqa: E731
                                                                         stored["model_b"])
        content["verdicts"] = [v for v in content["verdicts"] if not same(v)] + [stored]
        self._write(content)
        return stored

    def _write(self, content: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(content, out, indent=2, sort_keys=False)
                out.write("\n")
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _parse(path: Path) -> dict:
    """A ledger file's content; ValueError naming the file when it is not a ledger."""
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(content, dict) or not isinstance(content.get("models"), dict):
        raise ValueError(f"{path} is not a results ledger (no 'models' table)")
    content.setdefault("verdicts", [])
    return content


def read_ledger(path: str | os.PathLike, *, since: float | None = None) -> dict | None:
    """The ledger at ``path``, or ``None`` when it is missing, is not a ledger, or was last written
    before ``since`` (epoch seconds): a ledger left over from an earlier run is never reported as
    this run's."""
    path = Path(path)
    try:
        if since is not None and path.stat().st_mtime < since - 1.0:  # 1 s slack for coarse clocks
            return None
        return _parse(path)
    except (OSError, ValueError):
        return None


def load_ledgers(directory: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every notebook's ledger in ``directory``, keyed by notebook name."""
    folder = Path(directory) if directory is not None else environment.results_dir()
    ledgers = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if _NOTEBOOK_NAME.match(path.stem) and path.stem != "bench":
            ledgers[path.stem] = Ledger(path.stem, folder).read()
    return ledgers


# --------------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------------

#: What marks a row whose data is not the dataset the notebook names.
STAND_IN_MARK = "⚠ stand-in"
#: Up to this many verdicts are listed sentence by sentence; beyond it the ties are grouped.
FULL_VERDICTS = 12


def entry_is_stand_in(entry: Mapping) -> bool:
    """True when a ledger entry's data is not the dataset its notebook names."""
    if "stand_in" in entry:
        return bool(entry["stand_in"])
    # a ledger written before the flag existed: only a synthetic provenance can be told apart
    return not is_real_provenance(entry["provenance"])


def ledger_provenances(content: Mapping | None) -> list[str]:
    """The distinct provenances in a ledger's content (empty for ``None``)."""
    if not content:
        return []
    return sorted({entry.get("provenance", "?") for entry in content["models"].values()})


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _data_cell(entry: Mapping) -> str:
    text = f"{entry['dataset']} ({entry['provenance']})"
    return f"{text} {STAND_IN_MARK}" if entry_is_stand_in(entry) else text


def _metric_cell(value: Mapping, digits: int) -> str:
    """``mean ± std (n=…)`` with ``digits`` significant digits (metrics range from 1e-8 to 1e3)."""
    if value["n"] > 1:
        return f"{value['mean']:.{digits}g} ± {value['std']:.2g} (n={value['n']})"
    return f"{value['mean']:.{digits}g} (n=1)"


def _stand_in_notes(models: Mapping) -> list[str]:
    entries = [entry for entry in models.values() if entry_is_stand_in(entry)]
    if not entries:
        return []
    if any(not entry.get("real", is_real_provenance(entry["provenance"])) for entry in entries):
        what = ("a synthetic stand-in, not the real data set: they show the code path, not what the "
                "architecture achieves")
    else:
        what = ("real data from another source than the dataset the notebook names: they are not "
                "comparable with published results")
    return [f"**{STAND_IN_MARK}: the rows so marked come from {what}.**", ""]


def _local_notes(models: Mapping) -> list[str]:
    """One line per local file: a learner's own, or a demonstration file a notebook wrote from course
    data (its notes say so; :func:`course_lib.data.local.as_demonstration`)."""
    lines = {}
    for entry in models.values():
        if entry.get("provenance") != LOCAL:
            continue
        source = _cell(str(entry.get("source", "?")))
        if DEMONSTRATION_NOTE in str(entry.get("notes", "")):
            lines[source] = f"_{LOCAL}: a demonstration file the notebook wrote from {_cell(entry['dataset'])}: {source}._"
        else:
            lines[source] = f"_{LOCAL}: the learner's own file {source}; the course's quality bars do not apply._"
    return list(lines.values()) + ([""] if lines else [])


def _verdict_lines(verdicts: list[Mapping]) -> list[str]:
    lines = ["**Verdicts** (computed from this run; *no clear winner* when the interval contains 0):", ""]
    if not verdicts:
        return lines + ["- _none recorded_", ""]
    if len(verdicts) <= FULL_VERDICTS:
        return lines + [f"- {_cell(v['sentence'])}" for v in verdicts] + [""]
    lines += [f"- {_cell(v['sentence'])}" for v in verdicts if v.get("winner") is not None]
    ties = [v for v in verdicts if v.get("winner") is None]
    if ties:
        pairs = "; ".join(f"{v['model_a']} vs {v['model_b']} ({v['metric']})" for v in ties)
        lines.append(f"- {NO_CLEAR_WINNER} in the other {len(ties)} comparisons: {_cell(pairs)}.")
    return lines + [""]


def ledger_markdown(content: Mapping, digits: int = 4) -> str:
    """One notebook's ledger as Markdown: a row per model (a column per metric, mean ± std over n
    with ``digits`` significant digits,
    the split and how many times the model was scored on it, the data with stand-ins marked, train
    seconds, parameters), a note on stand-in rows and on local files (a learner's own data), then
    the verdict sentences."""
    models = content["models"]
    if not models:
        lines = ["_No model was recorded in this ledger._", ""]
    else:
        metrics = list(dict.fromkeys(m for entry in models.values() for m in entry["metrics"]))
        lines = ["| model | " + " | ".join(map(_cell, metrics)) + " | split (times scored) | data | train s | params |",
                 "|---|" + "---|" * len(metrics) + "---|---|---:|---:|"]
        for name, entry in models.items():
            values = [_metric_cell(entry["metrics"][m], digits) if m in entry["metrics"] else "" for m in metrics]
            seconds = "" if entry.get("seconds") is None else f"{entry['seconds']:.1f}"
            params = "" if entry.get("params") is None else f"{int(entry['params']):,}"
            split = f"{entry['split']} ({entry.get('test_evaluations', '?')}×)"
            lines.append(f"| {_cell(name)} | " + " | ".join(values)
                         + f" | {_cell(split)} | {_cell(_data_cell(entry))} | {seconds} | {params} |")
        lines.append("")
        lines += _stand_in_notes(models)
        lines += _local_notes(models)
    lines += _verdict_lines(list(content.get("verdicts", [])))
    return "\n".join(lines)


def scoreboard(directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """All results in one long table: notebook, model, dataset, provenance, stand_in, split,
    test_evaluations, metric, mean, std, n, seconds, params."""
    columns = ["notebook", "model", "dataset", "provenance", "stand_in", "split", "test_evaluations",
               "metric", "mean", "std", "n", "seconds", "params"]
    rows = []
    for notebook, content in load_ledgers(directory).items():
        for model, entry in content["models"].items():
            for metric, value in entry["metrics"].items():
                rows.append({"notebook": notebook, "model": model, "dataset": entry["dataset"],
                             "provenance": entry["provenance"], "stand_in": entry_is_stand_in(entry),
                             "split": entry["split"], "test_evaluations": entry.get("test_evaluations"),
                             "metric": metric, "mean": value["mean"], "std": value["std"],
                             "n": value["n"], "seconds": entry["seconds"], "params": entry["params"]})
    return pd.DataFrame(rows, columns=columns)


def scoreboard_markdown(directory: str | os.PathLike | None = None, digits: int = 3) -> str:
    """The scoreboard as a Markdown table, one row per notebook and model, metrics as mean ± std;
    rows whose data is a stand-in are marked with :data:`STAND_IN_MARK`."""
    ledgers = load_ledgers(directory)
    if not any(content["models"] for content in ledgers.values()):
        return "_No results yet: run `make course`._\n"
    lines = ["| notebook | model | data (provenance) | split | metrics (mean ± std over n) | train s | params |",
             "|---|---|---|---|---|---:|---:|"]
    for notebook, content in ledgers.items():
        for model, entry in content["models"].items():
            metrics = "; ".join(f"{metric} {value['mean']:.{digits}f} ± {value['std']:.{digits}f} (n={value['n']})"
                                for metric, value in entry["metrics"].items())
            seconds = "" if entry.get("seconds") is None else f"{entry['seconds']:.1f}"
            params = "" if entry.get("params") is None else f"{int(entry['params']):,}"
            lines.append(f"| {notebook} | {_cell(model)} | {_cell(_data_cell(entry))} | {entry['split']} | "
                         f"{_cell(metrics)} | {seconds} | {params} |")
    return "\n".join(lines) + "\n"
