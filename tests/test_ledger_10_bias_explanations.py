"""Bars for notebook 10 (bias across groups, a transformer's explanations tested), read from
results/10_bias_explanations.json.

Runs after the notebooks (tests/conftest.py orders ledger tests last). Skips when the ledger is absent
unless COURSE_REQUIRE_LEDGER=1. The structure (every planned model scored once on its test split, the
number of runs, intervals that bracket their estimates, the planned verdicts) is checked on any data.
The arrests data ships inside scikit-lego and is real in every run; its split (seed 0) and the
logistic regression and gradient boosting fits are deterministic, so its bars hold on every run; they
are still skipped if an entry is ever marked a stand-in. The SST-2 bars apply to real SST-2 only (the
offline stand-in is synthetic).

Measured (default budget, mirror data, 1,307 test people: 323 Black, 984 White):
- the data itself: 25.8 % of the Black and 14.2 % of the White test people were held (gap +0.116);
- test AUC: logistic regression 0.710 / 0.706 (with / without colour), gradient boosting 0.722 /
  0.720, MLP 0.718 ± 0.005 / 0.713 ± 0.007; colour predicted from the other six features: AUC 0.700
  (logistic regression) and 0.701 (gradient boosting);
- demographic-parity difference with colour 0.308 / 0.270 / 0.325, without colour 0.188 / 0.111 /
  0.169, each with a 95 % bootstrap interval about 0.11 wide whose lower end stays above 0 without
  colour (0.134 / 0.061 / 0.116);
- the threshold optimizer (equalized odds, fitted on validation) lowered the equalized-odds
  difference of the models without colour from 0.194 / 0.103 / 0.175 to 0.062 / 0.028 / 0.101;
- SST-2 (40 dev sentences, seed-0 head, 16 integration steps): deletion area of layer integrated
  gradients 0.565, attention rollout 0.773, random ranking 0.752 (LIG - random: -0.187, 95 % interval
  [-0.248, -0.130]; an earlier run with 24 steps and another head: 0.537 vs 0.700); Spearman rollout vs
  LIG 0.04 ± 0.24; completeness gap median 0.010; MiniLM + LR dev accuracy 0.769 ± 0.004.
"""

from __future__ import annotations

import math

import pytest

from ledger_bars import mean_of, single_verdict, skip_unless_real

pytestmark = pytest.mark.ledger

NOTEBOOK = "10_bias_explanations"
FAMILIES = ("logistic regression", "gradient boosting", "MLP")
WITH = {f: f"{f} (with colour)" for f in FAMILIES}
WITHOUT = {f: f"{f} (without colour)" for f in FAMILIES}
MITIGATED = {f: f"{f} (without colour) + threshold optimizer" for f in FAMILIES}
PROXIES = ("colour from the other features (logistic regression)", "colour from the other features (gradient boosting)")
MINILM = "MiniLM + LR"
ROLLOUT, LIG, RANDOM = "attention rollout", "layer integrated gradients", "random token ranking"
BIAS = (*WITH.values(), *WITHOUT.values(), *MITIGATED.values())
TEXT = (MINILM, ROLLOUT, LIG, RANDOM)
SEEDED = (WITH["MLP"], WITHOUT["MLP"], MITIGATED["MLP"], MINILM)
GAPS = ("dp_difference", "eo_difference", "selection_rate_gap", "tpr_gap", "fpr_gap")

# ------------------------------------------------------------------------------------------ bars
# The data's own gap in held shares (test split): measured 0.116. Labels reversed (released == "Yes"
# as 1) give -0.116, colours swapped give -0.116; a split that lost the stratification would still
# land near 0.12. The window leaves room for a different seeded split, not for a sign error.
BASE_RATE_GAP = (0.08, 0.16)
# Test AUC on 1,307 people with 17 % positives has a standard error of about 0.017; the lowest
# measured model is at 0.706. A floor 2 standard errors below; labels misaligned with the features
# give about 0.5.
MIN_AUC = 0.67
# Colour from the other six features: measured 0.700-0.701. At least 0.62 (the proxies carry
# colour: the lesson's claim); a shuffled colour column gives 0.5. Below 0.8: if the features
# revealed colour almost completely, the sensitive column must have leaked into them.
PROXY_AUC = (0.62, 0.80)
# With colour every model flags Black people far more often: measured DP 0.27-0.33. A model that
# ignores its inputs has DP ~0.
MIN_DP_WITH_COLOUR = 0.18
# Removing colour lowers DP by 0.12-0.16 (measured); the bar asks for at least 0.05.
MIN_DP_DROP = 0.05
# 95 % percentile interval of DP on 323 + 984 people: theory sqrt(p1 q1 / n1 + p2 q2 / n2) * 3.92
# = 0.11 for selection rates 0.39 / 0.08; measured 0.10-0.11. A bootstrap that does not resample
# gives width 0, one that resamples the wrong number of rows a width off by a large factor.
DP_INTERVAL_WIDTH = (0.06, 0.18)
# SST-2: the frozen MiniLM head, 600 sentences per seed: measured 0.769 ± 0.004 (872 dev sentences: standard
# error ~0.014); majority 0.51.
MIN_MINILM_ACCURACY = 0.74
# Layer integrated gradients must beat the random ranking in the deletion test by a clear margin:
# measured 0.164-0.187 lower area (intervals [0.117, 0.211], [0.130, 0.248]). About half the margin; a broken LIG (random
# scores, the wrong sign, scores on the wrong tokens) lands at or above the random area.
MIN_LIG_MARGIN = 0.08
# Rollout and LIG rank words almost independently here (measured Spearman 0.05): the same scores
# passed twice would give 1.
MAX_ROLLOUT_LIG_SPEARMAN = 0.6
# Completeness of integrated gradients (Gauss-Legendre, 16 steps): median relative gap measured
# 0.003 (24 steps) and 0.010 (16 steps); a wrong baseline or a missing multiplication by (input - baseline) breaks it.
MAX_COMPLETENESS_GAP = 0.05


