"""Checks of a sweep's ``[[models]]`` entries before the first run: a typo fails the sweep once, up front,
instead of failing every run of that entry after its dataset was loaded and split.

An entry is checked for its effective training settings (validated as each run will validate them) and,
for models built by :func:`recbench.builtin.models.lazy.lazy_builder`, for a config that fits the model
class's constructor. A plugin's own builder is not inspected: what its config means is its own business,
and a failure there still becomes that run's status row.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from recbench.builtin.models.lazy import LazyTarget
from recbench.config import ModelChoice, SweepConfig
from recbench.errors import ConfigError, PluginError
from recbench.evaluate.metric_names import MetricRef, parse_metric
from recbench.manager import PluginHost
from recbench.run_keys import effective_config, effective_training
from recbench.types import ModelBuilder, ModelSpec

#: The constructor parameters a lazy builder fills itself (after ``self``): never config keys.
_FILLED_BY_BUILDER = 2  # n_users, n_items


def check_model_entries(host: PluginHost, sweep: SweepConfig) -> None:
    """Refuse the sweep when an entry's training settings or model config cannot work.

    Raises:
        ConfigError: one line naming the entry and the bad setting or config key.
    """
    for choice in sweep.models:
        spec = host.model(choice.name).spec
        training_config(spec, sweep, choice)  # from_mapping checks every setting's type and range
        _check_config(spec, choice, _entry_name(choice))


def training_config(spec: ModelSpec, sweep: SweepConfig, choice: ModelChoice) -> Any:
    """The :class:`~recbench.train.config.TrainConfig` a run of the entry trains with.

    Its effective settings (:func:`effective_training`); early stopping on TrainConfig's default metric
    (``ndcg@10``) when the sweep reports it, else on the sweep's first metric (e.g. ``rmse`` in a rating
    sweep), unless a setting names the metric. The run key and the record keep the settings as given.
    """
    from recbench.train.config import TrainConfig

    values = effective_training(spec, sweep, choice)
    if "early_stopping_metric" not in values:
        default = TrainConfig.__dataclass_fields__["early_stopping_metric"].default  # ndcg@10
        default = default if default in sweep.metrics else sweep.metrics[0]
        values = {**values, "early_stopping_metric": default}
    return TrainConfig.from_mapping(values, where=f"{_entry_name(choice)} training")


def check_metric(host: PluginHost, ref: MetricRef, where: str) -> None:
    """Refuse a metric that is not installed (PluginError) or lacks the cutoff it needs (ConfigError)."""
    if host.metric(ref.name).spec.needs_cutoff and ref.k is None:
        raise ConfigError(f"{where} needs a cutoff, e.g. {ref.name}@10")


def early_stopping_metrics(host: PluginHost, sweep: SweepConfig) -> list[MetricRef]:
    """The validation metrics the entries stop early on (trained families with ``eval_every`` > 0).

    They are evaluated on every split's validation part even when the sweep does not report them: an
    early-stopping metric missing from ``metrics`` would otherwise turn early stopping off unnoticed.

    Raises:
        ConfigError: an entry's ``early_stopping_metric`` is malformed, unknown or needs a cutoff.
    """
    refs: dict[str, MetricRef] = {}
    for choice in sweep.models:
        spec = host.model(choice.name).spec
        cfg = training_config(spec, sweep, choice)
        if cfg.eval_every <= 0 or spec.family == "closed_form":  # a closed-form fit has no epochs to stop
            continue
        where = f"{_entry_name(choice)} training: early_stopping_metric {cfg.early_stopping_metric!r}"
        ref = parse_metric(cfg.early_stopping_metric)
        try:
            check_metric(host, ref, where)
        except PluginError as exc:
            raise ConfigError(f"{where}: {exc}", hint="name one of the metrics `recbench plugins` lists") from None
        refs.setdefault(str(ref), ref)
    return list(refs.values())


def lazy_model_class(build: ModelBuilder) -> tuple[type, bool] | None:
    """The class a lazy_builder builder constructs and whether it passes ``seed``.

    None for any other builder, and when the class cannot be imported (the run then records why).
    """
    target = getattr(build, "lazy_target", None)
    if not isinstance(target, LazyTarget):
        return None
    try:
        cls = getattr(importlib.import_module(target.module_name), target.class_name)
    except (ImportError, AttributeError):
        return None
    return cls, target.seeded


def _entry_name(choice: ModelChoice) -> str:
    label = f" (label {choice.label!r})" if choice.label else ""
    return f"[[models]] entry {choice.name!r}{label}"


def _check_config(spec: ModelSpec, choice: ModelChoice, entry: str) -> None:
    built = lazy_model_class(spec.build)
    if built is None:
        return
    cls, seeded = built
    config = effective_config(spec, choice)
    if seeded and "seed" in config:
        raise ConfigError(f"{entry}: config key 'seed' is set by the host (each run's init seed)",
                          hint="remove it from the config; the sweep's seeds choose it")
    init = inspect.signature(cls.__init__)
    try:
        init.bind(None, *range(_FILLED_BY_BUILDER), **config, **({"seed": 0} if seeded else {}))
    except TypeError as exc:
        raise ConfigError(f"{entry}: config does not fit {cls.__name__}: {exc}; its config keys are "
                          f"{_config_keys(init)}", hint="fix the key's spelling in the entry's config") from None


def _config_keys(init: inspect.Signature) -> list[str]:
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(init.parameters.values())[1 + _FILLED_BY_BUILDER:]
    return [p.name for p in params if p.kind in keyword and p.name != "seed"]
