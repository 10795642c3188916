"""The pairwise family: (user, a training item of theirs, a sampled negative) triples."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax

from recbench.data.split import Split
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, hand_training_part
from recbench.train.sampling import DeviceInteractions, sample_negatives, to_device


class PairwiseBatch(NamedTuple):
    """One minibatch of the pairwise family: user, a training item of theirs, a sampled negative."""

    users_B: jax.Array
    pos_B: jax.Array
    neg_B: jax.Array


def plan_pairwise(split: Split, cfg: TrainConfig, model: Any) -> FamilyPlan:
    """Rows drawn uniformly with replacement (as implicit's BPR does; ``jax.random.permutation``
    sorts and was half the epoch), one uniform negative per row, redrawn twice when it is a training
    item of the user. ``ceil(n_train / batch_size)`` steps make one pass in expectation."""
    train = split.train
    if len(train) == 0:
        raise ConfigError(f"split {split.split_id} has an empty training part")
    hand_training_part(model, split)
    data, depth = to_device(train.user_idx, train.item_idx, train.n_users)
    n_items, batch_size = train.n_items, cfg.batch_size
    rounds = 2 if cfg.exclude_positive_negatives else 0

    def sample(step_key: jax.Array, global_step: jax.Array, data: DeviceInteractions) -> PairwiseBatch:
        row_key, neg_key = jax.random.split(step_key)
        rows_B = jax.random.randint(row_key, (batch_size,), 0, data.users_N.shape[0])
        users_B = data.users_N[rows_B]
        neg_B = sample_negatives(neg_key, data, users_B, n_items, depth, rounds)
        return PairwiseBatch(users_B, data.items_N[rows_B], neg_B)

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(len(train) / batch_size),
                      examples_per_step=batch_size)
