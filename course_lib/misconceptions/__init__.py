"""The capstone's reasoning (notebook 12): five misconceptions about deep learning, judged from the
course's own results ledgers and bench record, never from the author's opinion.

    from course_lib.misconceptions import judge_all, judgement_table, evidence_table
    judgements = judge_all()              # results/*.json and docs/benchmarks.json
    judgement_table(judgements)           # one row per misconception
    evidence_table(judgements[0])         # the findings behind misconception 1

Three modules, one job each:

- :mod:`course_lib.misconceptions.evidence` - the five :data:`MISCONCEPTIONS`, :class:`Evidence`,
  :class:`Judgement`, :func:`is_network`, ledger checks and data labels (what is counted).
- :mod:`course_lib.misconceptions.judge` - the five rules (:func:`judge_always_better` ...
  :func:`judge_black_box`, documented there) and :func:`judge_all`.
- :mod:`course_lib.misconceptions.render` - :func:`judgement_table`, :func:`evidence_table`,
  :func:`misconceptions_markdown` (the course website's page).

A verdict is ``"refuted"`` (a counted finding contradicts the claim), ``"not refuted"`` (counted
findings exist, none contradicts it: the numbers do not prove the claim either) or ``"not judged"``
(nothing counted: ledgers missing, or only stand-in data). Only real, local and benchmark evidence is
counted; findings on stand-in or synthetic data are shown, never counted.
"""

from course_lib.misconceptions.evidence import (
    AGAINST, BEARINGS, COUNTED_DATA, DATA_LABELS, FOR, LEDGER_NOTEBOOKS, MISCONCEPTIONS, NEITHER,
    NETWORK_PATTERN, NOT_JUDGED, NOT_REFUTED, REFUTED, VERDICTS, Evidence, Judgement, Misconception,
    check_ledgers, data_label, is_network, strip_seed)
from course_lib.misconceptions.judge import (
    DEFAULT_BUDGET, RANDOM_REFERENCE, SMALL_DATA_LIMIT, judge_all, judge_always_better, judge_black_box,
    judge_needs_hardware, judge_only_big_data, judge_replaces_judgement, load_bench)
from course_lib.misconceptions.render import evidence_table, judgement_table, misconceptions_markdown

__all__ = [
    "AGAINST", "BEARINGS", "COUNTED_DATA", "DATA_LABELS", "DEFAULT_BUDGET", "FOR", "LEDGER_NOTEBOOKS",
    "MISCONCEPTIONS", "NEITHER", "NETWORK_PATTERN", "NOT_JUDGED", "NOT_REFUTED", "RANDOM_REFERENCE",
    "REFUTED", "SMALL_DATA_LIMIT", "VERDICTS", "Evidence", "Judgement", "Misconception", "check_ledgers",
    "data_label", "evidence_table", "is_network", "judge_all", "judge_always_better", "judge_black_box",
    "judge_needs_hardware", "judge_only_big_data", "judge_replaces_judgement", "judgement_table",
    "load_bench", "misconceptions_markdown", "strip_seed",
]
