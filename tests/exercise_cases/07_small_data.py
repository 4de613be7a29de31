"""Wrong answers for notebook 07's exercises (format: tests/exercise_cases/__init__.py)."""

import numpy as np
import torch
from scipy import stats
from sklearn.model_selection import train_test_split
from torch import nn

from course_lib.checks.small_data import check_freeze_features, check_honest_verdict, check_stratified_indices
from course_lib.imaging import stratified_subset
from course_lib.imaging.transfer import set_trainable
from course_lib.training import count_parameters
from course_lib.verdicts import seed_verdict
from exercise_cases import ExerciseCase

NOTEBOOK = "07_small_data"


# ------------------------------------------------------------------ Exercise 1: freeze the features
def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def eval_mode_only(model):
    model.eval()
    return trainable(model)


def no_grad_only(model):
    with torch.no_grad():
        return trainable(model)


def attribute_only(model):   # sets an attribute on the Sequential: freezes nothing
    model.features.requires_grad = False
    return trainable(model)


def convolutions_only(model):   # batch norm's scale and shift stay trainable
    for module in model.features:
        if isinstance(module, nn.Conv2d):
            module.weight.requires_grad = False
    for p in model.head.parameters():
        p.requires_grad = True
    return trainable(model)


def first_layer_only(model):
    for p in model.features[0].parameters():
        p.requires_grad = False
    for p in model.head.parameters():
        p.requires_grad = True
    return trainable(model)


def everything(model):
    for p in model.parameters():
        p.requires_grad = False
    return trainable(model)


def head_not_unfrozen(model):   # right for a fresh model, wrong when the head was frozen before
    for p in model.features.parameters():
        p.requires_grad = False
    return trainable(model)


def _freeze(model):
    for p in model.features.parameters():
        p.requires_grad = False
    for p in model.head.parameters():
        p.requires_grad = True


def counts_tensors(model):
    _freeze(model)
    return sum(1 for p in model.parameters() if p.requires_grad)


def returns_total(model):
    _freeze(model)
    return sum(p.numel() for p in model.parameters())


def returns_frozen(model):
    _freeze(model)
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)


def returns_float(model):
    _freeze(model)
    return float(trainable(model))


def library_set_trainable(model):
    set_trainable(model.features, False)
    set_trainable(model.head, True)
    return trainable(model)


def library_count(model):
    _freeze(model)
    return count_parameters(model)


FREEZE = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 1", check=check_freeze_features, solution_name="freeze_features",
    wrong={
        "model.eval() instead of freezing": eval_mode_only,
        "torch.no_grad() instead of freezing": no_grad_only,
        "features.requires_grad = False (an attribute)": attribute_only,
        "convolution weights only (batch norm trainable)": convolutions_only,
        "first layer only": first_layer_only,
        "the whole model frozen": everything,
        "head left frozen when it was frozen before": head_not_unfrozen,
        "counts tensors, not numbers": counts_tensors,
        "returns the total count": returns_total,
        "returns the frozen count": returns_frozen,
        "returns a float": returns_float,
        "the library's set_trainable": library_set_trainable,
        "the library's count_parameters": library_count,
        "forgot to return": lambda model: _freeze(model),
    },
)


# ------------------------------------------------------------------ Exercise 2: an honest verdict
def _decide(low, high):
    return "a" if low > 0 else "b" if high < 0 else "no clear winner"


def compare_means(scores_a, scores_b):
    return "a" if np.mean(scores_a) > np.mean(scores_b) else "b"


def normal_quantile(scores_a, scores_b):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
    return _decide(d.mean() - half, d.mean() + half)


def population_sd(scores_a, scores_b):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std() / np.sqrt(len(d))
    return _decide(d.mean() - half, d.mean() + half)


def welch(scores_a, scores_b):
    a, b = np.asarray(scores_a), np.asarray(scores_b)
    var_a, var_b = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    dof = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, dof) * np.sqrt(var_a + var_b)
    diff = a.mean() - b.mean()
    return _decide(diff - half, diff + half)


def df_n(scores_a, scores_b):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    half = stats.t.ppf(0.975, len(d)) * d.std(ddof=1) / np.sqrt(len(d))
    return _decide(d.mean() - half, d.mean() + half)


