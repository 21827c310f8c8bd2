"""Every registered method against the method protocol, on a tiny random BERT.

The checks run for each method and task kind (a 3-class sentence task and a
toy NER task). Each method must give one prediction per example (one tag per
word for NER). Two independently built and meta-trained instances with the
same seeds must predict identically. Adaptation must lower the support loss
below `info["initial_support_loss"]`, and nothing may be written outside the
context's output and cache directories.
Methods that do not support a kind are skipped with their reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from bench.data import LabeledSet
from bench.methods import build_method, load_methods
from bench.protocol import MethodContext, MetaTrainingData

# Settings that keep each method to seconds on the tiny backbone. A method without an
# entry runs with its defaults; add one when a new method's defaults are slow.
META_ERASURE_FAST = {
    "ffn_blocks": 4,
    "num_candidates": 4,
    "erasure_ratios": [0.25, 0.5],
    "importance_episodes": 2,
    "adapted_layers": 1,
    "ways": 3,
    "shots": 2,
    "queries": 2,
    "meta_episodes": 6,
    "validate_every": 3,
    "validation_episodes": 2,
    "meta_max_seq_length": 16,
    "cv_folds": 2,
}
FAST_SETTINGS: dict[str, dict[str, Any]] = {
    "meta-erasure": META_ERASURE_FAST,
    "meta-erasure-no-erasure": META_ERASURE_FAST,
    "meta-erasure-no-smlmt": META_ERASURE_FAST,
    "meta-erasure-random": META_ERASURE_FAST,
    "finetune": {"epochs": 5},
    "maml": {"ways": 3, "shots": 2, "queries": 2, "meta_episodes": 4, "test_steps": 10, "ner_steps": 20},
    "protonet": {"ways": 3, "shots": 2, "queries": 2, "meta_episodes": 4},
    "setfit": {"num_iterations": 2, "batch_size": 8},
}

TOPICS = {
    "sport": ("goal", "match", "team", "score", "coach"),
    "money": ("bank", "loan", "cash", "price", "market"),
    "weather": ("rain", "snow", "storm", "cloud", "wind"),
}
FILLER = ("the", "a", "today", "we", "saw", "big", "new", "very", "and", "then")
PEOPLE = ("anna", "bob", "carla", "dan")
PLACES = ("paris", "rome", "oslo", "lima")
META_WORDS = tuple(f"word{i}" for i in range(40))
SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def vocabulary() -> list[str]:
    words = [w for topic in TOPICS.values() for w in topic] + list(FILLER) + list(PEOPLE) + list(PLACES)
    words += ["met", "in", "visited", "lives"] + list(META_WORDS)
    return list(SPECIAL) + sorted(set(words))


def sentence_task(per_class: int, offset: int) -> LabeledSet:
    texts, labels, ids = [], [], []
    for label, words in enumerate(TOPICS.values()):
        for i in range(per_class):
            j = i + offset
            texts.append(f"{FILLER[j % 10]} {words[j % 5]} {FILLER[(j + 3) % 10]} {words[(j + 2) % 5]}")
            labels.append(label)
            ids.append(f"{label}-{j}")
    return LabeledSet(kind="classification", label_names=tuple(TOPICS), ids=tuple(ids), texts=tuple(texts), labels=tuple(labels))


NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC")


def ner_task(count: int, offset: int) -> LabeledSet:
    tokens, tags, ids = [], [], []
    for i in range(offset, offset + count):
        person, second, place = PEOPLE[i % 4], PEOPLE[(i + 1) % 4], PLACES[i % 4]
        tokens.append((person, second, "visited", place, "today"))
        tags.append((1, 2, 0, 3, 0))
        ids.append(f"ner-{i}")
    return LabeledSet(kind="ner", label_names=NER_TAGS, ids=tuple(ids), tokens=tuple(tokens), tags=tuple(tags))


def meta_training_data() -> MetaTrainingData:
    def source(prefix: str, classes: int, per_class: int) -> LabeledSet:
        texts, labels, ids = [], [], []
        for label in range(classes):
            for i in range(per_class):
                texts.append(f"{META_WORDS[label]} {FILLER[i % 10]} {META_WORDS[(label + 10 + i) % 40]}")
                labels.append(label)
                ids.append(f"{prefix}-{label}-{i}")
        names = tuple(f"{prefix}-class-{label}" for label in range(classes))
        return LabeledSet(kind="classification", label_names=names, ids=tuple(ids), texts=tuple(texts), labels=tuple(labels))

    unlabeled = tuple(f"{META_WORDS[i % 20]} {FILLER[i % 10]} {META_WORDS[20 + i % 7]}" for i in range(200))
    return MetaTrainingData(tasks={"toy-a": source("a", 8, 12), "toy-b": source("b", 6, 12)}, validation={"toy-v": source("v", 6, 12)}, unlabeled=unlabeled)


@pytest.fixture(scope="module")
def tiny_backbone(tmp_path_factory: pytest.TempPathFactory) -> str:
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-bert")
    words = vocabulary()
    (directory / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(words)})
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(directory)
    return str(directory)


def snapshot(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")} if root.exists() else set()


def run_method(name: str, kind: str, backbone: str, workspace: Path) -> dict[str, Any]:
    """Meta-train and adapt `name` twice from scratch under an isolated HOME and working directory."""
    support = sentence_task(4, 0) if kind == "classification" else ner_task(6, 0)
    evaluation = sentence_task(3, 4) if kind == "classification" else ner_task(4, 6)
    home, cwd = workspace / "home", workspace / "cwd"
    home.mkdir()
    cwd.mkdir()
    from huggingface_hub import constants

    hub_cache = Path(constants.HF_HOME)
    hub_before = snapshot(hub_cache)
    results: dict[str, Any] = {"support": support, "evaluation": evaluation, "runs": []}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.chdir(cwd)
        for attempt in range(2):
            context = MethodContext(
                backbone=backbone,
                cache_dir=workspace / f"cache-{attempt}",
                output_dir=workspace / f"output-{attempt}",
                root_seed=7,
                max_seq_length=32,
                meta_data=meta_training_data,
            )
            method = build_method(name, FAST_SETTINGS.get(name, {}))
            method.meta_train(context)
            predictor = method.adapt(support, seed=11, context=context)
            results["runs"].append(
                {
                    "predictions": predictor.predict(evaluation),
                    "support_loss": predictor.loss(support),
                    "info": dict(predictor.info),
                }
            )
    results["written_home"] = sorted(snapshot(home))
    results["written_cwd"] = sorted(snapshot(cwd))
    results["written_hub_cache"] = sorted(snapshot(hub_cache) - hub_before)
    return results


_RESULTS: dict[tuple[str, str], dict[str, Any]] = {}


@pytest.fixture(params=load_methods().names())
def method_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=["classification", "ner"])
def outcome(request: pytest.FixtureRequest, method_name: str, tiny_backbone: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    kind = request.param
    method = build_method(method_name, FAST_SETTINGS.get(method_name, {}))
    if not method.supports(kind):
        pytest.skip(f"{method_name} does not support {kind}: {method.unsupported_reason}")
    if method_name == "setfit":
        from baselines.setfit_adapter import setfit_available

        if not setfit_available():
            pytest.skip("setfit is not installed (pip install setfit)")
    key = (method_name, kind)
    if key not in _RESULTS:
        _RESULTS[key] = run_method(method_name, kind, tiny_backbone, tmp_path_factory.mktemp(f"{method_name}-{kind}"))
    return _RESULTS[key]


def test_one_prediction_per_example(outcome: dict[str, Any]) -> None:
    evaluation: LabeledSet = outcome["evaluation"]
    predictions = outcome["runs"][0]["predictions"]
    assert len(predictions) == len(evaluation)
    if evaluation.is_ner:
        assert [len(p) for p in predictions] == [len(words) for words in evaluation.tokens]
        flat = [tag for sentence in predictions for tag in sentence]
    else:
        flat = list(predictions)
    assert all(isinstance(label, int) and 0 <= label < evaluation.num_labels for label in flat)


def test_same_seed_same_predictions(outcome: dict[str, Any]) -> None:
    first, second = outcome["runs"]
    assert first["predictions"] == second["predictions"]
    assert first["support_loss"] == pytest.approx(second["support_loss"], rel=1e-6)


def test_adaptation_lowers_support_loss(outcome: dict[str, Any]) -> None:
    run = outcome["runs"][0]
    assert "initial_support_loss" in run["info"], "Predictor.info must contain 'initial_support_loss' (loss before adaptation)"
    initial = run["info"]["initial_support_loss"]
    # A prototype head can already fit a toy support set almost exactly. Adaptation then
    # has nothing left to lower, so it only must not make the loss worse.
    if initial < 1e-4:
        assert run["support_loss"] <= initial + 1e-6
    else:
        assert run["support_loss"] < initial


def test_writes_only_output_and_cache(outcome: dict[str, Any]) -> None:
    assert outcome["written_home"] == []
    assert outcome["written_cwd"] == []
    assert outcome["written_hub_cache"] == []
