"""A small transformer encoder classifier trained from scratch, built from the hand-written
:class:`~course_lib.text.attention.MultiHeadAttention`.

Word embeddings (scaled by √d) + sinusoidal positions -> ``n_layers`` pre-norm encoder blocks
(self-attention and a feed-forward network, each with a residual connection) -> mean pooling over
real tokens -> a linear layer giving two logits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from course_lib.text.attention import MultiHeadAttention, sinusoidal_positional_encoding


class EncoderBlock(nn.Module):
    """x + MHA(LN(x)), then x + FFN(LN(x)); input and output (B, L, d_model)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attention = MultiHeadAttention(d_model, n_heads, dropout=dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.feed_forward = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout),
                                          nn.Linear(d_ff, d_model))
        self.dropout = nn.Dropout(dropout)
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
        attended, weights = self.attention(self.norm1(x), attention_mask=attention_mask)
        self.last_attention = weights.detach()  # (B, heads, L, L), for plots
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class TransformerClassifier(nn.Module):
    """(B, L) token ids and (B, L) attention mask -> (B, n_classes) logits.

    Args:
        vocab_size: number of token ids (id ``pad_id`` is padding).
        d_model, n_heads, n_layers, d_ff: sizes of the encoder.
        max_length: longest input the positional table covers.
    """

    def __init__(self, vocab_size: int, d_model: int = 64, n_heads: int = 4, n_layers: int = 2,
                 d_ff: int = 128, max_length: int = 128, n_classes: int = 2, dropout: float = 0.1,
                 pad_id: int = 0):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("n_layers", n_layers), ("d_ff", d_ff),
                            ("max_length", max_length), ("n_classes", n_classes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.d_model, self.max_length = d_model, max_length
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        self.register_buffer("positions", sinusoidal_positional_encoding(max_length, d_model), persistent=False)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must have shape (batch, length), got {tuple(input_ids.shape)}")
        length = input_ids.shape[1]
        if length > self.max_length:
            raise ValueError(f"input of length {length} is longer than max_length={self.max_length}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        x = self.embedding(input_ids) * math.sqrt(self.d_model) + self.positions[:length]
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x, attention_mask)
        x = self.norm(x)
        weights = attention_mask.to(x.dtype).unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled))
