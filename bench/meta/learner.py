"""The inner loop: Proto-MAML head plus Meta-SGD updates of the top encoder layers.

The head starts from class prototypes c_k of the support features
(W_k = 2 c_k, b_k = -||c_k||^2, Triantafillou et al., ICLR 2020), so logits
are -||x - c_k||^2 up to a per-example constant and any number of classes
works. Each inner step updates the adapted encoder tensors and the head with
plain gradient steps whose per-tensor learning rates are meta-learned
(Meta-SGD, Li et al., 2017). The encoder runs through
`torch.func.functional_call`, so no module is copied.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call
from torch.nn import functional as F

from bench.encoding import IGNORE_INDEX, mean_pool
from bench.meta.gates import GatedEncoder, additive_attention_mask

HEAD_WEIGHT = "head.weight"
HEAD_BIAS = "head.bias"
# Bias given to a class without support examples, so it is never predicted.
ABSENT_CLASS_BIAS = -1.0e4


@dataclass
class EncodedSet:
    """Hidden states after the frozen lower layers, with what the upper layers and head need."""

    hidden: torch.Tensor  # [N, T, D] output of layers 0..start-1 under one candidate's gates
    additive_mask: torch.Tensor  # [N, 1, 1, T]
    attention_mask: torch.Tensor  # [N, T]
    labels: torch.Tensor  # [N] for sentences, [N, T] with IGNORE_INDEX for NER
    token_level: bool

    def rows(self, indices: list[int] | torch.Tensor) -> EncodedSet:
        index = torch.as_tensor(indices, dtype=torch.long)
        return EncodedSet(
            self.hidden[index], self.additive_mask[index], self.attention_mask[index], self.labels[index], self.token_level
        )


@dataclass
class AdaptedModel:
    """Result of the inner loop: adapted encoder tensors and head."""

    body: dict[str, torch.Tensor]
    weight: torch.Tensor
    bias: torch.Tensor


# Rows per length bucket: rows of similar length run together, trimmed to their longest, to skip padding.
BUCKET_SIZE = 16


def _length_buckets(attention_mask: torch.Tensor, size: int) -> list[tuple[torch.Tensor, int]]:
    """Split row indices into buckets of similar length; return (rows, longest length) per bucket."""
    lengths = attention_mask.sum(1)
    order = torch.argsort(lengths, stable=True)
    buckets = []
    for first in range(0, len(order), size):
        rows = order[first : first + size]
        buckets.append((rows, max(int(lengths[rows].max()), 1)))
    return buckets


def upper_hidden(gated: GatedEncoder, body: dict[str, torch.Tensor], data: EncodedSet, start: int) -> torch.Tensor:
    """Run layers start..L-1 with `body` substituted, bucketed by length; padding positions come back as zeros."""
    outputs = torch.zeros_like(data.hidden) if len(data.hidden) else data.hidden
    pieces, all_rows = [], []
    for rows, length in _length_buckets(data.attention_mask, BUCKET_SIZE):
        hidden = data.hidden[rows, :length]
        additive = data.additive_mask[rows][..., :length]
        piece = functional_call(gated, body, (hidden, additive, start))
        pieces.append(torch.nn.functional.pad(piece, (0, 0, 0, data.hidden.shape[1] - length)))
        all_rows.append(rows)
    if not pieces:
        return outputs
    stacked = torch.cat(pieces)
    inverse = torch.empty_like(torch.cat(all_rows))
    inverse[torch.cat(all_rows)] = torch.arange(len(inverse))
    return stacked[inverse]


def features(hidden: torch.Tensor, data: EncodedSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (features, labels): mean-pooled sentences, or first-subword token states for NER."""
    if data.token_level:
        keep = data.labels != IGNORE_INDEX
        return hidden[keep], data.labels[keep]
    return mean_pool(hidden, data.attention_mask), data.labels


