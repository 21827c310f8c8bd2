"""The results table printed at the end of a run: mean ± sd over splits per cell group."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from bench.metrics import PRIMARY_METRIC
from bench.records import RunRecord


def results_frame(records: list[RunRecord]) -> pd.DataFrame:
    """Build one row per (task, k, method) with the primary metric's mean and sd over splits, in percent."""
    groups: dict[tuple[str, str, int, str, str], list[float]] = defaultdict(list)
    for record in records:
        metric = PRIMARY_METRIC[record.task.kind]
        key = (record.task.name, record.task.kind, record.cell.k, record.cell.method, metric)
        groups[key].append(100.0 * record.metrics[metric])
    rows = []
    for (task, kind, k, method, metric), values in sorted(groups.items()):
        array = np.asarray(values)
        rows.append(
            {
                "task": task,
                "kind": kind,
                "k": k,
                "metric": metric,
                "method": method,
                "mean": float(array.mean()),
                "sd": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
                "splits": len(array),
            }
        )
    return pd.DataFrame(rows, columns=["task", "kind", "k", "metric", "method", "mean", "sd", "splits"])


def markdown_table(frame: pd.DataFrame) -> str:
    """Tasks as rows, methods as columns, cells `mean ± sd` (percent)."""
    if frame.empty:
        return "_no results_\n"
    methods = sorted(frame["method"].unique())
    lines = [
        "| task | kind | k | metric | " + " | ".join(methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    for (task, kind, k, metric), group in frame.groupby(["task", "kind", "k", "metric"], sort=True):
        by_method = {row.method: f"{row.mean:.1f} ± {row.sd:.1f}" for row in group.itertuples()}
        cells = [by_method.get(method, "–") for method in methods]
        lines.append(f"| {task} | {kind} | {k} | {metric} (%) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(run_dir: Path, records: list[RunRecord]) -> str:
    """Write results.md and results.csv into the run directory; return the Markdown."""
    frame = results_frame(records)
    frame.to_csv(Path(run_dir) / "results.csv", index=False, float_format="%.4f")
    text = markdown_table(frame)
    (Path(run_dir) / "results.md").write_text(text, encoding="utf-8")
    return text
