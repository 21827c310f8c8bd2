"""Readers for the files a run writes next to its records: run.json and meta-training curves.

Both are optional for a report. A defect is returned as a message naming the
file, so the report can list it and carry on with what is valid.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from bench.records import CellId, RunRecord

logger = logging.getLogger(__name__)

RUN_INFO_FILE = "run.json"
META_TRAINING_DIR = "meta_training"
CURVE_COLUMNS = ("episode", "query_loss", "query_accuracy")


def load_run_info(run_dir: Path) -> tuple[dict[str, Any], str | None]:
    """Return run.json's content (empty when absent or invalid) and the defect, if any."""
    path = Path(run_dir) / RUN_INFO_FILE
    if not path.exists():
        return {}, f"{path}: not found; run settings are left out of the report"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return {}, f"{path}: not valid JSON ({error})"
    if not isinstance(data, dict):
        return {}, f"{path}: expected a JSON object, found {type(data).__name__}"
    return data, None


def load_meta_training_curves(run_dir: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read `meta_training/<method>.json` files into one frame per method, sorted by episode.

    A file's "curve" must be a non-empty list of {"episode", "query_loss",
    "query_accuracy"} points with finite numbers. A file without "curve" is
    skipped quietly. A malformed file is skipped and named in the returned defects.
    """
    folder = Path(run_dir) / META_TRAINING_DIR
    curves: dict[str, pd.DataFrame] = {}
    defects: list[str] = []
    if not folder.is_dir():
        return curves, defects
    for path in sorted(folder.glob("*.json")):
        try:
            curve = _read_curve(path)
        except ValueError as error:
            defects.append(str(error))
            logger.warning("skipping meta-training curve: %s", error)
            continue
        if curve is None:
            # Methods may store other meta-training facts without a curve.
            logger.debug("%s has no 'curve' key; no curve to plot", path)
        else:
            curves[path.stem] = curve
    return curves, defects


def _read_curve(path: Path) -> pd.DataFrame | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    if "curve" not in data:
        return None
    points = data["curve"]
    if not isinstance(points, list) or not points:
        raise ValueError(f"{path}: expected a non-empty list under the key 'curve'")
    rows = []
    for index, point in enumerate(points):
        if not isinstance(point, dict) or any(key not in point for key in CURVE_COLUMNS):
            raise ValueError(f"{path}: curve point {index} must have the keys {', '.join(CURVE_COLUMNS)}")
        try:
            row = {key: float(point[key]) for key in CURVE_COLUMNS}
        except (TypeError, ValueError):
            raise ValueError(f"{path}: curve point {index} has a non-numeric value") from None
        if not all(math.isfinite(value) for value in row.values()):
            raise ValueError(f"{path}: curve point {index} has a non-finite value")
        rows.append(row)
    return pd.DataFrame(rows).sort_values("episode", ignore_index=True)


def missing_records(run_dir: Path, run_info: dict[str, Any], records: list[RunRecord]) -> list[str]:
    """List the cells that run.json's grid (tasks × shots × splits × methods) expects but no file holds.

    Each line names the record file that is absent, with the reason run.json
    gives for a skipped or failed cell. Files that exist but are invalid are
    left out, since the report lists them as invalid records. Returns nothing
    when run.json lacks any of the four lists.
    """
    grid = [run_info.get(key) for key in ("tasks", "shots", "splits", "methods")]
    if not all(isinstance(values, list) for values in grid):
        return []
    reasons = {}
    for entry in [*run_info.get("skipped", []), *run_info.get("failed", [])]:
        try:
            reasons[CellId.model_validate(entry["cell"]).key()] = str(entry.get("reason", ""))
        except (KeyError, TypeError, ValidationError):
            continue
    present = {record.cell.key() for record in records}
    missing = []
    tasks, shots, splits, methods = grid
    for task in tasks:
        for k in shots:
            for split in splits:
                for method in methods:
                    try:
                        cell = CellId(task=str(task), k=int(k), split=int(split), method=str(method))
                    except (ValueError, ValidationError):
                        continue
                    path = Path(run_dir) / cell.relative_path()
                    if cell.key() in present or path.exists():
                        continue
                    reason = reasons.get(cell.key())
                    missing.append(f"{path}: missing" + (f" ({reason})" if reason else ""))
    return missing
