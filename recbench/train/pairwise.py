"""The pairwise family: (user, a training item of theirs, a sampled negative) triples."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax

from recbench.data.split import Split
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, hand_training_part
from recbench.train.sampling import DeviceInteractions, exclude_positives, to_device, uniform_draws


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
    data, depth = to_device(train.user_idx, train.item_idx, train.n_users, train.n_items)
    n_items, batch_size = train.n_items, cfg.batch_size
    rounds = 2 if cfg.exclude_positive_negatives else 0

    def sample(step_key: jax.Array, global_step: jax.Array, data: DeviceInteractions) -> PairwiseBatch:
        rows_B, *negatives = uniform_draws(step_key, (data.users_N.shape[0],) + (n_items,) * (rounds + 1),
                                           (batch_size,))
        users_B = data.users_N[rows_B]
        return PairwiseBatch(users_B, data.items_N[rows_B], exclude_positives(data, users_B, negatives, depth))

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(len(train) / batch_size),
                      examples_per_step=batch_size)
