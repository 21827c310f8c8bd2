"""Validation of an untrusted submission against a leaderboard spec and the task registry.

Every check runs and every problem is collected, so one pass lists
everything the submitter has to fix. Claimed scores are never trusted: each cell is
re-scored from its predictions against the registry's gold labels.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bench.metrics import compute_metrics
from bench.records import ExamplePrediction
from bench.submission.loading import Limits, SubmissionReadError, parse_submission_json, read_submission_text
from bench.submission.problems import Problem
from bench.submission.registry_view import EvaluationGold, Gold, RegistryView, RegistryViewError, TaskReference
from bench.submission.schema import CellScores, Submission
from bench.submission.spec import LeaderboardSpec

# Claimed and re-computed scores come from the same code and JSON keeps
# every float digit, so honest scores agree exactly. The tolerance only
# absorbs a different summation order in another implementation.
SCORE_TOLERANCE = 1e-9
# Per cell and defect, list at most this many example ids in a message.
MAX_IDS_SHOWN = 5


@dataclass
class ValidationResult:
    """The outcome for one submission file: the parsed submission when it parsed, and every problem."""

    source: str
    submission: Submission | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_file(path: Path, spec: LeaderboardSpec, registry: RegistryView, limits: Limits | None = None) -> ValidationResult:
    """Read a submission file within `limits`, then check its schema and content."""
    limits = limits or Limits()
    source = str(path)
    try:
        text = read_submission_text(Path(path), limits)
        data = parse_submission_json(text, source, limits)
    except SubmissionReadError as error:
        return ValidationResult(source, None, [error.problem])

    try:
        submission = Submission.model_validate(data)
    except ValidationError as error:
        return ValidationResult(source, None, schema_problems(error))

    return ValidationResult(source, submission, check_submission(submission, spec, registry))


def schema_problems(error: ValidationError) -> list[Problem]:
    """Turn each pydantic error into a problem; unknown fields get their own code."""
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            problems.append(Problem("unknown-field", f"unknown field {location!r}; remove it (the schema forbids extra fields)"))
        else:
            problems.append(Problem("schema", f"field {location!r}: {item['msg']}"))
    return problems


def check_submission(submission: Submission, spec: LeaderboardSpec, registry: RegistryView) -> list[Problem]:
    """Check coverage, registry facts and every cell's scores; return all problems found."""
    problems = check_coverage(submission, spec)
    references, task_problems = check_tasks(submission, registry)
    problems.extend(task_problems)

    required = set(spec.required_cells())
    for cell in submission.cells:
        problems.extend(check_score_values(cell))
        if cell.key() not in required:
            # Its evaluation set is defined by another profile, so re-scoring it here would mislead.
            problems.append(
                Problem(
                    "extra-cell",
                    f"{_cell_label(cell)} is not part of leaderboard {spec.name!r}; submit a run of that "
                    f"leaderboard's cells or pass the matching spec with --leaderboard",
                )
            )
            continue
        reference = references.get(cell.task)
        if reference is None:
            continue  # already reported by check_tasks
        try:
            evaluation = registry.evaluation_gold(cell.task, cell.k, cell.split, submission.run.root_seed, spec)
        except RegistryViewError as error:
            problems.append(Problem("registry-unavailable", f"{_cell_label(cell)}: {error}"))
            continue
        problems.extend(check_cell(cell, reference, evaluation))
    return problems


def _cell_label(cell: CellScores) -> str:
    return f"cell {cell.task} k={cell.k} split={cell.split}"


def check_coverage(submission: Submission, spec: LeaderboardSpec) -> list[Problem]:
    """Report duplicate cells and cells the spec requires but the submission lacks."""
    problems = []
    counts = Counter(cell.key() for cell in submission.cells)
    for (task, k, split), count in counts.items():
        if count > 1:
            problems.append(
                Problem("duplicate-cell", f"cell {task} k={k} split={split} appears {count} times; keep exactly one")
            )
    for task, k, split in spec.required_cells():
        if (task, k, split) not in counts:
            problems.append(
                Problem(
                    "missing-cell",
                    f"cell {task} k={k} split={split} is required by leaderboard {spec.name!r} but missing; "
                    f"run it and package the run again",
                )
            )
    return problems


