"""Task registry and data loading: YAML specs under `tasks/specs`, validated loads into `bench.data.Task`.

`TASKS` contains the built-in specs, and `load_specs(extra_dir)` adds a user's
`--tasks-dir`. `load_task` raises `TaskLoadError` for a missing or defective
file, and `load_tasks` reports such tasks and loads the others.
"""

from __future__ import annotations

from tasks.errors import TaskLoadError
from tasks.loading import load_task
from tasks.registry import TASKS, describe, load_specs, load_tasks
from tasks.spec import SpecError, TaskSpec, read_spec

__all__ = [
    "TASKS",
    "SpecError",
    "TaskLoadError",
    "TaskSpec",
    "describe",
    "load_specs",
    "load_task",
    "load_tasks",
    "read_spec",
]
