"""The self-checks of notebook 04 (transformers for sentiment); see :mod:`course_lib.checks` for the design.

- :func:`check_causal_attention` — Exercise 1, attention where a token sees only itself and earlier tokens.
- :func:`check_mean_pool` — Exercise 2, MiniLM's mean pooling over real tokens.
- :func:`check_mark_negation` — Exercise 3, the ``NOT_`` marking of words after a negation.

Every check draws fresh random inputs (reproduce a failure with ``seed=``) and adds fixed edge cases that
separate the wrong answers learners are known to write (listed in each docstring; the test
``tests/test_exercise_checks.py`` runs them, from ``tests/exercise_cases/sentiment.py``).
"""

from __future__ import annotations

import numpy as np

from course_lib.checks._common import assert_close, expect, fresh_rng, require_own_code

#: The negation words of notebook 04 (its ``NEGATION`` pattern): SST-2 is lower-case and splits "isn't"
#: into "is n't".
NEGATION_WORDS = ("not", "n't", "no", "never", "nothing", "nobody", "neither", "nor", "none")
#: The punctuation tokens that end the scope of a negation.
PUNCTUATION = (".", ",", ";", ":", "!", "?")
#: Ordinary words for random sentences, some of which contain a negation word as a substring.
_WORDS = ("the", "film", "is", "a", "good", "bad", "plot", "cast", "funny", "boring", "at", "all", "it",
          "story", "i", "like", "acting", "knot", "note", "nobody's", "innocent", "notable", "snow", "known",
          "nonetheless", "nor'easter", "movie", "was", "really", "dull", "fun", "and", "but", "moving")


def _torch():
    import torch  # only the attention and pooling checks need it

    return torch


# ----------------------------------------------------------------------------- Exercise 1


