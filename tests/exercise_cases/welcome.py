"""Wrong answers for notebook 00's demo exercise (format: tests/exercise_cases/__init__.py)."""

import numpy as np

from course_lib.checks.welcome import check_standardize
from exercise_cases import ExerciseCase


def sample_std(values):
    return (values - values.mean()) / values.std(ddof=1)


def zscore(values):  # stands in for `from scipy.stats import zscore`: refused by name
    return (values - values.mean()) / values.std()


def library_zscore(values):
    return zscore(values)


def in_place(values):
    values -= values.mean()
    values /= values.std()
    return values


CASES = [ExerciseCase(
    notebook="00_welcome", exercise="Demo exercise", check=check_standardize, solution_name="standardize",
    wrong={
        "sample std (ddof=1)": sample_std,
        "mean not subtracted": lambda values: values / values.std(),
        "divided by the variance": lambda values: (values - values.mean()) / values.var(),
        "values unchanged": lambda values: values,
        "forgot to return": lambda values: None,
        "scipy's zscore": library_zscore,
        "drops the last value": lambda values: ((values - values.mean()) / values.std())[:-1],
        "changes its input": in_place,
    },
)]
