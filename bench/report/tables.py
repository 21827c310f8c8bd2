"""Main, ablation and model-selection tables, rendered as Markdown, LaTeX (booktabs) and CSV.

Displayed scores are percentages: mean ± standard deviation over splits. The
best mean in a row is bold (every method within 1e-9 of it when tied). A
dagger marks a method whose split scores differ significantly from the
primary method's (two-sided test chosen by `significance_test`, level `alpha`).
The CSV files carry the unrounded numbers behind each table in long form.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from bench.records import RunRecord
from bench.report.stats import Comparison, Summary
from bench.report.style import is_ablation, order_methods

SignificanceTest = Literal["wilcoxon", "bootstrap"]
DEFAULT_ALPHA = 0.05
MISSING = "–"
DAGGER = "†"
_BEST_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Cell:
    text: str
    bold: bool = False
    dagger: bool = False


@dataclass
class Table:
    """A rendered table: one header, then blocks of rows (one block per k in the main table)."""

    name: str
    title: str
    columns: list[str]
    blocks: list[tuple[str, list[list[Cell]]]]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def format_score(mean: float, sd: float) -> str:
    if math.isnan(sd):
        return f"{100 * mean:.1f}"
    return f"{100 * mean:.1f} ± {100 * sd:.1f}"


def _significant(comparison: Comparison | None, test: SignificanceTest, alpha: float) -> bool:
    if comparison is None:
        return False
    p_value = comparison.p_wilcoxon if test == "wilcoxon" else comparison.p_bootstrap
    return p_value < alpha


def _score_table(
    name: str,
    title: str,
    summaries: list[Summary],
    comparisons: list[Comparison],
    methods: list[str],
    metric_by_task: dict[str, str],
    primary: str,
    test: SignificanceTest,
    alpha: float,
) -> Table:
    """Build a tasks × methods table with one block per k, on each task's primary metric."""
    summary_at = {(s.task, s.k, s.method, s.metric): s for s in summaries}
    comparison_at = {(c.task, c.k, c.metric, c.baseline): c for c in comparisons if c.primary == primary}
    shots = sorted({s.k for s in summaries if s.method in methods})
    tasks = sorted({s.task for s in summaries if s.method in methods})

    blocks = []
    data_rows = []
    for k in shots:
        rows = []
        for task in tasks:
            metric = metric_by_task.get(task)
            present = {m: summary_at.get((task, k, m, metric)) for m in methods}
            if all(s is None for s in present.values()):
                continue
            best = max(s.mean for s in present.values() if s is not None)
            row = [Cell(task), Cell(metric or MISSING)]
            for method in methods:
                summary = present[method]
                if summary is None:
                    row.append(Cell(MISSING))
                    continue
                is_best = summary.mean >= best - _BEST_TOLERANCE
                comparison = comparison_at.get((task, k, metric, method))
                significant = method != primary and _significant(comparison, test, alpha)
                row.append(Cell(format_score(summary.mean, summary.sd_split), bold=is_best, dagger=significant))
                data_rows.append(
                    {
                        "k": k,
                        "task": task,
                        "metric": metric,
                        "method": method,
                        "mean": summary.mean,
                        "sd_split": summary.sd_split,
                        "sd_seed": summary.sd_seed,
                        "ci_low": summary.ci_low,
                        "ci_high": summary.ci_high,
                        "n_splits": summary.n_splits,
                        "best": is_best,
                        "significant_vs_primary": significant,
                        "p_wilcoxon": comparison.p_wilcoxon if comparison else None,
                        "p_bootstrap": comparison.p_bootstrap if comparison else None,
                        "wins": comparison.wins if comparison else None,
                        "ties": comparison.ties if comparison else None,
                        "losses": comparison.losses if comparison else None,
                    }
                )
            rows.append(row)
        blocks.append((f"k = {k}", rows))

    test_name = "Wilcoxon signed-rank" if test == "wilcoxon" else "paired bootstrap"
    notes = [
        "Scores in %: mean ± standard deviation over splits; bold is the best mean in a row.",
        f"{DAGGER} differs from {primary} on the same splits (two-sided {test_name} test, p < {alpha}).",
        "wins/ties/losses in the CSV are counted from the primary method's side.",
    ]
    return Table(name=name, title=title, columns=["task", "metric", *methods], blocks=blocks,
                 data=pd.DataFrame(data_rows), notes=notes)


def main_table(
    summaries: list[Summary],
    comparisons: list[Comparison],
    metric_by_task: dict[str, str],
    primary: str,
    *,
    test: SignificanceTest = "wilcoxon",
    alpha: float = DEFAULT_ALPHA,
) -> Table:
    """Tasks × methods (ablations left out), one block per k."""
    methods = order_methods({s.method for s in summaries if not is_ablation(s.method, primary)}, primary)
    return _score_table("main", "Main results", summaries, comparisons, methods, metric_by_task,
                        primary, test, alpha)


