"""Encoder-plus-head models shared by the fine-tuning style methods."""

from __future__ import annotations

import torch
from torch import nn

from bench.encoding import IGNORE_INDEX, mean_pool


class EncoderWithHead(nn.Module):
    """A pretrained encoder with a linear head.

    Sentence tasks: the head reads the mean-pooled sentence representation,
    the pooling that all-MiniLM-L6-v2 was trained with. NER: the head reads
    every token state; labels sit on first subwords only.
    """

    def __init__(self, encoder: nn.Module, num_labels: int, token_level: bool, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.token_level = token_level
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {key: value for key, value in batch.items() if key in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = self.encoder(**inputs).last_hidden_state
        if self.token_level:
            return self.head(self.dropout(hidden))
        return self.head(self.dropout(mean_pool(hidden, batch["attention_mask"])))


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for sentence logits [B, C] or token logits [B, T, C] with ignored positions."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX)


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Return (total, trainable) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
