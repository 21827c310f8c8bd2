"""Guard against meta-training on the classes a method is evaluated on."""

from __future__ import annotations

from collections.abc import Iterable

from bench.protocol import MetaTrainingData


def meta_training_classes(data: MetaTrainingData) -> dict[str, set[str]]:
    """Map each class name in the meta-training and meta-validation sets to the sources that contain it."""
    sources: dict[str, set[str]] = {}
    for group, sets in (("tasks", data.tasks), ("validation", data.validation)):
        for name, labeled in sets.items():
            for label in labeled.label_names:
                sources.setdefault(label, set()).add(f"{group}/{name}")
    return sources


def check_disjoint(data: MetaTrainingData, evaluation_classes: Iterable[str]) -> None:
    """Raise ValueError when a meta-training or meta-validation class is also an evaluation class.

    Names are compared exactly, so the caller passes class names in the form
    the meta-training data uses (for example with a source prefix).
    """
    sources = meta_training_classes(data)
    overlap = sorted(set(evaluation_classes) & set(sources))
    if overlap:
        details = "; ".join(f"{label!r} in {', '.join(sorted(sources[label]))}" for label in overlap)
        raise ValueError(
            f"meta-training data contains evaluation classes: {details}; "
            "remove these classes from the meta-training split or from the evaluation tasks"
        )
