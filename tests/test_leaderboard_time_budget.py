"""A row whose training was cut by its time budget says so: its accuracy depends on the machine's speed."""

from __future__ import annotations

import pytest

from recbench.results.leaderboard import boards, render
from recbench.results.record import RunRecord


def _run(model: str, seed: int, stopped_by: str, epochs: int, budget: float | None = 150) -> RunRecord:
    training = {"epochs": 200} | ({"time_budget_s": budget} if budget is not None else {})
    return RunRecord(
        run_key=f"{model}-{seed}", status="ok", seed=seed,
        dataset={"name": "amazon", "fingerprint": "f"}, split={"protocol": "leave_one_out", "protocol_version": "1", "split_id": f"s{seed}"},
        model={"name": model, "version": "1", "config": {}, "config_hash": "c", "training": training},
        metrics={"hit@10": 0.5 + seed / 100}, evaluation={"protocol": "full_ranking"},
        training={"epochs": epochs, "stopped_by": stopped_by}, environment={"device_kind": "cpu"})


def _notes(records: list[RunRecord]) -> dict[str, str]:
    (board,) = boards(records, ["hit@10"])
    return dict(zip(board.table["model"], board.table["notes"], strict=True))


def test_a_row_cut_by_its_time_budget_says_in_how_many_runs_after_how_many_epochs() -> None:
    records = [_run("sasrec", 0, "time_budget", 9), _run("sasrec", 1, "time_budget", 14),
               _run("sasrec", 2, "early_stopping", 20)] + [_run("pop", s, "closed_form", 1) for s in range(3)]
    assert _notes(records) == {"sasrec": "stopped by its 150 s time budget in 2/3 runs (9-14 epochs)", "pop": ""}
    table = render(records, ["hit@10"])
    assert "| stopped by its 150 s time budget in 2/3 runs (9-14 epochs) |" in table


@pytest.mark.parametrize("runs, note", [
    ([("time_budget", 10, 90.5)] * 2, "stopped by its 90.5 s time budget in 2/2 runs (10 epochs)"),
    ([("time_budget", 1, None), ("max_epochs", 200, None)], "stopped by its time budget in 1/2 runs (1 epoch)"),
    ([("max_epochs", 200, 150), ("early_stopping", 30, 150)], ""),  # a budget that cut nothing is no news
])
def test_the_note_names_the_recorded_budget_and_epochs(runs: list[tuple[str, int, float | None]], note: str) -> None:
    records = [_run("gru4rec", seed, stopped_by, epochs, budget) for seed, (stopped_by, epochs, budget) in enumerate(runs)]
    assert _notes(records)["gru4rec"] == note
