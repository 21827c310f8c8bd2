"""Markdown and CSV renderings of a leaderboard.

Submission strings are untrusted: Markdown output escapes characters that
would start HTML, links, emphasis or table cells, and CSV output defuses
cells that a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io
import re

from bench.submission.leaderboard import Leaderboard, RankedEntry

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&-])")
# Characters that make Excel, LibreOffice and Google Sheets evaluate a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_markdown(text: str) -> str:
    """Escape Markdown and inline-HTML syntax and fold line breaks into spaces."""
    one_line = " ".join(str(text).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)


def _format_score(value: float) -> str:
    return f"{value:.4f}"


def _parameters(entry: RankedEntry) -> str:
    total = entry.method.total_parameters
    trainable = entry.method.trainable_parameters
    if total is None and trainable is None:
        return ""
    return f"{trainable if trainable is not None else '?'} / {total if total is not None else '?'}"


def render_markdown(board: Leaderboard) -> str:
    """Render the ranked table and the invalid submissions with their problems."""
    spec = board.spec
    lines = [
        f"# Leaderboard: {escape_markdown(spec.name)}",
        "",
        f"Tasks {', '.join(escape_markdown(t) for t in spec.tasks)}; k in {spec.shots}; splits {spec.splits}. "
        "Each column is the ranking metric's mean over splits; submissions are ordered by their "
        "average rank over columns (1 is best).",
        "",
    ]
    header = ["Rank", "Method", "Average rank", *[escape_markdown(c.label) for c in board.columns], "Backbone", "Trainable / total parameters", "Links", "File"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * len(header)) + "|")
    for entry in board.entries:
        links = []
        if entry.method.paper:
            links.append(f"[paper](<{escape_markdown(entry.method.paper)}>)")
        if entry.method.code:
            links.append(f"[code](<{escape_markdown(entry.method.code)}>)")
        row = [
            str(entry.position),
            escape_markdown(entry.method.name),
            f"{entry.average_rank:.2f}",
            *[_format_score(entry.scores[c]) for c in board.columns],
            escape_markdown(entry.method.backbone or ""),
            _parameters(entry),
            " ".join(links),
            escape_markdown(entry.source),
        ]
        lines.append("| " + " | ".join(row) + " |")
    if not board.entries:
        lines.append("")
        lines.append("No valid submissions.")

    lines += ["", "## Invalid submissions", ""]
    if not board.invalid:
        lines.append("None.")
    for result in board.invalid:
        lines.append(f"- {escape_markdown(result.source)}")
        for problem in result.problems:
            lines.append(f"  - {escape_markdown(problem.code)}: {escape_markdown(problem.message)}")
    return "\n".join(lines) + "\n"


def _defuse_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(board: Leaderboard) -> str:
    """Render one row per valid submission: position, method, scores and per-column ranks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "position",
            "method",
            "average_rank",
            *[f"{c.task}/k{c.k}/{c.metric}" for c in board.columns],
            *[f"rank {c.task}/k{c.k}" for c in board.columns],
            "backbone",
            "trainable_parameters",
            "total_parameters",
            "paper",
            "code",
            "file",
        ]
    )
    for entry in board.entries:
        method = entry.method
        writer.writerow(
            [
                entry.position,
                _defuse_formula(method.name),
                f"{entry.average_rank:.4f}",
                *[repr(entry.scores[c]) for c in board.columns],
                *[entry.ranks[c] for c in board.columns],
                _defuse_formula(method.backbone or ""),
                "" if method.trainable_parameters is None else method.trainable_parameters,
                "" if method.total_parameters is None else method.total_parameters,
                _defuse_formula(method.paper or ""),
                _defuse_formula(method.code or ""),
                _defuse_formula(entry.source),
            ]
        )
    return buffer.getvalue()
