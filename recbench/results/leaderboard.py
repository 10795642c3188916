"""Leaderboards from run records: pandas aggregation over seeds, paired significance, tabulate rendering.

Only comparable records share a table: same dataset fingerprint, split protocol (and version and
parameters), evaluation (full ranking or the same candidate source; the same ``cold_start`` setting) and
metric versions. Within a table, runs of different versions of a model are different rows. Boards whose
titles would be the same (one dataset name with other settings) are told apart by the settings that
differ. Accuracy is mean ± sample std over seeds; a model with fewer completed seeds than the table's
others shows its metrics as missing (never averaged over a subset), and several configurations of a
model are chosen among on validation, or not at all (the row says so). A row whose training was cut by its
time budget says so in its notes (its figures depend on the machine's speed). Throughput is the median
over runs, per device kind.

Published figures (``[[published]]`` in a leaderboard's TOML) are shown as marked rows beside ours,
with their sources under the table; they are never ranked, bolded or tested, and each one compared
with one of our models says whether ours differs by more than the seed spread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tabulate import tabulate

from recbench.config import PublishedFigure
from recbench.errors import DataError
from recbench.results.comparability import cold_start_of, metric_versions_of, metric_versions_seen
from recbench.results.record import RunRecord
from recbench.results.rows import RowNames
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
    dataset: str = ""
    published: list[PublishedFigure] = field(default_factory=list)

    def sources(self) -> list[str]:
        """The distinct sources of the published figures, in order; reference ``[i]`` is ``sources()[i - 1]``."""
        return list(dict.fromkeys(f.source for f in self.published))


#: What makes records comparable: one board per distinct value of these (see :func:`records_frame`).
BOARD_KEYS = ["dataset", "fingerprint", "protocol", "protocol_version", "split_params", "candidates", "cold_start",
              "metric_versions"]


def records_frame(records: Iterable[RunRecord], rows: RowNames | None = None,
                  metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One line per record: its comparability keys (:data:`BOARD_KEYS`; the versions of those of
    ``metrics`` (all when None) recorded with several versions among ``records``), row (:meth:`RowNames.row`; the model name without ``rows``) and model version, the
    dataset entry's settings, seed, status, and ``v:``/``m:``/``t:`` validation, test and throughput columns."""
    rows = rows if rows is not None else RowNames()
    records = list(records)
    differing = _metrics_of_several_versions(records, metrics)
    lines = []
    for r in records:
        evaluation = r.evaluation.get("protocol", "full_ranking") if r.status == "ok" else None
        candidates = r.split.get("candidates", {}).get("source", "") if isinstance(r.split.get("candidates"), dict) else ""
        row = {
            "dataset": r.dataset.get("name"), "fingerprint": r.dataset.get("fingerprint"),
            "protocol": r.split.get("protocol"), "protocol_version": r.split.get("protocol_version"),
            "split_params": json.dumps(r.split.get("params", {}), sort_keys=True, default=str),
            "candidates": candidates, "cold_start": cold_start_of(r), "metric_versions": _metric_versions(r, differing),
            "dataset_version": str(r.dataset.get("version")),
            "dataset_params": _arguments(r.dataset.get("params", {})) or "none",
            "preprocessing": _preprocessing_text(r.dataset.get("preprocessing", [])),
            "model": rows.row(r), "model_version": r.model.get("version"), "seed": r.seed, "status": r.status,
            "device": r.environment.get("device_kind", "?"), "message": r.message, "run_key": r.run_key,
            "evaluation": evaluation, "stopped_by": r.training.get("stopped_by"), "epochs": r.training.get("epochs"),
            "time_budget_s": r.model.get("training", {}).get("time_budget_s"),
        }
        row["config_hash"] = r.model.get("config_hash", "") + ":" + json.dumps(r.model.get("training", {}), sort_keys=True, default=str)
        row.update({f"v:{k}": v for k, v in r.validation.items()})
        row.update({f"m:{k}": v for k, v in r.metrics.items()})
        row.update({f"t:{k}": r.throughput.get(k) for k in (*THROUGHPUT_COLUMNS, "train_compile_cached")})
        lines.append(row)
    return pd.DataFrame(lines)


def _metrics_of_several_versions(records: Sequence[RunRecord], metrics: Sequence[str] | None) -> set[str]:
    """The metrics (of ``metrics``, all when None) recorded with more than one version among ``records``."""
    return {name for name, versions in metric_versions_seen(records, metrics).items() if len(versions) > 1}


