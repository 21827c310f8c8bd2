"""Build a run's report directory from its records: tables, figures, statistics and report.md.

Layout of the output directory:
  report.md           links every table and figure; lists invalid records and skipped items
  reproduction.md     published numbers next to this run's (see bench.report.reproduction)
  tables/<name>.{md,csv,tex}
  figures/<name>.{png,pdf}
  stats/summary.csv, stats/comparisons.csv
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bench.records import RecordError, RunRecord, load_records
from bench.report import plots, stats, tables
from bench.report.reproduction import DEFAULT_PUBLISHED_PATH, PublishedError, load_published, reproduction_table
from bench.report.run_files import load_meta_training_curves, load_run_info, missing_records
from bench.report.scores import primary_metrics, scores_frame
from bench.report.style import PRIMARY_METHOD

logger = logging.getLogger(__name__)

REPORT_DIR_NAME = "report"


class NoValidRecords(ValueError):
    """The run directory has no valid record to report on."""


@dataclass
class ReportResult:
    out_dir: Path
    records: int
    record_errors: list[RecordError]
    # Cells that run.json's grid expects but that have no record file.
    missing: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Item name (table or figure) mapped to why it was not produced.
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def build_report(
    run_dir: Path,
    out_dir: Path | None = None,
    *,
    primary: str = PRIMARY_METHOD,
    published_path: Path = DEFAULT_PUBLISHED_PATH,
    seed: int = stats.DEFAULT_STATS_SEED,
    bootstrap_samples: int = stats.DEFAULT_BOOTSTRAP_SAMPLES,
) -> ReportResult:
    """Write every table and figure for `run_dir` into `out_dir` (default RUN_DIR/report).

    Raises NoValidRecords when the run has no valid record. Invalid records,
    a missing run.json and absent figure data are reported in the result and
    in report.md, and the rest of the report is still written.
    """
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / REPORT_DIR_NAME
    records, errors = load_records(run_dir)
    for error in errors:
        logger.warning("invalid record skipped: %s", error)
    if not records:
        raise NoValidRecords(
            f"{run_dir}: no valid run record under records/ ({len(errors)} invalid); "
            "run `python -m bench run` first or fix the records listed above"
        )

    result = ReportResult(out_dir=out_dir, records=len(records), record_errors=errors)
    run_info, run_info_defect = load_run_info(run_dir)
    if run_info_defect:
        result.warnings.append(run_info_defect)
    result.missing = missing_records(run_dir, run_info, records)
    if primary not in {r.cell.method for r in records}:
        result.warnings.append(f"the primary method {primary!r} has no records, so nothing is compared with it")

    scores = scores_frame(records)
    metric_by_task = primary_metrics(records)
    summaries = stats.summarize(scores, seed=seed, samples=bootstrap_samples)
    comparisons = stats.compare(scores, primary, seed=seed, samples=bootstrap_samples)

    stats_dir = out_dir / "stats"
    stats_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in (("summary", stats.summaries_frame(summaries)),
                        ("comparisons", stats.comparisons_frame(comparisons))):
        path = stats_dir / f"{name}.csv"
        path.write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
        result.files.append(path)

    built_tables = _build_tables(result, summaries, comparisons, metric_by_task, primary, records,
                                 run_info, published_path)
    for table in built_tables:
        result.files.extend(_write_table(table, out_dir / "tables"))

    figures = _build_figures(result, run_dir, scores, summaries, metric_by_task, primary, records)
    for name, figure in figures.items():
        result.files.extend(plots.save_figure(figure, out_dir / "figures", name))

    reproduction = next((t for t in built_tables if t.name == "reproduction"), None)
    if reproduction is not None:
        path = out_dir / "reproduction.md"
        path.write_text(_reproduction_markdown(reproduction), encoding="utf-8")
        result.files.append(path)

    report_path = out_dir / "report.md"
    report_path.write_text(_report_markdown(run_dir, run_info, result, built_tables, list(figures), primary),
                           encoding="utf-8")
    result.files.append(report_path)
    logger.info("report for %s written to %s (%d files)", run_dir, out_dir, len(result.files))
    return result


def _build_tables(result, summaries, comparisons, metric_by_task, primary, records, run_info,
                  published_path) -> list[tables.Table]:
    built = [tables.main_table(summaries, comparisons, metric_by_task, primary)]
    ablation = tables.ablation_table(summaries, comparisons, metric_by_task, primary)
    if ablation is None:
        _skip(result, "ablation table", f"no ablation of {primary} (methods named {primary}-...) in the run")
    else:
        built.append(ablation)
    selection = tables.selection_table(records)
    if selection is None:
        _skip(result, "model-selection table", "no record carries extra['chosen_candidate']")
    else:
        built.append(selection)
    try:
        entries = load_published(published_path)
    except PublishedError as error:
        _skip(result, "reproduction table", str(error))
    else:
        built.append(reproduction_table(entries, summaries, records, run_info))
    return built


def _build_figures(result, run_dir, scores, summaries, metric_by_task, primary, records) -> dict[str, Figure]:
    curves, curve_defects = load_meta_training_curves(run_dir)
    result.warnings.extend(curve_defects)
    builders = {
        "score_vs_k": lambda: plots.score_vs_k(summaries, metric_by_task, primary),
        "paired_scatter": lambda: plots.paired_scatter(scores, metric_by_task, primary),
        "meta_training_curves": lambda: plots.meta_training_curves(curves),
        "candidate_selection": lambda: plots.selection_frequency(records, primary),
    }
    figures = {}
    for name, build in builders.items():
        try:
            figures[name] = build()
        except plots.NoPlotData as reason:
            _skip(result, f"figure {name}", str(reason))
    return figures


def _skip(result: ReportResult, item: str, reason: str) -> None:
    logger.info("skipping %s: %s", item, reason)
    result.skipped[item] = reason


def _write_table(table: tables.Table, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    renderers = {"md": tables.to_markdown, "csv": tables.to_csv, "tex": tables.to_latex}
    paths = []
    for extension, render in renderers.items():
        path = folder / f"{table.name}.{extension}"
        path.write_text(render(table), encoding="utf-8")
        paths.append(path)
    return paths


def _reproduction_markdown(table: tables.Table) -> str:
    return "# Reproduction of published numbers\n\n" + tables.to_markdown(table)


def _run_info_lines(run_dir: Path, run_info: dict[str, Any]) -> list[str]:
    lines = [f"- run directory: `{run_dir}`"]
    for key in ("profile", "root_seed", "tasks", "methods", "shots", "splits", "backbone", "status"):
        if key in run_info:
            lines.append(f"- {key}: {run_info[key]}")
    environment = run_info.get("environment")
    if isinstance(environment, dict):
        lines.append("- environment: " + ", ".join(f"{k} {v}" for k, v in sorted(environment.items())))
    return lines


def _report_markdown(run_dir: Path, run_info: dict[str, Any], result: ReportResult,
                     built_tables: list[tables.Table], figure_names: list[str], primary: str) -> str:
    lines = ["# Benchmark report", "", *_run_info_lines(run_dir, run_info),
             f"- valid records: {result.records}", f"- primary method: {primary}", ""]
    if result.record_errors:
        lines += ["## Invalid records", "", "These files were skipped:", ""]
        lines += [f"- {error}" for error in result.record_errors]
        lines.append("")
    if result.missing:
        lines += ["## Missing records", "", "run.json lists these cells, but the run has no record for them:", ""]
        lines += [f"- {line}" for line in result.missing]
        lines.append("")
    if result.warnings:
        lines += ["## Warnings", ""] + [f"- {warning}" for warning in result.warnings] + [""]

    lines += ["## Tables", ""]
    for table in built_tables:
        if table.name == "reproduction":
            lines += [f"See [reproduction.md](reproduction.md) "
                      f"([CSV](tables/reproduction.csv), [LaTeX](tables/reproduction.tex)).", ""]
            continue
        lines += [tables.to_markdown(table),
                  f"Files: [Markdown](tables/{table.name}.md), [CSV](tables/{table.name}.csv), "
                  f"[LaTeX](tables/{table.name}.tex)", ""]

    lines += ["## Figures", ""]
    for name in figure_names:
        lines += [f"![{name}](figures/{name}.png)", "", f"[PDF](figures/{name}.pdf)", ""]

    if result.skipped:
        lines += ["## Skipped", ""] + [f"- {item}: {reason}" for item, reason in result.skipped.items()] + [""]
    lines += ["## Statistics", "",
              "- [per-cell summary](stats/summary.csv): mean, sd over splits, sd over training seeds, "
              "95 % bootstrap CI over splits",
              f"- [paired comparisons with {primary}](stats/comparisons.csv): paired bootstrap and "
              "Wilcoxon signed-rank p-values, wins/ties/losses", ""]
    return "\n".join(lines)
