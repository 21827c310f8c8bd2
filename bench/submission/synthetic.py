"""Synthetic runs and a matching fixed registry view, for tests and a demo leaderboard.

Nothing here needs a model or data files: gold labels and predictions are
drawn from seeded generators, and the scores are computed with
`bench.metrics.compute_metrics`, so the records are internally consistent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench import __version__
from bench.metrics import compute_metrics
from bench.records import (
    CellId,
    Environment,
    ExamplePrediction,
    MethodInfo,
    RunRecord,
    Seeds,
    TaskInfo,
    write_record,
)
from bench.seeding import derive_seed, numpy_rng
from bench.submission.registry_view import Gold, StaticRegistryView, TaskReference
from bench.submission.spec import LeaderboardSpec

SYNTHETIC_TASKS: tuple[TaskReference, ...] = (
    TaskReference("bbc-news", "1.0", "classification", ("business", "entertainment", "politics", "sport", "tech"), {"bbc.csv": "a" * 64}),
    TaskReference("banking77", "1.0", "classification", ("card_arrival", "card_linking", "exchange_rate", "top_up"), {"train.csv": "b" * 64, "test.csv": "c" * 64}),
    TaskReference("tweet-sentiment", "2.0", "sentiment", ("negative", "neutral", "positive"), {"tweets.tsv": "d" * 64}),
    TaskReference("wnut16", "1.0", "ner", ("O", "B-person", "I-person", "B-location", "I-location"), {"test.conll": "e" * 64}),
)
SYNTHETIC_EVAL_SIZE = 12
SENTENCE_LENGTH = (3, 9)

ENVIRONMENT = Environment(python="3.11", torch="2.13.0", transformers="5.25", platform="linux", device="cpu", cpu="synthetic")


def _gold_for(reference: TaskReference, root_seed: int) -> dict[str, Gold]:
    rng = numpy_rng(derive_seed(root_seed, "synthetic-gold", reference.name))
    gold: dict[str, Gold] = {}
    for index in range(SYNTHETIC_EVAL_SIZE):
        example_id = f"eval-{index}"
        if reference.kind == "ner":
            length = int(rng.integers(*SENTENCE_LENGTH))
            tags = [0] * length
            start = int(rng.integers(0, length - 1))
            tags[start] = 1 if index % 2 else 3
            tags[start + 1] = tags[start] + 1
            gold[example_id] = tuple(tags)
        else:
            gold[example_id] = int(rng.integers(0, len(reference.label_names)))
    return gold


def synthetic_registry(root_seed: int = 0) -> StaticRegistryView:
    """Return a fixed registry view of the four quick-profile tasks with 12 evaluation examples each."""
    return StaticRegistryView(
        references={reference.name: reference for reference in SYNTHETIC_TASKS},
        gold={reference.name: _gold_for(reference, root_seed) for reference in SYNTHETIC_TASKS},
    )


def synthetic_spec(splits: tuple[int, ...] = (0, 1, 2)) -> LeaderboardSpec:
    """Return a spec over the synthetic tasks, k = 8, with the suite's ranking metrics."""
    return LeaderboardSpec(
        name="synthetic",
        tasks=[reference.name for reference in SYNTHETIC_TASKS],
        shots=[8],
        splits=list(splits),
        eval_size=SYNTHETIC_EVAL_SIZE,
        ranking_metric={"classification": "accuracy", "sentiment": "accuracy", "ner": "f1"},
    )


def _predict(gold: Gold, num_labels: int, skill: float, rng: np.random.Generator) -> int | list[int]:
    def noisy(label: int) -> int:
        if rng.random() < skill:
            return label
        return (label + int(rng.integers(1, num_labels))) % num_labels

    if isinstance(gold, int):
        return noisy(gold)
    return [noisy(tag) for tag in gold]


def write_synthetic_run(
    run_dir: Path,
    registry: StaticRegistryView,
    method: str,
    skill: float,
    root_seed: int = 0,
    splits: tuple[int, ...] = (0, 1, 2),
    k: int = 8,
) -> list[Path]:
    """Write one record per (task, k, split) for `method`, whose predictions match gold with probability `skill`."""
    run_dir = Path(run_dir)
    paths = []
    for reference in registry.references.values():
        gold = registry.gold[reference.name]
        for split in splits:
            rng = numpy_rng(derive_seed(root_seed, "synthetic-pred", method, reference.name, k, split))
            predictions = [
                ExamplePrediction(id=example_id, gold=_as_json(label), pred=_predict(label, len(reference.label_names), skill, rng))
                for example_id, label in gold.items()
            ]
            metrics = compute_metrics(
                reference.kind, [p.gold for p in predictions], [p.pred for p in predictions], reference.label_names
            )
            record = RunRecord(
                suite_version=__version__,
                git_commit=None,
                profile="synthetic",
                cell=CellId(task=reference.name, k=k, split=split, method=method),
                task=TaskInfo(
                    name=reference.name,
                    version=reference.version,
                    kind=reference.kind,
                    label_names=list(reference.label_names),
                    checksums=dict(reference.checksums),
                    protocol="ner-greedy" if reference.kind == "ner" else "kshot",
                ),
                method=MethodInfo(name=method, hyperparameters={"skill": skill}),
                seeds=Seeds(root=root_seed, cell=derive_seed(root_seed, reference.name, k, split, method)),
                support_ids=[],
                predictions=predictions,
                metrics=metrics,
                wall_time_s=0.0,
                environment=ENVIRONMENT,
                extra={"backbone": "synthetic-backbone", "total_parameters": 1000, "trainable_parameters": 10},
            )
            paths.append(write_record(run_dir, record))
    run_info = {"profile": "synthetic", "root_seed": root_seed, "tasks": sorted(registry.references), "methods": [method]}
    (run_dir / "run.json").write_text(json.dumps(run_info, indent=1), encoding="utf-8")
    return paths


def _as_json(label: Gold) -> int | list[int]:
    return label if isinstance(label, int) else list(label)


def write_demo_leaderboard(out_dir: Path) -> Path:
    """Write a leaderboard of three synthetic methods (one of them tampered) and return the HTML page's path."""
    import tempfile

    from bench.submission.leaderboard import build_leaderboard, submission_paths
    from bench.submission.loading import write_submission
    from bench.submission.package import package_run
    from bench.submission.publish import HTML_FILE, write_leaderboard

    registry = synthetic_registry()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "submissions"
        for method, skill in (("protonet", 0.85), ("finetune", 0.7), ("majority-class", 0.3)):
            write_synthetic_run(Path(scratch) / method, registry, method, skill)
            submission = package_run(Path(scratch) / method, description=f"synthetic {method}", paper="https://example.org/paper")
            path = write_submission(submission, folder / f"{method}.json")
        # Claim a better score than the predictions support, to show the invalid section.
        data = json.loads(path.read_text(encoding="utf-8"))
        data["cells"][0]["metrics"]["accuracy"] = 0.99
        path.write_text(json.dumps(data), encoding="utf-8")
        board = build_leaderboard(submission_paths(folder), synthetic_spec(), registry)
    return write_leaderboard(board, out_dir)[HTML_FILE]


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bench.submission.synthetic OUT_DIR")
    print(write_demo_leaderboard(Path(sys.argv[1])))