def _metric_versions(record: RunRecord, differing: set[str]) -> str:
    """The run's versions of the metrics in ``differing`` as JSON: runs whose definitions of a metric
    differ are never compared, while runs that merely computed other metrics still share a board."""
    versions = metric_versions_of(record)
    return json.dumps({name: versions[name] for name in sorted(differing & set(versions))})


def _preprocessing_text(reports: Sequence[dict]) -> str:
    """The steps the run's data went through, e.g. ``kcore(users=5, items=5)``; ``none`` for none."""
    return " + ".join(str(report.get("step")) + (_arguments(report.get("params", {})) or "()")
                      for report in reports) or "none"


def boards(records: Sequence[RunRecord], metrics: Sequence[str] | None = None,
           per_user: PerUserLoader | None = None, published: Sequence[PublishedFigure] = (),
           rows: RowNames | None = None) -> list[Board]:
    """Aggregate records into comparable boards, ranked by the first metric, with significance.

    Each published figure joins the boards of its ``dataset`` (every board when it names none).
    ``rows`` (a sweep's :func:`recbench.run_keys.row_names`) give labelled ``[[models]]`` entries their
    own rows; without it each record's row is its model name.
    """
    frame = records_frame(records, rows, metrics)
    if frame.empty:
        return []
    frame["cold_start"] = _cold_start_of_failed_runs(frame)
    groups = [(dict(zip(BOARD_KEYS, key, strict=True)), _rows_by_model_version(group))
              for key, group in frame.groupby(BOARD_KEYS, sort=True, dropna=False)]
    titles = _distinct_titles([_title(key, group) for key, group in groups], [_settings(group) for _, group in groups])
    by_key = {r.run_key: r for r in records}
    return [_board(title, group, records, metrics, by_key, per_user, published)
            for title, (_, group) in zip(titles, groups, strict=True)]


def _cold_start_of_failed_runs(frame: pd.DataFrame) -> pd.Series:
    """``cold_start`` with each failed run's (unrecorded) setting taken from its comparable ok runs when they
    all have one; when they have both (or none ran), it stays None and the run is shown on a board of its own."""
    others = [k for k in BOARD_KEYS if k != "cold_start"]
    settings = frame.groupby(others, dropna=False)["cold_start"].transform(
        lambda values: values.dropna().iloc[0] if values.dropna().nunique() == 1 else None)
    return frame["cold_start"].where(frame["cold_start"].notna(), settings)


def _rows_by_model_version(group: pd.DataFrame) -> pd.DataFrame:
    """``group`` with each row whose runs come from several versions of its model split into one row per
    version, named ``ROW (version V)``: a changed model is never averaged with its former self."""
    versions = group.groupby("model")["model_version"].transform(lambda values: values.nunique(dropna=False))
    named = group["model"] + " (version " + group["model_version"].map(str) + ")"
    return group.assign(model=group["model"].where(versions == 1, named))


def _title(key: dict[str, object], group: pd.DataFrame) -> str:
    """``dataset · protocol (params) · evaluation``, the evaluation saying how cold-start rows were treated
    unless they were included (the default)."""
    protocols = set(group.loc[group["status"] == "ok", "evaluation"].dropna())
    evaluation = (f"sampled among {key['candidates']} candidates" if key["candidates"]
                  else "rating prediction" if protocols == {"rating"} else "full ranking")
    cold = {"include": "", "exclude": ", cold-start rows excluded"}.get(key["cold_start"], ", cold start not recorded")
    split = " ".join(filter(None, (str(key["protocol"] or ""), _params_text(str(key["split_params"])))))
    return f"{key['dataset']} · {split} · {evaluation}{cold}"


def _settings(group: pd.DataFrame) -> dict[str, str]:
    """What besides its title may set a board apart, as text: the dataset entry's settings, the versions of
    the protocol and metrics, and last the data's fingerprint."""
    def values(column: str) -> str:
        return " / ".join(sorted(set(group[column].map(str))))  # astype(str) turns None into NaN (pandas 3)

    return {"dataset version": values("dataset_version"), "dataset": values("dataset_params"),
            "preprocessing": values("preprocessing"), "protocol version": values("protocol_version"),
            "metric versions": _arguments(json.loads(group["metric_versions"].iloc[0])) or "none",
            "data": str(group["fingerprint"].iloc[0])[:12]}


