"""The sequential family: padded, time-ordered item histories (GRU4Rec, LSTM, SASRec).

Once per run the planner orders each user's training items by timestamp (ties keep row order, as
the ``leave_one_out`` protocol does) and keeps the latest ``max_len + 1`` of them in a left-padded
``U x (max_len + 1)`` int32 table (padding is the item index ``n_items``; the latest item sits in
the last column). It is built with one lexsort, no loop over users, and costs ``4 U (max_len + 1)``
bytes of device memory (27 MB for ML-20M's 138k users at ``max_len = 50``).

Each step draws ``batch_size`` users uniformly with replacement among those with at least two
training items and gives the model, per user, ``inputs = table[u, :-1]`` and ``targets =
table[u, 1:]`` (the next item at every position; ``max_len`` positions), the mask of real positions,
and, for models that ask for it (``needs_negatives = True``), one uniform negative per position
that is not a training item of the user (redrawn twice when ``exclude_positive_negatives``).
``ceil(n_trainable_users / batch_size)`` steps make one pass over the users in expectation.

Scoring. ``score(users_B)`` only receives user indices, so the planner hands the table to the model
(``model.set_histories(table)``), which keeps it in a non-trainable variable (:class:`HistoryStore`)
and encodes ``table[u, 1:]``, the user's latest ``max_len`` training items, to score every item.
At evaluation the history is therefore the user's *training* part only: under ``leave_one_out`` the
validation item that precedes a test item is not in the history used to score the test item. Under
strong generalisation a held-out user's history is the fold-in part (``split.fold_in``: input at
inference, never trained on); the model then gets its own table and the sampler keeps the
training-only one (otherwise both are the same device buffer).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.split import Split, rank_within_user
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, input_rows
from recbench.train.listwise import TrainingData
from recbench.train.sampling import DeviceInteractions, sample_negatives, to_device

DEFAULT_MAX_LEN = 50


class SequentialBatch(NamedTuple):
    """One minibatch of the sequential family (``L = max_len`` positions, ``P = n_items`` is padding).

    Attributes:
        users_B: the sampled users.
        inputs_BxL: the history, left-padded with ``P``.
        targets_BxL: the next item at each position (``inputs`` shifted by one).
        mask_BxL: True where the position has a real input (and so a real target).
        negatives_BxL: one sampled negative per position, or None when the model needs none.
        key: a PRNG key for the model's own randomness (dropout, sampled softmax).
        global_step: int32 0-based step over the run.
    """

    users_B: jax.Array
    inputs_BxL: jax.Array
    targets_BxL: jax.Array
    mask_BxL: jax.Array
    negatives_BxL: jax.Array | None
    key: jax.Array
    global_step: jax.Array


class SequentialData(NamedTuple):
    """What the sequential sampler reads on the device."""

    histories_UxT: jax.Array
    trainable_users_A: jax.Array
    interactions: DeviceInteractions | None


def history_table(user_idx: np.ndarray, item_idx: np.ndarray, timestamp: np.ndarray, n_users: int, width: int,
                  pad: int) -> np.ndarray:
    """Each user's latest ``width`` items by time, left-padded with ``pad``: ``n_users x width`` int32.

    Rows are ordered by (timestamp, row position), so a timestamp tie keeps the data's order.
    Vectorised: one lexsort and one scatter.
    """
    rank, count = rank_within_user(np.asarray(user_idx), np.asarray(timestamp), n_users)
    col = width - count + rank  # the latest row lands in column width - 1
    keep = col >= 0
    table = np.full((n_users, width), pad, dtype=np.int32)
    table[np.asarray(user_idx)[keep], col[keep]] = np.asarray(item_idx)[keep]
    return table


class HistoryStore(nnx.Module):
    """The training histories a sequential model scores from, as a non-trainable variable.

    Holds the planner's ``U x (max_len + 1)`` table; :meth:`window` gives the latest ``max_len``
    items of each user (the training part; see the module docstring).
    """

    def __init__(self, n_users: int, n_items: int, max_len: int) -> None:
        self.pad = n_items
        self.max_len = max_len
        self.histories_UxT = TrainingData(jnp.full((n_users, max_len + 1), n_items, jnp.int32))

    def set(self, histories_UxT: jax.Array) -> None:
        expected = (self.histories_UxT.shape[0], self.max_len + 1)
        if tuple(histories_UxT.shape) != expected:
            raise ConfigError(f"history table has shape {tuple(histories_UxT.shape)}, expected {expected}")
        self.histories_UxT = TrainingData(jnp.asarray(histories_UxT, jnp.int32))

    def window(self, users_B: jax.Array) -> jax.Array:
        """The users' latest ``max_len`` training items, left-padded: ``B x max_len`` int32."""
        return self.histories_UxT[...][users_B, 1:]


