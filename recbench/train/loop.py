"""The host training driver: compile one epoch once, run epochs, validate, stop early, time everything."""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from recbench.data.split import Split
from recbench.errors import ConfigError, DivergedError, TrainingError
from recbench.train.compiled_epochs import compile_cached
from recbench.train.config import TrainConfig
from recbench.train.distributed import distribute, make_mesh, shard_batch
from recbench.train.family import BatchSampler, FamilyPlan, check_loss_output, check_methods
from recbench.train.sparse import make_updater

Validator = Callable[[Any], float]

#: family -> "module:function" returning a FamilyPlan; imported when a model of the family trains.
FAMILY_PLANNERS: dict[str, str] = {
    "pairwise": "recbench.train.pairwise:plan_pairwise",
    "rating": "recbench.train.rating:plan_rating",
    "pointwise": "recbench.train.pointwise:plan_pointwise",
    "listwise": "recbench.train.listwise:plan_listwise",
    "sequential": "recbench.train.sequential:plan_sequential",
}


@dataclass
class TrainOutcome:
    """What training did, for the run record.

    ``train_seconds`` is steady state: compilation (``compile_seconds``) and validation are excluded.
    ``compile_cached``: the epoch's executable came from an earlier run of the process with the same
    program (:mod:`recbench.train.compiled_epochs`); ``compile_seconds`` is then tracing and lowering.
    """

    model: Any
    epochs: int = 0
    compile_seconds: float = 0.0
    compile_cached: bool = False
    train_seconds: float = 0.0
    examples: int = 0
    losses: list[float] = field(default_factory=list)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_by: str = "max_epochs"
    validation_seconds: float = 0.0

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.train_seconds if self.train_seconds > 0 else float("nan")


def train(model: Any, family: str, split: Split, cfg: TrainConfig, seed: int,
          validate: Validator | None = None) -> TrainOutcome:
    """Train ``model`` of ``family`` on ``split.train`` with the host loop.

    Raises:
        DivergedError: the loss became NaN or Inf.
        ConfigError: the family has no host loop in this version.
        TrainingError: the model lacks a method of its family, or its loss is not a float scalar.
    """
    if family != "closed_form" and family not in FAMILY_PLANNERS:
        known = ", ".join(["closed_form", *FAMILY_PLANNERS])
        raise ConfigError(f"model family {family!r} has no host training loop yet (available: {known})")
    check_methods(model, family)
    if family == "closed_form":
        return _fit_closed_form(model, split)
    module_name, function = FAMILY_PLANNERS[family].split(":")
    plan: FamilyPlan = getattr(importlib.import_module(module_name), function)(split, cfg, model)
    return run_epochs(model, plan, cfg, seed, validate, family=family)


def early_stopping_status(cfg: TrainConfig, family: str, has_validation_part: bool, validates: bool) -> str:
    """Whether a run stops early, and if not why, for its record (``training.early_stopping``).

    ``validates``: the run has a validation function (a split without a validation part has none, nor a
    model the early-stopping metric cannot evaluate, e.g. a rating metric for a model without ``predict``).
    """
    if family == "closed_form":
        return "off: a closed-form model is fitted once"
    if cfg.eval_every == 0:
        return "off: eval_every is 0"
    if not has_validation_part:
        return "off: the split has no validation part"
    if not validates:
        return f"off: {cfg.early_stopping_metric} cannot be evaluated for this model on the validation part"
    if cfg.eval_every > cfg.epochs:
        return f"off: eval_every ({cfg.eval_every}) exceeds epochs ({cfg.epochs})"
    every = "every epoch" if cfg.eval_every == 1 else f"every {cfg.eval_every} epochs"
    return f"on: {cfg.early_stopping_metric} {every}, patience {cfg.patience}"


