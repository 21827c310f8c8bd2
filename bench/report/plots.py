"""Report figures, drawn with matplotlib's Agg canvas and saved as PNG and PDF.

Figures are built on `matplotlib.figure.Figure` with an Agg canvas instead of
pyplot, so no global figure state or backend switch is involved. Each builder
raises NoPlotData with the reason when its data is absent; the caller logs the
reason and goes on. Every method has one colour in every figure (see
`bench.report.style.method_colour`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.records import RunRecord
from bench.report.scores import split_scores
from bench.report.stats import Summary
from bench.report.style import is_ablation, method_colour, order_methods

logger = logging.getLogger(__name__)

FIGURE_FORMATS = ("png", "pdf")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_METRIC_LABELS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "f1": "span F1",
                  "precision": "precision", "recall": "recall"}


class NoPlotData(Exception):
    """A figure was skipped because the run has no data for it; the message is the reason."""


def metric_label(metric: str) -> str:
    return f"{_METRIC_LABELS.get(metric, metric)} (%)"


def save_figure(figure: Figure, out_dir: Path, name: str) -> list[Path]:
    """Save a figure as `<name>.png` and `<name>.pdf` in out_dir and return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    paths = []
    for extension in FIGURE_FORMATS:
        path = out_dir / f"{name}.{extension}"
        # A fixed creation date keeps the PDF bytes the same from one rebuild to the next.
        metadata = {"CreationDate": None} if extension == "pdf" else {"Software": None}
        figure.savefig(path, dpi=150, bbox_inches="tight", metadata=metadata)
        paths.append(path)
    return paths


def _grid(count: int, width: float = 4.2, height: float = 3.4) -> tuple[Figure, list]:
    columns = min(3, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel().tolist()
    for unused in axes[count:]:
        unused.set_visible(False)
    return figure, axes[:count]


def score_vs_k(summaries: list[Summary], metric_by_task: dict[str, str], primary: str) -> Figure:
    """Plot mean score against k, one panel per task and one line per method, with the 95 % CI as a band."""
    tasks = sorted({s.task for s in summaries})
    if not tasks:
        raise NoPlotData("no scores in the run")
    figure, axes = _grid(len(tasks))
    for axis, task in zip(axes, tasks, strict=True):
        metric = metric_by_task[task]
        rows = [s for s in summaries if s.task == task and s.metric == metric]
        for method in order_methods({s.method for s in rows}, primary):
            points = sorted((s for s in rows if s.method == method), key=lambda s: s.k)
            shots = [s.k for s in points]
            colour = method_colour(method)
            axis.plot(shots, [100 * s.mean for s in points], marker="o", color=colour, label=method)
            axis.fill_between(shots, [100 * s.ci_low for s in points], [100 * s.ci_high for s in points],
                              color=colour, alpha=0.2, linewidth=0)
        axis.set_title(task)
        axis.set_xlabel("k (labeled examples per class)")
        axis.set_ylabel(metric_label(metric))
        axis.set_xticks(sorted({s.k for s in rows}))
        axis.legend(fontsize="small")
    figure.suptitle("Mean over splits; band: 95 % bootstrap CI over splits", fontsize="medium")
    return figure


def paired_scatter(scores: pd.DataFrame, metric_by_task: dict[str, str], primary: str) -> Figure:
    """Plot, per baseline, the primary method's split score against the baseline's on the same split."""
    by_split = split_scores(scores)
    primary_rows = by_split[by_split["metric"] == by_split["task"].map(metric_by_task)]
    table = primary_rows.pivot_table(index=["task", "k", "split"], columns="method", values="value")
    if primary not in table.columns:
        raise NoPlotData(f"no records of the primary method {primary!r}")
    baselines = [m for m in order_methods(set(table.columns), primary)
                 if m != primary and not is_ablation(m, primary)]
    baselines = [m for m in baselines if not table[[primary, m]].dropna().empty]
    if not baselines:
        raise NoPlotData(f"no baseline shares a split with {primary!r}")

    metrics = sorted(set(metric_by_task.values()))
    unit = metric_label(metrics[0]) if len(metrics) == 1 else "primary metric of each task (%)"
    tasks = sorted(table.index.get_level_values("task").unique())
    figure, axes = _grid(len(baselines), width=4.0, height=4.0)
    for axis, baseline in zip(axes, baselines, strict=True):
        paired = table[[primary, baseline]].dropna() * 100
        for index, task in enumerate(tasks):
            if task not in paired.index.get_level_values("task"):
                continue
            points = paired.xs(task, level="task")
            axis.scatter(points[baseline], points[primary], color=method_colour(baseline),
                         marker=_MARKERS[index % len(_MARKERS)], label=task, alpha=0.8)
        low = float(paired.min().min())
        high = float(paired.max().max())
        margin = max(1.0, 0.05 * (high - low))
        axis.plot([low - margin, high + margin], [low - margin, high + margin], color="black",
                  linestyle="--", linewidth=1, label="equal score")
        axis.set_xlabel(f"{baseline}: {unit}")
        axis.set_ylabel(f"{primary}: {unit}")
        axis.set_title(f"{primary} vs {baseline} (per split)")
        axis.legend(fontsize="small")
    return figure


def meta_training_curves(curves: dict[str, pd.DataFrame]) -> Figure:
    """Plot query loss and query accuracy against meta-training episode, one line per method."""
    if not curves:
        raise NoPlotData("the run has no meta_training/<method>.json files")
    figure = Figure(figsize=(9.0, 3.6), layout="constrained")
    loss_axis, accuracy_axis = figure.subplots(1, 2)
    for method, curve in sorted(curves.items()):
        colour = method_colour(method)
        loss_axis.plot(curve["episode"], curve["query_loss"], color=colour, label=method)
        accuracy_axis.plot(curve["episode"], 100 * curve["query_accuracy"], color=colour, label=method)
    loss_axis.set_xlabel("meta-training episode")
    loss_axis.set_ylabel("query loss (cross-entropy, nats)")
    accuracy_axis.set_xlabel("meta-training episode")
    accuracy_axis.set_ylabel("query accuracy (%)")
    loss_axis.legend(fontsize="small")
    accuracy_axis.legend(fontsize="small")
    return figure


def selection_frequency(records: Iterable[RunRecord], primary: str) -> Figure:
    """Draw bars of how many cells (task, k, split) chose each candidate, grouped by method."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        candidate = record.extra.get("chosen_candidate")
        if candidate is not None:
            counts[record.cell.method][str(candidate)] += 1
    if not counts:
        raise NoPlotData("no record carries extra['chosen_candidate']")
    candidates = sorted({c for counter in counts.values() for c in counter})
    methods = order_methods(set(counts), primary)
    width = 0.8 / len(methods)
    figure = Figure(figsize=(max(5.0, 0.9 * len(candidates) * len(methods) + 2), 3.8), layout="constrained")
    axis = figure.subplots()
    for offset, method in enumerate(methods):
        positions = [i + (offset - (len(methods) - 1) / 2) * width for i in range(len(candidates))]
        axis.bar(positions, [counts[method][c] for c in candidates], width=width,
                 color=method_colour(method), label=method)
    axis.set_xticks(range(len(candidates)), candidates, rotation=30, ha="right")
    axis.set_xlabel("candidate model")
    axis.set_ylabel("times chosen (cells)")
    axis.legend(fontsize="small")
    return figure
