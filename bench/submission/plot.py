"""The average-rank bar chart of a leaderboard, as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from bench.submission.leaderboard import Leaderboard  # noqa: E402

MAX_LABEL_CHARS = 40


def _plain_label(text: str) -> str:
    # Escape "$" so that matplotlib draws an untrusted name as text, not mathtext.
    short = text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"
    return short.replace("$", r"\$")


def render_average_rank_plot(board: Leaderboard) -> bytes:
    """Draw one horizontal bar per valid submission, best at the top; return PNG bytes."""
    entries = board.entries
    figure, axes = plt.subplots(figsize=(7, 1.2 + 0.45 * max(len(entries), 1)), dpi=100)
    try:
        labels = [f"{entry.position}. {_plain_label(entry.method.name)}" for entry in entries]
        positions = list(range(len(entries)))
        axes.barh(positions, [entry.average_rank for entry in entries], color="#4c72b0")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel(f"Average rank over {len(board.columns)} task columns (1 is best)")
        axes.set_ylabel("Submission")
        axes.set_title(f"Leaderboard {_plain_label(board.spec.name)}: average rank")
        if entries:
            axes.set_xlim(0, max(len(entries), 1) + 0.5)
        else:
            axes.text(0.5, 0.5, "no valid submissions", ha="center", va="center", transform=axes.transAxes)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
