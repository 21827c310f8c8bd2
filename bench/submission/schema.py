"""The submission file format: one JSON document per method and run.

Every model forbids unknown fields, so a typo or an injected field is a
schema error instead of being ignored. Strings that end up in links must be
http(s) URLs, because the leaderboard page turns them into `href`s.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bench.records import Environment, ExamplePrediction

SUBMISSION_SCHEMA_VERSION = 1
SUBMISSION_FORMAT = "bench-submission"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL; give a link such as https://arxiv.org/abs/...")
    return value


class MethodMetadata(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    paper: str | None = None
    code: str | None = None
    backbone: str | None = None
    total_parameters: int | None = Field(default=None, ge=0)
    trainable_parameters: int | None = Field(default=None, ge=0)
    hyperparameters: dict[str, object] = Field(default_factory=dict)

    _urls = field_validator("paper", "code")(_check_url)


class TaskEntry(_Strict):
    """The registry facts a run used for one task; validation compares them with the registry."""

    version: str
    kind: Literal["classification", "sentiment", "ner"]
    checksums: dict[str, str]


class CellScores(_Strict):
    """One (task, k, split) cell: the claimed metrics and the predictions they came from."""

    task: str
    k: int = Field(ge=1)
    split: int = Field(ge=0)
    protocol: str
    # The labels that gold and pred indices refer to. For N-way episodes
    # these are the cell's drawn classes, so they differ between cells.
    label_names: list[str]
    metrics: dict[str, float]
    predictions: list[ExamplePrediction]

    def key(self) -> tuple[str, int, int]:
        return (self.task, self.k, self.split)


class RunInfo(_Strict):
    profile: str
    root_seed: int
    git_commit: str | None = None


class Submission(_Strict):
    format: Literal["bench-submission"] = SUBMISSION_FORMAT
    schema_version: Literal[1] = SUBMISSION_SCHEMA_VERSION
    suite_version: str
    method: MethodMetadata
    run: RunInfo
    environment: Environment
    tasks: dict[str, TaskEntry]
    cells: list[CellScores]
