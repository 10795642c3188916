"""Popularity baseline (closed-form family)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.builtin.models.neighbourhood import Fitted
from recbench.data.interactions import Interactions


class Pop(nnx.Module):
    """Scores every item by its number of training interactions; ties go to the lower item index."""

    def __init__(self, n_items: int) -> None:
        self.counts = Fitted(jnp.zeros((n_items,), jnp.float32))

    def fit(self, train: Interactions) -> None:
        items = jnp.asarray(train.item_idx)
        self.counts[...] = jnp.zeros_like(self.counts[...]).at[items].add(1.0)

    def score(self, users_B: jax.Array) -> jax.Array:
        return jnp.broadcast_to(self.counts[...], (users_B.shape[0], self.counts[...].shape[0]))
