"""Reproduction table: published numbers next to this suite's numbers on the same task and k.

Published numbers live in results/published.yaml. Each row also lists every
protocol difference between the publication and this run (splits, test set,
backbone, N-way), because a gap between the two numbers means little until
those are known.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.records import RunRecord
from bench.report.stats import Summary
from bench.report.tables import MISSING, Cell, Table, format_score

PUBLISHED_SCHEMA_VERSION = 1
DEFAULT_PUBLISHED_PATH = Path(__file__).resolve().parents[2] / "results" / "published.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublishedSource(_Strict):
    citation: str
    repository: str | None = None
    commit: str | None = None
    file: str | None = None
    table: str | None = None


class PublishedProtocol(_Strict):
    backbone: str
    splits: int = Field(ge=1)
    split_source: str
    test_set: str
    ways: int | None = None


class PublishedResult(_Strict):
    id: str
    task: str
    k: int = Field(ge=1)
    metric: str
    method: str
    # Methods of this suite to place next to the published number.
    compare_with: list[str]
    value: float  # percent
    sd: float | None = None  # percent
    aggregate: str
    source: PublishedSource
    protocol: PublishedProtocol
    known_differences: list[str] = Field(default_factory=list)


class PublishedFile(_Strict):
    schema_version: int
    entries: list[PublishedResult]


class PublishedError(ValueError):
    """results/published.yaml is missing, not YAML or schema-invalid."""


def load_published(path: Path = DEFAULT_PUBLISHED_PATH) -> list[PublishedResult]:
    """Read and validate the published-results file; raise PublishedError naming the file."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PublishedError(f"{path}: published-results file not found") from None
    except yaml.YAMLError as error:
        raise PublishedError(f"{path}: not valid YAML ({error})") from None
    try:
        parsed = PublishedFile.model_validate(data)
    except ValidationError as error:
        raise PublishedError(f"{path}: invalid published-results file: {error}") from None
    if parsed.schema_version != PUBLISHED_SCHEMA_VERSION:
        raise PublishedError(
            f"{path}: schema_version {parsed.schema_version} is not supported (expected {PUBLISHED_SCHEMA_VERSION})"
        )
    return parsed.entries


def _recorded_backbones(records: Iterable[RunRecord], task: str, k: int, method: str) -> set[str]:
    backbones = set()
    for record in records:
        if (record.cell.task, record.cell.k, record.cell.method) == (task, k, method):
            backbone = record.method.hyperparameters.get("backbone")
            if backbone is not None:
                backbones.add(str(backbone))
    return backbones


def _same_backbone(published: str, recorded: str) -> bool:
    # Compare the model name only: "sentence-transformers/all-MiniLM-L6-v2" and a
    # local folder ending in "all-MiniLM-L6-v2" are the same backbone.
    return Path(published).name.lower() == Path(recorded.rstrip("/")).name.lower()


def protocol_differences(
    entry: PublishedResult,
    summary: Summary,
    backbones: set[str],
    run_info: dict[str, Any],
) -> list[str]:
    """List every known protocol difference between a published result and this suite's cell."""
    differences = []
    root_seed = run_info.get("root_seed", run_info.get("seed"))
    seed_text = f" from root seed {root_seed}" if root_seed is not None else ""
    differences.append(
        f"splits: published {entry.protocol.splits} ({entry.protocol.split_source}); "
        f"here {summary.n_splits} sampled by this suite{seed_text}"
    )
    eval_size = run_info.get("eval_size")
    here_test = f"a {eval_size}-example evaluation sample" if eval_size else "this suite's evaluation set"
    differences.append(f"test set: published {entry.protocol.test_set}; here {here_test} of task {entry.task}")
    if not backbones:
        differences.append(f"backbone: published {entry.protocol.backbone}; not recorded in this run's records")
    elif not all(_same_backbone(entry.protocol.backbone, b) for b in backbones):
        differences.append(f"backbone: published {entry.protocol.backbone}; here {', '.join(sorted(backbones))}")
    ways = run_info.get("episode_ways")
    if entry.protocol.ways is not None and ways is not None and int(ways) != entry.protocol.ways:
        differences.append(f"ways: published {entry.protocol.ways}-way; here {ways}-way")
    differences.extend(entry.known_differences)
    return differences


def reproduction_table(
    entries: list[PublishedResult],
    summaries: list[Summary],
    records: list[RunRecord],
    run_info: dict[str, Any],
) -> Table:
    """Build one row per (published entry, compared method of this suite)."""
    summary_at = {(s.task, s.k, s.method, s.metric): s for s in summaries}
    rows = []
    data_rows = []
    for entry in entries:
        published = format_score(entry.value / 100, float("nan") if entry.sd is None else entry.sd / 100)
        source = entry.source.citation
        if entry.source.repository:
            source += f"; {entry.source.repository}"
        if entry.source.file:
            source += f", {entry.source.file}"
        if entry.source.commit:
            source += f" at {entry.source.commit[:12]}"
        for method in entry.compare_with:
            summary = summary_at.get((entry.task, entry.k, method, entry.metric))
            if summary is None:
                ours, difference, notes = MISSING, MISSING, [f"no {method} cells for {entry.task} at k={entry.k} in this run"]
            else:
                backbones = _recorded_backbones(records, entry.task, entry.k, method)
                if not backbones and run_info.get("backbone"):
                    backbones = {str(run_info["backbone"])}
                ours = format_score(summary.mean, summary.sd_split)
                difference = f"{100 * summary.mean - entry.value:+.1f}"
                notes = protocol_differences(entry, summary, backbones, run_info)
            rows.append([Cell(entry.task), Cell(str(entry.k)), Cell(entry.metric), Cell(entry.method),
                         Cell(published), Cell(source), Cell(method), Cell(ours), Cell(difference),
                         Cell("; ".join(notes))])
            data_rows.append({"published_id": entry.id, "task": entry.task, "k": entry.k, "metric": entry.metric,
                              "published_method": entry.method, "published_value": entry.value,
                              "published_sd": entry.sd, "method": method,
                              "value": None if summary is None else 100 * summary.mean,
                              "sd": None if summary is None else 100 * summary.sd_split,
                              "protocol_differences": " | ".join(notes)})
    return Table(
        name="reproduction",
        title="Reproduction of published numbers",
        columns=["task", "k", "metric", "published method", "published (%)", "source", "method here",
                 "here (%)", "difference (points)", "protocol differences"],
        blocks=[("", rows)],
        data=pd.DataFrame(data_rows),
        notes=["Difference is this suite's mean minus the published mean, in percentage points.",
               "Read each difference with its protocol differences: other splits, test sets or backbones "
               "can move a score by more than the gap between two methods."],
    )