def _fit_closed_form(model: Any, split: Split) -> TrainOutcome:
    start = time.perf_counter()
    returned = model.fit(split.train)
    if returned is not None and returned is not model:  # a fitted copy would be thrown away, the unfitted model scored
        raise TrainingError(f"{type(model).__name__}.fit(train) returned a {type(returned).__name__}; a closed-form "
                            "model fits itself in place", hint="update the model's variables in fit and return None")
    jax.block_until_ready(nnx.state(model))
    seconds = time.perf_counter() - start
    return TrainOutcome(model=model, epochs=1, train_seconds=seconds, examples=len(split.train), stopped_by="closed_form")


#: Most bytes of minibatches an epoch draws ahead of the steps that train on them (see make_epoch).
PRESAMPLE_MAX_BYTES = 64 * 2**20


def presample_chunk(sample: BatchSampler, data: Any, n_steps: int, max_bytes: int | None = None) -> int:
    """How many steps' minibatches :func:`make_epoch` draws at once: all of them, unless they would
    take more than ``max_bytes`` (default :data:`PRESAMPLE_MAX_BYTES`). Counted are the batches
    themselves; the sampler's intermediates come on top (at most 1.4x the batches in the built-in
    families, for listwise's dense rows; a test holds every family under 2x). Then a chunk that
    divides the epoch, if one of at least half the budget exists (a last, shorter chunk is a second
    copy of the step in the compiled program), else the budget; at least one step."""
    max_bytes = PRESAMPLE_MAX_BYTES if max_bytes is None else max_bytes
    batch = jax.eval_shape(sample, jax.random.key(0), jnp.int32(0), data)
    step_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(batch))
    budget = max(1, min(n_steps, max_bytes // max(step_bytes, 1)))
    divisor = next((c for c in range(budget, budget // 2, -1) if n_steps % c == 0), None)
    return divisor or budget


def make_epoch(update: Callable[[Any, Any, Any, Any], tuple[Any, Any, jax.Array]], sample: BatchSampler,
               n_steps: int, mesh: Mesh | None = None, out_shardings: Any = None, chunk: int | None = None) -> Any:
    """A jitted ``epoch(params, rest, opt_state, key, epoch, data) -> (params, opt_state, mean_loss)``.

    ``update`` is one optimizer step (:class:`recbench.train.sparse.Updater`); parameters and
    optimizer state are donated; ``epoch`` is folded into the key so every epoch differs without
    recompiling. Step ``s`` trains on ``sample(keys[s], global_step, data)``. The minibatches of
    ``chunk`` steps are drawn together (``vmap`` of ``sample``: a few large kernels instead of a
    handful of small ones per step; the same batches bit for bit), then ``lax.scan`` runs the steps
    over them; ``chunk`` defaults to :func:`presample_chunk` (every step of the epoch unless their
    batches pass :data:`PRESAMPLE_MAX_BYTES`). With a ``mesh`` every minibatch is
    split along its batch axis over the devices and the outputs keep ``out_shardings``.
    """

    def epoch(params: Any, rest: Any, opt_state: Any, key: jax.Array, epoch_index: jax.Array,
              data: Any) -> tuple[Any, Any, jax.Array]:
        steps_per_chunk = presample_chunk(sample, data, n_steps) if chunk is None else max(1, min(chunk, n_steps))
        def step(carry: tuple[Any, Any], batch: Any) -> tuple[tuple[Any, Any], jax.Array]:
            params, opt_state = carry
            if mesh is not None:
                batch = shard_batch(mesh, batch)
            params, opt_state, loss = update(params, rest, opt_state, batch)
            return (params, opt_state), loss

        def run_steps(carry: tuple[Any, Any], keys_C: jax.Array, steps_C: jax.Array) -> tuple[tuple[Any, Any], jax.Array]:
            batches = jax.vmap(sample, in_axes=(0, 0, None))(keys_C, steps_C, data)
            if mesh is not None:  # each device draws its part of every batch
                batches = shard_batch(mesh, batches, axis=1)
            return jax.lax.scan(step, carry, batches)

        keys = jax.random.split(jax.random.fold_in(key, epoch_index), n_steps)
        global_steps = (epoch_index - 1) * n_steps + jnp.arange(n_steps)  # epochs count from 1
        n_chunks, tail = divmod(n_steps, steps_per_chunk)
        head = n_chunks * steps_per_chunk
        carry = (params, opt_state)
        if n_chunks == 1:
            carry, losses = run_steps(carry, keys[:head], global_steps[:head])
        else:
            carry, losses = jax.lax.scan(lambda c, xs: run_steps(c, *xs), carry,
                                         (keys[:head].reshape(n_chunks, steps_per_chunk),
                                          global_steps[:head].reshape(n_chunks, steps_per_chunk)))
            losses = losses.reshape(head)
        if tail:
            carry, tail_losses = run_steps(carry, keys[head:], global_steps[head:])
            losses = jnp.concatenate([losses, tail_losses])
        params, opt_state = carry
        return params, opt_state, jnp.mean(losses)

    return jax.jit(epoch, donate_argnums=(0, 2), out_shardings=out_shardings)


def run_epochs(model: Any, plan: FamilyPlan, cfg: TrainConfig, seed: int, validate: Validator | None, *,
               family: str) -> TrainOutcome:
    """Check the model's loss on one of the family's batches, compile the epoch once (timed apart), then
    run epochs with validation and early stopping."""
    graphdef, params, rest, _, updater = make_updater(model, cfg, plan.steps_per_epoch)
    data = plan.data
    key = jax.random.key(seed)
    outcome = TrainOutcome(model=model)
    mesh, out_shardings, unpad = None, None, (lambda params: params)
    # compile time includes tracing the loss for its check, the optimizer state's (jitted) initialisation
    # and, on a mesh, placing the data
    start = time.perf_counter()
    batch = jax.eval_shape(plan.sample, key, jnp.int32(0), data)
    check_loss_output(updater.loss, updater.loss_call, (params, rest, batch), model, family)
    if cfg.devices > 1 or cfg.shard_tables:
        mesh = make_mesh(cfg.devices)
        placed = distribute(mesh, params, rest, data, updater.init, cfg.shard_tables)
        params, rest, data, opt_state = placed.params, placed.rest, placed.data, placed.opt_state
        out_shardings, unpad = placed.out_shardings, placed.unpad
    else:
        opt_state = jax.jit(updater.init)(params)  # one compiled call, not dozens of eager ops
    epoch_fn = make_epoch(updater.step, plan.sample, plan.steps_per_epoch, mesh, out_shardings)
    epoch_program = compile_cached(epoch_fn.lower(params, rest, opt_state, key, jnp.int32(0), data))
    compiled, outcome.compile_cached = epoch_program.executable, epoch_program.cached
    # freeing the traced program (the jit function's jaxpr and lowering, the step's closures: ~4 ms for
    # an MF-BPR epoch) is part of compiling it, not a cost of training: done here, not on return
    del epoch_fn, epoch_program, updater
    outcome.compile_seconds = time.perf_counter() - start

    best_value, best_params, stale = -math.inf, None, 0
    run_start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        start = time.perf_counter()
        params, opt_state, loss = compiled(params, rest, opt_state, key, np.int32(epoch), data)
        loss_value = float(loss)  # one scalar per epoch leaves the device
        outcome.train_seconds += time.perf_counter() - start
        outcome.epochs = epoch
        outcome.examples += plan.steps_per_epoch * plan.examples_per_step
        outcome.losses.append(loss_value)
        if not math.isfinite(loss_value):
            raise DivergedError(
                f"loss became {loss_value} at epoch {epoch}",
                hint="lower the learning rate or raise regularisation",
            )
        if validate is not None and cfg.eval_every and epoch % cfg.eval_every == 0:
            start = time.perf_counter()
            value = validate(nnx.merge(graphdef, *unpad(params), rest))
            outcome.validation_seconds += time.perf_counter() - start
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
    outcome.model = nnx.merge(graphdef, *unpad(params), rest)
    return outcome
