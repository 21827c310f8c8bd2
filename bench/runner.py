"""The run grid: every (task, k, split, method) cell, one run record each.

Cells whose record already exists and is valid are skipped, so an
interrupted run resumes where it stopped. Cells run in one process through
`LocalExecutor`; another executor (process pool, cluster) can replace it
without changing how cells are planned or recorded.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from bench import __version__
from bench.cells import CellData, build_cell_data
from bench.data import Task
from bench.environment import environment, git_commit
from bench.methods import build_method
from bench.metrics import compute_metrics
from bench.profiles import Profile
from bench.protocol import MetaTrainingData, Method, MethodContext
from bench.records import (
    CellId,
    ExamplePrediction,
    MethodInfo,
    RecordError,
    RunRecord,
    Seeds,
    TaskInfo,
    read_record,
    write_record,
)
from bench.sampling import SamplingError
from bench.seeding import derive_seed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunConfig:
    profile: Profile
    tasks: tuple[str, ...]
    methods: tuple[str, ...]
    shots: tuple[int, ...]
    splits: tuple[int, ...]
    root_seed: int
    output_dir: Path
    cache_dir: Path
    backbone: str
    backbone_revision: str | None = None
    device: str = "cpu"
    force: bool = False


@dataclass
class RunOutcome:
    written: list[CellId] = field(default_factory=list)
    reused: list[CellId] = field(default_factory=list)
    skipped: list[tuple[CellId, str]] = field(default_factory=list)
    failed: list[tuple[CellId, str]] = field(default_factory=list)


def check_meta_training_data(data: MetaTrainingData, tasks: list[Task]) -> None:
    """Raise ValueError when meta-training data shares a class or a labeled text with an evaluation task.

    Classes are compared within a source of the same name (a class-split
    task evaluates on its meta-test classes only). Unlabeled sentences are
    checked too but only logged, since a short sentence can recur in
    unrelated corpora by chance.
    """

    def normalise(text: str) -> str:
        return " ".join(text.split()).casefold()

    labeled_texts: set[str] = set()
    for group in (data.tasks, data.validation):
        for name, labeled in group.items():
            labeled_texts.update(normalise(t) for t in labeled.texts)
            for task in tasks:
                if task.name == name and set(labeled.label_names) & set(task.label_names):
                    shared = sorted(set(labeled.label_names) & set(task.label_names))
                    raise ValueError(
                        f"meta-training source {name!r} contains evaluation classes {shared[:5]} of task "
                        f"{task.name!r}; fix the class split in the task spec so the groups are disjoint"
                    )
    unlabeled = {normalise(t) for t in data.unlabeled}
    for task in tasks:
        if task.kind == "ner":
            continue
        evaluation = {normalise(t) for t in task.evaluation.texts}
        if evaluation & labeled_texts:
            raise ValueError(
                f"meta-training data contains {len(evaluation & labeled_texts)} evaluation texts of task "
                f"{task.name!r}; remove them from the meta-training sources"
            )
        if evaluation & unlabeled:
            logger.warning(
                "%d evaluation texts of %s also occur among the unlabeled meta-training sentences",
                len(evaluation & unlabeled), task.name,
            )


def write_json_atomic(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


class LocalExecutor:
    """Run cells one after another in this process."""

    def map(self, function: Callable[[Any], Any], items: Iterable[Any], total: int) -> None:
        for item in tqdm(items, total=total, desc="cells", unit="cell"):
            function(item)


class Runner:
    def __init__(self, config: RunConfig, tasks: list[Task], meta_data: Callable[[], MetaTrainingData]) -> None:
        self.config = config
        self.tasks = {task.name: task for task in tasks}
        self._meta_source = meta_data
        self._meta_checked: MetaTrainingData | None = None
        self.outcome = RunOutcome()
        self._methods: dict[str, Method] = {}
        self._meta_trained: set[str] = set()

    def meta_data(self) -> MetaTrainingData:
        """Load the meta-training data once and check it against this run's evaluation tasks."""
        if self._meta_checked is None:
            data = self._meta_source()
            check_meta_training_data(data, list(self.tasks.values()))
            self._meta_checked = data
        return self._meta_checked

    def context(self) -> MethodContext:
        config = self.config
        return MethodContext(
            backbone=config.backbone,
            backbone_revision=config.backbone_revision,
            cache_dir=config.cache_dir,
            output_dir=config.output_dir,
            root_seed=config.root_seed,
            device=config.device,
            max_seq_length=config.profile.max_seq_length,
            meta_data=self.meta_data,
        )

    def cells(self) -> list[CellId]:
        config = self.config
        return [
            CellId(task=task, k=k, split=split, method=method)
            for task in config.tasks
            if task in self.tasks
            for k in config.shots
            for split in config.splits
            for method in config.methods
        ]

    def method(self, name: str) -> Method:
        if name not in self._methods:
            overrides = self.config.profile.method_params.get(name, {})
            self._methods[name] = build_method(name, overrides)
        return self._methods[name]

    def ensure_meta_trained(self, name: str) -> None:
        """Meta-train a method once per run, the first time one of its cells runs."""
        if name in self._meta_trained:
            return
        self._meta_trained.add(name)
        started = time.perf_counter()
        facts = self.method(name).meta_train(self.context())
        if facts:
            facts = {**facts, "wall_time_s": time.perf_counter() - started}
            write_json_atomic(self.config.output_dir / "meta_training" / f"{name}.json", facts)

    def run(self) -> RunOutcome:
        cells = self.cells()
        self.write_manifest(status="running")
        LocalExecutor().map(self.run_cell, cells, total=len(cells))
        self.write_manifest(status="finished")
        return self.outcome

    def run_cell(self, cell: CellId) -> None:
        path = self.config.output_dir / cell.relative_path()
        task = self.tasks[cell.task]
        method = self.method(cell.method)
        if path.exists() and not self.config.force:
            try:
                stale = self.stale_reason(read_record(path), task, method)
            except RecordError as error:
                stale = str(error)
            if stale is None:
                self.outcome.reused.append(cell)
                return
            logger.warning("rerunning cell %s: %s", cell.key(), stale)
        if not method.supports(task.kind):
            reason = method.unsupported_reason or f"{cell.method} does not support {task.kind} tasks"
            logger.info("skipping %s: %s", cell.key(), reason)
            self.outcome.skipped.append((cell, reason))
            return
        try:
            self.ensure_meta_trained(cell.method)
            record = self.evaluate(cell, task, method)
        except SamplingError as error:  # bad request (too many shots), not a bug: no traceback
            logger.error("cell %s failed: %s", cell.key(), error)
            self.outcome.failed.append((cell, f"{type(error).__name__}: {error}"))
            return
        except Exception as error:  # one broken cell must not lose the rest of the run
            logger.exception("cell %s failed", cell.key())
            self.outcome.failed.append((cell, f"{type(error).__name__}: {error}"))
            return
        write_record(self.config.output_dir, record)
        self.outcome.written.append(cell)

    def stale_reason(self, record: RunRecord, task: Task, method: Method) -> str | None:
        """Say why an existing record does not belong to this run's settings, or return None."""
        if record.seeds.root != self.config.root_seed:
            return f"record has root seed {record.seeds.root}, this run uses {self.config.root_seed}"
        if record.task.version != task.version or record.task.checksums != task.checksums:
            return "record was made from another task version or data files"
        if json.loads(json.dumps(method.hyperparameters)) != record.method.hyperparameters:
            return "record was made with other hyperparameters"
        return None

    def evaluate(self, cell: CellId, task: Task, method: Method) -> RunRecord:
        config = self.config
        data: CellData = build_cell_data(task, cell, config.profile, config.root_seed)
        seed = derive_seed(config.root_seed, cell.task, cell.k, cell.split, cell.method)
        started = time.perf_counter()
        predictor = method.adapt(data.support, seed, self.context())
        predictions = predictor.predict(data.evaluation)
        wall_time = time.perf_counter() - started
        gold = list(data.evaluation.tags if task.kind == "ner" else data.evaluation.labels)
        gold = [list(g) for g in gold] if task.kind == "ner" else gold
        metrics = compute_metrics(task.kind, gold, predictions, data.evaluation.label_names)
        return RunRecord(
            suite_version=__version__,
            git_commit=git_commit(),
            profile=config.profile.name,
            cell=cell,
            task=TaskInfo(
                name=task.name,
                version=task.version,
                kind=task.kind,
                label_names=list(data.evaluation.label_names),
                checksums=dict(task.checksums),
                protocol=data.protocol,
            ),
            method=MethodInfo(name=cell.method, hyperparameters=method.hyperparameters),
            seeds=Seeds(root=config.root_seed, cell=seed),
            support_ids=list(data.support.ids),
            predictions=[
                ExamplePrediction(id=example_id, gold=g, pred=p)
                for example_id, g, p in zip(data.evaluation.ids, gold, predictions, strict=True)
            ],
            metrics=metrics,
            wall_time_s=wall_time,
            environment=environment(config.device),
            extra=dict(getattr(predictor, "info", {}) or {}),
        )

    def write_manifest(self, status: str) -> None:
        config = self.config
        manifest = {
            "status": status,
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "suite_version": __version__,
            "git_commit": git_commit(),
            "profile": config.profile.name,
            "root_seed": config.root_seed,
            "tasks": list(config.tasks),
            "loaded_tasks": sorted(self.tasks),
            "methods": list(config.methods),
            "shots": list(config.shots),
            "splits": list(config.splits),
            "backbone": config.backbone,
            "backbone_revision": config.backbone_revision,
            "environment": environment(config.device).model_dump(),
            "skipped": [{"cell": c.model_dump(), "reason": r} for c, r in self.outcome.skipped],
            "failed": [{"cell": c.model_dump(), "reason": r} for c, r in self.outcome.failed],
        }
        write_json_atomic(config.output_dir / "run.json", manifest)
