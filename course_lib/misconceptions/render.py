"""Judgements as tables (for the notebook) and as Markdown (the course website's misconceptions page).

- :func:`judgement_table`: one row per misconception: verdict, reason, counted findings against / for /
  neither, findings shown but not counted (stand-in or synthetic data), missing ledgers.
- :func:`evidence_table`: one row per finding of one judgement.
- :func:`misconceptions_markdown`: the summary table, then per misconception its question, verdict,
  reason, evidence table and missing ledgers.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import pandas as pd

from course_lib.misconceptions.evidence import AGAINST, FOR, NEITHER, Judgement

JUDGEMENT_COLUMNS = ("#", "misconception", "verdict", "reason", "against", "for", "neither",
                     "shown, not counted", "missing ledgers")
EVIDENCE_COLUMNS = ("notebook", "finding", "bears", "data", "counted")


def _judgements(judgements: Iterable[Judgement]) -> list[Judgement]:
    if isinstance(judgements, Judgement):
        raise TypeError("judgements must be a list of Judgement (e.g. judge_all()), got one Judgement; "
                        "wrap it in a list")
    if isinstance(judgements, (str, bytes)) or not hasattr(judgements, "__iter__"):
        raise TypeError(f"judgements must be a list of Judgement, got {type(judgements).__name__}")
    judgements = list(judgements)
    for i, item in enumerate(judgements):
        if not isinstance(item, Judgement):
            raise TypeError(f"judgements[{i}] must be a Judgement, got {type(item).__name__}")
    return judgements


def judgement_table(judgements: Sequence[Judgement]) -> pd.DataFrame:
    """One row per misconception (columns :data:`JUDGEMENT_COLUMNS`)."""
    rows = [{"#": j.misconception.number, "misconception": j.misconception.claim, "verdict": j.verdict,
             "reason": j.reason, "against": j.count(AGAINST), "for": j.count(FOR), "neither": j.count(NEITHER),
             "shown, not counted": j.shown_not_counted, "missing ledgers": ", ".join(j.missing)}
            for j in _judgements(judgements)]
    return pd.DataFrame(rows, columns=list(JUDGEMENT_COLUMNS))


def evidence_table(judgement: Judgement) -> pd.DataFrame:
    """The findings of one judgement (columns :data:`EVIDENCE_COLUMNS`), in the judgement's order."""
    if not isinstance(judgement, Judgement):
        raise TypeError(f"judgement must be a Judgement (e.g. judge_always_better(ledgers)), "
                        f"got {type(judgement).__name__}")
    return pd.DataFrame([{"notebook": e.notebook, "finding": e.finding, "bears": e.bears, "data": e.data,
                          "counted": e.counted} for e in judgement.evidence], columns=list(EVIDENCE_COLUMNS))


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _markdown_table(frame: pd.DataFrame) -> str:
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    lines = ["| " + " | ".join(_cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def misconceptions_markdown(judgements: Sequence[Judgement]) -> str:
    """The misconceptions page body: summary table, then one section per misconception."""
    judgements = _judgements(judgements)
    summary = judgement_table(judgements).drop(columns=["reason"])
    parts = ["Each verdict below is computed from the results ledgers of the last run (and, for "
             "hardware, the bench record): *refuted* when a counted finding contradicts the claim, "
             "*not refuted* when none does, *not judged* when nothing could be counted. Findings on "
             "stand-in or synthetic data are shown but never counted.", "", _markdown_table(summary)]
    for j in judgements:
        m = j.misconception
        parts += ["", f"## {m.number}. {m.claim}", "", f"*Question:* {m.question}", "",
                  f"**Verdict: {j.verdict}.** {j.reason}", ""]
        if j.evidence:
            parts.append(_markdown_table(evidence_table(j)))
        else:
            parts.append("No finding in the ledgers bears on this claim.")
        if j.missing:
            parts += ["", f"Missing ledgers (run `make course` first): {', '.join(j.missing)}."]
    return "\n".join(parts) + "\n"
