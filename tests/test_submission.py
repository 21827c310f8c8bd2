"""Submission packaging and validation of untrusted submission files."""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import pytest

from bench.cli import submit_cmd, validate_cmd
from bench.profiles import PROFILES
from bench.submission import Limits, PackageError, load_spec, package_run, validate_file, write_submission
from bench.submission.loading import scan_json_limits
from bench.submission.synthetic import synthetic_registry, synthetic_spec, write_synthetic_run


@pytest.fixture
def registry():
    return synthetic_registry()


@pytest.fixture
def spec():
    return synthetic_spec()


@pytest.fixture
def run_dir(tmp_path: Path, registry) -> Path:
    path = tmp_path / "run"
    write_synthetic_run(path, registry, "protonet", skill=0.8)
    return path


@pytest.fixture
def data(run_dir: Path) -> dict:
    """A valid submission as plain JSON data, ready to tamper with."""
    return package_run(run_dir, description="test method").model_dump(mode="json")


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def codes(result) -> set[str]:
    return {problem.code for problem in result.problems}


def cell(data: dict, task: str, split: int = 0) -> dict:
    return next(c for c in data["cells"] if c["task"] == task and c["split"] == split)


# --- valid submissions -------------------------------------------------------


def test_valid_submission_passes(tmp_path, run_dir, registry, spec):
    path = write_submission(package_run(run_dir), tmp_path / "ok.json")
    result = validate_file(path, spec, registry)
    assert result.problems == []
    assert result.ok
    assert len(result.submission.cells) == 12


def test_gzip_submission_passes(tmp_path, run_dir, registry, spec):
    path = write_submission(package_run(run_dir), tmp_path / "ok.json.gz")
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    result = validate_file(path, spec, registry)
    assert result.problems == []


def test_package_collects_metadata(run_dir):
    submission = package_run(run_dir, paper="https://example.org/paper", total_parameters=5)
    assert submission.method.name == "protonet"
    assert submission.method.backbone == "synthetic-backbone"
    assert submission.method.total_parameters == 5  # the option wins over the record
    assert submission.method.trainable_parameters == 10  # from the record's extra
    assert submission.tasks["wnut16"].version == "1.0"
    assert submission.tasks["banking77"].checksums == {"train.csv": "b" * 64, "test.csv": "c" * 64}
    assert submission.run.root_seed == 0
    assert submission.environment.device == "cpu"


def test_package_needs_method_when_several(run_dir, registry):
    write_synthetic_run(run_dir, registry, "finetune", skill=0.5)
    with pytest.raises(PackageError, match="--method"):
        package_run(run_dir)
    assert package_run(run_dir, method="finetune").method.name == "finetune"


def test_package_rejects_unknown_method(run_dir):
    with pytest.raises(PackageError, match="'maml' has no records"):
        package_run(run_dir, method="maml")


# --- tampered submissions ----------------------------------------------------


def test_edited_score_rejected(tmp_path, data, registry, spec):
    cell(data, "bbc-news")["metrics"]["accuracy"] = 0.999
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"score-mismatch"}
    assert "bbc-news k=8 split=0" in result.problems[0].message
    assert "accuracy 0.999" in result.problems[0].message


def test_missing_cell_rejected(tmp_path, data, registry, spec):
    data["cells"].remove(cell(data, "wnut16", split=2))
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"missing-cell"}
    assert "wnut16 k=8 split=2" in result.problems[0].message


def test_duplicate_cell_rejected(tmp_path, data, registry, spec):
    data["cells"].append(cell(data, "tweet-sentiment", split=1))
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"duplicate-cell"}
    assert "appears 2 times" in result.problems[0].message


def test_wrong_task_version_rejected(tmp_path, data, registry, spec):
    data["tasks"]["tweet-sentiment"]["version"] = "1.0"
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"task-version"}
    assert "'1.0'" in result.problems[0].message
    assert "'2.0'" in result.problems[0].message


def test_wrong_checksum_rejected(tmp_path, data, registry, spec):
    data["tasks"]["bbc-news"]["checksums"]["bbc.csv"] = "0" * 64
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"checksum"}
    assert "bbc.csv" in result.problems[0].message


def test_malformed_json_rejected(tmp_path, registry, spec):
    path = tmp_path / "s.json"
    path.write_text('{"format": "bench-submission", "cells": [', encoding="utf-8")
    result = validate_file(path, spec, registry)
    assert codes(result) == {"malformed-json"}
    assert result.submission is None


def test_non_object_json_rejected(tmp_path, registry, spec):
    result = validate_file(write_json(tmp_path / "s.json", [1, 2]), spec, registry)
    assert codes(result) == {"malformed-json"}
    assert "expected a JSON object" in result.problems[0].message


