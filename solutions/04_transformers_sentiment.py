# ---
# jupyter:
#   jupytext:
#     formats: py:percent
# ---

# %% [markdown]
# # Worked solutions · 04 Transformers for sentiment
#
# Try the exercises first; read this afterwards. `tests/test_exercise_checks.py` runs every function
# here through its check from `course_lib.checks.sentiment`, so CI proves each one passes.
#
# ## Exercise 1 — `causal_attention`
#
# Causal attention is the attention of section 4 with one more mask: position $i$ may attend to
# positions $j \le i$ only (itself and the tokens before it), as in GPT-style decoders that predict
# the next token and must not look ahead. The allowed pairs form the lower triangle of an $L \times L$
# matrix, `torch.ones(L, L).tril()`, including the diagonal: without it the first token would have
# no key at all and its softmax row would be 0/0 = NaN. Masked scores are set to $-\infty$ (not 0:
# a score of 0 still gets weight $e^0 > 0$), so the softmax over the keys (the last axis) gives them
# weight exactly 0. The scale is $1/\sqrt{d}$ with $d$ the size of the queries and keys, not of the
# values. Return only the output: the notebook's `attention` returns `(output, weights)`.

# %%
import math

import torch


def causal_attention(q, k, v):
    length = q.shape[-2]
    allowed = torch.ones(length, length, dtype=torch.bool).tril()  # i may see j <= i
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


# %% [markdown]
# ## Exercise 2 — `my_mean_pool`
#
# The mean over *real* tokens: multiply every token vector by its mask value (1 for a token, 0 for
# padding), sum over the length axis, and divide by the number of real tokens of that sentence, not
# by the padded length $L$ and not by the batch's total. The mask arrives as integers; cast it to the
# hidden states' dtype, and add a last axis of size 1 so that it broadcasts over the $H$ features.

# %%
def my_mean_pool(hidden, attention_mask):
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, L, 1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1)


# %% [markdown]
# ## Exercise 3 — `mark_negation`
#
# Walk through the words once, remembering whether we are inside the scope of a negation. A
# punctuation token ends the scope; a negation word (compared as a whole word: "knot" and "note" are
# not negations) starts it, or keeps it going; every other word inside the scope gets the `NOT_`
# prefix. SST-2 is already tokenized ("is n't", punctuation split off), so `split()` gives the words
# and `" ".join` puts the sentence back together.

# %%
NEGATION_WORDS = {"not", "n't", "no", "never", "nothing", "nobody", "neither", "nor", "none"}
PUNCTUATION = {".", ",", ";", ":", "!", "?"}


def mark_negation(sentence):
    marked, negated = [], False
    for word in sentence.split():
        if word in PUNCTUATION:
            negated = False
            marked.append(word)
        elif word in NEGATION_WORDS:
            negated = True
            marked.append(word)
        else:
            marked.append("NOT_" + word if negated else word)
    return " ".join(marked)
