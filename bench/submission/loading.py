"""Bounded reading of untrusted submission files, and writing of our own.

Reading happens in three guarded steps so that a hostile file cannot make us
allocate much more than the configured limits:

1. the size on disk is checked with `stat` before the file is opened;
2. gzip input is decompressed in chunks and abandoned as soon as the output
   exceeds `max_decompressed_bytes` (this stops gzip bombs);
3. the decoded text is scanned by `scan_json_limits`, which walks the JSON
   tokens with a regular expression and rejects over-long strings, over-long
   arrays and deep nesting before `json.loads` builds any Python objects.

Only JSON is ever parsed: nothing from a submission is unpickled, imported or
evaluated.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.submission.problems import Problem
from bench.submission.schema import Submission

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Size limits applied before a submission is parsed; sizes in bytes, counts in items."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_decompressed_bytes: int = 50 * 1024 * 1024
    # Longest JSON string, counted in characters of the raw JSON text (escapes included).
    max_string_chars: int = 10_000
    # Longest JSON array. The largest legitimate arrays are a cell's predictions;
    # the full profile's biggest evaluation set (clinc150) has 5,500 examples.
    max_list_items: int = 100_000
    max_depth: int = 32


class SubmissionReadError(ValueError):
    """A submission that could not be read. Its `problem` gives the reason."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def read_submission_text(path: Path, limits: Limits) -> str:
    """Return the decoded JSON text of a submission, enforcing the byte limits."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SubmissionReadError(Problem("file-not-found", f"{path}: file not found")) from None
    if size > limits.max_file_bytes:
        raise SubmissionReadError(
            Problem(
                "file-too-large",
                f"{path}: file is {size} bytes, over the limit of {limits.max_file_bytes} bytes; "
                f"remove unneeded cells or raise the limit",
            )
        )

    with path.open("rb") as handle:
        magic = handle.read(2)
        handle.seek(0)
        if magic == GZIP_MAGIC:
            raw = _read_gzip_capped(path, handle, limits.max_decompressed_bytes)
        else:
            # The file is already known to be under max_file_bytes; the
            # decompressed cap also applies to plain JSON.
            raw = handle.read(limits.max_decompressed_bytes + 1)
            if len(raw) > limits.max_decompressed_bytes:
                raise SubmissionReadError(_too_large_decompressed(path, limits.max_decompressed_bytes))

    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionReadError(
            Problem("malformed-json", f"{path}: not UTF-8 text ({error}); write the submission as UTF-8 JSON")
        ) from None


def _read_gzip_capped(path: Path, handle: Any, cap: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
            while True:
                # read(n) returns at most n bytes, so memory stays within cap + one chunk.
                chunk = stream.read(_CHUNK_BYTES)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise SubmissionReadError(_too_large_decompressed(path, cap))
                parts.append(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise SubmissionReadError(
            Problem("malformed-gzip", f"{path}: invalid gzip data ({error}); recreate it with `python -m bench submit`")
        ) from None
    return b"".join(parts)


def _too_large_decompressed(path: Path, cap: int) -> Problem:
    return Problem(
        "decompressed-too-large",
        f"{path}: decompressed content exceeds the limit of {cap} bytes; "
        f"a legitimate submission this large needs a raised limit",
    )


# A JSON string (unrolled so long strings match in linear time) or a structural character.
# Numbers, true, false and null are skipped: they cannot nest and their length is bounded
# by the file size, while json.loads rejects integers longer than Python's digit limit.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)


def scan_json_limits(text: str, limits: Limits) -> list[Problem]:
    """Check string lengths, array lengths and nesting depth without building the document.

    The scan assumes well-formed JSON. On malformed text it may report less,
    and `json.loads` then reports the syntax error.
    """
    problems: list[Problem] = []
    # One entry per open container: the number of commas seen so far in an
    # array, or None for an object.
    stack: list[int | None] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            length = len(token) - 2
            if length > limits.max_string_chars:
                problems.append(
                    Problem(
                        "field-too-large",
                        f"a JSON string at character {match.start()} is {length} characters long, "
                        f"over the limit of {limits.max_string_chars}",
                    )
                )
        elif first in "[{":
            stack.append(0 if first == "[" else None)
            if len(stack) > limits.max_depth:
                problems.append(
                    Problem("field-too-large", f"JSON nesting deeper than {limits.max_depth} levels at character {match.start()}")
                )
                return problems
        elif first == ",":
            if stack and stack[-1] is not None:
                stack[-1] += 1
                # Commas + 1 is an upper bound on the item count, so "[]" counts as
                # one item. Each array is reported once, when it first passes the limit.
                if stack[-1] == limits.max_list_items:
                    problems.append(
                        Problem(
                            "field-too-large",
                            f"a JSON array starting before character {match.start()} has more than "
                            f"{limits.max_list_items} items",
                        )
                    )
        elif stack:
            stack.pop()
    return problems


def _parse_constant(name: str) -> float:
    # NaN and Infinity are not JSON, but Python's json writes and reads them.
    # Keep them as floats so that validation names the cell and metric.
    return float(name)


def parse_submission_json(text: str, source: str, limits: Limits) -> dict[str, Any]:
    """Parse bounded JSON text into a dict; raise SubmissionReadError with the first problem."""
    size_problems = scan_json_limits(text, limits)
    if size_problems:
        raise SubmissionReadError(size_problems[0])
    try:
        data = json.loads(text, parse_constant=_parse_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as error:
        raise SubmissionReadError(
            Problem("malformed-json", f"{source}: not valid JSON ({error}); recreate it with `python -m bench submit`")
        ) from None
    if not isinstance(data, dict):
        raise SubmissionReadError(
            Problem("malformed-json", f"{source}: expected a JSON object at the top level, found {type(data).__name__}")
        )
    return data


def write_submission(submission: Submission, path: Path) -> Path:
    """Write a submission atomically; gzip-compress it when the name ends with `.gz`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = submission.model_dump_json(indent=None).encode("utf-8")
    if path.name.endswith(".gz"):
        # mtime=0 keeps the bytes identical for identical content.
        data = gzip.compress(data, mtime=0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
