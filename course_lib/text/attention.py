"""Attention written out by hand: scaled dot-product attention, multi-head attention and sinusoidal
positional encodings (Vaswani et al., 2017).

Mask convention everywhere in this package: a boolean mask is ``True`` where attention is *allowed*
(the same as ``torch.nn.functional.scaled_dot_product_attention`` and as a tokenizer's
``attention_mask``, where 1 marks a real token and 0 padding).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_tensor(name: str, value, dims: int | None = None) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if dims is not None and value.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(value.shape)}")


def scaled_dot_product_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q Kᵀ / √d) V, with masked positions excluded from the softmax.

    Args:
        query: (..., Lq, d).
        key: (..., Lk, d).
        value: (..., Lk, dv).
        mask: boolean, broadcastable to (..., Lq, Lk); ``True`` = may attend. A query row with no
            allowed key has no defined output (NaN, as in PyTorch); padding masks always keep
            at least one real token, so this does not happen for them.

    Returns:
        ``(output, weights)``: output (..., Lq, dv) and attention weights (..., Lq, Lk), rows sum to 1.
    """
    for name, tensor in (("query", query), ("key", key), ("value", value)):
        _check_tensor(name, tensor)
        if tensor.dim() < 2:
            raise ValueError(f"{name} must have shape (..., length, dim), got {tuple(tensor.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"query and key need the same last dimension, got {query.shape[-1]} and {key.shape[-1]}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"key and value need the same length, got {key.shape[-2]} and {value.shape[-2]}")
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])  # (..., Lq, Lk)
    if mask is not None:
        _check_tensor("mask", mask)
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def padding_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """A tokenizer's (B, L) attention mask (1 = token, 0 = padding) as a (B, 1, 1, L) boolean mask
    that broadcasts over heads and query positions."""
    _check_tensor("attention_mask", attention_mask, dims=2)
    return attention_mask.bool()[:, None, None, :]


class MultiHeadAttention(nn.Module):
    """Multi-head attention: project to ``n_heads`` heads of size d_model / n_heads, attend in each,
    concatenate, project back.

    The four projections have the same layout as :class:`torch.nn.MultiheadAttention`'s, so
    :meth:`load_from_torch` can copy its weights for a comparison.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        for name, value in (("d_model", d_model), ("n_heads", n_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.d_model, self.n_heads, self.head_dim = d_model, n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, h, L, D/h)
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, key: torch.Tensor | None = None, value: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Self-attention when only ``query`` is given.

        Args:
            query: (B, Lq, d_model); key, value: (B, Lk, d_model) (default: ``query``).
            attention_mask: (B, Lk) with 1/True for real tokens and 0/False for padding.

        Returns:
            ``(output, weights)``: (B, Lq, d_model) and per-head weights (B, n_heads, Lq, Lk).
        """
        _check_tensor("query", query, dims=3)
        key = query if key is None else key
        value = key if value is None else value
        _check_tensor("key", key, dims=3)
        _check_tensor("value", value, dims=3)
        if query.shape[-1] != self.d_model:
            raise ValueError(f"expected inputs with last dimension {self.d_model}, got {query.shape[-1]}")
        mask = None
        if attention_mask is not None:
            if attention_mask.shape != key.shape[:2]:
                raise ValueError(f"attention_mask must have shape (batch, key length) = "
                                 f"{tuple(key.shape[:2])}, got {tuple(attention_mask.shape)}")
            mask = padding_mask(attention_mask)
        q, k, v = self._split(self.q_proj(query)), self._split(self.k_proj(key)), self._split(self.v_proj(value))
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        heads = self.dropout(heads)
        merged = heads.transpose(1, 2).reshape(query.shape[0], query.shape[1], self.d_model)
        return self.out_proj(merged), weights

    @torch.no_grad()
    def load_from_torch(self, reference: nn.MultiheadAttention) -> "MultiHeadAttention":
        """Copy the weights of a ``torch.nn.MultiheadAttention`` with the same sizes; returns self."""
        if not isinstance(reference, nn.MultiheadAttention):
            raise TypeError(f"reference must be an nn.MultiheadAttention, got {type(reference).__name__}")
        if reference.embed_dim != self.d_model or reference.num_heads != self.n_heads:
            raise ValueError("reference must have the same d_model and n_heads")
        if reference.in_proj_weight is None or reference.in_proj_bias is None:
            raise ValueError("reference must use a packed in-projection with bias (the default)")
        for i, proj in enumerate((self.q_proj, self.k_proj, self.v_proj)):
            rows = slice(i * self.d_model, (i + 1) * self.d_model)
            proj.weight.copy_(reference.in_proj_weight[rows])
            proj.bias.copy_(reference.in_proj_bias[rows])
        self.out_proj.weight.copy_(reference.out_proj.weight)
        self.out_proj.bias.copy_(reference.out_proj.bias)
        return self


def sinusoidal_positional_encoding(length: int, d_model: int) -> torch.Tensor:
    """The fixed positional encodings of Vaswani et al.: PE[p, 2i] = sin(p / 10000^(2i/d)),
    PE[p, 2i+1] = cos(p / 10000^(2i/d)). Returns a (length, d_model) float tensor."""
    for name, value in (("length", length), ("d_model", d_model)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(-math.log(10000.0) * torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)
    encoding = torch.zeros(length, d_model)
    encoding[:, 0::2] = torch.sin(position * frequency)
    encoding[:, 1::2] = torch.cos(position * frequency)
    return encoding
