"""Episode sampling, meta-training, its cache and per-task selection of the meta-erasure method."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from bench.data import LabeledSet
from bench.meta.episodes import EpisodeSampler
from bench.meta.method import MetaErasureFull, MetaErasureNoErasure, MetaErasureRandom
from bench.meta.selection import make_folds
from bench.methods import METHOD_MODULES, load_methods
from bench.protocol import MetaTrainingData, MethodContext

TOPICS = {
    "sport": ("game", "team", "goal"),
    "money": ("bank", "stock", "price"),
    "film": ("movie", "actor", "music"),
    "weather": ("rain", "sun", "wind"),
    "food": ("bread", "soup", "cake"),
    "travel": ("train", "plane", "hotel"),
}
FILLER = ("the", "a", "is", "was", "it", "today")
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *[w for ws in TOPICS.values() for w in ws], *FILLER, "john", "paris"]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> str:
    directory = tmp_path_factory.mktemp("tiny-bert-meta")
    tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(VOCABULARY)}, do_lower_case=True)
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(VOCABULARY),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(directory)
    return str(directory)


def topic_set(prefix: str, topics: list[str], per_class: int, offset: int = 0) -> LabeledSet:
    ids, texts, labels = [], [], []
    for label, topic in enumerate(topics):
        words = TOPICS[topic]
        for i in range(per_class):
            ids.append(f"{prefix}-{topic}-{i}")
            texts.append(f"{words[(i + offset) % 3]} {FILLER[i % 6]} {words[(i + offset + 1) % 3]} {FILLER[(i + 2) % 6]}")
            labels.append(label)
    return LabeledSet(kind="classification", label_names=tuple(f"{prefix}-{t}" for t in topics), ids=tuple(ids), texts=tuple(texts), labels=tuple(labels))


def meta_data() -> MetaTrainingData:
    unlabeled = tuple(
        f"{a} {FILLER[i % 6]} {b} {FILLER[(i + 3) % 6]}"
        for i, (a, b) in enumerate((x, y) for ws in TOPICS.values() for x in ws for y in ws if x != y)
    ) * 3
    return MetaTrainingData(
        tasks={"train-a": topic_set("a", ["sport", "money", "film", "weather"], 10), "train-b": topic_set("b", ["food", "travel", "sport"], 10)},
        validation={"val": topic_set("v", ["food", "travel", "weather"], 10)},
        unlabeled=unlabeled,
    )


SETTINGS = {
    "ffn_blocks": 4,
    "num_candidates": 4,
    "erasure_ratios": [0.25, 0.5],
    "importance_episodes": 2,
    "adapted_layers": 1,
    "ways": 3,
    "shots": 2,
    "queries": 3,
    "smlmt_share": 0.3,
    "meta_episodes": 12,
    "inner_steps": 2,
    "outer_lr": 1e-3,
    "lr_outer_lr": 1e-2,
    "validate_every": 6,
    "validation_episodes": 3,
    "meta_max_seq_length": 16,
    "cv_folds": 2,
    "adapt_steps": 2,
}


def context(backbone: str, cache: Path, data: MetaTrainingData | None = None) -> MethodContext:
    data = data or meta_data()
    return MethodContext(
        backbone=backbone, cache_dir=cache, output_dir=cache / "out", root_seed=5, max_seq_length=24, meta_data=lambda: data
    )


@pytest.fixture(scope="module")
def trained(backbone, tmp_path_factory):
    cache = tmp_path_factory.mktemp("meta-cache")
    method = MetaErasureFull(**{**MetaErasureFull.defaults, **SETTINGS})
    summary = method.meta_train(context(backbone, cache))
    return method, summary, cache


def test_sampler_is_deterministic_and_relabels():
    data = meta_data()
    first = EpisodeSampler(data, ways=3, shots=2, queries=3, smlmt_share=0.5, seed=9)
    second = EpisodeSampler(data, ways=3, shots=2, queries=3, smlmt_share=0.5, seed=9)
    sources = set()
    for index in range(12):
        episode = first.sample(index)
        assert episode == second.sample(index)
        assert sorted(set(episode.support.labels)) == [0, 1, 2]
        assert len(episode.support) == 6
        assert len(episode.query) == 9
        assert not set(episode.support.ids) & set(episode.query.ids)
        sources.add(episode.source)
    assert "smlmt" in sources
    assert sources & {"train-a", "train-b"}


def test_sampler_smlmt_masks_label_word():
    data = meta_data()
    sampler = EpisodeSampler(data, ways=3, shots=2, queries=3, smlmt_share=1.0, seed=1)
    episode = sampler.sample(0)
    assert episode.source == "smlmt"
    for text, label in zip(episode.support.texts + episode.query.texts, episode.support.labels + episode.query.labels):
        word = episode.support.label_names[label]
        assert "[MASK]" in text
        assert word not in text.split()


def test_sampler_validation_split_uses_validation_classes():
    sampler = EpisodeSampler(meta_data(), ways=3, shots=2, queries=3, smlmt_share=0.9, seed=1, split="validation")
    for index in range(4):
        episode = sampler.sample(index)
        assert episode.source == "val"
        assert all(name.startswith("v-") for name in episode.support.label_names)


def test_sampler_rejects_too_few_classes():
    with pytest.raises(ValueError, match="no train task has 5 classes"):
        EpisodeSampler(meta_data(), ways=5, shots=2, queries=3, smlmt_share=0.0, seed=1)


def test_folds_keep_singleton_classes_in_training():
    support = LabeledSet(
        kind="classification", label_names=("x", "y", "z"), ids=tuple("abcdef"), texts=tuple("abcdef"), labels=(0, 0, 0, 1, 1, 2)
    )
    folds = make_folds(support, folds=3, seed=4)
    held_out = [i for fold in folds for i in fold]
    assert 5 not in held_out
    assert sorted(held_out) == [0, 1, 2, 3, 4]
    assert len(folds) == 3
    single = LabeledSet(kind="classification", label_names=("x", "y"), ids=("a", "b"), texts=("a", "b"), labels=(0, 1))
    assert make_folds(single, folds=3, seed=4) == []


def test_meta_training_reduces_query_loss(trained):
    _, summary, _ = trained
    validation = summary["validation"]
    assert [point["episode"] for point in validation] == [0, 6, 12]
    assert min(p["query_loss"] for p in validation[1:]) < validation[0]["query_loss"]
    assert len(summary["curve"]) == 12
    assert summary["reused_cache"] is False
    assert list(summary["candidates"])[0] == "intact"
    assert len(summary["candidates"]) == 4


def test_meta_training_is_deterministic(trained, backbone, tmp_path):
    _, summary, _ = trained
    method = MetaErasureFull(**{**MetaErasureFull.defaults, **SETTINGS})
    again = method.meta_train(context(backbone, tmp_path))
    assert again["reused_cache"] is False
    assert again["cache_key"] == summary["cache_key"]
    assert again["curve"] == summary["curve"]


def test_cache_reuse_loads_identical_state(trained, backbone, caplog):
    method, summary, cache = trained
    reloaded = MetaErasureRandom(**{**MetaErasureRandom.defaults, **SETTINGS})
    with caplog.at_level("INFO"):
        second = reloaded.meta_train(context(backbone, cache))
    assert second["reused_cache"] is True
    assert second["cache_key"] == summary["cache_key"]
    assert "reusing cached meta-training" in caplog.text
    for name, tensor in method._state.body.items():
        assert torch.equal(tensor, reloaded._state.body[name])
    for name, tensor in method._state.log_lrs.items():
        assert torch.equal(tensor, reloaded._state.log_lrs[name])
    assert [c.name for c in reloaded._state.candidates] == list(summary["candidates"])


def test_no_erasure_uses_another_cache(trained, backbone):
    _, summary, cache = trained
    method = MetaErasureNoErasure(**{**MetaErasureNoErasure.defaults, **SETTINGS, "meta_episodes": 2})
    result = method.meta_train(context(backbone, cache))
    assert result["cache_key"] != summary["cache_key"]
    assert list(result["candidates"]) == ["intact"]


def test_adapt_scores_every_candidate(trained, backbone):
    method, summary, cache = trained
    support = topic_set("e", ["sport", "money", "film"], 4)
    evaluation = topic_set("e", ["sport", "money", "film"], 5, offset=1)
    predictor = method.adapt(support, seed=3, context=context(backbone, cache))
    assert set(predictor.info["candidate_scores"]) == set(summary["candidates"])
    assert predictor.info["chosen_candidate"] in summary["candidates"]
    best = max(predictor.info["candidate_scores"].values())
    assert predictor.info["candidate_scores"][predictor.info["chosen_candidate"]] == best
    predictions = predictor.predict(evaluation)
    assert len(predictions) == len(evaluation)
    assert all(p in (0, 1, 2) for p in predictions)
    assert predictor.loss(evaluation) > 0.0


def test_random_variant_picks_without_scores(trained, backbone):
    _, summary, cache = trained
    method = MetaErasureRandom(**{**MetaErasureRandom.defaults, **SETTINGS})
    support = topic_set("e", ["sport", "money"], 3)
    predictor = method.adapt(support, seed=1, context=context(backbone, cache))
    assert predictor.info["candidate_scores"] == {}
    assert predictor.info["chosen_candidate"] in summary["candidates"]


def test_ner_adapt_predicts_word_tags(trained, backbone):
    method, summary, cache = trained
    tokens = tuple(("john", "was", "in", "paris", "today") for _ in range(6))
    tags = tuple((1, 0, 0, 3, 0) for _ in range(6))
    support = LabeledSet(kind="ner", label_names=("O", "B-PER", "I-PER", "B-LOC", "I-LOC"), ids=tuple(f"s{i}" for i in range(6)), tokens=tokens, tags=tags)
    predictor = method.adapt(support, seed=2, context=context(backbone, cache))
    assert set(predictor.info["candidate_scores"]) == set(summary["candidates"])
    predictions = predictor.predict(support)
    assert [len(p) for p in predictions] == [5] * 6
    assert predictions[0] == [1, 0, 0, 3, 0]


def test_methods_are_registered():
    assert "bench.meta.method" in METHOD_MODULES
    registry = load_methods()
    for name in ("meta-erasure", "meta-erasure-no-erasure", "meta-erasure-random", "meta-erasure-no-smlmt"):
        assert name in registry
    assert registry.get("meta-erasure-random").defaults["selection"] == "random"
    assert registry.get("meta-erasure-no-smlmt").defaults["smlmt_share"] == 0.0
