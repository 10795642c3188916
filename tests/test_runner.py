from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import recbench
from recbench.config import sweep_from_mapping
from recbench.errors import PluginError
from recbench.manager import PluginHost
from recbench.runner import Runner

SMALL = {"n_users": 300, "n_items": 200, "mean_per_user": 25}
FAST_MF = {"name": "mf_bpr", "config": {"dim": 16}, "training": {"epochs": 60, "learning_rate": 2e-2, "eval_every": 5}}


class FailingModels:
    @recbench.hookimpl
    def recbench_models(self):
        def explode(ctx):
            raise RuntimeError("builder exploded")

        def nan_model(ctx):
            from tests.nan_model import NaNModel

            return NaNModel(ctx.n_users, ctx.n_items)

        yield recbench.ModelSpec(name="boom", version="1", family="pairwise", description="fails", build=explode)
        yield recbench.ModelSpec(name="nan_loss", version="1", family="pairwise", description="diverges",
                                 build=nan_model, default_training={"epochs": 2})


def _sweep(tmp_path: Path, models: list, seeds=(0, 1)):
    return sweep_from_mapping({
        "name": "t", "seeds": list(seeds), "metrics": ["ndcg@10", "recall@10"],
        "datasets": [{"name": "synthetic", "params": SMALL}], "models": models, "out": str(tmp_path / "out"),
    })


def test_sweep_records_provenance_identical_splits_and_resumes(tmp_path: Path) -> None:
    host = PluginHost(autoload=False)
    runner = Runner(host, _sweep(tmp_path, [{"name": "pop"}, FAST_MF]), progress=None)
    outcome = runner.run()
    assert [r.status for r in outcome.records] == ["ok"] * 4
    by_seed: dict[int, set[str]] = {}
    for record in outcome.records:
        by_seed.setdefault(record.seed, set()).add(record.split["split_id"])
        assert record.schema_version == 1
        assert record.dataset["fingerprint"] and record.model["config_hash"]
        assert record.environment["backend"] == "cpu" and "jax" in record.environment["packages"]
        assert record.plugins["model"][0] == "recbench"
        assert record.throughput["eval_users_per_s"] > 0
        per_user = runner.store.load_per_user(record.run_key)
        assert np.isclose(per_user["ndcg@10"].mean(), record.metrics["ndcg@10"])
        assert per_user["users"].shape[0] == record.evaluation["n_users"]
    assert all(len(ids) == 1 for ids in by_seed.values())  # every model of a seed got the same split
    assert by_seed[0] != by_seed[1]
    mf = [r for r in outcome.records if r.model["name"] == "mf_bpr"]
    assert mf[0].throughput["train_compile_s"] > 0 and mf[0].throughput["train_examples_per_s"] > 0
    ndcg = {r.model["name"]: r.metrics["ndcg@10"] for r in outcome.records if r.seed == 0}
    assert ndcg["mf_bpr"] > ndcg["pop"] + 0.05

    again = Runner(host, _sweep(tmp_path, [{"name": "pop"}, FAST_MF]), progress=None).run()
    assert again.skipped == 4 and again.records == []
    assert len(list((tmp_path / "out" / "records").glob("*.json"))) == 4


def test_failing_and_diverging_models_become_status_rows(tmp_path: Path) -> None:
    host = PluginHost(autoload=False, extra_plugins=[("failing", FailingModels())])
    sweep = _sweep(tmp_path, [{"name": "pop"}, {"name": "boom"}, {"name": "nan_loss"}, {"name": "pop", "config": {}}], seeds=(0,))
    outcome = Runner(host, sweep, progress=None).run()
    status = {r.model["name"]: (r.status, r.message) for r in outcome.records}
    assert status["boom"] == ("error", "RuntimeError: builder exploded")
    assert status["nan_loss"][0] == "diverged" and "loss became nan at epoch 1" in status["nan_loss"][1]
    assert status["pop"][0] == "ok"
    stored = {json.loads(p.read_text())["status"] for p in (tmp_path / "out" / "records").glob("*.json")}
    assert stored == {"ok", "error", "diverged"}


def test_unknown_names_fail_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match="did you mean 'mf_bpr'"):
        Runner(PluginHost(autoload=False), _sweep(tmp_path, [{"name": "mf_bpx"}]), progress=None)
    assert not (tmp_path / "out").exists()


def _recbench(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-m", "recbench.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=900)


