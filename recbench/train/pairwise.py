"""The pairwise family's epoch: sample (user, positive, negative) triples on the device, scan the steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from recbench.train.sampling import DeviceInteractions, sample_negatives


class PairwiseBatch(NamedTuple):
    """One minibatch of the pairwise family: user, a training item of theirs, a sampled negative."""

    users_B: jax.Array
    pos_B: jax.Array
    neg_B: jax.Array


def make_pairwise_epoch(
    graphdef: Any,
    tx: optax.GradientTransformation,
    *,
    n_steps: int,
    batch_size: int,
    n_items: int,
    search_depth: int,
    negative_rounds: int,
) -> Any:
    """A jitted ``epoch(params, rest, opt_state, key, epoch, data) -> (params, opt_state, mean_loss)``.

    Each step draws ``batch_size`` training rows uniformly with replacement (as implicit's BPR does;
    ``jax.random.permutation`` sorts and was half the epoch) and one negative per row. ``n_steps`` is
    ``ceil(n_train / batch_size)``, one pass in expectation. Parameters and optimizer state are donated.
    """

    def loss_fn(params: Any, rest: Any, batch: PairwiseBatch) -> jax.Array:
        return nnx.merge(graphdef, params, rest).loss(batch)

    def epoch(params: Any, rest: Any, opt_state: Any, key: jax.Array, epoch_index: jax.Array,
              data: DeviceInteractions) -> tuple[Any, Any, jax.Array]:
        epoch_key = jax.random.fold_in(key, epoch_index)
        n_rows = data.users_N.shape[0]

        def step(carry: tuple[Any, Any], step_key: jax.Array) -> tuple[tuple[Any, Any], jax.Array]:
            params, opt_state = carry
            row_key, neg_key = jax.random.split(step_key)
            rows_B = jax.random.randint(row_key, (batch_size,), 0, n_rows)
            users_B = data.users_N[rows_B]
            neg_B = sample_negatives(neg_key, data, users_B, n_items, search_depth, negative_rounds)
            batch = PairwiseBatch(users_B, data.items_N[rows_B], neg_B)
            loss, grads = jax.value_and_grad(loss_fn)(params, rest, batch)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), jax.random.split(epoch_key, n_steps))
        return params, opt_state, jnp.mean(losses)

    return jax.jit(epoch, donate_argnums=(0, 2))
