"""`leaderboard`: validate a folder of submissions and write the ranked leaderboard."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bench.cli.validate_cmd import add_submission_options, limits_from_args

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "leaderboard",
        help="rank a folder of submissions and write Markdown, CSV, HTML and a plot",
        description="Validate every .json and .json.gz file in SUBMISSIONS_DIR, rank the valid ones "
        "(per task: the ranking metric's mean over splits; overall: average rank over tasks) and write "
        "leaderboard.md, leaderboard.csv, index.html (sortable, works offline) and average_rank.png. "
        "Invalid submissions are listed with their problems.",
        epilog="example:\n  python -m bench leaderboard submissions/ -o results/leaderboard/site",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions_dir", type=Path, metavar="SUBMISSIONS_DIR", help="folder of submission files")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR", help="folder to write the leaderboard files to")
    add_submission_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from bench.submission import SpecError, TaskRegistryView, load_spec
    from bench.submission.leaderboard import build_leaderboard, submission_paths
    from bench.submission.publish import write_leaderboard

    try:
        spec = load_spec(args.leaderboard)
        paths = submission_paths(args.submissions_dir)
        board = build_leaderboard(paths, spec, TaskRegistryView(data_dir=args.data_dir, tasks_dir=args.tasks_dir), limits_from_args(args))
    except (SpecError, FileNotFoundError) as error:
        logger.error("%s", error)
        return 2
    written = write_leaderboard(board, args.output)
    print(f"{len(board.entries)} ranked, {len(board.invalid)} invalid; wrote {', '.join(str(p) for p in written.values())}")
    for result in board.invalid:
        print(f"invalid: {result.source}, {len(result.problems)} problem(s):")
        for problem in result.problems:
            print(f"  {problem}")
    return 0
