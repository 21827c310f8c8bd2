import json

import pytest

from bench.records import (
    CellId,
    Environment,
    ExamplePrediction,
    MethodInfo,
    RecordError,
    RunRecord,
    Seeds,
    TaskInfo,
    load_records,
    read_record,
    write_record,
)


def make_record(split: int = 0, accuracy: float = 0.5) -> RunRecord:
    return RunRecord(
        suite_version="0.1.0",
        git_commit=None,
        profile="smoke",
        cell=CellId(task="toy", k=4, split=split, method="finetune"),
        task=TaskInfo(name="toy", version="1", kind="classification", label_names=["a", "b"],
                      checksums={"f": "0" * 64}, protocol="kshot"),
        method=MethodInfo(name="finetune", hyperparameters={"epochs": 1}),
        seeds=Seeds(root=1, cell=2),
        support_ids=["s1"],
        predictions=[ExamplePrediction(id="e1", gold=0, pred=1)],
        metrics={"accuracy": accuracy},
        wall_time_s=0.1,
        environment=Environment(python="3.11", torch="2", transformers="5", platform="linux", device="cpu", cpu="x"),
    )


def test_write_then_read_round_trip(tmp_path):
    path = write_record(tmp_path, make_record())
    assert path == tmp_path / "records" / "toy" / "k4" / "split0" / "finetune.json"
    assert read_record(path) == make_record()
    assert not list(path.parent.glob(".tmp-*"))


def test_corrupt_record_names_file(tmp_path):
    path = write_record(tmp_path, make_record())
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RecordError, match="finetune.json: not valid JSON"):
        read_record(path)


def test_unknown_schema_version_rejected(tmp_path):
    path = write_record(tmp_path, make_record())
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match="schema_version 99 is not supported"):
        read_record(path)


def test_unknown_field_rejected(tmp_path):
    path = write_record(tmp_path, make_record())
    data = json.loads(path.read_text())
    data["surprise"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError, match="surprise"):
        read_record(path)


def test_load_records_keeps_valid_and_reports_invalid(tmp_path):
    write_record(tmp_path, make_record(split=0))
    bad = write_record(tmp_path, make_record(split=1))
    bad.write_text("[]")
    records, errors = load_records(tmp_path)
    assert [r.cell.split for r in records] == [0]
    assert len(errors) == 1
    assert "split1" in str(errors[0])
