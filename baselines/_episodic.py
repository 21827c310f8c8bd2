"""Helpers shared by the episodic baselines (MAML, ProtoNet) and the frozen-encoder baselines.

Covers the meta-training episode stream, the choice of which encoder
parameters train, and embedding of sentences and words with a frozen or
meta-trained encoder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from bench.data import LabeledSet
from bench.encoding import batches, encode_sentences, encode_words, first_subword_positions, mean_pool
from bench.protocol import MethodContext, MetaTrainingData
from bench.seeding import derive_seed

# The meta-learner (bench.meta.method) seeds its training sampler with
# derive_seed(derive_seed(root, "meta-erasure"), "train"). The baselines use the same seed,
# so with the same ways, shots, queries and smlmt_share they get the same episode sequence.
EPISODE_SEED_PARTS = ("meta-erasure", "train")

_LAYER_INDEX = re.compile(r"(?:^|\.)layer\.(\d+)\.")
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def episode_sampler(context: MethodContext, ways: int, shots: int, queries: int, smlmt_share: float):
    """Build the meta-training `EpisodeSampler` that every episodic method shares for a root seed."""
    from bench.meta.episodes import EpisodeSampler

    return EpisodeSampler(
        require_meta_data(context),
        ways=ways,
        shots=shots,
        queries=queries,
        smlmt_share=smlmt_share,
        seed=derive_seed(derive_seed(context.root_seed, EPISODE_SEED_PARTS[0]), EPISODE_SEED_PARTS[1]),
    )


def require_meta_data(context: MethodContext) -> MetaTrainingData:
    if context.meta_data is None:
        raise ValueError(
            "meta-training needs MethodContext.meta_data (a callable returning MetaTrainingData); "
            "the runner sets it, and tests must pass a synthetic one"
        )
    return context.meta_data()


def encoder_inputs(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value for key, value in batch.items() if key in ENCODER_INPUTS}


def layer_count(encoder: nn.Module) -> int:
    return int(encoder.config.num_hidden_layers)


def trainable_parameter_names(model: nn.Module, top_layers: int | str, prefix: str = "encoder.") -> list[str]:
    """Name the parameters that train: every head parameter plus the top `top_layers` encoder layers.

    `top_layers="all"` also trains the embeddings. The pooler never trains
    because mean pooling does not read it, so it would get no gradient.
    `prefix` is where the encoder sits inside `model`.
    """
    encoder = model.get_submodule(prefix.rstrip(".")) if prefix else model
    total = layer_count(encoder)
    if top_layers != "all" and not (isinstance(top_layers, int) and 0 <= top_layers <= total):
        raise ValueError(f"invalid number of top layers {top_layers!r}; use an integer in 0..{total} or 'all'")
    first = 0 if top_layers == "all" else total - int(top_layers)
    names: list[str] = []
    for name, _ in model.named_parameters():
        if not name.startswith(prefix):
            names.append(name)  # a head outside the encoder
            continue
        inner = name[len(prefix) :]
        if inner.startswith("pooler."):
            continue
        match = _LAYER_INDEX.search(inner)
        if top_layers == "all" or (match is not None and int(match.group(1)) >= first):
            names.append(name)
    return names


def freeze_except(model: nn.Module, names: Iterable[str]) -> None:
    keep = set(names)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in keep)


def uniform_loss(num_labels: int) -> float:
    """Cross-entropy of a uniform prediction over `num_labels` classes: the loss before any training."""
    return math.log(num_labels)


def embed_sentences(encoder: nn.Module, tokenizer, data: LabeledSet, max_length: int, batch_size: int) -> torch.Tensor:
    """Mean-pooled sentence embeddings [B, H] of `data`, without gradients."""
    parts = []
    with torch.no_grad():
        for chunk in batches(len(data), batch_size):
            batch = encode_sentences(tokenizer, data.subset(chunk), max_length)
            hidden = encoder(**encoder_inputs(batch)).last_hidden_state
            parts.append(mean_pool(hidden, batch["attention_mask"]))
    return torch.cat(parts) if parts else torch.zeros(0, encoder.config.hidden_size)


def embed_words(encoder: nn.Module, tokenizer, data: LabeledSet, max_length: int, batch_size: int) -> list[torch.Tensor | None]:
    """Per sentence, the first-subword state of every word [words, H], without gradients.

    A word cut off by truncation gets a zero row, and `word_mask` marks which rows are real.
    """
    vectors: list[torch.Tensor | None] = []
    with torch.no_grad():
        for chunk in batches(len(data), batch_size):
            part = data.subset(chunk)
            batch, _ = encode_words(tokenizer, part, max_length)
            hidden = encoder(**encoder_inputs(batch)).last_hidden_state
            for row, positions in enumerate(first_subword_positions(tokenizer, part, max_length)):
                index = torch.tensor([max(p, 0) for p in positions], dtype=torch.long)
                states = hidden[row, index]
                present = torch.tensor([p >= 0 for p in positions]).unsqueeze(-1)
                vectors.append(states * present)
    return vectors


def word_mask(tokenizer, data: LabeledSet, max_length: int) -> list[list[bool]]:
    """Per sentence, whether each word survived truncation."""
    return [[p >= 0 for p in positions] for positions in first_subword_positions(tokenizer, data, max_length)]


def curve_point(episode: int, query_loss: float, query_accuracy: float) -> dict[str, Any]:
    return {"episode": episode, "query_loss": query_loss, "query_accuracy": query_accuracy}
