"""Host training settings: one frozen dataclass, validated from the run configuration."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recbench.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "adagrad", "sgd")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """How the host trains a model; the same for every model unless its spec or the run overrides it.

    Attributes:
        epochs: maximum epochs.
        batch_size: examples per step (static shape).
        optimizer: one of :data:`OPTIMIZERS` (optax).
        learning_rate: step size.
        momentum: for ``sgd``.
        weight_decay: for ``adamw``.
        eval_every: validate every this many epochs (0: never; train all epochs).
        patience: stop after this many validations without improvement; best parameters are restored.
        early_stopping_metric: validation metric, e.g. ``ndcg@10``.
        time_budget_s: stop training after this many seconds (checked between epochs); None: no limit.
        exclude_positive_negatives: resample sampled negatives that are the user's training items.
    """

    epochs: int = 30
    batch_size: int = 4096
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    eval_every: int = 5
    patience: int = 3
    early_stopping_metric: str = "ndcg@10"
    time_budget_s: float | None = None
    exclude_positive_negatives: bool = True

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "training") -> TrainConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown training settings {unknown}; known: {sorted(known)}")
        cfg = cls(**values)
        if cfg.optimizer not in OPTIMIZERS:
            raise ConfigError(f"{where}: optimizer {cfg.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(cfg, name), int) or getattr(cfg, name) < 1:
                raise ConfigError(f"{where}: {name}={getattr(cfg, name)!r} must be a positive integer")
        if not cfg.learning_rate > 0:
            raise ConfigError(f"{where}: learning_rate={cfg.learning_rate!r} must be positive")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_optimizer(cfg: TrainConfig) -> Any:
    """The optax transformation named by ``cfg``."""
    import optax

    if cfg.optimizer == "adam":
        return optax.adam(cfg.learning_rate)
    if cfg.optimizer == "adamw":
        return optax.adamw(cfg.learning_rate, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adagrad":
        return optax.adagrad(cfg.learning_rate)
    return optax.sgd(cfg.learning_rate, momentum=cfg.momentum or None)
