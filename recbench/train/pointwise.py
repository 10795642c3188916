"""The pointwise family: training pairs labelled 1 and sampled negatives labelled 0 (NCF-style)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from recbench.data.split import Split
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, hand_training_part
from recbench.train.sampling import DeviceInteractions, sample_negatives, to_device, uniform_draws

DEFAULT_NEGATIVES = 4


class PointwiseBatch(NamedTuple):
    """One minibatch of the pointwise family.

    The first ``P`` rows are training pairs (label 1); then, for each negative round ``j`` in
    ``0..n_neg-1``, the same ``P`` users with sampled items (label 0). ``B = P * (1 + n_neg)``.
    """

    users_B: jax.Array
    items_B: jax.Array
    labels_B: jax.Array


def plan_pointwise(split: Split, cfg: TrainConfig, model: Any) -> FamilyPlan:
    """Each step draws ``P = batch_size // (1 + n_neg)`` training pairs uniformly with replacement and
    ``n_neg`` uniform negatives per pair; a negative that is a training item of its user is redrawn
    (twice, with :func:`sample_negatives`) unless ``cfg.exclude_positive_negatives`` is off.

    A model that reads the binary training matrix itself (DeepCF's user rows and item columns)
    implements ``set_training_matrix(users_N, items_N)``; :func:`recbench.train.family.hand_training_part`
    calls it once, with the (user, item) rows models may read at inference (training plus fold-in rows).

    ``n_neg`` is the model's ``negatives`` attribute (its config; default 4 as in He et al. 2017).
    ``ceil(n_train / P)`` steps make one pass over the training pairs in expectation; a step trains
    on ``P * (1 + n_neg)`` examples (at most ``batch_size``), so shapes are static.

    Raises:
        ConfigError: the training part is empty, ``negatives`` is not a non-negative integer, or
            ``batch_size`` is smaller than ``1 + negatives``.
    """
    train = split.train
    if len(train) == 0:
        raise ConfigError(f"split {split.split_id} of dataset {train.name!r} has an empty training part")
    n_neg = getattr(model, "negatives", DEFAULT_NEGATIVES)
    if isinstance(n_neg, bool) or not isinstance(n_neg, int) or n_neg < 0:
        raise ConfigError(f"model config negatives={n_neg!r} must be a non-negative integer (negatives per positive)")
    n_pos = cfg.batch_size // (1 + n_neg)
    if n_pos < 1:
        raise ConfigError(
            f"batch_size={cfg.batch_size} is smaller than 1 + negatives = {1 + n_neg}",
            hint=f"raise batch_size to a multiple of {1 + n_neg}",
        )
    hand_training_part(model, split)
    data, depth = to_device(train.user_idx, train.item_idx, train.n_users, train.n_items)
    n_items = train.n_items
    rounds = 2 if cfg.exclude_positive_negatives else 0

    def sample(step_key: jax.Array, global_step: jax.Array, data: DeviceInteractions) -> PointwiseBatch:
        row_key, neg_key = jax.random.split(step_key)
        (rows_P,) = uniform_draws(row_key, (data.users_N.shape[0],), (n_pos,))
        users_P = data.users_N[rows_P]
        neg_users = jnp.tile(users_P, n_neg)  # round-major: [round 0 users, round 1 users, ...]
        neg_items = sample_negatives(neg_key, data, neg_users, n_items, depth, rounds)
        return PointwiseBatch(
            users_B=jnp.concatenate([users_P, neg_users]),
            items_B=jnp.concatenate([data.items_N[rows_P], neg_items]),
            labels_B=jnp.concatenate([jnp.ones(n_pos, jnp.float32), jnp.zeros(n_pos * n_neg, jnp.float32)]),
        )

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(len(train) / n_pos),
                      examples_per_step=n_pos * (1 + n_neg))
