"""Parsers for the supported file formats, each yielding flat records.

Sentence records: `{"text", "text_pair", "label", "location"}`.
NER records: `{"tokens", "tags", "location"}`.
`location` is `line N` (1-based) or `record N` (0-based, JSON) so that an
error can point at the offending place. Parsers raise `ParseError`; label
and tag vocabularies are checked later, against the spec.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks.errors import ParseError

Record = dict[str, Any]

# NOTE: the csv field limit is process-wide. Long documents (20 Newsgroups
# posts, DBPedia abstracts) exceed the 128 KiB default, so it is raised once.
csv.field_size_limit(sys.maxsize)

CONLL_DOCUMENT_MARKER = "-DOCSTART-"


def read_records(
    path: Path,
    file_format: str,
    encoding: str,
    text_field: str,
    text_pair_field: str | None,
    label_field: str,
) -> Iterator[Record]:
    """Yield the records of one file in its format."""
    if file_format in ("csv", "tsv"):
        yield from _read_delimited(path, "," if file_format == "csv" else "\t", encoding, text_field, text_pair_field, label_field)
    elif file_format == "jsonl":
        yield from _read_json_lines(path, encoding, text_field, text_pair_field, label_field)
    elif file_format == "json":
        yield from _read_json_list(path, encoding, text_field, text_pair_field, label_field)
    elif file_format == "label-text":
        yield from _read_label_text(path, encoding)
    elif file_format == "text-dir":
        yield from _read_text_dir(path, encoding)
    elif file_format == "conll":
        yield from _read_conll(path, encoding)
    else:
        raise ValueError(f"unknown file format {file_format!r}")


def _decode(data: bytes, encoding: str, where: str) -> str:
    """Decode with the first encoding of `encoding` (a `|`-separated list) that fits."""
    names = encoding.split("|")
    for name in names[:-1]:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    try:
        return data.decode(names[-1])
    except UnicodeDecodeError as error:
        raise ParseError(
            f"{where}byte {error.start}", f"not valid {encoding} ({error.reason}); set 'encoding' in the spec"
        ) from None


def _open_text(path: Path, encoding: str) -> str:
    return _decode(path.read_bytes(), encoding, "")


def _lines(content: str) -> list[str]:
    """Split on line breaks only; str.splitlines would also split on characters such as U+2028 inside tweets."""
    return [line.rstrip("\r\n") for line in io.StringIO(content, newline=None)]


def _sentence(text: Any, pair: Any, label: Any, location: str) -> Record:
    # An empty text parses; the reader rejects or drops it per cleaning.empty_text.
    if not isinstance(text, str):
        raise ParseError(location, f"the text is {type(text).__name__}, expected a string")
    if pair is not None and not isinstance(pair, str):
        raise ParseError(location, f"the second text segment is {type(pair).__name__}, expected a string")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise ParseError(location, "the label is empty")
    if isinstance(label, (dict, list, float)):
        raise ParseError(location, f"the label {label!r} is not a string or integer")
    return {"text": text, "text_pair": pair, "label": str(label).strip(), "location": location}


def _read_delimited(
    path: Path, delimiter: str, encoding: str, text_field: str, pair_field: str | None, label_field: str
) -> Iterator[Record]:
    reader = csv.reader(io.StringIO(_open_text(path, encoding), newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise ParseError("line 1", f"unreadable header: {error}") from None
    wanted = [text_field, label_field] + ([pair_field] if pair_field else [])
    missing = [name for name in wanted if name not in header]
    if missing:
        raise ParseError("line 1", f"the header {header} lacks the column(s) {missing}; set 'fields' in the spec")
    text_at, label_at = header.index(text_field), header.index(label_field)
    pair_at = header.index(pair_field) if pair_field else None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise ParseError(f"line {reader.line_num}", f"malformed row: {error}") from None
        location = f"line {reader.line_num}"
        if not row:
            continue
        if len(row) != len(header):
            raise ParseError(location, f"the row has {len(row)} fields but the header has {len(header)}")
        pair = row[pair_at] if pair_at is not None else None
        yield _sentence(row[text_at], pair, row[label_at], location)


def _json_record(item: Any, location: str, text_field: str, pair_field: str | None, label_field: str) -> Record:
    if not isinstance(item, dict):
        raise ParseError(location, f"expected a JSON object, found {type(item).__name__}")
    for name in [text_field, label_field] + ([pair_field] if pair_field else []):
        if name not in item:
            raise ParseError(location, f"the object lacks the field {name!r} (it has {sorted(item)})")
    pair = item[pair_field] if pair_field else None
    return _sentence(item[text_field], pair, item[label_field], location)


def _read_json_lines(path: Path, encoding: str, text_field: str, pair_field: str | None, label_field: str) -> Iterator[Record]:
    for number, line in enumerate(_lines(_open_text(path, encoding)), start=1):
        if not line.strip():
            continue
        location = f"line {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise ParseError(location, f"invalid JSON: {error.msg}") from None
        yield _json_record(item, location, text_field, pair_field, label_field)


def _read_json_list(path: Path, encoding: str, text_field: str, pair_field: str | None, label_field: str) -> Iterator[Record]:
    content = _open_text(path, encoding)
    if not content.strip():
        return
    try:
        items = json.loads(content)
    except json.JSONDecodeError as error:
        raise ParseError(f"line {error.lineno}", f"invalid JSON: {error.msg}") from None
    if not isinstance(items, list):
        raise ParseError("record 0", f"expected a JSON list of objects, found {type(items).__name__}")
    for index, item in enumerate(items):
        yield _json_record(item, f"record {index}", text_field, pair_field, label_field)


def _read_label_text(path: Path, encoding: str) -> Iterator[Record]:
    for number, line in enumerate(_lines(_open_text(path, encoding)), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        text = parts[1] if len(parts) == 2 else ""
        yield _sentence(text, None, parts[0], f"line {number}")


def _read_text_dir(folder: Path, encoding: str) -> Iterator[Record]:
    """Yield one record per `.txt` file; the label is the name of its subfolder."""
    if not folder.is_dir():
        raise ParseError("folder", f"{folder} is not a folder of per-label subfolders")
    for label_folder in sorted(p for p in folder.iterdir() if p.is_dir() and p.name != "__pycache__"):
        for path in sorted(label_folder.glob("*.txt")):
            location = f"file {label_folder.name}/{path.name}"
            text = _decode(path.read_bytes(), encoding, f"{location}, ")
            yield _sentence(text.strip(), None, label_folder.name, location)


def _read_conll(path: Path, encoding: str) -> Iterator[Record]:
    """Yield sentences from `token ... tag` lines; whitespace-only lines end a sentence.

    The first column is the token and the last the tag, so both two-column
    files and the four-column CoNLL-2003 original parse. `-DOCSTART-` lines
    are document markers, not tokens.
    """
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    for number, line in enumerate(_lines(_open_text(path, encoding)), start=1):
        columns = line.split()
        if not columns:
            if tokens:
                yield {"tokens": tokens, "tags": tags, "location": f"line {start}"}
                tokens, tags = [], []
            continue
        if columns[0] == CONLL_DOCUMENT_MARKER:
            continue
        if len(columns) < 2:
            raise ParseError(f"line {number}", f"expected 'token tag', found {line.strip()!r}")
        if not tokens:
            start = number
        tokens.append(columns[0])
        tags.append(columns[-1])
    if tokens:
        yield {"tokens": tokens, "tags": tags, "location": f"line {start}"}
