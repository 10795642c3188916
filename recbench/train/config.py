"""Host training settings: one frozen dataclass, validated from the run configuration."""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import typing
from collections.abc import Callable, Mapping
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

    A run record's ``training.early_stopping`` says whether these settings stopped it early and, when
    not, why (:func:`recbench.train.loop.early_stopping_status`), e.g. ``on: ndcg@10 every 2 epochs,
    patience 3``, ``off: eval_every is 0``, ``off: the split has no validation part``, ``off: eval_every
    (50) exceeds epochs (3)`` or ``off: a closed-form model is fitted once``.
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
        """The settings in ``values`` over the defaults, each checked against :data:`SETTING_RULES`.

        Raises:
            ConfigError: one line naming ``where``, the setting, its value and what is allowed.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown training settings {unknown}; known: {sorted(known)}")
        cfg = cls(**{name: _checked(name, value, where) for name, value in values.items()})
        if cfg.sparse_optimizer == "sgd" and cfg.momentum:
            raise ConfigError(f"{where}: sparse_optimizer 'sgd' has no momentum (momentum={cfg.momentum!r}); "
                              "set momentum to 0 or use sparse_optimizer 'adam'")
        if cfg.devices > 1 and cfg.batch_size % cfg.devices:
            raise ConfigError(f"{where}: batch_size={cfg.batch_size} is not divisible by devices={cfg.devices}; "
                              "pick a batch size that is a multiple of the device count")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: The settings with a choice of names: ``name 'value' is not one of ...``.
SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "sparse_optimizer": SPARSE_OPTIMIZERS,
}

#: What a setting's value must be beside its type, and how an error states the whole requirement. The
#: type comes from :class:`TrainConfig`'s annotations: true/false is not a number, an integer is a number,
#: None only where the annotation allows it, numbers are finite.
SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "epochs": (lambda v: v >= 1, "a positive integer"),
    "batch_size": (lambda v: v >= 1, "a positive integer"),
    "learning_rate": (lambda v: v > 0, "a positive number"),
    "momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "weight_decay": (lambda v: v >= 0, "a number >= 0"),
    "eval_every": (lambda v: v >= 0, "an integer >= 0 (validate every this many epochs; 0: never)"),
    "patience": (lambda v: v >= 1, "a positive integer (validations without improvement before stopping)"),
    "early_stopping_metric": (lambda v: bool(v.strip()), "a metric name such as 'ndcg@10'"),
    "time_budget_s": (lambda v: v > 0, "a positive number of seconds (or omitted: no limit)"),
    "warmup_epochs": (lambda v: v >= 0, "a number >= 0"),
    "decay_rate": (lambda v: v > 0, "a positive number (the exponential schedule's factor per epoch)"),
    "sparse_learning_rate": (lambda v: v > 0, "positive (a number, or omitted to use learning_rate)"),
    "devices": (lambda v: v >= 1, "a positive integer (local devices to train data-parallel on)"),
}

_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_QUOTES_HINT = "in a TOML file quotes make a string: write numbers and true/false without them"


@functools.cache
def _setting_types() -> dict[str, tuple[type, bool]]:
    """Each setting's value type and whether None is allowed, from :class:`TrainConfig`'s annotations."""
    types = {}
    for name, hint in typing.get_type_hints(TrainConfig).items():
        args = typing.get_args(hint) or (hint,)
        types[name] = (next(a for a in args if a is not type(None)), type(None) in args)
    return types


def _anything(value: Any) -> bool:
    return True


def _of_type(value: Any, kind: type) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    return isinstance(value, {int: numbers.Integral, float: numbers.Real}.get(kind, kind))


def _checked(name: str, value: Any, where: str) -> Any:
    """``value`` of setting ``name`` as a plain Python value (numpy scalars too), or a one-line ConfigError."""
    kind, optional = _setting_types()[name]
    if value is None and optional:
        return None
    check, requirement = SETTING_RULES.get(name, (_anything, _KINDS[kind]))
    if not _of_type(value, kind):
        raise ConfigError(f"{where}: {name}={value!r} must be {requirement}, not {type(value).__name__}",
                          hint=_QUOTES_HINT if isinstance(value, str) else None)
    plain = kind(value)
    if name in SETTING_CHOICES and plain not in SETTING_CHOICES[name]:
        raise ConfigError(f"{where}: {name} {value!r} is not one of {', '.join(SETTING_CHOICES[name])}"
                          + (" ('none' keeps the dense optax optimizer)" if name == "sparse_optimizer" else ""))
    if (kind is float and not math.isfinite(plain)) or not check(plain):
        raise ConfigError(f"{where}: {name}={value!r} must be {requirement}")
    return plain


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
