"""Tests of course_lib.finance.data_checks, the stricter folds_from_dates and load_price_file.

Each test breaks a clean generated price history one way (a GARCH(1,1)-like random walk over six years
of business days, 2001–2006) and checks that the break gives the stated error or loud
DataQualityWarning, naming the dates; the clean history gives none (warnings turned into errors).
Expected values (log returns, gap lengths) are computed independently with numpy/pandas from the
constructed data, never copied from the checks' output. The real S&P 500 must pass silently.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import course_lib.data
from course_lib.finance import (
    DataQualityWarning,
    PriceCheck,
    check_prices,
    check_walk_forward,
    folds_from_dates,
    load_sp500,
    make_features,
)

OHLC = ["Open", "High", "Low", "Close"]


def garch_prices(seed: int = 0, start: str = "2001-01-01", end: str = "2006-12-31") -> pd.DataFrame:
    """Daily OHLC (+ Adj Close = Close, Volume) of a GARCH(1,1) random walk on business days."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(start, end, name="Date")
    n = len(dates)
    omega, alpha, beta = 0.02, 0.08, 0.9  # percent² per day; unconditional variance 1 (1 % a day)
    variance, returns = 1.0, np.empty(n)
    for t in range(n):
        returns[t] = np.sqrt(variance) * rng.standard_normal()
        variance = omega + alpha * returns[t] ** 2 + beta * variance
    close = 1000 * np.exp(np.cumsum(returns) / 100)
    open_ = np.r_[1000.0, close[:-1]] * np.exp(0.001 * rng.standard_normal(n))
    high = np.maximum(open_, close) * np.exp(np.abs(0.005 * rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(0.005 * rng.standard_normal(n)))
    return pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close, "Adj Close": close,
                         "Volume": rng.integers(1_000_000, 2_000_000, n).astype(float)}, index=dates)


@pytest.fixture()
def prices() -> pd.DataFrame:
    return garch_prices()


@pytest.fixture(scope="module")
def sp500():
    return load_sp500()


