from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recbench.config import sweep_from_mapping
from recbench.manager import PluginHost
from recbench.results.leaderboard import boards, render
from recbench.results.record import RunRecord
from recbench.runner import Runner


def _record(model: str, seed: int, ndcg: float | None, status: str = "ok", message: str = "") -> RunRecord:
    return RunRecord(
        run_key=f"{model}-{seed}", status=status, seed=seed, message=message,
        dataset={"name": "d<&>", "fingerprint": "f"}, split={"protocol": "random_holdout", "protocol_version": "1",
                                                              "params": {"test_fraction": 0.2}, "split_id": f"s{seed}"},
        model={"name": model}, metrics={} if ndcg is None else {"ndcg@10": ndcg},
        evaluation={"protocol": "full_ranking"}, throughput={"train_examples_per_s": 1000.0 * (seed + 1)},
        environment={"device_kind": "cpu"},
    )


def test_mean_std_rank_and_incomplete_rows_are_not_averaged() -> None:
    records = [_record("a", 0, 0.30), _record("a", 1, 0.32), _record("b", 0, 0.40), _record("b", 1, 0.0, "error", "boom"),
               _record("c", 0, 0.10), _record("c", 1, 0.20)]
    (board,) = boards(records, ["ndcg@10"])
    table = board.table.set_index("model")
    assert table.loc["a", "ndcg@10"] == pytest.approx(0.31) and table.loc["a", "ndcg@10 std"] == pytest.approx(np.std([0.30, 0.32], ddof=1))
    assert np.isnan(table.loc["b", "ndcg@10"])  # one of two seeds failed: missing, not 0.40
    assert "incomplete: 1/2 seeds ok" in table.loc["b", "notes"] and "error: boom" in table.loc["b", "notes"]
    assert list(board.table["model"]) == ["a", "c", "b"]
    assert table.loc["a", "train ex/s"] == pytest.approx(1500.0)
    md = render(records, ["ndcg@10"])
    assert "**0.3100 ± 0.0141**" in md and "| 1      | a " in md


def test_formats_escape_and_parse() -> None:
    records = [_record("<script>", 0, 0.3), _record("x", 0, 0.2)]
    page = render(records, ["ndcg@10"], "html")
    assert "<script>" not in page and "&lt;script&gt;" in page and "d&lt;&amp;&gt;" in page
    data = json.loads(render(records, ["ndcg@10"], "json"))
    assert data[0]["rows"][0]["model"] == "<script>" and data[0]["main_metric"] == "ndcg@10"
    csv = render(records, ["ndcg@10"], "csv")
    assert csv.splitlines()[0].startswith("model,n,trials,runs,ndcg@10")
    latex = render(records, ["ndcg@10"], "latex")
    assert "\\textbf{0.3000}" in latex and "\\begin{tabular}" in latex


def test_significance_against_the_best_from_stored_per_user_values(tmp_path: Path) -> None:
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0, 1], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": {"n_users": 300, "n_items": 200, "mean_per_user": 25}}],
        "models": [{"name": "pop"}, {"name": "mf_bpr", "config": {"dim": 16},
                                     "training": {"epochs": 60, "learning_rate": 2e-2, "eval_every": 5}}],
    })
    runner = Runner(PluginHost(autoload=False), sweep, progress=None)
    records = runner.run().records
    (board,) = boards(records, ["ndcg@10"], per_user=lambda r: runner.store.load_per_user(r.run_key))
    table = board.table.set_index("model")
    assert board.table.loc[0, "model"] == "mf_bpr" and np.isnan(table.loc["mf_bpr", "p (t-test)"])
    assert table.loc["pop", "p (t-test)"] < 0.01 and table.loc["pop", "p (Wilcoxon)"] < 0.01


def test_search_expands_and_the_leaderboard_selects_on_validation(tmp_path: Path) -> None:
    from recbench.config import sweep_from_mapping as sweep_of

    sweep = sweep_of({
        "name": "t", "seeds": [0], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": {"n_users": 300, "n_items": 200, "mean_per_user": 25}}],
        "models": [{"name": "mf_bpr", "config": {"dim": 16}, "training": {"epochs": 30, "eval_every": 5},
                    "search": {"l2": [1e-4, 5e-3], "training.learning_rate": [1e-4, 2e-2]}}],
    })
    assert len(sweep.models) == 4 and {m.training["learning_rate"] for m in sweep.models} == {1e-4, 2e-2}
    records = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    (board,) = boards(records, ["ndcg@10"])
    row = board.table.iloc[0]
    assert row["trials"] == 4 and row["n"] == 1
    chosen = max(records, key=lambda r: r.validation["ndcg@10"])
    assert row["ndcg@10"] == pytest.approx(chosen.metrics["ndcg@10"])  # the validation winner's test value
    random_sweep = sweep_of({"name": "t", "seeds": [0], "datasets": ["synthetic"], "models": [
        {"name": "mf_bpr", "search": {"l2": [1, 2, 3, 4, 5]}, "search_mode": "random", "trials": 3}]})
    assert len(random_sweep.models) == 3 and len({m.config["l2"] for m in random_sweep.models}) == 3


def test_missing_per_user_values_leave_p_values_empty_not_a_crash(tmp_path: Path) -> None:
    from recbench.errors import DataError
    from recbench.results.store import ResultStore

    store = ResultStore(tmp_path)
    with pytest.raises(DataError, match="per-user values missing"):
        store.load_per_user("nope")
    records = [_record("a", 0, 0.3), _record("b", 0, 0.2)]
    (board,) = boards(records, ["ndcg@10"], per_user=lambda r: store.load_per_user(r.run_key))
    assert np.isnan(board.table.loc[1, "p (t-test)"])
