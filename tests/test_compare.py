"""``recbench compare``: sides are one model with one setting, pairs are (split, protocol, seed, user)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from recbench.errors import ConfigError
from recbench.results.compare import compare_models, variant_of
from recbench.results.record import RunRecord
from recbench.results.store import ResultStore

USERS = np.arange(40)


def _write(store: ResultStore, key: str, name: str, config: dict, values: np.ndarray,
           split_id: str = "s1", protocol: str = "full_ranking", seed: int = 0) -> RunRecord:
    record = RunRecord(run_key=key, status="ok", seed=seed, dataset={"name": "d"}, split={"split_id": split_id},
                       model={"name": name, "config": config, "training": {"epochs": 5}},
                       evaluation={"protocol": protocol})
    store.write(record, USERS, {"ndcg@10": values})
    return record


@pytest.fixture()
def results(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray], dict[str, RunRecord]]:
    rng = np.random.default_rng(0)
    store = ResultStore(tmp_path)
    values = {"pop": rng.random(40), "scratch": rng.random(40), "pretrained": rng.random(40) + 0.1}
    records = {
        "pop": _write(store, "k1", "pop", {}, values["pop"]),
        "scratch": _write(store, "k2", "neumf", {"dim": 8, "pretrain": False}, values["scratch"]),
        "pretrained": _write(store, "k3", "neumf", {"dim": 8, "pretrain": True}, values["pretrained"]),
    }
    return tmp_path, values, records


def _row(table: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith("| ndcg@10"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_model_run_with_two_settings_must_be_named_with_its_variant(results) -> None:
    root, _, records = results
    with pytest.raises(ConfigError) as err:
        compare_models([root], "pop,neumf", None)
    message = str(err.value)
    assert "neumf has runs with 2 different settings" in message and "config.pretrain=True" in message
    assert f"@{variant_of(records['pretrained'])}" in message and "config.dim" not in message  # only what differs
    assert "\n" not in message


def test_runs_of_another_model_version_are_another_variant(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _write(store, "k1", "pop", {}, np.ones(40))
    old = RunRecord(run_key="k2", status="ok", seed=0, dataset={"name": "d"}, split={"split_id": "s1"},
                    model={"name": "pop", "version": "0", "config": {}, "training": {"epochs": 5}},
                    evaluation={"protocol": "full_ranking"})
    store.write(old, USERS, {"ndcg@10": np.zeros(40)})
    _write(store, "k3", "mf_bpr", {}, np.ones(40))
    with pytest.raises(ConfigError, match="pop has runs with 2 different settings .*model.version='0'"):
        compare_models([tmp_path], "pop,mf_bpr", None)


def test_two_settings_of_one_model_compare_against_each_other(results) -> None:
    root, values, records = results
    scratch, pretrained = (f"neumf@{variant_of(records[n])[:5]}" for n in ("scratch", "pretrained"))
    row = _row(compare_models([root], f"{scratch},{pretrained}", "ndcg@10"))
    a, b = values["scratch"], values["pretrained"]
    assert row[1] == f"{a.mean():.4f}" and row[2] == f"{b.mean():.4f}" and row[3] == f"{b.mean() - a.mean():+.4f}"
    assert row[4] == f"{stats.ttest_rel(b, a).pvalue:.2g}" and row[6] == "40"
    row = _row(compare_models([root], f"pop,{pretrained}", "ndcg@10"))
    assert row[1] == f"{values['pop'].mean():.4f}" and row[2] == f"{b.mean():.4f}"


def test_runs_evaluated_under_other_protocols_or_splits_are_not_paired(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    _write(store, "k1", "pop", {}, np.ones(40), protocol="full_ranking")
    _write(store, "k2", "mf_bpr", {}, np.zeros(40), protocol="sampled[uniform:99]")
    assert _row(compare_models([tmp_path], "pop,mf_bpr", "ndcg@10"))[-1] == "0"
    other_split = _write(store, "k3", "mf_bpr", {"dim": 64}, np.zeros(40), split_id="s2")
    assert _row(compare_models([tmp_path], f"pop,mf_bpr@{variant_of(other_split)}", "ndcg@10"))[-1] == "0"


def test_every_seed_of_a_split_all_seeds_share_is_paired(tmp_path: Path) -> None:
    store, rng = ResultStore(tmp_path), np.random.default_rng(1)  # a published split: one split_id for every seed
    pop = {seed: 0.1 * seed + 0.01 * rng.random(40) for seed in (0, 1, 2)}
    for seed, values in pop.items():
        _write(store, f"p{seed}", "pop", {}, values, seed=seed)
        _write(store, f"m{seed}", "mf_bpr", {}, values + 0.05 + 0.01 * rng.random(40), seed=seed)
    row = _row(compare_models([tmp_path], "pop,mf_bpr", "ndcg@10"))
    mean = np.concatenate(list(pop.values())).mean()  # over the 3 seeds x 40 users, not the last seed's
    assert row[-1] == "120" and float(row[1]) == pytest.approx(mean, abs=1e-4)


@pytest.mark.parametrize("models, says", [
    ("pop", "name exactly two different models"),
    ("pop,pop", "name exactly two different models"),
    ("pop,gru4rec", "no completed runs of 'gru4rec'"),
    ("pop,neumf@zzzz", "neumf has no runs with variant 'zzzz'"),
    ("pop,pop@", "pop and pop@ name the same runs"),  # a variant prefix that names the only variant
    ("neumf@zzzz,pop", r"its variants: @\w{8}: config.pretrain=False; @\w{8}: config.pretrain=True\)"),
    ("pop@zzzz,neumf", r"pop has no runs with variant 'zzzz' under .* \(its variants: @\w{8}\)$"),
])
def test_bad_sides_are_refused_in_one_line(results, models: str, says: str) -> None:
    root, _, _ = results
    with pytest.raises(ConfigError, match=says) as err:
        compare_models([root], models, None)
    assert "\n" not in str(err.value)
