"""The runner on a tiny random BERT and toy tasks: records, resume, determinism, skips."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from bench.methods import METHODS, load_methods
from bench.profiles import Profile
from bench.protocol import Method, MetaTrainingData
from bench.records import load_records, read_record
from bench.runner import RunConfig, Runner
from conftest import toy_ner_task, toy_sentence_task

PROFILE = Profile(
    name="test",
    description="unit test",
    tasks=("toy", "toy-ner"),
    shots=(2,),
    splits=2,
    methods=("finetune",),
    eval_size=None,
    max_seq_length=32,
    method_params={"finetune": {"epochs": 2, "batch_size": 4}},
)


def make_runner(tmp_path: Path, backbone: str, methods=("finetune",), force=False) -> Runner:
    config = RunConfig(
        profile=PROFILE,
        tasks=("toy", "toy-ner"),
        methods=tuple(methods),
        shots=(2,),
        splits=(0, 1),
        root_seed=7,
        output_dir=tmp_path / "run",
        cache_dir=tmp_path / "cache",
        backbone=backbone,
        force=force,
    )
    return Runner(config, [toy_sentence_task(), toy_ner_task()], lambda: MetaTrainingData(tasks={}, validation={}))


class SentenceOnly(Method):
    """Test double: a method that cannot do NER."""

    name = "sentence-only"
    defaults: ClassVar[dict] = {}
    supported_kinds = frozenset({"classification", "sentiment"})
    unsupported_reason = "test double handles sentence tasks only"

    def adapt(self, support, seed, context):
        raise RuntimeError("deliberate failure")


@pytest.fixture(scope="module", autouse=True)
def register_double():
    load_methods()
    if "sentence-only" not in METHODS:
        METHODS.add("sentence-only", SentenceOnly)


def test_run_writes_one_record_per_cell(tmp_path, tiny_backbone):
    outcome = make_runner(tmp_path, tiny_backbone).run()
    records, errors = load_records(tmp_path / "run")
    assert errors == []
    assert len(outcome.written) == 4
    assert sorted(r.cell.key() for r in records) == [
        ("toy", 2, 0, "finetune"), ("toy", 2, 1, "finetune"),
        ("toy-ner", 2, 0, "finetune"), ("toy-ner", 2, 1, "finetune"),
    ]
    ner = next(r for r in records if r.task.kind == "ner")
    assert set(ner.metrics) == {"f1", "precision", "recall"}
    assert all(len(p.pred) == len(p.gold) for p in ner.predictions)
    sentence = next(r for r in records if r.task.kind == "classification")
    assert len(sentence.predictions) == 12
    assert sentence.support_ids and len(sentence.support_ids) == 6
    assert (tmp_path / "run" / "run.json").is_file()


def test_rerun_gives_identical_predictions(tmp_path, tiny_backbone):
    make_runner(tmp_path / "a", tiny_backbone).run()
    make_runner(tmp_path / "b", tiny_backbone).run()
    first, _ = load_records(tmp_path / "a" / "run")
    second, _ = load_records(tmp_path / "b" / "run")
    assert [r.predictions for r in first] == [r.predictions for r in second]
    assert [r.metrics for r in first] == [r.metrics for r in second]


def test_existing_records_are_reused(tmp_path, tiny_backbone):
    make_runner(tmp_path, tiny_backbone).run()
    path = tmp_path / "run" / "records" / "toy" / "k2" / "split0" / "finetune.json"
    before = path.read_bytes()
    outcome = make_runner(tmp_path, tiny_backbone).run()
    assert len(outcome.reused) == 4
    assert outcome.written == []
    assert path.read_bytes() == before


def test_corrupt_record_is_rerun(tmp_path, tiny_backbone):
    make_runner(tmp_path, tiny_backbone).run()
    path = tmp_path / "run" / "records" / "toy" / "k2" / "split1" / "finetune.json"
    path.write_text("{broken")
    outcome = make_runner(tmp_path, tiny_backbone).run()
    assert [c.key() for c in outcome.written] == [("toy", 2, 1, "finetune")]
    assert read_record(path).cell.split == 1


def test_unsupported_kind_skipped_and_failure_isolated(tmp_path, tiny_backbone):
    outcome = make_runner(tmp_path, tiny_backbone, methods=("sentence-only", "finetune")).run()
    skipped = {c.key(): reason for c, reason in outcome.skipped}
    assert skipped[("toy-ner", 2, 0, "sentence-only")] == "test double handles sentence tasks only"
    failed = {c.key(): reason for c, reason in outcome.failed}
    assert failed[("toy", 2, 0, "sentence-only")] == "RuntimeError: deliberate failure"
    # The failing method loses nothing that other methods wrote.
    assert len(outcome.written) == 4


def test_changed_hyperparameters_rerun_cells(tmp_path, tiny_backbone):
    make_runner(tmp_path, tiny_backbone).run()
    changed = make_runner(tmp_path, tiny_backbone)
    changed._methods["finetune"] = changed.method("finetune").__class__(
        **{**changed.method("finetune").hyperparameters, "epochs": 1}
    )
    outcome = changed.run()
    assert outcome.reused == []
    assert len(outcome.written) == 4
    record = read_record(tmp_path / "run" / "records" / "toy" / "k2" / "split0" / "finetune.json")
    assert record.method.hyperparameters["epochs"] == 1


def test_meta_data_sharing_evaluation_class_rejected():
    from bench.data import LabeledSet
    from bench.runner import check_meta_training_data

    task = toy_sentence_task()
    leaking = LabeledSet(
        kind="classification", label_names=("positive", "other"), ids=("m1", "m2"),
        texts=("x y", "y z"), labels=(0, 1),
    )
    data = MetaTrainingData(tasks={"toy": leaking}, validation={})
    with pytest.raises(ValueError, match=r"source 'toy' contains evaluation classes \['positive'\]"):
        check_meta_training_data(data, [task])


def test_meta_data_sharing_evaluation_text_rejected():
    from bench.data import LabeledSet
    from bench.runner import check_meta_training_data

    task = toy_sentence_task()
    copied = task.evaluation.texts[0].upper()  # normalised comparison ignores case
    leaking = LabeledSet(kind="classification", label_names=("a",), ids=("m1",), texts=(copied,), labels=(0,))
    data = MetaTrainingData(tasks={"other-source": leaking}, validation={})
    with pytest.raises(ValueError, match="contains 1 evaluation texts of task 'toy'"):
        check_meta_training_data(data, [task])
