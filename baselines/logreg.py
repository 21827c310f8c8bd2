"""Frozen encoder plus scikit-learn logistic regression.

Sentence tasks: logistic regression on mean-pooled embeddings. NER: per-token
logistic regression on the first-subword state of every word. The encoder
never trains, so embeddings are cached per text within one method instance
(the evaluation sample repeats across splits).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from baselines._episodic import embed_sentences, embed_words, uniform_loss, word_mask
from bench.backbone import load_encoder, load_tokenizer
from bench.data import LabeledSet
from bench.protocol import Method, MethodContext, Prediction, Predictor
from bench.methods import METHODS

logger = logging.getLogger(__name__)

# Probability floor for classes the classifier never saw, so the log-loss stays finite.
MIN_PROBABILITY = 1e-12


class FrozenEmbedder:
    """A frozen encoder with a cache from input text (or word sequence) to its embedding."""

    def __init__(self, context: MethodContext, batch_size: int, normalize: bool) -> None:
        self.encoder = load_encoder(context.backbone, context.backbone_revision).eval()
        self.tokenizer = load_tokenizer(context.backbone, context.backbone_revision)
        self.max_length = context.max_seq_length
        self.batch_size = batch_size
        self.normalize = normalize
        self._sentences: dict[tuple[str, str | None], np.ndarray] = {}
        self._words: dict[tuple[str, ...], np.ndarray] = {}

    def _finish(self, vectors: torch.Tensor) -> np.ndarray:
        if self.normalize:
            vectors = torch.nn.functional.normalize(vectors, dim=-1)
        return vectors.numpy().astype(np.float64)

    def sentences(self, data: LabeledSet) -> np.ndarray:
        """Embeddings [B, H] of sentence (or sentence-pair) inputs."""
        pairs = data.text_pairs if data.text_pairs is not None else (None,) * len(data)
        keys = list(zip(data.texts, pairs))
        missing = [i for i, key in enumerate(keys) if key not in self._sentences]
        if missing:
            computed = self._finish(embed_sentences(self.encoder, self.tokenizer, data.subset(missing), self.max_length, self.batch_size))
            for i, vector in zip(missing, computed):
                self._sentences[keys[i]] = vector
        return np.stack([self._sentences[key] for key in keys])

    def words(self, data: LabeledSet) -> list[np.ndarray]:
        """Per sentence, first-subword embeddings [words, H]; truncated words get a zero row."""
        keys = [tuple(sentence) for sentence in data.tokens]
        missing = [i for i, key in enumerate(keys) if key not in self._words]
        if missing:
            computed = embed_words(self.encoder, self.tokenizer, data.subset(missing), self.max_length, self.batch_size)
            for i, vectors in zip(missing, computed):
                self._words[keys[i]] = self._finish(vectors)
        return [self._words[key] for key in keys]


def flatten_words(embedder: FrozenEmbedder, data: LabeledSet) -> tuple[np.ndarray, np.ndarray, list[list[bool]]]:
    """Stack the vectors and tags of words that survived truncation; also return the kept-word mask."""
    kept = word_mask(embedder.tokenizer, data, embedder.max_length)
    rows, tags = [], []
    for vectors, sentence_tags, keep in zip(embedder.words(data), data.tags, kept):
        for vector, tag, survived in zip(vectors, sentence_tags, keep):
            if survived:
                rows.append(vector)
                tags.append(tag)
    width = embedder.encoder.config.hidden_size
    return (np.stack(rows) if rows else np.zeros((0, width))), np.asarray(tags, dtype=np.int64), kept


class LogRegPredictor(Predictor):
    def __init__(self, embedder: FrozenEmbedder, classifier: LogisticRegression | None, constant: int, num_labels: int, info: dict[str, Any]) -> None:
        self.embedder = embedder
        self.classifier = classifier
        # The only label of a single-class support set; used when there is no classifier.
        self.constant = constant
        self.num_labels = num_labels
        self.info = info

    def _probabilities(self, features: np.ndarray) -> np.ndarray:
        """Probabilities over all labels [B, C]; labels absent from the support set get MIN_PROBABILITY."""
        full = np.full((len(features), self.num_labels), MIN_PROBABILITY)
        if self.classifier is None:
            full[:, self.constant] = 1.0
        elif len(features):
            full[:, self.classifier.classes_] = np.maximum(self.classifier.predict_proba(features), MIN_PROBABILITY)
        return full

    def predict(self, data: LabeledSet) -> Prediction:
        if not data.is_ner:
            return self._probabilities(self.embedder.sentences(data)).argmax(-1).tolist()
        outside = data.label_names.index("O") if "O" in data.label_names else 0
        features, _, kept = flatten_words(self.embedder, data)
        best = iter(self._probabilities(features).argmax(-1).tolist())
        return [[next(best) if survived else outside for survived in keep] for keep in kept]

    def loss(self, data: LabeledSet) -> float:
        if data.is_ner:
            features, labels, _ = flatten_words(self.embedder, data)
        else:
            features, labels = self.embedder.sentences(data), np.asarray(data.labels)
        probabilities = self._probabilities(features)
        return float(-np.log(probabilities[np.arange(len(labels)), labels]).mean())


@METHODS.register("logreg")
class LogReg(Method):
    """Logistic regression on frozen-encoder embeddings (per sentence, or per word for NER)."""

    name = "logreg"
    defaults: ClassVar[dict[str, Any]] = {
        "C": 1.0,
        "max_iter": 1000,
        "normalize": False,
        "eval_batch_size": 64,
    }

    def __init__(self, **hyperparameters: Any) -> None:
        super().__init__(**hyperparameters)
        self._embedders: dict[tuple[str, str | None, int], FrozenEmbedder] = {}

    def embedder(self, context: MethodContext) -> FrozenEmbedder:
        key = (context.backbone, context.backbone_revision, context.max_seq_length)
        if key not in self._embedders:
            hp = self.hyperparameters
            self._embedders[key] = FrozenEmbedder(context, hp["eval_batch_size"], hp["normalize"])
        return self._embedders[key]

    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        hp = self.hyperparameters
        embedder = self.embedder(context)
        if support.is_ner:
            features, labels, _ = flatten_words(embedder, support)
        else:
            features, labels = embedder.sentences(support), np.asarray(support.labels, dtype=np.int64)
        classifier = None
        constant = int(labels[0]) if len(labels) else 0
        if len(np.unique(labels)) >= 2:
            # lbfgs is deterministic; random_state only matters for other solvers.
            classifier = LogisticRegression(C=hp["C"], max_iter=hp["max_iter"], random_state=seed % 2**32)
            classifier.fit(features, labels)
        else:
            logger.warning("logreg: support set has a single label (%d); predicting it everywhere", constant)
        info = {"initial_support_loss": uniform_loss(support.num_labels), "support_rows": int(len(labels))}
        return LogRegPredictor(embedder, classifier, constant, support.num_labels, info)
