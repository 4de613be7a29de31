"""The five rules: each misconception judged from the ledgers (and, for hardware, the bench record).

Common to all rules: evidence on stand-in or synthetic data is shown, never counted; a claim with no
counted evidence is :data:`NOT_JUDGED` and the reason says why (missing ledgers, or only stand-in
data); otherwise it is :data:`REFUTED` when any counted finding bears ``"against"`` it, else
:data:`NOT_REFUTED`. A "network-vs-classical comparison" is a verdict with a ``baseline`` whose two
sides are one network and one non-network (:func:`is_network`).

1. **Always better** - every network-vs-classical comparison: the classical model wins or there is no
   clear winner (a tie is not a win) -> against; the network wins -> for.
2. **Replaces judgement** - failures a person must catch: (a) a network's ``drop_s3`` (relative AUC
   drop under corruption, severity 3) whose 95 % Student-t interval over seeds lies above 0
   (``mean - t(0.975, n-1) std / sqrt(n) > 0``, needs ``n >= 2``); (b) a network-vs-classical verdict on
   a metric containing "AUC drop" that the classical model wins (it degrades less); (c) a network's
   ``dp_difference_low`` > 0 (demographic-parity gap whose interval excludes 0) -> against. A drop or
   gap whose interval includes 0, or a drop comparison the network wins or ties -> neither. (a) and
   (c) read the metric's mean over seeds; drops and gaps of classical models are not evidence (the
   claim is about deep learning).
3. **Only big data** - network-vs-classical comparisons on a registry dataset with at most
   ``small_limit`` labelled examples (:attr:`DatasetInfo.examples`; a learner's own file has no
   known size and is left out): network wins -> against; classical win or tie -> neither.
4. **Powerful hardware** - per notebook of the bench record whose ledger (the one the record embeds,
   i.e. the benched run's, else the notebook's in ``ledgers``) has a network: ran on the
   CPU, finished ("ok") within the record's budget (seconds, MiB; default 300 s, 2048 MiB) -> against,
   else neither; plus the longest network run (``seconds`` per seed) in those ledgers. Data label
   ``benchmark`` when the benched run used real or local data (else that run's stand-in label).
5. **Black box** - verdicts where one side is a random reference (:data:`RANDOM_REFERENCE`): the
   explanation method wins -> against; tie -> neither; random wins -> for.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from pathlib import Path
from typing import Callable, Iterable, Mapping

from course_lib.data.registry import LOCAL, REGISTRY
from course_lib.misconceptions.evidence import (
    AGAINST, COUNTED_DATA, FOR, MISCONCEPTIONS, NEITHER, NOT_JUDGED, NOT_REFUTED, REFUTED, Evidence,
    Judgement, Misconception, check_ledgers, data_label, entry_label, evidence, is_network, ledger_entry,
    strip_seed, verdict_sentence)

#: A dataset with at most this many labelled examples (all splits) is small.
SMALL_DATA_LIMIT = 2000
#: The course's budget per notebook when the bench record does not state one.
DEFAULT_BUDGET = {"seconds": 300.0, "mib": 2048.0}
#: A random reference of an explanation test ("random ranking", "random token ranking"): the word
#: "random" not followed by "forest", "split" or ")" (so "random forest" and "RF/ECFP4 (random)" are not).
RANDOM_REFERENCE = re.compile(r"\brandom\b(?!\s*(?:forest|split|\)))", re.IGNORECASE)


def _misconception(number: int) -> Misconception:
    return MISCONCEPTIONS[number - 1]


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _fmt(value: float) -> str:
    """Four significant digits (as the verdict sentences print them)."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = max(0, 3 - int(math.floor(math.log10(abs(value)))))
    return f"{value:.{min(digits, 6)}f}"


def _data_words(items: Iterable[Evidence]) -> str:
    """'real data', 'real and local data', ... for the counted labels present."""
    labels = [d for d in COUNTED_DATA if any(e.data == d and e.counted for e in items)]
    return " and ".join(labels) + " data" if labels else "no counted data"


def _missing(number: int, ledgers: Mapping) -> tuple[str, ...]:
    return tuple(n for n in _misconception(number).notebooks if n not in ledgers)


def _not_judged_reason(found: list[Evidence], missing: tuple[str, ...], what: tuple[str, str]) -> str:
    """Why nothing was counted: only stand-in data, or no such finding (and which ledgers are missing)."""
    if found:
        labels = sorted({e.data for e in found})
        reason = (f"Only {' and '.join(labels)} data: {_plural(len(found), *what)} shown, none counted; "
                  f"run the notebooks on the real data (make course) to judge.")
    else:
        reason = f"No {what[0]} in the ledgers."
    if missing:
        reason += f" Missing ledgers: {', '.join(missing)} (run make course first)."
    return reason


