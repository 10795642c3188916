"""Leaderboards from run records: pandas aggregation over seeds, paired significance, tabulate rendering.

Only comparable records share a table: same dataset fingerprint, split protocol (and version and
parameters) and evaluation (full ranking or the same candidate source). Accuracy is mean ± sample std
over seeds; a model with fewer completed seeds than the table's others shows its metrics as missing
(never averaged over a subset). Throughput is the median over runs, per device kind.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tabulate import tabulate

from recbench.errors import DataError
from recbench.results.record import RunRecord
from recbench.results.significance import align, holm, paired_tests

THROUGHPUT_COLUMNS = {
    "train_examples_per_s": "train ex/s",
    "train_compile_s": "train compile s",
    "eval_users_per_s": "eval users/s",
    "eval_compile_s": "eval compile s",
}
FORMATS = ("md", "csv", "json", "html", "latex")
PerUserLoader = Callable[[RunRecord], dict[str, np.ndarray]]


@dataclass
class Board:
    """One comparable group: a title, its numeric table (one row per model) and the ranking metric."""

    title: str
    table: pd.DataFrame
    metrics: list[str]
    main_metric: str | None
    device: str
    higher_is_better: dict[str, bool] = field(default_factory=dict)


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        evaluation = r.evaluation.get("protocol", "full_ranking") if r.status == "ok" else None
        candidates = r.split.get("candidates", {}).get("source", "") if isinstance(r.split.get("candidates"), dict) else ""
        row = {
            "dataset": r.dataset.get("name"), "fingerprint": r.dataset.get("fingerprint"),
            "protocol": r.split.get("protocol"), "protocol_version": r.split.get("protocol_version"),
            "split_params": json.dumps(r.split.get("params", {}), sort_keys=True, default=str),
            "candidates": candidates, "model": r.model.get("name"), "seed": r.seed, "status": r.status,
            "device": r.environment.get("device_kind", "?"), "message": r.message, "run_key": r.run_key,
            "evaluation": evaluation,
        }
        row["config_hash"] = r.model.get("config_hash", "") + ":" + json.dumps(r.model.get("training", {}), sort_keys=True, default=str)
        row.update({f"v:{k}": v for k, v in r.validation.items()})
        row.update({f"m:{k}": v for k, v in r.metrics.items()})
        row.update({f"t:{k}": r.throughput.get(k) for k in THROUGHPUT_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows)


def boards(records: Sequence[RunRecord], metrics: Sequence[str] | None = None,
           per_user: PerUserLoader | None = None) -> list[Board]:
    """Aggregate records into comparable boards, ranked by the first metric, with significance."""
    frame = records_frame(records)
    if frame.empty:
        return []
    by_key = {r.run_key: r for r in records}
    out = []
    keys = ["dataset", "fingerprint", "protocol", "protocol_version", "split_params", "candidates"]
    for key, group in frame.groupby(keys, sort=True, dropna=False):
        dataset, _, protocol, _, params, candidates = key
        names = [c[2:] for c in group.columns if c.startswith("m:") and group[c].notna().any()]
        chosen = [m for m in metrics if m in names] if metrics else sorted(names)
        main = chosen[0] if chosen else None
        higher = _directions(records, group)
        seeds_expected = group.groupby("model")["seed"].nunique().max()
        rows = []
        for model, runs in group.groupby("model", sort=False):
            n_trials = runs["config_hash"].nunique()
            runs = _select_trials(runs, main, higher.get(main, True)) if n_trials > 1 else runs
            ok = runs[runs["status"] == "ok"]
            complete = ok["seed"].nunique() == seeds_expected
            row: dict[str, object] = {"model": model, "n": int(len(ok)), "trials": int(n_trials),
                                      "runs": f"{len(ok)}/{len(runs)} ok"}
            for m in chosen:
                values = pd.to_numeric(ok.get(f"m:{m}"), errors="coerce").dropna() if complete else pd.Series([], dtype=float)
                row[f"{m}"] = values.mean() if len(values) else np.nan
                row[f"{m} std"] = values.std(ddof=1) if len(values) > 1 else np.nan
            for col, label in THROUGHPUT_COLUMNS.items():
                values = pd.to_numeric(ok[f"t:{col}"], errors="coerce").dropna()
                row[label] = values.median() if len(values) and ok["device"].nunique() == 1 else np.nan
            notes = sorted({f"{s}: {m}"[:100] for s, m in zip(runs["status"], runs["message"], strict=True) if s != "ok"})
            if not complete and len(ok):
                notes.insert(0, f"incomplete: {ok['seed'].nunique()}/{seeds_expected} seeds ok, not averaged")
            row["notes"] = "; ".join(notes)
            row["_keys"] = list(ok["run_key"])
            rows.append(row)
        table = pd.DataFrame(rows)
        if main:
            table = table.sort_values(main, ascending=not higher.get(main, True), na_position="last",
                                      kind="stable").reset_index(drop=True)
            _add_significance(table, main, by_key, per_user)
        table = table.drop(columns=["_keys"])
        devices = "/".join(sorted(set(group.loc[group["status"] == "ok", "device"]))) or "?"
        protocols = set(group.loc[group["status"] == "ok", "evaluation"].dropna())
        evaluation = (f"sampled among {candidates} candidates" if candidates
                      else "rating prediction" if protocols == {"rating"} else "full ranking")
        title = f"{dataset} · {' '.join(filter(None, (protocol, _params_text(params))))} · {evaluation}"
        out.append(Board(title, table, chosen, main, devices, higher))
    return out


def _directions(records: Sequence[RunRecord], group: pd.DataFrame) -> dict[str, bool]:
    """metric -> higher is better, as recorded by the runs (default True)."""
    keys = set(group["run_key"])
    out: dict[str, bool] = {}
    for record in records:
        if record.run_key in keys:
            for name, higher in record.evaluation.get("higher_is_better", {}).items():
                out.setdefault(name, bool(higher))
    return out


def _select_trials(runs: pd.DataFrame, main: str | None, higher: bool) -> pd.DataFrame:
    """Per seed, the trial (configuration) with the best *validation* value of ``main``; test
    values are never looked at. Seeds without a validated ok trial keep their failed rows."""
    column = f"v:{main}"
    if main is None or column not in runs:
        return runs.iloc[0:0]
    ok = runs[(runs["status"] == "ok") & runs[column].notna()]
    if ok.empty:
        return runs.drop_duplicates("seed")
    best = ok.sort_values([column, "config_hash"], ascending=[not higher, True], kind="stable").groupby("seed").head(1)
    missing = runs[~runs["seed"].isin(best["seed"])].drop_duplicates("seed")
    return pd.concat([best, missing])


def _params_text(params: str) -> str:
    values = json.loads(params)
    return "(" + ", ".join(f"{k}={v}" for k, v in values.items()) + ")" if values else ""


def _add_significance(table: pd.DataFrame, main: str, by_key: dict[str, RunRecord], per_user: PerUserLoader | None) -> None:
    """p-values of each model against the best (row 0) on paired per-user values, Holm-corrected."""
    table["p (t-test)"] = np.nan
    table["p (Wilcoxon)"] = np.nan
    if per_user is None or table.empty or not np.isfinite(table.loc[0, main]):
        return

    def values(keys: list[str]) -> dict[tuple[int, int], float]:
        out = {}
        for key in keys:
            record = by_key[key]
            try:
                arrays = per_user(record)
            except DataError:  # no per-user values: this model gets no p-value, the table still renders
                return {}
            if main not in arrays:
                return {}
            out.update({(record.seed, int(u)): float(v) for u, v in zip(arrays["users"], arrays[main], strict=True)
                        if np.isfinite(v)})
        return out

    best = values(table.loc[0, "_keys"])
    raw_t, raw_w, rows = [], [], []
    for i in range(1, len(table)):
        if not np.isfinite(table.loc[i, main]):
            continue
        a, b = align(best, values(table.loc[i, "_keys"]))
        if a.size < 2:
            continue
        t_p, w_p = paired_tests(a, b)
        raw_t.append(t_p)
        raw_w.append(w_p)
        rows.append(i)
    for i, t_p, w_p in zip(rows, holm(raw_t), holm(raw_w), strict=True):
        table.loc[i, "p (t-test)"] = t_p
        table.loc[i, "p (Wilcoxon)"] = w_p


def _cell(value: object, column: str, metrics: list[str]) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if column.startswith("p ("):
        return "<1e-16" if value < 1e-16 else f"{value:.2g}"
    if column in metrics or column.endswith(" std"):
        return f"{value:.4f}"
    value = float(value)  # throughput
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def display_table(board: Board, bold: Callable[[str], str]) -> pd.DataFrame:
    """Formatted strings: mean ± std merged, best mean in bold, throughput labelled with the device."""
    table = board.table.copy()
    shown = pd.DataFrame({"rank": range(1, len(table) + 1), "model": table["model"], "n": table["n"]})
    if (table["trials"] > 1).any():
        shown["trials"] = table["trials"]
    for m in board.metrics:
        cells = []
        higher = board.higher_is_better.get(m, True)
        best = (table[m].max() if higher else table[m].min()) if table[m].notna().any() else None
        for mean, std in zip(table[m], table[f"{m} std"], strict=True):
            text = _cell(mean, m, board.metrics)
            if text != "—" and isinstance(std, float) and np.isfinite(std):
                text += f" ± {std:.4f}"
            if best is not None and mean == best:
                text = bold(text)
            cells.append(text)
        shown[m] = cells
    if board.main_metric:
        for col in ("p (t-test)", "p (Wilcoxon)"):
            shown[f"{col} vs best"] = [_cell(v, col, board.metrics) for v in table[col]]
    for label in THROUGHPUT_COLUMNS.values():
        shown[f"{label} ({board.device})"] = [_cell(v, label, board.metrics) for v in table[label]]
    shown["runs"] = table["runs"]
    if table["notes"].astype(bool).any():
        shown["notes"] = table["notes"]
    return shown


def render(records: Sequence[RunRecord], metrics: Sequence[str] | None = None, fmt: str = "md",
           per_user: PerUserLoader | None = None) -> str:
    """The leaderboard in ``fmt``: md, latex, html (tables) or csv, json (numeric data)."""
    groups = boards(records, metrics, per_user)
    if fmt == "csv":
        frames = [b.table.assign(board=b.title) for b in groups]
        return pd.concat(frames).to_csv(index=False) if frames else ""
    if fmt == "json":
        return json.dumps([{"title": b.title, "main_metric": b.main_metric, "device": b.device,
                            "rows": json.loads(b.table.to_json(orient="records"))} for b in groups], indent=1)
    parts = []
    for board in groups:
        if fmt == "latex":
            table = display_table(board, lambda t: "\\textbf{" + t.replace("±", "$\\pm$") + "}")
            parts.append(f"% {board.title}\n" + tabulate(table, headers="keys", tablefmt="latex_raw", showindex=False,
                                                          disable_numparse=True).replace("±", "$\\pm$"))
        elif fmt == "html":
            table = display_table(board, lambda t: t)
            parts.append(_html_table(board.title, table))
        else:
            table = display_table(board, lambda t: f"**{t}**")
            parts.append(f"### {board.title}\n\n" + tabulate(table, headers="keys", tablefmt="github",
                                                           showindex=False, disable_numparse=True))
    return "\n\n".join(parts) + ("\n" if parts else "")


def _html_table(title: str, table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return f"<h3>{html.escape(title)}</h3>\n<table class=\"leaderboard\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
