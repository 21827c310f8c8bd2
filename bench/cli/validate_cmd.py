"""`validate`: check submission files against a leaderboard spec and the task registry."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cli.options import add_data_options

if TYPE_CHECKING:
    from bench.submission import LeaderboardSpec, Limits, TaskRegistryView

MEBIBYTE = 1024 * 1024


def add_submission_options(parser: argparse.ArgumentParser) -> None:
    """Add the leaderboard spec, data and size-limit options shared by `validate` and `leaderboard`."""
    from bench.submission.loading import Limits
    from bench.submission.spec import DEFAULT_SPEC_PATH

    defaults = Limits()
    parser.add_argument(
        "--leaderboard",
        type=Path,
        default=DEFAULT_SPEC_PATH,
        metavar="SPEC",
        help="leaderboard spec (YAML) with the required tasks, k values, splits and ranking metrics; "
        "default: results/leaderboard/spec.yaml",
    )
    add_data_options(parser)
    parser.add_argument("--max-file-mb", type=float, default=defaults.max_file_bytes / MEBIBYTE, help="maximum file size on disk, in MiB")
    parser.add_argument(
        "--max-decompressed-mb",
        type=float,
        default=defaults.max_decompressed_bytes / MEBIBYTE,
        help="maximum size after gzip decompression, in MiB",
    )
    parser.add_argument("--max-string-chars", type=int, default=defaults.max_string_chars, help="maximum length of any JSON string")
    parser.add_argument("--max-list-items", type=int, default=defaults.max_list_items, help="maximum length of any JSON array")


def limits_from_args(args: argparse.Namespace) -> Limits:
    from bench.submission.loading import Limits

    return Limits(
        max_file_bytes=int(args.max_file_mb * MEBIBYTE),
        max_decompressed_bytes=int(args.max_decompressed_mb * MEBIBYTE),
        max_string_chars=args.max_string_chars,
        max_list_items=args.max_list_items,
    )


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate submission files or a leaderboard spec",
        description="Check each submission FILE: size limits, schema, coverage of the leaderboard's cells, "
        "task versions and data checksums against the registry, and every claimed score against a "
        "re-score of its predictions. Prints every problem; exits 1 when any file has one. "
        "Without FILE, checks only the leaderboard spec.",
        epilog="examples:\n"
        "  python -m bench validate submissions/finetune.json.gz\n"
        "  python -m bench validate my.json --leaderboard results/leaderboard/spec.yaml\n"
        "  python -m bench validate --leaderboard my_spec.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", type=Path, nargs="*", metavar="FILE", help="submission files (.json or .json.gz)")
    add_submission_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from bench.registry import RegistryError
    from bench.submission import SpecError, TaskRegistryView, load_spec, validate_file

    try:
        spec = load_spec(args.leaderboard)
    except SpecError as error:
        print(f"invalid leaderboard spec: {error}")
        return 1
    registry = TaskRegistryView(data_dir=args.data_dir, tasks_dir=args.tasks_dir)

    if not args.files:
        return _check_spec(spec, registry, args.leaderboard)

    limits = limits_from_args(args)
    failed = 0
    for path in args.files:
        try:
            result = validate_file(path, spec, registry, limits)
        except RegistryError as error:
            print(f"{path}: cannot validate: {error}")
            failed += 1
            continue
        if result.ok:
            print(f"{path}: valid ({len(result.submission.cells)} cells, method {result.submission.method.name})")
            continue
        failed += 1
        print(f"{path}: INVALID, {len(result.problems)} problem(s):")
        for problem in result.problems:
            print(f"  {problem}")
    return 1 if failed else 0


def _check_spec(spec: LeaderboardSpec, registry: TaskRegistryView, path: Path) -> int:
    """Check that every spec task is registered and its kind has a ranking metric."""
    problems = []
    for task in spec.tasks:
        kind = registry.registered_kind(task)
        if kind is None:
            problems.append(f"task {task} is not in the task registry")
        elif kind not in spec.ranking_metric:
            problems.append(f"task {task} is a {kind} task but ranking_metric has no entry for {kind}")
    if problems:
        print(f"{path}: INVALID leaderboard spec:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"{path}: valid leaderboard spec {spec.name!r}: {len(spec.required_cells())} required cells")
    return 0
