"""Tokenisation shared by every method: sentences, sentence pairs and word-aligned NER."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from bench.data import LabeledSet

# Label for continuation subwords and special tokens, ignored by cross-entropy.
IGNORE_INDEX = -100


def encode_sentences(tokenizer, data: LabeledSet, max_length: int) -> dict[str, torch.Tensor]:
    """Tokenise sentence (or sentence-pair) inputs into padded tensors."""
    return tokenizer(
        list(data.texts),
        list(data.text_pairs) if data.text_pairs is not None else None,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )


def encode_words(tokenizer, data: LabeledSet, max_length: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Tokenise NER sentences and align word tags to subwords.

    The tag goes on the first subword of each word; continuation subwords and
    special tokens get IGNORE_INDEX. Returns the batch and the aligned labels.
    """
    batch = tokenizer(
        [list(words) for words in data.tokens],
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    labels = torch.full(batch["input_ids"].shape, IGNORE_INDEX, dtype=torch.long)
    for row, tags in enumerate(data.tags):
        previous = None
        for position, word in enumerate(batch.word_ids(row)):
            if word is not None and word != previous:
                labels[row, position] = tags[word]
            previous = word
    return batch, labels


def first_subword_positions(tokenizer, data: LabeledSet, max_length: int) -> list[list[int]]:
    """Return, per sentence, the subword position of each word's first subword (-1 if truncated)."""
    batch = tokenizer(
        [list(words) for words in data.tokens],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    positions: list[list[int]] = []
    for row, words in enumerate(data.tokens):
        first = [-1] * len(words)
        previous = None
        for position, word in enumerate(batch.word_ids(row)):
            if word is not None and word != previous:
                first[word] = position
            previous = word
        positions.append(first)
    return positions


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over non-padding positions."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def batches(n: int, batch_size: int) -> Iterator[list[int]]:
    for start in range(0, n, batch_size):
        yield list(range(start, min(n, start + batch_size)))


def encode_labeled(tokenizer, data: LabeledSet, max_length: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Tokenise any labeled set; labels are [B] for sentences and [B, T] for NER."""
    if data.is_ner:
        return encode_words(tokenizer, data, max_length)
    return encode_sentences(tokenizer, data, max_length), torch.tensor(data.labels, dtype=torch.long)


def word_predictions(token_scores: torch.Tensor, positions: list[list[int]], outside: int) -> list[list[int]]:
    """Map per-subword scores [B, T, C] back to one tag per word.

    A word cut off by truncation (position -1) gets the `outside` tag, so it
    can never create a spurious entity.
    """
    best = token_scores.argmax(-1).tolist()
    return [[best[row][p] if p >= 0 else outside for p in sentence] for row, sentence in enumerate(positions)]