def test_oversized_file_rejected(tmp_path, data, registry, spec):
    path = write_json(tmp_path / "s.json", data)
    limit = path.stat().st_size - 1
    result = validate_file(path, spec, registry, Limits(max_file_bytes=limit))
    assert codes(result) == {"file-too-large"}
    assert f"limit of {limit} bytes" in result.problems[0].message


def test_default_limits_are_50_mb():
    limits = Limits()
    assert limits.max_file_bytes == 50 * 1024 * 1024
    assert limits.max_decompressed_bytes == 50 * 1024 * 1024
    assert limits.max_string_chars == 10_000


def test_nan_score_rejected(tmp_path, data, registry, spec):
    cell(data, "banking77")["metrics"]["macro_f1"] = float("nan")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
    assert "NaN" in path.read_text(encoding="utf-8")
    result = validate_file(path, spec, registry)
    assert codes(result) == {"non-finite-score"}
    assert "macro_f1 is nan" in result.problems[0].message


def test_infinite_score_rejected(tmp_path, data, registry, spec):
    cell(data, "banking77")["metrics"]["accuracy"] = float("inf")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
    assert codes(validate_file(path, spec, registry)) == {"non-finite-score"}


def test_out_of_range_score_rejected(tmp_path, data, registry, spec):
    cell(data, "wnut16")["metrics"]["f1"] = 1.5
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    # The value is both outside [0, 1] and different from the re-score.
    assert codes(result) == {"score-out-of-range", "score-mismatch"}


def test_ner_prediction_wrong_length_rejected(tmp_path, data, registry, spec):
    prediction = cell(data, "wnut16")["predictions"][0]
    prediction["pred"] = prediction["pred"] + [0]
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"prediction-length"}
    assert "'eval-0'" in result.problems[0].message


def test_sentence_prediction_as_list_rejected(tmp_path, data, registry, spec):
    cell(data, "bbc-news")["predictions"][3]["pred"] = [1]
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"prediction-type"}


def test_label_out_of_range_rejected(tmp_path, data, registry, spec):
    cell(data, "tweet-sentiment")["predictions"][0]["pred"] = 7
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"label-out-of-range"}


def test_unknown_example_id_rejected(tmp_path, data, registry, spec):
    cell(data, "bbc-news")["predictions"][0]["id"] = "eval-999"
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"unknown-example-id", "missing-prediction"}
    messages = " ".join(problem.message for problem in result.problems)
    assert "'eval-999'" in messages
    assert "'eval-0'" in messages


def test_wrong_prediction_count_rejected(tmp_path, data, registry, spec):
    del cell(data, "bbc-news")["predictions"][-1]
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"prediction-count", "missing-prediction"}
    assert any("11 predictions but the evaluation sample has 12" in p.message for p in result.problems)


def test_duplicate_prediction_rejected(tmp_path, data, registry, spec):
    predictions = cell(data, "bbc-news")["predictions"]
    predictions[1] = dict(predictions[0])
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert "duplicate-prediction" in codes(result)
    assert "missing-prediction" in codes(result)


def test_edited_gold_rejected(tmp_path, data, registry, spec):
    prediction = cell(data, "banking77")["predictions"][0]
    prediction["gold"] = (prediction["gold"] + 1) % 4
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"gold-mismatch"}


def test_unknown_field_rejected(tmp_path, data, registry, spec):
    data["method"]["leaderboard_bonus"] = 10
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"unknown-field"}
    assert "method.leaderboard_bonus" in result.problems[0].message


def test_non_http_link_rejected(tmp_path, data, registry, spec):
    data["method"]["paper"] = "javascript:alert(1)"
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"schema"}
    assert "method.paper" in result.problems[0].message


def test_oversized_string_rejected(tmp_path, data, registry, spec):
    data["method"]["description"] = "x" * 10_001
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"field-too-large"}
    assert "10001 characters" in result.problems[0].message


def test_oversized_list_rejected(tmp_path, data, registry, spec):
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry, Limits(max_list_items=11))
    assert codes(result) == {"field-too-large"}
    assert "more than 11 items" in result.problems[0].message


