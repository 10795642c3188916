"""The host training driver: compile once, run epochs, validate, stop early, time everything."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.split import Split
from recbench.errors import ConfigError, DivergedError
from recbench.train.config import TrainConfig, make_optimizer
from recbench.train.pairwise import make_pairwise_epoch
from recbench.train.sampling import to_device

Validator = Callable[[Any], float]


@dataclass
class TrainOutcome:
    """What training did, for the run record.

    ``train_seconds`` is steady state: compilation (``compile_seconds``) and validation are excluded.
    """

    model: Any
    epochs: int = 0
    compile_seconds: float = 0.0
    train_seconds: float = 0.0
    examples: int = 0
    losses: list[float] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_by: str = "max_epochs"

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.train_seconds if self.train_seconds > 0 else float("nan")


def train(model: Any, family: str, split: Split, cfg: TrainConfig, seed: int,
          validate: Validator | None = None) -> TrainOutcome:
    """Train ``model`` of ``family`` on ``split.train`` with the host loop.

    Raises:
        DivergedError: the loss became NaN or Inf.
        ConfigError: the family has no host loop in this version.
    """
    if family == "closed_form":
        return _fit_closed_form(model, split)
    if family == "pairwise":
        return _train_pairwise(model, split, cfg, seed, validate)
    raise ConfigError(f"model family {family!r} has no host training loop yet (available: pairwise, closed_form)")


def _fit_closed_form(model: Any, split: Split) -> TrainOutcome:
    start = time.perf_counter()
    model.fit(split.train)
    jax.block_until_ready(nnx.state(model))
    seconds = time.perf_counter() - start
    return TrainOutcome(model=model, epochs=1, train_seconds=seconds, examples=len(split.train), stopped_by="closed_form")


def _train_pairwise(model: Any, split: Split, cfg: TrainConfig, seed: int, validate: Validator | None) -> TrainOutcome:
    train_part = split.train
    if len(train_part) == 0:
        raise ConfigError(f"split {split.split_id} has an empty training part")
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    tx = make_optimizer(cfg)
    opt_state = tx.init(params)
    data, depth = to_device(train_part.user_idx, train_part.item_idx, train_part.n_users)
    n_steps = math.ceil(len(train_part) / cfg.batch_size)
    epoch_fn = make_pairwise_epoch(
        graphdef, tx, n_steps=n_steps, batch_size=cfg.batch_size, n_items=train_part.n_items,
        search_depth=depth, negative_rounds=2 if cfg.exclude_positive_negatives else 0,
    )
    key = jax.random.key(seed)
    outcome = TrainOutcome(model=model)
    start = time.perf_counter()
    compiled = epoch_fn.lower(params, rest, opt_state, key, jnp.int32(0), data).compile()
    outcome.compile_seconds = time.perf_counter() - start

    best_value, best_params, stale = -math.inf, None, 0
    run_start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        params, opt_state, loss = compiled(params, rest, opt_state, key, np.int32(epoch), data)
        loss_value = float(loss)  # one scalar per epoch leaves the device
        outcome.train_seconds += time.perf_counter() - start
        outcome.epochs, outcome.examples = epoch, outcome.examples + n_steps * cfg.batch_size
        outcome.losses.append(loss_value)
        if not math.isfinite(loss_value):
            raise DivergedError(
                f"loss became {loss_value} at epoch {epoch}",
                hint="lower the learning rate or raise regularisation",
            )
        if validate is not None and cfg.eval_every and epoch % cfg.eval_every == 0:
            value = validate(nnx.merge(graphdef, params, rest))
            outcome.validation.append((epoch, value))
            if value > best_value:
                best_value, stale, outcome.best_epoch = value, 0, epoch
                best_params = jax.tree.map(lambda x: x.copy(), params)
            else:
                stale += 1
                if stale >= cfg.patience:
                    outcome.stopped_by = "early_stopping"
                    break
        if cfg.time_budget_s is not None and time.perf_counter() - run_start > cfg.time_budget_s:
            outcome.stopped_by = "time_budget"
            break
    if best_params is not None:
        params = best_params
    outcome.model = nnx.merge(graphdef, params, rest)
    return outcome
