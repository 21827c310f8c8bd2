"""`run`: run a profile's grid of cells and print the results table."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bench.backbone import DEFAULT_BACKBONE
from bench.cli.options import CACHE_DIR_ENV, add_data_options, default_cache_dir

logger = logging.getLogger(__name__)

EXAMPLES = """examples:
  python -m bench run                                  # the quick profile, default data and model
  python -m bench run --profile smoke -o runs/smoke
  python -m bench run --tasks bbc-news --methods finetune --shots 4 8 --splits 0 1
  python -m bench run --tasks sst5 cr --data-dir /path/to/data     # standard datasets
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a profile: every (task, k, split, method) cell",
        description=(
            "Run every (task, k, split, method) cell of a profile and write one JSON run record per cell "
            "under OUTPUT_DIR/records. Cells whose record exists are reused, so an interrupted run resumes."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    parser.add_argument("--profile", default="quick", help="profile name: smoke, quick or full (default: quick)")
    parser.add_argument("--tasks", nargs="+", help="task names (default: the profile's tasks)")
    parser.add_argument("--methods", nargs="+", help="method names (default: the profile's methods)")
    parser.add_argument("--shots", nargs="+", type=int, help="k values, examples per class (default: the profile's)")
    parser.add_argument("--splits", nargs="+", type=int, help="split indices (default: 0 .. profile splits - 1)")

    parser.add_argument("--seed", type=int, default=42, help="root seed every cell seed derives from (default: 42)")
    parser.add_argument("-o", "--output-dir", type=Path, help="run directory (default: runs/PROFILE)")
    parser.add_argument(
        "--cache-dir", type=Path, default=None,
        help="cache for datasets and meta-trained weights (default: $BENCH_CACHE_DIR or ~/.cache/fewshot-bench)",
    )

    parser.add_argument("--backbone", default=DEFAULT_BACKBONE, help="encoder: the packaged default, a local directory or a hub id")
    parser.add_argument("--backbone-revision", default=None, help="hub revision (commit) to pin a hub backbone to")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")

    parser.add_argument("--force", action="store_true", help="rerun cells whose records already exist")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="METHOD.PARAM=VALUE",
        help="override one method hyperparameter, e.g. --set finetune.learning_rate=1e-4 (repeatable; "
        "VALUE is parsed as YAML, so 3, 0.1, true and [1, 2] work)",
    )
    add_data_options(parser)

    parser.set_defaults(handler=handle)


def quiet_libraries() -> None:
    """Hide per-load progress bars of transformers and datasets; our own bars show progress."""
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()


def apply_overrides(profile, overrides: list[str]):
    """Return the profile with `METHOD.PARAM=VALUE` settings merged into its method parameters."""
    import dataclasses

    import yaml

    params = {method: dict(values) for method, values in profile.method_params.items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot or not method or not name:
            raise SystemExit(f"invalid --set {item!r}: expected METHOD.PARAM=VALUE, e.g. finetune.epochs=5")
        params.setdefault(method, {})[name] = yaml.safe_load(text)
    return dataclasses.replace(profile, method_params=params)


def handle(args: argparse.Namespace) -> int:
    import tasks
    from bench.methods import build_method, load_methods
    from bench.profiles import PROFILES
    from bench.records import load_records
    from bench.runner import RunConfig, Runner
    from bench.summary import write_summary
    from tasks.meta import load_meta_training_data

    quiet_libraries()
    profile = apply_overrides(PROFILES.get(args.profile), args.overrides)
    specs = tasks.load_specs(args.tasks_dir)
    task_names = tuple(args.tasks or profile.tasks)
    for name in task_names:
        specs.get(name)  # unknown names fail here with close matches
    registry = load_methods()
    method_names = []
    for name in args.methods or profile.methods:
        reason = registry.get(name).availability()
        if reason:
            logger.warning("skipping method %s: %s", name, reason)
            continue
        method_names.append(name)

    for option, values, minimum in (("--shots", args.shots, 1), ("--splits", args.splits, 0)):
        bad = [v for v in values or () if v < minimum]
        if bad:
            print(f"error: invalid {option} value(s) {bad}: must be at least {minimum}", file=sys.stderr)
            return 2
    if args.data_dir is not None and not args.data_dir.is_dir():
        print(f"error: data directory {args.data_dir} not found; pass the folder that holds the standard "
              f"benchmark files (or leave --data-dir unset for the built-in tasks)", file=sys.stderr)
        return 2
    for name in method_names:  # reject invalid --set values before anything is written
        try:
            build_method(name, profile.method_params.get(name, {}))
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    cache_dir = args.cache_dir or default_cache_dir()
    # The dataset cache of `tasks` reads this variable; set it once here, at the entry point.
    os.environ[CACHE_DIR_ENV] = str(cache_dir)
    loaded, errors = tasks.load_tasks(list(task_names), args.data_dir, specs=specs)
    for error in errors:
        logger.error("task skipped: %s", error)
    if not loaded:
        logger.error("no task could be loaded; fix the errors above")
        return 2

    config = RunConfig(
        profile=profile,
        tasks=task_names,
        methods=tuple(method_names),
        shots=tuple(args.shots or profile.shots),
        splits=tuple(args.splits if args.splits is not None else range(profile.splits)),
        root_seed=args.seed,
        output_dir=args.output_dir or Path("runs") / profile.name,
        cache_dir=cache_dir,
        backbone=args.backbone,
        backbone_revision=args.backbone_revision,
        device=args.device,
        force=args.force,
    )
    meta_cache: dict[str, object] = {}

    def meta_data():
        if "data" not in meta_cache:
            meta_cache["data"] = load_meta_training_data(args.data_dir)
        return meta_cache["data"]

    logger.info("run directory: %s", config.output_dir)
    outcome = Runner(config, loaded, meta_data).run()
    records, bad = load_records(config.output_dir)
    for error in bad:
        logger.error("invalid record: %s", error)
    print(write_summary(config.output_dir, records))
    logger.info(
        "cells: %d written, %d reused, %d skipped, %d failed; tables in %s",
        len(outcome.written), len(outcome.reused), len(outcome.skipped), len(outcome.failed),
        config.output_dir / "results.md",
    )
    for cell, reason in outcome.failed:
        logger.error("failed cell %s: %s", cell.key(), reason)
    return 1 if outcome.failed or errors else 0