def _distinct_titles(titles: list[str], settings: list[dict[str, str]]) -> list[str]:
    """The titles, each board sharing its title with another followed by the settings that tell them apart;
    by the data's fingerprint only when no other setting does."""
    titles = _told_apart(titles, [{k: v for k, v in s.items() if k != "data"} for s in settings])
    return _told_apart(titles, [{"data": s["data"]} for s in settings])


def _told_apart(titles: list[str], settings: list[dict[str, str]]) -> list[str]:
    """Each title followed by ``· NAME VALUE`` for its settings that differ among the boards of that title."""
    out = []
    for title, own in zip(titles, settings, strict=True):
        rivals = [s for t, s in zip(titles, settings, strict=True) if t == title]
        out.append(title + "".join(f" · {k} {v}" for k, v in own.items() if len({s[k] for s in rivals}) > 1))
    return out


def _board(title: str, group: pd.DataFrame, records: Sequence[RunRecord], metrics: Sequence[str] | None,
           by_key: dict[str, RunRecord], per_user: PerUserLoader | None,
           published: Sequence[PublishedFigure]) -> Board:
    """One board: a row per model of ``group`` (comparable records), ranked by the first metric."""
    names = [c[2:] for c in group.columns if c.startswith("m:") and group[c].notna().any()]
    chosen = [m for m in metrics if m in names] if metrics else sorted(names)
    main = chosen[0] if chosen else None
    higher = _directions(records, group)
    seeds_expected = group.groupby("model")["seed"].nunique().max()
    table = pd.DataFrame([_row(str(model), runs, chosen, main, higher.get(main, True), seeds_expected)
                          for model, runs in group.groupby("model", sort=False)])
    if main:
        table = table.sort_values(main, ascending=not higher.get(main, True), na_position="last",
                                  kind="stable").reset_index(drop=True)
        _add_significance(table, main, by_key, per_user)
    table = table.drop(columns=["_keys"])
    devices = "/".join(sorted(set(group.loc[group["status"] == "ok", "device"]))) or "?"
    dataset = group["dataset"].iloc[0]
    figures = [f for f in published if f.dataset in (None, dataset) and set(f.metrics) & set(chosen)]
    return Board(title, table, chosen, main, devices, higher, str(dataset), figures)


def _row(model: str, runs: pd.DataFrame, metrics: list[str], main: str | None, higher: bool,
         seeds_expected: int) -> dict[str, object]:
    """A model's row: mean and std over its seeds of each metric, throughput medians, runs and notes.

    Several configurations (trials) are chosen among per seed on validation; without a validation value
    to choose by, the row shows no value and says why.
    """
    n_trials = runs["config_hash"].nunique()
    selected = runs if n_trials == 1 else _select_trials(runs, main, higher)
    shown = runs if selected is None else selected  # without a choice: every run shown, none averaged
    ran_ok = shown[shown["status"] == "ok"]
    ok = ran_ok if selected is not None else ran_ok.iloc[0:0]
    complete = ok["seed"].nunique() == seeds_expected
    row: dict[str, object] = {"model": model, "n": int(len(ok)), "trials": int(n_trials),
                              "runs": f"{len(ran_ok)}/{len(shown)} ok", **_figures(ok, metrics, complete)}
    notes = sorted({f"{s}: {m}"[:100] for s, m in zip(shown["status"], shown["message"], strict=True) if s != "ok"})
    if selected is None:
        notes.insert(0, f"{model}: {n_trials} configurations and no validation {main or 'metric'} to choose among "
                        "them, none shown (give the split a validation part, or each entry a label)")
    elif not complete and len(ok):
        notes.insert(0, f"incomplete: {ok['seed'].nunique()}/{seeds_expected} seeds ok, not averaged")
    budget = _time_budget_note(ok)
    if budget:
        notes.append(budget)
    row["notes"] = "; ".join(notes)
    row["_keys"] = list(ok["run_key"])
    return row


def _time_budget_note(ok: pd.DataFrame) -> str:
    """``stopped by its 150 s time budget in 2/3 runs (9-14 epochs)`` when training of some of ``ok`` was cut
    by its time budget (their figures then depend on the machine's speed); empty when none was."""
    cut = ok[ok["stopped_by"] == "time_budget"]
    if cut.empty:
        return ""
    budgets = sorted({float(b) for b in cut["time_budget_s"] if b is not None and np.isfinite(float(b))})
    budget = f"its {' / '.join(f'{b:g}' for b in budgets)} s time budget" if budgets else "its time budget"
    epochs = sorted({int(e) for e in pd.to_numeric(cut["epochs"], errors="coerce").dropna()})
    span = ("" if not epochs else f" ({epochs[0]} epoch{'s' if epochs[0] != 1 else ''})" if len(epochs) == 1
            else f" ({epochs[0]}-{epochs[-1]} epochs)")
    return f"stopped by {budget} in {len(cut)}/{len(ok)} runs{span}"


