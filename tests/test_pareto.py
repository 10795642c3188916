"""The accuracy-versus-throughput Pareto front, and its plot (matplotlib is an optional extra)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from recbench.errors import ConfigError
from recbench.results.leaderboard import boards
from recbench.results.pareto import pareto_front, write_plot
from recbench.results.record import RunRecord

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def _dominated(i: int, speed: np.ndarray, accuracy: np.ndarray) -> bool:
    """Reference: some point is at least as fast and as accurate, and strictly better in one."""
    at_least = (speed >= speed[i]) & (accuracy >= accuracy[i])
    better = (speed > speed[i]) | (accuracy > accuracy[i])
    return bool(np.any(at_least & better))


def test_front_of_known_points() -> None:
    #        0     1     2     3     4     5
    speed = [10.0, 100.0, 1000.0, 50.0, 100.0, 5.0]
    accuracy = [0.50, 0.40, 0.10, 0.30, 0.35, 0.50]
    # 3 is beaten by 1 (faster and better), 4 by 1 (as fast, better), 5 by 0 (as good, faster)
    assert pareto_front(speed, accuracy) == [2, 1, 0]
    # lower is better (e.g. RMSE): the smallest value, 0.10, is also the fastest point
    assert pareto_front(speed, accuracy, higher_is_better=False) == [2]
    assert pareto_front([1.0, 2.0], [0.5, np.nan]) == [0]  # a missing coordinate is never on the front
    assert pareto_front([3.0, 3.0], [0.2, 0.2]) == [0, 1]  # identical points are both kept
    assert pareto_front([], []) == []


def test_front_matches_the_pairwise_definition_on_random_points() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        speed = rng.choice([1.0, 2.0, 5.0, 10.0, 20.0], n)  # ties in speed on purpose
        accuracy = rng.choice(np.linspace(0, 1, 8), n)  # and in accuracy
        expected = {i for i in range(n) if not _dominated(i, speed, accuracy)}
        front = pareto_front(speed, accuracy)
        assert set(front) == expected
        assert list(speed[front]) == sorted(speed[front], reverse=True)


def _record(model: str, seed: int, ndcg: float, speed: float) -> RunRecord:
    return RunRecord(
        run_key=f"{model}-{seed}", status="ok", seed=seed, dataset={"name": "d", "fingerprint": "f"},
        split={"protocol": "random_holdout", "protocol_version": "1", "params": {}, "split_id": f"s{seed}"},
        model={"name": model}, metrics={"ndcg@10": ndcg}, evaluation={"protocol": "full_ranking"},
        throughput={"train_examples_per_s": speed, "eval_users_per_s": speed / 10}, environment={"device_kind": "cpu"},
    )


RECORDS = [_record("fast", 0, 0.1, 1e7), _record("slow", 0, 0.4, 1e4), _record("worse", 0, 0.05, 1e5)]


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (pip install 'recbench[plot]')")
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_is_written(tmp_path: Path, suffix: str) -> None:
    path = write_plot(boards(RECORDS, ["ndcg@10"]), tmp_path / f"out{suffix}", axis="eval")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:2000]
    if suffix == ".svg":
        text = data.decode()
        assert "fast" in text and "slow" in text and "worse" in text and "Pareto front" in text


def test_missing_matplotlib_is_a_one_line_error_saying_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(ConfigError, match="needs matplotlib") as info:
        write_plot(boards(RECORDS, ["ndcg@10"]), tmp_path / "out.png")
    assert "recbench[plot]" in info.value.hint


def test_bad_plot_requests() -> None:
    groups = boards(RECORDS, ["ndcg@10"])
    with pytest.raises(ConfigError, match="must end in .png, .svg, .pdf"):
        write_plot(groups, "out.jpg")
    with pytest.raises(ConfigError, match="--plot-x 'gpu'"):
        write_plot(groups, "out.png", axis="gpu")
    with pytest.raises(ConfigError, match="no leaderboard with an accuracy metric"):
        write_plot([], "out.png")


def _store(tmp_path: Path) -> Path:
    from recbench.results.store import ResultStore

    store = ResultStore(tmp_path / "results")
    for record in RECORDS:
        store.write(record)
    return tmp_path / "results"


def test_cli_plot_without_matplotlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from recbench.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["leaderboard", str(_store(tmp_path)), "--plot", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["recbench: error: --plot needs matplotlib, which is not installed",
                   "hint: pip install 'recbench[plot]' (or pip install matplotlib)"]


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (pip install 'recbench[plot]')")
def test_cli_leaderboard_with_config_plot_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recbench.cli import main

    config = tmp_path / "board.toml"
    config.write_text('name = "b"\nmetrics = ["ndcg@10"]\ndatasets = ["synthetic"]\nmodels = ["slow"]\n'
                      '[[published]]\nmodel = "Slow (paper)"\nsource = "A paper"\nmetrics = { "ndcg@10" = 0.41 }\n')
    assert main(["leaderboard", str(_store(tmp_path)), "--config", str(config), "--format", "html",
                 "--plot", str(tmp_path / "p.png"), "--plot-x", "eval"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("<!DOCTYPE html>") and "<title>recbench leaderboard: b</title>" in out.out
    assert "published: Slow (paper) [1]" in out.out and (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
    assert "wrote" in out.err
