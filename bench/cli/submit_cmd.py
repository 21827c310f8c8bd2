"""`submit`: package one method's records from a run as a submission file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "submit",
        help="package a run as a leaderboard submission file",
        description="Package one method's records from a run directory as a schema-versioned JSON "
        "submission: method metadata, environment, task versions and checksums, and every cell's "
        "scores and per-example predictions. A FILE ending in .gz is gzip-compressed.",
        epilog="examples:\n"
        "  python -m bench submit runs/quick -o submissions/finetune.json.gz\n"
        "  python -m bench submit runs/quick -o my.json --method protonet --paper https://arxiv.org/abs/1703.05175",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run directory containing records/ and run.json")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="submission file to write (.json or .json.gz)")
    parser.add_argument("--method", help="method to package; required when the run has several")
    parser.add_argument("--description", default="", help="one-paragraph description of the method")
    parser.add_argument("--paper", help="http(s) link to the paper")
    parser.add_argument("--code", help="http(s) link to the code")
    parser.add_argument("--backbone", help="backbone model name; default: from the records or run.json")
    parser.add_argument("--total-parameters", type=int, help="total parameter count; default: from the records or run.json")
    parser.add_argument("--trainable-parameters", type=int, help="trainable parameter count; default: from the records or run.json")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bench.submission import PackageError, package_run, write_submission

    try:
        submission = package_run(
            args.run_dir,
            method=args.method,
            description=args.description,
            paper=args.paper,
            code=args.code,
            backbone=args.backbone,
            total_parameters=args.total_parameters,
            trainable_parameters=args.trainable_parameters,
        )
    except (PackageError, ValidationError) as error:
        logger.error("cannot package %s: %s", args.run_dir, error)
        return 2
    path = write_submission(submission, args.output)
    print(f"wrote {path} ({len(submission.cells)} cells, method {submission.method.name})")
    return 0
