"""On-device sampling of training examples and negatives (jax.random; no host round-trips)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class DeviceInteractions(NamedTuple):
    """Training interactions on the device, with a per-user CSR of sorted items for membership tests."""

    users_N: jax.Array
    items_N: jax.Array
    indptr_U1: jax.Array
    sorted_items_N: jax.Array


def to_device(user_idx: np.ndarray, item_idx: np.ndarray, n_users: int) -> tuple[DeviceInteractions, int]:
    """Put training pairs on the device; returns them and the binary-search depth they need."""
    order = np.lexsort((item_idx, user_idx))
    counts = np.bincount(user_idx, minlength=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    depth = int(np.ceil(np.log2(max(int(counts.max(initial=0)), 1) + 1))) + 1
    data = DeviceInteractions(
        users_N=jnp.asarray(user_idx, jnp.int32),
        items_N=jnp.asarray(item_idx, jnp.int32),
        indptr_U1=jnp.asarray(indptr),
        sorted_items_N=jnp.asarray(item_idx[order], jnp.int32),
    )
    return data, depth


def is_positive(data: DeviceInteractions, users_B: jax.Array, items_B: jax.Array, depth: int) -> jax.Array:
    """Whether each (user, item) is a training pair: a fixed-depth binary search in the user's CSR row."""
    lo = data.indptr_U1[users_B]
    hi_end = data.indptr_U1[users_B + 1]
    last = data.sorted_items_N.shape[0] - 1

    def halve(_, bounds):
        lo, hi = bounds
        mid = (lo + hi) // 2
        right = data.sorted_items_N[jnp.minimum(mid, last)] < items_B
        active = lo < hi
        return jnp.where(active & right, mid + 1, lo), jnp.where(active & ~right, mid, hi)

    lo, _ = jax.lax.fori_loop(0, depth, halve, (lo, hi_end))
    return (lo < hi_end) & (data.sorted_items_N[jnp.minimum(lo, last)] == items_B)


def sample_negatives(
    key: jax.Array, data: DeviceInteractions, users_B: jax.Array, n_items: int, depth: int, rounds: int
) -> jax.Array:
    """Uniform negatives; ``rounds`` times, redraw those that are the user's training items."""
    keys = jax.random.split(key, rounds + 1)
    neg_B = jax.random.randint(keys[0], users_B.shape, 0, n_items)
    for r in range(rounds):
        redraw = jax.random.randint(keys[r + 1], users_B.shape, 0, n_items)
        neg_B = jnp.where(is_positive(data, users_B, neg_B, depth), redraw, neg_B)
    return neg_B
