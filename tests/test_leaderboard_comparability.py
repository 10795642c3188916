"""Records that must not be compared never share a row's average; a row without a choice says so; boards
of one dataset name with different settings have different titles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recbench.results.leaderboard import Board, boards
from recbench.results.record import RunRecord
from recbench.results.store import ResultStore


def _run(model: str, seed: int, ndcg: float, *, status: str = "ok", cold_start: str = "include",
         model_version: str = "1", ndcg_version: str = "1", config: dict | None = None, valid: float | None = None,
         fingerprint: str = "f", preprocessing: tuple[dict, ...] = ()) -> RunRecord:
    """A record in the shape the runner writes: the model's version in ``model``, each metric's version in
    ``plugins.metrics``, ``cold_start`` in the evaluation of ok runs only, preprocessing in ``dataset``."""
    config = config or {"dim": 8}
    ok = status == "ok"
    return RunRecord(
        run_key=f"{model}-{seed}-{cold_start}-{model_version}-{ndcg_version}-{json.dumps(config)}-{fingerprint}",
        status=status, seed=seed, message="" if ok else "boom",
        dataset={"name": "ml-100k", "version": "1", "params": {}, "fingerprint": fingerprint,
                 "preprocessing": list(preprocessing)},
        split={"protocol": "random_holdout", "protocol_version": "2", "params": {"test_fraction": 0.2},
               "split_id": f"s{seed}"},
        model={"name": model, "version": model_version, "config": config, "config_hash": json.dumps(config),
               "training": {"epochs": 5}},
        metrics={"ndcg@10": ndcg} if ok else {},
        validation={"ndcg@10": valid} if ok and valid is not None else {},
        evaluation={"protocol": "full_ranking", "cold_start": cold_start} if ok else {},
        environment={"device_kind": "cpu"},
        plugins={"metrics": {"ndcg@10": ["recbench", "0.1", ndcg_version]}},
    )


def _boards(tmp_path: Path, records: list[RunRecord]) -> list[Board]:
    """The boards of ``records`` written to and read back from a result store, as a leaderboard reads them."""
    store = ResultStore(tmp_path / "results")
    for record in records:
        store.write(record)
    return boards(list(store.records()), ["ndcg@10"])


def _rows(board: Board) -> dict[str, dict]:
    return {row["model"]: row for row in board.table.to_dict("records")}


def test_cold_start_include_and_exclude_are_different_boards(tmp_path: Path) -> None:
    included = [_run("mf_bpr", s, v) for s, v in enumerate([0.30, 0.31, 0.29])]
    excluded = [_run("mf_bpr", s, v, cold_start="exclude") for s, v in enumerate([0.40, 0.41, 0.39])]
    found = _boards(tmp_path, included + excluded)
    assert len(found) == 2  # never one row n=6 averaging both
    title = "ml-100k · random_holdout (test_fraction=0.2) · full ranking"
    means = {b.title: (_rows(b)["mf_bpr"]["n"], round(_rows(b)["mf_bpr"]["ndcg@10"], 4)) for b in found}
    assert means == {title: (3, 0.30), f"{title}, cold-start rows excluded": (3, 0.40)}


def test_a_failed_run_joins_its_comparable_runs_only_when_their_cold_start_setting_is_one(tmp_path: Path) -> None:
    records = [_run("pop", 0, 0.1), _run("pop", 1, 0.2), _run("mf_bpr", 0, 0.3), _run("mf_bpr", 1, 0.0, status="error")]
    (board,) = _boards(tmp_path / "one", records)  # the failure records no setting: the only one there is
    assert "error: boom" in _rows(board)["mf_bpr"]["notes"] and "cold" not in board.title
    both = records + [_run("pop", s, 0.1, cold_start="exclude") for s in (0, 1)]
    found = {b.title.rsplit(" · ", 1)[1]: b for b in _boards(tmp_path / "two", both)}
    assert set(found) == {"full ranking", "full ranking, cold-start rows excluded",
                          "full ranking, cold start not recorded"}  # which setting failed cannot be told
    assert list(found["full ranking, cold start not recorded"].table["runs"]) == ["0/1 ok"]
    assert "error" not in " ".join(found["full ranking"].table["notes"])


def test_different_metric_versions_are_different_boards_named_by_version(tmp_path: Path) -> None:
    records = [_run("pop", s, 0.1 + s / 100) for s in (0, 1)] + [_run("pop", s, 0.5, ndcg_version="2") for s in (0, 1)]
    found = _boards(tmp_path, records)
    assert [b.title.rsplit(" · ", 1)[1] for b in found] == ["metric versions (ndcg@10=1)", "metric versions (ndcg@10=2)"]
    assert [round(b.table.loc[0, "ndcg@10"], 4) for b in found] == [0.105, 0.5]


def test_runs_that_computed_other_metrics_of_the_same_versions_share_a_board(tmp_path: Path) -> None:
    records = [_run("pop", s, 0.1) for s in (0, 1)] + [_run("mf_bpr", s, 0.3) for s in (0, 1)]
    for record in records[2:]:  # a second sweep that also computed recall@10
        record.plugins["metrics"]["recall@10"] = ["recbench", "0.1", "1"]
    store = ResultStore(tmp_path / "results")
    for record in records:
        store.write(record)
    (board,) = boards(list(store.records()))  # no metrics named: every recorded metric's version is read
    assert list(board.table["model"]) == ["mf_bpr", "pop"] and "metric versions" not in board.title


def test_different_model_versions_are_different_rows(tmp_path: Path) -> None:
    records = [_run("mf_bpr", s, 0.3) for s in (0, 1)] + [_run("mf_bpr", s, 0.4, model_version="2") for s in (0, 1)]
    records += [_run("pop", s, 0.1) for s in (0, 1)]
    (board,) = _boards(tmp_path, records)
    assert list(board.table["model"]) == ["mf_bpr (version 2)", "mf_bpr (version 1)", "pop"]
    assert list(board.table["n"]) == [2, 2, 2] and list(board.table["ndcg@10"]) == pytest.approx([0.4, 0.3, 0.1])


def test_configurations_without_validation_are_not_chosen_among_and_the_row_says_so(tmp_path: Path) -> None:
    records = [_run("mf_bpr", s, v, config={"dim": d}) for s in (0, 1, 2) for d, v in ((8, 0.3), (64, 0.4))]
    records += [_run("pop", s, 0.1) for s in (0, 1, 2)]
    (board,) = _boards(tmp_path, records)
    assert list(board.table["model"]) == ["pop", "mf_bpr"]  # no value: never ranked above a real row
    row = _rows(board)["mf_bpr"]
    assert np.isnan(row["ndcg@10"]) and row["runs"] == "6/6 ok" and row["trials"] == 2 and row["n"] == 0
    assert row["notes"].startswith("mf_bpr: 2 configurations and no validation ndcg@10 to choose among them")
    (single,) = _boards(tmp_path / "single", [r for r in records if r.model["config"]["dim"] == 64])
    assert _rows(single)["mf_bpr"]["ndcg@10"] == pytest.approx(0.4) and _rows(single)["mf_bpr"]["notes"] == ""


def test_an_ok_trial_without_validation_is_never_picked_for_its_seed(tmp_path: Path) -> None:
    records = [_run("mf_bpr", 0, 0.3, config={"dim": 8}, valid=0.2), _run("mf_bpr", 0, 0.5, config={"dim": 64}, valid=0.1),
               _run("mf_bpr", 1, 0.9, config={"dim": 8}), _run("mf_bpr", 1, 0.8, config={"dim": 64})]
    (board,) = _boards(tmp_path, records)
    row = _rows(board)["mf_bpr"]
    assert row["n"] == 1 and np.isnan(row["ndcg@10"])  # seed 1 has nothing validated: not averaged with 0.9


def test_one_dataset_name_with_other_preprocessing_gets_titles_that_tell_them_apart(tmp_path: Path) -> None:
    kcore = ({"step": "kcore", "params": {"users": 5, "items": 5}, "rows_before": 10, "rows_after": 8},)
    records = [_run("pop", 0, 0.1), _run("pop", 0, 0.2, fingerprint="g", preprocessing=kcore)]
    titles = [b.title for b in _boards(tmp_path / "a", records)]
    assert len(set(titles)) == 2 and any(t.endswith(" · preprocessing kcore(items=5, users=5)") for t in titles)  # as stored
    assert any(t.endswith(" · preprocessing none") for t in titles)
    # entries whose records carry the same settings (say, the same preprocessing recorded for both) but whose
    # data differs: told apart by the data's fingerprint
    same = [_run("pop", 0, 0.1, fingerprint="f" * 16), _run("pop", 0, 0.2, fingerprint="e" * 16)]
    assert sorted(b.title.rsplit(" · ", 1)[1] for b in _boards(tmp_path / "b", same)) == ["data eeeeeeeeeeee",
                                                                                          "data ffffffffffff"]
    (alone,) = _boards(tmp_path / "c", records[1:])
    assert alone.title == "ml-100k · random_holdout (test_fraction=0.2) · full ranking"  # nothing to tell apart


def test_a_record_without_a_protocol_version_still_gets_its_board(tmp_path: Path) -> None:
    older = [_run("pop", s, 0.1) for s in (0, 1)]
    for record in older:
        del record.split["protocol_version"]  # as records of an early schema lack it
    (board,) = _boards(tmp_path, older)
    assert list(board.table["n"]) == [2]
