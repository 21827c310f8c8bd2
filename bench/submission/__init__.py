"""Leaderboard submissions: packaging a run, validating untrusted files, ranking, and model-index export.

Submissions are untrusted input. They are read within size limits
(`loading`), parsed as JSON only, checked against a strict schema (`schema`)
and re-scored from their predictions against the registry's gold labels
(`validate`) before any of their scores are ranked (`leaderboard`).
"""

from bench.submission.loading import Limits, write_submission
from bench.submission.package import PackageError, package_run
from bench.submission.problems import Problem
from bench.submission.registry_view import RegistryView, StaticRegistryView, TaskReference, TaskRegistryView
from bench.submission.schema import Submission
from bench.submission.spec import LeaderboardSpec, SpecError, load_spec
from bench.submission.validate import ValidationResult, validate_file

__all__ = [
    "LeaderboardSpec",
    "Limits",
    "PackageError",
    "Problem",
    "RegistryView",
    "SpecError",
    "StaticRegistryView",
    "Submission",
    "TaskReference",
    "TaskRegistryView",
    "ValidationResult",
    "load_spec",
    "package_run",
    "validate_file",
    "write_submission",
]
