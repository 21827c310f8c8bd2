"""Export of a run's results as Hugging Face `model-index` metadata (the YAML block of a model card)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from bench.records import RunRecord, load_records

# Hugging Face task ids and display names per task kind.
TASK_TYPES: dict[str, tuple[str, str]] = {
    "classification": ("text-classification", "Text Classification"),
    "sentiment": ("text-classification", "Text Classification"),
    "ner": ("token-classification", "Token Classification"),
}
# Metric id on the Hub, display name and arguments per suite metric.
METRIC_TYPES: dict[str, tuple[str, str, dict[str, str] | None]] = {
    "accuracy": ("accuracy", "Accuracy", None),
    "macro_f1": ("f1", "Macro F1", {"average": "macro"}),
    "f1": ("f1", "Entity F1 (strict IOB2)", None),
    "precision": ("precision", "Entity precision (strict IOB2)", None),
    "recall": ("recall", "Entity recall (strict IOB2)", None),
}


class ExportError(ValueError):
    """A run whose records cannot be exported."""


def _metric_entries(records: list[RunRecord]) -> list[dict[str, Any]]:
    names = sorted({name for record in records for name in record.metrics})
    entries = []
    for name in names:
        values = [record.metrics[name] for record in records if name in record.metrics]
        metric_type, display, args = METRIC_TYPES.get(name, (name, name, None))
        entry: dict[str, Any] = {
            "type": metric_type,
            "value": round(statistics.fmean(values), 6),
            "name": f"{display}, mean over {len(values)} training splits",
        }
        if args:
            entry["args"] = dict(args)
        entries.append(entry)
    return entries


def build_model_index(records: list[RunRecord], model_name: str | None = None) -> dict[str, Any]:
    """Group records by method, then (task, k); every metric is the mean over splits."""
    if not records:
        raise ExportError("no records to export; run `python -m bench run` first")
    by_method: dict[str, dict[tuple[str, int], list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_method[record.cell.method][(record.cell.task, record.cell.k)].append(record)
    if model_name is not None and len(by_method) > 1:
        raise ExportError(f"--name applies to a single method but the records have {sorted(by_method)}; add --method")

    models = []
    for method in sorted(by_method):
        results = []
        for (task, k), group in sorted(by_method[method].items()):
            task_info = group[0].task
            task_type, task_display = TASK_TYPES[task_info.kind]
            results.append(
                {
                    "task": {"type": task_type, "name": task_display},
                    "dataset": {
                        "name": f"{task_info.name} ({k}-shot)",
                        "type": task_info.name,
                        "config": f"k{k}",
                        "revision": task_info.version,
                        "args": {"k": k, "splits": sorted(record.cell.split for record in group)},
                    },
                    "metrics": _metric_entries(group),
                }
            )
        models.append({"name": model_name or method, "results": results})
    return {"model-index": models}


def export_model_index(run_dir: Path, method: str | None = None, model_name: str | None = None) -> str:
    """Return the model-index YAML for a run directory's records (optionally one method's)."""
    records, errors = load_records(Path(run_dir))
    if errors:
        raise ExportError(f"{len(errors)} unreadable record(s): " + "; ".join(str(error) for error in errors))
    if method is not None:
        records = [record for record in records if record.cell.method == method]
        if not records:
            raise ExportError(f"method {method!r} has no records in {run_dir}")
    return yaml.safe_dump(build_model_index(records, model_name), sort_keys=False, allow_unicode=True)
