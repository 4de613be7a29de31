"""Text case study (notebook 04): the sentiment of movie-review sentences (GLUE SST-2).

One module per job:

- :mod:`~course_lib.text.data` — SST-2 loading, a validation split carved from TRAIN, sentence-like
  subsets, a word vocabulary, length-bucketed batches with dynamic padding.
- :mod:`~course_lib.text.baselines` — TF-IDF (words + bigrams) + logistic regression.
- :mod:`~course_lib.text.attention` — scaled dot-product and multi-head attention by hand, padding
  masks, sinusoidal positional encodings.
- :mod:`~course_lib.text.encoder` — a small transformer encoder classifier trained from scratch.
- :mod:`~course_lib.text.pretrained` — all-MiniLM-L6-v2 (local package first, then the Hub), mean
  pooling, frozen embeddings, a classification head, and fine-tuning of the top layers on cached
  states of the frozen lower layers (the warm-up/decay schedule is transformers'
  ``get_linear_schedule_with_warmup``).
- :mod:`~course_lib.text.plots` — attention heat maps, learning curves in training-set size.
- :mod:`~course_lib.text.diagrams` — the figure of the transformer encoder block with attention.
"""

from course_lib.text.attention import (
    MultiHeadAttention,
    padding_mask,
    scaled_dot_product_attention,
    sinusoidal_positional_encoding,
)
from course_lib.text.baselines import predict_positive, tfidf_logreg, top_ngrams
from course_lib.text.data import (
    BucketBatchSampler,
    WordVocabulary,
    dict_forward,
    in_dataset_order,
    load_sst2,
    overlapping_rows,
    select_training_sentences,
    sentence_roots,
    token_loader,
    train_validation_split,
    whitespace_tokenize,
    word_counts,
)
from course_lib.text.diagrams import draw_encoder_block
from course_lib.text.encoder import EncoderBlock, TransformerClassifier
from course_lib.text.plots import plot_attention, plot_size_curves
from course_lib.text.pretrained import (
    HUB_ID,
    PretrainedText,
    SentenceClassifier,
    TopLayersClassifier,
    additive_mask,
    attention_maps,
    embed,
    embed_states,
    load_pretrained,
    lower_layer_states,
    mean_pool,
    mean_pooling_parameters,
    run_layers,
    state_loader,
    tokenize,
)

__all__ = [
    "HUB_ID", "BucketBatchSampler", "EncoderBlock", "MultiHeadAttention", "PretrainedText", "SentenceClassifier",
    "TopLayersClassifier", "TransformerClassifier", "WordVocabulary", "additive_mask", "attention_maps",
    "dict_forward", "draw_encoder_block", "embed", "embed_states", "in_dataset_order", "load_pretrained",
    "load_sst2", "lower_layer_states", "mean_pool", "mean_pooling_parameters", "overlapping_rows", "run_layers",
    "state_loader",
    "padding_mask", "plot_attention", "plot_size_curves", "predict_positive",
    "scaled_dot_product_attention", "select_training_sentences", "sentence_roots", "sinusoidal_positional_encoding",
    "tfidf_logreg", "token_loader", "tokenize", "top_ngrams", "train_validation_split",
    "whitespace_tokenize", "word_counts",
]
