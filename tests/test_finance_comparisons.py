"""Tests of course_lib.finance.comparisons: every network against every baseline, Bonferroni and Holm.

Losses are constructed so the answer is known: a baseline clearly better than the network (the case a
comparison against one baseline alone would miss), a borderline difference whose t statistic is set by
hand (clear at 95 %, not at the Bonferroni level), and pure noise. Holm's adjustment is checked against
statsmodels' ``multipletests`` and a hand example. p-values are float64 arithmetic on a few hundred
numbers; ``rel=1e-9`` is far above their rounding and far below any formula error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from course_lib.finance import BaselineComparison, compare_with_baselines, holm_adjust

T = 500


def _noise(rng, shape) -> np.ndarray:
    """Centred noise (exact mean 0 along the last axis) so constructed mean differences are exact."""
    values = rng.standard_normal(shape)
    return values - values.mean(axis=-1, keepdims=True)


def test_holm_matches_a_hand_example_and_statsmodels():
    # sorted: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04 -> running max 0.06
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06], rtol=1e-12)
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(0)
    for m in (1, 2, 6, 25):
        for p in (rng.uniform(size=m), rng.uniform(0, 0.05, size=m), np.repeat(rng.uniform(size=1), m)):
            np.testing.assert_allclose(holm_adjust(p), multipletests(p, method="holm")[1], rtol=1e-12)


def test_holm_rejects_bad_input():
    for bad in ([], [[0.1, 0.2]], [0.5, 1.5], [np.nan]):
        with pytest.raises(ValueError, match="pvalues"):
            holm_adjust(bad)


def test_a_baseline_better_than_the_network_is_reported():
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 0.5, T)
    baselines = {"GARCH": base + 0.3 + 0.1 * _noise(rng, T), "GBM": base + 0.1 * _noise(rng, T)}
    lstm = base + 0.15 + 0.1 * _noise(rng, (3, T))  # between the two baselines, 3 seeds
    result = compare_with_baselines({"LSTM": lstm}, baselines, metric="test QLIKE", lags=5)
    assert isinstance(result, BaselineComparison) and result.k == 2
    against_garch, against_gbm = result.verdicts
    assert (against_garch.model_b, against_gbm.model_b) == ("GARCH", "GBM")
    assert against_garch.winner == "LSTM"  # what a comparison against GARCH alone would have shown
    assert against_gbm.winner == "GBM" and result.baseline_wins == [against_gbm]
    assert against_gbm.difference == pytest.approx(lstm.mean() - baselines["GBM"].mean(), rel=1e-9)
    table = result.table()
    assert list(table["verdict"]) == ["LSTM", "GBM"]
    assert list(table["holds after Bonferroni (k=2)"]) == ["yes", "yes"]
    assert "GBM (the classical baseline) is better than LSTM" in result.report()


def test_bonferroni_flips_a_borderline_case_and_the_p_value_matches_the_t_statistic():
    rng = np.random.default_rng(2)
    noise = _noise(rng, T)
    noise /= noise.std()  # population std 1: with lags=0 the standard error is exactly 1/√T
    t_stat = 2.2  # two-sided p ≈ 0.028: below 0.05, above 0.05/4
    baseline = rng.gamma(2.0, 0.5, T)
    network = baseline + noise - t_stat / math.sqrt(T)  # the network's loss is lower by t·SE
    neural = {"LSTM": network, "GRU": baseline + 10 * noise}  # GRU: noise around zero difference
    baselines = {"GARCH": baseline, "HAR": baseline + 1.0 + 0.1 * _noise(rng, T)}
    result = compare_with_baselines(neural, baselines, metric="test MSE", lags=0)
    assert result.k == 4 and result.bonferroni_confidence == pytest.approx(1 - 0.05 / 4, rel=1e-12)
    p_borderline = 2 * stats.t.sf(t_stat, T - 1)  # one seed, lags 0: the DM statistic, t(T-1)
    assert result.pvalues[0] == pytest.approx(p_borderline, rel=1e-9)
    assert 0.05 / 4 < p_borderline < 0.05
    lstm_garch = result.verdicts[0]
    assert lstm_garch.winner == "LSTM" and result.bonferroni_verdicts[0].winner is None
    assert result.holds_after_bonferroni[0] is False
    assert result.table()["holds after Bonferroni (k=4)"].iloc[0] == "no"
    assert "does NOT hold after Bonferroni" in result.report()
    # the GRU–GARCH pair has no clear winner at either level
    assert result.verdicts[2].model_a == "GRU" and result.verdicts[2].winner is None
    assert result.holds_after_bonferroni[2] is None
    # consistency: clear at 95 % iff p < 0.05; Bonferroni holds iff k·p < 0.05; Holm is between the two
    for verdict, adjusted, p, p_holm in zip(result.verdicts, result.bonferroni_verdicts, result.pvalues,
                                            result.holm_pvalues):
        assert verdict.clear == (p < 0.05)
        assert adjusted.clear == (min(1.0, 4 * p) < 0.05)
        assert p <= p_holm <= min(1.0, 4 * p) + 1e-15


def test_the_p_value_counts_the_seed_spread_like_the_interval():
    rng = np.random.default_rng(5)
    baseline = rng.gamma(2.0, 0.5, T)
    seed_offsets = np.array([-0.2, 0.0, 0.05, 0.3])[:, None]  # training noise: seeds differ in level
    network = baseline - 0.05 + seed_offsets + 0.2 * _noise(rng, (4, T))
    result = compare_with_baselines({"LSTM": network}, {"HAR": baseline}, metric="test QLIKE", lags=0)
    # by hand, lags 0: test variance var(d̄_t)/T, seed variance var(per-seed means, ddof 1)/S, Welch dof
    d = network - baseline
    test_var, seed_var = d.mean(axis=0).var() / T, d.mean(axis=1).var(ddof=1) / 4
    dof = (test_var + seed_var) ** 2 / (test_var ** 2 / (T - 1) + seed_var ** 2 / 3)
    expected = 2 * stats.t.sf(abs(d.mean()) / math.sqrt(test_var + seed_var), dof)
    assert result.pvalues[0] == pytest.approx(expected, rel=1e-9)
    assert expected > 0.05 and not result.verdicts[0].clear  # the seed spread swamps a 0.05 advantage
    only_test_noise = 2 * stats.t.sf(abs(d.mean()) / math.sqrt(test_var), T - 1)
    assert only_test_noise < 0.05  # ... which the test days alone would have called significant


def test_k_counts_every_network_against_every_baseline():
    rng = np.random.default_rng(3)
    neural = {"LSTM": rng.gamma(2, 1, (2, T)), "GRU": rng.gamma(2, 1, (2, T))}
    baselines = {name: rng.gamma(2, 1, T) for name in ("naive", "GARCH", "HAR")}
    result = compare_with_baselines(neural, baselines, metric="test QLIKE")
    assert result.k == 6 and len(result.verdicts) == len(result.bonferroni_verdicts) == 6
    pairs = [(v.model_a, v.model_b) for v in result.verdicts]
    assert pairs == [(n, b) for n in neural for b in baselines]
    assert all(v.baseline == v.model_b for v in result.verdicts)
    table = result.table()
    assert len(table) == 6 and "holds after Bonferroni (k=6)" in table.columns
    assert "99.17% interval" in table.columns
    assert "6 comparisons at 95%" in result.note and "6 × 5% = 0.3" in result.note
    np.testing.assert_allclose(result.holm_pvalues, holm_adjust(result.pvalues), rtol=0)
    assert [v.clear for v in result.verdicts] == [p < 0.05 for p in result.pvalues]


def test_compare_with_baselines_rejects_bad_input():
    rng = np.random.default_rng(4)
    good = {"LSTM": rng.gamma(2, 1, T)}
    base = {"GARCH": rng.gamma(2, 1, T)}
    with pytest.raises(TypeError, match="neural must be a mapping"):
        compare_with_baselines([good["LSTM"]], base, metric="test QLIKE")
    with pytest.raises(ValueError, match="baselines is empty"):
        compare_with_baselines(good, {}, metric="test QLIKE")
    with pytest.raises(ValueError, match="same test days"):
        compare_with_baselines(good, {"GARCH": base["GARCH"][:-1]}, metric="test QLIKE")
    with pytest.raises(ValueError, match="appear in both"):
        compare_with_baselines(good, {"LSTM": base["GARCH"]}, metric="test QLIKE")
    with pytest.raises(ValueError, match="non-finite"):
        compare_with_baselines({"LSTM": np.r_[np.nan, good["LSTM"][1:]]}, base, metric="test QLIKE")
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(seeds, T\)"):
        compare_with_baselines({"LSTM": np.ones((2, 2, T))}, base, metric="test QLIKE")
    with pytest.raises(ValueError, match="metric must be"):
        compare_with_baselines(good, base, metric="")
    with pytest.raises(ValueError, match="confidence must be in"):
        compare_with_baselines(good, base, metric="test QLIKE", confidence=1.0)
