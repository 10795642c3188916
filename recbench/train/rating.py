"""The rating family: (user, item, rating) rows of the training part, with squared-error models."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from recbench.data.split import Split
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.family import FamilyPlan, hand_training_part
from recbench.train.sampling import uniform_draws


class RatingBatch(NamedTuple):
    """One minibatch of the rating family: observed (user, item, rating) rows of the training part."""

    users_B: jax.Array
    items_B: jax.Array
    ratings_B: jax.Array


class RatingData(NamedTuple):
    """The training part on the device."""

    users_N: jax.Array
    items_N: jax.Array
    ratings_N: jax.Array


class RatingStats(NamedTuple):
    """Statistics of the training part a rating model may need before training.

    Attributes:
        n: number of observed training ratings (the number of terms of the squared-error sum).
        mean: their mean (the global offset of MF-type predictors).
        low, high: the smallest and largest training rating.
    """

    n: int
    mean: float
    low: float
    high: float


def rating_stats(split: Split) -> RatingStats:
    """The training part's :class:`RatingStats`; ConfigError naming the dataset if it has no ratings."""
    train = split.train
    if train.rating is None:
        raise ConfigError(
            f"dataset {train.name!r} has no ratings: the rating family trains on (user, item, rating) rows",
            hint="use a dataset with explicit ratings (e.g. ml-100k), or a pointwise / pairwise model",
        )
    if len(train) == 0:
        raise ConfigError(f"split {split.split_id} of dataset {train.name!r} has an empty training part")
    ratings = train.rating.astype(np.float64)
    return RatingStats(len(train), float(ratings.mean()), float(ratings.min()), float(ratings.max()))


def plan_rating(split: Split, cfg: TrainConfig, model: Any) -> FamilyPlan:
    """Rows drawn uniformly with replacement (no permutation: it sorts and dominated epochs);
    ``ceil(n_train / batch_size)`` steps make one pass over the training ratings in expectation.

    Before the epoch is compiled, a model with ``set_rating_stats(stats: RatingStats)`` receives the
    training part's statistics (e.g. the global mean rating it adds to every prediction, and the
    number of observed ratings that scales a full-table regulariser). It must store them in
    non-trainable ``nnx.Variable``s (not ``nnx.Param``), so they stay constants of the epoch.

    Raises:
        ConfigError: the training part has no ratings (the message names the dataset), or is empty.
    """
    stats = rating_stats(split)
    if hasattr(model, "set_rating_stats"):
        model.set_rating_stats(stats)
    hand_training_part(model, split)
    train = split.train
    data = RatingData(
        users_N=jnp.asarray(train.user_idx, jnp.int32),
        items_N=jnp.asarray(train.item_idx, jnp.int32),
        ratings_N=jnp.asarray(train.rating, jnp.float32),
    )
    batch_size = cfg.batch_size

    def sample(step_key: jax.Array, global_step: jax.Array, data: RatingData) -> RatingBatch:
        (rows_B,) = uniform_draws(step_key, (data.users_N.shape[0],), (batch_size,))
        return RatingBatch(data.users_N[rows_B], data.items_N[rows_B], data.ratings_N[rows_B])

    return FamilyPlan(data=data, sample=sample, steps_per_epoch=math.ceil(len(train) / batch_size),
                      examples_per_step=batch_size)
