"""tools/scaling.py's pure parts: the power-law fit, the extrapolation, the budget arithmetic and the
generated page. No real measurement runs here (that is `make scaling`)."""

from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest
import torch

from course_lib import environment
from course_lib.environment import repository_root

ROOT = repository_root()
sys.path.insert(0, str(ROOT / "tools"))

import scaling  # noqa: E402
from scaling import (  # noqa: E402
    PowerLaw,
    budget_multiplier,
    domain_paragraph,
    extrapolate,
    fit_power_law,
    format_seconds,
    projected_seconds,
    render_markdown,
    totals,
)

torch.set_num_threads(1)

# float64 logs of exact power-law values: the fit recovers a and b to ~1e-15 relative; 1e-9 leaves
# room for any BLAS, while a wrong slope formula (or a fit in linear space) misses by far more.
RTOL = 1e-9

# ============================================================================ the fit


@pytest.mark.parametrize("a, b, sizes", [(0.002, 1.3, (300, 1_128, 2_256)), (5e-4, 1.0, (1_000, 4_000)),
                                         (1.7, 0.5, (10, 100, 1_000, 10_000)), (3.0, 2.0, (2, 3))])
def test_fit_recovers_a_and_b_from_exact_power_law_timings(a, b, sizes):
    seconds = [a * n**b for n in sizes]
    law = fit_power_law(sizes, seconds)
    assert law.b == pytest.approx(b, rel=RTOL)
    assert law.a == pytest.approx(a, rel=RTOL)
    assert law.sizes == tuple(sizes)


def test_fit_is_the_least_squares_line_on_logs_for_noisy_timings():
    # independent computation: numpy's degree-1 polyfit on (log n, log t)
    sizes = np.array([300, 1_128, 2_256, 4_000])
    seconds = 0.01 * sizes**1.1 * np.array([1.2, 0.9, 1.05, 0.97])
    slope, intercept = np.polyfit(np.log(sizes), np.log(seconds), 1)
    law = fit_power_law(sizes, seconds)
    assert law.b == pytest.approx(slope, rel=RTOL)
    assert law.a == pytest.approx(math.exp(intercept), rel=RTOL)


def test_two_sizes_give_the_line_through_both_points_by_hand():
    # t doubles when n quadruples: b = log 2 / log 4 = 0.5; a = 2 / sqrt(1000)
    law = fit_power_law([1_000, 4_000], [2.0, 4.0])
    assert law.b == pytest.approx(0.5, rel=RTOL)
    assert law.a == pytest.approx(2.0 / math.sqrt(1_000), rel=RTOL)
    assert extrapolate(law, 1_000) == pytest.approx(2.0, rel=RTOL)
    assert extrapolate(law, 4_000) == pytest.approx(4.0, rel=RTOL)


def test_extrapolation_by_hand():
    law = PowerLaw(a=0.5, b=2.0, sizes=(1, 2))
    assert extrapolate(law, 3) == pytest.approx(4.5, rel=RTOL)
    assert law.predict(10.0) == pytest.approx(50.0, rel=RTOL)
    linear = fit_power_law([300, 1_128], [3.0, 11.28])            # 0.01 s per molecule
    assert extrapolate(linear, 4 * 1_128) == pytest.approx(45.12, rel=RTOL)


@pytest.mark.parametrize("sizes, seconds, error, match", [
    ([1_000], [1.0], ValueError, "two distinct sizes"),
    ([1_000, 1_000], [1.0, 2.0], ValueError, "two distinct sizes"),
    ([1_000, 2_000], [1.0], ValueError, "same length"),
    ([0, 2_000], [1.0, 2.0], ValueError, "sizes must be finite and > 0"),
    ([1_000, 2_000], [0.0, 2.0], ValueError, "seconds must be finite and > 0"),
    ([1_000, 2_000], [float("nan"), 2.0], ValueError, "seconds must be finite"),
    ([[1_000, 2_000]], [[1.0, 2.0]], ValueError, "sizes must be one-dimensional"),
    ("1000", [1.0], TypeError, "sizes must be a sequence"),
    ([1_000, 2_000], ["a", "b"], TypeError, "seconds must hold numbers"),
    (1_000, 1.0, TypeError, "sizes must be a sequence"),
])
def test_fit_rejects_bad_input_naming_it(sizes, seconds, error, match):
    with pytest.raises(error, match=match):
        fit_power_law(sizes, seconds)


