"""Statistics, tables, figures and the report command, on synthetic run records."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import make_record, write_synthetic_run

from bench.cli import main
from bench.records import write_record
from bench.report import stats, tables
from bench.report.build import NoValidRecords, build_report
from bench.report.reproduction import PublishedError, load_published, reproduction_table
from bench.report.scores import scores_frame
from bench.report.style import method_colour, order_methods

SAMPLES = 2000


def frame_of(values_by_method: dict[str, list[float]], task: str = "bbc-news", k: int = 4) -> pd.DataFrame:
    rows = [
        {"task": task, "k": k, "split": split, "train_seed": 0, "method": method, "metric": "accuracy", "value": v}
        for method, values in values_by_method.items()
        for split, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_summary_mean_sd_and_ci():
    (summary,) = stats.summarize(frame_of({"m": [0.5, 0.7, 0.9]}), samples=SAMPLES)
    assert summary.mean == pytest.approx(0.7)
    assert summary.sd_split == pytest.approx(0.2)
    assert summary.n_splits == 3
    assert summary.sd_seed is None
    assert 0.5 <= summary.ci_low <= 0.7 <= summary.ci_high <= 0.9
    assert summary.ci_low < summary.ci_high


def test_summary_single_split():
    (summary,) = stats.summarize(frame_of({"m": [0.6]}), samples=SAMPLES)
    assert summary.mean == pytest.approx(0.6)
    assert math.isnan(summary.sd_split)
    assert (summary.ci_low, summary.ci_high) == (0.6, 0.6)


def test_summary_separates_seed_spread():
    frame = pd.DataFrame(
        [
            {"task": "t", "k": 4, "split": split, "train_seed": seed, "method": "m", "metric": "accuracy", "value": v}
            for split, seed, v in [(0, 0, 0.6), (0, 1, 0.8), (1, 0, 0.7), (1, 1, 0.9)]
        ]
    )
    (summary,) = stats.summarize(frame, samples=SAMPLES)
    assert summary.mean == pytest.approx(0.75)
    assert summary.n_splits == 2
    assert summary.seeds_per_split == 2
    # Split means are 0.7 and 0.8, and the within-split sd is 0.1414 in both splits.
    assert summary.sd_split == pytest.approx(math.sqrt(0.005))
    assert summary.sd_seed == pytest.approx(math.sqrt(0.02))


def test_summary_is_deterministic():
    frame = frame_of({"m": [0.1, 0.5, 0.2, 0.9]})
    assert stats.summarize(frame, seed=3, samples=SAMPLES) == stats.summarize(frame, seed=3, samples=SAMPLES)


def test_compare_identical_scores():
    frame = frame_of({"meta-erasure": [0.5, 0.6, 0.7], "finetune": [0.5, 0.6, 0.7]})
    (comparison,) = stats.compare(frame, "meta-erasure", samples=SAMPLES)
    assert comparison.p_bootstrap == 1.0
    assert comparison.p_wilcoxon == 1.0
    assert (comparison.wins, comparison.ties, comparison.losses) == (0, 3, 0)
    assert comparison.mean_difference == 0.0


def test_compare_win_tie_loss():
    frame = frame_of({"meta-erasure": [0.5, 0.6, 0.7, 0.8], "finetune": [0.4, 0.6, 0.9, 0.6]})
    (comparison,) = stats.compare(frame, "meta-erasure", samples=SAMPLES)
    assert (comparison.wins, comparison.ties, comparison.losses) == (2, 1, 1)
    assert comparison.mean_difference == pytest.approx(0.025)
    assert comparison.n_pairs == 4


def test_compare_wilcoxon_exact_p():
    frame = frame_of({"meta-erasure": [0.9] * 6, "finetune": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    (comparison,) = stats.compare(frame, "meta-erasure", samples=SAMPLES)
    assert comparison.p_wilcoxon == pytest.approx(2 / 64)
    assert comparison.wins == 6
    assert comparison.p_bootstrap < 0.05


def test_compare_pairs_shared_splits_only():
    frame = frame_of({"meta-erasure": [0.5, 0.6, 0.7], "finetune": [0.4, 0.5]})
    (comparison,) = stats.compare(frame, "meta-erasure", samples=SAMPLES)
    assert comparison.n_pairs == 2
    assert comparison.mean_difference == pytest.approx(0.1)


@pytest.fixture
def synthetic_run(tmp_path: Path):
    run_dir = tmp_path / "run"
    records = write_synthetic_run(run_dir)
    return run_dir, records


def built_tables(records):
    frame = scores_frame(records)
    summaries = stats.summarize(frame, samples=SAMPLES)
    comparisons = stats.compare(frame, "meta-erasure", samples=SAMPLES)
    metric_by_task = {"bbc-news": "accuracy", "wnut16": "f1"}
    return summaries, comparisons, metric_by_task


def test_main_table_bold_and_dagger(synthetic_run):
    _, records = synthetic_run
    summaries, comparisons, metric_by_task = built_tables(records)
    table = tables.main_table(summaries, comparisons, metric_by_task, "meta-erasure")
    markdown = tables.to_markdown(table)
    assert table.columns == ["task", "metric", "meta-erasure", "finetune", "protonet"]
    # k = 4, bbc-news: meta-erasure and protonet tie at 89.0; finetune loses on all six splits.
    assert "| bbc-news | accuracy | **89.0 ± 3.7** | 69.0 ± 3.7† | **89.0 ± 3.7** |" in markdown
    assert "| wnut16 | f1 | 46.0 ± 2.0 | **56.0 ± 2.0** | – |" in markdown
    assert "meta-erasure-no-erasure" not in markdown


def test_main_table_latex_and_csv(synthetic_run):
    _, records = synthetic_run
    summaries, comparisons, metric_by_task = built_tables(records)
    table = tables.main_table(summaries, comparisons, metric_by_task, "meta-erasure")
    latex = tables.to_latex(table)
    assert "\\toprule" in latex
    assert "\\textbf{89.0 $\\pm$ 3.7}" in latex
    assert "69.0 $\\pm$ 3.7$^{\\dagger}$" in latex
    csv = pd.read_csv(pd.io.common.StringIO(tables.to_csv(table)))
    best = csv[(csv.k == 4) & (csv.task == "bbc-news") & csv.best]
    assert sorted(best.method) == ["meta-erasure", "protonet"]


def test_ablation_and_selection_tables(synthetic_run):
    _, records = synthetic_run
    summaries, comparisons, metric_by_task = built_tables(records)
    ablation = tables.ablation_table(summaries, comparisons, metric_by_task, "meta-erasure")
    assert ablation.columns[2:] == ["meta-erasure", "meta-erasure-no-erasure"]
    selection = tables.selection_table(records)
    markdown = tables.to_markdown(selection)
    assert "| meta-erasure | bbc-news | 4 | **erase-top** | 4/6 | 67 | 0.7 |" in markdown
    assert "| meta-erasure | bbc-news | 4 | erase-bottom | 2/6 | 33 | 0.6 |" in markdown


def test_ablation_table_absent_without_ablations(synthetic_run):
    _, records = synthetic_run
    plain = [r for r in records if r.cell.method in ("meta-erasure", "finetune")]
    summaries, comparisons, metric_by_task = built_tables(plain)
    assert tables.ablation_table(summaries, comparisons, metric_by_task, "meta-erasure") is None


def test_method_order_and_colours():
    order = order_methods({"setfit", "zeta", "meta-erasure-random", "finetune", "meta-erasure"}, "meta-erasure")
    assert order == ["meta-erasure", "meta-erasure-random", "finetune", "setfit", "zeta"]
    assert method_colour("finetune") == "#1f77b4"
    assert method_colour("zeta") == method_colour("zeta")
    assert method_colour("meta-erasure") != method_colour("finetune")


EXPECTED_FILES = [
    "report.md",
    "reproduction.md",
    "stats/summary.csv",
    "stats/comparisons.csv",
    *[f"tables/{name}.{ext}" for name in ("main", "ablation", "model_selection", "reproduction")
      for ext in ("md", "csv", "tex")],
    *[f"figures/{name}.{ext}" for name in ("score_vs_k", "paired_scatter", "meta_training_curves",
                                            "candidate_selection") for ext in ("png", "pdf")],
]


def test_report_writes_every_file(synthetic_run):
    run_dir, _ = synthetic_run
    result = build_report(run_dir, bootstrap_samples=SAMPLES)
    out = run_dir / "report"
    for name in EXPECTED_FILES:
        path = out / name
        assert path.is_file(), name
        assert path.stat().st_size > 0, name
    assert (out / "figures/score_vs_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures/score_vs_k.pdf").read_bytes()[:5] == b"%PDF-"
    assert result.skipped == {}
    report = (out / "report.md").read_text()
    assert "![paired_scatter](figures/paired_scatter.png)" in report
    assert "[reproduction.md](reproduction.md)" in report


def test_report_names_invalid_record(synthetic_run):
    run_dir, _ = synthetic_run
    broken = run_dir / "records" / "bbc-news" / "k4" / "split0" / "finetune.json"
    broken.write_text("{not json", encoding="utf-8")
    result = build_report(run_dir, bootstrap_samples=SAMPLES)
    assert len(result.record_errors) == 1
    assert str(broken) in str(result.record_errors[0])
    assert str(broken) in (run_dir / "report" / "report.md").read_text()


def test_report_skips_figures_without_data(tmp_path):
    run_dir = tmp_path / "run"
    for split, value in enumerate([0.5, 0.6]):
        write_record(run_dir, make_record("bbc-news", 4, split, "finetune", {"accuracy": value}))
    result = build_report(run_dir, bootstrap_samples=SAMPLES)
    assert "figure meta_training_curves" in result.skipped
    assert "figure candidate_selection" in result.skipped
    assert "no records of the primary method" in result.skipped["figure paired_scatter"]
    assert (run_dir / "report" / "figures" / "score_vs_k.png").is_file()
    assert not (run_dir / "report" / "figures" / "paired_scatter.png").exists()
    assert "## Skipped" in (run_dir / "report" / "report.md").read_text()


def test_report_without_valid_records(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "records").mkdir(parents=True)
    with pytest.raises(NoValidRecords, match="no valid run record"):
        build_report(run_dir)


def test_report_cli_exit_codes(synthetic_run, tmp_path, capsys):
    run_dir, _ = synthetic_run
    out = tmp_path / "out"
    assert main(["report", str(run_dir), "--out", str(out), "--bootstrap-samples", "200"]) == 0
    assert (out / "report.md").is_file()
    empty = tmp_path / "empty"
    (empty / "records").mkdir(parents=True)
    assert main(["report", str(empty)]) == 1
    assert "no valid run record" in capsys.readouterr().out


def test_published_file_loads():
    entries = load_published()
    assert {(e.task, e.k, e.value) for e in entries} == {
        ("cr", 8, 71.6), ("sst5", 8, 29.8), ("huffpost", 1, 41.9), ("huffpost", 5, 62.8)
    }


def test_published_file_rejects_unknown_key(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text("schema_version: 1\nentries: []\nextra_key: 1\n")
    with pytest.raises(PublishedError, match="extra_key"):
        load_published(path)


def test_reproduction_table_marks_protocol_differences():
    records = [make_record("cr", 8, split, "setfit", {"accuracy": value})
               for split, value in enumerate([0.70, 0.74])]
    summaries = stats.summarize(scores_frame(records), samples=SAMPLES)
    entries = [e for e in load_published() if e.task == "cr"]
    table = reproduction_table(entries, summaries, records, {"root_seed": 13})
    row = table.data[table.data.method == "setfit"].iloc[0]
    assert row.value == pytest.approx(72.0)
    assert "splits: published 10" in row.protocol_differences
    assert "here 2 sampled by this suite from root seed 13" in row.protocol_differences
    assert "test set: published" in row.protocol_differences
    # The records name the same backbone as SetFit, so no backbone difference is listed.
    assert "backbone" not in row.protocol_differences
    assert "+0.4" in tables.to_markdown(table)


def test_report_cli_defaults_match_stats():
    from bench.cli import report_cmd

    assert report_cmd.DEFAULT_BOOTSTRAP_SAMPLES == stats.DEFAULT_BOOTSTRAP_SAMPLES
    assert report_cmd.DEFAULT_STATS_SEED == stats.DEFAULT_STATS_SEED


def test_report_names_missing_record(tmp_path):
    run_dir = tmp_path / "run"
    write_record(run_dir, make_record("bbc-news", 4, 0, "finetune", {"accuracy": 0.5}))
    run_info = {
        "profile": "test", "tasks": ["bbc-news"], "shots": [4], "splits": [0, 1], "methods": ["finetune"],
        "failed": [{"cell": {"task": "bbc-news", "k": 4, "split": 1, "method": "finetune"}, "reason": "out of memory"}],
    }
    (run_dir / "run.json").write_text(json.dumps(run_info))
    result = build_report(run_dir, bootstrap_samples=SAMPLES)
    expected = f"{run_dir / 'records/bbc-news/k4/split1/finetune.json'}: missing (out of memory)"
    assert result.missing == [expected]
    assert expected in (run_dir / "report" / "report.md").read_text()
