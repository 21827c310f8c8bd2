"""Reference numbers for a profile, and the check of a run against them.

A reference file, results/reference/<profile>.json, stores for every
(task, k, method, metric) the mean over splits and a tolerance, plus the
provenance of the run it came from (commit, date, suite and package versions,
CPU and device, seeds, profile).

Tolerance choice: the default is an absolute 1e-6 on metrics in [0, 1]. A
rerun on the same machine with the same seeds and packages computes the same
predictions, so its metrics match to floating-point summation error, far
below 1e-6. One changed prediction moves a mean by at least
1 / (evaluation examples × splits), about 1.7e-3 for 200 examples and 3
splits, so a real change fails. Per-metric floors (`metric_floors`) raise the
tolerance for reruns on other hardware, where kernels differ; each entry stores
max(absolute, floor of its metric).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.records import RecordError, RunRecord
from bench.report.scores import scores_frame, split_scores

REFERENCE_SCHEMA_VERSION = 1
DEFAULT_ABSOLUTE_TOLERANCE = 1e-6
REFERENCE_DIR = Path(__file__).resolve().parents[1] / "results" / "reference"
ENVIRONMENT_FIELDS = ("python", "torch", "transformers", "platform", "cpu", "device")

CellKey = tuple[str, int, str, str]  # (task, k, method, metric)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Provenance(_Strict):
    commit: str | None
    date: str  # ISO 8601, UTC
    suite_version: str
    python: str
    torch: str
    transformers: str
    platform: str
    cpu: str
    device: str
    root_seeds: list[int]
    profile: str


class TolerancePolicy(_Strict):
    absolute: float = Field(default=DEFAULT_ABSOLUTE_TOLERANCE, ge=0)
    metric_floors: dict[str, float] = Field(default_factory=dict)

    def tolerance(self, metric: str) -> float:
        return max(self.absolute, self.metric_floors.get(metric, 0.0))


class ReferenceEntry(_Strict):
    task: str
    k: int = Field(ge=1)
    method: str
    metric: str
    value: float  # mean over splits (training seeds averaged first)
    tolerance: float = Field(ge=0)

    def key(self) -> CellKey:
        return (self.task, self.k, self.method, self.metric)


class Reference(_Strict):
    schema_version: Literal[1] = REFERENCE_SCHEMA_VERSION
    profile: str
    provenance: Provenance
    tolerance_policy: TolerancePolicy
    entries: list[ReferenceEntry]


class ReferenceFileError(ValueError):
    """A reference file that is missing, not JSON or schema-invalid."""


@dataclass(frozen=True)
class Drift:
    task: str
    k: int
    method: str
    metric: str
    expected: float
    # None when the run has no value for this cell.
    observed: float | None
    tolerance: float

    def describe(self) -> str:
        cell = f"{self.task} k={self.k} {self.method} {self.metric}"
        if self.observed is None:
            return f"{cell}: missing from the run (expected {self.expected:.6f})"
        delta = self.observed - self.expected
        return (f"{cell}: expected {self.expected:.6f}, observed {self.observed:.6f} "
                f"(difference {delta:+.2e}, tolerance {self.tolerance:.1e})")


@dataclass
class CheckResult:
    drifts: list[Drift]
    # Cells in the run that the reference does not list; reported but not a failure.
    unreferenced: list[CellKey]
    environment_differences: list[str]
    record_errors: list[RecordError] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.drifts


def default_reference_path(profile: str) -> Path:
    return REFERENCE_DIR / f"{profile}.json"


def observed_means(records: Iterable[RunRecord]) -> dict[CellKey, float]:
    """Return the mean over splits per (task, k, method, metric), averaging training seeds within each split first."""
    per_split = split_scores(scores_frame(records))
    means = per_split.groupby(["task", "k", "method", "metric"])["value"].mean()
    return {(str(t), int(k), str(m), str(metric)): float(v) for (t, k, m, metric), v in means.items()}


def load_reference(path: Path) -> Reference:
    """Read and validate a reference file; raise ReferenceFileError naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferenceFileError(
            f"{path}: reference file not found; create it with `python -m bench update-reference RUN_DIR --yes`"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReferenceFileError(
            f"{path}: not valid JSON ({error}); restore it from version control or regenerate it"
        ) from None
    if isinstance(data, dict) and data.get("schema_version") != REFERENCE_SCHEMA_VERSION:
        raise ReferenceFileError(
            f"{path}: schema_version {data.get('schema_version')!r} is not supported "
            f"(this suite reads {REFERENCE_SCHEMA_VERSION})"
        )
    try:
        return Reference.model_validate(data)
    except ValidationError as error:
        raise ReferenceFileError(f"{path}: invalid reference file: {error}") from None


def write_reference(path: Path, reference: Reference) -> None:
    """Write a reference file atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = reference.model_dump_json(indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _joined(values: Iterable[str | None]) -> str:
    """Join the distinct values with ' | ', so records that agree give a single value."""
    distinct = sorted({str(v) for v in values})
    return " | ".join(distinct)


def build_reference(
    records: list[RunRecord],
    profile: str,
    policy: TolerancePolicy | None = None,
    *,
    now: datetime | None = None,
) -> Reference:
    """Build a reference from a run's valid records."""
    if not records:
        raise ValueError("cannot build a reference from zero records")
    policy = policy or TolerancePolicy()
    means = observed_means(records)
    entries = [
        ReferenceEntry(task=t, k=k, method=m, metric=metric, value=value, tolerance=policy.tolerance(metric))
        for (t, k, m, metric), value in sorted(means.items())
    ]
    commits = {r.git_commit for r in records}
    provenance = Provenance(
        commit=_joined(commits) if commits != {None} else None,
        date=(now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        suite_version=_joined(r.suite_version for r in records),
        root_seeds=sorted({r.seeds.root for r in records}),
        profile=profile,
        **{name: _joined(getattr(r.environment, name) for r in records) for name in ENVIRONMENT_FIELDS},
    )
    return Reference(profile=profile, provenance=provenance, tolerance_policy=policy, entries=entries)


def environment_differences(records: Iterable[RunRecord], provenance: Provenance) -> list[str]:
    """List package, platform and device values in the records that differ from the reference's provenance."""
    differences = []
    records = list(records)
    for name in ENVIRONMENT_FIELDS:
        observed = _joined(getattr(r.environment, name) for r in records)
        expected = getattr(provenance, name)
        if observed != expected:
            differences.append(f"{name}: reference {expected}, run {observed}")
    suite = _joined(r.suite_version for r in records)
    if suite != provenance.suite_version:
        differences.append(f"suite_version: reference {provenance.suite_version}, run {suite}")
    return differences


def check_run(records: list[RunRecord], reference: Reference) -> CheckResult:
    """Compare a run's means with a reference, metric by metric.

    A cell whose value differs by more than its tolerance, is NaN, or is
    missing from the run counts as drift.
    """
    observed = observed_means(records)
    drifts = []
    for entry in sorted(reference.entries, key=ReferenceEntry.key):
        value = observed.get(entry.key())
        if value is not None and math.isfinite(value) and abs(value - entry.value) <= entry.tolerance:
            continue
        drifts.append(Drift(task=entry.task, k=entry.k, method=entry.method, metric=entry.metric,
                            expected=entry.value, observed=value, tolerance=entry.tolerance))
    referenced = {entry.key() for entry in reference.entries}
    unreferenced = sorted(key for key in observed if key not in referenced)
    differences = environment_differences(records, reference.provenance) if records else []
    return CheckResult(drifts=drifts, unreferenced=unreferenced, environment_differences=differences)


def diff_references(old: Reference | None, new: Reference) -> list[str]:
    """Describe what replacing `old` by `new` changes: values, tolerances, cells, provenance (date excluded)."""
    if old is None:
        return [f"new reference with {len(new.entries)} entries"]
    lines = []
    old_entries = {e.key(): e for e in old.entries}
    new_entries = {e.key(): e for e in new.entries}
    for key in sorted(old_entries.keys() | new_entries.keys()):
        cell = f"{key[0]} k={key[1]} {key[2]} {key[3]}"
        before, after = old_entries.get(key), new_entries.get(key)
        if before is None:
            lines.append(f"added   {cell}: {after.value:.6f}")
        elif after is None:
            lines.append(f"removed {cell}: was {before.value:.6f}")
        elif before.value != after.value or before.tolerance != after.tolerance:
            lines.append(f"changed {cell}: {before.value:.6f} -> {after.value:.6f} "
                         f"(tolerance {before.tolerance:.1e} -> {after.tolerance:.1e})")
    old_provenance = old.provenance.model_dump(exclude={"date"})
    new_provenance = new.provenance.model_dump(exclude={"date"})
    for name in sorted(old_provenance):
        if old_provenance[name] != new_provenance[name]:
            lines.append(f"provenance {name}: {old_provenance[name]} -> {new_provenance[name]}")
    return lines
