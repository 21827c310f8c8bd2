"""Task specifications: one YAML file per task, validated strictly with pydantic.

A spec names where the data comes from (an installed package, files in the
data directory, or a pinned Hugging Face dataset), how to parse it, which
labels and how many examples to expect after cleaning, and which sampling
protocols apply. Unknown keys and values outside the fixed vocabularies are
rejected so that a typo in a spec fails loudly instead of being ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench.data import TaskKind

Protocol = Literal["kshot", "episode", "ner-greedy"]
FileFormat = Literal["csv", "tsv", "jsonl", "json", "conll", "label-text", "text-dir"]
SplitRole = Literal["train", "evaluation", "pool"]

SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageSource(_Strict):
    """Files shipped inside an installed distribution, found through its metadata."""

    type: Literal["package"]
    package: str
    version: str


class LocalSource(_Strict):
    """Files under the data directory (`--data-dir` or `BENCH_DATA_DIR`)."""

    type: Literal["local"]
    # Folder inside the data directory that file paths are relative to.
    directory: str = "."


class HuggingFaceSource(_Strict):
    """A Hugging Face Hub dataset at a pinned revision (needs a network on first load)."""

    type: Literal["huggingface"]
    dataset: str
    # A commit hash or tag; required so that every load reads the same data.
    revision: Annotated[str, Field(min_length=1)]
    config: str | None = None
    # Task split ("train", "evaluation") -> Hub split name.
    splits: dict[Literal["train", "evaluation"], str]


Source = Annotated[PackageSource | LocalSource | HuggingFaceSource, Field(discriminator="type")]


class FileSpec(_Strict):
    """One data file (or, for `text-dir`, one folder) and the split it feeds."""

    path: str
    # Expected checksum; for a `text-dir` folder, the digest described in `tasks.sources`.
    # None skips the check (user specs only; every built-in spec pins one).
    sha256: SHA256 | None = None
    # `pool` files are divided into train and evaluation by `division`.
    split: SplitRole
    # Expected number of records parsed from the file, before any cleaning.
    records: Annotated[int, Field(gt=0)] | None = None


class Fields(_Strict):
    """Column or key names for csv, tsv, json and jsonl files."""

    text: str = "text"
    text_pair: str | None = None
    label: str = "label"


class Division(_Strict):
    """A fixed train/evaluation division of `pool` files.

    An example goes to evaluation when the hash of its normalized text, salted
    with `salt` (default: the task name), falls below `evaluation_fraction`.
    The division depends on text only, so reordering the file does not move
    examples, and duplicate texts always land on the same side.
    """

    evaluation_fraction: Annotated[float, Field(gt=0.0, lt=1.0)]
    salt: str | None = None


class OfficialSplits(_Strict):
    """Published k-shot training sets (LEOPARD), one file per (shots, split index)."""

    # Python format string with `{split}` and `{shots}`, relative to the source folder.
    pattern: str
    shots: list[Annotated[int, Field(gt=0)]]
    splits: Annotated[int, Field(gt=0)]
    # File name -> sha256; a file missing from this map is loaded without a checksum check.
    sha256: dict[str, SHA256] = Field(default_factory=dict)

    def file_names(self) -> list[tuple[int, int, str]]:
        """Return (shots, split index, file name) for every official training set."""
        return [
            (k, i, self.pattern.format(split=i, shots=k))
            for k in self.shots
            for i in range(self.splits)
        ]


class Cleaning(_Strict):
    """What to do with repeated, conflicting and train/evaluation-shared texts.

    duplicates: `drop` keeps the first of repeated (text, label) examples.
    conflicts: the same text under different labels; `drop` removes every copy.
    overlap: a text in both train and evaluation; `drop` removes it from train,
      `report` logs a warning and keeps it (for published splits that must
      stay unchanged), `error` raises. Official training sets are never
      changed: there `drop` acts as `report`.
    empty_text: an example whose text is empty or whitespace; `drop` removes it.
    invalid_bio: `I-x` after `O` or after another type; `repair` turns it into
      `B-x` and logs how many tags changed.
    """

    duplicates: Literal["keep", "drop"] = "drop"
    conflicts: Literal["error", "drop"] = "error"
    overlap: Literal["drop", "report", "error"] = "drop"
    empty_text: Literal["error", "drop"] = "error"
    invalid_bio: Literal["error", "repair"] = "error"


class Counts(_Strict):
    """Expected numbers of examples in the loaded task, after cleaning and class filtering."""

    train: Annotated[int, Field(ge=0)] | None = None
    evaluation: Annotated[int, Field(gt=0)] | None = None


class ClassSplitSpec(_Strict):
    meta_train: list[str]
    meta_val: list[str]
    meta_test: Annotated[list[str], Field(min_length=2)]


class TaskSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    version: str
    kind: TaskKind
    description: str
    source: Source
    format: FileFormat | None = None
    encoding: str = "utf-8"
    # Used for a file (for text-dir: a document) that is not valid in `encoding`.
    fallback_encoding: str | None = None
    fields: Fields = Fields()
    label_names: Annotated[list[str], Field(min_length=2)]
    # Raw label in the file -> name in `label_names` (for numeric labels).
    label_map: dict[str, str] | None = None
    files: list[FileSpec] = Field(default_factory=list)
    division: Division | None = None
    official_splits: OfficialSplits | None = None
    counts: Counts = Counts()
    protocols: Annotated[list[Protocol], Field(min_length=1)]
    class_split: ClassSplitSpec | None = None
    cleaning: Cleaning = Cleaning()

    @model_validator(mode="after")
    def _check_consistency(self) -> TaskSpec:
        _check_labels(self)
        _check_files(self)
        _check_class_split(self)
        return self

    @property
    def source_type(self) -> str:
        return self.source.type


def _check_labels(spec: TaskSpec) -> None:
    if len(set(spec.label_names)) != len(spec.label_names):
        raise ValueError("label_names contains a repeated name; list each label once")
    if spec.label_map is not None:
        unknown = sorted(set(spec.label_map.values()) - set(spec.label_names))
        if unknown:
            raise ValueError(f"label_map maps to {unknown}, which are not in label_names")
    if spec.kind == "ner":
        if "O" not in spec.label_names:
            raise ValueError("an NER task needs the tag 'O' in label_names")
        for name in spec.label_names:
            if name != "O" and (name[:2] not in ("B-", "I-") or len(name) < 3):
                raise ValueError(f"NER tag {name!r} in label_names is not 'O', 'B-type' or 'I-type'")
            if name.startswith("B-") and f"I-{name[2:]}" not in spec.label_names:
                raise ValueError(f"label_names has {name!r} but lacks 'I-{name[2:]}'")
        if any(p != "ner-greedy" for p in spec.protocols):
            raise ValueError("an NER task supports only the 'ner-greedy' protocol")
    elif "ner-greedy" in spec.protocols:
        raise ValueError("the 'ner-greedy' protocol applies to NER tasks only")


def _check_files(spec: TaskSpec) -> None:
    if spec.source.type == "huggingface":
        if spec.files or spec.official_splits is not None:
            raise ValueError("a huggingface source takes no 'files' or 'official_splits'")
        if "evaluation" not in spec.source.splits:
            raise ValueError("a huggingface source needs an 'evaluation' entry in 'splits'")
        return
    if spec.format is None:
        raise ValueError("'format' is required for package and local sources")
    if (spec.kind == "ner") != (spec.format == "conll"):
        raise ValueError("NER tasks use the 'conll' format, and only NER tasks do")
    roles = {f.split for f in spec.files}
    if "evaluation" not in roles and "pool" not in roles:
        raise ValueError("'files' needs an evaluation file or a pool file with a 'division'")
    if "pool" in roles and roles != {"pool"}:
        raise ValueError("pool files cannot be mixed with train or evaluation files")
    if ("pool" in roles) != (spec.division is not None):
        raise ValueError("'division' is required with pool files and only with them")
    if "train" not in roles and "pool" not in roles and spec.official_splits is None:
        raise ValueError("'files' needs a train file unless 'official_splits' is given")
    if spec.official_splits is not None and spec.format not in ("json", "jsonl", "csv", "tsv"):
        raise ValueError("official_splits are read in the task's format, which must be json, jsonl, csv or tsv")


def _check_class_split(spec: TaskSpec) -> None:
    split = spec.class_split
    if split is None:
        return
    if spec.kind == "ner":
        raise ValueError("class_split applies to sentence tasks, not NER")
    groups = {"meta_train": split.meta_train, "meta_val": split.meta_val, "meta_test": split.meta_test}
    seen: dict[str, str] = {}
    for group, names in groups.items():
        for name in names:
            if name not in spec.label_names:
                raise ValueError(f"class_split.{group} lists {name!r}, which is not in label_names")
            if name in seen:
                raise ValueError(f"class {name!r} is in both class_split.{seen[name]} and class_split.{group}")
            seen[name] = group


class SpecError(ValueError):
    """A spec file is unreadable or invalid; the message names the file and the field."""


def read_spec(path: Path) -> TaskSpec:
    """Parse and validate one spec file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"{path}: cannot read task spec: {error}") from error
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a task spec must be a YAML mapping, found {type(data).__name__}")
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(f"{path}: invalid task spec:\n{error}") from error
