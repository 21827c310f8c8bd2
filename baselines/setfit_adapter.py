"""SetFit (Tunstall et al., 2022) through the `setfit` package, on the benchmark's backbone.

SetFit fine-tunes the sentence encoder contrastively on pairs built from the
k-shot training set, then fits a logistic-regression head on its embeddings.
Sentence tasks only: SetFit classifies whole texts, so NER cells are skipped.
A sentence pair is joined with the tokenizer's separator token because
SetFit takes a single text per example.

`setfit` is optional. Without it the method still registers, `bench list`
shows it, and `adapt` raises an error that gives the install command.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import random
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import torch

from baselines._episodic import uniform_loss
from bench.backbone import resolve_backbone
from bench.data import LabeledSet
from bench.methods import METHODS
from bench.protocol import Method, MethodContext, Prediction, Predictor

logger = logging.getLogger(__name__)

MIN_PROBABILITY = 1e-12


# Packages SetFit 1.2.0 needs at training time beyond this project's own dependencies.
SETFIT_PACKAGES = ("setfit", "sentence_transformers", "accelerate")


@lru_cache(maxsize=1)
def setfit_available() -> bool:
    """Return whether `setfit` and the packages its trainer needs are installed.

    The packages are found, not imported, so the check is cheap.
    """
    return all(importlib.util.find_spec(package) is not None for package in SETFIT_PACKAGES)


@contextlib.contextmanager
def isolated_global_rng() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's global random state on exit.

    SetFit's trainer seeds all three global generators itself (through
    `transformers.set_seed`), so the adapter confines that to this block.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


def joined_texts(data: LabeledSet, separator: str) -> list[str]:
    if data.text_pairs is None:
        return list(data.texts)
    return [f"{text} {separator} {pair}" for text, pair in zip(data.texts, data.text_pairs)]


class SetFitPredictor(Predictor):
    def __init__(self, model, separator: str, num_labels: int, batch_size: int, info: dict[str, Any]) -> None:
        self.model = model
        self.separator = separator
        self.num_labels = num_labels
        self.batch_size = batch_size
        self.info = info

    def _probabilities(self, data: LabeledSet) -> np.ndarray:
        """Probabilities over all labels [B, C]; labels absent from the training set get MIN_PROBABILITY."""
        full = np.full((len(data), self.num_labels), MIN_PROBABILITY)
        if len(data):
            texts = joined_texts(data, self.separator)
            scores = self.model.predict_proba(texts, batch_size=self.batch_size, as_numpy=True, show_progress_bar=False)
            classes = np.asarray(self.model.model_head.classes_, dtype=np.int64)
            full[:, classes] = np.maximum(scores, MIN_PROBABILITY)
        return full

    def predict(self, data: LabeledSet) -> Prediction:
        return self._probabilities(data).argmax(-1).tolist()

    def loss(self, data: LabeledSet) -> float:
        probabilities = self._probabilities(data)
        return float(-np.log(probabilities[np.arange(len(data)), list(data.labels)]).mean())


@METHODS.register("setfit")
class SetFit(Method):
    """SetFit: contrastive fine-tuning of the sentence encoder, then a logistic-regression head."""

    name = "setfit"
    supported_kinds = frozenset({"classification", "sentiment"})
    unsupported_reason = "SetFit classifies whole texts and has no per-token head, so it cannot tag NER sequences"
    defaults: ClassVar[dict[str, Any]] = {
        # SetFit's own defaults (setfit 1.2.0): 20 pair iterations, 1 epoch, batch size 16.
        "num_iterations": 20,
        "num_epochs": 1,
        "batch_size": 16,
        "body_learning_rate": 2e-5,
        "eval_batch_size": 64,
    }

    @classmethod
    def availability(cls) -> str | None:
        return None if setfit_available() else "the optional package setfit is not installed (pip install -e '.[setfit]')"

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        if support.is_ner:
            raise ValueError(f"setfit: {self.unsupported_reason}")
        if not setfit_available():
            missing = [package for package in SETFIT_PACKAGES if importlib.util.find_spec(package) is None]
            raise RuntimeError(f"setfit: missing package(s) {missing}; run `pip install setfit` to use this method")
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments

        hp = self.hyperparameters
        context.cache_dir.mkdir(parents=True, exist_ok=True)
        # The trainer wants an output directory although nothing is saved; it goes away after training.
        with isolated_global_rng(), tempfile.TemporaryDirectory(prefix="setfit-", dir=context.cache_dir) as run_dir:
            torch.manual_seed(seed)  # the classifier head's and pair sampler's initial state
            model = SetFitModel.from_pretrained(
                resolve_backbone(context.backbone),
                revision=context.backbone_revision,
                device=context.device,
            )
            # The same truncation as every other method; prediction would otherwise use the body's 256 tokens.
            model.model_body.max_seq_length = context.max_seq_length
            separator = model.model_body.tokenizer.sep_token or "|"
            arguments = TrainingArguments(
                output_dir=run_dir,
                batch_size=hp["batch_size"],
                num_epochs=hp["num_epochs"],
                num_iterations=hp["num_iterations"],
                body_learning_rate=hp["body_learning_rate"],
                max_length=context.max_seq_length,
                seed=seed % 2**32,
                report_to="none",
                save_strategy="no",
                logging_strategy="no",
                eval_strategy="no",
                show_progress_bar=False,
            )
            train = Dataset.from_dict({"text": joined_texts(support, separator), "label": list(support.labels)})
            trainer = Trainer(model=model, args=arguments, train_dataset=train)
            trainer.train()
        info = {"initial_support_loss": uniform_loss(support.num_labels)}
        return SetFitPredictor(model, separator, support.num_labels, hp["eval_batch_size"], info)
