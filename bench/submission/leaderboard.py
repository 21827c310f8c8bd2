"""Ranking validated submissions: per-task scores, per-task ranks and the average rank."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.submission.loading import Limits
from bench.submission.registry_view import RegistryView
from bench.submission.schema import MethodMetadata, Submission
from bench.submission.spec import LeaderboardSpec, SpecError
from bench.submission.validate import ValidationResult, validate_file

logger = logging.getLogger(__name__)

SUBMISSION_SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True)
class Column:
    """One ranked column: a task at one k, scored by the spec's metric for the task's kind."""

    task: str
    k: int
    metric: str

    @property
    def label(self) -> str:
        return f"{self.task} k={self.k} ({self.metric})"


@dataclass
class RankedEntry:
    """A valid submission's place on the leaderboard.

    `scores[column]` is the ranking metric's mean over the spec's splits and
    `ranks[column]` the rank among all valid submissions (1 is best, ties share
    the mean of their positions).
    """

    source: str
    method: MethodMetadata
    scores: dict[Column, float]
    ranks: dict[Column, float] = field(default_factory=dict)
    average_rank: float = 0.0
    position: int = 0


@dataclass
class Leaderboard:
    spec: LeaderboardSpec
    columns: list[Column]
    entries: list[RankedEntry]
    invalid: list[ValidationResult]


def submission_paths(directory: Path) -> list[Path]:
    """Return the submission files (`*.json`, `*.json.gz`) directly inside a folder, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"submissions folder {directory} not found")
    paths = []
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name.endswith(SUBMISSION_SUFFIXES):
            paths.append(path)
        else:
            logger.info("skipping %s: not a .json or .json.gz file", path)
    return paths


def _columns(spec: LeaderboardSpec, submissions: list[Submission]) -> list[Column]:
    columns = []
    for task in spec.tasks:
        kinds = {submission.tasks[task].kind for submission in submissions if task in submission.tasks}
        if not kinds:
            continue
        # Validation compared every kind with the registry, so valid submissions agree.
        (kind,) = kinds
        if kind not in spec.ranking_metric:
            raise SpecError(
                f"leaderboard {spec.name!r} has no ranking metric for task kind {kind!r} (task {task}); "
                f"add one under ranking_metric"
            )
        columns.extend(Column(task, k, spec.ranking_metric[kind]) for k in spec.shots)
    return columns


def _column_score(submission: Submission, column: Column, splits: list[int]) -> float:
    by_key = {cell.key(): cell for cell in submission.cells}
    return statistics.fmean(by_key[(column.task, column.k, split)].metrics[column.metric] for split in splits)


def _average_ranks(values: list[float]) -> list[float]:
    """Rank values so that the highest gets 1; tied values share the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for i in order[start : end + 1]:
            ranks[i] = shared
        start = end + 1
    return ranks


def rank_submissions(valid: list[tuple[str, Submission]], spec: LeaderboardSpec) -> tuple[list[Column], list[RankedEntry]]:
    """Score and rank valid submissions; entries come back best first."""
    columns = _columns(spec, [submission for _, submission in valid])
    entries = [
        RankedEntry(
            source=source,
            method=submission.method,
            scores={column: _column_score(submission, column, spec.splits) for column in columns},
        )
        for source, submission in valid
    ]
    for column in columns:
        for entry, rank in zip(entries, _average_ranks([entry.scores[column] for entry in entries])):
            entry.ranks[column] = rank
    for entry in entries:
        entry.average_rank = statistics.fmean(entry.ranks.values()) if columns else 0.0

    entries.sort(key=lambda entry: (entry.average_rank, entry.method.name, entry.source))
    for index, entry in enumerate(entries):
        tied = index > 0 and entry.average_rank == entries[index - 1].average_rank
        entry.position = entries[index - 1].position if tied else index + 1
    return columns, entries


def build_leaderboard(
    paths: list[Path], spec: LeaderboardSpec, registry: RegistryView, limits: Limits | None = None
) -> Leaderboard:
    """Validate every submission file and rank the valid ones; invalid ones keep their problems."""
    valid: list[tuple[str, Submission]] = []
    invalid: list[ValidationResult] = []
    for path in paths:
        result = validate_file(path, spec, registry, limits)
        if result.ok and result.submission is not None:
            valid.append((Path(path).name, result.submission))
        else:
            logger.warning("%s is invalid (%d problems)", path, len(result.problems))
            result.source = Path(path).name
            invalid.append(result)
    columns, entries = rank_submissions(valid, spec)
    return Leaderboard(spec=spec, columns=columns, entries=entries, invalid=invalid)
