"""The classical baseline: TF-IDF of words and word bigrams + logistic regression."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline


def tfidf_logreg(C: float = 4.0, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1,
                 seed: int = 0) -> Pipeline:
    """An unfitted pipeline: TF-IDF (sublinear tf; SST-2 is already tokenized, so tokens are split
    on whitespace and punctuation and "n't" are kept) -> L2-regularised logistic regression with
    inverse strength ``C``."""
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    vectorizer = TfidfVectorizer(ngram_range=ngram_range, min_df=min_df, sublinear_tf=True,
                                 token_pattern=r"\S+", lowercase=True)
    # liblinear: fast on sparse, high-dimensional text features, and deterministic
    classifier = LogisticRegression(C=C, solver="liblinear", max_iter=2000, random_state=seed)
    return Pipeline([("tfidf", vectorizer), ("logreg", classifier)])


def top_ngrams(pipeline: Pipeline, k: int = 15) -> pd.DataFrame:
    """The ``k`` n-grams with the most positive and the ``k`` with the most negative weights of a
    fitted :func:`tfidf_logreg` pipeline: a DataFrame with columns ``ngram`` and ``weight``."""
    if not isinstance(pipeline, Pipeline) or "tfidf" not in pipeline.named_steps:
        raise TypeError("pipeline must be a fitted tfidf_logreg() pipeline")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    names = pipeline.named_steps["tfidf"].get_feature_names_out()
    weights = pipeline.named_steps["logreg"].coef_[0]
    order = np.argsort(weights)
    picked = np.concatenate([order[::-1][:k], order[:k]])
    return pd.DataFrame({"ngram": names[picked], "weight": weights[picked]})


def predict_positive(pipeline: Pipeline, sentences: Sequence[str]) -> np.ndarray:
    """Probability of the positive class for each sentence, shape (N,)."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of strings, not one string")
    return pipeline.predict_proba(list(sentences))[:, 1]
