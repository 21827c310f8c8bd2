"""Samplers on synthetic tasks: determinism, shot counts, stratification, episodes, NER bounds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from bench.data import ClassSplit, LabeledSet, Task
from bench.metrics import entity_spans
from bench.sampling import (
    SamplingError,
    episode,
    evaluation_sample,
    kshot_support,
    ner_support,
)

ROOT_SEED = 1234
NER_TYPES = ("PER", "ORG", "LOC", "MISC")


def sentence_set(prefix: str, label_names: tuple[str, ...], sizes: tuple[int, ...]) -> LabeledSet:
    """Build a sentence set whose text starts with its class name, so relabeling can be checked."""
    texts: list[str] = []
    labels: list[int] = []
    for label, size in enumerate(sizes):
        texts.extend(f"{label_names[label]} example {i}" for i in range(size))
        labels.extend([label] * size)
    # Interleave classes so that class order and position order differ.
    order = sorted(range(len(texts)), key=lambda i: (i * 7919) % len(texts))
    return LabeledSet(
        kind="classification",
        label_names=label_names,
        ids=tuple(f"{prefix}-{n}" for n in range(len(order))),
        texts=tuple(texts[i] for i in order),
        labels=tuple(labels[i] for i in order),
    )


def make_sentence_task(
    train_sizes: tuple[int, ...] = (20, 12, 8, 5),
    eval_sizes: tuple[int, ...] = (40, 20, 10, 2),
) -> Task:
    names = tuple("abcdefgh"[: len(train_sizes)])
    return Task(
        name="toy",
        version="1",
        kind="classification",
        label_names=names,
        train=sentence_set("train", names, train_sizes),
        evaluation=sentence_set("eval", names, eval_sizes),
        checksums={},
        protocols=("kshot",),
    )


def make_split_task(train_per_class: int = 10, eval_per_class: int = 6) -> Task:
    names = tuple(f"c{i}" for i in range(8))
    return Task(
        name="toy-meta",
        version="1",
        kind="classification",
        label_names=names,
        train=sentence_set("train", names, (train_per_class,) * 8),
        evaluation=sentence_set("eval", names, (eval_per_class,) * 8),
        checksums={},
        protocols=("episode",),
        class_split=ClassSplit(meta_train=names[:3], meta_val=names[3:4], meta_test=names[4:]),
    )


def ner_label_names(types: tuple[str, ...] = NER_TYPES) -> tuple[str, ...]:
    names = ["O"]
    for entity_type in types:
        names.extend([f"B-{entity_type}", f"I-{entity_type}"])
    return tuple(names)


def ner_set(prefix: str, tag_sequences: list[list[str]], label_names: tuple[str, ...]) -> LabeledSet:
    index = {name: i for i, name in enumerate(label_names)}
    return LabeledSet(
        kind="ner",
        label_names=label_names,
        ids=tuple(f"{prefix}-{n}" for n in range(len(tag_sequences))),
        tokens=tuple(tuple(f"w{i}" for i in range(len(tags))) for tags in tag_sequences),
        tags=tuple(tuple(index[tag] for tag in tags) for tags in tag_sequences),
    )


def random_ner_tags(count: int, generator_seed: int) -> list[list[str]]:
    """Generate sentences with up to 3 entities of 1-3 words each, some with none."""
    rng = np.random.default_rng(generator_seed)
    sentences: list[list[str]] = []
    for _ in range(count):
        tags = ["O"] * int(rng.integers(6, 14))
        for _ in range(int(rng.integers(0, 4))):
            start = int(rng.integers(0, len(tags)))
            length = int(rng.integers(1, 4))
            if any(tag != "O" for tag in tags[max(0, start - 1) : start + length + 1]):
                continue
            entity_type = NER_TYPES[int(rng.integers(0, len(NER_TYPES)))]
            for position in range(start, min(start + length, len(tags))):
                tags[position] = ("B-" if position == start else "I-") + entity_type
        sentences.append(tags)
    return sentences


def make_ner_task(sentences: int = 300) -> Task:
    names = ner_label_names()
    return Task(
        name="toy-ner",
        version="1",
        kind="ner",
        label_names=names,
        train=ner_set("train", random_ner_tags(sentences, 7), names),
        evaluation=ner_set("eval", random_ner_tags(60, 8), names),
        checksums={},
        protocols=("kshot",),
    )


def mentions_per_type(data: LabeledSet) -> Counter[str]:
    counts: Counter[str] = Counter()
    for tags in data.tags:
        for entity_type, _, _ in entity_spans([data.label_names[tag] for tag in tags]):
            counts[entity_type] += 1
    return counts


# k-shot support


def test_kshot_same_call_same_examples() -> None:
    task = make_sentence_task()
    first = kshot_support(task, 4, 0, ROOT_SEED)
    second = kshot_support(task, 4, 0, ROOT_SEED)
    assert first.ids == second.ids
    assert first.labels == second.labels


def test_kshot_exact_shots_per_class() -> None:
    task = make_sentence_task()
    for k in (1, 3, 5):
        support = kshot_support(task, k, 2, ROOT_SEED)
        assert Counter(support.labels) == {0: k, 1: k, 2: k, 3: k}
        assert len(set(support.ids)) == len(support.ids)


def test_kshot_ordered_by_class() -> None:
    support = kshot_support(make_sentence_task(), 3, 0, ROOT_SEED)
    assert list(support.labels) == sorted(support.labels)


def test_kshot_examples_come_from_train() -> None:
    task = make_sentence_task()
    support = kshot_support(task, 4, 1, ROOT_SEED)
    train_pairs = dict(zip(task.train.ids, zip(task.train.texts, task.train.labels)))
    for example_id, text, label in zip(support.ids, support.texts, support.labels):
        assert train_pairs[example_id] == (text, label)
        assert text.startswith(support.label_names[label] + " ")


def test_kshot_splits_differ() -> None:
    task = make_sentence_task()
    supports = [set(kshot_support(task, 4, split, ROOT_SEED).ids) for split in range(5)]
    for i in range(len(supports)):
        for j in range(i + 1, len(supports)):
            assert supports[i] != supports[j]


def test_kshot_root_seeds_differ() -> None:
    task = make_sentence_task()
    assert kshot_support(task, 4, 0, 1).ids != kshot_support(task, 4, 0, 2).ids


def test_kshot_too_many_shots_raises() -> None:
    task = make_sentence_task()
    # Class 'd' has 5 training examples, the fewest.
    with pytest.raises(SamplingError, match=r"class 'd' has 5 training examples.*lower k to at most 5"):
        kshot_support(task, 6, 0, ROOT_SEED)


def test_sampling_error_is_value_error() -> None:
    assert issubclass(SamplingError, ValueError)


def test_kshot_rejects_zero_shots() -> None:
    with pytest.raises(SamplingError, match="k must be at least 1, got 0"):
        kshot_support(make_sentence_task(), 0, 0, ROOT_SEED)


def test_kshot_returns_official_split() -> None:
    base = make_sentence_task()
    official = base.train.subset([0, 1, 2, 3])
    task = Task(
        name=base.name,
        version=base.version,
        kind=base.kind,
        label_names=base.label_names,
        train=base.train,
        evaluation=base.evaluation,
        checksums={},
        protocols=base.protocols,
        official_splits={(4, 0): official},
    )
    assert kshot_support(task, 4, 0, ROOT_SEED) is official
    # A (k, split) without a published split is sampled.
    assert Counter(kshot_support(task, 4, 1, ROOT_SEED).labels) == {0: 4, 1: 4, 2: 4, 3: 4}


# Evaluation sample


def test_evaluation_sample_none_returns_split() -> None:
    task = make_sentence_task()
    assert evaluation_sample(task, None, ROOT_SEED) is task.evaluation
    assert evaluation_sample(task, 10_000, ROOT_SEED) is task.evaluation


def test_evaluation_sample_ignores_kshot_calls() -> None:
    task = make_sentence_task()
    before = evaluation_sample(task, 20, ROOT_SEED)
    # Support sets for other k and splits must not shift the evaluation sample.
    for k in (1, 2, 4):
        for split in range(3):
            kshot_support(task, k, split, ROOT_SEED)
    after = evaluation_sample(task, 20, ROOT_SEED)
    assert before.ids == after.ids


def test_evaluation_sample_depends_on_root_seed() -> None:
    task = make_sentence_task()
    assert evaluation_sample(task, 20, 1).ids != evaluation_sample(task, 20, 2).ids


def test_evaluation_sample_stratified_counts() -> None:
    # Evaluation classes have 40, 20, 10 and 2 examples (72 in all). One each
    # first, then 16 more split by (39, 19, 9, 1) / 68: quotas 9.18, 4.47,
    # 2.12, 0.24 -> floors 9, 4, 2, 0 and the leftover unit to class 1
    # (largest remainder) -> 9, 5, 2, 0, plus the first one -> 10, 6, 3, 1.
    sample = evaluation_sample(make_sentence_task(), 20, ROOT_SEED)
    assert len(sample) == 20
    assert Counter(sample.labels) == {0: 10, 1: 6, 2: 3, 3: 1}


def test_evaluation_sample_keeps_split_order() -> None:
    task = make_sentence_task()
    sample = evaluation_sample(task, 20, ROOT_SEED)
    positions = [task.evaluation.ids.index(example_id) for example_id in sample.ids]
    assert positions == sorted(positions)
    assert len(set(positions)) == 20


def test_evaluation_sample_smaller_than_class_count() -> None:
    # 2 draws for 4 classes: quotas 1.11, 0.56, 0.28, 0.06 -> class 0 and class 1.
    sample = evaluation_sample(make_sentence_task(), 2, ROOT_SEED)
    assert Counter(sample.labels) == {0: 1, 1: 1}


def test_evaluation_sample_every_class_present() -> None:
    task = make_sentence_task(eval_sizes=(100, 1, 1, 1))
    sample = evaluation_sample(task, 8, ROOT_SEED)
    assert Counter(sample.labels) == {0: 5, 1: 1, 2: 1, 3: 1}


def test_evaluation_sample_ner_sentences() -> None:
    task = make_ner_task()
    sample = evaluation_sample(task, 10, ROOT_SEED)
    assert len(sample) == 10
    assert len(set(sample.ids)) == 10
    assert set(sample.ids) <= set(task.evaluation.ids)
    assert evaluation_sample(task, 10, ROOT_SEED).ids == sample.ids


# Episodes


def test_episode_classes_from_meta_test() -> None:
    task = make_split_task()
    support, query = episode(task, ways=3, k=2, queries=4, split=0, root_seed=ROOT_SEED)
    assert task.class_split is not None
    assert len(support.label_names) == 3
    assert set(support.label_names) <= set(task.class_split.meta_test)
    assert len(set(support.label_names)) == 3
    assert query.label_names == support.label_names


def test_episode_relabels_zero_to_n() -> None:
    support, query = episode(make_split_task(), ways=3, k=2, queries=4, split=0, root_seed=ROOT_SEED)
    assert Counter(support.labels) == {0: 2, 1: 2, 2: 2}
    assert Counter(query.labels) == {0: 4, 1: 4, 2: 4}
    # Each text starts with its original class name, which must match the new label's name.
    for data in (support, query):
        for text, label in zip(data.texts, data.labels):
            assert text.split()[0] == data.label_names[label]


def test_episode_support_and_query_sources() -> None:
    task = make_split_task()
    support, query = episode(task, ways=4, k=3, queries=2, split=1, root_seed=ROOT_SEED)
    assert set(support.ids) <= set(task.train.ids)
    assert set(query.ids) <= set(task.evaluation.ids)


def test_episode_deterministic_and_splits_differ() -> None:
    task = make_split_task()
    first = episode(task, 3, 2, 4, 0, ROOT_SEED)
    again = episode(task, 3, 2, 4, 0, ROOT_SEED)
    other = episode(task, 3, 2, 4, 1, ROOT_SEED)
    assert first[0].ids == again[0].ids
    assert first[1].ids == again[1].ids
    assert (first[0].ids, first[1].ids) != (other[0].ids, other[1].ids)


def test_episode_queries_exclude_support_on_shared_pool() -> None:
    base = make_split_task()
    # Train and evaluation are the same pool, as for a task without an official split.
    task = Task(
        name=base.name,
        version=base.version,
        kind=base.kind,
        label_names=base.label_names,
        train=base.train,
        evaluation=base.train,
        checksums={},
        protocols=base.protocols,
        class_split=base.class_split,
    )
    for split in range(10):
        support, query = episode(task, 4, 5, 5, split, ROOT_SEED)
        assert not set(support.ids) & set(query.ids)


def test_episode_without_class_split_raises() -> None:
    with pytest.raises(SamplingError, match="task toy has no class split"):
        episode(make_sentence_task(), 2, 1, 1, 0, ROOT_SEED)


def test_episode_too_many_ways_raises() -> None:
    with pytest.raises(SamplingError, match="4 meta-test classes, fewer than the 5 ways"):
        episode(make_split_task(), 5, 1, 1, 0, ROOT_SEED)


def test_episode_too_many_shots_raises() -> None:
    with pytest.raises(SamplingError, match=r"meta-test class 'c\d' has 10 training examples"):
        episode(make_split_task(), 2, 11, 1, 0, ROOT_SEED)


def test_episode_too_many_queries_raises() -> None:
    with pytest.raises(SamplingError, match=r"meta-test class 'c\d' has 6 evaluation examples"):
        episode(make_split_task(), 2, 1, 7, 0, ROOT_SEED)


# NER support


def test_ner_support_bounds_many_seeds() -> None:
    task = make_ner_task()
    for k in (1, 2, 3, 5):
        for split in range(25):
            support = ner_support(task, k, split, ROOT_SEED)
            counts = mentions_per_type(support)
            for entity_type in NER_TYPES:
                assert k <= counts[entity_type] <= 2 * k, (k, split, entity_type, counts)


def test_ner_support_every_sentence_has_entity() -> None:
    support = ner_support(make_ner_task(), 3, 0, ROOT_SEED)
    for tags in support.tags:
        assert entity_spans([support.label_names[tag] for tag in tags])


def test_ner_support_deterministic_and_splits_differ() -> None:
    task = make_ner_task()
    assert ner_support(task, 2, 0, ROOT_SEED).ids == ner_support(task, 2, 0, ROOT_SEED).ids
    assert ner_support(task, 2, 0, ROOT_SEED).ids != ner_support(task, 2, 1, ROOT_SEED).ids


def test_kshot_support_delegates_ner() -> None:
    task = make_ner_task()
    assert kshot_support(task, 2, 3, ROOT_SEED).ids == ner_support(task, 2, 3, ROOT_SEED).ids


def test_ner_support_skips_sentence_over_upper_bound() -> None:
    # k = 1 allows at most 2 mentions per type. The mixed sentence has one PER
    # (needed) and three LOC, so it must never be added, whatever the order.
    names = ner_label_names(("PER", "LOC"))
    tags = [
        ["B-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-LOC"],
        ["B-PER", "O"],
        ["O", "B-LOC"],
        ["O", "O"],
    ]
    data = ner_set("train", tags, names)
    task = Task("mixed", "1", "ner", names, data, data, {}, ("kshot",))
    for split in range(30):
        support = ner_support(task, 1, split, ROOT_SEED)
        assert "train-0" not in support.ids
        assert mentions_per_type(support) == {"PER": 1, "LOC": 1}


def test_ner_support_too_few_mentions_raises() -> None:
    names = ner_label_names(("PER", "LOC"))
    tags = [["B-PER", "O", "B-LOC"], ["B-PER"], ["B-PER"]]
    data = ner_set("train", tags, names)
    task = Task("rare-loc", "1", "ner", names, data, data, {}, ("kshot",))
    with pytest.raises(SamplingError, match="entity type 'LOC' has 1 mentions in the training pool"):
        ner_support(task, 2, 0, ROOT_SEED)


def test_ner_support_greedy_dead_end_raises() -> None:
    # k = 1: the only LOC sentence also has three PER mentions, above 2k = 2,
    # so no order of sentences can reach one LOC.
    names = ner_label_names(("PER", "LOC"))
    tags = [["B-PER", "B-PER", "B-PER", "B-LOC"], ["B-PER"], ["B-PER", "O"]]
    data = ner_set("train", tags, names)
    task = Task("dead-end", "1", "ner", names, data, data, {}, ("kshot",))
    with pytest.raises(SamplingError, match=r"too few mentions of 'LOC' \(0 of 1\)"):
        ner_support(task, 1, 0, ROOT_SEED)


def test_ner_support_rejects_sentence_task() -> None:
    with pytest.raises(SamplingError, match="toy is a classification task"):
        ner_support(make_sentence_task(), 1, 0, ROOT_SEED)


# Determinism across processes

_CHILD_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_sampling import ROOT_SEED, make_ner_task, make_sentence_task, make_split_task
from bench.sampling import episode, evaluation_sample, kshot_support, ner_support
sentence, meta, ner = make_sentence_task(), make_split_task(), make_ner_task()
support, query = episode(meta, 3, 2, 4, 5, ROOT_SEED)
print(json.dumps({
    "kshot": list(kshot_support(sentence, 4, 7, ROOT_SEED).ids),
    "eval": list(evaluation_sample(sentence, 20, ROOT_SEED).ids),
    "episode": [list(support.label_names), list(support.ids), list(query.ids)],
    "ner": list(ner_support(ner, 2, 7, ROOT_SEED).ids),
}))
"""


def _current_process_samples() -> dict[str, list]:
    sentence, meta, ner = make_sentence_task(), make_split_task(), make_ner_task()
    support, query = episode(meta, 3, 2, 4, 5, ROOT_SEED)
    return {
        "kshot": list(kshot_support(sentence, 4, 7, ROOT_SEED).ids),
        "eval": list(evaluation_sample(sentence, 20, ROOT_SEED).ids),
        "episode": [list(support.label_names), list(support.ids), list(query.ids)],
        "ner": list(ner_support(ner, 2, 7, ROOT_SEED).ids),
    }


def test_samplers_same_in_fresh_process() -> None:
    tests_dir = Path(__file__).resolve().parent
    repo_root = tests_dir.parent
    environment = dict(os.environ)
    # A different string hash seed would expose any dependence on set order.
    environment["PYTHONHASHSEED"] = "4242"
    environment["PYTHONPATH"] = os.pathsep.join([str(repo_root), environment.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", _CHILD_SCRIPT, str(tests_dir)],
        cwd=repo_root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == _current_process_samples()