def ablation_table(
    summaries: list[Summary],
    comparisons: list[Comparison],
    metric_by_task: dict[str, str],
    primary: str,
    *,
    test: SignificanceTest = "wilcoxon",
    alpha: float = DEFAULT_ALPHA,
) -> Table | None:
    """The primary method next to its ablations; None when the run has no ablation."""
    ablations = {s.method for s in summaries if is_ablation(s.method, primary)}
    if not ablations:
        return None
    methods = order_methods(ablations | {primary}, primary)
    return _score_table("ablation", f"Ablations of {primary}", summaries, comparisons, methods,
                        metric_by_task, primary, test, alpha)


def selection_table(records: Iterable[RunRecord]) -> Table | None:
    """How often each method chose each candidate per (task, k); None when no record names a choice.

    The most frequent candidate of each (method, task, k) is bold. The mean
    score is the candidate's own entry in `candidate_scores`, over the splits
    where it was chosen.
    """
    chosen: dict[tuple[str, str, int], Counter[str]] = defaultdict(Counter)
    scores: dict[tuple[str, str, int, str], list[float]] = defaultdict(list)
    for record in records:
        candidate = record.extra.get("chosen_candidate")
        if candidate is None:
            continue
        key = (record.cell.method, record.cell.task, record.cell.k)
        chosen[key][str(candidate)] += 1
        score = record.extra.get("candidate_scores", {}).get(candidate)
        if score is not None:
            scores[(*key, str(candidate))].append(float(score))
    if not chosen:
        return None

    rows = []
    data_rows = []
    for (method, task, k), counts in sorted(chosen.items()):
        total = sum(counts.values())
        top = max(counts.values())
        for candidate, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            candidate_scores = scores.get((method, task, k, candidate), [])
            mean_score = sum(candidate_scores) / len(candidate_scores) if candidate_scores else None
            share = count / total
            rows.append(
                [
                    Cell(method),
                    Cell(task),
                    Cell(str(k)),
                    Cell(candidate, bold=count == top),
                    Cell(f"{count}/{total}"),
                    Cell(f"{100 * share:.0f}"),
                    Cell(MISSING if mean_score is None else f"{mean_score:.4g}"),
                ]
            )
            data_rows.append({"method": method, "task": task, "k": k, "candidate": candidate, "chosen": count,
                              "splits": total, "share": share, "mean_candidate_score": mean_score})
    return Table(
        name="model_selection",
        title="Model selection",
        columns=["method", "task", "k", "chosen candidate", "times chosen", "share (%)", "mean score"],
        blocks=[("", rows)],
        data=pd.DataFrame(data_rows),
        notes=["Bold marks the candidate chosen most often for a (method, task, k)."],
    )


def to_markdown(table: Table) -> str:
    lines = [f"### {table.title}", ""]
    for label, rows in table.blocks:
        if label:
            lines += [f"**{label}**", ""]
        lines.append("| " + " | ".join(_markdown_escape(c) for c in table.columns) + " |")
        lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
        for row in rows:
            lines.append("| " + " | ".join(_markdown_cell(cell) for cell in row) + " |")
        lines.append("")
    lines += [f"_{note}_  " for note in table.notes]
    return "\n".join(lines).rstrip() + "\n"


def to_latex(table: Table) -> str:
    """Render a booktabs tabular; needs `\\usepackage{booktabs}` in the document."""
    width = len(table.columns)
    lines = [
        f"% {table.title}",
        "\\begin{tabular}{" + "l" * min(width, 2) + "r" * max(width - 2, 0) + "}",
        "\\toprule",
        " & ".join(_latex_escape(c) for c in table.columns) + " \\\\",
    ]
    for label, rows in table.blocks:
        lines.append("\\midrule")
        if label:
            lines.append(f"\\multicolumn{{{width}}}{{l}}{{\\emph{{{_latex_escape(label)}}}}} \\\\")
        for row in rows:
            lines.append(" & ".join(_latex_cell(cell) for cell in row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    lines += [f"% {note}" for note in table.notes]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    return table.data.to_csv(index=False, lineterminator="\n")


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown_cell(cell: Cell) -> str:
    text = _markdown_escape(cell.text)
    if cell.bold:
        text = f"**{text}**"
    if cell.dagger:
        text += DAGGER
    return text


_LATEX_SPECIALS = {
    "\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
    "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
    "±": "$\\pm$", "–": "--",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _latex_cell(cell: Cell) -> str:
    text = _latex_escape(cell.text)
    if cell.bold:
        text = f"\\textbf{{{text}}}"
    if cell.dagger:
        text += "$^{\\dagger}$"
    return text
