"""A self-contained HTML leaderboard page: inline CSS, a small inline sorter, no external resources.

Every text that comes from records or configurations (titles, model names, notes, sources) goes
through :func:`html.escape`. Numeric cells carry their value in ``data-value`` (the mean of a
"mean ± std" cell, empty when missing) so the sorter compares numbers, not strings; missing values
sort last in both directions. Published figures are rows of class ``published``: they sort with
the others but carry no rank.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from recbench.results.leaderboard import TEXT_COLUMNS, Board, Cell, board_cells, published_notes

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
div.scroll { overflow-x: auto; }
table.leaderboard { border-collapse: collapse; font-size: 0.9em; }
table.leaderboard th, table.leaderboard td { border: 1px solid #ccc; padding: 0.25em 0.5em; white-space: nowrap; }
table.leaderboard td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.leaderboard th { background: #f2f2f2; cursor: pointer; user-select: none; }
table.leaderboard th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.leaderboard th[aria-sort="descending"]::after { content: " \\25BC"; }
table.leaderboard tr.published td { font-style: italic; background: #f7f7ff; }
td.notes { white-space: normal; min-width: 20em; }
p.hint, ol.sources, ul.comparisons, div.notes { font-size: 0.9em; }
"""

# Clicking a header sorts by that column: numbers by data-value (descending first), text by its
# content (ascending first); a second click reverses. Missing values stay last either way.
_SCRIPT = """
(function () {
  function key(cell, numeric) {
    if (!numeric) { var t = cell.textContent.trim(); return t === "" || t === "\\u2014" ? null : t; }
    var v = cell.getAttribute("data-value");
    return v === null || v === "" ? null : Number(v);
  }
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-type") === "number";
    var first = numeric ? "descending" : "ascending";
    var order = th.getAttribute("aria-sort") === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var sign = order === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, i: i, k: key(row.cells[index], numeric) };
    });
    rows.sort(function (a, b) {
      if (a.k === null || b.k === null) { return (a.k === null) - (b.k === null) || a.i - b.i; }
      var c = numeric ? a.k - b.k : a.k.localeCompare(b.k);
      return c !== 0 ? sign * c : a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
  }
  document.querySelectorAll("table.leaderboard th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
})();
"""


def _td(cell: Cell, numeric: bool, notes: bool) -> str:
    text = html.escape(cell.text)
    if cell.best:
        text = f"<strong>{text}</strong>"
    if numeric:
        value = "" if cell.value is None else repr(cell.value)
        return f'<td class="num" data-value="{value}">{text}</td>'
    return f'<td class="notes">{text}</td>' if notes else f"<td>{text}</td>"


def board_html(board: Board) -> str:
    """One board: its title, the sortable table, the published sources and comparisons."""
    columns, kinds, rows = board_cells(board)
    numeric = [c not in TEXT_COLUMNS for c in columns]
    head = "".join(f'<th scope="col" data-type="{"number" if n else "text"}">{html.escape(c)}</th>'
                   for c, n in zip(columns, numeric, strict=True))
    body = "\n".join(f'<tr class="{kind}">' + "".join(_td(cell, n, c == "notes")
                                                      for cell, n, c in zip(row, numeric, columns, strict=True)) + "</tr>"
                     for kind, row in zip(kinds, rows, strict=True))
    parts = [f"<section>\n<h2>{html.escape(board.title)}</h2>",
             f'<div class="scroll"><table class="leaderboard">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
             "</tbody>\n</table></div>"]
    lines = published_notes(board)
    if lines:
        sources = len(board.sources())
        parts.append("<p class=\"hint\">Published figures (beside ours; not ranked, not in bold, not in the significance "
                     "tests):</p>")
        parts.append('<ol class="sources">' + "".join(f"<li>{html.escape(s)}</li>" for s in board.sources()) + "</ol>")
        parts.append('<ul class="comparisons">' + "".join(f"<li>{html.escape(t)}</li>" for t in lines[sources:]) + "</ul>")
    return "\n".join(parts) + "\n</section>"


def html_page(groups: Sequence[Board], title: str, notes: str = "") -> str:
    """The whole page: every board, then ``notes`` as plain-text paragraphs (blank-line separated)."""
    sections = "\n".join(board_html(b) for b in groups) or "<p>No records.</p>"
    paragraphs = [p.strip() for p in notes.split("\n\n") if p.strip()]
    notes_html = ('\n<div class="notes">' + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</div>"
                  if paragraphs else "")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n"
            '<p class="hint">Click a column header to sort; click again to reverse. Missing values stay last.</p>\n'
            f"{sections}{notes_html}\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")
