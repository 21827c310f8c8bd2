"""Command line: `python -m bench <subcommand>`; one module per subcommand.

Each subcommand module defines `add_parser(subparsers)`, which creates its
parser and sets `handler` (a function taking the parsed arguments and
returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bench import __version__

# Order shown in `--help`.
SUBCOMMANDS: tuple[str, ...] = (
    "bench.cli.list_cmd",
    "bench.cli.run_cmd",
    "bench.cli.report_cmd",
    "bench.cli.check_cmd",
    "bench.cli.update_reference_cmd",
    "bench.cli.submit_cmd",
    "bench.cli.validate_cmd",
    "bench.cli.leaderboard_cmd",
    "bench.cli.export_model_index_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Few-shot NLP benchmark and reproducibility suite.",
        epilog="Run `python -m bench SUBCOMMAND --help` for examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for module in SUBCOMMANDS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: finished cells are kept; rerun the same command to resume", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        if args.verbose:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that describe bad input; they are printed as one line (tracebacks with -v)."""
    from bench.registry import RegistryError
    from bench.sampling import SamplingError
    from tasks import SpecError, TaskLoadError

    return (RegistryError, SpecError, TaskLoadError, SamplingError, FileNotFoundError, NotADirectoryError, IsADirectoryError)


USER_ERRORS = _user_errors()
