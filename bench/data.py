"""Data types that cross the boundary between tasks, samplers and methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TaskKind = Literal["classification", "sentiment", "ner"]
TASK_KINDS: tuple[TaskKind, ...] = ("classification", "sentiment", "ner")


@dataclass(frozen=True)
class LabeledSet:
    """A set of labeled examples for one task.

    Sentence tasks (classification, sentiment): `texts[i]` is the input,
    `text_pairs[i]` the optional second segment (entailment, entity typing),
    and `labels[i]` an index into `label_names`.

    NER: `tokens[i]` is the word sequence and `tags[i]` the per-word indices
    into `label_names`, which then lists BIO tags (`O`, `B-x`, `I-x`, ...).

    `ids[i]` is a stable identifier, unique within the task, used to pair
    predictions across methods and to check train/evaluation overlap.
    """

    kind: TaskKind
    label_names: tuple[str, ...]
    ids: tuple[str, ...]
    texts: tuple[str, ...] = ()
    text_pairs: tuple[str, ...] | None = None
    labels: tuple[int, ...] = ()
    tokens: tuple[tuple[str, ...], ...] = ()
    tags: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.kind == "ner":
            if len(self.tokens) != n or len(self.tags) != n:
                raise ValueError("NER set needs one token and tag sequence per id")
        else:
            if len(self.texts) != n or len(self.labels) != n:
                raise ValueError("sentence set needs one text and label per id")
            if self.text_pairs is not None and len(self.text_pairs) != n:
                raise ValueError("text_pairs must have one entry per id")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def is_ner(self) -> bool:
        return self.kind == "ner"

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def subset(self, indices: list[int] | tuple[int, ...]) -> LabeledSet:
        """Return the examples at `indices`, in that order."""
        pick = lambda seq: tuple(seq[i] for i in indices)  # noqa: E731
        if self.is_ner:
            return LabeledSet(
                kind=self.kind,
                label_names=self.label_names,
                ids=pick(self.ids),
                tokens=pick(self.tokens),
                tags=pick(self.tags),
            )
        return LabeledSet(
            kind=self.kind,
            label_names=self.label_names,
            ids=pick(self.ids),
            texts=pick(self.texts),
            text_pairs=pick(self.text_pairs) if self.text_pairs is not None else None,
            labels=pick(self.labels),
        )

    def relabel(self, keep: tuple[str, ...]) -> LabeledSet:
        """Keep only examples whose label is in `keep` and renumber labels 0..len(keep)-1.

        Used for N-way episodes and class splits; sentence tasks only.
        """
        if self.is_ner:
            raise ValueError("relabel applies to sentence tasks, not NER")
        position = {name: i for i, name in enumerate(keep)}
        indices = [i for i, y in enumerate(self.labels) if self.label_names[y] in position]
        chosen = self.subset(indices)
        return LabeledSet(
            kind=self.kind,
            label_names=keep,
            ids=chosen.ids,
            texts=chosen.texts,
            text_pairs=chosen.text_pairs,
            labels=tuple(position[self.label_names[y]] for y in chosen.labels),
        )


@dataclass(frozen=True)
class ClassSplit:
    """Disjoint class names for meta-training, meta-validation and meta-testing."""

    meta_train: tuple[str, ...]
    meta_val: tuple[str, ...]
    meta_test: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    """A loaded, validated task.

    `train` is the pool that few-shot training sets are drawn from and
    `evaluation` the held-out data. `official_splits[(k, i)]`, when present,
    is a published k-shot training set (LEOPARD) used instead of sampling.
    """

    name: str
    version: str
    kind: TaskKind
    label_names: tuple[str, ...]
    train: LabeledSet
    evaluation: LabeledSet
    checksums: dict[str, str]
    protocols: tuple[str, ...]
    class_split: ClassSplit | None = None
    official_splits: dict[tuple[int, int], LabeledSet] = field(default_factory=dict)
    description: str = ""
