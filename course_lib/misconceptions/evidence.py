"""The vocabulary of the capstone: misconceptions, evidence, judgements, and reading a ledger.

- :data:`MISCONCEPTIONS`: the five claims notebook 12 tests, numbered 1-5.
- :class:`Evidence`: one computed finding from a ledger or the bench record, which way it bears on a
  claim (``"against"``, ``"for"``, ``"neither"``) and on what data it was measured.
- :class:`Judgement`: a claim's verdict (:data:`REFUTED`, :data:`NOT_REFUTED`, :data:`NOT_JUDGED`), the
  computed reason, the evidence and the notebooks whose ledger is missing.
- :func:`is_network`: which model names are the course's neural networks.
- :func:`check_ledgers`, :func:`data_label`: validating ledgers and labelling what data a finding
  rests on. Only :data:`COUNTED_DATA` (real, local, benchmark) enters a verdict; findings on
  stand-in or synthetic data are shown, never counted.

Ledgers are :func:`course_lib.results.load_ledgers` output: ``{notebook: {"models": {name: entry},
"verdicts": [Verdict.as_dict(), ...]}}`` (see :mod:`course_lib.results`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from course_lib.data.registry import LOCAL, PROVENANCES

VERDICTS = (REFUTED, NOT_REFUTED, NOT_JUDGED) = ("refuted", "not refuted", "not judged")
BEARINGS = (AGAINST, FOR, NEITHER) = ("against", "for", "neither")
DATA_LABELS = ("real", "local", "stand-in", "synthetic", "benchmark")
#: The data labels whose evidence enters a verdict.
COUNTED_DATA = ("real", "local", "benchmark")

#: The course's notebooks that write a ledger (00 and 12 train nothing).
LEDGER_NOTEBOOKS = ("01_foundations", "02_cnn_medical_imaging", "03_lstm_finance", "04_transformers_sentiment",
                    "05_gnn_molecules", "06_autoencoders_gans", "07_small_data", "08_efficiency", "09_shift_ood",
                    "10_bias_explanations", "11_your_own_data")


@dataclass(frozen=True)
class Misconception:
    """A claim about deep learning, the question the course's numbers can answer, and the notebooks
    whose ledgers bear on it (their absence is reported as missing)."""

    number: int
    claim: str
    question: str
    notebooks: tuple[str, ...]


MISCONCEPTIONS: tuple[Misconception, ...] = (
    Misconception(1, "Deep learning always beats classical machine learning.",
                  "Did the network beat the classical model in every network-vs-classical comparison?",
                  LEDGER_NOTEBOOKS),
    Misconception(2, "Deep learning can replace human judgement.",
                  "Did the networks fail in ways a person has to catch (degrading under corrupted inputs, "
                  "selecting groups at different rates)?",
                  ("09_shift_ood", "10_bias_explanations")),
    Misconception(3, "Deep learning is only useful for large datasets.",
                  "Did a network beat the classical model on a small dataset?",
                  ("01_foundations", "05_gnn_molecules", "07_small_data")),
    Misconception(4, "Deep learning always needs powerful hardware.",
                  "Did the course's networks train and run on a few CPU cores, with no GPU, within the "
                  "course's time and memory budget?",
                  LEDGER_NOTEBOOKS),
    Misconception(5, "Deep learning is a black box: its decisions cannot be explained.",
                  "Did explanation methods carry real information about the network's decisions, tested "
                  "against a random ranking?",
                  ("09_shift_ood", "10_bias_explanations")),
)


@dataclass(frozen=True)
class Evidence:
    """One finding. ``finding`` is one line (a ledger's computed sentence or a computed summary);
    ``bears`` is ``"against"`` (contradicts the misconception), ``"for"`` or ``"neither"``; ``data`` one
    of :data:`DATA_LABELS`; ``counted`` is True exactly when the data is real, local or benchmark."""

    notebook: str
    finding: str
    bears: str
    data: str
    counted: bool

    def __post_init__(self) -> None:
        if not isinstance(self.notebook, str) or not self.notebook:
            raise ValueError(f"notebook must be a non-empty str, got {self.notebook!r}")
        if not isinstance(self.finding, str) or not self.finding.strip():
            raise ValueError(f"finding of {self.notebook} must be a non-empty sentence")
        if self.bears not in BEARINGS:
            raise ValueError(f"bears must be one of {BEARINGS}, got {self.bears!r}")
        if self.data not in DATA_LABELS:
            raise ValueError(f"data must be one of {DATA_LABELS}, got {self.data!r}")
        if self.counted != (self.data in COUNTED_DATA):
            raise ValueError(f"counted must be {self.data in COUNTED_DATA} for {self.data!r} data "
                             f"(only {COUNTED_DATA} evidence is counted), got {self.counted!r}")


@dataclass(frozen=True)
class Judgement:
    """A misconception's verdict, with the computed ``reason`` (counts included), its evidence and
    the notebooks whose ledger is ``missing``."""

    misconception: Misconception
    verdict: str
    reason: str
    evidence: tuple[Evidence, ...]
    missing: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def count(self, bears: str) -> int:
        """How many *counted* findings bear ``bears`` (``"against"``, ``"for"`` or ``"neither"``)."""
        if bears not in BEARINGS:
            raise ValueError(f"bears must be one of {BEARINGS}, got {bears!r}")
        return sum(e.counted and e.bears == bears for e in self.evidence)

    @property
    def shown_not_counted(self) -> int:
        """Findings on stand-in or synthetic data: shown, not counted."""
        return sum(not e.counted for e in self.evidence)


# --------------------------------------------------------------------------------------------------
# Model names
# --------------------------------------------------------------------------------------------------

#: The course's neural architectures, matched as whole words, case-insensitive: "tiny CNN",
#: "GINE+descriptors", "MiniLM + LR", "conditional DCGAN", "autoencoder (latent 16)" are networks;
#: "logistic regression", "HOG + SVM", "GARCH(1,1)", "random forest", "TF-IDF + LR", "PCA",
#: "isolation forest", "gradient boosting", "GBM", "HAR" are not. Explanation methods ("Grad-CAM",
#: "attention rollout") are not models and do not match.
NETWORK_PATTERN = re.compile(
    r"\b(?:MLPs?|CNNs?|LSTMs?|GRUs?|RNNs?|GCNs?|GINE|GNNs?|GATs?|MiniLM|BERT|transformers?|"
    r"(?:variational\s+)?autoencoders?|VAEs?|DCGANs?|GANs?|ResNets?|U-?Nets?|perceptrons?|neural\s+net(?:work)?s?)\b",
    re.IGNORECASE)
_SEED_SUFFIX = re.compile(r"\s*\(seed \d+\)$")


def is_network(model_name: str) -> bool:
    """True when ``model_name`` names one of the course's neural networks (see :data:`NETWORK_PATTERN`)."""
    if not isinstance(model_name, str):
        raise TypeError(f"model_name must be a str, got {type(model_name).__name__}")
    return NETWORK_PATTERN.search(model_name) is not None


def strip_seed(model_name: str) -> str:
    """``"CNN (seed 0)"`` -> ``"CNN"``: the ledger entry a single-seed verdict refers to."""
    return _SEED_SUFFIX.sub("", model_name)


# --------------------------------------------------------------------------------------------------
# Ledgers: validation and data labels
# --------------------------------------------------------------------------------------------------

_VERDICT_FIELDS = ("metric", "model_a", "model_b", "winner", "baseline")


def check_ledgers(ledgers: Any) -> dict[str, Mapping]:
    """``ledgers`` as a plain dict, after checking the parts the rules read; raises TypeError or
    ValueError naming the notebook and the problem."""
    if not isinstance(ledgers, Mapping):
        raise TypeError(f"ledgers must be a mapping of notebook -> ledger dict (load_ledgers()), "
                        f"got {type(ledgers).__name__}")
    for notebook, ledger in ledgers.items():
        if not isinstance(notebook, str):
            raise TypeError(f"ledgers: notebook names must be str, got {notebook!r}")
        if not isinstance(ledger, Mapping):
            raise TypeError(f"ledger of {notebook} must be a dict, got {type(ledger).__name__}")
        models, verdicts = ledger.get("models", {}), ledger.get("verdicts", [])
        if not isinstance(models, Mapping):
            raise TypeError(f"ledger of {notebook}: 'models' must be a dict, got {type(models).__name__}")
        for name, entry in models.items():
            if not isinstance(entry, Mapping):
                raise TypeError(f"ledger of {notebook}: model {name!r} must be a dict, got {type(entry).__name__}")
            if entry.get("provenance") not in PROVENANCES:
                raise ValueError(f"ledger of {notebook}: model {name!r} has provenance "
                                 f"{entry.get('provenance')!r}, expected one of {PROVENANCES}")
            if not isinstance(entry.get("metrics", {}), Mapping):
                raise TypeError(f"ledger of {notebook}: metrics of {name!r} must be a dict")
        if isinstance(verdicts, (str, bytes)) or not isinstance(verdicts, (list, tuple)):
            raise TypeError(f"ledger of {notebook}: 'verdicts' must be a list, got {type(verdicts).__name__}")
        for i, verdict in enumerate(verdicts):
            if not isinstance(verdict, Mapping):
                raise TypeError(f"ledger of {notebook}: verdict {i} must be a dict, got {type(verdict).__name__}")
            absent = [f for f in _VERDICT_FIELDS if f not in verdict]
            if absent:
                raise ValueError(f"ledger of {notebook}: verdict {i} lacks {', '.join(absent)}")
            for side in ("metric", "model_a", "model_b"):
                if not isinstance(verdict[side], str) or not verdict[side]:
                    raise ValueError(f"ledger of {notebook}: verdict {i} has {side} {verdict[side]!r}, "
                                     f"expected a non-empty str")
            if verdict["winner"] not in (None, verdict["model_a"], verdict["model_b"]):
                raise ValueError(f"ledger of {notebook}: verdict {i} names winner {verdict['winner']!r}, "
                                 f"neither {verdict['model_a']!r} nor {verdict['model_b']!r}")
            if verdict["baseline"] not in (None, verdict["model_a"], verdict["model_b"]):
                raise ValueError(f"ledger of {notebook}: verdict {i} names baseline {verdict['baseline']!r}, "
                                 f"neither {verdict['model_a']!r} nor {verdict['model_b']!r}")
    return dict(ledgers)


def entry_label(entry: Mapping) -> str:
    """The data label of one ledger entry: ``synthetic`` (generated), ``stand-in`` (real data, not the
    named dataset), ``local`` (a learner's own file) or ``real``."""
    provenance = entry.get("provenance")
    if not entry.get("real", provenance != "synthetic") or provenance == "synthetic":
        return "synthetic"
    if entry.get("stand_in", False):
        return "stand-in"
    return "local" if provenance == LOCAL else "real"


def ledger_entry(ledger: Mapping, model_name: str) -> Mapping | None:
    """The entry a verdict's side refers to: the name itself, else without its `` (seed N)``."""
    models = ledger.get("models", {})
    return models.get(model_name) or models.get(strip_seed(model_name))


def data_label(ledger: Mapping, *model_names: str) -> str:
    """The data a finding rests on: the entry of the first of ``model_names`` found in the ledger
    (callers put the network side first); else the notebook as a whole: ``synthetic`` if any entry is
    synthetic, ``stand-in`` if any is a stand-in, ``local`` if any is local, else ``real``."""
    for name in model_names:
        entry = ledger_entry(ledger, name)
        if entry is not None:
            return entry_label(entry)
    labels = {entry_label(entry) for entry in ledger.get("models", {}).values()}
    for label in ("synthetic", "stand-in", "local"):
        if label in labels:
            return label
    return "real"


def evidence(notebook: str, finding: str, bears: str, data: str) -> Evidence:
    """An :class:`Evidence`, counted exactly when ``data`` is in :data:`COUNTED_DATA`."""
    return Evidence(notebook, finding, bears, data, data in COUNTED_DATA)


def verdict_sentence(verdict: Mapping) -> str:
    """The verdict's own sentence; a short computed one when the ledger has none."""
    if verdict.get("sentence"):
        return str(verdict["sentence"])
    a, b, winner = verdict["model_a"], verdict["model_b"], verdict["winner"]
    if winner is None:
        return f"{verdict['metric']}: no clear winner between {a} and {b}."
    return f"{verdict['metric']}: {winner} is better than {b if winner == a else a}."
