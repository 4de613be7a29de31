"""Wrong answers for notebook 04's exercises (format: tests/exercise_cases/__init__.py)."""

import math
import re

import torch
import torch.nn.functional as F

from course_lib.checks.sentiment import (
    NEGATION_WORDS,
    PUNCTUATION,
    check_causal_attention,
    check_mark_negation,
    check_mean_pool,
)
from course_lib.text import mean_pool, scaled_dot_product_attention
from exercise_cases import ExerciseCase

NOTEBOOK = "04_transformers_sentiment"


# ------------------------------------------------------------------ Exercise 1: causal attention
def _scores(q, k, scale=None):
    return q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1] if scale is None else scale)


def _lower(length, diagonal=0):
    return torch.ones(length, length, dtype=torch.bool).tril(diagonal)


def no_mask(q, k, v):
    return torch.softmax(_scores(q, k), dim=-1) @ v


def strict_mask(q, k, v):  # j < i: the first token has nothing to attend to
    return torch.softmax(_scores(q, k).masked_fill(~_lower(q.shape[-2], -1), float("-inf")), dim=-1) @ v


def upper_triangle(q, k, v):  # attends to the future instead of the past
    mask = torch.ones(q.shape[-2], q.shape[-2], dtype=torch.bool).triu()
    return torch.softmax(_scores(q, k).masked_fill(~mask, float("-inf")), dim=-1) @ v


def zeroed_scores(q, k, v):  # multiplying by the mask gives masked keys score 0, i.e. weight exp(0)
    return torch.softmax(_scores(q, k) * _lower(q.shape[-2]), dim=-1) @ v


def no_scale(q, k, v):
    return torch.softmax(_scores(q, k, scale=1.0).masked_fill(~_lower(q.shape[-2]), float("-inf")), dim=-1) @ v


def value_dim_scale(q, k, v):
    scores = _scores(q, k, scale=v.shape[-1]).masked_fill(~_lower(q.shape[-2]), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def softmax_over_queries(q, k, v):
    scores = _scores(q, k).masked_fill(~_lower(q.shape[-2]), float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=-2)) @ v


def output_and_weights(q, k, v):
    weights = torch.softmax(_scores(q, k).masked_fill(~_lower(q.shape[-2]), float("-inf")), dim=-1)
    return weights @ v, weights


def pytorch_is_causal(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def course_lib_attention(q, k, v):
    return scaled_dot_product_attention(q, k, v, _lower(q.shape[-2]))[0]


# ------------------------------------------------------------------ Exercise 2: mean pooling
def masked_sum(hidden, mask):
    return (hidden * mask.unsqueeze(-1)).sum(1)


def course_lib_mean_pool(hidden, mask):
    return mean_pool(hidden, mask)


# ------------------------------------------------------------------ Exercise 3: mark_negation
def only_after_literal_not(sentence):  # the answer the previous check accepted (issue 13)
    words = sentence.split()
    return " ".join("NOT_" + w if i and words[i - 1] == "not" else w for i, w in enumerate(words))


def regex_after_not(sentence):
    return re.sub(r"\bnot (\w+)", r"not NOT_\1", sentence)


def _scope(sentence, negations=NEGATION_WORDS, stops=PUNCTUATION, substring=False, mark_negations=False,
           reset=True):
    out, negated = [], False
    for word in sentence.split():
        is_negation = any(n in word for n in ("not", "no", "never")) if substring else word in negations
        if word in stops and reset:
            negated = False
            out.append(word)
        elif is_negation:
            out.append("NOT_" + word if negated and mark_negations else word)
            negated = True
        else:
            out.append("NOT_" + word if negated and word not in PUNCTUATION else word)
    return " ".join(out)


def only_the_next_word(sentence):
    words = sentence.split()
    return " ".join("NOT_" + w if i and words[i - 1] in NEGATION_WORDS and w not in NEGATION_WORDS
                    and w not in PUNCTUATION else w for i, w in enumerate(words))


CASES = [
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 1", check=check_causal_attention, solution_name="causal_attention",
        wrong={
            "no mask": no_mask,
            "strict mask j < i": strict_mask,
            "upper triangle (the future)": upper_triangle,
            "scores zeroed instead of -inf": zeroed_scores,
            "no 1/sqrt(d)": no_scale,
            "sqrt of the value dimension": value_dim_scale,
            "softmax over the queries": softmax_over_queries,
            "returns (output, weights)": output_and_weights,
            "F.scaled_dot_product_attention(is_causal=True)": pytorch_is_causal,
            "the library function itself": F.scaled_dot_product_attention,
            "course_lib's attention": course_lib_attention,
            "returns the values": lambda q, k, v: v,
        },
    ),
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 2", check=check_mean_pool, solution_name="my_mean_pool",
        wrong={
            "mean over all positions": lambda hidden, mask: hidden.mean(1),
            "masked sum, not divided": masked_sum,
            "divided by the length L": lambda hidden, mask: masked_sum(hidden, mask) / hidden.shape[1],
            "divided by the batch's token count": lambda hidden, mask: masked_sum(hidden, mask) / mask.sum(),
            "wrong axis": lambda hidden, mask: (hidden * mask.unsqueeze(-1)).mean(2),
            "max pooling": lambda hidden, mask: hidden.masked_fill(mask.unsqueeze(-1) == 0, -1e9).max(1).values,
            "the first token ([CLS])": lambda hidden, mask: hidden[:, 0],
            "course_lib's mean_pool": course_lib_mean_pool,
            "the library function itself": mean_pool,
            "forgot to return": lambda hidden, mask: None,
        },
    ),
    ExerciseCase(
        notebook=NOTEBOOK, exercise="Exercise 3", check=check_mark_negation, solution_name="mark_negation",
        wrong={
            "only the word after a literal 'not'": only_after_literal_not,
            "regex after 'not'": regex_after_not,
            "only the next word after any negation": only_the_next_word,
            "'not' and \"n't\" only": lambda s: _scope(s, negations=("not", "n't")),
            "ignores punctuation (marks to the end)": lambda s: _scope(s, reset=False),
            "only '.' ends the scope": lambda s: _scope(s, stops=(".",)),
            "substring match ('knot', 'note')": lambda s: _scope(s, substring=True),
            "marks negation words inside a scope": lambda s: _scope(s, mark_negations=True),
            "returns a list of words": lambda s: _scope(s).split(),
            "unchanged sentence": lambda s: s,
        },
    ),
]