def check_tasks(submission: Submission, registry: RegistryView) -> tuple[dict[str, TaskReference], list[Problem]]:
    """Compare each task's version, kind, labels and checksums with the registry.

    Returns the registry references of the tasks whose cells can be
    re-scored (registered, described in the submission and matching the
    registry) and the problems. Cells of a mismatched task are not re-scored,
    because their predictions refer to other data or labels.
    """
    problems: list[Problem] = []
    references: dict[str, TaskReference] = {}
    cell_tasks = sorted({cell.task for cell in submission.cells})
    for name in cell_tasks:
        if name not in submission.tasks:
            problems.append(
                Problem("unknown-task", f"task {name} has cells but no entry under 'tasks'; add its version and checksums")
            )
    for name in sorted(set(submission.tasks) | set(cell_tasks)):
        try:
            reference = registry.reference(name)
        except RegistryViewError as error:
            problems.append(Problem("registry-unavailable", f"task {name}: {error}"))
            continue
        if reference is None:
            problems.append(Problem("unknown-task", f"task {name} is not in the task registry"))
            continue
        entry = submission.tasks.get(name)
        if entry is None:
            continue
        found_before = len(problems)
        if entry.version != reference.version:
            problems.append(
                Problem(
                    "task-version",
                    f"task {name}: submission used version {entry.version!r} but the registry has "
                    f"{reference.version!r}; rerun with the current task version",
                )
            )
        if entry.kind != reference.kind:
            problems.append(Problem("task-kind", f"task {name}: kind {entry.kind!r} differs from the registry's {reference.kind!r}"))
        problems.extend(_checksum_problems(name, entry.checksums, reference.checksums))
        if len(problems) == found_before:
            references[name] = reference
    return references, problems


def _checksum_problems(task: str, claimed: Mapping[str, str], expected: Mapping[str, str]) -> list[Problem]:
    problems = []
    for file_name in sorted(set(claimed) | set(expected)):
        if file_name not in expected:
            problems.append(Problem("checksum", f"task {task}: data file {file_name!r} is not in the registry's checksums"))
        elif file_name not in claimed:
            problems.append(Problem("checksum", f"task {task}: checksum of data file {file_name!r} is missing"))
        elif claimed[file_name] != expected[file_name]:
            problems.append(
                Problem(
                    "checksum",
                    f"task {task}: data file {file_name!r} has checksum {claimed[file_name]!r}, "
                    f"the registry expects {expected[file_name]!r}; rerun on unmodified data",
                )
            )
    return problems


def check_score_values(cell: CellScores) -> list[Problem]:
    """Reject NaN, infinite and out-of-range claimed scores (every metric lies in [0, 1])."""
    problems = []
    for metric, value in cell.metrics.items():
        if not math.isfinite(value):
            problems.append(Problem("non-finite-score", f"{_cell_label(cell)}: metric {metric} is {value}"))
        elif not 0.0 <= value <= 1.0:
            problems.append(Problem("score-out-of-range", f"{_cell_label(cell)}: metric {metric} is {value}, outside [0, 1]"))
    return problems


def _ids_text(ids: list[str]) -> str:
    listed = ", ".join(repr(example_id) for example_id in ids[:MAX_IDS_SHOWN])
    more = f" and {len(ids) - MAX_IDS_SHOWN} more" if len(ids) > MAX_IDS_SHOWN else ""
    return f"{listed}{more}"


def check_cell(cell: CellScores, reference: TaskReference, evaluation: EvaluationGold) -> list[Problem]:
    """Check one cell's predictions against the gold labels, then re-score it and compare the claimed metrics."""
    label = _cell_label(cell)
    gold = evaluation.gold
    problems = []
    if cell.protocol != evaluation.protocol:
        problems.append(
            Problem("protocol", f"{label}: protocol {cell.protocol!r} differs from the registry's {evaluation.protocol!r}")
        )
    if tuple(cell.label_names) != evaluation.label_names:
        problems.append(
            Problem("label-names", f"{label}: label_names differ from the cell's labels {list(evaluation.label_names)}")
        )
    problems.extend(_prediction_problems(cell, reference.kind, evaluation))
    if problems:
        # Re-scoring malformed predictions would only repeat the same defects.
        return problems

    gold_values = [_as_list(gold[prediction.id]) for prediction in cell.predictions]
    pred_values = [prediction.pred for prediction in cell.predictions]
    if reference.kind != "ner":
        gold_values = [value[0] for value in gold_values]
    rescored = compute_metrics(reference.kind, gold_values, pred_values, evaluation.label_names)

    for metric, value in rescored.items():
        if metric not in cell.metrics:
            problems.append(Problem("missing-metric", f"{label}: metric {metric} is missing (re-scored value {value!r})"))
        elif math.isfinite(cell.metrics[metric]) and not math.isclose(
            cell.metrics[metric], value, rel_tol=0.0, abs_tol=SCORE_TOLERANCE
        ):
            problems.append(
                Problem(
                    "score-mismatch",
                    f"{label}: claimed {metric} {cell.metrics[metric]!r} but the predictions score {value!r}",
                )
            )
    for metric in sorted(set(cell.metrics) - set(rescored)):
        problems.append(
            Problem("unknown-metric", f"{label}: metric {metric} is not computed for {reference.kind} tasks; remove it")
        )
    return problems


