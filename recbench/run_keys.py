"""Run keys: the hash naming one run of a sweep, and the leaderboard row of every run of a sweep.

The runner names records (and resumes sweeps) by :func:`run_key`; leaderboards find the
``[[models]]`` entry of a record by the same keys (:func:`row_names`), so the two never disagree.
"""

from __future__ import annotations

from typing import Any

from recbench.config import DatasetChoice, ModelChoice, SweepConfig
from recbench.errors import ConfigError, PluginError
from recbench.manager import PluginHost
from recbench.results.record import stable_hash
from recbench.results.rows import RowNames
from recbench.types import ModelSpec


def effective_config(spec: ModelSpec, choice: ModelChoice) -> dict[str, Any]:
    """The model config a run builds with: the plugin's defaults, then the entry's ``config``."""
    return {**spec.default_config, **choice.config}


def effective_training(spec: ModelSpec, sweep: SweepConfig, choice: ModelChoice) -> dict[str, Any]:
    """A run's host training settings: the model's defaults, the sweep's ``[training]``, then the entry's."""
    return {**spec.default_training, **sweep.training, **choice.training}


def run_key(host: PluginHost, sweep: SweepConfig, choice: DatasetChoice, model: ModelChoice, seed: int) -> str:
    """Hash of what defines a run: the dataset choice, protocol, model with its *effective* config
    and training settings (defaults merged, so changing a default is a new run), seed, metrics.

    A model entry's ``label`` is not part of it: labelling an entry reruns nothing.

    Raises:
        PluginError: the dataset, its protocol or the model is not installed.
    """
    spec = host.dataset(choice.name).spec
    protocol = choice.protocol or spec.default_protocol
    model_spec = host.model(model.name).spec
    return stable_hash({
        "dataset": [spec.version, choice.key()],
        "protocol": [protocol, host.splitter(protocol).spec.version],
        "model": [model.name, model_spec.version, effective_config(model_spec, model),
                  effective_training(model_spec, sweep, model)],
        "seed": seed,
        "metrics": list(sweep.metrics),
    })


def row_names(host: PluginHost, sweep: SweepConfig, *, strict: bool = False) -> RowNames:
    """The leaderboard row of every run of ``sweep``, by run key (see :class:`RowNames`).

    Args:
        host: the plugins, whose versions and defaults are part of the keys.
        sweep: the sweep configuration.
        strict: raise when a dataset or model of the sweep is not installed; otherwise the runs of
            that pair are left out, and their records fall back to :meth:`RowNames.row`'s settings rule.

    Raises:
        ConfigError: two entries of different rows define the same runs (identical effective settings),
            so one record would belong to both rows.
        PluginError: with ``strict``, a plugin of the sweep is not installed.
    """
    by_run_key: dict[str, str] = {}
    for choice in sweep.datasets:
        for model in sweep.models:
            row = model.label or model.name
            try:
                keys = [run_key(host, sweep, choice, model, seed) for seed in sweep.seeds]
            except PluginError:
                if strict:
                    raise
                continue
            for key in keys:
                other = by_run_key.setdefault(key, row)
                if other != row:
                    raise ConfigError(
                        f"the [[models]] entries of rows {sorted((other, row))} define the same runs of {model.name} "
                        "(the same effective config and training settings), so their records cannot be told apart",
                        hint="give those entries different settings, or drop one of them")
    return RowNames(by_run_key, tuple(sweep.models))