def _judgement(number: int, found: list[Evidence], missing: tuple[str, ...], what: tuple[str, str],
               reason: Callable[[list[Evidence]], str]) -> Judgement:
    """The common frame: NOT_JUDGED without counted evidence, else REFUTED when any counted finding
    bears against, else NOT_REFUTED; ``reason`` words the counted findings."""
    counted = [e for e in found if e.counted]
    if not counted:
        return Judgement(_misconception(number), NOT_JUDGED, _not_judged_reason(found, missing, what),
                         tuple(found), missing)
    verdict = REFUTED if any(e.bears == AGAINST for e in counted) else NOT_REFUTED
    text = reason(counted)
    shown = len(found) - len(counted)
    if shown:
        text += f" {_plural(shown, 'more finding')} on stand-in or synthetic data shown, not counted."
    if missing:
        text += f" Missing ledgers: {', '.join(missing)}."
    return Judgement(_misconception(number), verdict, text, tuple(found), missing)


def _network_vs_classical(verdict: Mapping) -> tuple[str, str] | None:
    """(network side, classical side) of a network-vs-classical verdict, else None."""
    a, b = verdict["model_a"], verdict["model_b"]
    if verdict["baseline"] is None or is_network(a) == is_network(b):
        return None
    return (a, b) if is_network(a) else (b, a)


def _verdicts(ledgers: Mapping) -> Iterable[tuple[str, Mapping, Mapping]]:
    for notebook in sorted(ledgers):
        for verdict in ledgers[notebook].get("verdicts", []):
            yield notebook, ledgers[notebook], verdict


# --------------------------------------------------------------------------------------------------
# 1. Deep learning always beats classical machine learning
# --------------------------------------------------------------------------------------------------

def judge_always_better(ledgers: Mapping) -> Judgement:
    """Misconception 1 from every network-vs-classical verdict (rule 1 in the module docstring)."""
    ledgers = check_ledgers(ledgers)
    found, ties = [], []  # ties[i]: evidence i had no clear winner
    for notebook, ledger, verdict in _verdicts(ledgers):
        sides = _network_vs_classical(verdict)
        if sides is None:
            continue
        bears = FOR if verdict["winner"] == sides[0] else AGAINST
        found.append(evidence(notebook, verdict_sentence(verdict), bears, data_label(ledger, *sides)))
        ties.append(verdict["winner"] is None)

    def reason(counted: list[Evidence]) -> str:
        n = len(counted)
        wins = sum(e.bears == FOR for e in counted)
        n_ties = sum(tie for e, tie in zip(found, ties) if e.counted)
        losses = n - wins - n_ties
        where = f"{_plural(n, 'network-vs-classical comparison')} on {_data_words(counted)}"
        if wins == n:
            return (f"The network was better in all {where}; but {n} comparisons cannot show that it "
                    f"*always* is: not refuted by these numbers, not proven.")
        if losses == n:
            return f"In {where} the classical model was better in all {n}."
        return (f"In {where} the network was better in {wins}, the classical model in {losses}, "
                f"and {n_ties} had no clear winner.")

    return _judgement(1, found, _missing(1, ledgers),
                      ("network-vs-classical comparison", "network-vs-classical comparisons"), reason)


# --------------------------------------------------------------------------------------------------
# 2. Deep learning can replace human judgement
# --------------------------------------------------------------------------------------------------

def _metric(entry: Mapping, name: str, where: str) -> tuple[float, float, int] | None:
    value = entry.get("metrics", {}).get(name)
    if value is None:
        return None
    if isinstance(value, Mapping):
        mean, std, n = value.get("mean"), value.get("std", 0.0), value.get("n", 1)
    else:
        mean, std, n = value, 0.0, 1
    for what, number in (("mean", mean), ("std", std), ("n", n)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number):
            raise ValueError(f"{where}: metric {name!r} needs a finite number as {what}, got {number!r}")
    return float(mean), float(std), int(n)


