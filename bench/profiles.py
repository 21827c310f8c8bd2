"""Run profiles: which tasks, shots, splits and methods a run covers, and their settings.

`smoke` is for CI, `quick` is the default main job, `full` is the paper grid.
Per-method hyperparameters override each method's `defaults`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.registry import Registry

# Baselines in the quick and full profiles. `run` skips SetFit with a logged reason where its
# optional package is not installed.
BASELINES: tuple[str, ...] = ("maml", "protonet", "logreg", "setfit")


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

META_ERASURE_METHODS = ("meta-erasure", "meta-erasure-no-erasure", "meta-erasure-random", "meta-erasure-no-smlmt")
# Quick-profile settings shared by all meta-erasure variants, so the full method and the random-selection
# ablation hit one meta-training cache. Meta-training takes about a minute per configuration on 2 CPU cores.
_META_ERASURE_QUICK: dict[str, Any] = {
    "num_candidates": 8,
    "importance_episodes": 4,
    "meta_episodes": 80,
    "inner_steps": 2,
    "validate_every": 40,
    "validation_episodes": 6,
    "meta_max_seq_length": 48,
    "cv_folds": 2,
    "adapt_steps": 3,
    "selection_adapts_body": False,
}

PROFILES.add(
    "smoke",
    Profile(
        name="smoke",
        description="CI check: two tasks, one split, fine-tuning and logistic regression (about 2 minutes on 2 idle CPU cores)",
        tasks=("bbc-news", "wnut16"),
        shots=(4,),
        splits=1,
        methods=("finetune", "logreg"),
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
        methods=("finetune",) + BASELINES + META_ERASURE_METHODS,
        eval_size=200,
        max_seq_length=96,
        method_params={
            "finetune": {"epochs": 6, "batch_size": 8},
            "maml": {"meta_episodes": 100, "test_steps": 15, "ner_steps": 30},
            "protonet": {"meta_episodes": 100},
            "setfit": {"num_iterations": 1},
            **{name: dict(_META_ERASURE_QUICK) for name in META_ERASURE_METHODS},
        },
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
        methods=("finetune",) + BASELINES + META_ERASURE_METHODS,
        eval_size=None,
        max_seq_length=128,
        method_params={"maml": {"meta_episodes": 1000}, "protonet": {"meta_episodes": 1000}},
    ),
)
