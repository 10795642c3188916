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


def squared_error(predictions_B: jax.Array, targets_B: jax.Array, weights_B: jax.Array | None = None) -> jax.Array:
    """Batch mean of ``(r - r_hat)^2`` over the observed rows.

    Scaled by ``n_train`` this estimates the sum over observed ``(u, i)`` of the textbook rating
    objective. ``weights_B`` (1 observed, 0 padding) restricts the mean to the observed rows.
    """
    sq_B = (targets_B - predictions_B) ** 2
    if weights_B is None:
        return jnp.mean(sq_B)
    return jnp.sum(weights_B * sq_B) / jnp.maximum(jnp.sum(weights_B), 1.0)


def binary_cross_entropy_with_logits(logits_B: jax.Array, labels_B: jax.Array) -> jax.Array:
    """Mean log loss of labels in {0, 1} given logits, in the stable form
    ``max(x, 0) - x * y + log(1 + exp(-|x|))`` (= ``-y log sigmoid(x) - (1 - y) log sigmoid(-x)``)."""
    return jnp.mean(jnp.maximum(logits_B, 0.0) - logits_B * labels_B + jnp.log1p(jnp.exp(-jnp.abs(logits_B))))