def judge_replaces_judgement(ledgers: Mapping) -> Judgement:
    """Misconception 2 from corruption drops, drop comparisons and group gaps (rule 2)."""
    from scipy import stats  # imported here: it takes a second, and only this rule needs it

    ledgers = check_ledgers(ledgers)
    found, kinds = [], []  # kinds[i]: which failure evidence i measures ("drop", "degrades", "gap")
    for notebook in sorted(ledgers):
        ledger = ledgers[notebook]
        for name, entry in ledger.get("models", {}).items():
            if not is_network(name):
                continue
            where = f"ledger of {notebook}: model {name!r}"
            drop = _metric(entry, "drop_s3", where)
            if drop is not None:
                mean, std, n = drop
                if n < 2:
                    bears, text = NEITHER, "one seed, so no interval"
                else:
                    half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
                    low, high = mean - half, mean + half
                    bears = AGAINST if low > 0 else NEITHER
                    text = (f"95% t-interval over {n} seeds [{_fmt(low)}, {_fmt(high)}] "
                            + ("lies above 0" if low > 0 else "contains 0"))
                found.append(evidence(notebook, f"{name}: relative AUC drop under corruption (severity 3) "
                                      f"{_fmt(mean)}; {text}.", bears, entry_label(entry)))
                kinds.append("drop")
            gap = _metric(entry, "dp_difference_low", where)
            if gap is not None:
                dp = _metric(entry, "dp_difference", where)
                size = f"{_fmt(dp[0])}, " if dp else ""
                outside = gap[0] > 0
                found.append(evidence(
                    notebook, f"{name}: demographic-parity difference (gap in selection rates between "
                    f"groups) {size}lower end of its interval {_fmt(gap[0])} "
                    + ("> 0: the gap is beyond the noise." if outside else "<= 0: the interval includes 0."),
                    AGAINST if outside else NEITHER, entry_label(entry)))
                kinds.append("gap")
    for notebook, ledger, verdict in _verdicts(ledgers):
        sides = _network_vs_classical(verdict)
        if sides is None or "auc drop" not in verdict["metric"].lower():
            continue
        bears = AGAINST if verdict["winner"] == sides[1] else NEITHER
        found.append(evidence(notebook, verdict_sentence(verdict), bears, data_label(ledger, *sides)))
        kinds.append("degrades")

    def reason(counted: list[Evidence]) -> str:
        against = {k: sum(e.counted and e.bears == AGAINST for e, kind in zip(found, kinds) if kind == k)
                   for k in ("drop", "degrades", "gap")}
        total = {k: sum(e.counted for e, kind in zip(found, kinds) if kind == k) for k in against}
        parts = []
        if total["drop"]:
            parts.append(f"the AUC of {against['drop']} of {_plural(total['drop'], 'network model')} dropped "
                         f"under corrupted inputs beyond the noise")
        if total["degrades"]:
            parts.append(f"the classical model degraded less than the network in {against['degrades']} of "
                         f"{_plural(total['degrades'], 'drop comparison')}")
        if total["gap"]:
            parts.append(f"{against['gap']} of {_plural(total['gap'], 'network model')} selected groups at "
                         f"different rates beyond the noise")
        n_against = sum(against.values())
        head = (f"On {_data_words(counted)}, {_plural(n_against, 'failure')} a person has to catch: "
                if n_against else f"On {_data_words(counted)}, no failure beyond the noise: ")
        return head + "; ".join(parts) + "."

    return _judgement(2, found, _missing(2, ledgers),
                      ("measured drop or group gap", "measured drops or group gaps"), reason)


# --------------------------------------------------------------------------------------------------
# 3. Deep learning is only useful for large datasets
# --------------------------------------------------------------------------------------------------

def _dataset(ledger: Mapping, *names: str) -> tuple[str | None, bool]:
    """(dataset name, is a learner's own file) of the first side found, else the notebook's only dataset."""
    for name in names:
        entry = ledger_entry(ledger, name)
        if entry is not None:
            return entry.get("dataset"), entry.get("provenance") == LOCAL
    entries = list(ledger.get("models", {}).values())
    datasets = {e.get("dataset") for e in entries}
    if len(datasets) == 1:
        return datasets.pop(), any(e.get("provenance") == LOCAL for e in entries)
    return None, False


