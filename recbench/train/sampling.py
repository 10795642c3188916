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

    lo, _ = jax.lax.fori_loop(0, depth, halve, (lo, hi_end), unroll=True)
    return (lo < hi_end) & (data.sorted_items_N[jnp.minimum(lo, last)] == items_B)


def uniform_draws(key: jax.Array, bounds: tuple[int, ...], shape: tuple[int, ...]) -> list[jax.Array]:
    """For each bound ``n``, uniform int32 indices of ``shape`` in ``[0, n)``, from ONE random call.

    A step's draws (rows, negatives, redraws) share one ``jax.random.bits`` call: on CPU every call
    of the threefry hash is a rolled 5-round loop, so a handful of small calls per step cost more
    than the work. Each draw is 32 bits modulo ``n``; the bias left is below ``n / 2**32`` relative.
    """
    bits = jax.random.bits(key, (len(bounds), *shape), jnp.uint32)
    return [(bits[i] % jnp.uint32(n)).astype(jnp.int32) for i, n in enumerate(bounds)]


def exclude_positives(data: DeviceInteractions, users_B: jax.Array, draws: list[jax.Array], depth: int) -> jax.Array:
    """The first of ``draws``, each item that is a training item of its user replaced by the next draw."""
    neg_B = draws[0]
    for redraw in draws[1:]:
        neg_B = jnp.where(is_positive(data, users_B, neg_B, depth), redraw, neg_B)
    return neg_B


def sample_negatives(
    key: jax.Array, data: DeviceInteractions, users_B: jax.Array, n_items: int, depth: int, rounds: int
) -> jax.Array:
    """Uniform negatives; ``rounds`` times, redraw those that are the user's training items."""
    return exclude_positives(data, users_B, uniform_draws(key, (n_items,) * (rounds + 1), users_B.shape), depth)
