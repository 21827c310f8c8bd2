"""Leaderboard ranking, renderings (Markdown, CSV, HTML, plot) and model-index export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from bench.submission import package_run, write_submission
from bench.submission.html_page import render_html
from bench.submission.leaderboard import _average_ranks, build_leaderboard, submission_paths
from bench.submission.model_index import export_model_index
from bench.submission.publish import write_leaderboard
from bench.submission.synthetic import synthetic_registry, synthetic_spec, write_synthetic_run
from bench.submission.tables import escape_markdown, render_csv, render_markdown

XSS_NAME = "<script>alert('x')</script>"


@pytest.fixture
def registry():
    return synthetic_registry()


@pytest.fixture
def spec():
    return synthetic_spec()


def make_submission(tmp_path: Path, registry, method: str, skill: float, file_name: str, **metadata) -> Path:
    run_dir = tmp_path / f"run-{file_name}"
    write_synthetic_run(run_dir, registry, method, skill=skill)
    submission = package_run(run_dir, **metadata)
    return write_submission(submission, tmp_path / "submissions" / file_name)


@pytest.fixture
def submissions(tmp_path, registry) -> Path:
    """Two valid submissions (strong and weak) and one with an edited score."""
    make_submission(tmp_path, registry, "weak", 0.3, "a-weak.json")
    make_submission(tmp_path, registry, "strong", 0.95, "b-strong.json.gz", paper="https://example.org/strong")
    cheat = make_submission(tmp_path, registry, "cheat", 0.3, "c-cheat.json")
    data = json.loads(cheat.read_text(encoding="utf-8"))
    data["cells"][0]["metrics"]["accuracy"] = 1.0
    cheat.write_text(json.dumps(data), encoding="utf-8")
    return tmp_path / "submissions"


def test_ranking_order_and_invalid_listed(submissions, registry, spec):
    board = build_leaderboard(submission_paths(submissions), spec, registry)
    assert [entry.method.name for entry in board.entries] == ["strong", "weak"]
    assert [entry.position for entry in board.entries] == [1, 2]
    assert [entry.average_rank for entry in board.entries] == [1.0, 2.0]
    assert [column.label for column in board.columns] == [
        "bbc-news k=8 (accuracy)",
        "banking77 k=8 (accuracy)",
        "tweet-sentiment k=8 (accuracy)",
        "wnut16 k=8 (f1)",
    ]
    assert [result.source for result in board.invalid] == ["c-cheat.json"]
    assert {problem.code for problem in board.invalid[0].problems} == {"score-mismatch"}


def test_column_score_is_mean_over_splits(submissions, registry, spec):
    board = build_leaderboard(submission_paths(submissions), spec, registry)
    strong = board.entries[0]
    column = board.columns[0]
    submission = package_run(submissions.parent / "run-b-strong.json.gz")
    values = [c.metrics["accuracy"] for c in submission.cells if c.task == "bbc-news"]
    assert len(values) == 3
    assert strong.scores[column] == pytest.approx(sum(values) / 3)


def test_average_ranks_share_ties():
    assert _average_ranks([0.9, 0.5, 0.9]) == [1.5, 3.0, 1.5]
    assert _average_ranks([0.1, 0.2, 0.3]) == [3.0, 2.0, 1.0]


def test_markdown_lists_invalid_with_reason(submissions, registry, spec):
    text = render_markdown(build_leaderboard(submission_paths(submissions), spec, registry))
    ranked, invalid = text.split("## Invalid submissions")
    assert ranked.index("| strong |") < ranked.index("| weak |")
    assert "cheat" not in ranked
    assert "c\\-cheat.json" in invalid
    assert "score\\-mismatch" in invalid


def test_csv_has_one_row_per_valid_submission(submissions, registry, spec):
    rows = list(csv.DictReader(io.StringIO(render_csv(build_leaderboard(submission_paths(submissions), spec, registry)))))
    assert [row["method"] for row in rows] == ["strong", "weak"]
    assert rows[0]["position"] == "1"
    assert rows[0]["paper"] == "https://example.org/strong"
    assert float(rows[1]["average_rank"]) == 2.0


def test_untrusted_strings_escaped(tmp_path, registry, spec):
    directory = make_submission(
        tmp_path, registry, XSS_NAME, 0.9, "x.json", description='"><img src=x onerror=alert(1)>'
    ).parent
    make_submission(tmp_path, registry, "=HYPERLINK(\"http://evil\")", 0.2, "y.json")
    board = build_leaderboard(submission_paths(directory), spec, registry)
    page = render_html(board)

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert XSS_NAME not in page
    assert page.count("<script>") == 1  # the page's own sorting script
    assert "<img src=x" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page

    markdown = render_markdown(board)
    assert "<script>" not in markdown
    assert "\\<script\\>" in markdown

    rows = list(csv.reader(io.StringIO(render_csv(board))))
    assert rows[2][1] == "'=HYPERLINK(\"http://evil\")"


def test_html_is_self_contained(submissions, registry, spec):
    page = render_html(build_leaderboard(submission_paths(submissions), spec, registry), plot_png=b"\x89PNG fake")
    assert re.search(r"<script[^>]+src=", page) is None
    assert "<link" not in page
    assert "http://" not in page
    assert 'src="data:image/png;base64,' in page
    assert "Content-Security-Policy" in page
    assert '<h2>Invalid submissions</h2>' in page
    assert "c-cheat.json" in page


def test_write_leaderboard_files(tmp_path, submissions, registry, spec):
    written = write_leaderboard(build_leaderboard(submission_paths(submissions), spec, registry), tmp_path / "site")
    assert sorted(written) == ["average_rank.png", "index.html", "leaderboard.csv", "leaderboard.md"]
    assert written["average_rank.png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "strong" in written["leaderboard.md"].read_text(encoding="utf-8")


def test_empty_folder_gives_empty_board(tmp_path, registry, spec):
    (tmp_path / "none").mkdir()
    board = build_leaderboard(submission_paths(tmp_path / "none"), spec, registry)
    assert board.entries == []
    assert "No valid submissions." in render_markdown(board)


def test_escape_markdown_folds_newlines():
    assert escape_markdown("a|b\n# c") == "a\\|b \\# c"


# --- model-index export ------------------------------------------------------


def test_model_index_export(tmp_path, registry):
    run_dir = tmp_path / "run"
    write_synthetic_run(run_dir, registry, "protonet", skill=0.7)
    index = yaml.safe_load(export_model_index(run_dir))
    (model,) = index["model-index"]
    assert model["name"] == "protonet"
    assert len(model["results"]) == 4

    ner = next(result for result in model["results"] if result["dataset"]["type"] == "wnut16")
    assert ner["task"] == {"type": "token-classification", "name": "Token Classification"}
    assert ner["dataset"]["args"] == {"k": 8, "splits": [0, 1, 2]}
    metric_types = [metric["type"] for metric in ner["metrics"]]
    assert metric_types == ["f1", "precision", "recall"]

    records = [json.loads(p.read_text()) for p in sorted(run_dir.rglob("records/wnut16/**/*.json"))]
    expected = sum(record["metrics"]["f1"] for record in records) / len(records)
    assert ner["metrics"][0]["value"] == pytest.approx(expected, abs=1e-6)

    sentiment = next(result for result in model["results"] if result["dataset"]["type"] == "tweet-sentiment")
    macro = next(metric for metric in sentiment["metrics"] if metric["name"].startswith("Macro F1"))
    assert macro["type"] == "f1"
    assert macro["args"] == {"average": "macro"}


# --- rendering in a real browser ---------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def _chromium(*arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *arguments,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@needs_chromium
def test_chromium_screenshot(tmp_path, submissions, registry, spec):
    site = write_leaderboard(build_leaderboard(submission_paths(submissions), spec, registry), tmp_path / "site")
    screenshot = tmp_path / "page.png"
    completed = _chromium(f"--screenshot={screenshot}", "--window-size=1200,800", site["index.html"].as_uri())
    assert screenshot.is_file(), completed.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 800)


@needs_chromium
def test_chromium_sorts_table(tmp_path, submissions, registry, spec):
    site = write_leaderboard(build_leaderboard(submission_paths(submissions), spec, registry), tmp_path / "site")
    # Column 2 is the average rank; the script applies `#sort=` on load like a header click.
    completed = _chromium("--dump-dom", site["index.html"].as_uri() + "#sort=2-desc")
    body = completed.stdout.split("<tbody>")[1].split("</tbody>")[0]
    assert body.index(">weak<") < body.index(">strong<")
    assert 'aria-sort="descending"' in completed.stdout

    # Column 1 is the method name, sorted as text.
    completed = _chromium("--dump-dom", site["index.html"].as_uri() + "#sort=1-desc")
    body = completed.stdout.split("<tbody>")[1].split("</tbody>")[0]
    assert body.index(">weak<") < body.index(">strong<")
