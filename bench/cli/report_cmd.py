"""`python -m bench report`: regenerate every table and figure of a run from its records."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.report.style import PRIMARY_METHOD

# Kept here instead of imported so that `python -m bench --help` does not load
# matplotlib, scipy and pandas; bench.report.build imports them on first use.
DEFAULT_BOOTSTRAP_SAMPLES = 10_000
DEFAULT_STATS_SEED = 0

EXAMPLES = """\
examples:
  python -m bench report runs/quick-2024-05-01
  python -m bench report runs/quick-2024-05-01 --out /tmp/report --primary protonet

Writes report.md, reproduction.md, tables/*.{md,csv,tex}, figures/*.{png,pdf}
and stats/*.csv. Invalid records are listed by file name and skipped; the exit
code is 1 only when the run has no valid record.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write tables, figures and report.md for a run",
        description="Regenerate every table and figure of a run from its records alone.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="run directory (contains records/)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: RUN_DIR/report)")
    parser.add_argument("--primary", default=PRIMARY_METHOD,
                        help=f"method that every other method is compared with (default: {PRIMARY_METHOD})")
    parser.add_argument("--published", type=Path, default=None,
                        help="YAML file of published numbers for the reproduction table "
                             "(default: results/published.yaml)")
    parser.add_argument("--bootstrap-samples", type=int, default=DEFAULT_BOOTSTRAP_SAMPLES,
                        help=f"bootstrap resamples for CIs and paired p-values (default: {DEFAULT_BOOTSTRAP_SAMPLES})")
    parser.add_argument("--stats-seed", type=int, default=DEFAULT_STATS_SEED,
                        help=f"seed of the bootstrap generators (default: {DEFAULT_STATS_SEED})")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from bench.report.build import NoValidRecords, build_report
    from bench.report.reproduction import DEFAULT_PUBLISHED_PATH

    if not args.run_dir.is_dir():
        print(f"error: run directory {args.run_dir} not found")
        return 1
    if args.bootstrap_samples < 1:
        print(f"error: --bootstrap-samples must be at least 1, got {args.bootstrap_samples}")
        return 1
    try:
        result = build_report(args.run_dir, args.out, primary=args.primary, published_path=args.published or DEFAULT_PUBLISHED_PATH,
                              seed=args.stats_seed, bootstrap_samples=args.bootstrap_samples)
    except NoValidRecords as error:
        print(f"error: {error}")
        return 1
    for error in result.record_errors:
        print(f"invalid record skipped: {error}")
    for line in result.missing:
        print(f"missing record: {line}")
    for item, reason in result.skipped.items():
        print(f"skipped {item}: {reason}")
    print(f"report written to {result.out_dir / 'report.md'} "
          f"({result.records} records, {len(result.record_errors)} invalid, {len(result.missing)} missing)")
    return 0