def _figures(ok: pd.DataFrame, metrics: list[str], complete: bool) -> dict[str, float]:
    """Mean and std over ``ok``'s seeds of each metric (missing unless ``complete``) and the median of each
    throughput column (missing unless the runs share one device kind)."""
    out = {}
    for m in metrics:
        values = pd.to_numeric(ok.get(f"m:{m}"), errors="coerce").dropna() if complete else pd.Series([], dtype=float)
        out[f"{m}"] = values.mean() if len(values) else np.nan
        out[f"{m} std"] = values.std(ddof=1) if len(values) > 1 else np.nan
    for col, label in THROUGHPUT_COLUMNS.items():
        values = pd.to_numeric(_runs_for(ok, col)[f"t:{col}"], errors="coerce").dropna()
        out[label] = values.median() if len(values) and ok["device"].nunique() == 1 else np.nan
    return out


def _runs_for(ok: pd.DataFrame, column: str) -> pd.DataFrame:
    """The runs a throughput column is taken from: for the compile time, those that compiled (a run
    whose epoch came from the process's cache of compiled epochs only traced and lowered it)."""
    if column != "train_compile_s" or "t:train_compile_cached" not in ok:
        return ok
    compiled = ok[ok["t:train_compile_cached"].map(lambda cached: cached is not True)]
    return compiled if len(compiled) else ok


def _directions(records: Sequence[RunRecord], group: pd.DataFrame) -> dict[str, bool]:
    """metric -> higher is better, as recorded by the runs (default True)."""
    keys = set(group["run_key"])
    out: dict[str, bool] = {}
    for record in records:
        if record.run_key in keys:
            for name, higher in record.evaluation.get("higher_is_better", {}).items():
                out.setdefault(name, bool(higher))
    return out


def _select_trials(runs: pd.DataFrame, main: str | None, higher: bool) -> pd.DataFrame | None:
    """Per seed, the trial (configuration) with the best *validation* value of ``main``; test values are
    never looked at. Seeds without a validated ok trial keep their failed rows (an ok trial that was not
    validated is never picked). None when ok trials exist but none has a validation value to choose by."""
    column = f"v:{main}"
    ok = runs[runs["status"] == "ok"]
    validated = ok[ok[column].notna()] if main is not None and column in runs else ok.iloc[0:0]
    if validated.empty:
        return None if len(ok) else runs.drop_duplicates("seed")
    best = validated.sort_values([column, "config_hash"], ascending=[not higher, True], kind="stable").groupby("seed").head(1)
    failed = runs[~runs["seed"].isin(best["seed"]) & (runs["status"] != "ok")].drop_duplicates("seed")
    return pd.concat([best, failed])


def _arguments(values: Mapping[str, object]) -> str:
    """``(k=v, ...)``; empty for no values."""
    return "(" + ", ".join(f"{k}={v}" for k, v in values.items()) + ")" if values else ""


def _params_text(params: str) -> str:
    return _arguments(json.loads(params))


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


@dataclass(frozen=True)
class Comparison:
    """A published figure against the model it names as ``ours``.

    Attributes:
        figure: the published figure.
        ref: its source's reference number under the table.
        values: metric -> (our mean, our std over seeds, the published value), for shared metrics.
        beyond_spread: whether, on some metric, ours differs from the published value by more than our
            seed std plus the published figure's rounding (half a unit of its last printed decimal).
    """

    figure: PublishedFigure
    ref: int
    values: dict[str, tuple[float, float, float]]
    beyond_spread: bool

    @property
    def unexplained(self) -> bool:
        """Ours differs by more than the seed spread and the figure has no note saying why."""
        return self.beyond_spread and not self.figure.note

    def text(self) -> str:
        """One line: the figures side by side, the verdict, and the note."""
        name = f"published: {self.figure.model} [{self.ref}]"
        protocol = f" (their protocol: {self.figure.protocol})" if self.figure.protocol else ""
        note = f" Note: {self.figure.note}" if self.figure.note else ""
        if self.figure.ours is None:
            return f"{name}{protocol}.{note}"
        if not self.values:
            return f"{name}{protocol} against our {self.figure.ours}: ours has no complete result here.{note}"
        parts = []
        for metric, (mean, std, value) in self.values.items():
            spread = f" ± {std:.4f}" if np.isfinite(std) else ""
            parts.append(f"{metric} {mean:.4f}{spread} vs {value:g} ({mean - value:+.4f})")
        verdict = ("differs by more than the seed spread" if self.beyond_spread else "within the seed spread")
        if self.unexplained:
            note = " No note says why."
        return f"{name}{protocol} against our {self.figure.ours}: {'; '.join(parts)}; {verdict}.{note}"


