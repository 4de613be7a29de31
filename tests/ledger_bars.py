"""Helpers the per-notebook ledger tests share (tests/test_ledger_*.py): read a model's mean metric,
and skip a quality bar unless every model it reads was scored on real data."""

from __future__ import annotations

from typing import Mapping

import pytest

from course_lib.data import LOCAL
from course_lib.results import entry_is_stand_in


def mean_of(models: Mapping, name: str, metric: str) -> float:
    """The mean over seeds of ``metric`` for the ledger model ``name``."""
    return models[name]["metrics"][metric]["mean"]


def skip_unless_real(models: Mapping, *names: str) -> None:
    """Skip the calling test when any of ``names`` was scored on a stand-in (quality bars are about the
    real data; structure checks run on any data) or on a learner's own file (provenance ``local``: the
    quality bars are calibrated on the course's data)."""
    for name in names:
        if entry_is_stand_in(models[name]):
            pytest.skip(f"quality bars apply to real data only ({name}: provenance {models[name]['provenance']})")
        if models[name].get("provenance") == LOCAL:
            pytest.skip(f"quality bars are calibrated on the course's data ({name}: provenance local, "
                        f"the learner's own file)")


def single_verdict(verdicts: list, model_a: str, model_b: str, metric: str) -> dict:
    """The one ledger verdict of ``model_a`` vs ``model_b`` on ``metric``, checked for consistency."""
    found = [v for v in verdicts if (v["model_a"], v["model_b"], v["metric"]) == (model_a, model_b, metric)]
    assert len(found) == 1, f"no single verdict {model_a} vs {model_b} on {metric!r}"
    verdict = found[0]
    assert verdict["winner"] in (None, model_a, model_b)
    # the interval brackets the difference it was computed around (float64 of a few numbers)
    assert verdict["low"] - 1e-12 <= verdict["difference"] <= verdict["high"] + 1e-12
    return verdict
