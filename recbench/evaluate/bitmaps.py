"""Per-row item bitmaps: which items of a catalogue are set for each evaluated user.

A row is ``W = ceil(n_items / 32)`` uint32 words; item ``i`` is bit ``i % 32`` of word ``i // 32``.
The host packs (row, item) pairs into bitmaps once per plan (numpy, vectorised); on the device a
bitmap row expands to a dense ``B x I`` mask in one fused elementwise pass (:func:`dense_bits`), or is
read at a few items with a gather of one word each (:func:`gather_bits`). Both replace scatters of
index pairs into a dense ``B x I`` matrix, which cost far more on a CPU at ML-1M's density.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

WORD_BITS = 32


def n_words(n_items: int) -> int:
    """Words per bitmap row for a catalogue of ``n_items`` items."""
    return max(1, -(-int(n_items) // WORD_BITS))


def pack_bits(rows: np.ndarray, items: np.ndarray, n_rows: int, n_items: int) -> np.ndarray:
    """Bitmaps ``[n_rows, W]`` (uint32) with bit ``items[j]`` of row ``rows[j]`` set for every ``j``.

    Duplicate pairs are allowed (they set the same bit). Rows must be in ``[0, n_rows)`` and items in
    ``[0, n_items)``; callers drop padding before.
    """
    words = n_words(n_items)
    rows = np.asarray(rows, np.int64)
    items = np.asarray(items, np.int64)
    out = np.zeros(n_rows * words, np.uint32)
    # ufunc.at is unbuffered; numpy >= 2 made it fast (measured ~13 ms for 0.9M pairs here, ahead of a
    # sort + bitwise_or.reduceat at ~90 ms and a dense bool matrix + packbits at ~23 ms)
    np.bitwise_or.at(out, rows * words + (items >> 5), np.left_shift(np.uint32(1), (items & 31).astype(np.uint32)))
    return out.reshape(n_rows, words)


def count_bits(bits: np.ndarray) -> np.ndarray:
    """Set bits per row (last axis summed), as int64."""
    return np.bitwise_count(bits).sum(axis=-1, dtype=np.int64)


def dense_bits(bits_BxW: jax.Array, n_items: int) -> jax.Array:
    """Bool ``B x n_items``: item ``i`` of row ``b`` is set. XLA fuses this into the consumer's pass.

    Words broadcast against the 32 bit positions, then flattened: measured ~10% faster over the
    whole ML-1M evaluation than gathering word ``i >> 5`` for every item ``i``.
    """
    rows, words = bits_BxW.shape
    shifts_32 = jnp.arange(WORD_BITS, dtype=jnp.uint32)
    set_BxWx32 = ((bits_BxW[:, :, None] >> shifts_32) & 1) == 1
    return set_BxWx32.reshape(rows, words * WORD_BITS)[:, :n_items]


def gather_bits(bits_BxW: jax.Array, items_BxK: jax.Array) -> jax.Array:
    """Bool ``B x K``: whether item ``items_BxK[b, j]`` is set in row ``b`` (items in ``[0, n_items)``)."""
    words_BxK = jnp.take_along_axis(bits_BxW, items_BxK >> 5, axis=1, mode="promise_in_bounds")
    return ((words_BxK >> (items_BxK & 31).astype(jnp.uint32)) & 1) == 1
