"""The method protocol that fine-tuning, MAML, ProtoNet and the meta-learner implement.

A method is built from its hyperparameters only. The runner then calls
`meta_train` once per run (a no-op for methods that do not meta-learn) and,
for every cell, `adapt` on the support set, which returns a `Predictor` for
the evaluation set. Methods must not touch global random state: all
randomness comes from the `seed` argument.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from bench.data import LabeledSet, TaskKind

# Sentence tasks: one label index per example. NER: one tag index per word.
Prediction = list[int] | list[list[int]]


@dataclass(frozen=True)
class MetaTrainingData:
    """Data a method may meta-train on; never contains an evaluation task or class.

    `tasks` maps a source name (for example `clinc150`) to its meta-training
    classes, `validation` to its meta-validation classes, and `unlabeled`
    contains sentences for self-supervised tasks.
    """

    tasks: dict[str, LabeledSet]
    validation: dict[str, LabeledSet]
    unlabeled: tuple[str, ...] = ()
    ner_tasks: dict[str, LabeledSet] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class MethodContext:
    """Settings the runner passes to a method: backbone, caches, device, seed, data."""

    backbone: str
    cache_dir: Path
    output_dir: Path
    root_seed: int
    device: str = "cpu"
    max_seq_length: int = 128
    meta_data: Callable[[], MetaTrainingData] | None = None
    backbone_revision: str | None = None


class Predictor(ABC):
    """A model adapted to one support set."""

    # Method-specific facts stored in the run record (chosen candidate, scores).
    # Every predictor sets info["initial_support_loss"]: the support-set loss before adaptation
    # (log C for methods that start from no classifier); the conformance test checks adaptation lowered it.
    info: dict[str, Any]

    @abstractmethod
    def predict(self, data: LabeledSet) -> Prediction:
        """Predict a label per example, or a tag per word for NER."""

    @abstractmethod
    def loss(self, data: LabeledSet) -> float:
        """Return the mean cross-entropy on labeled data (used by tests and selection)."""


class Method(ABC):
    """Base class for every registered method."""

    name: ClassVar[str]
    supported_kinds: ClassVar[frozenset[TaskKind]] = frozenset({"classification", "sentiment", "ner"})
    # Why a kind is unsupported, shown by `bench list` and logged by the runner.
    unsupported_reason: ClassVar[str] = ""

    def __init__(self, **hyperparameters: Any) -> None:
        self._hyperparameters = dict(hyperparameters)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self._hyperparameters)

    def supports(self, kind: TaskKind) -> bool:
        return kind in self.supported_kinds

    @classmethod
    def availability(cls) -> str | None:
        """Return why the method cannot run here (a missing optional package), or None."""
        return None

    def meta_train(self, context: MethodContext) -> dict[str, Any]:
        """Meta-train once per run; return facts for the run records. Default: nothing to do."""
        return {}

    @abstractmethod
    def adapt(self, support: LabeledSet, seed: int, context: MethodContext) -> Predictor:
        """Adapt to a support set and return a predictor."""
