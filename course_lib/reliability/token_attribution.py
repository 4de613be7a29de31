"""Which words did a transformer's sentiment prediction rest on? Two token attributions for a frozen
sentence encoder with a logistic head, and two tests of them.

The model (:class:`SentimentHead`): all-MiniLM-L6-v2, frozen, mean-pooled over the real tokens
(exactly :func:`course_lib.text.pretrained.embed`), then one linear layer copied from a fitted
scikit-learn ``LogisticRegression``. ``forward(input_ids (B, L), attention_mask (B, L)) -> (B,)`` is
the log-odds of the positive class, so ``sigmoid(head(...))`` equals ``lr.predict_proba(embed(...))[:, 1]``.

The attributions, each ``(B, L)`` with one score per WordPiece token (0 at padding):

* :func:`attention_rollout` (Abnar & Zuidema, "Quantifying attention flow in transformers", ACL
  2020): average the heads, add the residual path (``0.5 A + 0.5 I``), renormalise the rows and
  multiply the layers. Written by hand (captum has no rollout); :func:`rollout_attributions` runs
  it over a batch of sentences. Non-negative, class-blind: it says
  where information flowed from, not whether it pushed towards "positive" or "negative".
* :func:`layer_integrated_gradients` (Sundararajan et al., ICML 2017) on the word-embedding layer,
  through captum's ``LayerIntegratedGradients``; the baseline keeps ``[CLS]``/``[SEP]`` and puts
  ``[PAD]`` at every word. Signed; by default towards the predicted class.

The tests: :func:`token_rank_agreement` (do the two rank the words alike? Spearman over the words)
and :func:`token_deletion_curve` (delete the top-ranked words: does the prediction's probability
fall faster than when deleting random words, :func:`random_token_ranking`? Summarised by
:func:`curve_auc`).

Conventions: batches are right-padded (every row's real tokens come first, ``attention_mask`` 1,
then padding, 0), as :func:`encode_batch` and Hugging Face tokenizers make them. The first and the
last real token of every row are the special tokens ``[CLS]`` and ``[SEP]``; the other real tokens
are the *content* tokens (:func:`content_mask`) that are ranked, compared and deleted.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from course_lib.text.pretrained import mean_pool

DEFAULT_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Shares of a sentence's content tokens deleted by :func:`token_deletion_curve` by default."""


# ------------------------------------------------------------------------------------ checking inputs


