"""Reference numbers: build, check, drift reports and the update-reference command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import ENVIRONMENT, make_record, write_synthetic_run

from bench import reference
from bench.cli import main
from bench.records import read_record, write_record
from bench.reference import (
    ReferenceFileError,
    TolerancePolicy,
    build_reference,
    check_run,
    load_reference,
    write_reference,
)

RECORD = Path("records") / "bbc-news" / "k4" / "split0" / "finetune.json"


@pytest.fixture
def run_with_reference(tmp_path: Path, monkeypatch):
    """A synthetic run and its reference written to the default location (moved into tmp_path)."""
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path / "reference")
    run_dir = tmp_path / "run"
    records = write_synthetic_run(run_dir)
    path = reference.default_reference_path("test")
    write_reference(path, build_reference(records, "test"))
    return run_dir, path


def perturb(run_dir: Path, delta: float) -> None:
    record = read_record(run_dir / RECORD)
    metrics = {**record.metrics, "accuracy": record.metrics["accuracy"] + delta}
    write_record(run_dir, record.model_copy(update={"metrics": metrics}))


def test_reference_entries_and_provenance(run_with_reference):
    _, path = run_with_reference
    ref = load_reference(path)
    entry = next(e for e in ref.entries if e.key() == ("bbc-news", 4, "finetune", "accuracy"))
    assert entry.value == pytest.approx(0.69)
    assert entry.tolerance == reference.DEFAULT_ABSOLUTE_TOLERANCE
    assert ref.provenance.torch == "2.13.0"
    assert ref.provenance.root_seeds == [13]
    assert ref.provenance.commit == "abc123"
    assert ref.profile == "test"


def test_check_passes_on_identical_run(run_with_reference, capsys):
    run_dir, _ = run_with_reference
    assert main(["check", str(run_dir)]) == 0
    assert "check passed" in capsys.readouterr().out


def test_check_passes_within_tolerance(run_with_reference):
    run_dir, _ = run_with_reference
    perturb(run_dir, 1e-9)
    assert main(["check", str(run_dir)]) == 0


def test_check_fails_on_perturbed_value(run_with_reference, capsys):
    run_dir, path = run_with_reference
    perturb(run_dir, 0.01)
    assert main(["check", str(run_dir)]) == 1
    output = capsys.readouterr().out
    # One split of six moves by 0.01, so the mean moves by 0.01 / 6.
    assert "drift: bbc-news k=4 finetune accuracy: expected 0.690000, observed 0.691667" in output
    assert "tolerance 1.0e-06" in output
    assert output.count("drift:") == 1


def test_check_fails_on_missing_cell(run_with_reference, capsys):
    run_dir, _ = run_with_reference
    for split in range(6):
        (run_dir / "records" / "bbc-news" / "k8" / f"split{split}" / "protonet.json").unlink()
    assert main(["check", str(run_dir)]) == 1
    output = capsys.readouterr().out
    assert "drift: bbc-news k=8 protonet accuracy: missing from the run" in output
    assert "drift: bbc-news k=8 protonet macro_f1: missing from the run" in output


def test_check_result_lists_missing_cell_as_drift(run_with_reference):
    run_dir, path = run_with_reference
    records = [make_record("bbc-news", 4, 0, "finetune", {"accuracy": 0.6})]
    result = check_run(records, load_reference(path))
    assert not result.passed
    missing = [d for d in result.drifts if d.observed is None]
    assert len(missing) == len(load_reference(path).entries) - 1


def test_check_reports_environment_difference(run_with_reference, capsys):
    run_dir, _ = run_with_reference
    record = read_record(run_dir / RECORD)
    other = ENVIRONMENT.model_copy(update={"torch": "2.12.0"})
    metrics = {**record.metrics, "accuracy": 0.0}
    write_record(run_dir, record.model_copy(update={"environment": other, "metrics": metrics}))
    assert main(["check", str(run_dir)]) == 1
    output = capsys.readouterr().out
    assert "environment differs" in output
    assert "torch: reference 2.13.0, run 2.12.0 | 2.13.0" in output


def test_check_corrupt_reference(run_with_reference, capsys):
    run_dir, path = run_with_reference
    path.write_text("{ truncated", encoding="utf-8")
    assert main(["check", str(run_dir)]) == 2
    output = capsys.readouterr().out
    assert f"error: {path}: not valid JSON" in output
    with pytest.raises(ReferenceFileError, match="not valid JSON"):
        load_reference(path)


def test_check_schema_invalid_reference(run_with_reference, capsys):
    run_dir, path = run_with_reference
    data = json.loads(path.read_text())
    data["entries"][0]["unexpected"] = 1
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["check", str(run_dir)]) == 2
    output = capsys.readouterr().out
    assert f"{path}: invalid reference file" in output
    assert "unexpected" in output


def test_check_missing_reference(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reference, "REFERENCE_DIR", tmp_path / "reference")
    run_dir = tmp_path / "run"
    write_synthetic_run(run_dir)
    assert main(["check", str(run_dir)]) == 2
    assert "reference file not found" in capsys.readouterr().out


def test_update_reference_without_yes_writes_nothing(run_with_reference, capsys):
    run_dir, path = run_with_reference
    before = path.read_bytes()
    perturb(run_dir, 0.06)
    assert main(["update-reference", str(run_dir)]) == 0
    output = capsys.readouterr().out
    assert "changed bbc-news k=4 finetune accuracy: 0.690000 -> 0.700000" in output
    assert "nothing written" in output
    assert path.read_bytes() == before


def test_update_reference_new_file_needs_yes(tmp_path, capsys):
    run_dir = tmp_path / "run"
    write_synthetic_run(run_dir)
    target = tmp_path / "new.json"
    assert main(["update-reference", str(run_dir), "--reference", str(target)]) == 0
    assert not target.exists()
    assert main(["update-reference", str(run_dir), "--reference", str(target), "--yes",
                 "--floor", "accuracy=0.01"]) == 0
    written = load_reference(target)
    assert written.tolerance_policy.metric_floors == {"accuracy": 0.01}
    accuracy = next(e for e in written.entries if e.metric == "accuracy")
    assert accuracy.tolerance == 0.01
    assert main(["check", str(run_dir), "--reference", str(target)]) == 0


def test_update_reference_with_yes_accepts_change(run_with_reference):
    run_dir, _ = run_with_reference
    perturb(run_dir, 0.06)
    assert main(["check", str(run_dir)]) == 1
    assert main(["update-reference", str(run_dir), "--yes"]) == 0
    assert main(["check", str(run_dir)]) == 0


def test_tolerance_policy_floor():
    policy = TolerancePolicy(absolute=1e-6, metric_floors={"f1": 0.02})
    assert policy.tolerance("f1") == 0.02
    assert policy.tolerance("accuracy") == 1e-6
