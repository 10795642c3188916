"""Training settings are checked for type and range, each bad value a one-line ConfigError naming it;
every shipped configuration still passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recbench.config import load_sweep, sweep_from_mapping
from recbench.errors import ConfigError
from recbench.manager import PluginHost
from recbench.run_keys import effective_training
from recbench.runner import Runner
from recbench.train.config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
QUOTES = "in a TOML file quotes make a string"


@pytest.mark.parametrize(("settings", "message"), [
    # a quoted value is a string, never silently a number or a truth value
    ({"eval_every": "1"}, "eval_every='1' must be an integer >= 0 (validate every this many epochs; 0: never), not str"),
    ({"patience": "2"}, "patience='2' must be a positive integer"),
    ({"momentum": "0.9"}, "momentum='0.9' must be a number in [0, 1), not str"),
    ({"weight_decay": "0.1"}, "weight_decay='0.1' must be a number >= 0, not str"),
    ({"decay_rate": "x"}, "decay_rate='x' must be a positive number"),
    ({"warmup_epochs": "1"}, "warmup_epochs='1' must be a number >= 0, not str"),
    ({"time_budget_s": "10"}, "time_budget_s='10' must be a positive number of seconds (or omitted: no limit), not str"),
    ({"learning_rate": "0.01"}, "learning_rate='0.01' must be a positive number, not str"),
    ({"exclude_positive_negatives": "false"}, "exclude_positive_negatives='false' must be true or false, not str"),
    ({"early_stopping_metric": 10}, "early_stopping_metric=10 must be a metric name such as 'ndcg@10', not int"),
    # true/false is not a number, a fraction is not an integer, None only where the default is None
    ({"batch_size": True}, "batch_size=True must be a positive integer, not bool"),
    ({"epochs": True}, "epochs=True must be a positive integer, not bool"),
    ({"eval_every": 2.5}, "eval_every=2.5 must be an integer >= 0 (validate every this many epochs; 0: never), not float"),
    ({"patience": 1.5}, "patience=1.5 must be a positive integer"),
    ({"epochs": None}, "epochs=None must be a positive integer, not NoneType"),
    ({"shard_tables": 1}, "shard_tables=1 must be true or false, not int"),
    # ranges
    ({"patience": 0}, "patience=0 must be a positive integer (validations without improvement before stopping)"),
    ({"patience": -1}, "patience=-1 must be a positive integer"),
    ({"eval_every": -1}, "eval_every=-1 must be an integer >= 0"),
    ({"time_budget_s": -1}, "time_budget_s=-1 must be a positive number of seconds"),
    ({"time_budget_s": 0}, "time_budget_s=0 must be a positive number of seconds"),
    ({"time_budget_s": float("nan")}, "time_budget_s=nan must be a positive number of seconds"),
    ({"learning_rate": float("inf")}, "learning_rate=inf must be a positive number"),
    ({"decay_rate": -1.0}, "decay_rate=-1.0 must be a positive number (the exponential schedule's factor per epoch)"),
    ({"momentum": -0.5}, "momentum=-0.5 must be a number in [0, 1)"),
    ({"momentum": 1}, "momentum=1 must be a number in [0, 1)"),
    ({"weight_decay": -1.0}, "weight_decay=-1.0 must be a number >= 0"),
    ({"warmup_epochs": -3}, "warmup_epochs=-3 must be a number >= 0"),
    ({"early_stopping_metric": " "}, "early_stopping_metric=' ' must be a metric name"),
    ({"optimizer": 3}, "optimizer=3 must be a string, not int"),
])
def test_a_bad_training_value_is_one_line_naming_the_setting_value_and_what_is_allowed(settings, message) -> None:
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_mapping(settings, where="[[models]] entry 'mf_bpr' training")
    text = str(caught.value)
    assert text.startswith(f"[[models]] entry 'mf_bpr' training: {message}"), text
    assert "\n" not in text
    # a quoted number or truth value (a string where none belongs) is told about TOML's quotes
    assert (caught.value.hint or "").startswith(QUOTES) == text.endswith(", not str")


def test_good_values_are_kept_as_plain_python_values() -> None:
    cfg = TrainConfig.from_mapping({"learning_rate": 1, "epochs": np.int64(3), "momentum": np.float32(0.5),
                                    "time_budget_s": None, "sparse_learning_rate": None, "warmup_epochs": 0,
                                    "exclude_positive_negatives": False})
    assert cfg.learning_rate == 1.0 and type(cfg.learning_rate) is float
    assert cfg.epochs == 3 and type(cfg.epochs) is int
    assert cfg.momentum == 0.5 and type(cfg.momentum) is float
    assert cfg.time_budget_s is None and cfg.sparse_learning_rate is None and cfg.exclude_positive_negatives is False


def test_every_built_in_default_and_every_published_configuration_passes() -> None:
    host = PluginHost(autoload=False)
    for name, registered in host.all("models").items():
        TrainConfig.from_mapping(registered.spec.default_training, where=f"model {name!r} default_training")
    paths = sorted((REPO / "leaderboards").glob("*.toml"))
    assert paths
    for path in paths:
        sweep = load_sweep(path)
        for choice in sweep.models:
            TrainConfig.from_mapping(effective_training(host.model(choice.name).spec, sweep, choice),
                                     where=f"{path.name} {choice.name}")


@pytest.mark.parametrize("training", [{"eval_every": "1"}, {"early_stopping_metric": 10}, {"patience": "2"}])
def test_a_sweep_with_a_quoted_or_mistyped_setting_fails_up_front_with_a_config_error(tmp_path: Path,
                                                                                       training) -> None:
    sweep = sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"],
                                "datasets": [{"name": "synthetic", "params": {"n_users": 30, "n_items": 20}}],
                                "models": [{"name": "mf_bpr", "training": training}], "out": str(tmp_path / "out")})
    with pytest.raises(ConfigError, match=rf"^\[\[models\]\] entry 'mf_bpr' training: {next(iter(training))}="):
        Runner(PluginHost(autoload=False), sweep, progress=None)