def _as_tokens(value, name: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a (B, L) tensor or array of integers, got {type(value).__name__}")
    if value.dtype.is_floating_point or value.dtype.is_complex:
        raise TypeError(f"{name} must hold integers, got dtype {value.dtype}")
    if value.dim() != 2 or value.shape[0] == 0 or value.shape[1] == 0:
        raise ValueError(f"{name} must have shape (B, L) with B, L >= 1, got {tuple(value.shape)}")
    return value.long()


def _as_mask(attention_mask) -> torch.Tensor:
    """``attention_mask`` as an int64 (B, L) tensor of 0/1, right-padded, >= 1 real token per row."""
    mask = _as_tokens(attention_mask, "attention_mask")
    if not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("attention_mask must hold only 0 (padding) and 1 (real token)")
    if bool((mask[:, 1:] > mask[:, :-1]).any()):
        raise ValueError("attention_mask must be right-padded: each row 1 ... 1 then 0 ... 0")
    if bool((mask[:, 0] == 0).any()):
        raise ValueError("attention_mask has a row without real tokens")
    return mask


def _as_batch(input_ids, attention_mask) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` as int64 tensors (B, L), right-padded, >= 1 real token."""
    ids = _as_tokens(input_ids, "input_ids")
    mask = _as_mask(attention_mask)
    if ids.shape != mask.shape:
        raise ValueError(f"input_ids {tuple(ids.shape)} and attention_mask {tuple(mask.shape)} differ in shape")
    if bool((ids < 0).any()):
        raise ValueError("input_ids must be non-negative token ids")
    return ids, mask


def _as_scores(scores, shape: tuple[int, int], name: str) -> np.ndarray:
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().cpu().numpy()
    if scores is None or isinstance(scores, (str, bytes)) or not hasattr(scores, "__len__"):
        raise TypeError(f"{name} must be a (B, L) array of scores, got {type(scores).__name__}")
    array = np.asarray(scores, dtype=np.float64)
    if array.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} (as attention_mask), got {array.shape}")
    return array


def _check_choice(value, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def content_mask(attention_mask) -> np.ndarray:
    """Boolean (B, L): True at the real tokens other than the first ([CLS]) and the last ([SEP])."""
    mask = _as_mask(attention_mask)
    real = mask.numpy().astype(bool)
    content = real.copy()
    content[:, 0] = False
    content[np.arange(len(real)), real.sum(1) - 1] = False
    return content


def encode_batch(tokenizer, sentences: Sequence[str], *, max_length: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """WordPiece ``input_ids`` and ``attention_mask``, both int64 (B, L), right-padded to the longest
    sentence, each sentence cut to ``max_length`` tokens ([CLS] and [SEP] included)."""
    if isinstance(sentences, str) or not hasattr(sentences, "__len__"):
        raise TypeError("sentences must be a sequence of strings, not one string")
    if len(sentences) == 0:
        raise ValueError("sentences is empty")
    max_length = _check_count(max_length, "max_length", 3)
    batch = tokenizer(list(map(str, sentences)), truncation=True, max_length=max_length, padding=True,
                      return_tensors="pt")
    return batch["input_ids"].long(), batch["attention_mask"].long()


# ------------------------------------------------------------------------------------ the model


class SentimentHead(nn.Module):
    """A frozen BERT-style ``encoder`` + mean pooling + ``nn.Linear(hidden, 1)``.

    ``forward(input_ids (B, L), attention_mask (B, L)) -> (B,)`` logits (log-odds of the positive
    class). Every parameter is frozen and the module always stays in eval mode (no dropout): it is a
    fixed function to be explained, not trained. The encoder is shared with the caller, not copied
    (MiniLM is 90 MB); building the head freezes it in place.

    Attributes:
        pad_id, mask_id: the tokenizer's [PAD] and [MASK] ids (used by the attribution baseline and
            the deletion test).
    """

    def __init__(self, encoder: nn.Module, weight, bias, *, pad_id: int = 0, mask_id: int | None = None):
        super().__init__()
        if not isinstance(encoder, nn.Module) or not hasattr(encoder, "embeddings") or not hasattr(encoder, "config"):
            raise TypeError(f"encoder must be a BERT-style transformers model (with .embeddings and .config), "
                            f"got {type(encoder).__name__}")
        hidden = int(encoder.config.hidden_size)
        weight = np.asarray(weight, dtype=np.float64).reshape(-1)
        if weight.shape != (hidden,) or not np.all(np.isfinite(weight)):
            raise ValueError(f"weight must hold {hidden} finite numbers (the encoder's hidden size), "
                             f"got shape {weight.shape}")
        bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        if bias.shape != (1,) or not np.isfinite(bias[0]):
            raise ValueError(f"bias must be one finite number, got {bias!r}")
        self.pad_id = _check_count(pad_id, "pad_id", 0)
        self.mask_id = None if mask_id is None else _check_count(mask_id, "mask_id", 0)
        self.encoder = encoder
        self.linear = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(weight[None, :], dtype=self.linear.weight.dtype))
            self.linear.bias.copy_(torch.as_tensor(bias, dtype=self.linear.bias.dtype))
        self.requires_grad_(False)
        self.train(False)

    @classmethod
    def from_logistic_regression(cls, encoder, lr, *, tokenizer=None) -> "SentimentHead":
        """The head whose linear layer is ``lr.coef_[0]``, ``lr.intercept_[0]``: it predicts
        ``lr.classes_[1]`` with the probability ``lr.predict_proba(embeddings)[:, 1]``.

        Args:
            encoder: the frozen encoder that made ``lr``'s training embeddings (a transformers
                BertModel), or a :class:`course_lib.text.pretrained.PretrainedText` (its tokenizer
                then supplies the [PAD] and [MASK] ids).
            lr: a fitted binary ``sklearn.linear_model.LogisticRegression``.
            tokenizer: the encoder's tokenizer, for the [PAD]/[MASK] ids (default: the
                encoder's ``config.pad_token_id`` and no [MASK] id).
        """
        from sklearn.linear_model import LogisticRegression

        if hasattr(encoder, "model") and hasattr(encoder, "tokenizer"):  # a PretrainedText
            tokenizer = encoder.tokenizer if tokenizer is None else tokenizer
            encoder = encoder.model
        if not isinstance(lr, LogisticRegression):
            raise TypeError(f"lr must be a fitted sklearn LogisticRegression, got {type(lr).__name__}")
        if not hasattr(lr, "coef_"):
            raise ValueError("lr is not fitted: call lr.fit(embeddings, labels) first")
        if lr.coef_.shape[0] != 1 or len(lr.classes_) != 2:
            raise ValueError(f"lr must be a binary classifier, got {len(lr.classes_)} classes")
        if tokenizer is not None:
            pad_id, mask_id = tokenizer.pad_token_id, tokenizer.mask_token_id
        else:
            pad_id, mask_id = getattr(getattr(encoder, "config", None), "pad_token_id", 0) or 0, None
        return cls(encoder, lr.coef_[0], lr.intercept_, pad_id=pad_id, mask_id=mask_id)

    def train(self, mode: bool = True) -> "SentimentHead":  # noqa: ARG002 - always eval, see the class docstring
        return super().train(False)

    @property
    def word_embeddings(self) -> nn.Module:
        """The word (token-id) embedding table, the layer :func:`layer_integrated_gradients` explains."""
        return self.encoder.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        return self.linear(pooled)[:, 0]

    @torch.no_grad()
    def predict_proba(self, input_ids, attention_mask, *, batch_size: int = 64) -> np.ndarray:
        """P(positive class), float64 (B,), in batches of ``batch_size`` sentences."""
        ids, mask = _as_batch(input_ids, attention_mask)
        logits = _logits(self, ids, mask, _check_count(batch_size, "batch_size"))
        return 1.0 / (1.0 + np.exp(-logits))

    @torch.no_grad()
    def attentions(self, input_ids, attention_mask) -> tuple[torch.Tensor, ...]:
        """The encoder's attention weights, one (B, heads, L, L) tensor per layer. Needs the eager
        attention implementation (``load_pretrained(attn_implementation="eager")``); another
        implementation is switched to eager for this call and back."""
        ids, mask = _as_batch(input_ids, attention_mask)
        config = self.encoder.config
        previous = getattr(config, "_attn_implementation", None)
        switch = previous != "eager" and hasattr(self.encoder, "set_attn_implementation")
        if switch:
            self.encoder.set_attn_implementation("eager")
        try:
            output = self.encoder(input_ids=ids, attention_mask=mask, output_attentions=True)
        finally:
            if switch:
                self.encoder.set_attn_implementation(previous)
        if output.attentions is None or any(a is None for a in output.attentions):
            raise RuntimeError("the encoder returned no attention weights; load it with attn_implementation='eager'")
        return tuple(a.detach() for a in output.attentions)


def _trim(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    width = int(mask.sum(1).max())
    return ids[:, :width], mask[:, :width]


def _length_batches(mask: torch.Tensor, batch_size: int) -> list[np.ndarray]:
    """Row indices grouped by length (shortest first), ``batch_size`` rows each: less padding."""
    order = np.argsort(mask.sum(1).numpy(), kind="stable")
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@torch.no_grad()
def _logits(head: nn.Module, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    out = np.empty(len(ids), dtype=np.float64)
    for rows in _length_batches(mask, batch_size):
        part_ids, part_mask = _trim(ids[rows], mask[rows])
        logits = head(part_ids, part_mask)
        if logits.shape != (len(rows),):
            raise ValueError(f"head must return (B,) logits, got shape {tuple(logits.shape)}")
        out[rows] = logits.double().numpy()
    return out


# ------------------------------------------------------------------------------------ attention rollout


def attention_rollout(attentions: Sequence, attention_mask, *, add_residual: bool = True,
                      read: str = "mean") -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): how much each input token flows into the output.

    Per layer ``l``: ``A_l`` = the attention weights averaged over heads, (B, L, L), rows = queries
    (the token being updated), columns = keys (the tokens it reads). Padding columns are zeroed and
    every row is renormalised to sum to 1 (BERT's softmax already gives padding ~0 weight). With
    ``add_residual``: ``A_l <- 0.5 A_l + 0.5 I`` (the skip connection carries a token's own state
    forward as much as attention does), renormalised as in the paper (a no-op here). The
    rolled-out matrix is ``R = A_n ... A_2 A_1``: ``R[i, j]`` is the share of input token ``j`` in
    the top-layer state of token ``i``.

    Which row to read: BERT classifiers read the [CLS] row (``read="cls"``). This model mean-pools
    the top-layer states of the real tokens, so the pooled vector mixes the rows of every real token
    equally: ``read="mean"`` (the default) returns the mean of ``R``'s real-token rows,
    ``relevance_j = mean_i R[i, j]``.

    Args:
        attentions: one (B, heads, L, L) tensor or array per layer, lowest layer first (as
            :meth:`SentimentHead.attentions` or ``output_attentions=True`` return them).
        attention_mask: (B, L), 1 = real token, 0 = padding (right-padded).
        add_residual: add the identity for the skip connection (the paper's rollout); False gives
            the raw product of attention matrices.
        read: ``"mean"`` or ``"cls"``, see above.

    Returns:
        float64 (B, L), non-negative, 0 at padding; each row sums to 1 over the real tokens
        (``[CLS]`` and ``[SEP]`` included; drop them with :func:`content_mask` before ranking).
    """
    if not isinstance(add_residual, bool):
        raise TypeError(f"add_residual must be True or False, got {type(add_residual).__name__}")
    _check_choice(read, "read", ("mean", "cls"))
    if isinstance(attentions, (torch.Tensor, np.ndarray)) or not isinstance(attentions, Sequence) or not attentions:
        raise TypeError("attentions must be a non-empty tuple or list of (B, heads, L, L) tensors, one per layer")
    mask = _as_mask(attention_mask)
    batch, length = mask.shape
    real = mask.to(torch.float64)                                            # (B, L)
    eye = torch.eye(length, dtype=torch.float64).expand(batch, length, length)
    rollout = eye.clone()
    for index, layer in enumerate(attentions):
        weights = torch.as_tensor(np.asarray(layer) if not isinstance(layer, torch.Tensor) else layer.detach())
        weights = weights.to(torch.float64)
        if weights.dim() != 4 or weights.shape[0] != batch or weights.shape[2:] != (length, length):
            raise ValueError(f"attentions[{index}] must have shape ({batch}, heads, {length}, {length}) "
                             f"to match attention_mask, got {tuple(weights.shape)}")
        if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
            raise ValueError(f"attentions[{index}] must hold finite, non-negative weights")
        matrix = weights.mean(1) * real[:, None, :]                          # heads averaged, padding keys zeroed
        # padding query rows: the identity (never read, since real rows give padding no weight)
        matrix = torch.where(real[:, :, None] > 0, matrix, eye)
        sums = matrix.sum(-1, keepdim=True)
        if bool((sums <= 0).any()):
            raise ValueError(f"attentions[{index}] has a real token that attends to nothing (a row of zeros)")
        matrix = matrix / sums                                               # rows: distributions over real keys
        if add_residual:
            matrix = 0.5 * matrix + 0.5 * eye
            matrix = matrix / matrix.sum(-1, keepdim=True)                   # (already 1; as in the paper)
        rollout = matrix @ rollout
    if read == "cls":
        relevance = rollout[:, 0, :]
    else:
        relevance = (real[:, :, None] * rollout).sum(1) / real.sum(1, keepdim=True)
    return (relevance * real).numpy()


def rollout_attributions(head: SentimentHead, input_ids, attention_mask, *, batch_size: int = 32,
                         add_residual: bool = True, read: str = "mean") -> np.ndarray:
    """:func:`attention_rollout` of ``head``'s encoder for a whole batch: sentences of similar length
    go through the encoder together (``batch_size`` at a time, padding trimmed), so the attention
    tensors of only one group are held at a time. Returns float64 (B, L) as :func:`attention_rollout`."""
    if not isinstance(head, SentimentHead):
        raise TypeError(f"head must be a SentimentHead, got {type(head).__name__}")
    ids, mask = _as_batch(input_ids, attention_mask)
    batch_size = _check_count(batch_size, "batch_size")
    scores = np.zeros(ids.shape, dtype=np.float64)
    for rows in _length_batches(mask, batch_size):
        part_ids, part_mask = _trim(ids[rows], mask[rows])
        scores[rows, :part_ids.shape[1]] = attention_rollout(head.attentions(part_ids, part_mask), part_mask,
                                                             add_residual=add_residual, read=read)
    return scores


# ------------------------------------------------------------------------------------ integrated gradients


def _baseline_ids(ids: torch.Tensor, mask: torch.Tensor, token_id: int) -> torch.Tensor:
    content = torch.from_numpy(content_mask(mask))
    return torch.where(content, torch.full_like(ids, token_id), ids)


def layer_integrated_gradients(head: nn.Module, input_ids, attention_mask, *, steps: int = 32,
                               baseline: str = "pad", toward: str = "predicted", batch_size: int = 8,
                               max_tokens: int = 1024, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Integrated gradients of the head's logit with respect to the word embeddings, one score per
    token (captum's ``LayerIntegratedGradients`` on ``head.word_embeddings``, summed over the hidden
    dimension).

    The baseline sentence keeps ``[CLS]``, ``[SEP]`` and the padding and puts ``[PAD]`` (or
    ``[MASK]`` with ``baseline="mask"``) at every content token; position embeddings and the
    attention mask are the input's. Only the word embeddings are interpolated, so ``[CLS]``,
    ``[SEP]`` and padding get exactly 0.

    Completeness: the scores of a sentence sum to ``f(x) - f(baseline)`` (logits) up to the
    integral's numerical error, which is returned as ``delta`` (captum's convergence delta,
    ``sum(scores) - (f(x) - f(baseline))``). |delta| shrinks as ``steps`` grows; report it.

    Args:
        head: a module with ``forward(input_ids, attention_mask) -> (B,)`` logits, a
            ``word_embeddings`` layer and ``pad_id``/``mask_id`` (a :class:`SentimentHead`).
        input_ids, attention_mask: (B, L), right-padded.
        steps: points of the path integral (captum's ``n_steps``).
        baseline: ``"pad"`` or ``"mask"``.
        toward: ``"predicted"`` (default): scores for the logit of the class the head predicts, so a
            positive score always means "evidence for the prediction" (negated where the logit is
            < 0); ``"positive"``: for the positive class's logit.
        batch_size: sentences per captum call (sentences of similar length are grouped).
        max_tokens: at most this many token positions (rows x padded length) go through one
            forward-backward pass (captum's ``internal_batch_size``). This bounds the memory:
            measured peak growth with MiniLM +320 MiB at 1,024 and +530 MiB at 2,048 (60 SST-2 dev
            sentences) and +1,030 MiB at 6,144, with no speed gain from larger chunks on CPU.
        method: captum's integration rule (``"gausslegendre"`` or ``"riemann_trapezoid"``, ...).

    Returns:
        ``(scores, delta)``: float64 (B, L), 0 at special tokens and padding, and float64 (B,),
        with the same sign convention (``toward``).
    """
    from captum.attr import LayerIntegratedGradients

    if not isinstance(head, nn.Module) or not isinstance(getattr(head, "word_embeddings", None), nn.Module):
        raise TypeError("head must be an nn.Module with a word_embeddings layer (e.g. a SentimentHead)")
    ids, mask = _as_batch(input_ids, attention_mask)
    steps = _check_count(steps, "steps", 2)
    batch_size = _check_count(batch_size, "batch_size")
    max_tokens = _check_count(max_tokens, "max_tokens")
    _check_choice(baseline, "baseline", ("pad", "mask"))
    _check_choice(toward, "toward", ("predicted", "positive"))
    token_id = getattr(head, "pad_id" if baseline == "pad" else "mask_id", None)
    if token_id is None:
        raise ValueError(f"baseline={baseline!r} needs head.{baseline}_id; build the head with the tokenizer")
    baseline_ids = _baseline_ids(ids, mask, int(token_id))
    explainer = LayerIntegratedGradients(lambda i, m: head(i, m), head.word_embeddings, multiply_by_inputs=True)
    scores = np.zeros(ids.shape, dtype=np.float64)
    delta = np.empty(len(ids), dtype=np.float64)
    for rows in _length_batches(mask, batch_size):
        part_ids, part_mask = _trim(ids[rows], mask[rows])
        part_base = baseline_ids[rows][:, :part_ids.shape[1]]
        with torch.enable_grad():
            attributions, part_delta = explainer.attribute(
                part_ids, baselines=part_base, additional_forward_args=(part_mask,), n_steps=steps,
                method=method, internal_batch_size=max(1, min(len(rows) * steps, max_tokens // part_ids.shape[1])),
                return_convergence_delta=True)
        scores[rows, :part_ids.shape[1]] = attributions.sum(-1).detach().double().numpy()
        delta[rows] = part_delta.detach().double().numpy()
    if toward == "predicted":
        sign = np.where(_logits(head, ids, mask) >= 0, 1.0, -1.0)
        scores, delta = scores * sign[:, None], delta * sign
    return scores * mask.numpy(), delta


# ------------------------------------------------------------------------------------ agreement


def token_rank_agreement(a, b, attention_mask, *, min_tokens: int = 3) -> np.ndarray:
    """Spearman rank correlation of two attributions per sentence, over its content tokens (real
    tokens other than [CLS] and [SEP]).

    Sentences with fewer than ``min_tokens`` content tokens (two points always correlate +-1) or
    with a constant score vector (rank correlation undefined) get NaN: count them with
    ``np.isnan(rho).sum()`` or :func:`summarise_agreement`, which also skips them.

    Returns:
        float64 (B,) in [-1, 1] or NaN.
    """
    mask = _as_mask(attention_mask)
    first = _as_scores(a, tuple(mask.shape), "a")
    second = _as_scores(b, tuple(mask.shape), "b")
    min_tokens = _check_count(min_tokens, "min_tokens", 3)
    content = content_mask(mask)
    rho = np.full(len(content), np.nan)
    for row, keep in enumerate(content):
        x, y = first[row, keep], second[row, keep]
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError(f"a and b must be finite at the content tokens (row {row} is not)")
        if keep.sum() < min_tokens or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        rho[row] = spearmanr(x, y).statistic
    return rho


def summarise_agreement(rho) -> dict[str, float]:
    """Mean, standard deviation, median and quartiles of per-sentence correlations, skipping NaN;
    ``n`` (used) and ``skipped`` (NaN) counts."""
    values = np.asarray(rho, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("rho is empty")
    used = values[np.isfinite(values)]
    stats = {"n": int(used.size), "skipped": int(values.size - used.size)}
    if used.size == 0:
        return {**stats, **dict.fromkeys(("mean", "std", "median", "q25", "q75"), math.nan)}
    q25, median, q75 = np.percentile(used, [25, 50, 75])
    return {**stats, "mean": float(used.mean()), "std": float(used.std(ddof=1)) if used.size > 1 else math.nan,
            "median": float(median), "q25": float(q25), "q75": float(q75)}


# ------------------------------------------------------------------------------------ deletion


def random_token_ranking(attention_mask, *, seed: int = 0) -> np.ndarray:
    """The random-ranking control for :func:`token_deletion_curve`: float64 (B, L) scores, uniform
    in (0, 1] at the content tokens and 0 elsewhere. Same seed, same scores."""
    content = content_mask(attention_mask)
    rng = np.random.default_rng(_check_count(seed, "seed", 0))
    return np.where(content, 1.0 - rng.random(content.shape), 0.0)


def _deleted(ids_row: np.ndarray, keep: np.ndarray, drop: np.ndarray, replace_with: str,
             token_id: int | None) -> list[int]:
    if replace_with == "remove":
        return [int(t) for t, gone in zip(ids_row[keep], drop[keep]) if not gone]
    out = ids_row[keep].copy()
    out[drop[keep]] = token_id
    return out.tolist()


def token_deletion_curve(head: nn.Module, input_ids, attention_mask, scores, *,
                         fractions: Sequence[float] = DEFAULT_FRACTIONS, replace_with: str = "mask",
                         batch_size: int = 64) -> np.ndarray:
    """Delete each sentence's highest-scoring content tokens and track the probability of the class
    the head predicted on the full sentence (Petsiuk et al. 2018's deletion test, for tokens).

    For a fraction ``f``, the ``k = floor(f * n + 0.5)`` top-scoring of the ``n`` content tokens are
    deleted (ties: the earlier token first); [CLS] and [SEP] always stay. A faithful ranking makes
    the probability fall fast: a low :func:`curve_auc`, below the random control
    (:func:`random_token_ranking`). Signed scores must point towards the predicted class (use
    :func:`layer_integrated_gradients` with ``toward="predicted"``).

    Args:
        head: ``forward(input_ids, attention_mask) -> (B,)`` logits (a :class:`SentimentHead`).
        scores: (B, L), higher = deleted earlier; only content positions are read.
        fractions: increasing shares in [0, 1].
        replace_with: ``"mask"`` (the [MASK] token, ``head.mask_id``), ``"pad"`` ([PAD] kept as
            a real token, ``head.pad_id``: the integrated-gradients baseline) or ``"remove"``
            (the sentence gets shorter).
        batch_size: sentences per forward pass.

    Returns:
        float64 (B, len(fractions)): P(originally predicted class) after each deletion step.
    """
    ids, mask = _as_batch(input_ids, attention_mask)
    values = _as_scores(scores, tuple(ids.shape), "scores")
    content = content_mask(mask)
    if not np.all(np.isfinite(values[content])):
        raise ValueError("scores must be finite at the content tokens")
    if isinstance(fractions, (str, bytes)) or not hasattr(fractions, "__len__") or len(fractions) == 0:
        raise TypeError("fractions must be a non-empty sequence of numbers in [0, 1]")
    shares = np.asarray(fractions, dtype=np.float64)
    if shares.ndim != 1 or not np.all(np.isfinite(shares)) or shares.min() < 0 or shares.max() > 1 \
            or np.any(np.diff(shares) <= 0):
        raise ValueError(f"fractions must be strictly increasing numbers in [0, 1], got {list(fractions)}")
    _check_choice(replace_with, "replace_with", ("mask", "pad", "remove"))
    batch_size = _check_count(batch_size, "batch_size")
    token_id = None
    if replace_with != "remove":
        token_id = getattr(head, f"{replace_with}_id", None)
        if token_id is None:
            raise ValueError(f"replace_with={replace_with!r} needs head.{replace_with}_id; "
                             "build the head with the tokenizer")
    original = _logits(head, ids, mask, batch_size)
    predicted_positive = original >= 0
    ids_np, real = ids.numpy(), mask.numpy().astype(bool)
    logits = np.repeat(original[:, None], len(shares), axis=1)   # k = 0: the sentence itself
    rows, places = [], []
    for row in range(len(ids_np)):
        positions = np.flatnonzero(content[row])
        order = positions[np.argsort(-values[row, positions], kind="stable")]
        for column, share in enumerate(shares):
            k = int(math.floor(share * len(positions) + 0.5))
            if k == 0:
                continue
            drop = np.zeros(ids_np.shape[1], dtype=bool)
            drop[order[:k]] = True
            rows.append(_deleted(ids_np[row], real[row], drop, replace_with, token_id))
            places.append((row, column))
    if rows:
        width = max(len(r) for r in rows)
        variant_ids = torch.full((len(rows), width), int(getattr(head, "pad_id", 0) or 0), dtype=torch.long)
        variant_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for index, r in enumerate(rows):
            variant_ids[index, :len(r)] = torch.tensor(r, dtype=torch.long)
            variant_mask[index, :len(r)] = 1
        where = tuple(np.array(places).T)
        logits[where] = _logits(head, variant_ids, variant_mask, batch_size)
    positive = 1.0 / (1.0 + np.exp(-logits))
    return np.where(predicted_positive[:, None], positive, 1.0 - positive)


def curve_auc(fractions: Sequence[float], probs) -> np.ndarray:
    """Normalised area under deletion curves: the trapezoid integral over ``fractions`` divided by
    their span, i.e. the curve's average height (in [0, 1] for probabilities). (B,) for (B, F)
    ``probs``; a float-valued (1,) array for one (F,) curve. Lower = faster fall = more faithful."""
    x = np.asarray(fractions, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)) or np.any(np.diff(x) <= 0):
        raise ValueError("fractions must be at least two strictly increasing finite numbers")
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().numpy()
    y = np.atleast_2d(np.asarray(probs, dtype=np.float64))
    if y.ndim != 2 or y.shape[1] != x.size:
        raise ValueError(f"probs must have shape (B, {x.size}) to match fractions, got {np.shape(probs)}")
    if not np.all(np.isfinite(y)):
        raise ValueError("probs holds NaN or infinity")
    return np.trapezoid(y, x, axis=1) / (x[-1] - x[0])


# ------------------------------------------------------------------------------------ plotting


def plot_token_heatmap(tokens: Sequence[str], scores_by_method: Mapping[str, Sequence[float]],
                       ax: plt.Axes | None = None, title: str | None = None,
                       exclude: Sequence[str] = ("[CLS]", "[SEP]", "[PAD]")) -> plt.Axes:
    """One sentence, one row per method, one cell per token, coloured by its score.

    Tokens listed in ``exclude`` (by default the special tokens, which rollout gives most of its mass
    and integrated gradients exactly 0) are left out before scaling. Each row is then divided by its
    largest |score|, so methods on different scales share one colour scale: red = evidence for
    (positive score), blue = against, white = none; the top cell of each row reads "max". A
    non-negative method (rollout) has red cells only.

    Args:
        tokens: the sentence's tokens (e.g. ``tokenizer.convert_ids_to_tokens``, padding removed).
        scores_by_method: method name -> (len(tokens),) scores.
        exclude: token strings not to draw.
    """
    if isinstance(tokens, str) or not hasattr(tokens, "__len__") or len(tokens) == 0:
        raise TypeError("tokens must be a non-empty sequence of token strings")
    if not isinstance(scores_by_method, Mapping) or not scores_by_method:
        raise TypeError("scores_by_method must be a non-empty dict of method name -> scores")
    if isinstance(exclude, str):
        raise TypeError("exclude must be a sequence of token strings, not one string")
    keep = np.array([str(t) not in set(exclude) for t in tokens])
    if not keep.any():
        raise ValueError("every token is in exclude: nothing to draw")
    rows = []
    for name, values in scores_by_method.items():
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().numpy()
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        if array.shape != (len(tokens),):
            raise ValueError(f"scores_by_method[{name!r}] must hold {len(tokens)} scores (one per token), "
                             f"got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"scores_by_method[{name!r}] holds NaN or infinity")
        array = array[keep]
        peak = np.abs(array).max()
        rows.append(array / peak if peak > 0 else array)
    shown = [str(t) for t, k in zip(tokens, keep) if k]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(shown) + 1.5), 0.55 * len(rows) + 1.4),
                             layout="constrained")
    elif not isinstance(ax, plt.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    matrix = np.vstack(rows)
    ax.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    for (r, c), value in np.ndenumerate(matrix):
        if abs(value) >= 0.995:
            ax.text(c, r, "max", ha="center", va="center", fontsize=7, color="white")
    ax.set_xticks(range(len(shown)), shown, rotation=60, ha="right", fontsize=9)
    ax.set_yticks(range(len(rows)), list(scores_by_method))
    ax.grid(False)
    ax.set_title(title or "Token attributions (each row scaled to its largest |score|)")
    return ax
