"""Turn a validated spec into a `bench.data.Task`.

Order of work: read and check every file, drop conflicting texts and
duplicates, divide pool files, resolve train/evaluation overlap, check the
label set, keep only meta-test classes for class-split tasks, check the
declared counts, and build the labeled sets with stable ids (`train-N`,
`eval-N`, where N is the example's position among its split's parsed
examples, counted before duplicates, conflicts and overlap are removed).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from bench.data import ClassSplit, LabeledSet, Task
from bench.seeding import derive_seed
from tasks.errors import TaskLoadError
from tasks.reading import Example, read_file
from tasks.sources import cache_dir, source_root
from tasks.spec import TaskSpec

logger = logging.getLogger(__name__)

# Fixed root for the train/evaluation division; changing it would move examples.
DIVISION_ROOT_SEED = 0


def load_task(spec: TaskSpec, data_dir: Path | None = None) -> Task:
    """Load, validate and clean one task; raise `TaskLoadError` on any defect."""
    checksums: dict[str, str] = {}
    if spec.source.type == "huggingface":
        train, evaluation = _read_hub(spec, checksums)
        files_text = spec.source.dataset
    else:
        root = source_root(spec, data_dir)
        by_split: dict[str, list[Example]] = defaultdict(list)
        for file in spec.files:
            examples = read_file(spec, root / file.path, file.path, file.sha256, file.records, checksums)
            by_split[file.split].extend(examples)
        files_text = ", ".join(f.path for f in spec.files)

        everything = by_split["train"] + by_split["evaluation"] + by_split["pool"]
        _check_label_set(spec, everything, files_text)
        conflicted = _conflicting_keys(spec, everything)
        for split in by_split:
            by_split[split] = _clean(spec, split, by_split[split], conflicted)

        if by_split["pool"]:
            train, evaluation = _divide(spec, by_split["pool"])
        else:
            train = _number(by_split["train"], "train")
            evaluation = _number(by_split["evaluation"], "eval")

    official = _read_official_splits(spec, data_dir, checksums) if spec.official_splits else {}
    if official and not train:
        train = _pool_of_official_splits(official)
    train = _resolve_overlap(spec, train, evaluation, files_text)
    _report_official_overlap(spec, official, evaluation)

    label_names = tuple(spec.label_names)
    class_split = None
    if spec.class_split is not None:
        class_split = ClassSplit(
            meta_train=tuple(spec.class_split.meta_train),
            meta_val=tuple(spec.class_split.meta_val),
            meta_test=tuple(spec.class_split.meta_test),
        )
        keep = set(class_split.meta_test)
        train = [e for e in train if e.label in keep]
        evaluation = [e for e in evaluation if e.label in keep]
        label_names = class_split.meta_test

    _check_counts(spec, "train", len(train), spec.counts.train, files_text)
    _check_counts(spec, "evaluation", len(evaluation), spec.counts.evaluation, files_text)
    if not evaluation:
        raise TaskLoadError(spec.name, files_text, "no evaluation examples remain after cleaning", "check the files and the spec")

    return Task(
        name=spec.name,
        version=spec.version,
        kind=spec.kind,
        label_names=label_names,
        train=to_labeled_set(spec, label_names, train),
        evaluation=to_labeled_set(spec, label_names, evaluation),
        checksums=checksums,
        protocols=tuple(spec.protocols),
        class_split=class_split,
        official_splits={key: to_labeled_set(spec, label_names, value) for key, value in official.items()},
        description=spec.description,
    )


def to_labeled_set(spec: TaskSpec, label_names: tuple[str, ...], examples: list[Example]) -> LabeledSet:
    index = {name: i for i, name in enumerate(label_names)}
    ids = tuple(e.example_id for e in examples)
    if spec.kind == "ner":
        return LabeledSet(
            kind=spec.kind,
            label_names=label_names,
            ids=ids,
            tokens=tuple(e.tokens for e in examples),
            tags=tuple(tuple(index[t] for t in e.tags) for e in examples),
        )
    has_pairs = spec.fields.text_pair is not None
    return LabeledSet(
        kind=spec.kind,
        label_names=label_names,
        ids=ids,
        texts=tuple(e.text for e in examples),
        text_pairs=tuple(e.text_pair or "" for e in examples) if has_pairs else None,
        labels=tuple(index[e.label] for e in examples),
    )


def _number(examples: list[Example], prefix: str) -> list[Example]:
    """Assign ids from each example's position in its split's record stream.

    Positions are counted before cleaning (see `_clean`), so dropping an example
    does not renumber the others.
    """
    for example in examples:
        example.example_id = f"{prefix}-{example.example_id}"
    return examples


def _clean(spec: TaskSpec, split: str, examples: list[Example], conflicted: set[str]) -> list[Example]:
    for position, example in enumerate(examples):
        example.example_id = str(position)
    kept = [e for e in examples if e.key not in conflicted]
    if spec.cleaning.duplicates == "drop":
        seen: set[str] = set()
        unique = []
        for example in kept:
            if example.key not in seen:
                seen.add(example.key)
                unique.append(example)
        if len(unique) < len(kept):
            logger.info("%s: dropped %d repeated examples from %s files", spec.name, len(kept) - len(unique), split)
        kept = unique
    return kept


def _conflicting_keys(spec: TaskSpec, examples: list[Example]) -> set[str]:
    """Return texts that occur with more than one label; raise unless the spec drops them."""
    targets: dict[str, set] = defaultdict(set)
    for example in examples:
        targets[example.key].add(example.target)
    conflicted = {key for key, values in targets.items() if len(values) > 1}
    if not conflicted:
        return conflicted
    if spec.cleaning.conflicts == "error":
        sample = next(e for e in examples if e.key in conflicted)
        raise TaskLoadError(
            spec.name,
            sample.file,
            f"{len(conflicted)} texts occur with different labels, for example {sample.location}",
            "correct the labels, or set cleaning.conflicts: drop in the spec",
        )
    logger.info("%s: dropped %d texts that occur with conflicting labels", spec.name, len(conflicted))
    return conflicted


def _check_label_set(spec: TaskSpec, examples: list[Example], files_text: str) -> None:
    if spec.kind == "ner":
        used = {tag for e in examples for tag in e.tags}
        declared = {name for name in spec.label_names if name.startswith("B-")}
    else:
        used = {e.label for e in examples}
        declared = set(spec.label_names)
    absent = sorted(declared - used)
    if absent:
        raise TaskLoadError(
            spec.name,
            files_text,
            f"the label(s) {absent} are declared in the spec but never occur in the files",
            "remove them from 'label_names' or supply the complete files",
        )


def _divide(spec: TaskSpec, pool: list[Example]) -> tuple[list[Example], list[Example]]:
    """Divide pool examples by a salted hash of their text (see `Division`)."""
    assert spec.division is not None
    salt = spec.division.salt or spec.name
    threshold = int(spec.division.evaluation_fraction * 2**63)
    train, evaluation = [], []
    for example in pool:
        if derive_seed(DIVISION_ROOT_SEED, "division", salt, example.key) < threshold:
            example.example_id = f"eval-{example.example_id}"
            evaluation.append(example)
        else:
            example.example_id = f"train-{example.example_id}"
            train.append(example)
    return train, evaluation


def _resolve_overlap(spec: TaskSpec, train: list[Example], evaluation: list[Example], files_text: str) -> list[Example]:
    evaluation_keys = {e.key for e in evaluation}
    shared = [e for e in train if e.key in evaluation_keys]
    if not shared:
        return train
    policy = spec.cleaning.overlap
    if policy == "error":
        raise TaskLoadError(
            spec.name,
            shared[0].file,
            f"{len(shared)} training texts also occur in the evaluation data, for example {shared[0].location}",
            "remove them from the training file, or set cleaning.overlap: drop in the spec",
        )
    if policy == "report":
        logger.warning("%s: %d training texts also occur in the evaluation data (kept: cleaning.overlap is report)", spec.name, len(shared))
        return train
    logger.info("%s: dropped %d training texts that also occur in the evaluation data", spec.name, len(shared))
    return [e for e in train if e.key not in evaluation_keys]


def _check_counts(spec: TaskSpec, split: str, found: int, expected: int | None, files_text: str) -> None:
    if expected is not None and found != expected:
        raise TaskLoadError(
            spec.name,
            files_text,
            f"the {split} split has {found} examples after cleaning but the spec declares {expected}",
            "use the files the spec was written for, or update counts in the spec if you changed the data on purpose",
        )


def _read_official_splits(spec: TaskSpec, data_dir: Path | None, checksums: dict[str, str]) -> dict[tuple[int, int], list[Example]]:
    assert spec.official_splits is not None
    root = source_root(spec, data_dir)
    splits: dict[tuple[int, int], list[Example]] = {}
    for shots, index, name in spec.official_splits.file_names():
        expected = shots * len(spec.label_names)
        examples = read_file(spec, root / name, name, spec.official_splits.sha256.get(name), expected, checksums)
        per_label: dict[str, int] = defaultdict(int)
        for example in examples:
            per_label[example.label] += 1
        if set(per_label) != set(spec.label_names) or set(per_label.values()) != {shots}:
            raise TaskLoadError(
                spec.name,
                name,
                f"a {shots}-shot training set needs {shots} examples of each label, found {dict(per_label)}",
                "replace the file with the published version",
            )
        for position, example in enumerate(examples):
            example.example_id = f"train-{shots}shot-{index}-{position}"
        splits[(shots, index)] = examples
    return splits


def _pool_of_official_splits(official: dict[tuple[int, int], list[Example]]) -> list[Example]:
    """Return the distinct examples of all official training sets, keeping each one's first id."""
    seen: set[tuple[str, str]] = set()
    pool = []
    for key in sorted(official):
        for example in official[key]:
            identity = (example.key, example.label)
            if identity not in seen:
                seen.add(identity)
                pool.append(example)
    return pool


