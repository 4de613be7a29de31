"""Wrong answers for notebook 10's exercises (format: tests/exercise_cases/__init__.py)."""

import numpy as np
import pandas as pd

from course_lib.checks.reliability import check_attention_rollout, check_dp_bootstrap_interval, check_group_rates
from exercise_cases import ExerciseCase

NOTEBOOK = "10_bias_explanations"


# ------------------------------------------------------------------ Exercise 1: rates per group
def _rates(y_true, y_pred, sensitive, selection, tpr, labels=None):
    y_true, y_pred, sensitive = np.asarray(y_true), np.asarray(y_pred), np.asarray(sensitive)
    groups = np.unique(sensitive)
    rows = {}
    for label in groups:
        m = sensitive == label
        rows[label] = {"selection_rate": selection(y_true, y_pred, m), "tpr": tpr(y_true, y_pred, m)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if labels is not None:
        frame.index = labels(sensitive)
    return frame


def _selection(t, p, m):
    return p[m].mean()


def _tpr(t, p, m):
    return p[m & (t == 1)].mean()


def first_appearance(sensitive):                # rates in sorted order, labels in order of appearance
    return list(dict.fromkeys(np.asarray(sensitive).tolist()))


def fairlearn_frame(y_true, y_pred, sensitive):
    from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
    return MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate}, y_true=y_true,
                       y_pred=y_pred, sensitive_features=sensitive).by_group


GROUP_RATES = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_group_rates, solution_name="group_rates",
    wrong={
        "base rate as selection rate": lambda t, p, s: _rates(t, p, s, lambda t, p, m: t[m].mean(), _tpr),
        "TPR = TP / group size": lambda t, p, s: _rates(t, p, s, _selection,
                                                        lambda t, p, m: (p[m] & t[m]).sum() / m.sum()),
        "TPR = precision": lambda t, p, s: _rates(t, p, s, _selection, lambda t, p, m: t[m & (p == 1)].mean()),
        "pooled over all groups": lambda t, p, s: _rates(t, p, s, lambda t, p, m: p.mean(),
                                                         lambda t, p, m: p[t == 1].mean()),
        "labels attached to the wrong groups": lambda t, p, s: _rates(t, p, s, _selection, _tpr,
                                                                      labels=first_appearance),
        "other column names": lambda t, p, s: _rates(t, p, s, _selection, _tpr).rename(
            columns={"selection_rate": "selection rate", "tpr": "TPR"}),
        "a dict instead of a DataFrame": lambda t, p, s: _rates(t, p, s, _selection, _tpr).to_dict(),
        "fairlearn's MetricFrame": fairlearn_frame,
        "forgot to return": lambda t, p, s: None,
    },
)


# ------------------------------------------------------------------ Exercise 2: bootstrap interval
def _interval(y_pred, sensitive, n_resamples, confidence, seed, *, statistic=None, resample="within",
              quantiles=None):
    y_pred, sensitive = np.asarray(y_pred, dtype=np.float64), np.asarray(sensitive)
    rng = np.random.default_rng(seed)
    labels = np.unique(sensitive)
    statistic = statistic or (lambda rates: rates.max(axis=0) - rates.min(axis=0))
    if resample == "within":
        rates = []
        for g in labels:
            member = y_pred[sensitive == g]
            rates.append(member[rng.integers(0, member.size, size=(n_resamples, member.size))].mean(axis=1))
    elif resample == "independent":          # pairs broken: predictions and groups drawn separately
        p = y_pred[rng.integers(0, y_pred.size, size=(n_resamples, y_pred.size))]
        s = sensitive[rng.integers(0, y_pred.size, size=(n_resamples, y_pred.size))]
        rates = [(p * (s == g)).sum(axis=1) / (s == g).sum(axis=1) for g in labels]
    else:                                    # no resampling at all
        rates = [np.full(n_resamples, y_pred[sensitive == g].mean()) for g in labels]
    values = statistic(np.stack(rates))
    q = quantiles or [(1 - confidence) / 2, (1 + confidence) / 2]
    low, high = np.quantile(values, q)
    return float(low), float(high)


