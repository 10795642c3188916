"""Fast set operations on int64 pair keys (sort + binary search; numpy's hash-based isin/unique is
~20x slower on tens of millions of keys)."""

from __future__ import annotations

import numpy as np


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted unique values, by sort and neighbour comparison."""
    if keys.size == 0:
        return keys.copy()
    ordered = np.sort(keys, kind="stable")
    keep = np.empty(ordered.shape, bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin(keys, sorted_set)`` for an already sorted ``sorted_set``."""
    if sorted_set.size == 0 or keys.size == 0:
        return np.zeros(keys.shape, bool)
    flat = keys.reshape(-1)
    order = np.argsort(flat, kind="stable")  # sorted queries make the binary searches cache-friendly
    queries = flat[order]
    pos = np.searchsorted(sorted_set, queries)
    pos[pos == sorted_set.size] = 0
    out = np.empty(flat.shape, bool)
    out[order] = sorted_set[pos] == queries
    return out.reshape(keys.shape)
