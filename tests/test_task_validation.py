"""Defective user data files: each defect raises TaskLoadError naming the file and the defect."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

import tasks
from tasks import TaskLoadError


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))


def _write_spec(folder: Path, spec: dict) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec))


def _sentence_spec(name: str = "user-csv", **changes) -> dict:
    spec = {
        "name": name,
        "version": "1",
        "kind": "classification",
        "description": "user csv task",
        "source": {"type": "local", "directory": "mine"},
        "format": "csv",
        "label_names": ["cat", "dog"],
        "files": [{"path": "train.csv", "split": "train"}, {"path": "test.csv", "split": "evaluation"}],
        "protocols": ["kshot"],
        "cleaning": {"overlap": "error"},
    }
    spec.update(changes)
    return spec


def _load(tmp_path: Path, spec: dict):
    _write_spec(tmp_path / "specs", spec)
    registry = tasks.load_specs(tmp_path / "specs")
    return tasks.load_task(registry.get(spec["name"]), data_dir=tmp_path / "data")


@pytest.fixture
def good_files(tmp_path) -> Path:
    folder = tmp_path / "data" / "mine"
    folder.mkdir(parents=True)
    (folder / "train.csv").write_text("text,label\nthe cat sat,cat\nthe dog ran,dog\na cat purred,cat\n")
    (folder / "test.csv").write_text("text,label\na dog barked,dog\nthe cat slept,cat\n")
    return folder


def test_valid_user_task_loads(tmp_path, good_files):
    digest = hashlib.sha256((good_files / "train.csv").read_bytes()).hexdigest()
    spec = _sentence_spec(counts={"train": 3, "evaluation": 2})
    spec["files"][0]["sha256"] = digest
    task = _load(tmp_path, spec)
    assert task.train.texts == ("the cat sat", "the dog ran", "a cat purred")
    assert task.train.labels == (0, 1, 0)
    assert task.evaluation.ids == ("eval-0", "eval-1")
    assert task.checksums["train.csv"] == digest


def test_missing_file_named(tmp_path, good_files):
    (good_files / "test.csv").unlink()
    with pytest.raises(TaskLoadError, match=r"test\.csv: file not found"):
        _load(tmp_path, _sentence_spec())


def test_missing_data_dir_named(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    _write_spec(tmp_path / "specs", _sentence_spec())
    spec = tasks.load_specs(tmp_path / "specs").get("user-csv")
    with pytest.raises(TaskLoadError, match="BENCH_DATA_DIR"):
        tasks.load_task(spec, data_dir=None)


def test_unparsable_file_named(tmp_path, good_files):
    (good_files / "test.json").write_text('[{"text": "a dog", "label": "dog"},')
    spec = _sentence_spec(format="json")
    spec["files"] = [{"path": "test.json", "split": "evaluation"}, {"path": "test.json", "split": "train"}]
    with pytest.raises(TaskLoadError, match=r"test\.json: cannot parse line 1: invalid JSON"):
        _load(tmp_path, spec)


def test_malformed_csv_row_named(tmp_path, good_files):
    (good_files / "train.csv").write_text("text,label\nthe cat sat,cat,extra\n")
    with pytest.raises(TaskLoadError, match=r"train\.csv: cannot parse line 2: the row has 3 fields"):
        _load(tmp_path, _sentence_spec())


def test_empty_file_named(tmp_path, good_files):
    (good_files / "train.csv").write_text("")
    with pytest.raises(TaskLoadError, match=r"train\.csv: the file is empty"):
        _load(tmp_path, _sentence_spec())


def test_missing_field_named(tmp_path, good_files):
    (good_files / "train.csv").write_text("sentence,label\nthe cat sat,cat\n")
    with pytest.raises(TaskLoadError, match=r"train\.csv: cannot parse line 1: .*lacks the column\(s\) \['text'\]"):
        _load(tmp_path, _sentence_spec())


def test_missing_json_field_named(tmp_path, good_files):
    (good_files / "test.jsonl").write_text('{"text": "a dog", "label": "dog"}\n{"text": "a cat"}\n')
    spec = _sentence_spec(format="jsonl")
    spec["files"] = [{"path": "test.jsonl", "split": "evaluation"}, {"path": "test.jsonl", "split": "train"}]
    with pytest.raises(TaskLoadError, match=r"test\.jsonl: cannot parse line 2: the object lacks the field 'label'"):
        _load(tmp_path, spec)


def test_unknown_label_named(tmp_path, good_files):
    (good_files / "test.csv").write_text("text,label\na dog barked,dog\na bird sang,bird\n")
    with pytest.raises(TaskLoadError, match=r"test\.csv: line 3: unknown label 'bird'"):
        _load(tmp_path, _sentence_spec())


def test_declared_label_absent(tmp_path, good_files):
    with pytest.raises(TaskLoadError, match=r"\['fish'\] are declared in the spec but never occur"):
        _load(tmp_path, _sentence_spec(label_names=["cat", "dog", "fish"]))


def test_wrong_record_count_named(tmp_path, good_files):
    spec = _sentence_spec()
    spec["files"][0]["records"] = 5
    with pytest.raises(TaskLoadError, match=r"train\.csv: the file has 3 records but the spec expects 5"):
        _load(tmp_path, spec)


def test_wrong_split_count_named(tmp_path, good_files):
    with pytest.raises(TaskLoadError, match=r"the evaluation split has 2 examples after cleaning but the spec declares 4"):
        _load(tmp_path, _sentence_spec(counts={"evaluation": 4}))


def test_wrong_checksum_named(tmp_path, good_files):
    spec = _sentence_spec()
    spec["files"][1]["sha256"] = "0" * 64
    with pytest.raises(TaskLoadError, match=r"test\.csv: sha256 is [0-9a-f]{64} but the spec expects 0{64}"):
        _load(tmp_path, spec)


def test_overlap_rejected_when_policy_error(tmp_path, good_files):
    (good_files / "test.csv").write_text("text,label\nThe  cat sat,cat\na dog barked,dog\n")
    with pytest.raises(TaskLoadError, match=r"train\.csv: 1 training texts also occur in the evaluation data"):
        _load(tmp_path, _sentence_spec())


def test_overlap_dropped_from_train(tmp_path, good_files):
    (good_files / "test.csv").write_text("text,label\nThe  cat sat,cat\na dog barked,dog\n")
    task = _load(tmp_path, _sentence_spec(cleaning={"overlap": "drop"}))
    assert task.train.texts == ("the dog ran", "a cat purred")
    assert task.train.ids == ("train-1", "train-2")


def test_conflicting_labels_rejected(tmp_path, good_files):
    (good_files / "train.csv").write_text("text,label\nthe cat sat,cat\nthe cat sat,dog\nthe dog ran,dog\n")
    with pytest.raises(TaskLoadError, match=r"train\.csv: 1 texts occur with different labels, for example line 2"):
        _load(tmp_path, _sentence_spec())


def test_tsv_with_quoted_tab(tmp_path, good_files):
    (good_files / "train.tsv").write_text('text\tlabel\n"a cat\twith a tab"\tcat\nthe dog ran\tdog\n')
    (good_files / "test.tsv").write_text("text\tlabel\na dog barked\tdog\nthe cat slept\tcat\n")
    spec = _sentence_spec(format="tsv")
    spec["files"] = [{"path": "train.tsv", "split": "train"}, {"path": "test.tsv", "split": "evaluation"}]
    task = _load(tmp_path, spec)
    assert task.train.texts[0] == "a cat\twith a tab"


def _ner_spec(**changes) -> dict:
    spec = {
        "name": "user-ner",
        "version": "1",
        "kind": "ner",
        "description": "user conll task",
        "source": {"type": "local", "directory": "mine"},
        "format": "conll",
        "label_names": ["O", "B-PER", "I-PER"],
        "files": [{"path": "train.txt", "split": "train"}, {"path": "test.txt", "split": "evaluation"}],
        "protocols": ["ner-greedy"],
    }
    spec.update(changes)
    return spec


@pytest.fixture
def ner_files(tmp_path) -> Path:
    folder = tmp_path / "data" / "mine"
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("-DOCSTART- O\n\nJohn\tB-PER\nSmith\tI-PER\nran\tO\n \nhello\tO\n")
    (folder / "test.txt").write_text("Mary\tB-PER\nsang\tO\n")
    return folder


def test_conll_task_loads(tmp_path, ner_files):
    task = _load(tmp_path, _ner_spec())
    assert task.train.tokens == (("John", "Smith", "ran"), ("hello",))
    assert task.train.tags == ((1, 2, 0), (0,))
    assert task.evaluation.ids == ("eval-0",)


def test_unknown_bio_tag_named(tmp_path, ner_files):
    (ner_files / "test.txt").write_text("Mary\tB-PER\nParis\tB-LOC\n")
    with pytest.raises(TaskLoadError, match=r"test\.txt: line 2: unknown tag 'B-LOC'"):
        _load(tmp_path, _ner_spec())


def test_malformed_bio_tag_named(tmp_path, ner_files):
    (ner_files / "test.txt").write_text("Mary\tB-PER\nsang\tX-PER\n")
    with pytest.raises(TaskLoadError, match=r"test\.txt: line 2: malformed BIO tag 'X-PER'"):
        _load(tmp_path, _ner_spec())


def test_invalid_bio_sequence_named(tmp_path, ner_files):
    (ner_files / "test.txt").write_text("Mary\tB-PER\nsang\tO\nloud\tI-PER\n")
    with pytest.raises(TaskLoadError, match=r"test\.txt: line 3: invalid BIO sequence, 'I-PER' follows 'O'"):
        _load(tmp_path, _ner_spec())


def test_invalid_bio_sequence_repaired(tmp_path, ner_files):
    (ner_files / "test.txt").write_text("Mary\tB-PER\nsang\tO\nloud\tI-PER\n")
    task = _load(tmp_path, _ner_spec(cleaning={"invalid_bio": "repair"}))
    assert task.evaluation.tags == ((1, 0, 1),)


def test_conll_line_without_tag_named(tmp_path, ner_files):
    (ner_files / "test.txt").write_text("Mary\tB-PER\nsang\n")
    with pytest.raises(TaskLoadError, match=r"test\.txt: cannot parse line 2: expected 'token tag'"):
        _load(tmp_path, _ner_spec())


def test_load_tasks_skips_broken_task(tmp_path, good_files):
    specs = tmp_path / "specs"
    _write_spec(specs, _sentence_spec("good-task"))
    broken = _sentence_spec("broken-task")
    broken["files"] = [{"path": "absent.csv", "split": "train"}, {"path": "test.csv", "split": "evaluation"}]
    _write_spec(specs, broken)
    registry = tasks.load_specs(specs)
    loaded, errors = tasks.load_tasks(["broken-task", "good-task"], data_dir=tmp_path / "data", specs=registry)
    assert [t.name for t in loaded] == ["good-task"]
    assert len(errors) == 1
    assert errors[0].task == "broken-task"
    assert errors[0].file == "absent.csv"


def test_data_dir_from_environment(tmp_path, good_files, monkeypatch):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "data"))
    _write_spec(tmp_path / "specs", _sentence_spec())
    task = tasks.load_task(tasks.load_specs(tmp_path / "specs").get("user-csv"))
    assert len(task.evaluation) == 2


def test_label_text_format_with_map(tmp_path):
    folder = tmp_path / "data" / "mine"
    folder.mkdir(parents=True)
    (folder / "all.txt").write_text("0 bad phone\n1 great phone\n1 \n0 awful screen\n1 fine battery\n")
    spec = {
        "name": "user-lines",
        "version": "1",
        "kind": "sentiment",
        "description": "label-text lines",
        "source": {"type": "local", "directory": "mine"},
        "format": "label-text",
        "label_names": ["negative", "positive"],
        "label_map": {"0": "negative", "1": "positive"},
        "files": [{"path": "all.txt", "split": "pool", "records": 5}],
        "division": {"evaluation_fraction": 0.5},
        "protocols": ["kshot"],
        "cleaning": {"empty_text": "drop"},
    }
    task = _load(tmp_path, spec)
    assert len(task.train) + len(task.evaluation) == 4
    positions = sorted(int(i.split("-")[1]) for i in task.train.ids + task.evaluation.ids)
    assert positions == [0, 1, 2, 3]
    with pytest.raises(TaskLoadError, match=r"all\.txt: line 3: the text is empty"):
        _load(tmp_path, spec | {"name": "user-lines2", "cleaning": {}})
