"""Loss functions the host provides to models; models pick one by name in their config."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from recbench.errors import ConfigError

PAIRWISE_LOSSES = ("bpr", "hinge")


def bpr_loss(diff_B: jax.Array) -> jax.Array:
    """Bayesian personalised ranking: mean of -log sigmoid(s_pos - s_neg)."""
    return -jnp.mean(jax.nn.log_sigmoid(diff_B))


def hinge_loss(diff_B: jax.Array, margin: float = 1.0) -> jax.Array:
    """Margin ranking loss: mean of max(0, margin - (s_pos - s_neg))."""
    return jnp.mean(jnp.maximum(0.0, margin - diff_B))


def pairwise_loss(name: str, diff_B: jax.Array, margin: float = 1.0) -> jax.Array:
    if name == "bpr":
        return bpr_loss(diff_B)
    if name == "hinge":
        return hinge_loss(diff_B, margin)
    raise ConfigError(f"pairwise loss {name!r} is not one of {', '.join(PAIRWISE_LOSSES)}")
