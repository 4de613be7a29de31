"""SST-2 sentences: loading, a validation split carved from TRAIN, picking sentence-like training
examples, a whitespace word vocabulary, and length-bucketed batches with dynamic padding.

The GLUE dev set (872 full sentences) is the evaluation split; GLUE's test labels are hidden. Every
choice (hyper-parameters, thresholds, which model) is made on the validation split carved from the
training set, never on dev.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from course_lib.data import LoadedDataset, load_dataset
from course_lib.holdout import SealedSplit

PAD, UNK = "<pad>", "<unk>"


def load_sst2(*, allow_fallback: bool = True,
              **load_kwargs) -> tuple[LoadedDataset, tuple[pd.DataFrame, SealedSplit]]:
    """SST-2 through :func:`course_lib.data.load_dataset` (``load_kwargs`` are passed on), with its
    dev set sealed at once: ``(loaded, (train, dev))``.

    ``train`` is a DataFrame with columns ``sentence`` (str) and ``label`` (int, 0 negative /
    1 positive); ``dev`` is a :class:`course_lib.holdout.SealedSplit` whose ``open(model, seed=...)``
    returns ``(sentences list, labels int64 (N,))``. The dev rows are taken out of ``loaded.data``,
    so the sealed split is the only thing that holds them. With ``allow_fallback`` a small, loudly
    labelled synthetic stand-in is returned when no real copy is reachable.
    """
    loaded = load_dataset("sst2", allow_fallback=allow_fallback, **load_kwargs)
    dev_frame = loaded.data.pop("dev")
    dev = SealedSplit(dev_frame["sentence"].tolist(), dev_frame["label"].to_numpy(), name="dev")
    return loaded, (loaded.data["train"], dev)


def _check_frame(frame, name: str = "frame") -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = {"sentence", "label"} - set(frame.columns)
    if missing:
        raise ValueError(f"{name} needs columns 'sentence' and 'label'; missing {sorted(missing)}")


def word_counts(sentences: Iterable[str]) -> np.ndarray:
    """Number of whitespace-separated words of each sentence, shape (N,)."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of strings, not one string")
    return np.array([len(str(s).split()) for s in sentences], dtype=np.int64)


def _spans(sentence: str) -> Iterable[str]:
    words = sentence.split()
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            yield " ".join(words[i:j])


def overlapping_rows(phrases: Iterable[str], sentences: Iterable[str]) -> np.ndarray:
    """Boolean mask over ``phrases``: True where the phrase (whitespace-normalised) is a contiguous
    word span of one of ``sentences``. SST-2's training set holds phrases cut from its sentences,
    so a held-out sentence usually has fragments left in training."""
    spans = {span for s in sentences for span in _spans(str(s))}
    return np.array([" ".join(str(p).split()) in spans for p in phrases], dtype=bool)


def sentence_roots(sentences: Sequence[str], min_words: int = 0) -> np.ndarray:
    """Boolean mask: True for rows with at least ``min_words`` words that are not a word span of a
    longer row. In SST-2 these are (nearly) the full review sentences; every other row is one of
    their fragments, so a subset of roots holds many more distinct sentences than a random subset."""
    if isinstance(sentences, str):
        raise TypeError("sentences must be a sequence of strings, not one string")
    normalised = [" ".join(str(s).split()) for s in sentences]
    counts = np.array([len(s.split()) for s in normalised])
    roots = np.zeros(len(normalised), dtype=bool)
    covered: set[int] = set()  # hashes of every span of a root found so far
    for index in np.argsort(-counts, kind="stable"):
        if counts[index] < min_words:
            break
        if hash(normalised[index]) in covered:
            continue
        roots[index] = True
        covered.update(hash(span) for span in _spans(normalised[index]))
    return roots


