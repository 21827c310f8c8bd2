"""What validation needs from the task registry, behind a small interface.

Validation reads task versions, checksums, label names and evaluation gold
labels only through a `RegistryView`, so tests can inject a fixed view and
the command line can use the real registry (`TaskRegistryView`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.data import Task, TaskKind

logger = logging.getLogger(__name__)

# A sentence task's label index, or an NER sentence's tag indices (one per word).
Gold = int | tuple[int, ...]


@dataclass(frozen=True)
class TaskReference:
    """The registry's facts about one task."""

    name: str
    version: str
    kind: TaskKind
    label_names: tuple[str, ...]
    checksums: Mapping[str, str]


class RegistryViewError(RuntimeError):
    """The registry could not provide a task's facts or gold labels (for example, missing data files)."""


class RegistryView(Protocol):
    def reference(self, task: str) -> TaskReference | None:
        """Return the task's registry facts, or None when no such task is registered."""

    def evaluation_gold(self, task: str, eval_size: int | None, root_seed: int) -> Mapping[str, Gold]:
        """Return gold labels by example id for the evaluation sample every cell is scored on."""


@dataclass
class StaticRegistryView:
    """A fixed view for tests and offline checks: the same gold mapping for any sample size and seed."""

    references: dict[str, TaskReference]
    gold: dict[str, dict[str, Gold]]

    def reference(self, task: str) -> TaskReference | None:
        return self.references.get(task)

    def evaluation_gold(self, task: str, eval_size: int | None, root_seed: int) -> Mapping[str, Gold]:
        try:
            return self.gold[task]
        except KeyError:
            raise RegistryViewError(f"no gold labels for task {task!r} in this static registry view") from None


@dataclass
class TaskRegistryView:
    """The real registry: specs from `tasks.load_specs()`, data from `tasks.load_task`.

    Tasks are loaded on first use and cached. The evaluation sample is drawn
    with `bench.sampling.evaluation_sample`, the sampler the runner uses, so
    the expected example ids follow from the submission's root seed.
    """

    data_dir: Path | None = None
    _specs: Any = field(default=None, init=False, repr=False)
    _tasks: dict[str, Task] = field(default_factory=dict, init=False, repr=False)

    def _registry(self) -> Any:
        if self._specs is None:
            import tasks  # the task registry package; imported late so tests need not load it

            self._specs = tasks.load_specs()
        return self._specs

    def _task(self, name: str) -> Task:
        if name not in self._tasks:
            import tasks

            spec = self._registry().get(name)
            try:
                self._tasks[name] = tasks.load_task(spec, self.data_dir)
            except (OSError, ValueError) as error:
                raise RegistryViewError(f"task {name!r} could not be loaded: {error}") from error
        return self._tasks[name]

    def reference(self, task: str) -> TaskReference | None:
        if task not in self._registry():
            return None
        loaded = self._task(task)
        return TaskReference(
            name=loaded.name,
            version=loaded.version,
            kind=loaded.kind,
            label_names=tuple(loaded.label_names),
            checksums=dict(loaded.checksums),
        )

    def evaluation_gold(self, task: str, eval_size: int | None, root_seed: int) -> Mapping[str, Gold]:
        from bench.sampling import evaluation_sample

        sample = evaluation_sample(self._task(task), eval_size, root_seed)
        if sample.is_ner:
            return {example_id: tuple(tags) for example_id, tags in zip(sample.ids, sample.tags)}
        return dict(zip(sample.ids, sample.labels))
