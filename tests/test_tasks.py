"""Registry, built-in specs and built-in task loading (offline, from installed packages)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import tasks
from bench.registry import RegistryError
from tasks.class_split import propose_class_split
from tasks.spec import SpecError, TaskSpec

BUILTIN_OFFLINE = ("bbc-news", "clinc150", "banking77", "hwu64", "tweet-sentiment", "wnut16")


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
def loaded():
    found, errors = tasks.load_tasks(BUILTIN_OFFLINE, data_dir=None)
    assert errors == []
    return {task.name: task for task in found}


def _user_spec(name: str) -> dict:
    return {
        "name": name,
        "version": "1",
        "kind": "classification",
        "description": "user task",
        "source": {"type": "local", "directory": "."},
        "format": "csv",
        "label_names": ["a", "b"],
        "files": [{"path": "train.csv", "split": "train"}, {"path": "test.csv", "split": "evaluation"}],
        "protocols": ["kshot"],
    }


def test_registry_lists_builtin_tasks():
    for name in BUILTIN_OFFLINE + ("leopard-airline", "sst5", "cr", "huffpost", "conll2003"):
        assert name in tasks.TASKS
    assert len([n for n in tasks.TASKS.names() if n.startswith("leopard-")]) == 17


def test_spec_file_names_match_task_names():
    for path in (Path(tasks.__file__).parent / "specs").glob("*.yaml"):
        assert yaml.safe_load(path.read_text())["name"] == path.stem


def test_unknown_task_suggests_close_name():
    with pytest.raises(RegistryError, match="did you mean 'banking77'"):
        tasks.TASKS.get("banking7")


def test_duplicate_user_spec_rejected(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(_user_spec("bbc-news")))
    with pytest.raises(RegistryError, match=r"mine\.yaml.*duplicate task name 'bbc-news'"):
        tasks.load_specs(tmp_path)


def test_user_spec_added_to_registry(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(_user_spec("my-task")))
    registry = tasks.load_specs(tmp_path)
    assert registry.get("my-task").source_type == "local"
    assert "my-task" not in tasks.TASKS


def test_missing_tasks_folder_rejected(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        tasks.load_specs(tmp_path / "absent")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"colour": "red"}, "colour"),
        ({"kind": "regression"}, "kind"),
        ({"protocols": ["fewshot"]}, "protocols"),
        ({"protocols": ["ner-greedy"]}, "NER tasks only"),
        ({"label_names": ["a", "a"]}, "repeated"),
    ],
)
def test_invalid_spec_rejected(tmp_path, change, message):
    spec = _user_spec("bad") | change
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError, match=message):
        tasks.read_spec(path)


def test_huggingface_spec_needs_revision():
    spec = {
        "name": "hub-task",
        "version": "1",
        "kind": "sentiment",
        "description": "hub",
        "source": {"type": "huggingface", "dataset": "SetFit/sst5", "revision": "e51bdcd8cd3a30da231967c1a249ba59361279a3",
                   "splits": {"train": "train", "evaluation": "test"}},
        "label_names": ["0", "1", "2", "3", "4"],
        "protocols": ["kshot"],
    }
    assert TaskSpec.model_validate(spec).source.revision.startswith("e51b")
    del spec["source"]["revision"]
    with pytest.raises(ValueError, match="revision"):
        TaskSpec.model_validate(spec)


@pytest.mark.parametrize(
    "name, train, evaluation, labels",
    [
        ("bbc-news", 1669, 455, 5),
        ("clinc150", 3598, 450, 30),
        ("banking77", 1842, 639, 16),
        ("hwu64", 1533, 206, 13),
        ("tweet-sentiment", 29735, 7419, 3),
        ("wnut16", 1793, 488, 21),
    ],
)
def test_builtin_task_counts(loaded, name, train, evaluation, labels):
    task = loaded[name]
    assert len(task.train) == train
    assert len(task.evaluation) == evaluation
    assert len(task.label_names) == labels
    assert task.checksums and all(len(v) == 64 for v in task.checksums.values())


def test_builtin_ids_stable_and_unique(loaded):
    for task in loaded.values():
        ids = task.train.ids + task.evaluation.ids
        assert len(set(ids)) == len(ids)
        assert all(i.startswith(("train-", "eval-")) for i in ids)
    again = tasks.load_task(tasks.TASKS.get("bbc-news"))
    assert again.evaluation.ids == loaded["bbc-news"].evaluation.ids


def test_bbc_labels_present(loaded):
    task = loaded["bbc-news"]
    assert task.label_names == ("business", "entertainment", "politics", "sports", "tech")
    assert set(task.train.labels) == {0, 1, 2, 3, 4}
    assert set(task.evaluation.labels) == {0, 1, 2, 3, 4}


def test_tweet_sentiment_clean(loaded):
    task = loaded["tweet-sentiment"]
    assert task.label_names == ("negative", "neutral", "positive")
    normalize = lambda t: " ".join(t.split()).casefold()  # noqa: E731
    train = [normalize(t) for t in task.train.texts]
    evaluation = [normalize(t) for t in task.evaluation.texts]
    assert len(set(train)) == len(train)
    assert len(set(evaluation)) == len(evaluation)
    assert not set(train) & set(evaluation)


def test_wnut16_bio_tags(loaded):
    task = loaded["wnut16"]
    assert task.label_names[:3] == ("O", "B-person", "I-person")
    names = task.label_names
    for tags in task.train.tags + task.evaluation.tags:
        previous = "O"
        for tag in (names[t] for t in tags):
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:]
            previous = tag
    train = {" ".join(t) for t in task.train.tokens}
    assert not train & {" ".join(t) for t in task.evaluation.tokens}


@pytest.mark.parametrize("name", ["clinc150", "banking77", "hwu64"])
def test_class_split_disjoint_and_frozen(loaded, name):
    task = loaded[name]
    split = task.class_split
    assert split is not None
    groups = [set(split.meta_train), set(split.meta_val), set(split.meta_test)]
    assert not groups[0] & groups[1]
    assert not groups[0] & groups[2]
    assert not groups[1] & groups[2]
    spec = tasks.TASKS.get(name)
    assert set().union(*groups) == set(spec.label_names)
    frozen = (spec.class_split.meta_train, spec.class_split.meta_val, spec.class_split.meta_test)
    assert propose_class_split(name, spec.label_names) == frozen
    assert task.label_names == split.meta_test
    assert task.protocols == ("kshot", "episode")


def test_class_split_task_has_only_meta_test_classes(loaded):
    task = loaded["clinc150"]
    assert set(task.train.labels) == set(range(30))
    assert set(task.evaluation.labels) == set(range(30))
    assert len(task.evaluation) == 30 * 15


def test_describe_reports_availability(tmp_path):
    rows = {row["name"]: row for row in tasks.describe(data_dir=tmp_path)}
    assert rows["bbc-news"]["available"] is True
    assert rows["bbc-news"]["source"] == "package"
    assert rows["sst5"]["available"] is False
    assert "stsa.fine.train" in rows["sst5"]["detail"]
    assert rows["wnut16"]["protocols"] == ("ner-greedy",)


DATA_DIR = os.environ.get("BENCH_DATA_DIR")
needs_standard_data = pytest.mark.skipif(
    not DATA_DIR or not os.path.isdir(DATA_DIR),
    reason="BENCH_DATA_DIR is unset or missing; these tests need the standard benchmark data folder",
)


@needs_standard_data
def test_leopard_official_splits_load():
    task = tasks.load_task(tasks.TASKS.get("leopard-scitail"), Path(DATA_DIR))
    assert task.label_names == ("entails", "neutral")
    assert len(task.official_splits) == 30
    eight_shot = task.official_splits[(8, 3)]
    assert len(eight_shot) == 16
    assert sorted(eight_shot.labels) == [0] * 8 + [1] * 8
    assert eight_shot.text_pairs is not None
    assert len(task.evaluation) == 2126
    assert "scitail_train_3_8.json" in task.checksums


@needs_standard_data
def test_leopard_missing_eval_reported_others_load():
    loaded, errors = tasks.load_tasks(["leopard-emotion", "leopard-airline", "leopard-rating-dvd"], Path(DATA_DIR))
    assert [t.name for t in loaded] == ["leopard-airline"]
    assert [e.file for e in errors] == ["emotion_eval.json", "rating_dvd_eval.json"]
    assert "file not found" in str(errors[0])


@needs_standard_data
def test_leopard_conll_entity_typing():
    task = tasks.load_task(tasks.TASKS.get("leopard-conll"), Path(DATA_DIR))
    assert task.kind == "classification"
    assert task.evaluation.text_pairs is not None
    assert set(task.label_names) == {"I-LOC", "I-MISC", "I-ORG", "I-PER"}


@needs_standard_data
def test_huffpost_class_split():
    task = tasks.load_task(tasks.TASKS.get("huffpost"), Path(DATA_DIR))
    assert task.class_split.meta_train == tuple(str(i) for i in range(20))
    assert task.class_split.meta_val == ("20", "21", "22", "23", "24")
    assert task.label_names == tuple(str(i) for i in range(25, 41))
    assert task.protocols == ("episode",)
    assert len(task.train) + len(task.evaluation) == 14339


@needs_standard_data
def test_conll2003_loads():
    task = tasks.load_task(tasks.TASKS.get("conll2003"), Path(DATA_DIR))
    assert task.label_names == ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
    assert len(task.evaluation) == 3170
    assert len(task.train) == 12598


@needs_standard_data
def test_sst5_and_cr_load():
    sst5 = tasks.load_task(tasks.TASKS.get("sst5"), Path(DATA_DIR))
    assert sst5.label_names[0] == "very negative"
    assert len(sst5.evaluation) == 2210
    cr = tasks.load_task(tasks.TASKS.get("cr"), Path(DATA_DIR))
    assert (len(cr.train), len(cr.evaluation)) == (3016, 749)