def train_validation_split(
    train: pd.DataFrame, val_size: int, *, seed: int = 0, min_words: int = 0, drop_overlap: bool = True,
    roots_only: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``val_size`` rows of ``train`` (stratified by label) as the validation split.

    With ``min_words > 0`` the validation rows are drawn from rows with at least that many words
    (so that validation resembles dev's full sentences); with ``roots_only`` only from
    :func:`sentence_roots`, i.e. whole sentences rather than long fragments. With ``drop_overlap`` every remaining
    training phrase that is a fragment of a validation sentence is removed too (see
    :func:`overlapping_rows`); otherwise the model would have seen pieces of the validation
    sentences, labelled, and validation scores would flatter it.

    Returns ``(train_rest, validation)``, both with a fresh 0..n-1 index.
    """
    _check_frame(train, "train")
    if isinstance(val_size, bool) or not isinstance(val_size, int) or val_size < 2:
        raise ValueError(f"val_size must be an int >= 2, got {val_size!r}")
    eligible = np.flatnonzero(sentence_roots(train["sentence"], min_words) if roots_only
                              else word_counts(train["sentence"]) >= min_words)
    if val_size >= len(eligible):
        raise ValueError(f"val_size={val_size} but only {len(eligible)} rows have >= {min_words} words")
    rng = np.random.default_rng(seed)
    labels = train["label"].to_numpy()[eligible]
    chosen = []
    for label in np.unique(labels):
        pool = eligible[labels == label]
        take = int(round(val_size * len(pool) / len(eligible)))
        chosen.append(rng.choice(pool, size=min(take, len(pool)), replace=False))
    val_index = np.sort(np.concatenate(chosen))
    rest = np.setdiff1d(np.arange(len(train)), val_index)
    if drop_overlap:
        rest = rest[~overlapping_rows(train["sentence"].to_numpy()[rest], train["sentence"].to_numpy()[val_index])]
    return train.iloc[rest].reset_index(drop=True), train.iloc[val_index].reset_index(drop=True)


def select_training_sentences(
    frame: pd.DataFrame, n: int, *, min_words: int = 0, seed: int = 0, roots_only: bool = False,
) -> pd.DataFrame:
    """A random subset of ``n`` rows, drawn first from rows with at least ``min_words`` words (SST-2's
    training set is mostly short phrase fragments, while dev holds full sentences); when there are
    too few long rows, shorter ones fill up the rest. With ``roots_only`` the preferred rows are
    the :func:`sentence_roots` (whole sentences, not fragments of each other). Returns a DataFrame
    with a fresh index."""
    _check_frame(frame)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    long_rows = np.flatnonzero(sentence_roots(frame["sentence"], min_words) if roots_only
                               else word_counts(frame["sentence"]) >= min_words)
    short_rows = np.setdiff1d(np.arange(len(frame)), long_rows)
    picked = rng.permutation(long_rows)[:n]
    if len(picked) < n:
        picked = np.concatenate([picked, rng.permutation(short_rows)[: n - len(picked)]])
    return frame.iloc[np.sort(picked)].reset_index(drop=True)


_TOKEN = re.compile(r"\S+")


def whitespace_tokenize(sentence: str) -> list[str]:
    """Lower-cased whitespace tokens (SST-2 is already tokenized: "it 's", "n't", "," are separate)."""
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    return _TOKEN.findall(sentence.lower())


class WordVocabulary:
    """Word -> id for the from-scratch encoder: id 0 is padding, id 1 unknown words.

    Built from training sentences only; words seen fewer than ``min_count`` times map to ``<unk>``.
    """

    def __init__(self, sentences: Sequence[str], min_count: int = 2, max_size: int | None = None):
        if isinstance(sentences, str):
            raise TypeError("sentences must be a sequence of strings, not one string")
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, got {min_count!r}")
        counts = Counter(word for s in sentences for word in whitespace_tokenize(s))
        words = [w for w, c in counts.most_common(max_size) if c >= min_count]
        self.itos = [PAD, UNK, *words]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, sentences: Sequence[str], max_length: int | None = None) -> list[list[int]]:
        """Token ids per sentence (lists of different lengths, cut to ``max_length``)."""
        if isinstance(sentences, str):
            raise TypeError("sentences must be a sequence of strings, not one string")
        unk = self.stoi[UNK]
        ids = [[self.stoi.get(w, unk) for w in whitespace_tokenize(s)] or [unk] for s in sentences]
        return [row[:max_length] for row in ids] if max_length else ids


class TokenDataset(Dataset):
    """Pre-tokenized sentences (lists of ids of varying length) with their labels."""

    def __init__(self, token_ids: Sequence[Sequence[int]], labels: Sequence[int]):
        if len(token_ids) != len(labels):
            raise ValueError(f"got {len(token_ids)} token lists but {len(labels)} labels")
        if any(len(ids) == 0 for ids in token_ids):
            raise ValueError("every sentence needs at least one token")
        self.token_ids = [list(map(int, ids)) for ids in token_ids]
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.token_ids)

    def __getitem__(self, index: int) -> tuple[list[int], int]:
        return self.token_ids[index], int(self.labels[index])


class BucketBatchSampler(Sampler):
    """Batches of similar length: shuffle, cut into pools of ``pool_batches`` batches, sort each pool
    by length, cut into batches, shuffle the batch order. Padding shrinks to a few tokens per
    batch, which is most of the speed-up on a CPU. Without ``shuffle`` the batches follow the sorted
    lengths (deterministic, for evaluation; :func:`course_lib.training.predict` keeps that order
    and so does ``dataset_order``)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, *, shuffle: bool = True, seed: int = 0,
                 pool_batches: int = 50):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.shuffle, self.pool_batches = batch_size, shuffle, pool_batches
        self.generator = np.random.default_rng(seed)

    def _batches(self) -> list[np.ndarray]:
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        order = self.generator.permutation(len(self.lengths))
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in self.generator.permutation(len(batches))]

    def __iter__(self):
        for batch in self._batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def dataset_order(self) -> np.ndarray:
        """For ``shuffle=False``: the dataset index of each prediction, in loader order."""
        if self.shuffle:
            raise ValueError("dataset_order is defined for shuffle=False only")
        return np.concatenate(self._batches())


