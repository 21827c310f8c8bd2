"""Seeded few-shot samplers: k-shot support sets, evaluation samples, N-way episodes, NER support.

Each sampler builds its own numpy Generator from `derive_seed(root_seed,
<sampler>, task.name, ...)`, so the same arguments return the same examples
in the same order in every process, whatever ran before. Nothing here
iterates over a Python set or uses `hash()`, whose order changes between
processes.
"""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np

from bench.data import LabeledSet, Task
from bench.metrics import entity_spans
from bench.seeding import derive_seed, numpy_rng

logger = logging.getLogger(__name__)


class SamplingError(ValueError):
    """A few-shot request that the task's data cannot satisfy."""


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise SamplingError(f"{name} must be at least 1, got {value}")


def _indices_by_label(data: LabeledSet) -> dict[int, list[int]]:
    by_label: dict[int, list[int]] = {label: [] for label in range(data.num_labels)}
    for index, label in enumerate(data.labels):
        by_label[label].append(index)
    return by_label


def _draw(rng: np.random.Generator, pool: list[int], count: int) -> list[int]:
    """Draw `count` distinct items of `pool` without replacement, in draw order."""
    positions = rng.choice(len(pool), size=count, replace=False)
    return [pool[int(position)] for position in positions]


def kshot_support(task: Task, k: int, split: int, root_seed: int) -> LabeledSet:
    """Return the k-shot training set number `split` for a task.

    A published split in `task.official_splits[(k, split)]` is returned as is.
    Otherwise k examples of every label are drawn from `task.train`, ordered
    by label index and then by draw. NER tasks go through `ner_support`,
    because "k shots" there counts entity mentions, not sentences.
    """
    official = task.official_splits.get((k, split))
    if official is not None:
        logger.debug("task %s: using the official %d-shot split %d", task.name, k, split)
        return official
    if task.kind == "ner":
        return ner_support(task, k, split, root_seed)
    _check_positive("k", k)

    rng = numpy_rng(derive_seed(root_seed, "kshot", task.name, k, split))
    chosen: list[int] = []
    for label, pool in _indices_by_label(task.train).items():
        if len(pool) < k:
            name = task.train.label_names[label]
            raise SamplingError(
                f"task {task.name}: class {name!r} has {len(pool)} training examples, "
                f"fewer than the {k} shots requested; lower k to at most {len(pool)}"
            )
        chosen.extend(_draw(rng, pool, k))
    return task.train.subset(chosen)


