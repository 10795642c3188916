"""The listwise family: whole training rows of the user-item matrix (Mult-DAE, Mult-VAE, CDAE).

Each step draws ``batch_size`` users uniformly with replacement from the users that have training
rows and hands the model their rows as a dense ``B x I`` binary matrix, built on the device by one
scatter. ``ceil(n_active_users / batch_size)`` steps make one pass over the users in expectation.

Where the rows come from. The training items live on the device grouped by user (CSR: ``indptr``
of ``n_users + 1`` int32 and ``items`` of ``N`` int32). A batch reads, for each sampled user, a
window of ``L = max_u |I_u|`` slots starting at the user's offset, which is exactly that user's row
of the padded ``U x L`` item table (slots past the user's count are padding, dropped by the scatter).
Keeping the CSR instead of materialising the padded table costs ``4 (N + U + 1)`` bytes of device
memory instead of ``4 U L``: on ML-20M (138k users, 20M rows, longest history 9,254) that is 80 MB
instead of 5.1 GB, with the same per-step work (a ``B x L`` gather, ``L <= I``, then the ``B x I``
scatter). Per-step memory is dominated by the dense ``B x I`` float32 rows: ``4 B I`` bytes
(500 x 26,744 items = 54 MB on ML-20M), plus the model's activations of that shape.

Scoring. ``score(users_B)`` only receives user indices, but an autoencoder scores a user from the
user's row. The planner therefore hands a CSR of the input rows to the model (``model.set_user_rows``),
which keeps it in non-trainable variables (:class:`UserRowStore`); the host passes those through the
training loop unchanged and the evaluator sees them. At evaluation the input row is the user's
*training* part (validation items are not folded in for the test evaluation), plus, under strong
generalisation, the held-out users' fold-in rows (``split.fold_in``: input at inference, never
trained on). Without fold-in rows the model's CSR and the sampler's are the same device buffers.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.split import Split
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, input_rows


class TrainingData(nnx.Variable):
    """Non-trainable training data a model keeps for scoring (rows, histories). Never optimised."""


class UserItems(NamedTuple):
    """Training items grouped by user on the device (CSR). ``items_N[indptr_U1[u]:indptr_U1[u+1]]``
    are user ``u``'s items, in the order of the training rows."""

    indptr_U1: jax.Array
    items_N: jax.Array


class ListwiseBatch(NamedTuple):
    """One minibatch of the listwise family.

    Attributes:
        users_B: the sampled users (int32; with replacement, so a user may repeat).
        rows_BxI: their training rows, binary float32.
        key: a PRNG key for the model's own randomness (input dropout, the VAE's noise).
        global_step: int32 0-based step over the run (KL annealing).
    """

    users_B: jax.Array
    rows_BxI: jax.Array
    key: jax.Array
    global_step: jax.Array


class ListwiseData(NamedTuple):
    """What the listwise sampler reads on the device."""

    active_users_A: jax.Array
    rows: UserItems


