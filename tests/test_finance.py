"""Unit tests of course_lib.finance: losses and DM against hand-computed values, the splitter's
refusals, and the no-look-ahead property of every forecaster used in notebook 03.

Float tolerances: hand-computed values are float64 arithmetic on a handful of numbers (rounding
~1e-16 relative), so ``pytest.approx``'s default (rel 1e-6) is far above any rounding and far below
any formula error. Exact equality is used only where the same code runs twice on identical inputs in
one process (determinism, no-look-ahead); every other tolerance is explained where it is set.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from course_lib.finance import (
    Fold,
    RecurrentRegressor,
    Standardizer,
    check_folds,
    diebold_mariano,
    dm_verdict,
    ewma_forecast,
    fit_log_har_qlike,
    garch_forecast,
    garman_klass_variance,
    gbm_forecast,
    har_design,
    har_forecast,
    load_sp500,
    log_har_qlike_forecast,
    log_returns,
    long_run_variance,
    loss_difference_interval,
    make_features,
    make_windows,
    mse,
    naive_forecast,
    neural_forecast,
    parkinson_variance,
    qlike,
    train_and_forecast,
    walk_forward_folds,
)
from course_lib.finance.models import mse_loss
from course_lib.finance.volatility import acf

# ----------------------------------------------------------------------------- losses and DM


def test_qlike_matches_hand_computation():
    # day 1: 1/2 - ln(1/2) - 1 = ln 2 - 1/2; day 2: 2/2 - ln 1 - 1 = 0
    assert qlike([1.0, 2.0], [2.0, 2.0]) == pytest.approx((math.log(2) - 0.5) / 2, abs=1e-12)
    assert qlike([3.0], [3.0]) == 0.0
    # under-prediction costs more than the same over-prediction
    assert qlike([2.0], [1.0]) > qlike([2.0], [3.0])


def test_mse_matches_hand_computation():
    assert mse([1.0, 2.0], [2.0, 4.0]) == pytest.approx((1 + 4) / 2)


def test_losses_reject_bad_input():
    with pytest.raises(ValueError, match="positive"):
        qlike([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="values"):
        mse([1.0, 2.0], [1.0])


def test_diebold_mariano_matches_hand_computation():
    # d = [1, -1, 2, 0]: mean 1/2, gamma0 = 5/4, gamma1 = -15/16
    a, b = np.array([1.0, -1.0, 2.0, 0.0]), np.zeros(4)
    plain = diebold_mariano(a, b, lags=0, hln=False)
    assert plain.statistic == pytest.approx(0.5 / math.sqrt(1.25 / 4))
    assert plain.pvalue == pytest.approx(math.erfc(plain.statistic / math.sqrt(2)))
    # Bartlett weight 1/2 at lag 1: long-run variance 5/4 - 15/16 = 5/16
    assert diebold_mariano(a, b, lags=1, hln=False).statistic == pytest.approx(0.5 / math.sqrt(0.3125 / 4))
    hln = diebold_mariano(a, b, lags=0, hln=True)
    assert hln.statistic == pytest.approx(plain.statistic * math.sqrt(3 / 4))
    assert hln.pvalue > plain.pvalue  # Student-t(3) tails are heavier than the normal's
    assert diebold_mariano(b, a, lags=0).statistic == pytest.approx(-hln.statistic)


def test_diebold_mariano_rejects_identical_forecasts():
    with pytest.raises(ValueError, match="zero"):
        diebold_mariano(np.ones(10), np.ones(10))


def test_long_run_variance_matches_hand_computation():
    d = np.array([1.0, -1.0, 2.0, 0.0])  # centred: [1/2, -3/2, 3/2, -1/2]; gamma0 = 5/4, gamma1 = -15/16
    assert long_run_variance(d, 0) == pytest.approx(1.25)
    assert long_run_variance(d, 1) == pytest.approx(1.25 - 15 / 16)  # Bartlett weight 1/2 on 2·gamma1
    with pytest.raises(ValueError, match="lags"):
        long_run_variance(d, 4)


def test_loss_difference_interval_with_one_seed_is_the_dm_interval():
    a, b = np.array([1.0, -1.0, 2.0, 0.0]), np.zeros(4)
    interval = loss_difference_interval(a, b, lags=0)
    assert interval.difference == pytest.approx(0.5)
    assert interval.test_se == pytest.approx(math.sqrt(1.25 / 4)) and interval.seed_se == 0.0
    assert interval.dof == pytest.approx(3)  # T - 1, as in the Harvey–Leybourne–Newbold DM test
    half = 3.182446305284263 * math.sqrt(1.25 / 4)  # t_0.975 with 3 degrees of freedom
    assert (interval.low, interval.high) == (pytest.approx(0.5 - half), pytest.approx(0.5 + half))
    plain = diebold_mariano(a, b, lags=0, hln=False)
    assert plain.statistic == pytest.approx(interval.difference / interval.test_se)
    assert "Diebold–Mariano" in interval.method and "1 seed" in interval.method


def test_loss_difference_interval_adds_the_seed_spread():
    rng = np.random.default_rng(0)
    base, other = rng.gamma(2.0, 0.5, 400), rng.gamma(2.0, 0.5, 400)
    shift = 0.05
    seeds = np.stack([base + shift, base - shift, base])  # per-seed means base ± 0.05, base
    one = loss_difference_interval(base, other, lags=5)
    three = loss_difference_interval(seeds, other, lags=5)
    # the seed average is `base` again, so the test-period part is unchanged ...
    assert three.difference == pytest.approx(one.difference) and three.test_se == pytest.approx(one.test_se)
    # ... and the seed part is std([+s, -s, 0]) / sqrt(3) = s / sqrt(3)
    assert three.seed_se == pytest.approx(shift / math.sqrt(3))
    assert three.low < one.low and three.high > one.high and three.n_seeds == 3
    assert 2 <= three.dof <= 399  # between the seed part's and the test part's degrees of freedom
    paired = loss_difference_interval(seeds, np.stack([other] * 3), lags=5)  # same baseline per seed
    assert paired.high == pytest.approx(three.high)


def test_loss_difference_interval_rejects_bad_input():
    with pytest.raises(ValueError, match="days"):
        loss_difference_interval(np.ones(10), np.ones(9))
    with pytest.raises(ValueError, match="seeds"):
        loss_difference_interval(np.ones((3, 10)), np.ones((2, 10)))
    with pytest.raises(ValueError, match="finite"):
        loss_difference_interval([1.0, np.nan, 2.0], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="identical"):
        loss_difference_interval(np.arange(10.0), np.arange(10.0))
    with pytest.raises(ValueError, match="confidence"):
        loss_difference_interval(np.arange(10.0), np.zeros(10), confidence=95)


def test_dm_verdict_names_the_lower_loss_and_says_no_clear_winner_for_noise():
    rng = np.random.default_rng(1)
    classical = rng.gamma(2.0, 0.5, 1000)
    better = np.stack([classical * 0.5 + rng.normal(0, 0.01, 1000) for _ in range(3)])
    verdict = dm_verdict("GRU", better, "HAR", classical, metric="test QLIKE", lags=10, baseline="HAR")
    assert verdict.winner == "GRU" and verdict.high < 0 and not verdict.higher_is_better
    assert "HAR (the classical baseline)" in verdict.sentence
    lost = dm_verdict("GRU", classical + 0.5, "HAR", classical + rng.normal(0, 0.01, 1000), metric="test MSE",
                      lags=10, baseline="HAR")
    assert lost.winner == "HAR"
    noise = np.stack([rng.permutation(classical) for _ in range(3)])  # same distribution, other days
    tie = dm_verdict("GRU", noise, "HAR", classical, metric="test QLIKE", lags=10, baseline="HAR")
    assert tie.winner is None and tie.low < 0 < tie.high and "no clear winner" in tie.sentence


# ----------------------------------------------------------------------------- HAR fitted by QLIKE


def test_log_har_qlike_fit_matches_a_general_optimiser_and_recovers_the_truth():
    from scipy import optimize

    rng = np.random.default_rng(0)
    n, truth = 20000, np.array([0.2, 0.5, 0.3, -0.2])
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 3))])
    y = np.exp(x @ truth) * rng.gamma(2.0, 0.5, n)  # E[y | x] = exp(x·truth): QLIKE is consistent for it
    beta = fit_log_har_qlike(x, y)

    def loss(b):
        return np.mean(y * np.exp(-(x @ b)) + x @ b)

    def gradient(b):
        return x.T @ (1 - y * np.exp(-(x @ b))) / n

    def hessian(b):
        return (x * (y * np.exp(-(x @ b)))[:, None]).T @ x / n

    reference = optimize.minimize(loss, np.zeros(4), jac=gradient, hess=hessian, method="trust-exact",
                                  options={"gtol": 1e-12})
    assert reference.success
    # both stop with gradients ~1e-10 on a problem whose Hessian eigenvalues are ~1, so the two β
    # agree to ~1e-10 in float64; 1e-7 leaves room for other BLAS summation orders
    np.testing.assert_allclose(beta, reference.x, rtol=0, atol=1e-7)
    # the intercept's first-order condition: mean(y / h) = 1 at the optimum (same rounding argument)
    assert np.mean(y / np.exp(x @ beta)) == pytest.approx(1.0, abs=1e-8)
    # 20,000 gamma(2) draws: standard errors ~0.005, so 0.05 is ten of them
    np.testing.assert_allclose(beta, truth, rtol=0, atol=0.05)


def test_log_har_qlike_fit_rejects_bad_input():
    x = np.column_stack([np.ones(10), np.arange(10.0)])
    with pytest.raises(ValueError, match="> 0"):
        fit_log_har_qlike(x, np.r_[np.ones(9), 0.0])
    with pytest.raises(ValueError, match="shape"):
        fit_log_har_qlike(x, np.ones(9))


def test_mse_training_loss_matches_hand_computation():
    log_variance, proxy = torch.log(torch.tensor([1.0, 2.0])), torch.tensor([2.0, 2.0])
    # forecasts 1 and 2 against 2 and 2: ((2-1)^2 + 0) / 2 = 1/2, divided by scale^2 = 4
    # float32 logs and exps of small integers: ~1e-7 relative, inside approx's rel=1e-6
    assert mse_loss(log_variance, proxy, scale=2.0).item() == pytest.approx(0.125, rel=1e-6)
    with pytest.raises(ValueError, match="scale"):
        mse_loss(log_variance, proxy, scale=0.0)


# ----------------------------------------------------------------------------- proxies and windows


def test_range_proxies_match_hand_computation():
    low = np.array([100.0])
    high = low * math.exp(0.02)
    assert parkinson_variance(high, low)[0] == pytest.approx(1e4 * 0.02**2 / (4 * math.log(2)))
    close = low * math.exp(0.01)
    expected = 1e4 * (0.5 * 0.02**2 - (2 * math.log(2) - 1) * 0.01**2)
    assert garman_klass_variance(low, high, low, close)[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="high must be >= low"):
        parkinson_variance(low, high)


def test_log_returns_and_acf():
    prices = pd.Series([100.0, 110.0, 99.0], index=pd.date_range("2020-01-01", periods=3))
    returns = log_returns(prices)
    assert returns.to_numpy() == pytest.approx(100 * np.log([1.1, 0.9]))
    assert returns.index[0] == prices.index[1]
    alternating = np.tile([1.0, -1.0], 50)
    assert acf(alternating, 2) == pytest.approx([-0.99, 0.98])


def test_make_windows_holds_only_earlier_rows():
    features = np.arange(20, dtype=float).reshape(10, 2)
    windows = make_windows(features, np.array([3, 10]), 3)
    assert windows.shape == (2, 3, 2)
    assert np.array_equal(windows[0], features[0:3]) and np.array_equal(windows[1], features[7:10])
    with pytest.raises(ValueError, match="earlier rows"):
        make_windows(features, np.array([2]), 3)


def test_standardizer_uses_only_the_rows_it_was_fitted_on():
    scaler = Standardizer().fit(np.array([[1.0], [3.0]]))
    assert scaler.transform(np.array([[100.0]]))[0, 0] == pytest.approx(98.0)  # mean 2, std 1
    with pytest.raises(ValueError, match="not fitted"):
        Standardizer().transform([1.0])


# ----------------------------------------------------------------------------- the splitter


def test_walk_forward_folds_are_time_ordered():
    folds = walk_forward_folds(100, [60, 80], [80, 100], val_size=10)
    assert folds[0] == Fold(train=(0, 50), val=(50, 60), test=(60, 80))
    assert folds[1].train == (0, 70) and folds[1].test == (80, 100)


@pytest.mark.parametrize("train, val, test, message", [
    ((0, 60), (50, 70), (70, 90), "overlaps"),      # train runs into val
    ((0, 50), (50, 80), (70, 90), "overlaps"),      # val runs into test
    ((60, 80), (0, 20), (90, 99), "after"),         # val before train
    ((0, 50), (50, 60), (60, 60), "empty"),         # empty test window
])
def test_fold_rejects_overlapping_or_unordered_windows(train, val, test, message):
    with pytest.raises(ValueError, match=message):
        Fold(train=train, val=val, test=test)


def test_check_folds_rejects_overlapping_or_unordered_test_windows():
    first = Fold(train=(0, 40), val=(40, 50), test=(50, 70))
    overlapping = Fold(train=(0, 50), val=(50, 60), test=(60, 80))
    with pytest.raises(ValueError, match="test windows"):
        check_folds([first, overlapping])
    later = Fold(train=(0, 60), val=(60, 70), test=(70, 90))
    with pytest.raises(ValueError, match="test windows"):
        check_folds([later, first])
    assert check_folds([first, later]) == [first, later]


# ----------------------------------------------------------------------------- no look-ahead

FOLD = Fold(train=(0, 300), val=(300, 360), test=(360, 480))
CUTS = (360, 427)  # perturb every row >= cut; forecasts for days <= cut must not move


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run faster on one thread than on two cores shared with other processes."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return load_sp500()[1].iloc[:480]


def perturbed(features: pd.DataFrame, cut: int) -> pd.DataFrame:
    rng = np.random.default_rng(cut)
    changed = features.copy()
    tail = len(changed) - cut
    changed.iloc[cut:, changed.columns.get_loc("ret")] = rng.normal(0, 3, tail)
    changed.iloc[cut:, changed.columns.get_loc("rv")] *= rng.uniform(0.2, 5, tail)
    return changed


def assert_no_look_ahead(forecaster, features: pd.DataFrame, **kwargs) -> None:
    # exact comparison: forecasts of days <= cut are computed by the same code from identical rows (the
    # networks predict the test days in one batch of the same shape, and GEMM kernels pick their blocking
    # by shape, not by the values of other rows), so they must be bit-for-bit equal; any use of a
    # perturbed row changes them by far more than rounding
    base = forecaster(features, FOLD, **kwargs)
    assert base.shape == (FOLD.test[1] - FOLD.test[0],) and np.all(np.isfinite(base)) and np.all(base > 0)
    for cut in CUTS:
        other = forecaster(perturbed(features, cut), FOLD, **kwargs)
        known = cut - FOLD.test[0] + 1  # forecasts for test days FOLD.test[0] .. cut
        np.testing.assert_array_equal(other[:known], base[:known],
                                      err_msg=f"forecasts up to day {cut} moved when days >= {cut} changed")
        assert not np.array_equal(other[known:], base[known:]), "later forecasts should react to new data"


FORECASTERS = {
    "naive": (naive_forecast, {}),
    "ewma": (ewma_forecast, {}),
    "garch": (garch_forecast, {"refit_every": 20}),
    "har": (har_forecast, {}),
    "log_har_qlike": (log_har_qlike_forecast, {}),
    "gbm": (gbm_forecast, {"max_iter": 15}),
    "lstm": (neural_forecast, {"cell": "lstm", "hidden_size": 4, "length": 5, "epochs": 2, "batch_size": 64}),
    "gru": (neural_forecast, {"cell": "gru", "hidden_size": 4, "length": 5, "epochs": 2, "batch_size": 64}),
    "gru_mse": (neural_forecast, {"cell": "gru", "hidden_size": 4, "length": 5, "epochs": 2, "batch_size": 64,
                                  "loss": "mse"}),
}


@pytest.mark.parametrize("name", sorted(FORECASTERS))
def test_forecasts_never_use_later_data(features, name):
    forecaster, kwargs = FORECASTERS[name]
    assert_no_look_ahead(forecaster, features, **kwargs)


def test_the_look_ahead_check_catches_a_leaky_forecaster(features):
    def leaky(frame, fold):  # "forecasts" day d with the proxy of day d itself
        return frame["rv"].to_numpy()[fold.test[0]:fold.test[1]]

    with pytest.raises(AssertionError):
        assert_no_look_ahead(leaky, features)


def test_fixed_weight_recurrent_model_on_windows_has_no_look_ahead(features):
    torch.manual_seed(0)
    model = RecurrentRegressor(2, hidden_size=3, cell="lstm").eval()
    days = np.arange(30, 481)

    def forecast(frame):
        inputs = np.column_stack([np.log(frame["rv"]), frame["ret"]])
        with torch.no_grad():
            return model(torch.from_numpy(make_windows(inputs, days, 22))).numpy()

    base, other = forecast(features), forecast(perturbed(features, 427))
    np.testing.assert_array_equal(other[days <= 427], base[days <= 427])
    assert not np.array_equal(other[days > 427], base[days > 427])


def test_har_design_rows_average_the_previous_days():
    rv = np.arange(1.0, 31.0)
    design = har_design(rv)
    assert not np.isnan(design[21, 1]) and np.isnan(design[21, 2])  # 21 days: weekly yes, monthly not yet
    assert design[25].tolist() == pytest.approx([rv[24], rv[20:25].mean(), rv[3:25].mean()])


def test_neural_forecast_is_deterministic_for_a_seed(features):
    # exact: the same code path twice in one process with the same seed and thread count
    kwargs = {"cell": "gru", "hidden_size": 4, "length": 5, "epochs": 2, "seed": 3}
    np.testing.assert_array_equal(neural_forecast(features, FOLD, **kwargs),
                                  neural_forecast(features, FOLD, **kwargs))


def test_the_training_loss_changes_the_network(features):
    kwargs = {"cell": "gru", "hidden_size": 4, "length": 5, "epochs": 2, "seed": 3}
    by_qlike = neural_forecast(features, FOLD, loss="qlike", **kwargs)
    by_mse = neural_forecast(features, FOLD, loss="mse", **kwargs)
    assert by_mse.shape == by_qlike.shape and np.all(by_mse > 0)
    # same initial weights, different gradients after the first batch: forecasts move by ~1e-2 or more,
    # far beyond float32 rounding (~1e-7 relative)
    assert not np.allclose(by_mse, by_qlike, rtol=1e-4, atol=0)
    with pytest.raises(ValueError, match="loss"):
        train_and_forecast(features, np.arange(10, 300), np.arange(300, 360), np.arange(360, 480), loss="mae")


# ----------------------------------------------------------------------------- input validation


def test_bad_inputs_raise_clear_errors(features):
    with pytest.raises(ValueError, match="lacks columns"):
        make_features(pd.DataFrame({"Close": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="cell"):
        RecurrentRegressor(2, cell="transformer")
    with pytest.raises(ValueError, match="lam"):
        ewma_forecast(features, FOLD, lam=1.5)
    with pytest.raises(ValueError, match="runs past"):
        naive_forecast(features.iloc[:400], FOLD)


def test_optional_yfinance_loader_explains_itself():
    try:
        import yfinance  # noqa: F401
    except ImportError:
        from course_lib.finance import load_yfinance

        with pytest.raises(ImportError, match="optional package yfinance"):
            load_yfinance("^GSPC")
    else:
        pytest.skip("yfinance is installed; the network call is not exercised in unit tests")


# ----------------------------------------------------------------------------- notebook 03's from-scratch cells
# The notebook writes an RNN, BPTT, the LSTM and GRU cells and the QLIKE training loss in readable
# torch code; these tests execute those cells (found by their "# from-scratch: <name>" first line) and
# keep them in agreement with the library. Comparisons run in float64 (rounding ~1e-16 relative): over
# 22 steps of values of size ~1 any correct order of the same operations agrees to ~1e-14, so 1e-10
# holds on every CPU and thread count while a wrong gate order or missing term differs by ~1e-1.

NOTEBOOK_03 = Path(__file__).resolve().parents[1] / "notebooks" / "03_lstm_finance.ipynb"
FLOAT64_TOL = 1e-10


def from_scratch(name: str) -> dict:
    """Execute the notebook cell that starts with ``# from-scratch: <name>``; return its namespace."""
    notebook = nbformat.read(NOTEBOOK_03, as_version=4)
    sources = [c.source for c in notebook.cells
               if c.cell_type == "code" and c.source.startswith(f"# from-scratch: {name}\n")]
    assert len(sources) == 1, f"expected one cell marked '# from-scratch: {name}', found {len(sources)}"
    # the function definitions only: the rest of the cell (its printed check) needs the notebook's state
    tree = ast.parse(sources[0])
    definitions = ast.Module([node for node in tree.body if isinstance(node, ast.FunctionDef)], type_ignores=[])
    namespace = {"torch": torch}
    exec(compile(definitions, f"{NOTEBOOK_03.name}[{name}]", "exec"), namespace)
    return namespace