def _reference_causal_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """float64 reference: softmax(q kᵀ / √d + causal mask) v, position i attending to j ≤ i."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    length = q.shape[-2]
    allowed = np.tril(np.ones((length, length), dtype=bool))
    scores = np.where(allowed, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return (weights / weights.sum(axis=-1, keepdims=True)) @ v


def check_causal_attention(causal_attention, *, seed=None) -> None:
    """Check ``causal_attention(q, k, v)`` for float32 tensors q, k of shape (..., L, d) and v of shape
    (..., L, dv): scaled dot-product attention in which position i attends only to positions j ≤ i
    (the mask of GPT-style decoders), returning the output (..., L, dv).

    Inputs are drawn fresh: 1 or 2 batch dimensions, L from 2 to 7, d ≠ dv from 2 to 9; plus L = 1.
    Known wrong answers it separates: no mask at all, the strict mask j < i (the first row has no key:
    NaN), the upper triangle j ≥ i, zeroing scores instead of setting them to −∞, no 1/√d scale or
    √dv instead of √d, the softmax over the wrong axis, returning ``(output, weights)``, and PyTorch's
    ``F.scaled_dot_product_attention(..., is_causal=True)`` (or course_lib's attention).
    """
    torch = _torch()
    from course_lib.text.attention import scaled_dot_product_attention

    require_own_code(causal_attention, torch.nn.functional.scaled_dot_product_attention, scaled_dot_product_attention,
                     "scaled_dot_product_attention", "multi_head_attention_forward")
    rng, seed = fresh_rng(seed)
    batch = tuple(int(n) for n in rng.integers(1, 4, size=int(rng.integers(1, 3))))
    d, dv = (int(n) for n in rng.choice(np.arange(2, 10), size=2, replace=False))
    for length in (int(rng.integers(2, 8)), 1):
        q, k = (rng.normal(size=(*batch, length, d)).astype(np.float32) for _ in range(2))
        v = rng.normal(size=(*batch, length, dv)).astype(np.float32)
        inputs = [torch.from_numpy(a.copy()) for a in (q, k, v)]
        answer = causal_attention(*inputs)
        expect(not isinstance(answer, tuple), "return only the output tensor (..., L, dv), not a tuple "
               "(the notebook's `attention` returns (output, weights): keep the first)", seed)
        expect(all(np.array_equal(t.numpy(), a) for t, a in zip(inputs, (q, k, v))),
               "causal_attention changed its inputs in place; compute new tensors instead", seed)
        # float32 learner vs float64 reference: dot products over <= 9 terms and softmax over <= 7 keys
        # of O(1) values agree to ~1e-6; 1e-4 leaves margin, while every wrong answer above is off by > 0.05
        assert_close(answer, _reference_causal_attention(q.astype(np.float64), k.astype(np.float64),
                                                         v.astype(np.float64)),
                     rtol=1e-4, atol=1e-4, what=f"causal_attention(q, k, v) with q, k {q.shape} and v {v.shape}",
                     seed=seed)


# ----------------------------------------------------------------------------- Exercise 2


def _reference_mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask.astype(np.float64)[..., None]
    return (hidden * weights).sum(1) / weights.sum(1)


def check_mean_pool(my_mean_pool, *, seed=None) -> None:
    """Check ``my_mean_pool(hidden, attention_mask)``: hidden (B, L, H) float32, attention_mask (B, L)
    int64 of 1 (token) / 0 (padding, at the end of a row, as a tokenizer pads) -> (B, H), the mean of each
    row's real token vectors.

    Inputs are drawn fresh (B from 3 to 6, L from 4 to 9, H from 2 to 7, a random number of real tokens per
    row, always including a full row and a row with one token); the padding positions hold large values,
    as if the model had computed something there. Known wrong answers it separates: the plain mean over
    all positions, the masked sum without dividing, dividing by L, dividing by the batch's total token
    count, the mean over the wrong axis, max pooling, and course_lib's ``mean_pool``.
    """
    torch = _torch()
    from course_lib.text.pretrained import mean_pool

    require_own_code(my_mean_pool, mean_pool, "mean_pool")
    rng, seed = fresh_rng(seed)
    batch, length, width = int(rng.integers(3, 7)), int(rng.integers(4, 10)), int(rng.integers(2, 8))
    real = rng.integers(1, length + 1, size=batch)
    real[0], real[1] = length, 1
    mask = (np.arange(length)[None, :] < real[:, None]).astype(np.int64)
    hidden = rng.normal(size=(batch, length, width))
    hidden = np.where(mask[..., None] == 1, hidden, rng.normal(50.0, 10.0, size=hidden.shape)).astype(np.float32)
    hidden_in, mask_in = torch.from_numpy(hidden.copy()), torch.from_numpy(mask.copy())
    answer = my_mean_pool(hidden_in, mask_in)
    expect(np.array_equal(hidden_in.numpy(), hidden) and np.array_equal(mask_in.numpy(), mask),
           "my_mean_pool changed its inputs in place; compute new tensors instead", seed)
    # float32 learner vs float64 reference: means of at most 9 values of size ~1: ~1e-7 relative;
    # 1e-5 leaves margin, while counting one padding position (~50) moves a mean by > 1
    assert_close(answer, _reference_mean_pool(hidden.astype(np.float64), mask), rtol=1e-5, atol=1e-5,
                 what=f"my_mean_pool(hidden {hidden.shape}, attention_mask {mask.shape})", seed=seed)


# ----------------------------------------------------------------------------- Exercise 3


def _reference_mark_negation(sentence: str) -> str:
    out, negated = [], False
    for word in sentence.split():
        if word in PUNCTUATION:
            negated = False
            out.append(word)
        elif word in NEGATION_WORDS:
            negated = True
            out.append(word)
        else:
            out.append("NOT_" + word if negated else word)
    return " ".join(out)


#: Fixed cases, each separating at least one known wrong answer (see :func:`check_mark_negation`).
MARK_NEGATION_CASES = (
    "it is not good , but fun .",                    # the scope ends at the comma
    "a fine film",                                   # no negation: unchanged
    "i do n't like the plot or the cast .",          # n't, and several words marked
    "never boring , always moving !",                # never; '!' is punctuation too
    "no plot ; no fun",                              # no, twice; ';' ends the first scope
    "nothing works : nobody cares ? none .",         # more negation words and punctuation
    "it is not bad at all",                          # no punctuation: marked to the end
    "a knot , a note and nonsense .",                # words containing 'no'/'not' are not negations
    "not . good",                                    # punctuation right after the negation
    "neither the plot nor the cast",                 # a negation inside a scope keeps it going
)


def _random_sentence(rng) -> str:
    pool = _WORDS + NEGATION_WORDS + PUNCTUATION
    probabilities = np.array([6.0] * len(_WORDS) + [2.0] * len(NEGATION_WORDS) + [1.5] * len(PUNCTUATION))
    words = rng.choice(pool, size=int(rng.integers(4, 16)), p=probabilities / probabilities.sum())
    return " ".join(str(w) for w in words)


def check_mark_negation(mark_negation, *, seed=None) -> None:
    """Check ``mark_negation(sentence) -> str``: the sentence (tokens separated by spaces) with ``NOT_``
    before every word that follows a negation word (:data:`NEGATION_WORDS`) up to the next punctuation
    token (:data:`PUNCTUATION`). Negation words and punctuation are never marked; a negation word inside a
    scope keeps the marking going; punctuation ends it.

    Runs the fixed :data:`MARK_NEGATION_CASES` and 30 random sentences drawn fresh. Known wrong answers it
    separates: marking only the word after a literal "not" (which the previous check accepted), marking
    only the next word after any negation, handling "not" and "n't" only, ignoring punctuation (marking to
    the end), ending the scope only at ".", matching negations as substrings ("knot", "note"), marking the
    negation word itself, and returning a list of words instead of a string.
    """
    require_own_code(mark_negation, _reference_mark_negation)
    rng, seed = fresh_rng(seed)
    sentences = list(MARK_NEGATION_CASES) + [_random_sentence(rng) for _ in range(30)]
    order = rng.permutation(len(sentences))
    for index in order:
        sentence = sentences[index]
        answer = mark_negation(sentence)
        expect(isinstance(answer, str), f"mark_negation must return a string (the words joined by single "
               f"spaces), got {type(answer).__name__} for {sentence!r}", seed)
        expected = _reference_mark_negation(sentence)
        expect(answer == expected, f"mark_negation({sentence!r}) should be {expected!r}, got {answer!r}", seed)
