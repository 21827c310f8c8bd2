"""Prototypical networks (Snell et al., NeurIPS 2017) on the pretrained encoder.

Meta-training: on each episode, class prototypes are the mean of the
mean-pooled support embeddings, query logits are negative squared Euclidean
distances to the prototypes, and the query cross-entropy trains the top
`train_layers` encoder layers (lower layers stay pretrained, for speed).

Adaptation computes prototypes from the support set; nothing is trained.
NER: one prototype per tag from the first-subword states of the support
words, and every word goes to its nearest prototype. A tag absent from the
support set has no prototype and is never predicted.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch import nn

from baselines._episodic import (
    curve_point,
    embed_sentences,
    embed_words,
    encoder_inputs,
    episode_sampler,
    freeze_except,
    trainable_parameter_names,
    uniform_loss,
    word_mask,
)
from bench.backbone import load_encoder, load_tokenizer
from bench.data import LabeledSet
from bench.encoding import encode_sentences, mean_pool
from bench.methods import METHODS
from bench.protocol import Method, MethodContext, Prediction, Predictor
from bench.weights_cache import cache_entry, load_entry, restore, save_entry, trainable_tensors

logger = logging.getLogger(__name__)

# Logit of a tag without a prototype: finite so that cross-entropy stays finite, and far below any real logit.
MISSING_PROTOTYPE_LOGIT = -1e4


def prototypes(embeddings: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-class mean embeddings [C, H] and whether each class had any example [C]."""
    one_hot = nn.functional.one_hot(labels, num_classes).to(embeddings.dtype)
    counts = one_hot.sum(0)
    sums = one_hot.T @ embeddings
    return sums / counts.clamp(min=1.0).unsqueeze(-1), counts > 0