def _largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split `total` into integers proportional to `weights` (Hamilton's method).

    Leftover units go to the largest fractional parts, ties to the lower
    index. No share exceeds ceil(total * weight / sum(weights)).
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    quotas = [total * weight / weight_sum for weight in weights]
    shares = [int(quota) for quota in quotas]
    leftover = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return shares


def _stratified_counts(class_sizes: list[int], size: int) -> list[int]:
    """Allocate `size` draws over classes, proportional to size and at least one per class when possible."""
    present = [i for i, count in enumerate(class_sizes) if count > 0]
    counts = [0] * len(class_sizes)
    if size < len(present):
        logger.warning(
            "evaluation sample of %d examples cannot cover all %d classes; some classes get none",
            size,
            len(present),
        )
        shares = _largest_remainder(size, [class_sizes[i] for i in present])
    else:
        # One example per class first, then the rest in proportion to what is
        # left of each class, which keeps every share within the class size.
        rest = _largest_remainder(size - len(present), [class_sizes[i] - 1 for i in present])
        shares = [1 + share for share in rest]
    for i, share in zip(present, shares):
        counts[i] = share
    return counts


def evaluation_sample(task: Task, size: int | None, root_seed: int) -> LabeledSet:
    """Return the task's evaluation split, or a fixed sample of `size` examples from it.

    The seed depends only on (root_seed, task name), so every k, split and
    method is scored on the same examples. Sentence tasks get a stratified
    sample: class shares are proportional to the split's class frequencies
    and every class gets at least one example when `size` allows. NER gets a
    uniform sample of sentences. Sampled examples keep their order in the
    evaluation split.
    """
    data = task.evaluation
    if size is None or size >= len(data):
        return data
    _check_positive("evaluation sample size", size)

    rng = numpy_rng(derive_seed(root_seed, "eval", task.name))
    if data.is_ner:
        chosen = _draw(rng, list(range(len(data))), size)
    else:
        by_label = _indices_by_label(data)
        counts = _stratified_counts([len(by_label[label]) for label in range(data.num_labels)], size)
        chosen = []
        for label, count in enumerate(counts):
            chosen.extend(_draw(rng, by_label[label], count))
    return data.subset(sorted(chosen))


def episode(
    task: Task, ways: int, k: int, queries: int, split: int, root_seed: int
) -> tuple[LabeledSet, LabeledSet]:
    """Sample an N-way K-shot episode from the task's meta-test classes.

    `ways` classes are drawn from `task.class_split.meta_test`. Each gets `k`
    support examples from `task.train` and `queries` query examples from
    `task.evaluation`. No query has the id of a support example, which
    matters when train and evaluation share a pool. Both sets are relabeled 0..ways-1, with `label_names`
    listing the drawn classes in draw order.
    """
    if task.kind == "ner":
        raise SamplingError(f"task {task.name}: N-way episodes apply to sentence tasks, not NER")
    if task.class_split is None:
        raise SamplingError(
            f"task {task.name} has no class split, so it has no meta-test classes to build episodes from; "
            "use kshot_support, or give the task a class_split"
        )
    for name, value in (("ways", ways), ("k", k), ("queries", queries)):
        _check_positive(name, value)
    meta_test = task.class_split.meta_test
    if len(meta_test) < ways:
        raise SamplingError(
            f"task {task.name} has {len(meta_test)} meta-test classes, fewer than the {ways} ways requested; "
            f"lower ways to at most {len(meta_test)}"
        )

    rng = numpy_rng(derive_seed(root_seed, "episode", task.name, ways, k, queries, split))
    classes = tuple(meta_test[int(i)] for i in rng.choice(len(meta_test), size=ways, replace=False))
    train_by_name = _indices_by_label_name(task, task.train, "train", classes)
    eval_by_name = _indices_by_label_name(task, task.evaluation, "evaluation", classes)

    support_indices: list[int] = []
    query_indices: list[int] = []
    for name in classes:
        support_pool = train_by_name[name]
        if len(support_pool) < k:
            raise SamplingError(
                f"task {task.name}: meta-test class {name!r} has {len(support_pool)} training examples, "
                f"fewer than the {k} shots requested; lower k to at most {len(support_pool)}"
            )
        support = _draw(rng, support_pool, k)
        support_ids = {task.train.ids[i] for i in support}
        query_pool = [i for i in eval_by_name[name] if task.evaluation.ids[i] not in support_ids]
        if len(query_pool) < queries:
            raise SamplingError(
                f"task {task.name}: meta-test class {name!r} has {len(query_pool)} evaluation examples "
                f"outside the support set, fewer than the {queries} queries requested; "
                f"lower queries to at most {len(query_pool)}"
            )
        support_indices.extend(support)
        query_indices.extend(_draw(rng, query_pool, queries))

    support_set = task.train.subset(support_indices).relabel(classes)
    query_set = task.evaluation.subset(query_indices).relabel(classes)
    return support_set, query_set


def _indices_by_label_name(
    task: Task, data: LabeledSet, split_name: str, classes: tuple[str, ...]
) -> dict[str, list[int]]:
    by_name: dict[str, list[int]] = {name: [] for name in data.label_names}
    for index, label in enumerate(data.labels):
        by_name[data.label_names[label]].append(index)
    missing = [name for name in classes if name not in by_name]
    if missing:
        raise SamplingError(
            f"task {task.name}: meta-test classes {missing} are not among the {split_name} label names; "
            "fix the task's class_split or label_names"
        )
    return by_name


def entity_types(label_names: tuple[str, ...]) -> tuple[str, ...]:
    """Return the entity types named by B-x / I-x tags, in order of first appearance."""
    types: dict[str, None] = {}
    for name in label_names:
        if len(name) > 2 and name[1] == "-" and name[0] in "BI":
            types.setdefault(name[2:], None)
    return tuple(types)


def count_mentions(data: LabeledSet) -> Counter[str]:
    """Count entity mentions per type in an NER set, with strict IOB2 spans."""
    counts: Counter[str] = Counter()
    for tags in data.tags:
        for entity_type, _, _ in entity_spans([data.label_names[tag] for tag in tags]):
            counts[entity_type] += 1
    return counts


def ner_support(task: Task, k: int, split: int, root_seed: int) -> LabeledSet:
    """Sample a k-shot NER support set with the greedy rule of Few-NERD (Ding et al., ACL 2021).

    Sentences of `task.train` are visited in a seeded random order. A sentence
    is added when it contains at least one entity type that still has fewer
    than k mentions and adding it keeps every type at or below 2k mentions.
    Sampling stops once every type has at least k mentions, so the result
    has between k and 2k mentions of every type, in visiting order.

    Raises SamplingError naming the type when the training pool has fewer
    than k mentions of a type or the greedy pass ends before reaching k.
    """
    if task.kind != "ner":
        raise SamplingError(f"task {task.name} is a {task.kind} task; ner_support needs an NER task")
    _check_positive("k", k)
    data = task.train
    types = entity_types(data.label_names)
    if not types:
        raise SamplingError(f"task {task.name}: label_names {data.label_names} contain no B-/I- entity tags")

    pool_counts = count_mentions(data)
    for entity_type in types:
        if pool_counts[entity_type] < k:
            raise SamplingError(
                f"task {task.name}: entity type {entity_type!r} has {pool_counts[entity_type]} mentions "
                f"in the training pool, fewer than the {k} shots requested; lower k"
            )

    rng = numpy_rng(derive_seed(root_seed, "ner_support", task.name, k, split))
    counts: Counter[str] = Counter()
    chosen: list[int] = []
    for index in rng.permutation(len(data)):
        if all(counts[entity_type] >= k for entity_type in types):
            break
        sentence = Counter(
            entity_type for entity_type, _, _ in entity_spans([data.label_names[tag] for tag in data.tags[index]])
        )
        needed = any(counts[entity_type] < k for entity_type in sentence)
        # Check every type in the sentence, not only the needed ones, because
        # a sentence that fills one type can push another past 2k.
        fits = all(counts[entity_type] + count <= 2 * k for entity_type, count in sentence.items())
        if needed and fits:
            counts.update(sentence)
            chosen.append(int(index))

    short = [entity_type for entity_type in types if counts[entity_type] < k]
    if short:
        details = ", ".join(f"{entity_type!r} ({counts[entity_type]} of {k})" for entity_type in short)
        raise SamplingError(
            f"task {task.name}: greedy sampling for split {split} ended with too few mentions of {details}, "
            "because every remaining sentence with that type would push another type past 2k; lower k"
        )
    support = data.subset(chosen)
    _check_mention_bounds(task.name, count_mentions(support), types, k)
    return support


def _check_mention_bounds(task_name: str, counts: Counter[str], types: tuple[str, ...], k: int) -> None:
    # Recount from the returned set so a bug in the incremental counts cannot
    # hand out a support set that breaks the k..2k contract.
    for entity_type in types:
        if not k <= counts[entity_type] <= 2 * k:
            raise SamplingError(
                f"task {task_name}: NER support has {counts[entity_type]} mentions of {entity_type!r}, "
                f"outside the required {k}..{2 * k}; this is a sampler bug, please report it"
            )
