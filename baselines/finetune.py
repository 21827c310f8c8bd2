"""Standard fine-tuning of the whole encoder with a linear head.

The first implementation of the method protocol: no meta-training; `adapt`
trains encoder and head on the support set with AdamW and linear warmup.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from transformers import get_linear_schedule_with_warmup

from bench.backbone import load_encoder, load_tokenizer
from bench.data import LabeledSet
from bench.encoding import batches, encode_labeled, first_subword_positions, word_predictions
from bench.methods import METHODS
from bench.models import EncoderWithHead, classification_loss
from bench.protocol import Method, MethodContext, Prediction, Predictor
from bench.seeding import numpy_rng

logger = logging.getLogger(__name__)


class HeadPredictor(Predictor):
    """Predictions and losses of an `EncoderWithHead` in evaluation mode."""

    def __init__(self, model: EncoderWithHead, tokenizer, max_length: int, batch_size: int, info: dict[str, Any]) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.info = info

    def logits(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Score one tokenised batch; subclasses substitute other weights here."""
        return self.model(batch)

    @torch.no_grad()
    def predict(self, data: LabeledSet) -> Prediction:
        outside = data.label_names.index("O") if data.is_ner and "O" in data.label_names else 0
        predictions: list = []
        for chunk in batches(len(data), self.batch_size):
            part = data.subset(chunk)
            batch, _ = encode_labeled(self.tokenizer, part, self.max_length)
            logits = self.logits(batch)
            if data.is_ner:
                positions = first_subword_positions(self.tokenizer, part, self.max_length)
                predictions.extend(word_predictions(logits, positions, outside))
            else:
                predictions.extend(logits.argmax(-1).tolist())
        return predictions

    @torch.no_grad()
    def loss(self, data: LabeledSet) -> float:
        return evaluate_loss(self.model, self.tokenizer, data, self.max_length, self.batch_size)


def evaluate_loss(model: EncoderWithHead, tokenizer, data: LabeledSet, max_length: int, batch_size: int) -> float:
    """Mean cross-entropy over batches, with the model in evaluation mode."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for chunk in batches(len(data), batch_size):
            batch, labels = encode_labeled(tokenizer, data.subset(chunk), max_length)
            total += classification_loss(model(batch), labels).item() * len(chunk)
            count += len(chunk)
    model.train(was_training)
    return total / max(count, 1)


def train_supervised(
    model: EncoderWithHead,
    tokenizer,
    support: LabeledSet,
    *,
    seed: int,
    epochs: int,
    min_steps: int,
    batch_size: int,
    learning_rate: float,
    head_learning_rate: float,
    weight_decay: float,
    warmup_ratio: float,
    max_length: int,
) -> list[float]:
    """Train `model` on `support` with AdamW and linear warmup; return the loss per step.

    Dropout draws from torch's global generator, so training runs inside
    `fork_rng`, seeded from `seed`, which restores the caller's state after.
    """
    order_rng = numpy_rng(seed)
    head_params = list(model.head.parameters())
    head_ids = {id(p) for p in head_params}
    body_params = [p for p in model.parameters() if id(p) not in head_ids and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [
            {"params": body_params, "lr": learning_rate},
            {"params": head_params, "lr": head_learning_rate},
        ],
        weight_decay=weight_decay,
    )
    steps_per_epoch = -(-len(support) // batch_size)
    # A small support set (a dozen NER sentences) gives few steps per epoch, so add epochs up to min_steps.
    epochs = max(epochs, -(-min_steps // steps_per_epoch))
    total_steps = max(1, epochs * steps_per_epoch)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total_steps), total_steps)
    losses: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.train()
        for _ in range(epochs):
            order = order_rng.permutation(len(support)).tolist()
            for start in range(0, len(order), batch_size):
                batch, labels = encode_labeled(tokenizer, support.subset(order[start : start + batch_size]), max_length)
                loss = classification_loss(model(batch), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
    model.eval()
    return losses


@METHODS.register("finetune")
class FineTune(Method):
    """Fine-tune the whole pretrained encoder and a new linear head on the support set."""

    name = "finetune"
    defaults: ClassVar[dict[str, Any]] = {
        "epochs": 10,
        "min_steps": 30,
        "batch_size": 8,
        "learning_rate": 5e-5,
        "head_learning_rate": 1e-3,
        "weight_decay": 0.01,
        "warmup_ratio": 0.1,
        "dropout": 0.1,
        "eval_batch_size": 64,
    }

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        hp = self.hyperparameters
        tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # head initialisation
            model = EncoderWithHead(
                load_encoder(context.backbone, context.backbone_revision),
                support.num_labels,
                token_level=support.is_ner,
                dropout=hp["dropout"],
            )
        initial = evaluate_loss(model, tokenizer, support, context.max_seq_length, hp["eval_batch_size"])
        losses = train_supervised(
            model,
            tokenizer,
            support,
            seed=seed,
            epochs=hp["epochs"],
            min_steps=hp["min_steps"],
            batch_size=hp["batch_size"],
            learning_rate=hp["learning_rate"],
            head_learning_rate=hp["head_learning_rate"],
            weight_decay=hp["weight_decay"],
            warmup_ratio=hp["warmup_ratio"],
            max_length=context.max_seq_length,
        )
        logger.debug("finetune: %d steps, first loss %.4f, last loss %.4f", len(losses), losses[0], losses[-1])
        info = {"initial_support_loss": initial, "final_train_loss": losses[-1], "steps": len(losses)}
        return HeadPredictor(model, tokenizer, context.max_seq_length, hp["eval_batch_size"], info)