def prototype_logits(embeddings: torch.Tensor, centers: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Negative squared Euclidean distance [B, C]; classes without a prototype get a very low logit."""
    logits = -torch.cdist(embeddings, centers).pow(2)
    return logits.masked_fill(~present.unsqueeze(0), MISSING_PROTOTYPE_LOGIT)


class PrototypePredictor(Predictor):
    def __init__(self, encoder: nn.Module, tokenizer, centers: torch.Tensor, present: torch.Tensor, max_length: int, batch_size: int, info: dict[str, Any]) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.centers = centers
        self.present = present
        self.max_length = max_length
        self.batch_size = batch_size
        self.info = info

    def _sentence_logits(self, data: LabeledSet) -> torch.Tensor:
        embeddings = embed_sentences(self.encoder, self.tokenizer, data, self.max_length, self.batch_size)
        return prototype_logits(embeddings, self.centers, self.present)

    def _word_logits(self, data: LabeledSet) -> list[torch.Tensor]:
        words = embed_words(self.encoder, self.tokenizer, data, self.max_length, self.batch_size)
        return [prototype_logits(vectors, self.centers, self.present) for vectors in words]

    def predict(self, data: LabeledSet) -> Prediction:
        if not data.is_ner:
            return self._sentence_logits(data).argmax(-1).tolist()
        outside = data.label_names.index("O") if "O" in data.label_names else 0
        predictions = []
        for logits, survived in zip(self._word_logits(data), word_mask(self.tokenizer, data, self.max_length)):
            best = logits.argmax(-1).tolist()
            predictions.append([tag if kept else outside for tag, kept in zip(best, survived)])
        return predictions

    def loss(self, data: LabeledSet) -> float:
        if not data.is_ner:
            logits = self._sentence_logits(data)
            return nn.functional.cross_entropy(logits, torch.tensor(data.labels)).item()
        logits, tags = _kept_word_rows(self._word_logits(data), data, self.tokenizer, self.max_length)
        return nn.functional.cross_entropy(logits, tags).item()


def _kept_word_rows(per_sentence: list[torch.Tensor], data: LabeledSet, tokenizer, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack the rows of words that survived truncation, with their tags."""
    rows, tags = [], []
    for rows_of_sentence, sentence_tags, kept in zip(per_sentence, data.tags, word_mask(tokenizer, data, max_length)):
        for row, tag, keep in zip(rows_of_sentence, sentence_tags, kept):
            if keep:
                rows.append(row)
                tags.append(tag)
    return torch.stack(rows), torch.tensor(tags, dtype=torch.long)


@METHODS.register("protonet")
class ProtoNet(Method):
    """Prototypical networks with a meta-trained encoder; prototypes per class or per NER tag."""

    name = "protonet"
    defaults: ClassVar[dict[str, Any]] = {
        # Episodes: the same sampler and seed as the meta-learner.
        "ways": 5,
        "shots": 4,
        "queries": 4,
        "smlmt_share": 0.3,
        "meta_max_seq_length": 64,
        "meta_episodes": 100,
        "meta_lr": 2e-5,
        # Top encoder layers trained by meta-training, or "all" with embeddings.
        "train_layers": 2,
        "eval_batch_size": 64,
        "log_every": 20,
    }

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        self._encoder: nn.Module | None = None

    def meta_train(self, context: MethodContext) -> dict[str, Any]:
        hp = self.hyperparameters
        tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        encoder = load_encoder(context.backbone, context.backbone_revision).eval()  # no dropout
        trained = trainable_parameter_names(encoder, hp["train_layers"], prefix="")
        freeze_except(encoder, trained)
        entry = cache_entry(context, self.name, hp)
        cached = load_entry(entry)
        if cached is not None:
            logger.info("protonet: reusing cached meta-training from %s", entry)
            restore(encoder, cached[0])
            freeze_except(encoder, [])
            self._encoder = encoder
            return {**cached[1], "reused_cache": True}
        sampler = episode_sampler(context, hp["ways"], hp["shots"], hp["queries"], hp["smlmt_share"])
        optimizer = torch.optim.Adam([p for p in encoder.parameters() if p.requires_grad], lr=hp["meta_lr"])

        curve: list[dict[str, Any]] = []
        for episode in range(hp["meta_episodes"]):
            sampled = sampler.sample(episode)
            support = encode_sentences(tokenizer, sampled.support, hp["meta_max_seq_length"])
            query = encode_sentences(tokenizer, sampled.query, hp["meta_max_seq_length"])
            support_embeddings = mean_pool(encoder(**encoder_inputs(support)).last_hidden_state, support["attention_mask"])
            query_embeddings = mean_pool(encoder(**encoder_inputs(query)).last_hidden_state, query["attention_mask"])
            centers, present = prototypes(support_embeddings, torch.tensor(sampled.support.labels), hp["ways"])
            logits = prototype_logits(query_embeddings, centers, present)
            query_labels = torch.tensor(sampled.query.labels)
            loss = nn.functional.cross_entropy(logits, query_labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            accuracy = (logits.argmax(-1) == query_labels).float().mean().item()
            curve.append(curve_point(episode, loss.item(), accuracy))
            if (episode + 1) % hp["log_every"] == 0:
                logger.info("protonet episode %d: query loss %.4f, query accuracy %.3f", episode + 1, loss.item(), accuracy)
        tensors = trainable_tensors(encoder)
        freeze_except(encoder, [])
        self._encoder = encoder
        facts = {"curve": curve, "episodes": hp["meta_episodes"], "trained_parameters": len(trained)}
        save_entry(entry, tensors, facts)
        return {**facts, "reused_cache": False}

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        # `seed` is unused: prototypes are a deterministic function of the support set.
        if self._encoder is None:
            raise RuntimeError("protonet: call meta_train(context) before adapt(); the runner does this once per run")
        hp = self.hyperparameters
        tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        if support.is_ner:
            words = embed_words(self._encoder, tokenizer, support, context.max_seq_length, hp["eval_batch_size"])
            embeddings, labels = _kept_word_rows(words, support, tokenizer, context.max_seq_length)
        else:
            embeddings = embed_sentences(self._encoder, tokenizer, support, context.max_seq_length, hp["eval_batch_size"])
            labels = torch.tensor(support.labels, dtype=torch.long)
        centers, present = prototypes(embeddings, labels, support.num_labels)
        info = {"initial_support_loss": uniform_loss(support.num_labels), "prototypes": int(present.sum())}
        return PrototypePredictor(self._encoder, tokenizer, centers, present, context.max_seq_length, hp["eval_batch_size"], info)