def test_deep_nesting_rejected(tmp_path, registry, spec):
    path = tmp_path / "s.json"
    path.write_text('{"a": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8")
    result = validate_file(path, spec, registry)
    assert codes(result) == {"field-too-large"}
    assert "nesting deeper than 32" in result.problems[0].message


def test_scan_counts_array_items_exactly_at_limit():
    limits = Limits(max_list_items=3)
    assert scan_json_limits('{"a": [1, 2, 3], "b": ["x,y,z,w"]}', limits) == []
    assert [p.code for p in scan_json_limits('{"a": [1, 2, 3, 4]}', limits)] == ["field-too-large"]


def test_gzip_bomb_rejected(tmp_path, registry, spec):
    path = tmp_path / "bomb.json.gz"
    # 8 MiB of spaces compresses to about 8 KiB; the cap is 1 MiB.
    path.write_bytes(gzip.compress(b" " * (8 * 1024 * 1024), compresslevel=9))
    assert path.stat().st_size < 64 * 1024
    result = validate_file(path, spec, registry, Limits(max_decompressed_bytes=1024 * 1024))
    assert codes(result) == {"decompressed-too-large"}


def test_plain_file_over_decompressed_cap_rejected(tmp_path, data, registry, spec):
    path = write_json(tmp_path / "s.json", data)
    result = validate_file(path, spec, registry, Limits(max_decompressed_bytes=100))
    assert codes(result) == {"decompressed-too-large"}


def test_corrupt_gzip_rejected(tmp_path, registry, spec):
    path = tmp_path / "s.json.gz"
    path.write_bytes(b"\x1f\x8b" + b"not gzip data at all")
    assert codes(validate_file(path, spec, registry)) == {"malformed-gzip"}


def test_every_problem_reported(tmp_path, data, registry, spec):
    cell(data, "bbc-news")["metrics"]["accuracy"] = 0.123
    data["cells"].remove(cell(data, "banking77", split=1))
    data["tasks"]["wnut16"]["version"] = "9"
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"score-mismatch", "missing-cell", "task-version"}


def test_unregistered_task_rejected(tmp_path, data, registry, spec):
    data["tasks"]["made-up"] = data["tasks"]["bbc-news"]
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"unknown-task"}
    assert "made-up" in result.problems[0].message


# --- leaderboard spec --------------------------------------------------------


def test_default_spec_matches_quick_profile():
    spec = load_spec()
    quick = PROFILES.get("quick")
    assert spec.tasks == list(quick.tasks) == ["bbc-news", "banking77", "tweet-sentiment", "wnut16"]
    assert spec.shots == list(quick.shots) == [8]
    assert spec.splits == list(range(quick.splits)) == [0, 1, 2]
    assert spec.eval_size == quick.eval_size == 200
    assert len(spec.required_cells()) == 12


def test_spec_rejects_unknown_key(tmp_path):
    from bench.submission import SpecError

    path = tmp_path / "spec.yaml"
    path.write_text("name: x\ntasks: [a]\nshots: [8]\nsplits: [0]\nranking_metric: {ner: f1}\nbonus: 1\n")
    with pytest.raises(SpecError, match="bonus"):
        load_spec(path)


# --- command line ------------------------------------------------------------


def _run_cli(module, argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    module.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_cli_submit_then_validate(tmp_path, run_dir, registry, monkeypatch, capsys):
    import bench.submission

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(json.dumps(synthetic_spec().model_dump(mode="json")), encoding="utf-8")
    monkeypatch.setattr(bench.submission, "TaskRegistryView", lambda **_: registry)
    output = tmp_path / "out" / "sub.json.gz"

    assert _run_cli(submit_cmd, ["submit", str(run_dir), "-o", str(output), "--code", "https://example.org/code"]) == 0
    assert output.is_file()
    assert _run_cli(validate_cmd, ["validate", str(output), "--leaderboard", str(spec_path)]) == 0
    assert "valid (12 cells, method protonet)" in capsys.readouterr().out

    data = json.loads(gzip.decompress(output.read_bytes()))
    data["cells"][0]["metrics"]["accuracy"] = 0.0
    data["cells"].pop()
    bad = write_json(tmp_path / "bad.json", data)
    assert _run_cli(validate_cmd, ["validate", str(bad), "--leaderboard", str(spec_path)]) == 1
    printed = capsys.readouterr().out
    assert "INVALID, 2 problem(s)" in printed
    assert "[score-mismatch]" in printed
    assert "[missing-cell]" in printed


def test_mismatched_task_not_rescored(tmp_path, data, registry, spec):
    data["tasks"]["bbc-news"]["version"] = "0.9"
    cell(data, "bbc-news")["metrics"]["accuracy"] = 0.5
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"task-version"}
    assert len(result.problems) == 1


def test_cell_label_names_checked(tmp_path, data, registry, spec):
    cell(data, "tweet-sentiment")["label_names"] = ["positive", "neutral", "negative"]
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"label-names"}
    assert "tweet-sentiment k=8 split=0" in result.problems[0].message


def test_cell_protocol_checked(tmp_path, data, registry, spec):
    cell(data, "bbc-news", split=1)["protocol"] = "episode"
    result = validate_file(write_json(tmp_path / "s.json", data), spec, registry)
    assert codes(result) == {"protocol"}
