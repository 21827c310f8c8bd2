"""Flatten run records into one long table of scores.

Every later step (statistics, tables, plots, reference checks) starts from
this table, so they all agree on which metric is primary for a task and on
how training seeds are folded into split-level scores.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bench.records import RunRecord

# The metric that tables and plots lead with, by task kind.
PRIMARY_METRIC_BY_KIND: dict[str, str] = {
    "classification": "accuracy",
    "sentiment": "accuracy",
    "ner": "f1",
}

SCORE_COLUMNS = ("task", "k", "split", "train_seed", "method", "metric", "value")


def scores_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """Return one row per (record, metric) with the columns in SCORE_COLUMNS.

    `train_seed` comes from `extra["train_seed"]` and is 0 when a record has
    none, so a run without a training-seed dimension has one seed per split.
    """
    rows = []
    for record in records:
        train_seed = int(record.extra.get("train_seed", 0))
        for metric, value in record.metrics.items():
            rows.append(
                {
                    "task": record.cell.task,
                    "k": record.cell.k,
                    "split": record.cell.split,
                    "train_seed": train_seed,
                    "method": record.cell.method,
                    "metric": metric,
                    "value": float(value),
                }
            )
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    return frame.sort_values(["task", "k", "method", "metric", "split", "train_seed"], ignore_index=True)


def split_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Average over training seeds, leaving one value per (task, k, method, metric, split)."""
    keys = ["task", "k", "method", "metric", "split"]
    return frame.groupby(keys, as_index=False)["value"].mean()


def primary_metrics(records: Iterable[RunRecord]) -> dict[str, str]:
    """Map each task to its primary metric, from the task kind stored in its records."""
    return {record.cell.task: PRIMARY_METRIC_BY_KIND[record.task.kind] for record in records}
