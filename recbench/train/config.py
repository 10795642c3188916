"""Host training settings: one frozen dataclass, validated from the run configuration."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from recbench.errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "adagrad", "sgd")
SCHEDULES = ("constant", "cosine", "linear", "exponential")
#: Row-wise optimizers for row-sparse embedding tables (:mod:`recbench.train.sparse`); ``none``: dense optax.
SPARSE_OPTIMIZERS = ("none", "sgd", "adagrad", "adam")


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
        early_stopping_metric: validation metric, e.g. ``ndcg@10``. In a sweep, when no setting names
            one: ``ndcg@10`` if the sweep reports it, else the sweep's first metric; a named one is
            evaluated on the validation part even when ``metrics`` lack it (then it is not
            reported), and an unknown one is refused before the first run.
        time_budget_s: stop training after this many seconds (checked between epochs); None: no limit.
        exclude_positive_negatives: resample sampled negatives that are the user's training items.
        schedule: learning-rate schedule over the run's steps: ``constant``, ``cosine`` (decay to 0),
            ``linear`` (decay to 0) or ``exponential`` (``decay_rate`` per epoch).
        warmup_epochs: linear warm-up from 0 over this many epochs (any schedule).
        decay_rate: the per-epoch factor of the ``exponential`` schedule.
        sparse_optimizer: one of :data:`SPARSE_OPTIMIZERS`. Not ``none``: the tables a model declares
            row-sparse (``sparse_tables``) are updated row-wise, only at the batch's rows, by this
            optimizer (``adam`` is lazy Adam); the other parameters keep ``optimizer``. See
            :mod:`recbench.train.sparse`.
        sparse_learning_rate: the row-wise optimizer's step size (same schedule); None: ``learning_rate``.
        devices: train data-parallel over this many local devices (a ``jax.sharding.Mesh``, axis
            ``data``); the global batch is the same for any count, so results do not depend on it.
        shard_tables: split the row-sparse tables (and their optimizer state) by rows over the mesh.
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
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    decay_rate: float = 0.9
    sparse_optimizer: str = "none"
    sparse_learning_rate: float | None = None
    devices: int = 1
    shard_tables: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "training") -> TrainConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown training settings {unknown}; known: {sorted(known)}")
        cfg = cls(**values)
        if cfg.schedule not in SCHEDULES:
            raise ConfigError(f"{where}: schedule {cfg.schedule!r} is not one of {', '.join(SCHEDULES)}")
        if cfg.optimizer not in OPTIMIZERS:
            raise ConfigError(f"{where}: optimizer {cfg.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if cfg.sparse_optimizer not in SPARSE_OPTIMIZERS:
            raise ConfigError(f"{where}: sparse_optimizer {cfg.sparse_optimizer!r} is not one of "
                              f"{', '.join(SPARSE_OPTIMIZERS)} ('none' keeps the dense optax optimizer)")
        if cfg.sparse_optimizer == "sgd" and cfg.momentum:
            raise ConfigError(f"{where}: sparse_optimizer 'sgd' has no momentum (momentum={cfg.momentum!r}); "
                              "set momentum to 0 or use sparse_optimizer 'adam'")
        if cfg.sparse_learning_rate is not None and not (
                isinstance(cfg.sparse_learning_rate, (int, float)) and cfg.sparse_learning_rate > 0):
            raise ConfigError(f"{where}: sparse_learning_rate={cfg.sparse_learning_rate!r} must be positive "
                              "(or omitted to use learning_rate)")
        if isinstance(cfg.devices, bool) or not isinstance(cfg.devices, int) or cfg.devices < 1:
            raise ConfigError(f"{where}: devices={cfg.devices!r} must be a positive integer (local devices "
                              "to train data-parallel on)")
        if cfg.devices > 1 and cfg.batch_size % cfg.devices:
            raise ConfigError(f"{where}: batch_size={cfg.batch_size} is not divisible by devices={cfg.devices}; "
                              "pick a batch size that is a multiple of the device count")
        if not isinstance(cfg.shard_tables, bool):
            raise ConfigError(f"{where}: shard_tables={cfg.shard_tables!r} must be true or false")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(cfg, name), int) or getattr(cfg, name) < 1:
                raise ConfigError(f"{where}: {name}={getattr(cfg, name)!r} must be a positive integer")
        if not cfg.learning_rate > 0:
            raise ConfigError(f"{where}: learning_rate={cfg.learning_rate!r} must be positive")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def learning_rate_schedule(cfg: TrainConfig, steps_per_epoch: int) -> Any:
    """An optax schedule (step -> learning rate) for ``cfg`` over ``cfg.epochs`` epochs."""
    import optax

    total = max(1, cfg.epochs * steps_per_epoch)
    warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
    rest = max(1, total - warmup)
    if cfg.schedule == "cosine":
        main = optax.cosine_decay_schedule(cfg.learning_rate, rest)
    elif cfg.schedule == "linear":
        main = optax.linear_schedule(cfg.learning_rate, 0.0, rest)
    elif cfg.schedule == "exponential":
        main = optax.exponential_decay(cfg.learning_rate, steps_per_epoch, cfg.decay_rate)
    else:
        main = optax.constant_schedule(cfg.learning_rate)
    if warmup <= 0:
        return main
    return optax.join_schedules([optax.linear_schedule(0.0, cfg.learning_rate, warmup), main], [warmup])


def make_optimizer(cfg: TrainConfig, steps_per_epoch: int = 1) -> Any:
    """The optax transformation named by ``cfg``, with its learning-rate schedule.

    ``adam`` and ``adamw`` are :mod:`recbench.train.adam`'s: optax's algorithm, defaults and state,
    with the update arranged as ``torch.optim.Adam`` (one division per parameter instead of three;
    ~10% of an MF-BPR step on ML-1M), equal to ``optax.adam`` up to rounding.
    """
    import optax

    from recbench.train import adam

    lr = cfg.learning_rate if cfg.schedule == "constant" and cfg.warmup_epochs <= 0 else \
        learning_rate_schedule(cfg, steps_per_epoch)
    if cfg.optimizer == "adam":
        return adam.adam(lr)
    if cfg.optimizer == "adamw":
        return adam.adamw(lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adagrad":
        return optax.adagrad(lr)
    return optax.sgd(lr, momentum=cfg.momentum or None)