def one_sided(scores_a, scores_b):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    half = stats.t.ppf(0.95, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return _decide(d.mean() - half, d.mean() + half)


def swapped(scores_a, scores_b):
    d = np.asarray(scores_b) - np.asarray(scores_a)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return _decide(d.mean() - half, d.mean() + half)


def library_verdict(scores_a, scores_b):
    verdict = seed_verdict("a", scores_a, "b", scores_b, metric="AUC")
    return verdict.winner or "no clear winner"


def returns_tie_word(scores_a, scores_b):
    d = np.asarray(scores_a) - np.asarray(scores_b)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    verdict = _decide(d.mean() - half, d.mean() + half)
    return "tie" if verdict == "no clear winner" else verdict


VERDICT = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 2", check=check_honest_verdict, solution_name="honest_verdict",
    wrong={
        "compares the means": compare_means,
        "z = 1.96 instead of the t quantile": normal_quantile,
        "population sd (ddof=0)": population_sd,
        "unpaired (Welch) interval": welch,
        "n degrees of freedom": df_n,
        "one-sided 95 % quantile": one_sided,
        "a and b swapped": swapped,
        "the library's seed_verdict": library_verdict,
        "says 'tie'": returns_tie_word,
        "forgot to return": lambda scores_a, scores_b: None,
    },
)


# ------------------------------------------------------------------ Exercise 3: stratified subset
def plain_random(labels, fraction, seed):
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(len(labels), size=int(round(fraction * len(labels))), replace=False))


def _per_class(labels, fraction, seed, take_fn, replace=False, sort=True, first=False, rng=None):
    labels = np.asarray(labels)
    rng = rng if rng is not None else np.random.default_rng(seed)
    chosen = []
    for value in np.unique(labels):
        rows = np.flatnonzero(labels == value)
        take = take_fn(fraction * len(rows))
        if take == 0:
            continue
        chosen.append(rows[:take] if first else rng.choice(rows, size=take, replace=replace))
    out = np.concatenate(chosen)
    return np.sort(out) if sort else out


STRATIFIED = ExerciseCase(
    notebook=NOTEBOOK, exercise="Exercise 3", check=check_stratified_indices, solution_name="stratified_indices",
    wrong={
        "plain random subset": plain_random,
        "floor instead of round": lambda labels, fraction, seed: _per_class(
            labels, fraction, seed, lambda x: max(1, int(np.floor(x)))),
        "no minimum of one row": lambda labels, fraction, seed: _per_class(labels, fraction, seed, lambda x: int(round(x))),
        "with replacement": lambda labels, fraction, seed: _per_class(
            labels, fraction, seed, lambda x: max(1, int(round(x))), replace=True),
        "the first rows of each class": lambda labels, fraction, seed: _per_class(
            labels, fraction, seed, lambda x: max(1, int(round(x))), first=True),
        "ignores the seed": lambda labels, fraction, seed: _per_class(labels, fraction, 0, lambda x: max(1, int(round(x)))),
        "unseeded": lambda labels, fraction, seed: _per_class(
            labels, fraction, seed, lambda x: max(1, int(round(x))), rng=np.random.default_rng()),
        "unsorted": lambda labels, fraction, seed: _per_class(
            labels, fraction, seed, lambda x: max(1, int(round(x))), sort=False),
        "a boolean mask": lambda labels, fraction, seed: np.isin(
            np.arange(len(labels)), stratified_indices_reference(labels, fraction, seed)),
        "course_lib's stratified_subset": lambda labels, fraction, seed: stratified_subset(labels, fraction, seed),
        "scikit-learn's train_test_split": lambda labels, fraction, seed: np.sort(train_test_split(
            np.arange(len(labels)), train_size=fraction, stratify=labels, random_state=seed)[0]),
        "forgot to return": lambda labels, fraction, seed: None,
    },
)


def stratified_indices_reference(labels, fraction, seed):
    return _per_class(labels, fraction, seed, lambda x: max(1, int(round(x))))


CASES = [FREEZE, VERDICT, STRATIFIED]
