"""Run profiles: which tasks, shots, splits and methods a run covers, and their settings.

`smoke` is for CI, `quick` is the default main job, `full` is the paper grid.
Per-method hyperparameters override each method's `defaults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.registry import Registry


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    tasks: tuple[str, ...]
    shots: tuple[int, ...]
    splits: int
    methods: tuple[str, ...]
    # Size of the fixed stratified evaluation sample per task; None uses the whole split.
    eval_size: int | None
    # N-way K-shot episodes for class-split tasks: N and query examples per class.
    episode_ways: int = 5
    episode_queries: int = 10
    max_seq_length: int = 128
    method_params: dict[str, dict[str, Any]] = field(default_factory=dict)


PROFILES: Registry[Profile] = Registry("profile")

PROFILES.add(
    "smoke",
    Profile(
        name="smoke",
        description="CI check: two tiny tasks, one split, fine-tuning only (under 2 minutes on 2 CPU cores)",
        tasks=("bbc-news", "wnut16"),
        shots=(4,),
        splits=1,
        methods=("finetune",),
        eval_size=40,
        max_seq_length=64,
        method_params={"finetune": {"epochs": 5, "batch_size": 8}},
    ),
)

PROFILES.add(
    "quick",
    Profile(
        name="quick",
        description="Default main job: classification, sentiment and NER tasks with few splits",
        tasks=("bbc-news", "banking77", "tweet-sentiment", "wnut16"),
        shots=(8,),
        splits=3,
        methods=("finetune",),
        eval_size=200,
        max_seq_length=96,
        method_params={"finetune": {"epochs": 10, "batch_size": 8}},
    ),
)

PROFILES.add(
    "full",
    Profile(
        name="full",
        description="Paper grid: every built-in task, k in {4, 8, 16}, ten splits",
        tasks=("bbc-news", "clinc150", "banking77", "hwu64", "tweet-sentiment", "wnut16"),
        shots=(4, 8, 16),
        splits=10,
        methods=("finetune",),
        eval_size=None,
        max_seq_length=128,
    ),
)
