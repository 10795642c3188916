"""The runner's guards: a broken dataset or splitter plugin skips only its own runs, bad model
settings fail the sweep before the first run, and per-entry state (preprocessing) is kept per entry."""

from __future__ import annotations

from pathlib import Path

import pytest

import recbench
from recbench.config import sweep_from_mapping
from recbench.errors import ConfigError
from recbench.manager import PluginHost
from recbench.runner import Runner

SMALL = {"n_users": 300, "n_items": 200, "mean_per_user": 25}


class BrokenPlugins:
    """A dataset whose loader and a splitter whose split raise exceptions that are not RecbenchErrors."""

    @recbench.hookimpl
    def recbench_datasets(self):
        def load(ctx):
            raise ValueError("could not convert string to float: 'x'")

        yield recbench.DatasetSpec(name="broken_data", version="1", description="raises", load=load)

    @recbench.hookimpl
    def recbench_splitters(self):
        def split(data, params, seed):
            raise KeyError("fold")

        yield recbench.SplitterSpec(name="broken_split", version="1", description="raises", split=split)


def _sweep(tmp_path: Path, datasets: list, models: list) -> recbench.config.SweepConfig:
    return sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"], "datasets": datasets,
                               "models": models, "out": str(tmp_path / "out")})


def test_a_broken_dataset_or_splitter_plugin_skips_only_its_own_runs(tmp_path: Path) -> None:
    host = PluginHost(autoload=False, extra_plugins=[("broken", BrokenPlugins())])
    datasets = [{"name": "broken_data"}, {"name": "synthetic", "params": SMALL, "protocol": "broken_split"},
                {"name": "synthetic", "params": SMALL}]
    outcome = Runner(host, _sweep(tmp_path, datasets, [{"name": "pop"}]), progress=None).run()
    assert [(r.dataset["name"], r.status) for r in outcome.records] == [("synthetic", "ok")]
    loader_error, split_error = outcome.errors
    assert loader_error.startswith("dataset 'broken_data': dataset plugin 'broken_data' (")
    assert "raised ValueError: could not convert string to float: 'x'" in loader_error
    assert "splitter plugin 'broken_split'" in split_error and "raised KeyError: 'fold'" in split_error
    assert all("\n" not in e for e in outcome.errors)


def test_preprocessing_reports_belong_to_their_own_dataset_entry(tmp_path: Path) -> None:
    datasets = [{"name": "synthetic", "params": SMALL, "preprocess": [{"step": "kcore", "users": 5, "items": 5}]},
                {"name": "synthetic", "params": SMALL}]
    outcome = Runner(PluginHost(autoload=False), _sweep(tmp_path, datasets, [{"name": "pop"}]), progress=None).run()
    with_kcore, without = outcome.records
    assert [r["step"] for r in with_kcore.dataset["preprocessing"]] == ["kcore"]
    assert without.dataset["preprocessing"] == []


@pytest.mark.parametrize(("model", "message"), [
    ({"name": "mf_bpr", "training": {"epochs": 2, "learnig_rate": 0.1}},
     r"\[\[models\]\] entry 'mf_bpr' training: unknown training settings \['learnig_rate'\]"),
    ({"name": "mf_bpr", "training": {"optimizer": "adamm"}}, r"entry 'mf_bpr' training: optimizer 'adamm'"),
    ({"name": "mf_bpr", "label": "small", "config": {"dimm": 8}},
     r"entry 'mf_bpr' \(label 'small'\): config does not fit MFBPR: got an unexpected keyword argument 'dimm'; "
     r"its config keys are \['dim', 'l2', 'loss', 'init_std'\]"),
    ({"name": "itemknn", "config": {"neighbors": 10}}, r"config does not fit ItemKNN: .*'neighbors'"),
    ({"name": "mf_bpr", "config": {"seed": 3}}, r"config key 'seed' is set by the host"),
])
def test_bad_model_settings_fail_the_sweep_before_any_run(tmp_path: Path, model: dict, message: str) -> None:
    sweep = _sweep(tmp_path, [{"name": "synthetic", "params": SMALL}], [{"name": "pop"}, model])
    with pytest.raises(ConfigError, match=message) as info:
        Runner(PluginHost(autoload=False), sweep, progress=None)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_sweep_level_training_typos_are_caught_too(tmp_path: Path) -> None:
    sweep = sweep_from_mapping({"name": "t", "seeds": [0], "datasets": [{"name": "synthetic", "params": SMALL}],
                                "models": [{"name": "pop"}], "training": {"epoch": 3}, "out": str(tmp_path / "out")})
    with pytest.raises(ConfigError, match=r"entry 'pop' training: unknown training settings \['epoch'\]"):
        Runner(PluginHost(autoload=False), sweep, progress=None)


def test_good_settings_and_builders_of_their_own_pass(tmp_path: Path) -> None:
    models = [{"name": "pop"}, {"name": "mf_bpr", "config": {"dim": 8, "loss": "bpr"}, "training": {"epochs": 1}},
              {"name": "ease", "config": {"l2": 100.0}}]
    Runner(PluginHost(autoload=False), _sweep(tmp_path, [{"name": "synthetic", "params": SMALL}], models),
           progress=None)


def test_excluding_cold_rows_of_a_protocol_whose_test_users_are_all_cold_says_so(tmp_path: Path) -> None:
    datasets = [{"name": "synthetic", "params": SMALL, "protocol": "strong_generalization", "cold_start": "exclude"}]
    outcome = Runner(PluginHost(autoload=False), _sweep(tmp_path, datasets, [{"name": "pop"}]), progress=None).run()
    (error,) = outcome.errors
    assert "cold_start = 'exclude' removed all" in error and "test users or items are all unseen" in error
    assert "cold_start = 'include'" in error and outcome.records == []
