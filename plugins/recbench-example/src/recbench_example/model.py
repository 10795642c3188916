"""The example model: a Flax NNX module implementing the pairwise family's protocol."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.train.losses import bpr_loss


class BiasedMF(nnx.Module):
    """score(u, i) = <p_u, q_i> + b_i. ``loss(batch)`` gets the host's (users_B, pos_B, neg_B) batch."""

    def __init__(self, n_users: int, n_items: int, *, dim: int = 16, l2: float = 1e-4, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        self.user_factors = nnx.Param(0.1 * jax.random.normal(rngs.params(), (n_users, dim)))
        self.item_factors = nnx.Param(0.1 * jax.random.normal(rngs.params(), (n_items, dim)))
        self.item_bias = nnx.Param(jnp.zeros((n_items,)))
        self.l2 = l2

    def _pair_scores(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        u = self.user_factors[...][users_B]
        v = self.item_factors[...][items_B]
        return (u * v).sum(-1) + self.item_bias[...][items_B]

    def loss(self, batch) -> jax.Array:  # noqa: ANN001 - recbench.train.pairwise.PairwiseBatch
        diff_B = self._pair_scores(batch.users_B, batch.pos_B) - self._pair_scores(batch.users_B, batch.neg_B)
        reg = (self.user_factors[...][batch.users_B] ** 2).sum(-1).mean()
        return bpr_loss(diff_B) + self.l2 * reg

    def score(self, users_B: jax.Array) -> jax.Array:
        return self.user_factors[...][users_B] @ self.item_factors[...].T + self.item_bias[...]
