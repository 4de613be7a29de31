"""Finance case study (notebook 03): forecasting next-day S&P 500 volatility honestly.

One module per job:

- :mod:`~course_lib.finance.data` — prices to percent log returns and the daily feature table; the S&P 500
  or your own daily OHLC file (``load_price_file``).
- :mod:`~course_lib.finance.data_checks` — price-data checks: errors for impossible rows, loud
  ``DataQualityWarning`` for split-like jumps, gaps and a short first training history.
- :mod:`~course_lib.finance.volatility` — range-based variance proxies, realized-variance helpers, ACF.
- :mod:`~course_lib.finance.splits` — time-ordered walk-forward folds that refuse overlap and disorder.
- :mod:`~course_lib.finance.losses` — QLIKE, MSE, the Diebold–Mariano test and verdicts from it.
- :mod:`~course_lib.finance.comparisons` — every network against every baseline, with Bonferroni and
  Holm corrections for the family of comparisons.
- :mod:`~course_lib.finance.windows` — look-ahead-free sequence windows and train-only scaling.
- :mod:`~course_lib.finance.baselines` — naive, EWMA, GARCH(1,1), HAR (least squares; log-linear by
  QLIKE) and gradient boosting forecasters.
- :mod:`~course_lib.finance.models` — LSTM / GRU regressors and their walk-forward forecaster.

Every forecaster is a function ``forecast(features, fold, ...) -> np.ndarray`` returning one variance
forecast per day of ``fold.test``; the forecast for day ``d`` uses rows ``< d`` of ``features`` only.
"""

from course_lib.finance.baselines import (
    ewma_forecast,
    fit_log_har_qlike,
    garch_forecast,
    gbm_forecast,
    har_design,
    har_forecast,
    level_ratio,
    log_har_qlike_forecast,
    naive_forecast,
    walk_forward_forecast,
)
from course_lib.finance.comparisons import BaselineComparison, compare_with_baselines, holm_adjust
from course_lib.finance.data import load_price_file, load_sp500, load_yfinance, log_returns, make_features
from course_lib.finance.data_checks import DataQualityWarning, PriceCheck, check_prices, check_walk_forward
from course_lib.finance.losses import (
    DMResult,
    LossDifference,
    diebold_mariano,
    dm_verdict,
    long_run_variance,
    loss_difference_interval,
    mse,
    mse_series,
    qlike,
    qlike_series,
)
from course_lib.finance.models import RecurrentRegressor, neural_forecast, train_and_forecast
from course_lib.finance.splits import Fold, check_folds, folds_from_dates, validation_as_test, walk_forward_folds
from course_lib.finance.volatility import (
    acf,
    annualized_vol,
    garman_klass_variance,
    parkinson_variance,
    realized_variance,
)
from course_lib.finance.windows import Standardizer, make_windows

__all__ = [
    "BaselineComparison", "DataQualityWarning", "PriceCheck", "check_prices", "check_walk_forward",
    "compare_with_baselines", "holm_adjust", "load_price_file",
    "DMResult", "Fold", "LossDifference", "RecurrentRegressor", "Standardizer", "acf", "annualized_vol",
    "check_folds", "diebold_mariano", "dm_verdict", "ewma_forecast", "fit_log_har_qlike", "folds_from_dates",
    "garch_forecast", "garman_klass_variance", "gbm_forecast", "har_design", "har_forecast", "level_ratio", "load_sp500",
    "load_yfinance", "log_har_qlike_forecast", "log_returns", "long_run_variance", "loss_difference_interval",
    "make_features", "make_windows", "mse", "mse_series", "naive_forecast", "neural_forecast",
    "parkinson_variance", "qlike", "qlike_series", "realized_variance", "train_and_forecast",
    "validation_as_test", "walk_forward_folds", "walk_forward_forecast",
]