# ------------------------------------------------------------------------------------------ structure
def test_only_the_planned_models_are_recorded(models):
    planned = set(BIAS) | set(PROXIES) | set(TEXT)
    assert set(models) == planned, sorted(set(models) ^ planned)


@pytest.mark.parametrize("model", BIAS + PROXIES + TEXT)
def test_model_recorded_with_its_data_and_scored_once(models, model):
    entry = models[model]
    assert entry["dataset"] == ("sst2" if model in TEXT else "arrests"), entry["dataset"]
    assert entry["split"] == ("dev" if model in TEXT else "test"), entry["split"]
    assert entry["test_evaluations"] == 1, f"{model}: scored {entry['test_evaluations']} times"
    if model not in TEXT:
        assert entry["provenance"] == "bundled" and entry["real"], "the arrests data ships with scikit-lego"
    for name, value in entry["metrics"].items():
        assert math.isfinite(value["mean"]) and value["std"] >= 0, (model, name, value)


@pytest.mark.parametrize("model", BIAS)
def test_bias_entries_have_group_rates_and_gaps_with_intervals(models, model):
    metrics = models[model]["metrics"]
    runs = 3 if model in SEEDED else 1
    assert metrics["accuracy"]["n"] == runs and metrics["dp_difference"]["n"] == runs, model
    for group in ("black", "white"):
        for rate in ("selection_rate", "tpr", "fpr", "base_rate"):
            assert 0 <= metrics[f"{rate}_{group}"]["mean"] <= 1, (model, rate, group)
    for gap in GAPS:
        low, estimate, high = (metrics[f"{gap}{end}"]["mean"] for end in ("_low", "", "_high"))
        assert low <= estimate + 1e-12 and estimate <= high + 1e-12, (model, gap, low, estimate, high)
    # the signed selection-rate gap is Black minus White; the DP difference is its absolute value
    signed = metrics["selection_rate_black"]["mean"] - metrics["selection_rate_white"]["mean"]
    assert abs(metrics["selection_rate_gap"]["mean"] - signed) < 1e-9
    assert abs(metrics["dp_difference"]["mean"] - abs(metrics["selection_rate_gap"]["mean"])) < 1e-9
    assert ("auc" in metrics) == (model not in MITIGATED.values()), "the threshold optimizer has no scores to rank"


def test_text_entries(models):
    assert models[MINILM]["metrics"]["accuracy"]["n"] == 3
    sentences = models[LIG]["metrics"]["deletion_area"]["n"]
    for name in (ROLLOUT, LIG, RANDOM):
        metrics = models[name]["metrics"]
        assert metrics["deletion_area"]["n"] == sentences >= 10, name
        assert 0 < metrics["deletion_area"]["mean"] < 1 and 0 <= metrics["probability_at_50_percent"]["mean"] <= 1
        assert -1 <= metrics["spearman_rollout_vs_lig"]["mean"] <= 1
    assert models[LIG]["metrics"]["completeness_gap_median"]["mean"] >= 0


PLANNED = [(WITH["gradient boosting"], WITH["logistic regression"], "test AUC"),
           (WITH["MLP"], WITH["logistic regression"], "test AUC, seed 0")]
for _f in FAMILIES:
    PLANNED.append((WITHOUT[_f], WITH[_f], "test DP difference"))
    PLANNED += [(MITIGATED[_f], WITHOUT[_f], m) for m in ("test EO difference", "test balanced accuracy", "test accuracy")]
PLANNED += [(ROLLOUT, RANDOM, "deletion area (dev sentences)"), (LIG, RANDOM, "deletion area (dev sentences)"),
            (LIG, ROLLOUT, "deletion area (dev sentences)")]


