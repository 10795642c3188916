"""Early stopping works whatever the sweep reports: its validation metric is evaluated even when the
sweep's metrics lack it, and a bad one fails the sweep before the first run."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbench.config import sweep_from_mapping
from recbench.errors import ConfigError
from recbench.manager import PluginHost
from recbench.runner import Runner

SMALL = {"n_users": 300, "n_items": 200, "mean_per_user": 25}


def _sweep(tmp_path: Path, metrics: list[str], training: dict) -> object:
    model = {"name": "mf_bpr", "config": {"dim": 8}, "training": {"epochs": 6, "eval_every": 2, "patience": 1,
                                                                     "learning_rate": 0.02, **training}}
    return sweep_from_mapping({"name": "t", "seeds": [0], "metrics": metrics, "out": str(tmp_path / "out"),
                               "datasets": [{"name": "synthetic", "params": SMALL}], "models": [model]})


@pytest.mark.parametrize("stopping", ["ndcg@10", "NDCG@10", "recall@20"])
def test_early_stopping_validates_on_its_metric_though_the_sweep_reports_others(tmp_path: Path, stopping) -> None:
    sweep = _sweep(tmp_path, ["recall@10", "mrr@10"], {"early_stopping_metric": stopping})
    (record,) = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    assert record.status == "ok"
    curve = record.training["validation_curve"]
    assert [epoch for epoch, _ in curve][:2] == [2, 4] and record.training["best_epoch"] is not None
    assert set(record.metrics) == {"recall@10", "mrr@10"}  # the stopping metric is used, not reported
    assert set(record.validation) == {"recall@10", "mrr@10"}


def test_a_reported_stopping_metric_gives_the_curve_its_validation_values(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, ["ndcg@10"], {})
    (record,) = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    best = dict(record.training["validation_curve"])[record.training["best_epoch"]]
    assert best == pytest.approx(max(v for _, v in record.training["validation_curve"]))


@pytest.mark.parametrize(("stopping", "message"), [
    ("ndcgg@10", "early_stopping_metric 'ndcgg@10'"),
    ("ndcg", "needs a cutoff"),
    ("ndcg@0", "the cutoff must be at least 1"),
])
def test_a_bad_stopping_metric_fails_the_sweep_before_any_run(tmp_path: Path, stopping, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Runner(PluginHost(autoload=False), _sweep(tmp_path, ["recall@10"], {"early_stopping_metric": stopping}),
               progress=None)
    assert not (tmp_path / "out" / "records").exists() or not any((tmp_path / "out" / "records").iterdir())


def test_no_validation_no_stopping_metric_check(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, ["recall@10"], {"early_stopping_metric": "whatever", "eval_every": 0})
    (record,) = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    assert record.status == "ok" and record.training["validation_curve"] == []


def test_without_a_named_metric_a_rating_sweep_stops_on_its_first_metric(tmp_path: Path, data_dir: Path) -> None:
    model = {"name": "mf", "config": {"dim": 8}, "training": {"epochs": 6, "eval_every": 2, "patience": 1}}
    sweep = sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["rmse", "mae"], "out": str(tmp_path / "out"),
                                "datasets": [{"name": "ml-100k"}], "models": [model]})
    (record,) = Runner(PluginHost(autoload=False), sweep, progress=None, data_dir=str(data_dir)).run().records
    assert record.status == "ok" and record.evaluation["protocol"] == "rating"
    curve = dict(record.training["validation_curve"])
    assert curve and set(record.metrics) == {"rmse", "mae"}
    assert all(-2.0 < value < 0 for value in curve.values())  # -rmse: lower is better, so maximised negated


def test_without_a_named_metric_the_default_is_kept_when_the_sweep_reports_it(tmp_path: Path) -> None:
    from recbench.sweep_checks import training_config

    host = PluginHost(autoload=False)
    sweep = _sweep(tmp_path, ["recall@10", "ndcg@10"], {})
    assert training_config(host.model("mf_bpr").spec, sweep, sweep.models[0]).early_stopping_metric == "ndcg@10"
    only_recall = _sweep(tmp_path, ["recall@10"], {})
    assert training_config(host.model("mf_bpr").spec, only_recall, only_recall.models[0]).early_stopping_metric == \
        "recall@10"
