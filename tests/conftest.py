"""Shared fixtures: a tiny randomly initialised BERT and small synthetic tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.data import ClassSplit, LabeledSet, Task

WORDS = (
    "good great fine nice happy bad awful poor sad angry sport game team match goal "
    "market bank stock price trade film movie actor music song john mary paris london the a is was it"
).split()


def build_tiny_bert(directory: Path) -> Path:
    """Save a 2-layer, 4-head BERT with random weights and a WordPiece vocabulary to `directory`."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"],
             *list("abcdefghijklmnopqrstuvwxyz.,!?")]
    # transformers 5 ignores `vocab_file` for the fast tokenizer, so pass the mapping itself.
    tokens = list(dict.fromkeys(vocab))
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(tokens)}, do_lower_case=True)
    tokenizer.save_pretrained(directory)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> str:
    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert")))


def toy_sentence_task(name: str = "toy", per_class: int = 12) -> Task:
    """Three separable classes built from disjoint word groups."""
    groups = {"positive": WORDS[0:5], "negative": WORDS[5:10], "sport": WORDS[10:15]}
    labels = tuple(groups)

    def make(prefix: str, count: int, offset: int) -> LabeledSet:
        ids, texts, ys = [], [], []
        for y, name_ in enumerate(labels):
            words = groups[name_]
            for i in range(count):
                ids.append(f"{prefix}-{name_}-{i}")
                texts.append(" ".join(words[(i + offset + j) % 5] for j in range(3)) + f" {WORDS[-1 - (i % 4)]}")
                ys.append(y)
        return LabeledSet(kind="classification", label_names=labels, ids=tuple(ids), texts=tuple(texts), labels=tuple(ys))

    return Task(
        name=name,
        version="1",
        kind="classification",
        label_names=labels,
        train=make("train", per_class, 0),
        evaluation=make("eval", 4, 2),
        checksums={"toy.tsv": "0" * 64},
        protocols=("kshot",),
    )


def toy_ner_task(name: str = "toy-ner", sentences: int = 30) -> Task:
    """Sentences with PER and LOC entities in fixed slots."""
    label_names = ("O", "B-per", "I-per", "B-loc", "I-loc")
    people = [("john",), ("mary",), ("john", "mary")]
    places = [("paris",), ("london",)]

    def make(prefix: str, count: int) -> LabeledSet:
        ids, tokens, tags = [], [], []
        for i in range(count):
            person = people[i % len(people)]
            place = places[i % len(places)]
            words = [*person, "was", "in", *place]
            tag = [1] + [2] * (len(person) - 1) + [0, 0, 3] + [4] * (len(place) - 1)
            ids.append(f"{prefix}-{i}")
            tokens.append(tuple(words))
            tags.append(tuple(tag))
        return LabeledSet(kind="ner", label_names=label_names, ids=tuple(ids), tokens=tuple(tokens), tags=tuple(tags))

    return Task(
        name=name,
        version="1",
        kind="ner",
        label_names=label_names,
        train=make("train", sentences),
        evaluation=make("eval", 6),
        checksums={"toy.conll": "1" * 64},
        protocols=("ner-greedy",),
    )


def toy_split_task(name: str = "toy-split") -> Task:
    """A sentence task with a class split, for episode sampling."""
    base = toy_sentence_task(name, per_class=12)
    return Task(
        name=base.name,
        version=base.version,
        kind=base.kind,
        label_names=base.label_names,
        train=base.train,
        evaluation=base.evaluation,
        checksums=base.checksums,
        protocols=("kshot", "episode"),
        class_split=ClassSplit(meta_train=(), meta_val=(), meta_test=base.label_names),
    )
