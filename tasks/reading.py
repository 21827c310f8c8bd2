"""Read one data file into validated examples, through a Hugging Face `datasets` cache.

Each file is parsed once into an Arrow dataset under the cache folder; the
cache key includes the file's sha256, so an edited file is parsed again.
Every read checks presence, checksum, parse, emptiness, record count and
the label (or BIO tag) vocabulary, and raises `TaskLoadError` naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from tasks.errors import ParseError, TaskLoadError
from tasks.formats import read_records
from tasks.sources import cache_dir, checksum
from tasks.spec import TaskSpec

logger = logging.getLogger(__name__)

# Progress bars would interleave with the CLI's log lines for every cached file.
datasets.disable_progress_bars()


@dataclass
class Example:
    """One parsed example; `label` is a label name, `tags` are tag names."""

    file: str
    location: str
    text: str = ""
    text_pair: str | None = None
    label: str = ""
    tokens: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    example_id: str = ""

    @property
    def key(self) -> str:
        """Normalized text used to find duplicates and train/evaluation overlap."""
        if self.tokens:
            return " ".join(self.tokens).casefold()
        key = " ".join(self.text.split()).casefold()
        if self.text_pair is not None:
            key += "\x1f" + " ".join(self.text_pair.split()).casefold()
        return key

    @property
    def target(self) -> str | tuple[str, ...]:
        return self.tags if self.tokens else self.label


class _EmptyFile(ValueError):
    pass


def _generate(path: str, sha256: str, file_format: str, encoding: str, text: str, pair: str | None, label: str):
    # `sha256` is unused here but part of the cache key, so a changed file is parsed again.
    del sha256
    count = 0
    for record in read_records(Path(path), file_format, encoding, text, pair, label):
        count += 1
        yield record
    if count == 0:
        raise _EmptyFile(path)


def parse_file(spec: TaskSpec, path: Path, sha256: str) -> dict[str, list[Any]]:
    """Parse a file into columns, reusing the Arrow cache when the file is unchanged."""
    kwargs = {
        "path": str(path),
        "sha256": sha256,
        "file_format": spec.format,
        "encoding": spec.encoding + (f"|{spec.fallback_encoding}" if spec.fallback_encoding else ""),
        "text": spec.fields.text,
        "pair": spec.fields.text_pair,
        "label": spec.fields.label,
    }
    dataset = datasets.Dataset.from_generator(
        _generate, gen_kwargs=kwargs, cache_dir=str(cache_dir() / "datasets"), keep_in_memory=False
    )
    return dataset.to_dict()


def read_file(
    spec: TaskSpec,
    path: Path,
    display: str,
    expected_sha256: str | None,
    expected_records: int | None,
    checksums: dict[str, str],
) -> list[Example]:
    """Check and parse one file; record its checksum in `checksums[display]`."""
    if not path.exists():
        raise TaskLoadError(
            spec.name,
            display,
            f"file not found at {path}",
            "download the dataset and place the file there, or correct the data directory",
        )
    try:
        found = checksum(path)
    except OSError as error:
        raise TaskLoadError(spec.name, display, f"cannot read the file: {error}", "check its permissions") from error
    if expected_sha256 is not None and found != expected_sha256:
        raise TaskLoadError(
            spec.name,
            display,
            f"sha256 is {found} but the spec expects {expected_sha256}",
            "replace the file with the version the spec was written for, "
            "or, if you changed the data on purpose, update sha256 and counts in the spec",
        )
    checksums[display] = found

    try:
        columns = parse_file(spec, path, found)
    except datasets.exceptions.DatasetGenerationError as error:
        cause = error.__cause__
        if isinstance(cause, _EmptyFile):
            raise TaskLoadError(spec.name, display, "the file is empty (no records)", "replace it with a complete copy") from None
        if isinstance(cause, ParseError):
            raise TaskLoadError(
                spec.name,
                display,
                f"cannot parse {cause.location}: {cause.problem}",
                f"repair the file, or correct 'format' ({spec.format}) and 'fields' in the spec",
            ) from None
        raise TaskLoadError(spec.name, display, f"cannot parse the file: {cause or error}", "repair the file") from error

    found_records = len(columns["location"])
    if expected_records is not None and found_records != expected_records:
        raise TaskLoadError(
            spec.name,
            display,
            f"the file has {found_records} records but the spec expects {expected_records}",
            "replace the file with a complete copy of the version the spec was written for",
        )
    return _examples(spec, display, columns)


def _examples(spec: TaskSpec, display: str, columns: dict[str, list[Any]]) -> list[Example]:
    if spec.kind == "ner":
        sentences = []
        repairs = 0
        for tokens, tags, location in zip(columns["tokens"], columns["tags"], columns["location"], strict=True):
            example = Example(file=display, location=location, tokens=tuple(tokens), tags=tuple(tags))
            repairs += _check_tags(spec, display, example)
            sentences.append(example)
        if repairs:
            logger.info("%s: %s: repaired %d invalid BIO continuations (I-x -> B-x)", spec.name, display, repairs)
        return sentences
    known = set(spec.label_names)
    examples = []
    empty = 0
    for text, pair, raw, location in zip(
        columns["text"], columns["text_pair"], columns["label"], columns["location"], strict=True
    ):
        if not text.strip():
            if spec.cleaning.empty_text == "error":
                raise TaskLoadError(
                    spec.name, display, f"{location}: the text is empty", "remove the line, or set cleaning.empty_text: drop"
                )
            empty += 1
            continue
        label = spec.label_map.get(raw, raw) if spec.label_map is not None else raw
        if label not in known:
            raise TaskLoadError(
                spec.name,
                display,
                f"{location}: unknown label {raw!r}; the spec's labels are {spec.label_names}",
                "add the label to 'label_names' (or 'label_map') in the spec, or correct the file",
            )
        examples.append(Example(file=display, location=location, text=text, text_pair=pair, label=label))
    if empty:
        logger.info("%s: %s: dropped %d examples with empty text", spec.name, display, empty)
    return examples


def _check_tags(spec: TaskSpec, display: str, example: Example) -> int:
    """Validate BIO tags in place and return how many were repaired.

    `I-x` that does not continue an `x` entity becomes `B-x` when the spec
    sets cleaning.invalid_bio to repair, and raises otherwise.
    """
    first_line = int(example.location.split()[1])
    known = set(spec.label_names)
    repaired = list(example.tags)
    previous = "O"
    for offset, tag in enumerate(example.tags):
        where = f"line {first_line + offset}"
        if tag != "O" and (tag[:2] not in ("B-", "I-") or len(tag) < 3):
            raise TaskLoadError(
                spec.name, display, f"{where}: malformed BIO tag {tag!r}", "use 'O', 'B-type' or 'I-type'"
            )
        if tag not in known:
            raise TaskLoadError(
                spec.name,
                display,
                f"{where}: unknown tag {tag!r}; the spec's tags are {spec.label_names}",
                "add the tag to 'label_names' in the spec, or correct the file",
            )
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            if spec.cleaning.invalid_bio == "error":
                raise TaskLoadError(
                    spec.name,
                    display,
                    f"{where}: invalid BIO sequence, {tag!r} follows {previous!r}",
                    f"tag the first word of the entity 'B-{tag[2:]}', or set cleaning.invalid_bio: repair",
                )
            repaired[offset] = "B-" + tag[2:]
        previous = repaired[offset]
    changed = sum(a != b for a, b in zip(example.tags, repaired))
    example.tags = tuple(repaired)
    return changed
