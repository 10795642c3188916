"""``recbench compare`` never pairs per-user values computed under different definitions: another
``cold_start`` setting (other rows scored) or another version of a metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recbench.errors import ConfigError
from recbench.results.compare import compare_models, variant_of
from recbench.results.record import RunRecord, stable_hash
from recbench.results.store import ResultStore

USERS = np.arange(30)
UNRECORDED = "unrecorded"  # a record made before cold_start was recorded


def _write(store: ResultStore, name: str, level: float, *, split_id: str = "s1", cold_start: str = "include",
           versions: dict[str, str] | None = None) -> RunRecord:
    versions = versions if versions is not None else {"ndcg@10": "1", "recall@10": "1"}
    evaluation = {"protocol": "full_ranking"} | ({} if cold_start == UNRECORDED else {"cold_start": cold_start})
    record = RunRecord(run_key=f"{name}-{split_id}-{cold_start}-{sorted(versions.items())}", status="ok", seed=0,
                       dataset={"name": "d"}, split={"split_id": split_id},
                       model={"name": name, "version": "1", "config": {}, "training": {"epochs": 5}},
                       evaluation=evaluation,
                       plugins={"metrics": {m: ["recbench", "0.1", v] for m, v in versions.items()}})
    per_user = {m: _values(level) for m in versions}
    store.write(record, USERS, per_user)
    return record


def _values(level: float) -> np.ndarray:
    """Per-user values around ``level``, differing from user to user by more than a constant."""
    return level + np.sin(USERS * (1 + level)) / 100


def _row(table: str, metric: str = "ndcg@10") -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {metric}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_sides_evaluated_with_other_cold_start_settings_are_refused(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _write(store, "pop", 0.1)
    _write(store, "mf_bpr", 0.3, cold_start="exclude")
    with pytest.raises(ConfigError, match="pop was evaluated with cold_start='include', mf_bpr with cold_start='exclude'") as err:
        compare_models([tmp_path], "pop,mf_bpr", None)
    assert "\n" not in str(err.value) and err.value.hint


def test_a_model_run_with_both_cold_start_settings_is_named_with_its_variant(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _write(store, "pop", 0.1)
    included = _write(store, "mf_bpr", 0.3)
    excluded = _write(store, "mf_bpr", 0.9, cold_start="exclude")
    with pytest.raises(ConfigError, match=r"mf_bpr has runs with 2 different settings .*evaluation.cold_start='exclude'"):
        compare_models([tmp_path], "pop,mf_bpr", None)  # never one side averaging both
    row = _row(compare_models([tmp_path], f"pop,mf_bpr@{variant_of(included)}", "ndcg@10"))
    assert row[2] == f"{_values(0.3).mean():.4f}" and row[-1] == "30"
    with pytest.raises(ConfigError, match="cold_start='exclude'"):
        compare_models([tmp_path], f"pop,mf_bpr@{variant_of(excluded)}", "ndcg@10")


def test_runs_made_before_cold_start_was_recorded_included_every_row(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    old = _write(store, "pop", 0.1, cold_start=UNRECORDED)
    _write(store, "mf_bpr", 0.3)
    assert _row(compare_models([tmp_path], "pop,mf_bpr", "ndcg@10"))[-1] == "30"
    # their variants are what they were before the setting was part of it
    assert variant_of(old) == stable_hash({"model": {"version": "1"}, "config": {}, "training": {"epochs": 5}}, 8)


def test_a_metric_compared_under_two_versions_is_refused_naming_them(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _write(store, "pop", 0.1)
    _write(store, "mf_bpr", 0.3, versions={"ndcg@10": "2", "recall@10": "1"})
    for metrics in (None, "ndcg@10,recall@10"):
        with pytest.raises(ConfigError, match=r"ndcg@10 \(pop: version 1; mf_bpr: version 2\)") as err:
            compare_models([tmp_path], "pop,mf_bpr", metrics)
        assert "recall@10" not in str(err.value) and "\n" not in str(err.value) and "--metrics" in err.value.hint
    assert _row(compare_models([tmp_path], "pop,mf_bpr", "recall@10"), "recall@10")[-1] == "30"


def test_a_side_whose_runs_computed_a_metric_under_two_versions_is_refused(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    for split_id in ("s1", "s2"):
        _write(store, "pop", 0.1, split_id=split_id)
    _write(store, "mf_bpr", 0.3, split_id="s1")
    _write(store, "mf_bpr", 0.3, split_id="s2", versions={"ndcg@10": "2", "recall@10": "1"})
    with pytest.raises(ConfigError, match=r"ndcg@10 \(pop: version 1; mf_bpr: version 1 and 2\)"):
        compare_models([tmp_path], "pop,mf_bpr", "ndcg@10")
