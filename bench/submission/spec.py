"""The leaderboard spec: the cells a complete submission covers and the metric each task kind is ranked by."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench.data import TaskKind

# The spec committed with the suite; `--leaderboard` selects another.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2] / "results" / "leaderboard" / "spec.yaml"


class SpecError(ValueError):
    """A leaderboard spec that is missing, unreadable or invalid."""


class LeaderboardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    tasks: list[str] = Field(min_length=1)
    shots: list[int] = Field(min_length=1)
    splits: list[int] = Field(min_length=1)
    # Size of the fixed evaluation sample every cell is scored on (the run
    # profile's eval_size); None means the whole evaluation split.
    eval_size: int | None = Field(default=None, ge=1)
    # N-way episodes (tasks with a class split): classes per episode and
    # query examples per class, as in the run profile.
    episode_ways: int = Field(default=5, ge=1)
    episode_queries: int = Field(default=10, ge=1)
    ranking_metric: dict[TaskKind, str]

    @model_validator(mode="after")
    def _check_unique(self) -> LeaderboardSpec:
        for field in ("tasks", "shots", "splits"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"{field} contains duplicates: {values}; list each value once")
        if any(k < 1 for k in self.shots) or any(split < 0 for split in self.splits):
            raise ValueError("shots must be at least 1 and split indices at least 0")
        return self

    def required_cells(self) -> list[tuple[str, int, int]]:
        """Return every (task, k, split) a complete submission must contain, in spec order."""
        return [(task, k, split) for task in self.tasks for k in self.shots for split in self.splits]


def load_spec(path: Path | None = None) -> LeaderboardSpec:
    """Read a leaderboard spec from YAML; raise SpecError naming the file and the defect."""
    path = Path(path) if path is not None else DEFAULT_SPEC_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: leaderboard spec not found; pass --leaderboard PATH") from None
    except yaml.YAMLError as error:
        raise SpecError(f"{path}: invalid YAML ({error})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a YAML mapping with tasks, shots, splits and ranking_metric")
    try:
        return LeaderboardSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(f"{path}: invalid leaderboard spec: {error}") from None