def plan_sequential(split: Split, cfg: TrainConfig, model: Any) -> FamilyPlan:
    """Plan sequential training: users uniform with replacement, their shifted histories per step.

    The model provides ``max_len`` (default 50), ``set_histories(table_UxT)`` and optionally
    ``needs_negatives``; the planner calls ``set_histories`` once, here.

    Raises:
        ConfigError: the data has no timestamps, no user has two training items, or the model
            cannot take the histories.
    """
    train = split.train
    if train.timestamp is None:
        raise ConfigError(
            f"dataset {train.name!r} has no timestamps: sequential models need the order of interactions",
            hint="use a dataset with timestamps, or a model of another family",
        )
    if not callable(getattr(model, "set_histories", None)):
        raise ConfigError(
            f"{type(model).__name__} declares family 'sequential' but has no set_histories(table)",
            hint="keep the table in a recbench.train.sequential.HistoryStore and score from it",
        )
    max_len = int(getattr(model, "max_len", DEFAULT_MAX_LEN))
    if max_len < 1:
        raise ConfigError(f"{type(model).__name__}: max_len={max_len} must be at least 1")
    n_items, batch_size = train.n_items, cfg.batch_size
    table = history_table(train.user_idx, train.item_idx, train.timestamp, train.n_users, max_len + 1, n_items)
    counts = np.bincount(train.user_idx, minlength=train.n_users)
    trainable = np.flatnonzero(counts >= 2).astype(np.int32)
    if trainable.shape[0] == 0:
        raise ConfigError(f"dataset {train.name!r}: no user has two training interactions to learn a next item from")
    histories = jnp.asarray(table, jnp.int32)
    if split.fold_in is not None and len(split.fold_in):
        users, items, times = input_rows(split)
        model.set_histories(jnp.asarray(history_table(users, items, times, train.n_users, max_len + 1, n_items),
                                         jnp.int32))
    else:
        model.set_histories(histories)
    needs_negatives = bool(getattr(model, "needs_negatives", False))
    interactions, depth = (to_device(train.user_idx, train.item_idx, train.n_users, train.n_items) if needs_negatives
                           else (None, 0))
    rounds = 2 if cfg.exclude_positive_negatives else 0
    data = SequentialData(histories, jnp.asarray(trainable, jnp.int32), interactions)

    def sample(step_key: jax.Array, global_step: jax.Array, data: SequentialData) -> SequentialBatch:
        pick_B = jax.random.randint(jax.random.fold_in(step_key, 0), (batch_size,), 0,
                                    data.trainable_users_A.shape[0])
        users_B = data.trainable_users_A[pick_B]
        seq_BxT = data.histories_UxT[users_B]
        inputs_BxL, targets_BxL = seq_BxT[:, :-1], seq_BxT[:, 1:]
        mask_BxL = inputs_BxL != n_items  # left padding: a real input always has a real next item
        negatives_BxL = None
        if data.interactions is not None:
            users_N = jnp.broadcast_to(users_B[:, None], inputs_BxL.shape).reshape(-1)
            negatives_BxL = sample_negatives(jax.random.fold_in(step_key, 2), data.interactions, users_N, n_items,
                                             depth, rounds).reshape(inputs_BxL.shape)
        return SequentialBatch(users_B, inputs_BxL, targets_BxL, mask_BxL, negatives_BxL,
                               jax.random.fold_in(step_key, 1), global_step)

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(trainable.shape[0] / batch_size),
                      examples_per_step=batch_size)
