"""The task registry facts that validation needs, behind a small interface.

Validation reads task versions, checksums, label names and evaluation gold
labels only through a `RegistryView`, so tests can inject a fixed view and
the command line can use the real registry (`TaskRegistryView`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bench.data import Task, TaskKind

if TYPE_CHECKING:
    from bench.submission.spec import LeaderboardSpec

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


@dataclass(frozen=True)
class EvaluationGold:
    """The examples one cell is scored on: the sampling protocol, the label names its indices refer to, and gold labels by id."""

    protocol: str
    label_names: tuple[str, ...]
    gold: Mapping[str, Gold]


class RegistryViewError(RuntimeError):
    """The registry could not provide a task's facts or gold labels (for example, missing data files)."""


class RegistryView(Protocol):
    def reference(self, task: str) -> TaskReference | None:
        """Return the task's registry facts, or None when no such task is registered."""

    def evaluation_gold(self, task: str, k: int, split: int, root_seed: int, spec: LeaderboardSpec) -> EvaluationGold:
        """Return the evaluation examples of cell (task, k, split) as the runner samples them."""


@dataclass
class StaticRegistryView:
    """A fixed view for tests and offline checks: every cell of a task gets the same gold labels."""

    references: dict[str, TaskReference]
    gold: dict[str, dict[str, Gold]]

    def reference(self, task: str) -> TaskReference | None:
        return self.references.get(task)

    def evaluation_gold(self, task: str, k: int, split: int, root_seed: int, spec: LeaderboardSpec) -> EvaluationGold:
        if task not in self.gold or task not in self.references:
            raise RegistryViewError(f"no gold labels for task {task!r} in this static registry view")
        reference = self.references[task]
        protocol = "ner-greedy" if reference.kind == "ner" else "kshot"
        return EvaluationGold(protocol, reference.label_names, self.gold[task])


@dataclass
class TaskRegistryView:
    """The real registry: specs from `tasks.load_specs(tasks_dir)`, data from `tasks.load_task`.

    Tasks are loaded on first use and cached. Each cell's evaluation set is
    built by `bench.cells.build_cell_data`, as in the runner, so the expected
    example ids follow from the submission's root seed and the spec's
    sampling settings (eval_size, episode_ways, episode_queries).
    """

    data_dir: Path | None = None
    tasks_dir: Path | None = None
    _specs: Any = field(default=None, init=False, repr=False)
    _tasks: dict[str, Task] = field(default_factory=dict, init=False, repr=False)

    def _registry(self) -> Any:
        if self._specs is None:
            import tasks  # the task registry package; imported late so tests need not load it

            self._specs = tasks.load_specs(self.tasks_dir)
        return self._specs

    def _task(self, name: str) -> Task:
        if name not in self._tasks:
            import tasks
            from tasks.errors import TaskLoadError

            spec = self._registry().get(name)
            try:
                self._tasks[name] = tasks.load_task(spec, self.data_dir)
            except (TaskLoadError, OSError, ValueError) as error:
                raise RegistryViewError(f"task {name!r} could not be loaded: {error}") from error
        return self._tasks[name]

    def registered_kind(self, task: str) -> TaskKind | None:
        """Return a task's kind from its spec alone (no data files needed), or None when unregistered."""
        if task not in self._registry():
            return None
        return self._registry().get(task).kind

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

    def evaluation_gold(self, task: str, k: int, split: int, root_seed: int, spec: LeaderboardSpec) -> EvaluationGold:
        from bench.cells import build_cell_data
        from bench.profiles import Profile
        from bench.records import CellId
        from bench.sampling import SamplingError

        # Only the sampling settings of the profile matter to build_cell_data.
        profile = Profile(
            name=spec.name,
            description=spec.description,
            tasks=tuple(spec.tasks),
            shots=tuple(spec.shots),
            splits=len(spec.splits),
            methods=(),
            eval_size=spec.eval_size,
            episode_ways=spec.episode_ways,
            episode_queries=spec.episode_queries,
        )
        cell = CellId(task=task, k=k, split=split, method="submission")
        try:
            data = build_cell_data(self._task(task), cell, profile, root_seed)
        except SamplingError as error:
            raise RegistryViewError(f"cell {task} k={k} split={split} cannot be sampled: {error}") from error
        sample = data.evaluation
        if sample.is_ner:
            gold: dict[str, Gold] = {example_id: tuple(tags) for example_id, tags in zip(sample.ids, sample.tags)}
        else:
            gold = dict(zip(sample.ids, sample.labels))
        return EvaluationGold(data.protocol, tuple(sample.label_names), gold)