def _as_list(value: Gold) -> list[int]:
    return [value] if isinstance(value, int) else list(value)


def _prediction_problems(cell: CellScores, kind: str, evaluation: EvaluationGold) -> list[Problem]:
    """Report duplicate, unknown and missing ids, wrong shapes, out-of-range labels and altered gold labels."""
    label = _cell_label(cell)
    gold = evaluation.gold
    problems = []
    ids = [prediction.id for prediction in cell.predictions]
    counts = Counter(ids)

    duplicates = sorted(example_id for example_id, count in counts.items() if count > 1)
    if duplicates:
        problems.append(Problem("duplicate-prediction", f"{label}: several predictions for ids {_ids_text(duplicates)}"))
    unknown = [example_id for example_id in ids if example_id not in gold]
    if unknown:
        problems.append(
            Problem("unknown-example-id", f"{label}: {len(unknown)} prediction ids are not in the evaluation sample: {_ids_text(unknown)}")
        )
    if len(ids) != len(gold):
        problems.append(
            Problem(
                "prediction-count",
                f"{label}: {len(ids)} predictions but the evaluation sample has {len(gold)} examples; "
                f"predict every example exactly once",
            )
        )
    missing = [example_id for example_id in gold if example_id not in counts]
    if missing:
        problems.append(Problem("missing-prediction", f"{label}: no prediction for ids {_ids_text(missing)}"))

    wrong_length: list[str] = []
    wrong_type: list[str] = []
    out_of_range: list[str] = []
    gold_changed: list[str] = []
    num_labels = len(evaluation.label_names)
    for prediction in cell.predictions:
        if prediction.id not in gold:
            continue
        expected = gold[prediction.id]
        shape_ok = _shape_matches(prediction.pred, expected)
        if kind == "ner" and isinstance(prediction.pred, list) and not shape_ok:
            wrong_length.append(prediction.id)
        elif not shape_ok:
            wrong_type.append(prediction.id)
        elif any(not 0 <= value < num_labels for value in _as_list(prediction.pred)):
            out_of_range.append(prediction.id)
        if not _gold_matches(prediction, expected):
            gold_changed.append(prediction.id)

    if wrong_length:
        problems.append(
            Problem(
                "prediction-length",
                f"{label}: {len(wrong_length)} NER predictions have a tag count that differs from the sentence's "
                f"word count: {_ids_text(wrong_length)}",
            )
        )
    if wrong_type:
        expected_shape = "a list of tag indices" if kind == "ner" else "one label index"
        problems.append(Problem("prediction-type", f"{label}: predictions must be {expected_shape}: {_ids_text(wrong_type)}"))
    if out_of_range:
        problems.append(
            Problem("label-out-of-range", f"{label}: label indices outside 0..{num_labels - 1} for ids {_ids_text(out_of_range)}")
        )
    if gold_changed:
        problems.append(Problem("gold-mismatch", f"{label}: gold labels differ from the registry's for ids {_ids_text(gold_changed)}"))
    return problems


def _shape_matches(pred: int | list[int], expected: Gold) -> bool:
    if isinstance(expected, int):
        return isinstance(pred, int)
    return isinstance(pred, list) and len(pred) == len(expected)


def _gold_matches(prediction: ExamplePrediction, expected: Gold) -> bool:
    if isinstance(expected, int):
        return prediction.gold == expected
    return isinstance(prediction.gold, list) and tuple(prediction.gold) == tuple(expected)