def judge_only_big_data(ledgers: Mapping, *, small_limit: int = SMALL_DATA_LIMIT) -> Judgement:
    """Misconception 3 from network-vs-classical verdicts on small registry datasets (rule 3)."""
    if isinstance(small_limit, bool) or not isinstance(small_limit, int):
        raise TypeError(f"small_limit must be an int (labelled examples), got {type(small_limit).__name__}")
    if small_limit <= 0:
        raise ValueError(f"small_limit must be positive, got {small_limit}")
    ledgers = check_ledgers(ledgers)
    found, used, ties = [], [], []  # used[i], ties[i]: dataset of evidence i, whether it had no clear winner
    for notebook, ledger, verdict in _verdicts(ledgers):
        sides = _network_vs_classical(verdict)
        if sides is None:
            continue
        dataset, local = _dataset(ledger, *sides)
        info = REGISTRY.get(dataset) if dataset is not None and not local else None
        if info is None or info.examples is None or info.examples > small_limit:
            continue
        used.append((dataset, info.examples))
        ties.append(verdict["winner"] is None)
        bears = AGAINST if verdict["winner"] == sides[0] else NEITHER
        found.append(evidence(notebook, f"{dataset} ({info.examples} labelled examples): "
                              f"{verdict_sentence(verdict)}", bears, data_label(ledger, *sides)))

    def reason(counted: list[Evidence]) -> str:
        n, wins = len(counted), sum(e.bears == AGAINST for e in counted)
        n_ties = sum(tie for e, tie in zip(found, ties) if e.counted)
        datasets = sorted({d for e, d in zip(found, used) if e.counted})
        where = (f"{_plural(n, 'network-vs-classical comparison')} on small datasets (at most {small_limit} "
                 f"labelled examples: {', '.join(f'{name} {size}' for name, size in datasets)}) on "
                 f"{_data_words(counted)}")
        if wins:
            return (f"In {where} the network was better in {wins}, the classical model in {n - wins - n_ties}, "
                    f"and {n_ties} had no clear winner.")
        return (f"In {where} the network was never better: the classical model was better in {n - n_ties} "
                f"and {n_ties} had no clear winner.")

    return _judgement(3, found, _missing(3, ledgers), ("small-data comparison", "small-data comparisons"), reason)


# --------------------------------------------------------------------------------------------------
# 4. Deep learning always needs powerful hardware
# --------------------------------------------------------------------------------------------------

def load_bench(path: str | os.PathLike | None = None) -> dict | None:
    """The bench record (``docs/benchmarks.json`` by default), or None when there is none."""
    if path is None:
        from course_lib.report import bench_record_path
        path = bench_record_path()
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"bench record {path} is not valid JSON: {error}") from error


def _number(record: Mapping, key: str, where: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"bench record: {where} needs a finite number {key!r}, got {value!r}")
    return float(value)


def judge_needs_hardware(ledgers: Mapping, bench: Mapping | None) -> Judgement:
    """Misconception 4 from the bench record's runs of notebooks with networks (rule 4)."""
    ledgers = check_ledgers(ledgers)
    me = _misconception(4)
    if bench is None or (isinstance(bench, Mapping) and not bench):
        return Judgement(me, NOT_JUDGED, "No bench record (docs/benchmarks.json): run make bench to "
                         "measure runtime and memory.", (), _missing(4, ledgers))
    if not isinstance(bench, Mapping):
        raise TypeError(f"bench must be the bench record dict (docs/benchmarks.json), got {type(bench).__name__}")
    runs = bench.get("notebooks")
    if not isinstance(runs, list) or not all(isinstance(r, Mapping) and isinstance(r.get("notebook"), str)
                                              for r in runs):
        raise ValueError("bench record: 'notebooks' must be a list of dicts with a 'notebook' name")
    machine, own_budget = bench.get("machine", {}), bench.get("budget", {})
    if not isinstance(machine, Mapping) or not isinstance(own_budget, Mapping):
        raise TypeError("bench record: 'machine' and 'budget' must be dicts")
    budget = {**DEFAULT_BUDGET, **own_budget}
    seconds, mib = _number(budget, "seconds", "budget"), _number(budget, "mib", "budget")
    device, cores = str(machine.get("device", "unknown device")), machine.get("cores", "?")
    on_cpu = device == "cpu"
    where = f"{cores} CPU cores, no GPU" if on_cpu else f"{device}"
    found, slowest = [], None  # found: one finding per benched notebook with a network
    for run in runs:
        notebook = run["notebook"]
        ledger = run.get("ledger") or ledgers.get(notebook)  # the benched run's own ledger first
        if not ledger:
            continue
        check_ledgers({notebook: ledger})
        networks = [name for name in ledger.get("models", {}) if is_network(name)]
        if not networks:
            continue
        wall, peak = _number(run, "wall_s", notebook), _number(run, "peak_tree_mib", notebook)
        within = bool(run.get("ok")) and wall <= seconds and peak <= mib
        label = data_label(ledger)
        data = "benchmark" if label in ("real", "local") else label
        shown = "; ".join(networks[:3]) + (f" and {len(networks) - 3} more" if len(networks) > 3 else "")
        found.append(evidence(notebook, f"{shown} trained and evaluated on {where}, in {wall:.0f} s with peak "
                              f"{peak:.0f} MiB ({'within' if within else 'outside'} the budget of "
                              f"{seconds:.0f} s, {mib:.0f} MiB).", AGAINST if on_cpu and within else NEITHER, data))
        for name in networks:
            took = ledger["models"][name].get("seconds")
            if isinstance(took, numbers.Real) and (slowest is None or took > slowest[0]):
                slowest = (float(took), name, notebook, data)
    per_run = list(found)
    if slowest is not None:
        took, name, notebook, data = slowest
        bears = AGAINST if on_cpu and took <= seconds else NEITHER
        found.append(evidence(notebook, f"The longest recorded network run (one seed, as its ledger records "
                              f"it): {name}, {took:.1f} s on {where}.", bears, data))

    def reason(counted: list[Evidence]) -> str:
        runs_counted = [e for e in per_run if e.counted]
        inside = sum(e.bears == AGAINST for e in runs_counted)
        text = (f"In the bench record ({machine.get('cpu', 'unknown CPU')}, {where}), {inside} of "
                f"{_plural(len(runs_counted), 'notebook')} with networks ran within the budget of "
                f"{seconds:.0f} s and {mib:.0f} MiB.")
        if slowest is not None:
            text += (f" The longest recorded network run (one seed) took {slowest[0]:.1f} s "
                     f"({slowest[1]}, {slowest[2]}).")
        return text

    missing = tuple(n for n in me.notebooks if n not in ledgers and n not in {r["notebook"] for r in runs})
    return _judgement(4, found, missing,
                      ("benchmarked notebook with a network", "benchmarked notebooks with a network"), reason)


