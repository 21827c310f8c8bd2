"""`python -m bench check`: compare a run with its profile's reference numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.records import RunRecord, load_records
from bench.reference import ReferenceFileError, check_run, default_reference_path, load_reference
from bench.report.run_files import load_run_info

EXIT_DRIFT = 1
EXIT_ERROR = 2

EXAMPLES = """\
examples:
  python -m bench check runs/smoke-ci
  python -m bench check runs/quick-2024-05-01 --reference results/reference/quick.json

Exit codes: 0 every reference cell matches within its tolerance; 1 drift (a
value outside its tolerance or a cell missing from the run); 2 the reference
file or the run cannot be read.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="compare a run with reference numbers; exit 1 on drift",
        description="Compare a run's means over splits with a reference file, metric by metric.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run directory (contains records/)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference file (default: results/reference/<profile>.json, "
                             "profile from RUN_DIR/run.json)")
    parser.set_defaults(handler=run)


def run_profile(run_dir: Path, records: list[RunRecord]) -> str | None:
    """Return the run's profile: run.json's `profile`, else the one profile that all records name."""
    info, _ = load_run_info(run_dir)
    if isinstance(info.get("profile"), str):
        return info["profile"]
    profiles = {r.profile for r in records}
    return profiles.pop() if len(profiles) == 1 else None


def run(args: argparse.Namespace) -> int:
    if not args.run_dir.is_dir():
        print(f"error: run directory {args.run_dir} not found")
        return EXIT_ERROR
    records, errors = load_records(args.run_dir)
    for error in errors:
        print(f"invalid record skipped: {error}")
    path = args.reference
    if path is None:
        profile = run_profile(args.run_dir, records)
        if profile is None:
            print(f"error: cannot tell the profile of {args.run_dir} (no run.json and no records); "
                  "pass --reference FILE")
            return EXIT_ERROR
        path = default_reference_path(profile)
    try:
        reference = load_reference(path)
    except ReferenceFileError as error:
        print(f"error: {error}")
        return EXIT_ERROR

    result = check_run(records, reference)
    for key in result.unreferenced:
        print(f"note: {key[0]} k={key[1]} {key[2]} {key[3]} is not in the reference (not checked)")
    if result.passed:
        print(f"check passed: {len(reference.entries)} reference values match {path}")
        return 0
    print(f"check failed: {len(result.drifts)} of {len(reference.entries)} reference values drifted from {path}")
    for drift in result.drifts:
        print(f"  drift: {drift.describe()}")
    if result.environment_differences:
        print("environment differs from the reference's provenance (a likely cause):")
        for difference in result.environment_differences:
            print(f"  {difference}")
    return EXIT_DRIFT