def user_items(user_idx: np.ndarray, item_idx: np.ndarray, n_users: int) -> tuple[UserItems, int]:
    """(user, item) rows as a device CSR, and the window width ``max_u |I_u|`` (at least 1)."""
    user_idx = np.asarray(user_idx)
    order = np.argsort(user_idx, kind="stable")
    counts = np.bincount(user_idx, minlength=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    items = np.asarray(item_idx)[order] if user_idx.shape[0] else np.zeros(1, np.int32)
    width = max(int(counts.max(initial=0)), 1)
    return UserItems(jnp.asarray(indptr, jnp.int32), jnp.asarray(items, jnp.int32)), width


def padded_items(rows: UserItems, users_B: jax.Array, width: int, pad: int) -> jax.Array:
    """The users' rows of the padded item table: ``B x width`` int32, ``pad`` past each user's count."""
    start_B = rows.indptr_U1[users_B]
    count_B = rows.indptr_U1[users_B + 1] - start_B
    slot_L = jnp.arange(width, dtype=jnp.int32)
    pos_BxL = jnp.minimum(start_B[:, None] + slot_L, rows.items_N.shape[0] - 1)
    return jnp.where(slot_L < count_B[:, None], rows.items_N[pos_BxL], pad)


def dense_rows(rows: UserItems, users_B: jax.Array, width: int, n_items: int) -> jax.Array:
    """The users' binary rows of the user-item matrix, ``B x I`` float32, by one scatter."""
    items_BxL = padded_items(rows, users_B, width, n_items)
    row_BxL = jnp.broadcast_to(jnp.arange(users_B.shape[0])[:, None], items_BxL.shape)
    return jnp.zeros((users_B.shape[0], n_items), jnp.float32).at[row_BxL, items_BxL].set(1.0, mode="drop")


class UserRowStore(nnx.Module):
    """The input rows a listwise model scores from, as non-trainable variables (a device CSR).

    Built empty with the model; :meth:`set` fills it (the planner calls it through
    ``model.set_user_rows``) before the host splits the model, so the evaluator sees it.
    """

    def __init__(self, n_users: int, n_items: int) -> None:
        self.n_items = n_items
        self.width = 1
        self.indptr_U1 = TrainingData(jnp.zeros((n_users + 1,), jnp.int32))
        self.items_N = TrainingData(jnp.zeros((1,), jnp.int32))

    def set(self, rows: UserItems, width: int) -> None:
        self.indptr_U1 = TrainingData(rows.indptr_U1)
        self.items_N = TrainingData(rows.items_N)
        self.width = int(width)

    def rows(self, users_B: jax.Array) -> jax.Array:
        """The users' input rows, ``B x I`` binary float32 (all zero before :meth:`set`)."""
        return dense_rows(UserItems(self.indptr_U1[...], self.items_N[...]), users_B, self.width, self.n_items)


def plan_listwise(split: Split, cfg: TrainConfig, model: Any) -> FamilyPlan:
    """Plan listwise training: users uniform with replacement, their dense training rows per step.

    The model must implement ``set_user_rows(rows: UserItems, width: int)`` (keeping them for
    ``score``; see :class:`UserRowStore`); the planner calls it once, here, with the training rows
    and any fold-in rows (the sampler only ever reads training rows).

    Raises:
        ConfigError: the training part is empty, or the model cannot take its training rows.
    """
    train = split.train
    if len(train) == 0:
        raise ConfigError(f"split {split.split_id} of {train.name!r} has an empty training part")
    if not callable(getattr(model, "set_user_rows", None)):
        raise ConfigError(
            f"{type(model).__name__} declares family 'listwise' but has no set_user_rows(rows, width)",
            hint="keep the rows in a recbench.train.listwise.UserRowStore and score from it",
        )
    rows, width = user_items(train.user_idx, train.item_idx, train.n_users)
    if split.fold_in is not None and len(split.fold_in):
        users, items, _ = input_rows(split)
        model.set_user_rows(*user_items(users, items, train.n_users))
    else:
        model.set_user_rows(rows, width)
    active = np.flatnonzero(np.bincount(train.user_idx, minlength=train.n_users)).astype(np.int32)
    data = ListwiseData(active_users_A=jnp.asarray(active, jnp.int32), rows=rows)
    n_items, batch_size = train.n_items, cfg.batch_size

    def sample(step_key: jax.Array, global_step: jax.Array, data: ListwiseData) -> ListwiseBatch:
        pick_B = jax.random.randint(jax.random.fold_in(step_key, 0), (batch_size,), 0, data.active_users_A.shape[0])
        users_B = data.active_users_A[pick_B]
        rows_BxI = dense_rows(data.rows, users_B, width, n_items)
        return ListwiseBatch(users_B, rows_BxI, jax.random.fold_in(step_key, 1), global_step)

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(active.shape[0] / batch_size),
                      examples_per_step=batch_size)
