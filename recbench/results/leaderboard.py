"""Leaderboards from run records: pandas aggregation over seeds, tabulate rendering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
from tabulate import tabulate

from recbench.results.record import RunRecord

THROUGHPUT_COLUMNS = {
    "train_examples_per_s": "train ex/s",
    "train_compile_s": "train compile s",
    "eval_users_per_s": "eval users/s",
    "eval_compile_s": "eval compile s",
}


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per record, with flattened metric and throughput columns."""
    rows = []
    for r in records:
        row = {
            "dataset": r.dataset.get("name"),
            "fingerprint": r.dataset.get("fingerprint"),
            "protocol": r.split.get("protocol"),
            "protocol_version": r.split.get("protocol_version"),
            "split_params": str(sorted(r.split.get("params", {}).items())),
            "split_id": r.split.get("split_id"),
            "evaluation": r.evaluation.get("protocol", "full_ranking") if r.status == "ok" else "",
            "model": r.model.get("name"),
            "seed": r.seed,
            "status": r.status,
            "device": r.environment.get("device_kind", "?"),
            "message": r.message,
        }
        row.update({f"m:{k}": v for k, v in r.metrics.items()})
        row.update({f"t:{k}": r.throughput.get(k) for k in THROUGHPUT_COLUMNS})
        rows.append(row)
    return pd.DataFrame(rows)


def _candidates_of(frame: pd.DataFrame) -> dict[str, str]:
    """split_id -> candidate source (empty for full ranking): sampled and full results never mix."""
    out: dict[str, str] = {}
    for split_id, evaluation in zip(frame["split_id"], frame["evaluation"], strict=True):
        if isinstance(evaluation, str) and evaluation.startswith("sampled["):
            out[split_id] = evaluation[len("sampled["):-1]
        else:
            out.setdefault(split_id, "")
    return out


def _mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "—"
    if len(values) == 1:
        return f"{values.iloc[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def leaderboard_tables(records: Iterable[RunRecord], metrics: Sequence[str] | None = None) -> list[tuple[str, pd.DataFrame]]:
    """One table per comparable group (dataset fingerprint, protocol and its parameters).

    Accuracy is mean ± sample std over the ``ok`` seeds; ``n`` counts them and ``runs`` shows how many
    runs were attempted, so a failed seed is visible and never averaged in. Rows are ranked by the
    first metric's mean. Throughput is the median over ok runs, labelled with the device kind.
    """
    frame = records_frame(records)
    if frame.empty:
        return []
    metric_cols = [c for c in frame.columns if c.startswith("m:")]
    if metrics:
        metric_cols = [f"m:{m}" for m in metrics if f"m:{m}" in frame.columns]
    tables = []
    group_keys = ["dataset", "fingerprint", "protocol", "protocol_version", "split_params", "candidates"]
    frame["candidates"] = frame["split_id"].map(_candidates_of(frame))
    for key, group in frame.groupby(group_keys, sort=True, dropna=False):
        dataset, _, protocol, _, params, candidates = key
        rows = []
        for model, runs in group.groupby("model", sort=False):
            ok = runs[runs["status"] == "ok"]
            row = {"model": model, "n": len(ok), "runs": f"{len(ok)}/{len(runs)} ok"}
            for col in metric_cols:
                row[col[2:]] = _mean_std(ok[col]) if col in ok else "—"
                row[f"_sort:{col}"] = ok[col].mean() if col in ok and not ok.empty else float("nan")
            devices = sorted(set(ok["device"])) or ["?"]
            for col, label in THROUGHPUT_COLUMNS.items():
                values = pd.to_numeric(ok[f"t:{col}"], errors="coerce").dropna()
                row[f"{label} ({'/'.join(devices)})"] = _number(values.median()) if not values.empty else "—"
            failures = runs[runs["status"] != "ok"]
            row["notes"] = "; ".join(sorted({f"{s}: {m}"[:80] for s, m in zip(failures["status"], failures["message"])}))
            rows.append(row)
        table = pd.DataFrame(rows)
        if metric_cols:
            table = table.sort_values(f"_sort:{metric_cols[0]}", ascending=False, na_position="last")
        table = table.drop(columns=[c for c in table.columns if c.startswith("_sort:")])
        if not table["notes"].astype(bool).any():
            table = table.drop(columns=["notes"])
        evaluation = f"sampled among {candidates} candidates" if candidates else "full ranking"
        tables.append((f"{dataset} · {protocol} {params} · {evaluation}", table.reset_index(drop=True)))
    return tables


def render(records: Iterable[RunRecord], metrics: Sequence[str] | None = None, tablefmt: str = "github") -> str:
    """Markdown (or any tabulate format) leaderboards, one section per comparable group."""
    parts = []
    for title, table in leaderboard_tables(records, metrics):
        parts.append(f"### {title}\n\n" + tabulate(table, headers="keys", tablefmt=tablefmt, showindex=False,
                                                   disable_numparse=True))
    return "\n\n".join(parts) + ("\n" if parts else "")