def ninety_percent(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    return _interval(y_pred, sensitive, n_resamples, confidence, seed, quantiles=[0.05, 0.95])


def no_resampling(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    return _interval(y_pred, sensitive, 3, confidence, seed, resample="none")


def pairs_broken(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    return _interval(y_pred, sensitive, n_resamples, confidence, seed, resample="independent")


def signed(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):   # first group minus the last
    return _interval(y_pred, sensitive, n_resamples, confidence, seed, statistic=lambda r: r[0] - r[-1])


def normal_from_predictions(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    y_pred, sensitive = np.asarray(y_pred, dtype=np.float64), np.asarray(sensitive)
    rates = [y_pred[sensitive == g].mean() for g in np.unique(sensitive)]
    d = max(rates) - min(rates)
    return d - 1.96 * y_pred.std(), d + 1.96 * y_pred.std()


def twenty_draws(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    return _interval(y_pred, sensitive, 20, confidence, seed)


def unseeded(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):   # ignores seed
    return _interval(y_pred, sensitive, n_resamples, confidence, None)


def library_bootstrap(y_pred, sensitive, *, n_resamples=2000, confidence=0.95, seed=0):
    from course_lib.reliability.fairness import bootstrap_gaps
    table = bootstrap_gaps(np.asarray(y_pred), y_pred, sensitive, n_resamples=n_resamples, seed=seed,
                           confidence=confidence)
    row = table.loc["demographic_parity_difference"]
    return float(row["low"]), float(row["high"])


DP_INTERVAL = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_dp_bootstrap_interval,
    solution_name="dp_bootstrap_interval",
    wrong={
        "a 90 % interval whatever the confidence": ninety_percent,
        "no resampling": no_resampling,
        "pairs broken": pairs_broken,
        "signed difference": signed,
        "normal interval from the 0/1 predictions": normal_from_predictions,
        "20 draws whatever n_resamples": twenty_draws,
        "seed ignored": unseeded,
        "course_lib's bootstrap_gaps": library_bootstrap,
        "forgot to return": lambda y_pred, sensitive, **kwargs: None,
    },
    repeats=3,
)


# ------------------------------------------------------------------ Exercise 3: attention rollout
def _rollout(attentions, residual=0.5, *, order="later left", heads=np.mean, mix=None, layers=slice(None),
             normalise=True):
    attentions = np.asarray(attentions, dtype=np.float64)[layers]
    n = attentions.shape[-1]
    mix = mix or (lambda a, r: r * np.eye(n) + (1 - r) * a)
    result = np.eye(n)
    for layer in attentions:
        m = mix(heads(layer, axis=0), residual)
        if normalise:
            m = m / m.sum(axis=1, keepdims=True)
        result = m @ result if order == "later left" else result @ m
    return result


ROLLOUT = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_attention_rollout, solution_name="attention_rollout_by_hand",
    wrong={
        "product in the wrong order": lambda a, residual=0.5: _rollout(a, residual, order="earlier left"),
        "residual ignored (always 0.5)": lambda a, residual=0.5: _rollout(a, 0.5),
        "no residual at all": lambda a, residual=0.5: _rollout(a, 0.0),
        "max over heads": lambda a, residual=0.5: _rollout(a, residual, heads=np.max),
        "last layer only": lambda a, residual=0.5: _rollout(a, residual, layers=slice(-1, None)),
        "residual mixed the other way": lambda a, residual=0.5: _rollout(
            a, residual, mix=lambda m, r: (1 - r) * np.eye(len(m)) + r * m),
        "course_lib's attention_rollout": lambda a, residual=0.5: __import__(
            "course_lib.reliability.token_attribution", fromlist=["attention_rollout"]).attention_rollout(a, None),
        "forgot to return": lambda a, residual=0.5: None,
    },
)

CASES = [GROUP_RATES, DP_INTERVAL, ROLLOUT]
