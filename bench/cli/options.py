"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DATA_DIR_ENV = "BENCH_DATA_DIR"
CACHE_DIR_ENV = "BENCH_CACHE_DIR"


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fewshot-bench"


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None,
        help=f"folder with the standard benchmark files (LEOPARD, SST-5, CR, HuffPost, CoNLL-2003); "
        f"default: ${DATA_DIR_ENV}",
    )
    parser.add_argument(
        "--tasks-dir",
        type=Path,
        default=None,
        help="extra folder of task spec files (YAML) to register beside the built-in tasks",
    )