def _report_official_overlap(
    spec: TaskSpec, official: dict[tuple[int, int], list[Example]], evaluation: list[Example]
) -> None:
    """Official training sets are published and stay unchanged, so overlap is reported or raised, never dropped."""
    evaluation_keys = {e.key for e in evaluation}
    affected = {}
    for examples in official.values():
        shared = sum(e.key in evaluation_keys for e in examples)
        if shared:
            affected[examples[0].file] = shared
    if not affected:
        return
    if spec.cleaning.overlap == "error":
        first = next(iter(affected))
        raise TaskLoadError(
            spec.name,
            first,
            f"{affected[first]} texts of this official training set also occur in the evaluation data",
            "set cleaning.overlap: report in the spec to keep the published training set",
        )
    logger.warning(
        "%s: %d official training sets share texts with the evaluation data (kept unchanged): %s",
        spec.name,
        len(affected),
        ", ".join(f"{name} ({count})" for name, count in affected.items()),
    )


def _read_hub(spec: TaskSpec, checksums: dict[str, str]) -> tuple[list[Example], list[Example]]:
    """Load a pinned Hugging Face Hub dataset; needs a network on the first load."""
    import datasets

    source = spec.source
    assert source.type == "huggingface"
    result: dict[str, list[Example]] = {"train": [], "evaluation": []}
    for split, hub_split in source.splits.items():
        display = f"{source.dataset}@{source.revision}:{hub_split}"
        try:
            dataset = datasets.load_dataset(
                source.dataset, source.config, revision=source.revision, split=hub_split,
                cache_dir=str(cache_dir() / "datasets"),
            )
        except Exception as error:  # datasets raises many types for network and Hub failures
            raise TaskLoadError(spec.name, display, f"cannot load from the Hugging Face Hub: {error}", "check the dataset id, revision and network") from error
        prefix = "train" if split == "train" else "eval"
        for position, row in enumerate(dataset):
            label = str(row[spec.fields.label])
            label = spec.label_map.get(label, label) if spec.label_map else label
            if label not in spec.label_names:
                raise TaskLoadError(spec.name, display, f"row {position}: unknown label {label!r}", "add it to 'label_names' or 'label_map'")
            result[split].append(
                Example(
                    file=display,
                    location=f"row {position}",
                    text=row[spec.fields.text],
                    text_pair=row[spec.fields.text_pair] if spec.fields.text_pair else None,
                    label=label,
                    example_id=f"{prefix}-{position}",
                )
            )
        checksums[display] = source.revision
    return result["train"], result["evaluation"]