# --------------------------------------------------------------------------------------------------
# 5. Deep learning is a black box
# --------------------------------------------------------------------------------------------------

def judge_black_box(ledgers: Mapping) -> Judgement:
    """Misconception 5 from explanation methods tested against a random reference (rule 5)."""
    ledgers = check_ledgers(ledgers)
    found, methods = [], []
    for notebook, ledger, verdict in _verdicts(ledgers):
        a, b = verdict["model_a"], verdict["model_b"]
        random_a, random_b = bool(RANDOM_REFERENCE.search(a)), bool(RANDOM_REFERENCE.search(b))
        if random_a == random_b:
            continue
        method, reference = (b, a) if random_a else (a, b)
        winner = verdict["winner"]
        bears = AGAINST if winner == method else NEITHER if winner is None else FOR
        found.append(evidence(notebook, verdict_sentence(verdict), bears, data_label(ledger, method, reference)))
        methods.append(strip_seed(method))

    def reason(counted: list[Evidence]) -> str:
        tally: dict[str, list[int]] = {}
        for e, method in zip(found, methods):
            if e.counted:
                tally.setdefault(method, [0, 0])
                tally[method][0] += e.bears == AGAINST
                tally[method][1] += 1
        passed = [f"{m} ({won} of {n})" for m, (won, n) in tally.items() if won]
        failed = [f"{m} (0 of {n})" for m, (won, n) in tally.items() if not won]
        lost = sum(e.bears == FOR for e in counted)
        text = (f"In {_plural(len(counted), 'test')} against a random ranking on {_data_words(counted)}, ")
        text += (f"beat random: {', '.join(passed)}" if passed else "no explanation method beat random")
        if failed:
            text += f"; did not beat random: {', '.join(failed)}"
        if lost:
            text += f"; random was better in {lost}"
        return text + "."

    return _judgement(5, found, _missing(5, ledgers),
                      ("explanation test against random", "explanation tests against random"), reason)


# --------------------------------------------------------------------------------------------------
# All five
# --------------------------------------------------------------------------------------------------

def judge_all(ledgers: Mapping | str | os.PathLike | None = None,
              bench: Mapping | str | os.PathLike | None = None) -> list[Judgement]:
    """The five judgements, in order. ``ledgers``: load_ledgers() output or a results folder (default:
    :func:`course_lib.results.load_ledgers`); ``bench``: the bench record or its path (default:
    ``docs/benchmarks.json`` when it exists; pass ``{}`` for none)."""
    from course_lib.results import load_ledgers
    if ledgers is None or isinstance(ledgers, (str, os.PathLike)):
        if ledgers is not None and not Path(ledgers).is_dir():
            raise ValueError(f"ledgers: {ledgers} is not a folder of results ledgers")
        ledgers = load_ledgers(ledgers)
    if bench is None or isinstance(bench, (str, os.PathLike)):
        bench = load_bench(bench)
    return [judge_always_better(ledgers), judge_replaces_judgement(ledgers), judge_only_big_data(ledgers),
            judge_needs_hardware(ledgers, bench), judge_black_box(ledgers)]
