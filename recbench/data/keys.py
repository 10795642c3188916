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


def count_per_index(index: np.ndarray, minlength: int = 0, chunk: int = 1 << 18) -> np.ndarray:
    """``np.bincount(index, minlength=minlength)`` (int64), counted in chunks.

    ``np.bincount`` first converts an int32 input to a full int64 copy (150 MiB for 20M rows, which
    costs more than the counting); chunks bound that copy to ``chunk`` rows and run ~2x faster.
    """
    index = np.asarray(index).reshape(-1)
    if index.shape[0] <= chunk:
        return np.bincount(index, minlength=minlength)
    size = max(minlength, int(index.max()) + 1)
    counts = np.bincount(index[:chunk], minlength=size)
    for start in range(chunk, index.shape[0], chunk):
        counts += np.bincount(index[start:start + chunk], minlength=size)
    return counts