def _rounding(value: float) -> float:
    """Half a unit of the last decimal ``value`` is written with (0.442 -> 0.0005)."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0.0
    return 0.5 * 10.0 ** -len(text.split(".")[1])


def comparisons(board: Board) -> list[Comparison]:
    """Every published figure of ``board`` with its reference and, if it names ``ours``, our values."""
    refs = {source: i + 1 for i, source in enumerate(board.sources())}
    rows = board.table.set_index("model") if len(board.table) else None
    out = []
    for figure in board.published:
        values: dict[str, tuple[float, float, float]] = {}
        if figure.ours is not None and rows is not None and figure.ours in rows.index:
            for metric, value in figure.metrics.items():
                if metric in board.metrics and np.isfinite(rows.loc[figure.ours, metric]):
                    values[metric] = (float(rows.loc[figure.ours, metric]), float(rows.loc[figure.ours, f"{metric} std"]), value)
        beyond = any(abs(mean - value) > (std if np.isfinite(std) else 0.0) + _rounding(value)
                     for mean, std, value in values.values())
        out.append(Comparison(figure, refs[figure.source], values, beyond))
    return out


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, its numeric sort value (None: missing or text) and whether it is the best."""

    text: str
    value: float | None = None
    best: bool = False


TEXT_COLUMNS = ("model", "runs", "notes")


def _number(value: object) -> float | None:
    if value is None or isinstance(value, str):
        return None
    value = float(value)  # type: ignore[arg-type]
    return value if np.isfinite(value) else None


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


def board_cells(board: Board) -> tuple[list[str], list[str], list[list[Cell]]]:
    """Column names, each row's kind (``ours`` or ``published``) and the cells of every row.

    Our rows come first in rank order; published rows follow, marked ``published: NAME [ref]``, with
    no rank, no bold and no p-values. Metric cells read ``mean ± std``; their sort value is the mean.
    """
    table = board.table
    trials = bool((table["trials"] > 1).any()) if len(table) else False
    notes = bool(table["notes"].astype(bool).any()) if len(table) else False
    columns = ["rank", "model", "n"] + (["trials"] if trials else []) + list(board.metrics)
    p_columns = ["p (t-test)", "p (Wilcoxon)"] if board.main_metric else []
    columns += [f"{c} vs best" for c in p_columns]
    columns += [f"{label} ({board.device})" for label in THROUGHPUT_COLUMNS.values()] + ["runs"] + (["notes"] if notes else [])
    best = {}
    for m in board.metrics:
        if table[m].notna().any():
            best[m] = table[m].max() if board.higher_is_better.get(m, True) else table[m].min()
    rows, kinds = [], []
    for i, row in enumerate(table.to_dict("records")):
        cells = [Cell(str(i + 1), float(i + 1)), Cell(str(row["model"])), Cell(str(row["n"]), float(row["n"]))]
        if trials:
            cells.append(Cell(str(row["trials"]), float(row["trials"])))
        for m in board.metrics:
            mean, std = row[m], row[f"{m} std"]
            text = _cell(mean, m, board.metrics)
            if text != "—" and isinstance(std, float) and np.isfinite(std):
                text += f" ± {std:.4f}"
            cells.append(Cell(text, _number(mean), m in best and mean == best[m]))
        cells += [Cell(_cell(row[c], c, board.metrics), _number(row[c])) for c in p_columns]
        cells += [Cell(_cell(row[label], label, board.metrics), _number(row[label])) for label in THROUGHPUT_COLUMNS.values()]
        cells.append(Cell(str(row["runs"])))
        if notes:
            cells.append(Cell(str(row["notes"])))
        rows.append(cells)
        kinds.append("ours")
    for comparison in comparisons(board):
        figure = comparison.figure
        by_column = {"model": Cell(f"published: {figure.model} [{comparison.ref}]")}
        by_column.update({m: Cell(f"{figure.metrics[m]:g}", figure.metrics[m]) for m in board.metrics if m in figure.metrics})
        rows.append([by_column.get(c, Cell("" if c == "notes" else "—")) for c in columns])
        kinds.append("published")
    return columns, kinds, rows