@pytest.mark.parametrize("model_a, model_b, metric", PLANNED)
def test_the_planned_comparisons_have_verdicts(verdicts, model_a, model_b, metric):
    verdict = single_verdict(verdicts, model_a, model_b, metric)
    seeded = model_a in SEEDED and "seed 0" not in metric and "deletion" not in metric
    assert verdict["method"].startswith("paired t over 3 seeds" if seeded else "paired bootstrap"), verdict["method"]


# ------------------------------------------------------------------------------------------ arrests bars
def test_the_data_itself_holds_black_people_more_often(models):
    skip_unless_real(models, *BIAS)
    entry = models[WITH["logistic regression"]]["metrics"]
    gap = entry["test_base_rate_black"]["mean"] - entry["test_base_rate_white"]["mean"]
    assert BASE_RATE_GAP[0] <= gap <= BASE_RATE_GAP[1], f"held share Black - White on test = {gap:.3f}"
    for model in BIAS:    # every model was scored on the same people
        assert abs(models[model]["metrics"]["base_rate_black"]["mean"] - entry["test_base_rate_black"]["mean"]) < 1e-12


@pytest.mark.parametrize("model", (*WITH.values(), *WITHOUT.values()))
def test_auc_floor(models, model):
    skip_unless_real(models, model)
    assert mean_of(models, model, "auc") >= MIN_AUC, f"{model}: test AUC {mean_of(models, model, 'auc'):.3f}"


@pytest.mark.parametrize("model", PROXIES)
def test_the_other_features_carry_colour(models, model):
    skip_unless_real(models, model)
    auc = mean_of(models, model, "auc")
    assert PROXY_AUC[0] <= auc <= PROXY_AUC[1], f"{model}: AUC {auc:.3f}"


@pytest.mark.parametrize("family", FAMILIES)
def test_removing_colour_narrows_but_does_not_close_the_gap(models, family):
    skip_unless_real(models, WITH[family], WITHOUT[family])
    with_, without = mean_of(models, WITH[family], "dp_difference"), mean_of(models, WITHOUT[family], "dp_difference")
    assert with_ >= MIN_DP_WITH_COLOUR, f"{family} with colour: DP difference {with_:.3f}"
    assert without <= with_ - MIN_DP_DROP, f"{family}: DP {with_:.3f} with colour, {without:.3f} without"
    assert mean_of(models, WITHOUT[family], "selection_rate_gap_low") > 0, (
        f"{family} without colour: the selection-rate gap's interval reaches 0")


@pytest.mark.parametrize("model", (*WITH.values(), *WITHOUT.values()))
def test_bootstrap_interval_width(models, model):
    skip_unless_real(models, model)
    width = mean_of(models, model, "dp_difference_high") - mean_of(models, model, "dp_difference_low")
    assert DP_INTERVAL_WIDTH[0] <= width <= DP_INTERVAL_WIDTH[1], f"{model}: DP interval width {width:.3f}"


@pytest.mark.parametrize("family", FAMILIES)
def test_the_threshold_optimizer_lowers_the_equalized_odds_difference(models, family):
    skip_unless_real(models, MITIGATED[family], WITHOUT[family])
    after, before = mean_of(models, MITIGATED[family], "eo_difference"), mean_of(models, WITHOUT[family], "eo_difference")
    assert after < before, f"{family}: EO difference {before:.3f} -> {after:.3f} with the threshold optimizer"


# ------------------------------------------------------------------------------------------ SST-2 bars
def test_sentiment_accuracy(models):
    skip_unless_real(models, MINILM)
    assert mean_of(models, MINILM, "accuracy") >= MIN_MINILM_ACCURACY


def test_integrated_gradients_pass_the_deletion_test(models, verdicts):
    skip_unless_real(models, LIG, RANDOM)
    margin = mean_of(models, RANDOM, "deletion_area") - mean_of(models, LIG, "deletion_area")
    assert margin >= MIN_LIG_MARGIN, f"deletion area: random - LIG = {margin:.3f}"
    assert single_verdict(verdicts, LIG, RANDOM, "deletion area (dev sentences)")["winner"] == LIG
    assert mean_of(models, LIG, "probability_at_50_percent") < mean_of(models, RANDOM, "probability_at_50_percent")


def test_the_two_explanations_are_computed_independently(models):
    skip_unless_real(models, ROLLOUT, LIG)
    rho = mean_of(models, LIG, "spearman_rollout_vs_lig")
    assert rho <= MAX_ROLLOUT_LIG_SPEARMAN, f"Spearman rollout vs LIG = {rho:.3f}"


def test_integrated_gradients_are_complete(models):
    skip_unless_real(models, LIG)
    gap = mean_of(models, LIG, "completeness_gap_median")
    assert gap <= MAX_COMPLETENESS_GAP, f"median relative completeness gap {gap:.4f}"
