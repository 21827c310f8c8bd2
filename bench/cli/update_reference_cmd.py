"""`python -m bench update-reference`: replace a profile's reference numbers with a run's, on request."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.check_cmd import EXIT_ERROR, run_profile
from bench.records import load_records
from bench.reference import (
    DEFAULT_ABSOLUTE_TOLERANCE,
    ReferenceFileError,
    TolerancePolicy,
    build_reference,
    default_reference_path,
    diff_references,
    load_reference,
    write_reference,
)

EXAMPLES = """\
examples:
  python -m bench update-reference runs/smoke-ci            # show the diff, write nothing
  python -m bench update-reference runs/smoke-ci --yes      # write results/reference/smoke.json
  python -m bench update-reference runs/full --floor accuracy=0.005 --yes

Tolerances: every entry gets max(--absolute, the --floor of its metric).
Floors not given here are kept from the existing reference.
"""


def _floor(text: str) -> tuple[str, float]:
    metric, separator, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not separator or not metric or number < 0:
        raise argparse.ArgumentTypeError(f"expected METRIC=VALUE with VALUE >= 0, got {text!r}")
    return metric, number


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "update-reference",
        help="write a run's numbers as the new reference (only with --yes)",
        description="Show how a run's numbers differ from the reference, and replace it when --yes is given.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run directory (contains records/)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="reference file (default: results/reference/<profile>.json)")
    parser.add_argument("--yes", action="store_true", help="write the new reference; without it nothing is written")
    parser.add_argument("--absolute", type=float, default=None,
                        help=f"absolute tolerance on metrics in [0, 1] (default: the existing reference's, "
                             f"else {DEFAULT_ABSOLUTE_TOLERANCE})")
    parser.add_argument("--floor", type=_floor, action="append", default=[], metavar="METRIC=VALUE",
                        help="minimum tolerance for one metric, in [0, 1] units; repeatable")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.run_dir.is_dir():
        print(f"error: run directory {args.run_dir} not found")
        return EXIT_ERROR
    records, errors = load_records(args.run_dir)
    for error in errors:
        print(f"invalid record skipped: {error}")
    if not records:
        print(f"error: {args.run_dir} has no valid record; nothing to take reference numbers from")
        return EXIT_ERROR
    profile = run_profile(args.run_dir, records)
    if profile is None:
        print(f"error: records of {args.run_dir} name several profiles and run.json is missing; "
              "pass --reference FILE")
        return EXIT_ERROR
    path = args.reference or default_reference_path(profile)

    old = None
    if path.exists():
        try:
            old = load_reference(path)
        except ReferenceFileError as error:
            print(f"warning: the existing reference cannot be read and would be replaced: {error}")
    base = old.tolerance_policy if old is not None else TolerancePolicy()
    if args.absolute is not None and args.absolute < 0:
        print(f"error: --absolute must be >= 0, got {args.absolute}")
        return EXIT_ERROR
    policy = TolerancePolicy(
        absolute=base.absolute if args.absolute is None else args.absolute,
        metric_floors={**base.metric_floors, **dict(args.floor)},
    )
    new = build_reference(records, profile, policy)

    changes = diff_references(old, new)
    if errors:
        print(f"warning: {len(errors)} invalid records are left out of the new reference")
    print(f"changes to {path}:" if changes else f"no changes to {path}")
    for line in changes:
        print(f"  {line}")
    if not args.yes:
        print("nothing written; rerun with --yes to write the new reference")
        return 0
    write_reference(path, new)
    print(f"wrote {path} ({len(new.entries)} entries)")
    return 0
