"""`export-model-index`: write a run's results as Hugging Face model-index YAML."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-model-index",
        help="write a run's results as Hugging Face model-index YAML",
        description="Write the run's results as the `model-index` block of a Hugging Face model card: "
        "one entry per method, one result per (task, k), each metric the mean over training splits.",
        epilog="examples:\n  python -m bench export-model-index runs/quick\n"
        "  python -m bench export-model-index runs/quick --method finetune -o model-index.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="run directory containing records/")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="YAML file to write; default: standard output")
    parser.add_argument("--method", help="export only this method")
    parser.add_argument("--name", help="model name in the model-index; default: the method name")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from bench.submission.model_index import ExportError, export_model_index

    try:
        text = export_model_index(args.run_dir, method=args.method, model_name=args.name)
    except ExportError as error:
        logger.error("cannot export %s: %s", args.run_dir, error)
        return 2
    if args.output is None:
        print(text, end="")
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0