def test_extrapolate_rejects_bad_input():
    law = fit_power_law([1, 2], [1.0, 2.0])
    with pytest.raises(TypeError, match="law must be a PowerLaw"):
        extrapolate((1.0, 1.0), 10)
    with pytest.raises(ValueError, match="n must be finite and > 0"):
        extrapolate(law, 0)
    with pytest.raises(TypeError, match="n must be a number"):
        extrapolate(law, "10")
    with pytest.raises(TypeError, match="n must be a number"):
        extrapolate(law, True)

# ============================================================================ the budget knob


@pytest.mark.parametrize("base", [1, 3, 15, 16, 50, 100, 150])
@pytest.mark.parametrize("budget", [0.25, 0.5, 2.0, 8.0])
def test_budget_multiplier_follows_course_lib_scaled(monkeypatch, base, budget):
    # independent computation: the library's own scaled() under the two budgets
    monkeypatch.setenv(environment.BUDGET_ENV, "1")
    at_one = environment.scaled(base)
    monkeypatch.setenv(environment.BUDGET_ENV, str(budget))
    assert budget_multiplier(base, budget) == pytest.approx(environment.scaled(base) / at_one, rel=1e-12)


def test_budget_multiplier_by_hand_and_errors():
    assert budget_multiplier(16, 0.5) == 0.5           # 16 -> 8 epochs
    assert budget_multiplier(15, 0.5) == 8 / 15         # round(7.5) = 8 (scaled rounds half to even)
    assert budget_multiplier(1, 0.1) == 1.0             # scaled keeps at least one
    assert budget_multiplier(50, 0.5, measured_budget=2.0) == 25 / 100
    with pytest.raises(ValueError, match="base must be a positive int"):
        budget_multiplier(0, 0.5)
    with pytest.raises(ValueError, match="budget must be a positive number"):
        budget_multiplier(10, -1)
    with pytest.raises(ValueError, match="measured_budget must be a positive number"):
        budget_multiplier(10, 0.5, measured_budget=float("inf"))