def _table_rows(stdout: str) -> dict[str, list[str]]:
    """Markdown table rows keyed by the model column (the header row is keyed "model"); bold removed."""
    rows, column = {}, None
    for line in stdout.splitlines():
        cells = [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-"}:
            continue
        if column is None:
            column = cells.index("model")
        rows[cells[column]] = cells
    return rows


def test_cli_default_run_mf_bpr_beats_pop(tmp_path: Path) -> None:
    result = _recbench([], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    header = rows["model"]
    ndcg = header.index("ndcg@10")
    mf, pop = (float(rows[m][ndcg].split("±")[0]) for m in ("mf_bpr", "pop"))
    assert mf > 2 * pop
    assert rows["mf_bpr"][header.index("n")] == "3"
    assert any(h.startswith("train ex/s (cpu)") for h in header)
    assert (tmp_path / "recbench-results" / "leaderboard.md").is_file()


def test_cli_ml100k_mf_bpr_clearly_beats_pop(tmp_path: Path, data_dir: Path) -> None:
    result = _recbench(["run", "--datasets", "ml-100k", "--models", "pop,mf_bpr", "--seeds", "0"], tmp_path,
                       RECBENCH_DATA_DIR=str(data_dir))
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    ndcg = rows["model"].index("ndcg@10")
    assert float(rows["mf_bpr"][ndcg]) > float(rows["pop"][ndcg]) + 0.08


def test_cli_runs_the_example_plugin_like_a_builtin(tmp_path: Path) -> None:
    result = _recbench(["run", "--datasets", "example-blocks", "--models", "pop,example_biased_mf",
                        "--metrics", "ndcg@10,example_rr@10", "--seeds", "0"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    rr = rows["model"].index("example_rr@10")
    assert float(rows["example_biased_mf"][rr]) > float(rows["pop"][rr])
    record = json.loads(next((tmp_path / "recbench-results" / "records").glob("*.json")).read_text())
    assert record["plugins"]["dataset"][0] == "recbench-example"


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("recbench: error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_cli_unknown_model(tmp_path: Path) -> None:
    result = _recbench(["run", "--models", "mf_bprr"], tmp_path)
    assert result.returncode == 2
    assert "unknown model 'mf_bprr'; did you mean 'mf_bpr'" in _one_error_line(result)
    assert "hint: run `recbench list models`" in result.stderr
    verbose = _recbench(["run", "--models", "mf_bprr", "--verbose"], tmp_path)
    assert "Traceback" in verbose.stderr


def test_cli_malformed_u_data(tmp_path: Path, ml100k_copy: Path) -> None:
    path = ml100k_copy / "ml-100k" / "u.data"
    lines = path.read_text().splitlines(keepends=True)
    lines[99] = "196\t242\n"
    path.write_text("".join(lines))
    result = _recbench(["run", "--datasets", "ml-100k", "--models", "pop", "--seeds", "0"], tmp_path,
                       RECBENCH_DATA_DIR=str(ml100k_copy))
    assert result.returncode == 1
    line = _one_error_line(result)
    assert f"{path}:100: expected 4 tab-separated fields, found 2" in line and "restore the original" in line


def test_cli_missing_data_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = _recbench(["run", "--datasets", "ml-100k", "--models", "pop", "--seeds", "0"], tmp_path,
                       RECBENCH_DATA_DIR=str(tmp_path / "empty"))
    assert result.returncode == 1
    line = _one_error_line(result)
    assert "u.data (missing)" in line and "put u.data, u.item, u.user" in line and str(tmp_path / "empty" / "ml-100k") in line


def test_published_candidates_preprocessing_and_labelled_sampled_results(tmp_path: Path, data_dir: Path) -> None:
    """deepcf-lastfm ships NCF-style candidates: the test part is ranked among them and labelled so."""
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["hit@10", "ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "deepcf-lastfm", "preprocess": [{"step": "deduplicate"}]}],
        "models": [{"name": "pop"}, {"name": "mf_bpr", "config": {"dim": 32},
                                     "training": {"epochs": 20, "learning_rate": 1e-2}}],
    })
    outcome = Runner(PluginHost(autoload=False), sweep, data_dir=str(data_dir), progress=None).run()
    assert [r.status for r in outcome.records] == ["ok", "ok"], [r.message for r in outcome.records]
    for record in outcome.records:
        assert record.evaluation["protocol"] == "sampled[file:99]"
        assert record.evaluation["n_users"] == 1741
        assert record.split["candidates"] == {"source": "file:99", "users": 1741, "per_user": 99}
        assert record.dataset["preprocessing"][0]["step"] == "deduplicate"
    hit = {r.model["name"]: r.metrics["hit@10"] for r in outcome.records}
    assert 0.3 < hit["pop"] < hit["mf_bpr"]  # 1 positive among 100: random would give 0.1

    from recbench.results.leaderboard import render

    assert "sampled among file:99 candidates" in render(outcome.records)


def test_sampled_and_full_results_never_share_a_table(tmp_path: Path) -> None:
    base = {"name": "synthetic", "params": SMALL}
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["hit@10"], "out": str(tmp_path / "out"),
        "datasets": [base], "models": [{"name": "pop"}],
    })
    sampled = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["hit@10"], "out": str(tmp_path / "out"),
        "datasets": [{**base, "candidates": {"negatives": 50, "sampling": "popularity"}}], "models": [{"name": "pop"}],
    })
    host = PluginHost(autoload=False)
    records = Runner(host, sweep, progress=None).run().records + Runner(host, sampled, progress=None).run().records
    from recbench.results.leaderboard import boards

    titles = [b.title for b in boards(records)]
    assert len(titles) == 2
    assert any("full ranking" in t for t in titles) and any("popularity:50" in t for t in titles)


