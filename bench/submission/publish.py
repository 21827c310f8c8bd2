"""Writing a leaderboard's Markdown, CSV, HTML and plot files to one folder."""

from __future__ import annotations

import logging
from pathlib import Path

from bench.submission.html_page import render_html
from bench.submission.leaderboard import Leaderboard
from bench.submission.plot import render_average_rank_plot
from bench.submission.tables import render_csv, render_markdown

logger = logging.getLogger(__name__)

MARKDOWN_FILE = "leaderboard.md"
CSV_FILE = "leaderboard.csv"
HTML_FILE = "index.html"
PLOT_FILE = "average_rank.png"


def write_leaderboard(board: Leaderboard, out_dir: Path) -> dict[str, Path]:
    """Write every rendering into `out_dir`; return the written paths by file name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_png = render_average_rank_plot(board)
    outputs = {
        MARKDOWN_FILE: render_markdown(board).encode("utf-8"),
        CSV_FILE: render_csv(board).encode("utf-8"),
        HTML_FILE: render_html(board, plot_png).encode("utf-8"),
        PLOT_FILE: plot_png,
    }
    written = {}
    for name, data in outputs.items():
        path = out_dir / name
        path.write_bytes(data)
        written[name] = path
    logger.info("wrote leaderboard with %d valid and %d invalid submissions to %s", len(board.entries), len(board.invalid), out_dir)
    return written
