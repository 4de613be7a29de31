"""How each domain's pipeline run time grows with data size: measured, fitted, written to docs/scaling.md.

    python tools/scaling.py --out docs/scaling.md            # make scaling (every domain)
    python tools/scaling.py --out /tmp/s.md --domains molecules --repeats 1   # one domain, quicker
    python tools/scaling.py --render       # rewrite docs/scaling.md from docs/scaling.json, no measuring

For each domain the notebooks' own pipeline (same course_lib models and default settings as notebooks
02, 03, 04 and 05 at the current ``COURSE_BUDGET``) runs on the real data at two or three sizes ``n``
(images, sentences, molecules, training days). Every stage is timed in wall-clock seconds; a power law
``t = a * n**b`` is fitted per stage and for the whole pipeline by least squares on ``log t`` against
``log n``. ``b`` near 1 means "twice the data, twice the time"; below 1, fixed per-run costs (a
validation pass over a fixed split, a model's start-up) still weigh in.

The page (``--out``) and ``docs/scaling.json`` (the same numbers, machine-readable) are generated:
nothing on them is typed by hand. Rerun ``make scaling`` on a quiet machine for numbers without
other people's processes in them; the page records the load average at the start and at the end.

Choices that make the numbers comparable across sizes (the page states them too):
- every stage runs all its epochs (early stopping off): the notebooks' patience can only shorten a run,
  so the measured time is the default run's upper bound, and it does not depend on when validation
  happens to stop improving at each size;
- one untimed warm-up pass per domain at a tiny size first, so one-off costs (imports, first-call
  initialisation) do not land in the smallest measured size;
- ``--repeats`` runs of each size; each stage keeps its fastest run (the one least disturbed by other
  processes);
- data loading and model loading do not grow with ``n``: they are reported once, as fixed costs.

The pure parts (:func:`fit_power_law`, :func:`extrapolate`, :func:`budget_multiplier`,
:func:`domain_paragraph`, :func:`render_markdown`) are tested in tests/test_scaling.py; the measuring
functions are not run by any test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NOISE_FLOOR_S = 0.05  # a stage faster than this at its smallest size: its exponent is timer noise
REFERENCE_BUDGET = 0.5  # the budget whose effect each paragraph spells out

# ============================================================================ the pure parts


@dataclass(frozen=True)
class PowerLaw:
    """``seconds = a * n**b``, fitted on ``sizes`` (the range the fit has seen)."""

    a: float
    b: float
    sizes: tuple[int, ...]

    def predict(self, n: float) -> float:
        """Seconds predicted at ``n`` (an extrapolation beyond ``max(sizes)``)."""
        return extrapolate(self, n)


def _finite_positive(values, name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must hold numbers only, got {list(values)!r}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"{name} must be finite and > 0 (a power law lives on logs), got {array.tolist()}")
    return array


def fit_power_law(sizes: Sequence[float], seconds: Sequence[float]) -> PowerLaw:
    """Least-squares line through ``(log n, log t)``: ``b`` its slope, ``a = exp(intercept)``.

    ``sizes`` and ``seconds`` have the same length, at least two *distinct* sizes, all values > 0.
    With exactly two sizes the line passes through both points: ``b`` then carries no estimate of
    its own error.
    """
    n = _finite_positive(sizes, "sizes")
    t = _finite_positive(seconds, "seconds")
    if len(n) != len(t):
        raise ValueError(f"sizes and seconds must have the same length, got {len(n)} and {len(t)}")
    if len(np.unique(n)) < 2:
        raise ValueError(f"sizes must hold at least two distinct sizes to fit an exponent, got {n.tolist()}")
    x, y = np.log(n), np.log(t)
    b = float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))
    a = float(np.exp(y.mean() - b * x.mean()))
    return PowerLaw(a=a, b=b, sizes=tuple(int(v) for v in n))


def extrapolate(law: PowerLaw, n: float) -> float:
    """``a * n**b``: the fitted law's seconds at size ``n`` (> 0)."""
    if not isinstance(law, PowerLaw):
        raise TypeError(f"law must be a PowerLaw (from fit_power_law), got {type(law).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)):
        raise TypeError(f"n must be a number, got {type(n).__name__}")
    if not math.isfinite(n) or n <= 0:
        raise ValueError(f"n must be finite and > 0, got {n!r}")
    return law.a * float(n) ** law.b


def budget_multiplier(base: int, budget: float, measured_budget: float = 1.0) -> float:
    """How much a count written ``scaled(base)`` in a notebook grows when ``COURSE_BUDGET`` goes from
    ``measured_budget`` to ``budget``: ``scaled`` rounds ``base * budget`` and keeps at least 1
    (course_lib.environment.scaled), so the ratio is that of the two rounded counts."""
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or base < 1:
        raise ValueError(f"base must be a positive int (the count before scaling), got {base!r}")
    for name, value in (("budget", budget), ("measured_budget", measured_budget)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ValueError(f"{name} must be a positive number such as 0.5 or 1, got {value!r}")
    return max(1, round(base * budget)) / max(1, round(base * measured_budget))


def format_seconds(seconds: float) -> str:
    """``0.42 s``, ``12 s``, ``3.4 min`` or ``1.6 h``: readable at a glance, two significant digits."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.2g} min" if seconds < 600 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.2g} h"


def is_noise(seconds: Sequence[float], law: PowerLaw) -> bool:
    """True when a stage's exponent is not to be trusted: faster than :data:`NOISE_FLOOR_S` at some
    size (timer and scheduler noise dominate), or a negative exponent (more data cannot make the
    same work faster; an optimiser that happened to converge sooner can)."""
    return min(seconds) < NOISE_FLOOR_S or law.b < 0


def totals(domain: Mapping, key: str = "seconds") -> list[float] | None:
    """The whole pipeline's seconds at each size: the sum of its stages (``key="cpu_seconds"``: of
    their CPU seconds; None when a stage has none)."""
    if any(key not in stage for stage in domain["stages"]):
        return None
    return [float(sum(stage[key][i] for stage in domain["stages"])) for i in range(len(domain["sizes"]))]


def wall_to_cpu(report: Mapping) -> float | None:
    """Wall seconds over CPU seconds, summed over every stage and size of the report: about 1 on a
    quiet machine with one thread, about 2 when another process takes half the CPU. None without
    CPU seconds."""
    wall = cpu = 0.0
    for domain in report["domains"]:
        cpu_totals = totals(domain, "cpu_seconds")
        if cpu_totals is None:
            return None
        wall, cpu = wall + sum(totals(domain)), cpu + sum(cpu_totals)
    return wall / cpu if cpu > 0 else None


def projected_seconds(domain: Mapping, n: float, budget: float | None = None, key: str = "seconds") -> float:
    """The pipeline's seconds at size ``n``: every stage along its own power law, summed. With
    ``budget``, stages whose work is a ``scaled()`` count (epochs, trees) are multiplied by
    :func:`budget_multiplier`; the others keep their time. A stage whose exponent :func:`is_noise`
    counts with its largest measured time at every ``n``. ``key="cpu_seconds"`` projects the CPU
    seconds instead of the wall-clock ones."""
    measured = domain.get("budget", 1.0)
    total = 0.0
    for stage in domain["stages"]:
        values = stage[key]
        noisy = min(values) <= 0 or is_noise(values, law := fit_power_law(domain["sizes"], values))
        # a noisy exponent is not extrapolated: such a stage keeps its largest measured time
        seconds = max(values) if noisy else extrapolate(law, n)
        knob = stage.get("budget_setting")
        if budget is not None and knob:
            seconds *= budget_multiplier(knob["base"], budget, measured)
        total += seconds
    return total


def _interpret(b: float) -> str:
    if b < 0.85:
        return "less than linear: fixed per-run costs such as a validation pass still weigh in"
    if b <= 1.15:
        return "about linear: twice the data, about twice the time"
    return "faster than linear: twice the data, more than twice the time"


def notebook_seconds(bench: Mapping | None, notebook: str) -> float | None:
    """The wall seconds of ``notebook``'s whole run in a ``make bench`` report (docs/benchmarks.json),
    or None when the report is missing or has no successful run of it."""
    if not bench or not notebook:
        return None
    for row in bench.get("notebooks", []):
        if row.get("notebook") == notebook and row.get("ok") and row.get("wall_s"):
            return float(row["wall_s"])
    return None


def whole_notebook_sentence(domain: Mapping, bench: Mapping | None) -> str:
    """What the whole notebook would take on a file of the domain's target size: its measured run time
    on the course's data (``make bench``) times (target / course size) ** b of the pipeline; "" when the
    benchmark or the domain's course size is unknown."""
    seconds = notebook_seconds(bench, domain.get("notebook", ""))
    course_n = domain.get("course_n") or 0
    if seconds is None or course_n <= 0:
        return ""
    law = fit_power_law(domain["sizes"], totals(domain))
    target = domain["target"]["n"]
    projected = seconds * (target / course_n) ** law.b
    return (f" The pipeline above is one model at one seed; notebook {domain['notebook'][:2]} repeats it "
            f"({domain.get('course_runs') or 'several models and seeds'}) and adds figures and explanations: "
            f"the whole notebook took {format_seconds(seconds)} on its {course_n:,} {domain['unit']} in the last "
            f"`make bench` (docs/benchmarks.md). If all of it grew with the same exponent, it would take about "
            f"**{format_seconds(projected)}** on {target:,} {domain['unit']} (a rough guide: "
            f"{format_seconds(seconds)} × ({target:,} / {course_n:,})^{law.b:.2f}).")


def domain_paragraph(domain: Mapping, bench: Mapping | None = None) -> str:
    """The paragraph a learner reads: measured totals, the exponent, the largest stage (per epoch when
    it counts epochs), the time for the domain's target size with the defaults and at
    ``COURSE_BUDGET=0.5``, the same projection from CPU seconds when the domain has them, and (with a
    ``make bench`` report) the whole notebook's time scaled the same way; all computed from the numbers."""
    sizes, unit = domain["sizes"], domain["unit"]
    whole = totals(domain)
    law = fit_power_law(sizes, whole)
    largest = max(domain["stages"], key=lambda s: s["seconds"][-1])
    share = largest["seconds"][-1] / whole[-1]
    measured = ", ".join(f"{n:,} {unit} in {format_seconds(t)}" for n, t in zip(sizes, whole))
    target_n, target_label = domain["target"]["n"], domain["target"]["label"]
    subject = target_label[0].upper() + target_label[1:]
    if f"{target_n:,}" not in target_label:
        subject += f" ({target_n:,} {unit})"
    default = projected_seconds(domain, target_n)
    knobs = [s for s in domain["stages"] if s.get("budget_setting")]
    text = (f"**{domain['title']}.** Measured: {measured}. The whole pipeline grows with exponent "
            f"b = {law.b:.2f} ({_interpret(law.b)}). At {sizes[-1]:,} {unit} the largest stage is "
            f"{largest['stage']}, {share:.0%} of the time")
    knob = largest.get("budget_setting")
    if knob and "epoch" in knob["name"]:
        per_epoch = [f"{t / knob['value']:.2g} s at {n:,}" for n, t in zip(sizes, largest["seconds"])]
        per_epoch = ", ".join(per_epoch[:-1]) + " and " + per_epoch[-1]
        text += f" (one epoch: {per_epoch} {unit})"
    text += (f". {subject} takes about **{format_seconds(default)}** with the defaults "
             f"(COURSE_BUDGET={domain.get('budget', 1.0):g}; each stage extrapolated along its own power law "
             f"from {sizes[0]:,}–{sizes[-1]:,} {unit})")
    if totals(domain, "cpu_seconds") is not None:
        cpu_law = fit_power_law(sizes, totals(domain, "cpu_seconds"))
        text += (f"; from CPU seconds, which other processes cannot inflate: b = {cpu_law.b:.2f}, about "
                 f"{format_seconds(projected_seconds(domain, target_n, key='cpu_seconds'))}")
        if abs(cpu_law.b - law.b) > 0.1:
            text += (" (the two exponents differ by more than 0.1: other processes slowed some sizes more "
                     "than others; trust the CPU figure until `make scaling` reruns on a quiet machine)")
    text += "."
    if knobs:
        changes = "; ".join(
            f"{s['budget_setting']['name']} {s['budget_setting']['value']} → "
            f"{max(1, round(s['budget_setting']['base'] * REFERENCE_BUDGET))}" for s in knobs)
        halved = projected_seconds(domain, target_n, REFERENCE_BUDGET)
        text += (f" COURSE_BUDGET={REFERENCE_BUDGET:g} scales, through course_lib.environment.scaled, {changes}; "
                 f"the other stages keep their time per {unit.rstrip('s')}: about **{format_seconds(halved)}**.")
    if domain.get("budget_note"):
        text += " " + domain["budget_note"]
    return text + whole_notebook_sentence(domain, bench)


def _exponent_cell(sizes: Sequence[int], seconds: Sequence[float]) -> str:
    if min(seconds) <= 0:  # a CPU clock too coarse for a very short stage
        return "—"
    law = fit_power_law(sizes, seconds)
    return f"{law.b:.2f}" + (" (noise)" if is_noise(seconds, law) else "")


def _stage_row(domain: Mapping, name: str, seconds: Sequence[float], cpu: Sequence[float] | None,
               bold: bool = False) -> str:
    sizes = " / ".join(f"{n:,}" for n in domain["sizes"])
    times = " / ".join(f"{t:.3g}" for t in seconds)
    cpu_cells = [" / ".join(f"{t:.3g}" for t in cpu), _exponent_cell(domain["sizes"], cpu)] if cpu else ["—", "—"]
    cells = [domain["domain"], name, sizes, times, _exponent_cell(domain["sizes"], seconds), *cpu_cells]
    if bold:
        cells = [f"**{c}**" for c in cells]
    return "| " + " | ".join(cells) + " |"


def render_markdown(report: Mapping, bench: Mapping | None = None) -> str:
    """docs/scaling.md from a report (the content of docs/scaling.json) and, when given, the last
    ``make bench`` report (docs/benchmarks.json) for the whole notebooks' run times."""
    produced, settings = report["produced"], report["settings"]
    load_start, load_end = produced["load_start"], produced["load_end"]
    ratio = wall_to_cpu(report)
    loads = "/".join(f"{v:.2f}" for v in load_start), "/".join(f"{v:.2f}" for v in load_end)
    lines = [
        "# How run time grows with data size",
        "",
        "<!-- Generated by `make scaling` (tools/scaling.py). Do not edit: rerun `make scaling`. -->",
        "",
        f"Generated by `make scaling` (`{produced['command']}`) on {produced['date_utc']} UTC at commit "
        f"`{produced['commit']}`{' (with uncommitted changes)' if produced.get('dirty') else ''}. "
        f"The whole measurement took {format_seconds(produced['wall_s'])}. The same numbers are in "
        "`docs/scaling.json`.",
        "",
        f"Settings: COURSE_BUDGET={settings['budget']:g} (the notebooks' default settings), "
        f"{settings['threads']} thread(s) for torch and the BLAS/OpenMP pools (as notebooks 02–05 set them), "
        f"fastest of {settings['repeats']} run(s) per size and stage, data from the data mirror or cache "
        f"({', '.join(f'{k}: {v}' for k, v in settings['provenance'].items())}).",
        "",
        f"Load average (1/5/15 min) at the start: {loads[0]}; at the end: {loads[1]}, on "
        f"{report['machine'].get('cores', '?')} core(s); this measurement itself adds about "
        f"{settings['threads']} while it runs. A load above that means other processes shared the machine "
        "and the seconds below are inflated and noisy; rerun `make scaling` on a quiet machine."
        + ("" if ratio is None else
           f" Over all stages the wall-clock time was {ratio:.2f}× this process's CPU time (about 1 on a quiet "
           f"machine with {settings['threads']} thread(s)); the CPU columns below are what other processes "
           "cannot inflate."),
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in report["machine"].items()),
        "",
        "## Measured seconds and fitted exponents",
        "",
        "Each stage's exponent b comes from a least-squares fit of log(seconds) on log(n) over the sizes "
        "measured, t = a·n^b. With two sizes the line passes through both points exactly, so b carries no "
        "error estimate of its own; *(noise)* marks stages faster than "
        f"{NOISE_FLOOR_S} s at some size or with a negative exponent: timer, scheduler or optimiser "
        "noise, not growth (the projections below keep such a stage at its largest measured time). "
        "Extrapolating beyond the largest size measured assumes the exponent holds there. *CPU seconds* "
        "are this process's CPU time over the same stretch (all its threads), from the same run: other "
        "processes on the machine inflate the wall-clock seconds, not these.",
        "",
        "| domain | stage | sizes (n) | seconds | exponent b | CPU seconds | b (CPU) |",
        "|---|---|---|---|---:|---|---:|",
    ]
    for domain in report["domains"]:
        for stage in domain["stages"]:
            lines.append(_stage_row(domain, stage["stage"], stage["seconds"], stage.get("cpu_seconds")))
        lines.append(_stage_row(domain, "total", totals(domain), totals(domain, "cpu_seconds"), bold=True))
    lines += ["", "## What it means for your data", "",
              "COURSE_BUDGET multiplies every count a notebook writes as `scaled(...)` (epochs, trees, the "
              "notebooks' own subset sizes) and rounds it, keeping at least 1 "
              "(`course_lib.environment.scaled`); it never changes the code path. Stages that are not such a "
              "count (featurisation, descriptors, embedding, GARCH, HAR) take as long per row at any budget, "
              "and every row of your file is still processed.", ""]
    for domain in report["domains"]:
        lines += [domain_paragraph(domain, bench), ""]
    lines += ["## Fixed costs (independent of n, paid once per run)", "",
              "| domain | step | seconds |", "|---|---|---:|"]
    for domain in report["domains"]:
        for name, seconds in domain["fixed"].items():
            lines.append(f"| {domain['domain']} | {name} | {seconds:.3g} |")
    lines += ["", "## How each pipeline was measured", ""]
    for domain in report["domains"]:
        lines.append(f"- **{domain['title']}** ({domain['unit']}): {domain['settings']}")
        lines += [f"  {note}" for note in domain.get("notes", [])]
    lines += ["", "Every stage runs all its epochs (early stopping off): the notebooks' patience can only "
              "shorten a run, so these are the default settings' upper bounds. One untimed warm-up pass at a "
              "tiny size per domain comes first, so one-off start-up costs do not land in the smallest size.",
              ""]
    return "\n".join(lines)


