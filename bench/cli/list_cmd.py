"""`list`: tasks, methods and profiles."""

from __future__ import annotations

import argparse

from bench.cli.options import add_data_options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list tasks, methods and profiles",
        description="List every registered task (with its kind and data source), method and profile.",
        epilog="examples:\n  python -m bench list\n  python -m bench list --tasks-dir my_tasks/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import tasks
    from bench.methods import load_methods
    from bench.profiles import PROFILES

    specs = tasks.load_specs(args.tasks_dir)
    print("Tasks (standard tasks need --data-dir or $BENCH_DATA_DIR):")
    print(f"  {'name':30} {'kind':15} {'source':8} {'protocols':20} data")
    for row in tasks.describe(args.data_dir, specs):
        protocols = ", ".join(row["protocols"])
        data = "available" if row["available"] else f"missing ({row['detail']})"
        print(f"  {row['name']:30} {row['kind']:15} {row['source']:8} {protocols:20} {data}")

    print("\nMethods:")
    for name, cls in load_methods().items():
        kinds = ", ".join(sorted(cls.supported_kinds))
        note = f"  (not {', '.join(sorted({'classification', 'sentiment', 'ner'} - cls.supported_kinds))}: {cls.unsupported_reason})" if cls.unsupported_reason else ""
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"  {name:30} {kinds}{note}")
        if summary:
            print(f"  {'':30} {summary}")

    print("\nProfiles:")
    for name, profile in PROFILES.items():
        print(f"  {name:10} {profile.description}")
        print(f"  {'':10} tasks={','.join(profile.tasks)} k={','.join(map(str, profile.shots))} "
              f"splits={profile.splits} methods={','.join(profile.methods)}")
    return 0