@pytest.mark.parametrize("seconds, text", [(0.4234, "0.42 s"), (7.0, "7 s"), (12.4, "12 s"), (119.0, "119 s"),
                                           (150.0, "2.5 min"), (900.0, "15 min"), (9000.0, "2.5 h")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_format_seconds_rejects_bad_input():
    with pytest.raises(ValueError, match="seconds must be finite and >= 0"):
        format_seconds(-1.0)
    with pytest.raises(TypeError, match="seconds must be a number"):
        format_seconds("1")

# ============================================================================ the page


def toy_domain() -> dict:
    """Hand-checkable: stage A is linear (1 s per 1,000 rows), stage B is linear and budget-scaled
    (16 epochs), stage C is timer noise. At 16,000 rows: A 16 s, B 32 s, C 0.01 s -> 48.01 s; at
    COURSE_BUDGET=0.5, B runs 8 epochs -> 16 s, total 32.01 s."""
    return {"domain": "toys", "title": "Toys (notebook 99)", "unit": "rows", "sizes": [1_000, 4_000],
            "target": {"n": 16_000, "label": "a file of 16,000 rows"}, "budget": 1.0,
            "stages": [{"stage": "stage A", "seconds": [1.0, 4.0], "cpu_seconds": [0.5, 1.0],
                        "budget_setting": None},
                       {"stage": "stage B (16 epochs)", "seconds": [2.0, 8.0], "cpu_seconds": [1.0, 4.0],
                        "budget_setting": {"name": "toy epochs", "base": 16, "value": 16}},
                       {"stage": "stage C", "seconds": [0.01, 0.002], "cpu_seconds": [0.0, 0.002],
                        "budget_setting": None}],
            "fixed": {"load toys": 1.5}, "settings": "toy settings sentence.", "notes": ["A toy note."],
            "budget_note": "", "provenance": "mirror"}


def toy_report() -> dict:
    return {"produced": {"date_utc": "2026-12-05 03:00", "commit": "abc1234", "dirty": True,
                         "command": "python tools/scaling.py --out docs/scaling.md", "wall_s": 245.0,
                         "load_start": [1.25, 0.5, 0.25], "load_end": [2.5, 1.0, 0.75]},
            "machine": {"cpu": "Toy CPU 9000", "cores": "2", "budget": "1"},
            "settings": {"budget": 1.0, "threads": 1, "repeats": 2, "provenance": {"toys": "mirror"}},
            "domains": [toy_domain()]}


def test_totals_and_projection_by_hand():
    domain = toy_domain()
    assert totals(domain) == pytest.approx([3.01, 12.002])
    assert totals(domain, "cpu_seconds") == pytest.approx([1.5, 5.002])
    # wall over CPU, summed over stages and sizes: (3.01 + 12.002) / (1.5 + 5.002)
    assert scaling.wall_to_cpu(toy_report()) == pytest.approx(15.012 / 6.502, rel=1e-12)
    del domain["stages"][0]["cpu_seconds"]
    assert totals(domain, "cpu_seconds") is None and scaling.wall_to_cpu({"domains": [domain]}) is None
    # stage C is noise (< 0.05 s, negative exponent): kept at its largest measured time, 0.01 s
    assert projected_seconds(domain, 16_000) == pytest.approx(16 + 32 + 0.01, rel=1e-9)
    assert projected_seconds(domain, 16_000, budget=0.5) == pytest.approx(16 + 16 + 0.01, rel=1e-9)
    assert projected_seconds(domain, 1_000) == pytest.approx(1 + 2 + 0.01, rel=1e-9)
    assert projected_seconds(toy_domain(), 16_000, key="cpu_seconds") == pytest.approx(2 + 16 + 0.002, rel=1e-9)


def test_paragraph_states_the_computed_numbers():
    text = domain_paragraph(toy_domain())
    assert "1,000 rows in 3 s, 4,000 rows in 12 s" in text
    # whole pipeline: 3.01 -> 12.002 for 4x the rows: b = log(12.002 / 3.01) / log 4
    b = math.log(12.002 / 3.01) / math.log(4)
    assert f"b = {b:.2f}" in text and "about linear" in text
    # stage B: 2 s and 8 s for 16 epochs -> 0.125 s and 0.5 s per epoch
    assert ("largest stage is stage B (16 epochs), 67% of the time "
            "(one epoch: 0.12 s at 1,000 and 0.5 s at 4,000 rows)") in text
    assert "A file of 16,000 rows takes about **48 s** with the defaults" in text
    # CPU: A 0.5 -> 1 (b 0.5) -> 2 s at 16,000; B 1 -> 4 (b 1) -> 16 s; C (zero CPU: noise) 0.002 s
    cpu_total = math.log(5.002 / 1.5) / math.log(4)
    assert f"b = {cpu_total:.2f}, about 18 s (the two exponents differ by more than 0.1" in text
    assert "toy epochs 16 → 8" in text and "about **32 s**" in text


def test_paragraph_without_budget_knob_says_the_note():
    domain = toy_domain()
    for stage in domain["stages"]:
        stage["budget_setting"] = None
    domain["budget_note"] = "The knob changes nothing here."
    text = domain_paragraph(domain)
    assert "scales, through" not in text and text.endswith("The knob changes nothing here.")


def test_paragraph_lists_three_sizes_and_agreeing_exponents_without_caveat():
    domain = toy_domain()
    domain["sizes"] = [1_000, 2_000, 4_000]
    for stage, per_row in zip(domain["stages"], (1e-3, 2e-3, 1e-4)):
        stage["seconds"] = [per_row * n for n in domain["sizes"]]
        stage["cpu_seconds"] = list(stage["seconds"])
    text = domain_paragraph(domain)
    # stage B: 2, 4, 8 s for 16 epochs
    assert "(one epoch: 0.12 s at 1,000, 0.25 s at 2,000 and 0.5 s at 4,000 rows)" in text
    assert "b = 1.00 (about linear" in text and "differ by more than" not in text


def test_render_markdown_table_header_and_machine():
    page = render_markdown(toy_report())
    lines = page.splitlines()
    assert lines[0] == "# How run time grows with data size"
    assert "Generated by `make scaling`" in page and "Do not edit" in page
    assert "`python tools/scaling.py --out docs/scaling.md`" in page
    assert "2026-12-05 03:00 UTC" in page and "`abc1234` (with uncommitted changes)" in page
    assert "COURSE_BUDGET=1" in page and "took 4.1 min" in page
    assert "at the start: 1.25/0.50/0.25; at the end: 2.50/1.00/0.75" in page
    assert "| cpu | Toy CPU 9000 |" in page
    assert "wall-clock time was 2.31× this process's CPU time" in page       # 15.012 / 6.502
    rows = {line.split(" | ")[1]: line for line in lines if line.startswith("| toys |")}
    # CPU 0.5 -> 1 for 4x the rows: b = log 2 / log 4 = 0.5
    assert rows["stage A"] == "| toys | stage A | 1,000 / 4,000 | 1 / 4 | 1.00 | 0.5 / 1 | 0.50 |"
    # 0.01 -> 0.002 s: b = log(0.2) / log(4) = -1.16, under 0.05 s and negative: marked as noise;
    # a CPU time of 0 (a coarse clock) has no exponent
    assert rows["stage C"] == "| toys | stage C | 1,000 / 4,000 | 0.01 / 0.002 | -1.16 (noise) | 0 / 0.002 | — |"
    assert "| **toys** | **total** | **1,000 / 4,000** | **3.01 / 12** | **1.00** | **1.5 / 5** |" in page
    assert "| toys | load toys | 1.5 |" in page
    assert "- **Toys (notebook 99)** (rows): toy settings sentence." in page and "  A toy note." in page
    assert domain_paragraph(toy_domain()) in page


def test_every_table_row_has_five_cells():
    lines = render_markdown(toy_report()).splitlines()
    start = lines.index("| domain | stage | sizes (n) | seconds | exponent b | CPU seconds | b (CPU) |")
    table = lines[start:lines.index("", start)]
    assert len(table) == 2 + 3 + 1  # header, rule, three stages, total
    assert table[1].count("|") == 8
    rows = table[:1] + table[2:]
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 6 for line in rows)

# ============================================================================ the wiring


def test_domains_use_the_notebooks_settings_and_sizes():
    by_name = {d.domain: d for d in scaling.domains()}
    assert list(by_name) == list(scaling.DOMAIN_NAMES)
    assert by_name["molecules"].sizes == (300, 1_128, 2_256) and by_name["molecules"].target["n"] == 4 * 1_128
    assert by_name["images"].sizes == (1_000, 4_000) and by_name["text"].sizes == (500, 2_000)
    assert by_name["finance"].sizes == (5 * 252, 10 * 252)
    for domain in by_name.values():
        for stage, knob in domain.budget_settings().items():
            assert knob["value"] == environment.scaled(knob["base"]), stage


def test_esol_rows_repeat_the_molecules_for_sizes_past_esol():
    context = {"smiles": [f"C{i}" for i in range(10)], "y": np.arange(10.0)}
    smiles, y = scaling._esol_rows(context, 25)
    assert len(smiles) == 25 and smiles[:20] == context["smiles"] * 2
    assert len(set(smiles[20:])) == 5 and np.array_equal(y, [float(s[1:]) for s in smiles])
    subset, _ = scaling._esol_rows(context, 4)
    assert len(set(subset)) == 4


def test_makefile_has_the_scaling_target():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\.PHONY:.*\bscaling\b", makefile, re.MULTILINE)
    recipe = re.search(r"^scaling:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe and "tools/scaling.py --out docs/scaling.md" in recipe.group(1)


def test_the_committed_page_is_generated():
    page = ROOT / "docs" / "scaling.md"
    if not page.is_file():
        pytest.skip("docs/scaling.md not generated yet: run make scaling")
    text = page.read_text()
    assert "Generated by `make scaling`" in text and "| domain | stage | sizes (n) | seconds | exponent b |" in text
    assert "Do not edit" in text and "Load average" in text and "COURSE_BUDGET=" in text


def test_whole_notebook_projection_scales_the_benchmark_by_the_pipeline_exponent():
    domain = dict(toy_domain(), notebook="05_gnn_molecules", course_n=1_000, course_runs="3 seeds")
    law = scaling.fit_power_law(domain["sizes"], scaling.totals(domain))
    bench = {"notebooks": [{"notebook": "05_gnn_molecules", "ok": True, "wall_s": 120.0},
                           {"notebook": "02_cnn_medical_imaging", "ok": True, "wall_s": 999.0}]}
    expected = 120.0 * (domain["target"]["n"] / 1_000) ** law.b  # by hand: the benchmark times the size ratio^b
    text = scaling.domain_paragraph(domain, bench)
    assert f"**{scaling.format_seconds(expected)}**" in text and "notebook 05 repeats it (3 seeds)" in text
    assert f"took {scaling.format_seconds(120.0)} on its 1,000 rows" in text
    # no benchmark, a failed benchmark run, or no course size: no sentence, nothing invented
    for missing in (None, {"notebooks": [dict(bench["notebooks"][0], ok=False)]}):
        assert "whole notebook" not in scaling.domain_paragraph(domain, missing)
    assert "whole notebook" not in scaling.domain_paragraph(dict(domain, course_n=0), bench)
