"""S&P 500 prices to the daily feature table the forecasters share.

The default data are the S&P 500 daily prices bundled in ``arch`` (1999-01-04 to 2018-12-31,
provenance ``"bundled"``), loaded through :func:`course_lib.data.load_dataset`. ``load_yfinance`` is
an optional extra for a fresher history; it needs the ``yfinance`` package and the network, and no
notebook or test depends on it. ``load_price_file`` reads a learner's own daily OHLC file (provenance
``"local"``), checks it (:func:`course_lib.finance.data_checks.check_prices`) and builds the same table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data import LoadedDataset, load_dataset
from course_lib.finance.volatility import garman_klass_variance, parkinson_variance

OHLC_COLUMNS = ("Open", "High", "Low", "Close")
RV_FLOOR = 1e-4  # percent² per day: a 0.01% daily volatility, far below any real trading day


def load_sp500(*, allow_fallback: bool = True, proxy: str = "parkinson",
               **load_kwargs) -> tuple[LoadedDataset, pd.DataFrame]:
    """The S&P 500 through :func:`course_lib.data.load_dataset` (``load_kwargs`` are passed on), and
    its daily feature table: ``(loaded, make_features(loaded.data, proxy))``.

    ``loaded.data`` holds the prices: a DataFrame with a DatetimeIndex and columns Open, High, Low,
    Close, Adj Close (index points), Volume. See :func:`make_features` for the feature table.
    """
    loaded = load_dataset("sp500", allow_fallback=allow_fallback, **load_kwargs)
    return loaded, make_features(loaded.data, proxy=proxy)


def load_price_file(path, *, date_column: str = "Date", columns=None, proxy: str = "parkinson",
                    check: bool = True, name: str | None = None, **options) -> tuple[LoadedDataset, pd.DataFrame]:
    """A daily OHLC CSV file of your own and its feature table: ``(loaded, make_features(loaded.data, proxy))``.

    The file is read by ``course_lib.data.load_local(path, "prices", ...)`` (provenance ``"local"``,
    its sha256 recorded): a ``date_column`` and Open, High, Low, Close (Adj Close, Volume optional),
    matched case-insensitively or through ``columns`` (course name -> your file's column name, e.g.
    ``{"Close": "last"}``); ``name`` is the dataset's name in the ledger (default: the file's stem) and
    ``options`` go to the reader (``date_format="%d/%m/%Y"``, ``sep=";"``). With ``check`` the prices
    then go through :func:`~course_lib.finance.data_checks.check_prices` at its defaults: impossible rows raise
    ``ValueError``, split-like jumps and gaps emit a loud ``DataQualityWarning`` (not silenced here).
    Returns the LoadedDataset (``loaded.data``: the prices) and the daily table of :func:`make_features`.
    """
    from course_lib.data import load_local  # the data layer's reader of local files
    from course_lib.finance.data_checks import check_prices

    if not isinstance(check, (bool, np.bool_)):
        raise TypeError(f"check must be True or False, got {check!r}")
    if proxy not in ("parkinson", "garman_klass"):
        raise ValueError(f"proxy must be 'parkinson' or 'garman_klass', got {proxy!r}")
    loaded = load_local(path, "prices", name=name, date_column=date_column, columns=columns, **options)
    if check:
        check_prices(loaded.data)
    return loaded, make_features(loaded.data, proxy=proxy)


def load_yfinance(ticker: str, start: str = "2000-01-01", end: str | None = None) -> pd.DataFrame:
    """OPTIONAL: daily OHLC of any ticker from Yahoo! Finance via ``yfinance`` (network needed).

    Returns a DataFrame shaped like the prices :func:`load_sp500` loads (``loaded.data``). Raises ``ImportError`` with
    instructions when ``yfinance`` is not installed (it is not a course dependency).
    """
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError("ticker must be a non-empty string such as '^GSPC'")
    try:
        import yfinance
    except ImportError:
        raise ImportError("load_yfinance needs the optional package yfinance "
                          "(pip install yfinance); the course itself uses load_sp500()") from None
    frame = yfinance.download(ticker, start=start, end=end, auto_adjust=False, progress=False)
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = frame.columns.get_level_values(0)
    if frame.empty:
        raise ValueError(f"yfinance returned no rows for {ticker!r}")
    return frame


def log_returns(prices, percent: bool = True) -> pd.Series:
    """Log returns ln(P_t / P_{t-1}) (×100 when ``percent``), shape (N-1,), indexed by day t."""
    if not isinstance(prices, pd.Series):
        raise TypeError(f"prices must be a pandas Series, got {type(prices).__name__}")
    values = prices.to_numpy(dtype=float)
    if len(values) < 2:
        raise ValueError("prices needs at least two values")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("prices must be finite and strictly positive")
    out = np.diff(np.log(values)) * (100.0 if percent else 1.0)
    return pd.Series(out, index=prices.index[1:], name="ret")


def make_features(ohlc: pd.DataFrame, proxy: str = "parkinson") -> pd.DataFrame:
    """The daily table every forecaster reads, one row per day t (the first price day is dropped).

    Columns:
        ``ret``: close-to-close log return of day t in percent (from ``Adj Close`` when present).
        ``rv``: the range-based variance proxy of day t in percent² (``"parkinson"`` or
        ``"garman_klass"``); this is the forecasting target.
    """
    if not isinstance(ohlc, pd.DataFrame):
        raise TypeError(f"ohlc must be a DataFrame, got {type(ohlc).__name__}")
    missing = [c for c in OHLC_COLUMNS if c not in ohlc.columns]
    if missing:
        raise ValueError(f"ohlc lacks columns {missing}; needs {list(OHLC_COLUMNS)}")
    if not ohlc.index.is_monotonic_increasing or ohlc.index.has_duplicates:
        raise ValueError("ohlc must be sorted by date without duplicate days")
    close = ohlc["Adj Close"] if "Adj Close" in ohlc.columns else ohlc["Close"]
    if proxy == "parkinson":
        rv = parkinson_variance(ohlc["High"], ohlc["Low"])
    elif proxy == "garman_klass":
        rv = garman_klass_variance(ohlc["Open"], ohlc["High"], ohlc["Low"], ohlc["Close"])
    else:
        raise ValueError(f"proxy must be 'parkinson' or 'garman_klass', got {proxy!r}")
    frame = pd.DataFrame({"ret": log_returns(close), "rv": rv.iloc[1:]})
    # a zero range (High == Low) makes log-variance and QLIKE undefined; a fixed floor (not one
    # computed from the data, which would peek at the future) keeps every day usable
    frame["rv"] = frame["rv"].clip(lower=RV_FLOOR)
    return frame