def test_cold_start_rows_are_counted_and_excluded_on_request(tmp_path: Path, data_dir: Path) -> None:
    """deepcf-amusic has 43 users that appear only in test."""
    def run(cold_start: str):
        sweep = sweep_from_mapping({
            "name": "t", "seeds": [0], "metrics": ["hit@10"], "out": str(tmp_path / cold_start),
            "datasets": [{"name": "deepcf-amusic", "cold_start": cold_start}], "models": [{"name": "pop"}],
        })
        return Runner(PluginHost(autoload=False), sweep, data_dir=str(data_dir), progress=None).run().records[0]

    included, excluded = run("include"), run("exclude")
    assert included.evaluation["test_cold_users"] == excluded.evaluation["test_cold_users"] == 43
    assert included.evaluation["n_users"] == 1776
    assert excluded.evaluation["n_users"] <= 1776 - 43


def test_rating_metrics_rank_lower_first_and_skip_models_without_predict(tmp_path: Path, data_dir: Path) -> None:
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["rmse", "ndcg@10", "rating_accuracy@4"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "ml-100k", "protocol_params": {"test_fraction": 0.2, "valid_fraction": 0.1}}],
        "models": [{"name": "pop"}, {"name": "biased_mf", "training": {"epochs": 10, "eval_every": 2,
                                                                        "early_stopping_metric": "rmse"}}],
    })
    runner = Runner(PluginHost(autoload=False), sweep, data_dir=str(data_dir), progress=None)
    records = {r.model["name"]: r for r in runner.run().records}
    assert "rmse" not in records["pop"].metrics and "ndcg@10" in records["pop"].metrics
    mf = records["biased_mf"]
    assert 0.85 < mf.metrics["rmse"] < 1.0 and mf.validation["rmse"] > 0
    # 55,375 of ml-100k's 100,000 ratings are 4+: a constant prediction scores about 0.554
    assert 0.57 < mf.metrics["rating_accuracy@4"] < 0.9
    assert mf.training["validation_curve"] and all(v < 0 for _, v in mf.training["validation_curve"])  # -rmse
    per_user = runner.store.load_per_user(mf.run_key)
    assert per_user["rmse"].shape == per_user["users"].shape == per_user["rating_accuracy@4"].shape
    from recbench.results.leaderboard import boards

    (board,) = boards(list(records.values()), ["rmse", "ndcg@10"])
    assert board.table.loc[0, "model"] == "biased_mf" and board.higher_is_better["rmse"] is False


def test_run_key_changes_with_an_effective_default(tmp_path: Path) -> None:
    import dataclasses

    host = PluginHost(autoload=False)
    runner = Runner(host, _sweep(tmp_path, [{"name": "mf_bpr"}]), progress=None)
    choice, model = runner.sweep.datasets[0], runner.sweep.models[0]
    key = runner.run_key(choice, model, 0)
    spec = host.model("mf_bpr").spec
    changed = dataclasses.replace(spec, default_config={**spec.default_config, "dim": 7})
    host._index["models"]["mf_bpr"] = dataclasses.replace(host._index["models"]["mf_bpr"], spec=changed)
    assert runner.run_key(choice, model, 0) != key
    assert runner.run_key(choice, dataclasses.replace(model, config={"dim": 7}), 0) == runner.run_key(choice, model, 0)
