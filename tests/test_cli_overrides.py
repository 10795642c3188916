"""Command-line overrides choose among a sweep file's entries without changing them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recbench.config import apply_overrides, sweep_from_mapping
from recbench.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

SWEEP = {
    "name": "overrides",
    "seeds": [0, 1],
    "datasets": [
        {"name": "ml-100k", "protocol": "leave_one_out", "preprocess": [{"step": "deduplicate"}],
         "candidates": {"negatives": 99}, "cold_start": "exclude"},
        {"name": "ml-100k", "protocol": "random_holdout", "protocol_params": {"test_fraction": 0.25}},
        {"name": "synthetic", "params": {"n_users": 100}},
    ],
    "models": [
        {"name": "pop"},
        {"name": "neumf"},
        {"name": "neumf", "label": "neumf (pre-trained)", "config": {"pretrain": True}},
        {"name": "mf_bpr", "search": {"l2": [1e-4, 1e-3], "training.learning_rate": [1e-3, 1e-2]}},
    ],
}


@pytest.fixture()
def sweep():
    return sweep_from_mapping(SWEEP, "sweep.toml")


def test_models_keeps_every_matching_entry_with_its_settings(sweep) -> None:
    chosen = apply_overrides(sweep, models="neumf").models
    assert [(m.name, m.label, dict(m.config)) for m in chosen] == [
        ("neumf", None, {}), ("neumf", "neumf (pre-trained)", {"pretrain": True})]


def test_models_keeps_a_whole_search_grid(sweep) -> None:
    chosen = apply_overrides(sweep, models="mf_bpr").models
    assert len(chosen) == 4 and chosen == tuple(m for m in sweep.models if m.name == "mf_bpr")


def test_models_in_the_flags_order_by_label_and_a_new_name_with_defaults(sweep) -> None:
    chosen = apply_overrides(sweep, models="ease, neumf (pre-trained), pop, POP").models
    assert [(m.name, m.label, dict(m.config)) for m in chosen] == [
        ("ease", None, {}), ("neumf", "neumf (pre-trained)", {"pretrain": True}), ("pop", None, {})]


def test_datasets_keeps_every_matching_entry_with_its_settings(sweep) -> None:
    chosen = apply_overrides(sweep, datasets="ml-100k").datasets
    assert chosen == sweep.datasets[:2]
    assert chosen[0].candidates == {"negatives": 99} and chosen[0].cold_start == "exclude"
    assert chosen[0].preprocess == ({"step": "deduplicate"},) and chosen[1].protocol_params == {"test_fraction": 0.25}


def test_datasets_by_name_new_name_and_path(sweep, tmp_path: Path) -> None:
    own = tmp_path / "mine.csv"
    chosen = apply_overrides(sweep, datasets=f"synthetic,lastfm-hetrec2011,{own}", columns="user=u,item=i", sep=";")
    assert chosen.datasets[0] == sweep.datasets[2]
    assert chosen.datasets[1].name == "lastfm-hetrec2011" and chosen.datasets[1].protocol is None
    assert chosen.datasets[2].name == "file"
    assert dict(chosen.datasets[2].params) == {"path": str(own), "user": "u", "item": "i", "sep": ";"}


@pytest.mark.parametrize("flag", ["models", "datasets"])
def test_an_empty_list_is_refused(sweep, flag: str) -> None:
    with pytest.raises(ConfigError, match=f"--{flag} ' , ': name at least one"):
        apply_overrides(sweep, **{flag: " , "})


@pytest.mark.parametrize("text", ["-1", "0,-1", "a", ","])
def test_seeds_are_refused_with_the_same_error_as_the_file(sweep, text: str) -> None:
    with pytest.raises(ConfigError) as from_flag:
        apply_overrides(sweep, seeds=text)
    with pytest.raises(ConfigError) as from_file:
        sweep_from_mapping({**SWEEP, "seeds": [-1]}, "sweep.toml")
    rule = "seeds must be a non-empty list of non-negative integers, got "
    assert str(from_flag.value).startswith(f"--seeds: {rule}")
    assert str(from_file.value).startswith(f"sweep.toml: {rule}")


def test_seeds_flag_keeps_distinct_seeds(sweep) -> None:
    assert apply_overrides(sweep, seeds="2, 0,2").seeds == (2, 0)


def _recbench(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "recbench.cli", *args], capture_output=True, text=True, timeout=600)


def _sweep_file(tmp_path: Path) -> Path:
    config = tmp_path / "tiny.toml"
    config.write_text('name = "tiny"\nseeds = [0]\nmetrics = ["ndcg@10"]\n'
                      '[[datasets]]\nname = "synthetic"\nparams = { n_users = 120, n_items = 60, mean_per_user = 10 }\n'
                      '[[models]]\nname = "pop"\n[[models]]\nname = "random"\n')
    return config


def test_an_overridden_run_does_not_republish_the_sweep_files_table(tmp_path: Path) -> None:
    config = _sweep_file(tmp_path)
    assert _recbench("run", str(config)).returncode == 0
    table = tmp_path / "tiny" / "leaderboard.md"
    committed = table.read_text()
    assert "random" in committed

    result = _recbench("run", str(config), "--models", "pop", "--seeds", "1")
    assert result.returncode == 0, result.stderr
    assert table.read_text() == committed  # the seed-1 run is in records/, not in the committed table
    assert len(list((tmp_path / "tiny" / "records").glob("*.json"))) == 3
    line = next(line for line in result.stdout.splitlines() if line.startswith("not republishing"))
    assert line == (f"not republishing {table}: --models, --seeds changed the sweep of {config}; "
                    f"`recbench publish {config}` regenerates it from all its records")


def test_an_overridden_run_into_its_own_out_publishes_there(tmp_path: Path) -> None:
    config = _sweep_file(tmp_path)
    result = _recbench("run", str(config), "--models", "pop", "--out", str(tmp_path / "mine"))
    assert result.returncode == 0 and "not republishing" not in result.stdout
    assert (tmp_path / "mine" / "leaderboard.md").is_file() and not (tmp_path / "tiny").exists()


def test_a_shard_run_does_not_republish_the_sweep_files_table(tmp_path: Path) -> None:
    config = _sweep_file(tmp_path)
    result = _recbench("run", str(config), "--shard", "0/2")
    assert result.returncode == 0, result.stderr
    assert "not republishing" in result.stdout and "--shard changed the sweep" in result.stdout
    assert not (tmp_path / "tiny" / "leaderboard.md").exists()  # half a sweep is not its leaderboard


@pytest.mark.parametrize("metrics", [[], ","])
def test_an_empty_metric_list_is_refused_in_one_line(tmp_path: Path, metrics) -> None:
    mapping = {"name": "t", "seeds": [0], "datasets": [{"name": "synthetic"}], "models": [{"name": "pop"}]}
    with pytest.raises(ConfigError, match="metrics must be a non-empty list of metric names"):
        if isinstance(metrics, list):
            sweep_from_mapping({**mapping, "metrics": metrics})
        else:
            apply_overrides(sweep_from_mapping(mapping), metrics=metrics)