def pad_collate(pad_id: int = 0):
    """A collate function padding each batch to its own longest sentence. Batches become
    ``({"input_ids": (B, L) int64, "attention_mask": (B, L) int64}, labels (B,) int64)``."""

    def collate(items):
        longest = max(len(ids) for ids, _ in items)
        input_ids = torch.full((len(items), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(items), longest), dtype=torch.long)
        for row, (ids, _) in enumerate(items):
            input_ids[row, :len(ids)] = torch.tensor(ids)
            mask[row, :len(ids)] = 1
        labels = torch.tensor([label for _, label in items], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": mask}, labels

    return collate


def token_loader(token_ids: Sequence[Sequence[int]], labels: Sequence[int], *, batch_size: int = 32,
                 shuffle: bool = False, seed: int = 0, pad_id: int = 0) -> DataLoader:
    """A DataLoader of length-bucketed, dynamically padded batches (see :class:`BucketBatchSampler`).

    With ``shuffle=False`` the loader visits sentences sorted by length; use
    ``loader.batch_sampler.dataset_order()`` (or :func:`in_dataset_order`) to map predictions back.
    """
    dataset = TokenDataset(token_ids, labels)
    sampler = BucketBatchSampler([len(ids) for ids in dataset.token_ids], batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=pad_collate(pad_id))


def in_dataset_order(values: np.ndarray, loader: DataLoader) -> np.ndarray:
    """Reorder predictions of an unshuffled :func:`token_loader` back to the dataset's order."""
    order = loader.batch_sampler.dataset_order()
    if len(values) != len(order):
        raise ValueError(f"got {len(values)} values for a loader of {len(order)} sentences")
    restored = np.empty_like(values)
    restored[order] = values
    return restored


def dict_forward(model, batch, device):
    """``forward`` for :func:`course_lib.training.fit`/``predict`` with ``(inputs dict, labels)``
    batches from :func:`token_loader`; returns ``(logits (B, 2), labels (B,))``."""
    inputs, labels = batch
    return model(**{k: v.to(device) for k, v in inputs.items()}), labels.to(device)