def _weights(module):
    return module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0


@pytest.mark.parametrize("name, cell", [("rnn", "rnn"), ("lstm", "lstm"), ("gru", "gru")])
def test_notebook_recurrent_cells_agree_with_the_library(name, cell):
    forward = from_scratch(name)[f"{name}_forward"]
    torch.manual_seed(3)
    if cell == "rnn":
        module = torch.nn.RNN(3, 5, batch_first=True).double()
    else:  # the recurrent layer course_lib's RecurrentRegressor trains
        module = RecurrentRegressor(input_size=3, hidden_size=5, cell=cell).rnn.double()
    x = torch.randn(22, 3, dtype=torch.float64)
    with torch.no_grad():
        ours = forward(x, *_weights(module))
        theirs, _ = module(x[None])
    assert ours.shape == (22, 5)
    assert (ours - theirs[0]).abs().max().item() < FLOAT64_TOL


def test_notebook_bptt_agrees_with_autograd():
    namespace = {**from_scratch("rnn"), **from_scratch("bptt")}
    torch.manual_seed(4)
    module = torch.nn.RNN(3, 6, batch_first=True).double()
    x = torch.randn(15, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(6, dtype=torch.float64)
    output, _ = module(x[None])
    (output[0, -1] @ v).backward()
    with torch.no_grad():
        states = namespace["rnn_forward"](x, *_weights(module))
        ours = namespace["rnn_bptt"](x, states, module.weight_ih_l0, module.weight_hh_l0, grad_last=v)
    theirs = (module.weight_ih_l0.grad, module.weight_hh_l0.grad, module.bias_hh_l0.grad, x.grad)
    for a, b in zip(ours, theirs):
        assert (a - b).abs().max().item() < FLOAT64_TOL


def test_notebook_qlike_training_loss_agrees_with_the_library():
    from course_lib.finance.models import qlike_loss

    loss = from_scratch("qlike loss")["qlike_training_loss"]
    rng = np.random.default_rng(5)
    proxy, forecast = rng.uniform(0.1, 5, 200), rng.uniform(0.1, 5, 200)
    ours = loss(torch.tensor(np.log(forecast)), torch.tensor(proxy)).item()
    assert abs(ours - qlike(proxy, forecast)) < FLOAT64_TOL
    assert abs(ours - qlike_loss(torch.tensor(np.log(forecast)), torch.tensor(proxy)).item()) < FLOAT64_TOL


# ----------------------------------------------------------------------------- architecture figures

@pytest.mark.parametrize("figure, labels", [
    ("rnn_unrolled_figure", ["$x_1$", "$h_1$", "$h_0$", "folded", "BPTT: gradient path (dashed)"]),
    ("lstm_cell_figure", ["forget\ngate f", "input\ngate i", "candi-\ndate g", "output\ngate o", "$c_{t-1}$",
                          "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "memory (cell state)"]),
    ("gru_cell_figure", ["reset\ngate r", "update\ngate z", "candi-\ndate n", "$h_{t-1}$", "$h_t$", "$x_t$", "1−"]),
])
def test_architecture_figures_label_their_parts(figure, labels):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from course_lib.finance import diagrams

    fig = getattr(diagrams, figure)()
    try:
        assert isinstance(fig, Figure)
        texts = {t.get_text() for ax in fig.axes for t in ax.texts}
        missing = [label for label in labels if label not in texts]
        assert not missing, f"{figure} lacks the labels {missing}"
        fig.canvas.draw()  # renders (mathtext included) without error
    finally:
        plt.close(fig)


def test_unrolled_figure_draws_one_box_per_step_and_rejects_bad_steps():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_lib.finance.diagrams import rnn_unrolled_figure

    fig = rnn_unrolled_figure(steps=6)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sum(text == "cell\n(same W)" for text in texts) == 6 and "$x_6$" in texts
    plt.close(fig)
    for bad in (1, 9, 2.5, True):
        with pytest.raises(ValueError, match="steps"):
            rnn_unrolled_figure(steps=bad)


def test_validation_as_test_forecasts_the_validation_days_from_earlier_days_only():
    from course_lib.finance import validation_as_test

    fold = Fold(train=(5, 100), val=(100, 150), test=(150, 200))
    tuning = validation_as_test(fold)
    assert tuning.test == fold.val and tuning.train[0] == fold.train[0] and tuning.val[1] == fold.val[0]
    with pytest.raises(ValueError, match="fewer than 2 training days"):
        validation_as_test(Fold(train=(0, 1), val=(1, 5), test=(5, 9)))
    with pytest.raises(TypeError, match="Fold"):
        validation_as_test((0, 10))


def test_check_inputs_are_fresh_but_reproducible_from_their_seed():
    from course_lib.checks._common import fresh_rng
    from course_lib.checks.volatility import synthetic_features

    first = synthetic_features(fresh_rng(7)[0], 300)
    again = synthetic_features(fresh_rng(7)[0], 300)
    other = synthetic_features(fresh_rng(8)[0], 300)
    pd.testing.assert_frame_equal(first, again)  # same seed, same code: bit-for-bit
    assert not np.allclose(first["ret"], other["ret"])
    assert (first["rv"] > 0).all() and np.isfinite(first.to_numpy()).all()
