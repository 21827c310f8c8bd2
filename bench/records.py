"""The run record: one JSON file per (task, k, split, method) cell.

`write_record` and `read_record` are the only writer and reader. Reports,
reference checks and submissions read records and never recompute them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1
RECORD_SUFFIX = ".json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CellId(_Strict):
    task: str
    k: int = Field(ge=1)
    split: int = Field(ge=0)
    method: str

    def key(self) -> tuple[str, int, int, str]:
        return (self.task, self.k, self.split, self.method)

    def relative_path(self) -> Path:
        """Return the record's path inside a run directory; readers rely on the content, not the path."""
        return Path("records") / self.task / f"k{self.k}" / f"split{self.split}" / f"{self.method}{RECORD_SUFFIX}"


class TaskInfo(_Strict):
    name: str
    version: str
    kind: Literal["classification", "sentiment", "ner"]
    label_names: list[str]
    checksums: dict[str, str]
    protocol: str  # "kshot", "episode" or "ner-greedy"


class MethodInfo(_Strict):
    name: str
    hyperparameters: dict[str, Any]


class Seeds(_Strict):
    root: int
    cell: int


class ExamplePrediction(_Strict):
    id: str
    gold: int | list[int]
    pred: int | list[int]


class Environment(_Strict):
    python: str
    torch: str
    transformers: str
    platform: str
    device: str  # "cpu" or the GPU model
    cpu: str


class RunRecord(_Strict):
    schema_version: int = SCHEMA_VERSION
    suite_version: str
    git_commit: str | None
    profile: str
    cell: CellId
    task: TaskInfo
    method: MethodInfo
    seeds: Seeds
    support_ids: list[str]
    predictions: list[ExamplePrediction]
    metrics: dict[str, float]
    wall_time_s: float
    environment: Environment
    # Method-specific facts: chosen candidate, candidate scores, meta-training info.
    extra: dict[str, Any] = Field(default_factory=dict)


class RecordError(ValueError):
    """A record file that is missing, unreadable or schema-invalid."""


def write_record(run_dir: Path, record: RunRecord) -> Path:
    """Write a record atomically: a temporary file in the same folder, then rename."""
    path = Path(run_dir) / record.cell.relative_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = record.model_dump_json(indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=RECORD_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_record(path: Path) -> RunRecord:
    """Read and validate one record; raise RecordError naming the file on any defect."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path}: record file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"{path}: not valid JSON ({error}); delete it and rerun the cell") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: expected a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(
            f"{path}: schema_version {version!r} is not supported (this suite reads {SCHEMA_VERSION})"
        )
    try:
        return RunRecord.model_validate(data)
    except ValidationError as error:
        raise RecordError(f"{path}: invalid run record: {error}") from None


def record_paths(run_dir: Path) -> list[Path]:
    """List the record files under a run directory in a stable order."""
    root = Path(run_dir) / "records"
    return sorted(p for p in root.rglob(f"*{RECORD_SUFFIX}") if not p.name.startswith(".tmp-"))


def load_records(run_dir: Path) -> tuple[list[RunRecord], list[RecordError]]:
    """Read every record in a run; return the valid ones and the errors for the rest."""
    records: list[RunRecord] = []
    errors: list[RecordError] = []
    for path in record_paths(run_dir):
        try:
            records.append(read_record(path))
        except RecordError as error:
            errors.append(error)
    return records, errors
