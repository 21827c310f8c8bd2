"""The Hugging Face hub loading path, exercised on a local dataset folder (no network)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import tasks

SPEC = """\
name: hub-reviews
version: '1.0'
kind: sentiment
description: reviews loaded through the hub source
source:
  type: huggingface
  dataset: {dataset}
  revision: {revision}
  splits: {{train: train, evaluation: test}}
fields: {{text: review, label: stars}}
label_names: [bad, good]
protocols: [kshot]
"""


def write_split(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "stars"])
        writer.writerows(rows)


@pytest.fixture
def hub_specs(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    write_split(dataset / "train.csv", [(f"review {i} {'great' if i % 2 else 'awful'}", "good" if i % 2 else "bad") for i in range(10)])
    write_split(dataset / "test.csv", [("a lovely thing", "good"), ("a broken thing", "bad"), ("meh", "bad")])
    specs = tmp_path / "specs"
    specs.mkdir()
    return dataset, specs


def test_hub_source_loads_local_dataset_folder(hub_specs):
    dataset, specs = hub_specs
    (specs / "hub.yaml").write_text(SPEC.format(dataset=dataset, revision="main"), encoding="utf-8")
    task = tasks.load_task(tasks.load_specs(specs).get("hub-reviews"))
    assert len(task.train) == 10
    assert task.evaluation.texts == ("a lovely thing", "a broken thing", "meh")
    assert task.evaluation.labels == (1, 0, 0)
    # The pinned revision is recorded in place of a file checksum.
    assert task.checksums == {f"{dataset}@main:train": "main", f"{dataset}@main:test": "main"}


def test_hub_source_unknown_label_names_row(hub_specs):
    dataset, specs = hub_specs
    write_split(dataset / "test.csv", [("fine", "good"), ("odd", "neutral")])
    (specs / "hub.yaml").write_text(SPEC.format(dataset=dataset, revision="main"), encoding="utf-8")
    with pytest.raises(tasks.TaskLoadError, match=r"row 1: unknown label 'neutral'"):
        tasks.load_task(tasks.load_specs(specs).get("hub-reviews"))


def test_hub_source_without_revision_rejected(hub_specs):
    dataset, specs = hub_specs
    (specs / "hub.yaml").write_text(SPEC.format(dataset=dataset, revision="''"), encoding="utf-8")
    with pytest.raises(tasks.SpecError, match="revision"):
        tasks.load_specs(specs)