def prototype_head(feats: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Initialise W = 2 c_k and b = -||c_k||^2 from class means; absent classes get a large negative bias."""
    one_hot = F.one_hot(labels, num_classes).to(feats.dtype)  # [n, C]
    counts = one_hot.sum(0)  # [C]
    prototypes = (one_hot.T @ feats) / counts.clamp(min=1.0)[:, None]
    weight = 2.0 * prototypes
    bias = -(prototypes**2).sum(-1)
    bias = torch.where(counts > 0, bias, torch.full_like(bias, ABSENT_CLASS_BIAS))
    return weight, bias


def logits(feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    return log_scale.exp() * (feats @ weight.T + bias)


def inner_loop(
    gated: GatedEncoder,
    body: dict[str, torch.Tensor],
    log_lrs: dict[str, torch.Tensor],
    log_scale: torch.Tensor,
    support: EncodedSet,
    num_classes: int,
    start: int,
    steps: int,
    second_order: bool = False,
    keep_graph: bool = True,
    adapt_body: bool = True,
) -> AdaptedModel:
    """Adapt the body tensors and a prototype-initialised head on `support` for `steps` steps.

    `keep_graph=True` (meta-training) keeps the adapted tensors differentiable
    in the initial tensors and learning rates. First order treats the inner
    gradients as constants, so the outer gradient of the initialisation is
    the FOMAML one while the learning rates still get exact gradients.
    With `keep_graph=False` (fine-tuning a new task) every step is detached.
    `adapt_body=False` keeps the encoder fixed and adapts the head only.
    """
    if not keep_graph:
        body = {name: tensor.detach().requires_grad_(adapt_body) for name, tensor in body.items()}
    with torch.enable_grad():
        feats, labels = features(upper_hidden(gated, body, support, start), support)
        weight, bias = prototype_head(feats, labels, num_classes)
        if not keep_graph:
            weight = weight.detach().requires_grad_(True)
            bias = bias.detach().requires_grad_(True)
        for step in range(steps):
            if step > 0 and adapt_body:
                feats, labels = features(upper_hidden(gated, body, support, start), support)
            elif step > 0:
                feats = feats.detach()
            loss = F.cross_entropy(logits(feats, weight, bias, log_scale), labels)
            names = list(body) if adapt_body else []
            targets = [body[name] for name in names] + [weight, bias]
            grads = torch.autograd.grad(
                loss, targets, create_graph=second_order and keep_graph, retain_graph=keep_graph, allow_unused=True
            )
            grads = [torch.zeros_like(t) if g is None else g for t, g in zip(targets, grads)]
            if not (second_order and keep_graph):
                grads = [g.detach() for g in grads]
            for name, grad in zip(names, grads):
                body[name] = body[name] - log_lrs[name].exp() * grad
            weight = weight - log_lrs[HEAD_WEIGHT].exp() * grads[-2]
            bias = bias - log_lrs[HEAD_BIAS].exp() * grads[-1]
            if not keep_graph:
                body = {name: tensor.detach().requires_grad_(adapt_body) for name, tensor in body.items()}
                weight = weight.detach().requires_grad_(True)
                bias = bias.detach().requires_grad_(True)
    if not keep_graph:
        body = {name: tensor.detach() for name, tensor in body.items()}
        weight, bias = weight.detach(), bias.detach()
    return AdaptedModel(body=body, weight=weight, bias=bias)


def query_outputs(
    gated: GatedEncoder, adapted: AdaptedModel, log_scale: torch.Tensor, data: EncodedSet, start: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (logits, labels) of labeled rows: one row per sentence, or per first subword for NER."""
    feats, labels = features(upper_hidden(gated, adapted.body, data, start), data)
    return logits(feats, adapted.weight, adapted.bias, log_scale), labels


def token_logits(
    gated: GatedEncoder, adapted: AdaptedModel, log_scale: torch.Tensor, data: EncodedSet, start: int
) -> torch.Tensor:
    """Return logits for every position [N, T, C] (NER) or every sentence [N, C]."""
    hidden = upper_hidden(gated, adapted.body, data, start)
    if data.token_level:
        return logits(hidden, adapted.weight, adapted.bias, log_scale)
    return logits(mean_pool(hidden, data.attention_mask), adapted.weight, adapted.bias, log_scale)


@torch.no_grad()
def encode_lower(
    gated: GatedEncoder,
    batch: dict[str, torch.Tensor],
    labels: torch.Tensor,
    token_level: bool,
    start: int,
    batch_size: int = 64,
) -> EncodedSet:
    """Run embeddings and layers 0..start-1 under the active gates, in length buckets of at most `batch_size` rows."""
    additive = additive_attention_mask(batch["attention_mask"], gated.encoder.dtype)
    width = batch["input_ids"].shape[1]
    hidden = torch.zeros(batch["input_ids"].shape[0], width, gated.encoder.config.hidden_size)
    for rows, length in _length_buckets(batch["attention_mask"], min(batch_size, BUCKET_SIZE)):
        part = {key: value[rows, :length] for key, value in batch.items()}
        hidden[rows, :length] = gated(gated.embed(part), additive[rows][..., :length], 0, start)
    return EncodedSet(hidden, additive, batch["attention_mask"], labels, token_level)
