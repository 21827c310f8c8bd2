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
    print("Tasks:")
    print(f"  {'name':28} {'kind':15} {'source':9} protocols")
    for name, spec in specs.items():
        protocols = ", ".join(spec.protocols)
        print(f"  {name:28} {spec.kind:15} {spec.source.type:9} {protocols}")

    print("\nMethods:")
    for name, cls in load_methods().items():
        kinds = ", ".join(sorted(cls.supported_kinds))
        note = f"  (not {', '.join(sorted({'classification', 'sentiment', 'ner'} - cls.supported_kinds))}: {cls.unsupported_reason})" if cls.unsupported_reason else ""
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"  {name:28} {kinds}{note}")
        if summary:
            print(f"  {'':28} {summary}")

    print("\nProfiles:")
    for name, profile in PROFILES.items():
        print(f"  {name:10} {profile.description}")
        print(f"  {'':10} tasks={','.join(profile.tasks)} k={','.join(map(str, profile.shots))} "
              f"splits={profile.splits} methods={','.join(profile.methods)}")
    return 0
