"""The task registry: built-in specs plus a user's spec folder."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.data import Task
from bench.registry import Registry, RegistryError
from tasks.errors import TaskLoadError
from tasks.loading import load_task
from tasks.sources import source_root
from tasks.spec import SpecError, TaskSpec, read_spec

logger = logging.getLogger(__name__)

BUILTIN_SPEC_DIR = Path(__file__).parent / "specs"


def _spec_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_specs(extra_dir: Path | None = None) -> Registry[TaskSpec]:
    """Return a registry of the built-in specs plus every `*.yaml`/`*.yml` spec in `extra_dir`.

    A spec whose name is already registered raises `RegistryError` naming its file.
    """
    registry: Registry[TaskSpec] = Registry("task")
    folders = [BUILTIN_SPEC_DIR]
    if extra_dir is not None:
        extra_dir = Path(extra_dir)
        if not extra_dir.is_dir():
            raise SpecError(f"tasks folder {extra_dir} not found; pass a folder that contains task spec YAML files")
        folders.append(extra_dir)
    for folder in folders:
        for path in _spec_files(folder):
            spec = read_spec(path)
            try:
                registry.add(spec.name, spec)
            except RegistryError as error:
                raise RegistryError(f"{path}: {error}") from None
    return registry


TASKS: Registry[TaskSpec] = load_specs()


def load_tasks(
    names: Iterable[str],
    data_dir: Path | None = None,
    specs: Registry[TaskSpec] | None = None,
) -> tuple[list[Task], list[TaskLoadError]]:
    """Load the named tasks; report each broken or missing one and go on with the rest.

    An unknown name raises `RegistryError` before anything loads, because it is
    a typo rather than a data defect.
    """
    registry = specs if specs is not None else TASKS
    chosen = [registry.get(name) for name in names]
    loaded: list[Task] = []
    errors: list[TaskLoadError] = []
    for spec in chosen:
        try:
            loaded.append(load_task(spec, data_dir))
        except TaskLoadError as error:
            logger.error("skipping task %s: %s", spec.name, error)
            errors.append(error)
    return loaded, errors


def describe(data_dir: Path | None = None, specs: Registry[TaskSpec] | None = None) -> list[dict[str, Any]]:
    """Return one row per task: name, kind, source, protocols, availability and why.

    Availability checks that the package or files are present; it does not
    verify checksums (that happens on load).
    """
    registry = specs if specs is not None else TASKS
    rows = []
    for name, spec in registry.items():
        available, detail = _availability(spec, data_dir)
        rows.append(
            {
                "name": name,
                "kind": spec.kind,
                "source": spec.source_type,
                "protocols": tuple(spec.protocols),
                "available": available,
                "detail": detail,
                "description": spec.description,
            }
        )
    return rows


def _availability(spec: TaskSpec, data_dir: Path | None) -> tuple[bool, str]:
    if spec.source.type == "huggingface":
        return False, f"downloads {spec.source.dataset}@{spec.source.revision} from the Hugging Face Hub on first load"
    try:
        root = source_root(spec, data_dir)
    except TaskLoadError as error:
        return False, error.problem
    paths = [file.path for file in spec.files]
    if spec.official_splits is not None:
        paths += [name for _, _, name in spec.official_splits.file_names()]
    missing = [path for path in paths if not (root / path).exists()]
    if missing:
        return False, f"missing {missing[0]}" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
    return True, str(root)