# ============================================================================ measuring


class StageClock:
    """Seconds per named stage: ``with clock.stage("GINE training"): ...``. ``seconds`` holds wall-clock
    time, ``cpu_seconds`` the CPU time of this process (all its threads) over the same stretch: with
    one thread and no other load the two agree; other processes on the machine inflate only the first."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu_start


@dataclass
class Domain:
    """One domain's measurement: ``prepare()`` loads data once (timed as fixed costs) and returns a
    context; ``run(context, n, clock, **overrides)`` is the pipeline at size n; ``warmup`` the
    overrides of the untimed warm-up pass at ``warmup_n``."""

    domain: str
    title: str
    unit: str
    sizes: tuple[int, ...]
    target: dict
    prepare: Callable[[StageClock], Any]
    run: Callable[..., None]
    warmup_n: int
    warmup: dict
    settings: Callable[[], str]
    budget_settings: Callable[[], dict[str, dict]]  # stage -> {"name", "base", "value"}
    notes: tuple[str, ...] = ()
    budget_note: str = ""
    notebook: str = ""  # the notebook whose pipeline this is (its whole run time is in docs/benchmarks.json)
    course_n: int = 0  # how many of ``unit`` that notebook reads from the course's own data
    course_runs: str = ""  # what the notebook repeats the pipeline for (models, seeds, splits)


def _quiet(function, *args, **kwargs):
    import contextlib
    import io
    import warnings

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# ---------------------------------------------------------------- images (notebook 02)

IMAGE_C_GRID = (1e-3, 1e-2, 1e-1)  # notebook 02's choose_C grid for logistic regression on pixels


def _image_settings() -> dict:
    from course_lib.environment import scaled
    return {"epochs": scaled(16), "batch_size": 128, "lr": 3e-3}


def _prepare_images(clock: StageClock):
    with clock.stage("load PneumoniaMNIST"):
        from course_lib.imaging import load_pneumoniamnist
        loaded, data = _quiet(load_pneumoniamnist, allow_fallback=False)
    x_train, y_train = data.tensors("train")
    x_val, y_val = data.tensors("val")
    order = np.random.default_rng(0).permutation(len(y_train))  # smaller sizes are subsets of larger ones
    return {"loaded": loaded, "data": data, "x": (x_train, y_train), "val": (x_val, y_val), "order": order}


def _run_images(context, n: int, clock: StageClock, *, epochs: int | None = None) -> None:
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from torch import nn

    from course_lib.imaging import CompactCNN, make_loader, positive_class_weight
    from course_lib.training import fit, seed_everything

    settings = _image_settings()
    epochs = settings["epochs"] if epochs is None else epochs
    rows = np.sort(context["order"][:n])
    data = context["data"]
    with clock.stage("logistic regression on pixels (3 values of C)"):
        pixels, labels = data.pixels("train")[rows], data.labels["train"][rows]
        val_pixels = data.pixels("val")
        for C in IMAGE_C_GRID:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000, tol=1e-3, random_state=0))
            model.fit(pixels, labels)
            roc_auc_score(data.labels["val"], model.decision_function(val_pixels))
    with clock.stage(f"CompactCNN training ({epochs} epochs)"):
        seed_everything(0)
        x, y = context["x"][0][rows], context["x"][1][rows]
        bs = settings["batch_size"]
        train_loader = make_loader(x, y, batch_size=bs, shuffle=True, augment=True, seed=0,
                                   drop_last=len(x) % bs == 1)
        val_loader = make_loader(*context["val"], batch_size=512)
        model = CompactCNN()
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["lr"],
                                                        total_steps=epochs * len(train_loader))
        loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(positive_class_weight(y.numpy())))
        fit(model, train_loader, val_loader, loss_fn=loss_fn, optimizer=optimizer, epochs=epochs,
            scheduler=scheduler, scheduler_step="batch", progress=False)


# ---------------------------------------------------------------- text (notebook 04)

TEXT_C_GRID = (0.3, 1.0, 3.0, 10.0)  # notebook 04's probe grid
TEXT_MAX_LENGTH = 64
TEXT_MIN_WORDS = 8


def _prepare_text(clock: StageClock, largest: int = 2000):
    with clock.stage("load SST-2"):
        from course_lib.text import load_sst2, select_training_sentences
        loaded, (train, _dev) = _quiet(load_sst2, allow_fallback=False)
    with clock.stage("load MiniLM (all-MiniLM-L6-v2)"):
        from course_lib.text import load_pretrained
        pretrained = _quiet(load_pretrained)
    chosen = select_training_sentences(train, largest, min_words=TEXT_MIN_WORDS, seed=0, roots_only=True)
    order = np.random.default_rng(0).permutation(len(chosen))
    return {"loaded": loaded, "pretrained": pretrained, "frame": chosen.iloc[order].reset_index(drop=True)}


def _run_text(context, n: int, clock: StageClock) -> None:
    from sklearn.linear_model import LogisticRegression

    from course_lib.text import embed

    frame = context["frame"].iloc[:n]
    if len(frame) < n:
        raise ValueError(f"only {len(frame)} sentences were prepared, {n} asked for")
    pretrained = context["pretrained"]
    with clock.stage("frozen MiniLM embedding"):
        features = embed(pretrained.model, pretrained.tokenizer, list(frame["sentence"]), max_length=TEXT_MAX_LENGTH)
    with clock.stage("logistic regression (4 values of C)"):
        for C in TEXT_C_GRID:
            LogisticRegression(C=C, max_iter=3000, random_state=0).fit(features, frame["label"].to_numpy())


# ---------------------------------------------------------------- molecules (notebook 05)


def _molecule_settings() -> dict:
    from course_lib.environment import scaled
    return {"trees": scaled(150), "epochs": scaled(50), "batch_size": 64, "lr": 3e-3, "layers": 4}


def _prepare_molecules(clock: StageClock):
    with clock.stage("load ESOL"):
        from course_lib.molecules import load_esol
        loaded, (smiles, targets) = _quiet(load_esol, allow_fallback=False)
    return {"loaded": loaded, "smiles": list(smiles), "y": np.asarray(targets, dtype=np.float64)}


def _esol_rows(context, n: int) -> tuple[list[str], np.ndarray]:
    """``n`` ESOL molecules: a seeded subset when n <= len(ESOL), else ESOL repeated (whole copies,
    then a seeded subset of one more copy). Repeats measure time, not accuracy."""
    smiles, y = context["smiles"], context["y"]
    total = len(smiles)
    copies, rest = divmod(n, total)
    rows = np.concatenate([np.tile(np.arange(total), copies),
                           np.sort(np.random.default_rng(0).permutation(total)[:rest])]).astype(int)
    return [smiles[i] for i in rows], y[rows]


def _run_molecules(context, n: int, clock: StageClock, *, epochs: int | None = None,
                   trees: int | None = None) -> None:
    from course_lib.molecules import (
        featurize, morgan_fingerprints, random_forest, rdkit_descriptors, scaffold_split, train_gnn,
    )

    settings = _molecule_settings()
    epochs = settings["epochs"] if epochs is None else epochs
    trees = settings["trees"] if trees is None else trees
    smiles, y_all = _esol_rows(context, n)
    with clock.stage("featurize (RDKit parse + graphs)"):
        molecules = featurize(smiles, y_all, verbose=False)
    mols, graphs, y = molecules.mols, molecules.graphs, y_all[molecules.index]
    with clock.stage("RDKit descriptors"):
        descriptors = rdkit_descriptors(mols).to_numpy(np.float32)
    with clock.stage("ECFP4 fingerprints"):
        fingerprints = np.asarray(morgan_fingerprints(mols, radius=2, n_bits=2048), np.float32)
    with clock.stage("scaffold split"):
        split = _quiet(scaffold_split, mols, seed=0)
    with clock.stage(f"random forests on ECFP4 + descriptors ({trees} trees each)"):
        random_forest(fingerprints, y, split.train, seed=0, n_estimators=trees, max_features="sqrt")
        random_forest(descriptors, y, split.train, seed=0, n_estimators=trees, max_features=0.3)
    with clock.stage(f"GINE training ({epochs} epochs)"):
        train_gnn("gine", [graphs[i] for i in split.train], [graphs[i] for i in split.val], seed=0,
                  epochs=epochs, batch_size=settings["batch_size"], lr=settings["lr"], layers=settings["layers"],
                  patience=None, progress=False)


# ---------------------------------------------------------------- finance (notebook 03)

FINANCE_TEST = ("2018-01-01", "2018-12-31")  # one fixed test year: the last of arch's S&P 500
FINANCE_VAL_DAYS = 252  # one trading year of validation before it, as notebook 03
TRADING_YEAR = 252


def _finance_settings() -> dict:
    from course_lib.environment import scaled
    return {"garch_refit": 20, "gbm_iter": scaled(100), "epochs": scaled(15),
            "neural": {"length": 22, "hidden_size": 32, "batch_size": 256, "lr": 3e-3, "grad_clip": 1.0}}


def _prepare_finance(clock: StageClock):
    import pandas as pd

    with clock.stage("load S&P 500 + features"):
        from course_lib.finance import load_sp500
        loaded, features = _quiet(load_sp500)
    index = features.index
    test_start = int(index.searchsorted(pd.Timestamp(FINANCE_TEST[0])))
    test_stop = int(index.searchsorted(pd.Timestamp(FINANCE_TEST[1]), side="right"))
    if test_stop <= test_start or test_stop > len(index):
        raise ValueError(f"the S&P 500 data ({index[0].date()}..{index[-1].date()}) does not cover the test "
                         f"year {FINANCE_TEST[0]}..{FINANCE_TEST[1]}")
    return {"loaded": loaded, "features": features, "test": (test_start, test_stop)}


def _run_finance(context, n: int, clock: StageClock, *, epochs: int | None = None) -> None:
    from course_lib.finance import Fold, garch_forecast, gbm_forecast, har_forecast, neural_forecast

    settings = _finance_settings()
    epochs = settings["epochs"] if epochs is None else epochs
    features = context["features"]
    test_start, test_stop = context["test"]
    val_start = test_start - FINANCE_VAL_DAYS
    if val_start - n < 0:
        raise ValueError(f"{n} training days do not fit before {features.index[val_start].date()}")
    fold = Fold(train=(val_start - n, val_start), val=(val_start, test_start), test=(test_start, test_stop))
    with clock.stage(f"GARCH(1,1) walk-forward (refit every {settings['garch_refit']} days)"):
        _quiet(garch_forecast, features, fold, refit_every=settings["garch_refit"])
    with clock.stage("HAR (least squares)"):
        har_forecast(features, fold)
    with clock.stage(f"GBM ({settings['gbm_iter']} trees)"):
        gbm_forecast(features, fold, seed=0, max_iter=settings["gbm_iter"])
    with clock.stage(f"LSTM training + forecast ({epochs} epochs)"):
        neural_forecast(features, fold, cell="lstm", seed=0, epochs=epochs, patience=None, loss="qlike",
                        **settings["neural"])


# ---------------------------------------------------------------- the four domains


def _budget_settings(pairs: Sequence[tuple[str, str, int, int]]) -> dict[str, dict]:
    return {stage: {"name": name, "base": base, "value": value} for stage, name, base, value in pairs}


def domains() -> list[Domain]:
    """The four measurements, in course order of their notebooks (02, 04, 05, 03)."""
    def images_budget():
        s = _image_settings()
        return _budget_settings([(f"CompactCNN training ({s['epochs']} epochs)", "CNN epochs", 16, s["epochs"])])

    def molecules_budget():
        s = _molecule_settings()
        return _budget_settings([
            (f"random forests on ECFP4 + descriptors ({s['trees']} trees each)", "trees per forest", 150, s["trees"]),
            (f"GINE training ({s['epochs']} epochs)", "GINE epochs", 50, s["epochs"])])

    def finance_budget():
        s = _finance_settings()
        return _budget_settings([(f"GBM ({s['gbm_iter']} trees)", "GBM trees", 100, s["gbm_iter"]),
                                 (f"LSTM training + forecast ({s['epochs']} epochs)", "LSTM epochs", 15, s["epochs"])])

    return [
        Domain("images", "Images (notebook 02)", "images", (1_000, 4_000),
               {"n": 20_000, "label": "a folder of 20,000 X-rays (about 4× PneumoniaMNIST's training split)"},
               _prepare_images, _run_images, 256, {"epochs": 1},
               lambda: (f"PneumoniaMNIST training images (28×28), a seeded subset of n; logistic regression on "
                        f"pixels (StandardScaler, C in {IMAGE_C_GRID}, validation AUC for each); CompactCNN, "
                        f"{_image_settings()['epochs']} epochs, batch 128, AdamW + OneCycle at 3e-3, augmentation, "
                        "class-weighted loss, a pass over the 524 validation images after every epoch "
                        "(a fixed cost per epoch)."),
               images_budget, notebook="02_cnn_medical_imaging", course_n=4_708,
               course_runs="the CNN at 3 seeds, with and without augmentation, plus the classical baselines"),
        Domain("text", "Sentences (notebook 04)", "sentences", (500, 2_000),
               {"n": 10_000, "label": "a CSV of 10,000 sentences"},
               _prepare_text, _run_text, 32, {},
               lambda: (f"whole SST-2 training sentences (≥ {TEXT_MIN_WORDS} words, median about 19), the first "
                        f"n of one seeded selection; frozen all-MiniLM-L6-v2 mean-pooled embeddings (max "
                        f"{TEXT_MAX_LENGTH} tokens, batches of 64); logistic regression for C in {TEXT_C_GRID}."),
               lambda: {},
               budget_note=("COURSE_BUDGET changes nothing in these two stages: notebook 04 uses it to choose how "
                            "many sentences to embed (scaled(2,500)); the time per sentence stays, so the time "
                            "follows the number of sentences you embed. Longer sentences cost more per sentence "
                            f"(up to the {TEXT_MAX_LENGTH}-token cut)."),
               notebook="04_transformers_sentiment", course_n=2_500,
               course_runs="MiniLM probes and fine-tuning at 3 seeds, a transformer trained from scratch on up to "
                           "12,000 sentences, and the classical baselines"),
        Domain("molecules", "Molecules (notebook 05)", "molecules", (300, 1_128, 2_256),
               {"n": 4_512, "label": "a file 4× the size of ESOL"},
               _prepare_molecules, _run_molecules, 60, {"epochs": 1, "trees": 10},
               lambda: (f"ESOL SMILES: a seeded subset of 300, all 1,128, and ESOL twice over (2,256); featurize, "
                        f"RDKit descriptors, ECFP4 (2,048 bits), scaffold split 80/10/10, a random forest on "
                        f"each feature set ({_molecule_settings()['trees']} trees), GINE (4 layers, hidden 64, "
                        f"{_molecule_settings()['epochs']} epochs, batch 64, lr 3e-3) trained on the training part "
                        "and validated on the validation part after every epoch."),
               molecules_budget,
               notes=("The 2,256-molecule size repeats every ESOL molecule twice: it measures time, not accuracy "
                      "(a duplicated molecule costs what a new one of the same size costs; the scaffold split "
                      "keeps both copies in one part).",),
               notebook="05_gnn_molecules", course_n=1_128,
               course_runs="three GNN variants and the tree baselines, 3 seeds, on a random and a scaffold split"),
        Domain("finance", "Prices (notebook 03)", "training days", (5 * TRADING_YEAR, 10 * TRADING_YEAR),
               {"n": 20 * TRADING_YEAR, "label": "20 years of daily history"},
               _prepare_finance, _run_finance, TRADING_YEAR, {"epochs": 1},
               lambda: (f"S&P 500 (arch's bundled copy): 5 and 10 years (n = 1,260 and 2,520 trading days) of "
                        f"training history, then one fixed validation year (2017, {FINANCE_VAL_DAYS} days) and "
                        f"one fixed test year ({FINANCE_TEST[0][:4]}); GARCH(1,1) refitted every "
                        f"{_finance_settings()['garch_refit']} test days, HAR by least squares, gradient boosting "
                        f"({_finance_settings()['gbm_iter']} trees) and an LSTM (hidden 32, 22-day windows, "
                        f"{_finance_settings()['epochs']} epochs, batch 256, QLIKE loss). The classical models "
                        "fit on training + validation days, as in notebook 03."),
               finance_budget,
               notes=("A longer test window adds GARCH refits (one per 20 test days) and forecasts, not "
                      "training time: the table grows the history only.",),
               notebook="03_lstm_finance", course_n=5_030,
               course_runs="an LSTM and a GRU at 3 seeds on three walk-forward folds, the classical baselines "
                           "and the demonstrations on the development years"),
    ]


def measure_domain(domain: Domain, repeats: int, log: Callable[[str], None]) -> dict:
    """Run one domain: prepare (fixed costs), warm up, then every size ``repeats`` times."""
    fixed = StageClock()
    context = domain.prepare(fixed)
    domain.run(context, domain.warmup_n, StageClock(), **domain.warmup)  # untimed warm-up
    per_size: list[dict[str, tuple[float, float]]] = []  # stage -> (wall, CPU) of its fastest run
    for n in domain.sizes:
        runs = []
        for _ in range(repeats):
            clock = StageClock()
            domain.run(context, n, clock)
            runs.append(clock)
        best = {stage: min((run.seconds[stage], run.cpu_seconds[stage]) for run in runs)
                for stage in runs[0].seconds}
        log(f"[{domain.domain}] n={n:,}: {sum(w for w, _ in best.values()):.1f} s wall, "
            f"{sum(c for _, c in best.values()):.1f} s CPU "
            f"({', '.join(f'{k} {w:.2f}' for k, (w, _) in best.items())})")
        per_size.append(best)
    knobs = domain.budget_settings()
    stages = [{"stage": stage, "seconds": [round(size[stage][0], 4) for size in per_size],
               "cpu_seconds": [round(size[stage][1], 4) for size in per_size],
               "budget_setting": knobs.get(stage)} for stage in per_size[0]]
    from course_lib.environment import budget
    return {"domain": domain.domain, "title": domain.title, "unit": domain.unit, "sizes": list(domain.sizes),
            "target": domain.target, "stages": stages, "budget": budget(),
            "fixed": {k: round(v, 4) for k, v in fixed.seconds.items()}, "settings": domain.settings(),
            "notes": list(domain.notes), "budget_note": domain.budget_note,
            "notebook": domain.notebook, "course_n": domain.course_n, "course_runs": domain.course_runs,
            "provenance": getattr(context["loaded"], "provenance", "unknown")}


def measure(names: Sequence[str], *, repeats: int, threads: int, command: str,
            log: Callable[[str], None] = print) -> dict:
    """Measure the named domains and return the report that :func:`render_markdown` renders."""
    import torch
    from threadpoolctl import threadpool_limits

    sys.path.insert(0, str(ROOT / "tools"))
    from bench_report import git_state

    from course_lib import environment

    git = git_state()
    started, load_start, start = datetime.now(timezone.utc), os.getloadavg(), time.perf_counter()
    torch.set_num_threads(threads)
    chosen = [d for d in domains() if d.domain in names]
    results = []
    with threadpool_limits(threads):
        for domain in chosen:
            log(f"[{domain.domain}] sizes {', '.join(f'{n:,}' for n in domain.sizes)} {domain.unit}")
            results.append(measure_domain(domain, repeats, log))
    wall = time.perf_counter() - start
    machine = environment.environment_report()
    return {"produced": {"date_utc": started.strftime("%Y-%m-%d %H:%M"), "commit": git["commit"],
                         "dirty": git["dirty"], "command": command, "wall_s": round(wall, 1),
                         "load_start": [round(v, 2) for v in load_start],
                         "load_end": [round(v, 2) for v in os.getloadavg()]},
            "machine": machine,
            "settings": {"budget": environment.budget(), "threads": threads, "repeats": repeats,
                         "provenance": {d["domain"]: d["provenance"] for d in results}},
            "domains": results}


DOMAIN_NAMES = ("images", "text", "molecules", "finance")
BENCH_JSON = ROOT / "docs" / "benchmarks.json"


def _bench() -> dict | None:
    """The last ``make bench`` report, or None when there is none."""
    return json.loads(BENCH_JSON.read_text()) if BENCH_JSON.is_file() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scaling.md", help="the page to write")
    parser.add_argument("--json", type=Path, default=None,
                        help="the numbers, machine-readable (default: --out with the suffix .json)")
    parser.add_argument("--domains", nargs="+", choices=DOMAIN_NAMES, default=list(DOMAIN_NAMES))
    parser.add_argument("--repeats", type=int, default=2, help="runs per size; each stage keeps its fastest")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (notebooks 02–05: 1)")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: rewrite the page from the numbers already in the JSON file")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    json_path = args.json or args.out.with_suffix(".json")
    if args.render:
        if not json_path.is_file():
            parser.error(f"--render needs {json_path}: run a measurement first (make scaling)")
        args.out.write_text(render_markdown(json.loads(json_path.read_text()), _bench()))
        print(f"wrote {args.out} from {json_path}")
        return 0
    shown = [os.path.relpath(a, ROOT) if Path(a).is_absolute() and Path(a).is_relative_to(ROOT) else a
             for a in (argv if argv is not None else sys.argv[1:])]
    command = shlex.join(["python", "tools/scaling.py", *shown])
    report = measure(args.domains, repeats=args.repeats, threads=args.threads, command=command,
                     log=lambda line: print(line, flush=True))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    args.out.write_text(render_markdown(report, _bench()))
    print(f"wrote {args.out} and {json_path} in {report['produced']['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
