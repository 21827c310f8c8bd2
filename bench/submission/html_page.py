"""A single self-contained HTML leaderboard page with a sortable table.

The page loads nothing from elsewhere: CSS and JavaScript are inline and the
plot is embedded as a data URI, so it works offline. Every submission string
is escaped with `html.escape`, links are emitted only for http(s) URLs, and a
Content-Security-Policy allows only the page's own script (by hash), so an
injected `<script>` could not run even if escaping failed.
"""

from __future__ import annotations

import base64
import hashlib
import html
from urllib.parse import urlsplit

from bench.submission.leaderboard import Leaderboard, RankedEntry

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1a1a1a; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
th button { font: inherit; font-weight: bold; background: none; border: none; cursor: pointer; padding: 0; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tbody tr:nth-child(even) { background: #f4f6f8; }
.invalid li { margin: 0.2rem 0; }
code { background: #f0f0f0; padding: 0 0.2rem; }
"""

# Sorts the table by a clicked header. Cells carry their sort key in
# data-value; numeric columns compare as numbers. `#sort=COLUMN-asc|desc` in
# the URL applies a sort on load, which also makes a sorted view linkable.
_SCRIPT = """
(function () {
  var table = document.getElementById("leaderboard");
  if (!table) { return; }
  var headers = table.tHead.rows[0].cells;
  function key(row, column, numeric) {
    var cell = row.cells[column];
    var value = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    return numeric ? parseFloat(value) : value.toLowerCase();
  }
  function sortBy(column, ascending) {
    var numeric = headers[column].getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column, numeric), y = key(b, column, numeric);
      if (x < y) { return ascending ? -1 : 1; }
      if (x > y) { return ascending ? 1 : -1; }
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    headers[column].setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  Array.prototype.forEach.call(headers, function (header, column) {
    header.querySelector("button").addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      sortBy(column, ascending);
      try { history.replaceState(null, "", "#sort=" + column + "-" + (ascending ? "asc" : "desc")); } catch (e) {}
    });
  });
  var match = /^#sort=(\\d+)-(asc|desc)$/.exec(location.hash);
  if (match && Number(match[1]) < headers.length) { sortBy(Number(match[1]), match[2] === "asc"); }
})();
"""


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def _link(label: str, url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return _escape(url)
    return f'<a href="{_escape(url)}" rel="noopener noreferrer nofollow">{_escape(label)}</a>'


def _number_cell(value: float, text: str) -> str:
    return f'<td class="number" data-value="{value!r}">{_escape(text)}</td>'


def _row(board: Leaderboard, entry: RankedEntry) -> str:
    method = entry.method
    cells = [
        _number_cell(entry.position, str(entry.position)),
        f"<td>{_escape(method.name)}</td>",
        _number_cell(entry.average_rank, f"{entry.average_rank:.2f}"),
        *[_number_cell(entry.scores[c], f"{entry.scores[c]:.4f}") for c in board.columns],
        f"<td>{_escape(method.backbone or '')}</td>",
        _number_cell(
            -1 if method.trainable_parameters is None else method.trainable_parameters,
            "" if method.trainable_parameters is None else f"{method.trainable_parameters:,}",
        ),
        f"<td>{' '.join(filter(None, [_link('paper', method.paper), _link('code', method.code)]))}</td>",
        f"<td>{_escape(entry.source)}</td>",
    ]
    description = f' title="{_escape(method.description)}"' if method.description else ""
    return f"<tr{description}>{''.join(cells)}</tr>"


def _header(label: str, numeric: bool) -> str:
    kind = ' data-type="number"' if numeric else ""
    return f'<th scope="col"{kind}><button type="button">{_escape(label)}</button></th>'


def _invalid_section(board: Leaderboard) -> str:
    if not board.invalid:
        return "<p>None.</p>"
    items = []
    for result in board.invalid:
        problems = "".join(
            f"<li><code>{_escape(problem.code)}</code> {_escape(problem.message)}</li>" for problem in result.problems
        )
        items.append(f"<li><strong>{_escape(result.source)}</strong><ul>{problems}</ul></li>")
    return f'<ul class="invalid">{"".join(items)}</ul>'


def render_html(board: Leaderboard, plot_png: bytes | None = None) -> str:
    """Render the leaderboard page; `plot_png` is embedded as an image when given."""
    spec = board.spec
    headers = [
        _header("Rank", True),
        _header("Method", False),
        _header("Average rank", True),
        *[_header(c.label, True) for c in board.columns],
        _header("Backbone", False),
        _header("Trainable parameters", True),
        _header("Links", False),
        _header("File", False),
    ]
    rows = "\n".join(_row(board, entry) for entry in board.entries)
    empty = "" if board.entries else "<p>No valid submissions.</p>"
    plot = ""
    if plot_png:
        encoded = base64.b64encode(plot_png).decode("ascii")
        plot = f'<h2>Average rank</h2><img alt="Average rank per submission" src="data:image/png;base64,{encoded}">'

    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    policy = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    summary = (
        f"Tasks {', '.join(_escape(t) for t in spec.tasks)}; k in {_escape(spec.shots)}; splits {_escape(spec.splits)}. "
        "Scores are the ranking metric's mean over splits; rank 1 is best. Click a column header to sort."
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>Leaderboard: {_escape(spec.name)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Leaderboard: {_escape(spec.name)}</h1>
<p>{summary}</p>
<table id="leaderboard">
<thead><tr>{''.join(headers)}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{empty}
{plot}
<h2>Invalid submissions</h2>
{_invalid_section(board)}
<script>{_SCRIPT}</script>
</body>
</html>
"""