def _no_warnings(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


# ----------------------------------------------------------------------------- clean data


def test_clean_prices_pass_silently_and_the_summary_matches_numpy(prices):
    check = _no_warnings(check_prices, prices)
    assert isinstance(check, PriceCheck) and check.clean
    moves = np.abs(np.diff(np.log(prices["Adj Close"].to_numpy())))
    assert check.n_days == len(prices) == len(pd.bdate_range("2001-01-01", "2006-12-31"))
    assert (check.first, check.last) == (prices.index[0], prices.index[-1])
    assert check.max_abs_log_return == pytest.approx(moves.max(), rel=1e-12)  # float64 log of the same numbers
    assert check.max_move_date == prices.index[1 + moves.argmax()]
    assert check.longest_gap == 1  # business days, Friday -> Monday included
    assert check.jumps == [] and check.gaps == [] and check.outside_range == []
    assert "no jumps, gaps or out-of-range rows" in check.report()


def test_real_sp500_passes_at_the_defaults_without_warning(sp500):
    loaded, features = sp500
    check = _no_warnings(check_prices, loaded.data)
    assert check.clean and check.n_days == len(loaded.data)
    # independently: the worst day of 1999–2018 is the 2008-10-13 rebound (+11.6 %), far below 0.25
    moves = np.log(loaded.data["Adj Close"]).diff().abs()
    assert check.max_abs_log_return == pytest.approx(moves.max(), rel=1e-12)
    assert check.max_move_date == moves.idxmax() == pd.Timestamp("2008-10-13")
    assert check.max_abs_log_return < 0.25
    # the longest step is the 9/11 closure, 2001-09-10 -> 2001-09-17: 5 business days, at the threshold
    assert check.longest_gap == 5
    assert not any(step > 5 for step in np.busday_count(loaded.data.index[:-1].values.astype("datetime64[D]"),
                                                        loaded.data.index[1:].values.astype("datetime64[D]")))


def test_notebook_03_periods_still_fold_and_pass_the_walk_forward_check(sp500):
    _, features = sp500
    periods = [("2007-01-01", "2010-12-31"), ("2011-01-01", "2014-12-31"), ("2015-01-01", "2018-12-31")]
    assert features.index[-1] == pd.Timestamp("2018-12-31")  # the last period ends on the last data day
    folds = folds_from_dates(features.index, periods, val_size=252)
    assert _no_warnings(check_walk_forward, features.index, periods, val_size=252) == folds
    assert folds[-1].test[1] == len(features)
    dev = folds_from_dates(features.index, [("2003-01-01", "2006-12-31")], val_size=252)[0]
    assert dev.test[1] <= folds[0].test[0]


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("column", ["Close", "Low", "Adj Close"])
def test_a_non_positive_price_is_an_error_naming_the_date(prices, column):
    day = prices.index[400]
    prices.loc[day, column] = 0.0 if column != "Low" else -1.0
    with pytest.raises(ValueError, match=rf"'{column}' has 1 non-positive price on {day:%Y-%m-%d}"):
        check_prices(prices)


def test_a_missing_price_is_an_error_naming_the_dates_and_the_count(prices):
    days = prices.index[[10, 20]]
    prices.loc[days, "Open"] = np.nan
    with pytest.raises(ValueError, match=rf"'Open' has 2 missing or non-finite values on "
                                         rf"{days[0]:%Y-%m-%d}, {days[1]:%Y-%m-%d}"):
        check_prices(prices)


def test_high_below_low_is_an_error(prices):
    day = prices.index[123]
    prices.loc[day, ["High", "Low"]] = prices.loc[day, ["Low", "High"]].to_numpy()
    with pytest.raises(ValueError, match=rf"1 row with High < Low on {day:%Y-%m-%d}"):
        check_prices(prices)


def test_bad_structure_and_arguments_raise_clear_errors(prices):
    with pytest.raises(TypeError, match="prices must be a pandas DataFrame"):
        check_prices(prices.to_numpy())
    with pytest.raises(ValueError, match="DatetimeIndex"):
        check_prices(prices.reset_index(drop=True))
    with pytest.raises(ValueError, match=r"not sorted: 1 row .* first 2001-01-02 after 2001-01-03"):
        check_prices(prices.iloc[[0, 2, 1, 3]])
    with pytest.raises(ValueError, match=r"1 duplicate date: 2001-01-02"):
        check_prices(prices.iloc[[0, 1, 1, 2]])
    with pytest.raises(ValueError, match=r"lacks columns \['High'\]; it has \['Open', 'Low'"):
        check_prices(prices.drop(columns="High"))
    with pytest.raises(ValueError, match="at least 2 rows"):
        check_prices(prices.iloc[:1])
    with pytest.raises(ValueError, match="max_abs_log_return must be finite and > 0"):
        check_prices(prices, max_abs_log_return=0)
    with pytest.raises(TypeError, match="max_gap_business_days must be an int"):
        check_prices(prices, max_gap_business_days=5.0)
    with pytest.raises(TypeError, match="strict must be True or False"):
        check_prices(prices, strict="yes")


# ----------------------------------------------------------------------------- loud warnings


def test_an_unadjusted_split_warns_with_the_date_and_the_log_return(prices):
    day = prices.index[700]
    expected = float(np.log(prices["Close"].iloc[700] / 7 / prices["Close"].iloc[699]))  # 1:7 split, ~ -1.95
    prices.loc[day:, ["Open", "High", "Low", "Close", "Adj Close"]] /= 7
    with pytest.warns(DataQualityWarning, match=rf"^DATA CHECK: 1 day with \|daily log return\| of Adj Close "
                                                rf"above 0.25: {day:%Y-%m-%d} \(log return {expected:+.2f}, "
                                                rf"{100 * expected:+.0f} % .*unadjusted split"):
        check = check_prices(prices)
    assert len(check.jumps) == 1 and check.jumps[0][0] == day
    assert check.jumps[0][1] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(-1.95, abs=0.05)
    with pytest.raises(ValueError, match="DATA CHECK: 1 day"):
        check_prices(prices, strict=True)


def test_a_split_only_in_close_is_harmless_when_returns_come_from_adj_close(prices):
    prices.loc[prices.index[700]:, ["Open", "High", "Low", "Close"]] /= 2  # Adj Close stays adjusted
    assert _no_warnings(check_prices, prices).clean
    with pytest.warns(DataQualityWarning, match="of Close above 0.25"):
        check_prices(prices.drop(columns="Adj Close"))


def test_a_missing_year_of_rows_warns_with_its_start_end_and_length(prices):
    holey = prices[prices.index.year != 2003]
    before, after = pd.Timestamp("2002-12-31"), pd.Timestamp("2004-01-01")
    length = len(pd.bdate_range("2003-01-01", "2003-12-31")) + 1  # a step of 1 plus the missing days
    with pytest.warns(DataQualityWarning, match=rf"^DATA CHECK: 1 gap longer than 5 business days between "
                                                rf"consecutive rows: 2002-12-31 -> 2004-01-01 \({length} business"):
        check = check_prices(holey)
    assert check.gaps == [(before, after, length)] and check.longest_gap == length


def test_the_gap_threshold_is_inclusive(prices):
    # a 9/11-like closure: Monday row, then the next Monday -> a step of 5 business days
    monday = prices.index[prices.index.day_of_week == 0][10]
    closure = prices.drop(pd.bdate_range(monday + pd.Timedelta(days=1), periods=4))
    assert _no_warnings(check_prices, closure).longest_gap == 5
    with pytest.warns(DataQualityWarning, match=r"1 gap longer than 4 business days"):
        check_prices(closure, max_gap_business_days=4)


def test_open_or_close_outside_the_day_range_warns_beyond_the_tolerance(prices):
    rows = prices.index[[5, 6]]
    prices.loc[rows[0], "Close"] = prices.loc[rows[0], "High"] * (1 + 1e-12)  # rounding: tolerated
    assert _no_warnings(check_prices, prices).clean
    prices.loc[rows[1], "Open"] = prices.loc[rows[1], "Low"] * 0.99
    with pytest.warns(DataQualityWarning, match=rf"^DATA CHECK: 1 row with Open or Close outside "
                                                rf"\[Low, High\]: {rows[1]:%Y-%m-%d}"):
        check = check_prices(prices)
    assert check.outside_range == [rows[1]]


# ----------------------------------------------------------------------------- walk-forward periods


def test_a_test_period_beyond_the_data_is_an_error_not_clipped(prices):
    index = prices.index  # ends Friday 2006-12-29
    late = [("2005-01-01", "2007-06-30")]
    for function in (folds_from_dates, check_walk_forward):
        with pytest.raises(ValueError, match="2005-01-01..2007-06-30 ends after the data's last day 2006-12-29"):
            function(index, late, val_size=252)
    with pytest.raises(ValueError, match="starts before the data's first day 2001-01-01"):
        folds_from_dates(index, [("2000-06-01", "2001-12-31")], val_size=10)
    with pytest.raises(ValueError, match="ends before it starts"):
        folds_from_dates(index, [("2005-01-01", "2004-12-31")], val_size=10)
    # reaching past the last Friday over the weekend only is fine: the period holds every trading day
    fold = folds_from_dates(index, [("2005-01-01", "2006-12-31")], val_size=252)[0]
    assert fold.test[1] == len(index)


def test_a_short_first_training_history_warns_and_a_tiny_one_is_an_error(prices):
    index, val = prices.index, 252
    with pytest.warns(DataQualityWarning, match=r"^DATA CHECK: only 200 training days \(2001-01-01\.\.") as record:
        folds = check_walk_forward(index, [(str(index[200 + val].date()), "2006-12-29")], val_size=val)
    assert folds[0].train == (0, 200) and len(record) == 1
    assert _no_warnings(check_walk_forward, index, [(str(index[200 + val].date()), "2006-12-29")],
                        val_size=val, min_train_days=200)
    with pytest.warns(DataQualityWarning, match=r"only 200 training days .*min_train_days=201"):
        check_walk_forward(index, [(str(index[200 + val].date()), "2006-12-29")], val_size=val, min_train_days=201)
    with pytest.raises(ValueError, match="leaves 30 training rows, fewer than 50"):
        check_walk_forward(index, [(str(index[30 + val].date()), "2006-12-29")], val_size=val)
    with pytest.raises(ValueError, match="index must be a pandas DatetimeIndex"):
        check_walk_forward(list(index), [("2005-01-01", "2006-12-29")], val_size=val)
    with pytest.raises(ValueError, match="non-empty list"):
        check_walk_forward(index, [], val_size=val)
    with pytest.raises(TypeError, match="min_train_days must be an int"):
        check_walk_forward(index, [("2005-01-01", "2006-12-29")], val_size=val, min_train_days=1.5)


# ----------------------------------------------------------------------------- your own file


@pytest.fixture()
def price_file(tmp_path, prices):
    if not hasattr(course_lib.data, "load_local"):
        pytest.skip("course_lib.data.load_local is not available yet")

    def write(frame: pd.DataFrame, name: str = "prices.csv"):
        path = tmp_path / name
        frame.rename(columns=str.lower).rename_axis("Date").to_csv(path)  # lower-case headers, as in many files
        return path

    return write


def test_load_price_file_reads_checks_and_builds_the_feature_table(price_file, prices):
    from course_lib.finance import load_price_file

    path = price_file(prices)
    loaded, features = _no_warnings(load_price_file, path)
    assert loaded.provenance == "local"
    reread = pd.read_csv(path, index_col="Date", parse_dates=True)
    expected = make_features(reread.rename(columns={c.lower(): c for c in list(prices.columns)}))
    pd.testing.assert_frame_equal(features, expected, check_names=False, check_freq=False, rtol=1e-12)


def test_load_price_file_passes_the_checks_on(price_file, prices):
    from course_lib.finance import load_price_file

    split = prices.copy()
    split.loc[split.index[700]:, ["Open", "High", "Low", "Close", "Adj Close"]] /= 7
    with pytest.warns(DataQualityWarning, match="unadjusted split"):
        load_price_file(price_file(split, "split.csv"))
    assert len(_no_warnings(load_price_file, price_file(split, "split.csv"), check=False)[1]) == len(split) - 1
    broken = prices.copy()
    broken.loc[broken.index[50], "Low"] = -3.0
    with pytest.raises(ValueError, match="non-positive price on 2001-03-12"):
        load_price_file(price_file(broken, "broken.csv"))
    with pytest.raises(TypeError, match="check must be True or False"):
        load_price_file(price_file(prices), check="no")


def test_load_price_file_maps_columns_and_reports_an_empty_cell(price_file, prices, tmp_path):
    from course_lib.finance import load_price_file

    vendor = prices.rename(columns={"Close": "PX_LAST", "Adj Close": "adj_close"})
    vendor.index = vendor.index.strftime("%d/%m/%Y")
    path = tmp_path / "vendor.csv"
    vendor.rename_axis("day").to_csv(path)
    loaded, features = _no_warnings(load_price_file, path, date_column="day", columns={"Close": "PX_LAST"},
                                    date_format="%d/%m/%Y", name="my stock")
    assert loaded.name == "my stock" and list(loaded.data.index[:2]) == list(prices.index[:2])
    np.testing.assert_allclose(features["ret"].to_numpy(),
                               100 * np.diff(np.log(prices["Adj Close"].to_numpy())), rtol=1e-9)  # CSV round trip
    holed = prices.copy()
    holed.loc[holed.index[99], "High"] = np.nan  # an empty cell in the file
    with pytest.raises(ValueError, match=rf"'High' has 1 missing or non-finite value on {prices.index[99]:%Y-%m-%d}"):
        load_price_file(price_file(holed, "holed.csv"))
