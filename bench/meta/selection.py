"""Candidate selection from the support set alone, and the predictor of the chosen candidate.

Every candidate is scored by k-fold cross-validation inside the support set:
adapt on the other folds with the meta-learned initialisation and learning
rates, predict the held-out fold. The score is pooled held-out accuracy
(sentence tasks) or strict span F1 (NER), and ties go to the lower held-out
loss, then to the earlier candidate in the space.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn import functional as F

from bench.data import LabeledSet
from bench.encoding import IGNORE_INDEX, batches, encode_labeled, first_subword_positions, word_predictions
from bench.meta.gates import GatedEncoder
from bench.meta.learner import AdaptedModel, EncodedSet, encode_lower, inner_loop, token_logits
from bench.meta.space import Candidate
from bench.meta.training import MetaState
from bench.metrics import span_f1
from bench.protocol import Prediction, Predictor
from bench.seeding import numpy_rng


def make_folds(support: LabeledSet, folds: int, seed: int) -> list[list[int]]:
    """Return the held-out indices of each fold; empty when the support set cannot be split.

    Sentence tasks are stratified. A class with a single example is never
    held out, because a model trained without it could not predict it. NER
    splits sentences at random.
    """
    rng = numpy_rng(seed)
    if support.is_ner:
        count = min(folds, len(support))
        if count < 2:
            return []
        order = rng.permutation(len(support)).tolist()
        return [sorted(order[f::count]) for f in range(count)]

    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(support.labels):
        by_class.setdefault(label, []).append(index)
    largest = max((len(members) for members in by_class.values()), default=0)
    count = min(folds, largest)
    if count < 2:
        return []
    held_out: list[list[int]] = [[] for _ in range(count)]
    slot = 0
    for label in sorted(by_class):
        members = by_class[label]
        if len(members) < 2:
            continue
        for index in rng.permutation(members).tolist():
            held_out[slot % count].append(int(index))
            slot += 1
    return [sorted(fold) for fold in held_out if fold]


@dataclass(frozen=True)
class CellInputs:
    """The support set of one cell, tokenised once and shared by all candidates."""

    support: LabeledSet
    batch: dict[str, torch.Tensor]
    labels: torch.Tensor
    positions: list[list[int]] | None  # first-subword position per word (NER only)
    # Lower-layer outputs per candidate name, so selection and the final adaptation run them once.
    lower: dict[str, EncodedSet] = field(default_factory=dict)


def prepare_support(tokenizer, support: LabeledSet, max_length: int) -> CellInputs:
    batch, labels = encode_labeled(tokenizer, support, max_length)
    positions = first_subword_positions(tokenizer, support, max_length) if support.is_ner else None
    return CellInputs(support, dict(batch), labels, positions)


def cell_encoding(gated: GatedEncoder, state: MetaState, cell: CellInputs, candidate: Candidate) -> EncodedSet:
    """Return the candidate's lower-layer outputs for the support set, computing them on first use."""
    if candidate.name not in cell.lower:
        with gated.erased(candidate.mask):
            cell.lower[candidate.name] = encode_lower(gated, cell.batch, cell.labels, cell.support.is_ner, state.start_layer)
    return cell.lower[candidate.name]


def _held_out_predictions(cell: CellInputs, rows: list[int], scores: torch.Tensor) -> list:
    if cell.support.is_ner:
        positions = [cell.positions[r] for r in rows]  # type: ignore[index]
        return word_predictions(scores, positions, cell.support.label_names.index("O"))
    return scores.argmax(-1).tolist()


