"""A model whose loss is NaN, to test divergence handling."""

import jax.numpy as jnp
from flax import nnx


class NaNModel(nnx.Module):
    def __init__(self, n_users: int, n_items: int) -> None:
        self.w = nnx.Param(jnp.zeros((n_items,)))

    def loss(self, batch):
        return jnp.sum(self.w[...][batch.pos_B]) * jnp.nan

    def score(self, users_B):
        return jnp.broadcast_to(self.w[...], (users_B.shape[0], self.w[...].shape[0]))
