"""The results ledger: what each notebook measured, with the data's provenance, as JSON.

Each notebook writes ``results/<notebook>.json``::

    {"notebook": "01_foundations", "updated": "...",
     "models": {"MLP": {"dataset": "breast_cancer", "provenance": "bundled", "split": "test",
                        "test_evaluations": 1,
                        "metrics": {"accuracy": {"mean": 0.97, "std": 0.01, "n": 3}},
                        "seconds": 1.2, "params": 4321}},
     "verdicts": [{"metric": "test AUC", "model_a": "MLP", "model_b": "logistic regression",
                   "winner": null, "sentence": "...", ...}]}

Every entry is a final evaluation on a :class:`course_lib.holdout.SealedSplit`, and records how many
times the model was scored on it (``test_evaluations``, which the ledger tests require to be 1).
``verdicts`` are :class:`course_lib.verdicts.Verdict` objects, as computed in the run.

Tests read the ledger to enforce each notebook's quality bars when its data was real, and
:func:`scoreboard` renders every notebook's results side by side.
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
from course_lib.data.registry import PROVENANCES
from course_lib.holdout import SealedSplit
from course_lib.verdicts import Verdict

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

    >>> ledger = Ledger("01_foundations")          # doctest: +SKIP
    >>> X, y = test.open("MLP")                    # doctest: +SKIP
    >>> ledger.record("MLP", {"accuracy": 0.97}, dataset="breast_cancer", provenance="bundled",
    ...               test=test)                   # doctest: +SKIP
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
        try:
            content = json.loads(self.path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.path} is not valid JSON: {error}") from error
        if not isinstance(content, dict) or not isinstance(content.get("models"), dict):
            raise ValueError(f"{self.path} is not a results ledger (no 'models' table)")
        content.setdefault("verdicts", [])
        return content

    def reset(self) -> None:
        """Start the notebook's ledger afresh (call once at the top of a run)."""
        self.path.unlink(missing_ok=True)

    def record(
        self,
        model: str,
        metrics: Mapping[str, Any],
        *,
        dataset: str,
        provenance: str,
        test: SealedSplit,
        seconds: float | None = None,
        params: int | None = None,
        notes: str = "",
        scored_as: str | None = None,
    ) -> dict:
        """Add or replace one model's results; returns the stored entry.

        ``metrics`` maps a metric name to a number or to ``{"mean", "std", "n"}``. ``test`` is the
        sealed split the metrics were computed on: the entry records its name and how many times
        the model opened it (``scored_as``: the name it opened it under, default ``model``). A model
        that never opened it cannot be recorded: its numbers would not be test numbers.
        """
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty name")
        if not isinstance(metrics, Mapping) or not metrics:
            raise ValueError("metrics must be a non-empty mapping of name -> value")
        if provenance not in PROVENANCES:
            raise ValueError(f"provenance must be one of {PROVENANCES}, got {provenance!r}")
        if not isinstance(test, SealedSplit):
            raise TypeError(f"test must be the SealedSplit the model was scored on, got {type(test).__name__}")
        evaluations = test.evaluations(scored_as or model)
        if evaluations == 0:
            raise ValueError(f"{scored_as or model!r} never opened the {test.name} split: "
                             f"score it with test.open({scored_as or model!r}) before recording")
        entry = {
            "dataset": dataset,
            "provenance": provenance,
            "split": test.name,
            "test_evaluations": evaluations,
            "metrics": {name: _normalise_metric(name, value) for name, value in metrics.items()},
            "seconds": None if seconds is None else _check_number("seconds", seconds),
            "params": None if params is None or pd.isna(params) else int(params),
            "notes": notes,
        }
        content = self.read()
        content["notebook"] = self.notebook
        content["updated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        content["models"][model] = entry
        self._write(content)
        return entry

    def record_comparison(self, comparison, *, dataset: str, provenance: str, test: SealedSplit,
                          prefix: str = "") -> None:
        """Record every model of a :class:`course_lib.evaluation.SeedComparison` scored on ``test``
        (each model opened it under its name in the comparison)."""
        for _, row in comparison.summary.iterrows():
            metrics = {m: {"mean": row[f"{m}_mean"], "std": row[f"{m}_std"], "n": int(row["n_seeds"])}
                       for m in comparison.metrics}
            self.record(prefix + row["model"], metrics, dataset=dataset, provenance=provenance, test=test,
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


def load_ledgers(directory: str | os.PathLike | None = None) -> dict[str, dict]:
    """Every notebook's ledger in ``directory``, keyed by notebook name."""
    folder = Path(directory) if directory is not None else environment.results_dir()
    ledgers = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if _NOTEBOOK_NAME.match(path.stem) and path.stem != "bench":
            ledgers[path.stem] = Ledger(path.stem, folder).read()
    return ledgers


def scoreboard(directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """All results in one long table: notebook, model, dataset, provenance, split, test_evaluations,
    metric, mean, std, n, seconds, params."""
    rows = []
    for notebook, content in load_ledgers(directory).items():
        for model, entry in content["models"].items():
            for metric, value in entry["metrics"].items():
                rows.append({"notebook": notebook, "model": model, "dataset": entry["dataset"],
                             "provenance": entry["provenance"], "split": entry["split"],
                             "test_evaluations": entry.get("test_evaluations"),
                             "metric": metric, "mean": value["mean"], "std": value["std"],
                             "n": value["n"], "seconds": entry["seconds"], "params": entry["params"]})
    columns = ["notebook", "model", "dataset", "provenance", "split", "test_evaluations", "metric", "mean", "std",
               "n", "seconds", "params"]
    return pd.DataFrame(rows, columns=columns)


def scoreboard_markdown(directory: str | os.PathLike | None = None, digits: int = 3) -> str:
    """The scoreboard as a Markdown table, one row per notebook and model, metrics as mean ± std."""
    board = scoreboard(directory)
    if board.empty:
        return "_No results yet: run `make course`._\n"
    lines = ["| notebook | model | data (provenance) | split | metrics (mean ± std over n) | train s | params |",
             "|---|---|---|---|---|---:|---:|"]
    for (notebook, model), group in board.groupby(["notebook", "model"], sort=False):
        first = group.iloc[0]
        metrics = "; ".join(f"{r.metric} {r.mean:.{digits}f} ± {r.std:.{digits}f} (n={r.n})"
                            for r in group.itertuples())
        seconds = "" if pd.isna(first["seconds"]) else f"{first['seconds']:.1f}"
        params = "" if pd.isna(first["params"]) else f"{int(first['params']):,}"
        lines.append(f"| {notebook} | {model} | {first['dataset']} ({first['provenance']}) | "
                     f"{first['split']} | {metrics} | {seconds} | {params} |")
    return "\n".join(lines) + "\n"