def score_candidate(
    gated: GatedEncoder,
    state: MetaState,
    cell: CellInputs,
    candidate: Candidate,
    folds: list[list[int]],
    steps: int,
    adapt_body: bool,
) -> tuple[float, float]:
    """Return (held-out accuracy or span F1, mean held-out loss) of one candidate."""
    support = cell.support
    num_classes = support.num_labels
    predictions: dict[int, Any] = {}
    loss_total, loss_count = 0.0, 0
    with gated.erased(candidate.mask):
        encoded = cell_encoding(gated, state, cell, candidate)
        for held_out in folds:
            train_rows = [i for i in range(len(support)) if i not in set(held_out)]
            adapted = inner_loop(
                gated, dict(state.body), state.log_lrs, state.log_scale, encoded.rows(train_rows), num_classes,
                state.start_layer, steps, keep_graph=False, adapt_body=adapt_body,
            )
            with torch.no_grad():
                held = encoded.rows(held_out)
                scores = token_logits(gated, adapted, state.log_scale, held, state.start_layer)
                loss = F.cross_entropy(scores.reshape(-1, num_classes), held.labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum")
                loss_total += float(loss)
                loss_count += int((held.labels != IGNORE_INDEX).sum())
            for row, prediction in zip(held_out, _held_out_predictions(cell, held_out, scores)):
                predictions[row] = prediction
    rows = sorted(predictions)
    if support.is_ner:
        names = support.label_names
        gold = [[names[t] for t in support.tags[r]] for r in rows]
        pred = [[names[t] for t in predictions[r]] for r in rows]
        score = span_f1(gold, pred)["f1"]
    else:
        score = sum(int(predictions[r] == support.labels[r]) for r in rows) / len(rows)
    return score, loss_total / max(loss_count, 1)


def select_candidate(
    gated: GatedEncoder,
    state: MetaState,
    cell: CellInputs,
    candidates: list[Candidate],
    folds: list[list[int]],
    steps: int,
    adapt_body: bool,
) -> tuple[Candidate, dict[str, float], dict[str, float]]:
    """Score every candidate; return the best one, the scores and the held-out losses."""
    scores: dict[str, float] = {}
    losses: dict[str, float] = {}
    for candidate in candidates:
        scores[candidate.name], losses[candidate.name] = score_candidate(gated, state, cell, candidate, folds, steps, adapt_body)
    # max() keeps the first of equal keys, so ties go to the earlier candidate (intact comes first).
    best = max(candidates, key=lambda c: (scores[c.name], -losses[c.name]))
    return best, scores, losses


def adapt_candidate(gated: GatedEncoder, state: MetaState, cell: CellInputs, candidate: Candidate, steps: int) -> AdaptedModel:
    with gated.erased(candidate.mask):
        encoded = cell_encoding(gated, state, cell, candidate)
        return inner_loop(
            gated, dict(state.body), state.log_lrs, state.log_scale, encoded, cell.support.num_labels,
            state.start_layer, steps, keep_graph=False,
        )


class ErasurePredictor(Predictor):
    """The chosen candidate with its adapted top layers and head."""

    def __init__(
        self,
        gated: GatedEncoder,
        tokenizer,
        state: MetaState,
        candidate: Candidate,
        adapted: AdaptedModel,
        max_length: int,
        batch_size: int,
        info: dict[str, Any],
    ) -> None:
        self.gated = gated
        self.tokenizer = tokenizer
        self.state = state
        self.candidate = candidate
        self.adapted = adapted
        self.max_length = max_length
        self.batch_size = batch_size
        self.info = info

    @torch.no_grad()
    def _scores(self, data: LabeledSet) -> tuple[EncodedSet, torch.Tensor]:
        batch, labels = encode_labeled(self.tokenizer, data, self.max_length)
        with self.gated.erased(self.candidate.mask):
            encoded = encode_lower(self.gated, dict(batch), labels, data.is_ner, self.state.start_layer, self.batch_size)
            return encoded, token_logits(self.gated, self.adapted, self.state.log_scale, encoded, self.state.start_layer)

    def predict(self, data: LabeledSet) -> Prediction:
        predictions: list = []
        for chunk in batches(len(data), self.batch_size):
            part = data.subset(chunk)
            _, scores = self._scores(part)
            if data.is_ner:
                positions = first_subword_positions(self.tokenizer, part, self.max_length)
                predictions.extend(word_predictions(scores, positions, data.label_names.index("O")))
            else:
                predictions.extend(scores.argmax(-1).tolist())
        return predictions

    def loss(self, data: LabeledSet) -> float:
        total, count = 0.0, 0
        for chunk in batches(len(data), self.batch_size):
            encoded, scores = self._scores(data.subset(chunk))
            labels = encoded.labels.reshape(-1)
            total += float(F.cross_entropy(scores.reshape(-1, scores.shape[-1]), labels, ignore_index=IGNORE_INDEX, reduction="sum"))
            count += int((labels != IGNORE_INDEX).sum())
        return total / max(count, 1)
