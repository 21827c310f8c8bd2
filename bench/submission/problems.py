"""Validation problems: a stable code for programs and tests, and a message for people."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One defect found in a submission.

    `code` is one of a fixed set of short kebab-case names (for example
    `score-mismatch` or `missing-cell`), so tests and tools can match on the
    reason without parsing `message`.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"
