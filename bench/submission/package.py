"""Packaging a run directory's records for one method as a submission."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from bench.records import RunRecord, load_records
from bench.submission.schema import CellScores, MethodMetadata, RunInfo, Submission, TaskEntry

logger = logging.getLogger(__name__)

RUN_INFO_FILE = "run.json"


class PackageError(ValueError):
    """A run that cannot be packaged in its current state. The message names the fix."""


def read_run_info(run_dir: Path) -> dict[str, Any]:
    """Return the run's `run.json` as a dict, or an empty dict when the run has none."""
    path = Path(run_dir) / RUN_INFO_FILE
    if not path.is_file():
        logger.warning("%s not found; taking run facts from the records only", path)
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackageError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise PackageError(f"{path}: expected a JSON object")
    return data


def _select_method(records: list[RunRecord], method: str | None, run_dir: Path) -> str:
    methods = sorted({record.cell.method for record in records})
    if method is not None:
        if method not in methods:
            raise PackageError(f"method {method!r} has no records in {run_dir}; the run has {methods}")
        return method
    if len(methods) != 1:
        raise PackageError(f"the run in {run_dir} has several methods {methods}; choose one with --method")
    return methods[0]


def _same_value(records: list[RunRecord], fact: str, value_of: Any) -> Any:
    values = {json.dumps(value_of(record), sort_keys=True, default=str) for record in records}
    if len(values) != 1:
        raise PackageError(f"records disagree on {fact} ({sorted(values)}); package records from one run only")
    return value_of(records[0])


def _first_present(key: str, *sources: dict[str, Any]) -> Any:
    for source in sources:
        if source.get(key) is not None:
            return source[key]
    return None


def package_run(
    run_dir: Path,
    method: str | None = None,
    description: str = "",
    paper: str | None = None,
    code: str | None = None,
    backbone: str | None = None,
    total_parameters: int | None = None,
    trainable_parameters: int | None = None,
) -> Submission:
    """Build a submission from every record of one method in a run directory.

    Backbone and parameter counts come from the arguments when given, else
    from the keys `backbone`, `total_parameters` and `trainable_parameters`
    in a record's `extra`, the method's hyperparameters or `run.json`.
    Raises PackageError when a record is unreadable, the method is
    ambiguous or records of different runs are mixed.
    """
    run_dir = Path(run_dir)
    records, errors = load_records(run_dir)
    if errors:
        listed = "; ".join(str(error) for error in errors)
        raise PackageError(f"{len(errors)} unreadable record(s) in {run_dir}: {listed}")
    if not records:
        raise PackageError(f"no records found under {run_dir / 'records'}; run `python -m bench run` first")
    run_info = read_run_info(run_dir)

    chosen = _select_method(records, method, run_dir)
    records = sorted((r for r in records if r.cell.method == chosen), key=lambda r: r.cell.key())

    suite_version = _same_value(records, "suite version", lambda r: r.suite_version)
    profile = _same_value(records, "profile", lambda r: r.profile)
    root_seed = _same_value(records, "root seed", lambda r: r.seeds.root)
    git_commit = _same_value(records, "git commit", lambda r: r.git_commit)
    environment = _same_value(records, "environment", lambda r: r.environment.model_dump())
    hyperparameters = _same_value(records, "hyperparameters", lambda r: r.method.hyperparameters)

    tasks: dict[str, TaskEntry] = {}
    for name in sorted({r.task.name for r in records}):
        of_task = [r for r in records if r.task.name == name]
        # label_names may differ between cells (N-way episodes), so each cell stores its own.
        info = _same_value(
            of_task, f"task {name} facts", lambda r: r.task.model_dump(include={"version", "kind", "checksums"})
        )
        tasks[name] = TaskEntry.model_validate(info)

    extra = records[0].extra
    metadata = MethodMetadata(
        name=chosen,
        description=description,
        paper=paper,
        code=code,
        backbone=backbone or _first_present("backbone", extra, hyperparameters, run_info),
        total_parameters=total_parameters
        if total_parameters is not None
        else _first_present("total_parameters", extra, run_info),
        trainable_parameters=trainable_parameters
        if trainable_parameters is not None
        else _first_present("trainable_parameters", extra, run_info),
        hyperparameters=hyperparameters,
    )
    cells = [
        CellScores(
            task=r.cell.task,
            k=r.cell.k,
            split=r.cell.split,
            protocol=r.task.protocol,
            label_names=r.task.label_names,
            metrics=r.metrics,
            predictions=r.predictions,
        )
        for r in records
    ]
    logger.info("packaged %d cells of method %s from %s", len(cells), chosen, run_dir)
    return Submission(
        suite_version=suite_version,
        method=metadata,
        run=RunInfo(profile=profile, root_seed=root_seed, git_commit=git_commit),
        environment=environment,
        tasks=tasks,
        cells=cells,
    )