def display_table(board: Board, bold: Callable[[str], str]) -> pd.DataFrame:
    """Formatted strings: mean ± std merged, best mean in bold, throughput labelled with the device."""
    columns, _, rows = board_cells(board)
    return pd.DataFrame([[bold(c.text) if c.best else c.text for c in row] for row in rows], columns=columns)


#: LaTeX's special characters and what stands for each in running text.
LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_text(text: str) -> str:
    """``text`` escaped for LaTeX (model names such as ``mf_bpr``), with ``±`` as ``$\\pm$``."""
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in text).replace("±", "$\\pm$")


def latex_table(board: Board) -> str:
    """The board as a LaTeX tabular: every cell and header escaped, the best mean in bold."""
    columns, _, rows = board_cells(board)
    cells = [[("\\textbf{%s}" % latex_text(c.text)) if c.best else latex_text(c.text) for c in row] for row in rows]
    return tabulate(cells, headers=[latex_text(c) for c in columns], tablefmt="latex_raw", disable_numparse=True)


def published_notes(board: Board) -> list[str]:
    """Lines for under the table: the numbered sources, then one line per published figure."""
    if not board.published:
        return []
    lines = [f"[{i}] {source}" for i, source in enumerate(board.sources(), 1)]
    return lines + [c.text() for c in comparisons(board)]


def unexplained_differences(groups: Sequence[Board]) -> list[str]:
    """Published figures ours differs from by more than the seed spread, with no note saying why."""
    return [f"{b.title}: {c.text()}" for b in groups for c in comparisons(b) if c.unexplained]


def render(records: Sequence[RunRecord], metrics: Sequence[str] | None = None, fmt: str = "md",
           per_user: PerUserLoader | None = None, published: Sequence[PublishedFigure] = (),
           title: str = "recbench leaderboard", notes: str = "", rows: RowNames | None = None) -> str:
    """The leaderboard in ``fmt``: md, latex, html (tables) or csv, json (numeric data).

    ``html`` is a self-contained page titled ``title``, with ``notes`` (plain text paragraphs) at its end;
    ``rows`` as in :func:`boards`.
    """
    groups = boards(records, metrics, per_user, published, rows)
    return render_boards(groups, fmt, title, notes)


def render_boards(groups: Sequence[Board], fmt: str = "md", title: str = "recbench leaderboard", notes: str = "") -> str:
    """:func:`render` of boards already built."""
    if fmt == "csv":
        frames = [b.table.assign(board=b.title) for b in groups]
        frames += [pd.DataFrame([{"model": f"published: {f.model}", **f.metrics, "board": b.title, "source": f.source,
                                  "note": f.note} for f in b.published]) for b in groups if b.published]
        if not frames:
            return ""
        return pd.concat(frames).astype({"n": "Int64", "trials": "Int64"}).to_csv(index=False)
    if fmt == "json":
        return json.dumps([{"title": b.title, "main_metric": b.main_metric, "device": b.device,
                            "rows": json.loads(b.table.to_json(orient="records")),
                            "published": [{"model": c.figure.model, "source": c.figure.source, "ref": c.ref,
                                           "metrics": dict(c.figure.metrics), "protocol": c.figure.protocol,
                                           "ours": c.figure.ours, "note": c.figure.note,
                                           "beyond_seed_spread": c.beyond_spread} for c in comparisons(b)]}
                           for b in groups], indent=1)
    if fmt == "html":
        from recbench.results.html_page import html_page

        return html_page(groups, title, notes)
    parts = []
    for board in groups:
        if fmt == "latex":
            text = "% " + " ".join(board.title.splitlines()) + "\n" + latex_table(board)
            parts.append(text + "".join("\n% " + " ".join(line.splitlines()) for line in published_notes(board)))
        else:
            table = display_table(board, lambda t: f"**{t}**")
            text = f"### {board.title}\n\n" + tabulate(table, headers="keys", tablefmt="github", showindex=False,
                                                       disable_numparse=True)
            lines = published_notes(board)
            if lines:
                text += ("\n\nPublished figures (beside ours; not ranked, not in bold, not in the significance tests):"
                         "\n\n" + "\n".join(f"- {line}" for line in lines))
            parts.append(text)
    return "\n\n".join(parts) + ("\n" if parts else "")
