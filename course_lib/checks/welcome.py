"""The self-check of notebook 00's demo exercise (see :mod:`course_lib.checks` for the design)."""

from __future__ import annotations

import numpy as np

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code

#: Library functions that standardize for you (by name: importing scipy/sklearn here is not needed).
LIBRARY = ("zscore", "StandardScaler", "scale", "standardize_features")


def check_standardize(standardize, *, seed=None) -> None:
    """Check ``standardize(values) -> (values - mean) / std`` (population std, ``ddof=0``) on a 1-D
    float array whose size, mean and spread are drawn fresh (reproduce with ``seed=``).

    Known wrong answers it separates: the sample std (``ddof=1``, off by ``sqrt(n/(n-1))``, ≥ 0.25 %
    for the sizes drawn here), forgetting to subtract the mean, dividing by the variance, and calling
    a library function (scipy's ``zscore``, sklearn's ``scale``/``StandardScaler``).
    """
    require_own_code(standardize, *LIBRARY)
    rng, seed = fresh_rng(seed)
    n = int(rng.integers(5, 200))
    values = rng.normal(rng.uniform(-10, 10), rng.uniform(0.5, 5.0), size=n)
    before = values.copy()
    answer = standardize(values)
    expect(np.array_equal(values, before), "standardize changed its input array; return a new array instead", seed)
    # float64: the reference and any correct formula agree to ~1e-15 relative (a float32 learner ~1e-7);
    # rtol=1e-5 accepts both, while ddof=1 is off by at least 0.25 % at n < 200 and is rejected.
    assert_close(answer, (values - values.mean()) / values.std(), rtol=1e-5, atol=1e-8,
                 what=f"standardize(values) for {n} values", seed=seed)
