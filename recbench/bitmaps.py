"""Per-row item bitmaps: which items of a catalogue are set for each row (a user, or a batch slot).

A row is ``W = ceil(n_items / 32)`` uint32 words; item ``i`` is bit ``i % 32`` of word ``i // 32``.
The host packs (row, item) pairs into bitmaps once (numpy, vectorised, :func:`pack_bits`). On the
device a bitmap row expands to a dense ``B x I`` mask in one fused elementwise pass
(:func:`dense_bits`), or is read at a few items with a gather of one word each (:func:`gather_bits`
for rows already batched, :func:`member_bits` for (row, item) pairs). The evaluator masks with them
instead of scattering index pairs; negative sampling tests training membership with them instead of
binary-searching each user's items.
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


def _bit_of(words: jax.Array, items: jax.Array) -> jax.Array:
    """Whether each item's bit is set in the word that holds it (``words`` as gathered at ``items >> 5``)."""
    return ((words >> (items & 31).astype(jnp.uint32)) & 1) == 1


def gather_bits(bits_BxW: jax.Array, items_BxK: jax.Array) -> jax.Array:
    """Bool ``B x K``: whether item ``items_BxK[b, j]`` is set in row ``b`` (items in ``[0, n_items)``)."""
    return _bit_of(jnp.take_along_axis(bits_BxW, items_BxK >> 5, axis=1, mode="promise_in_bounds"), items_BxK)


def member_bits(bits_RxW: jax.Array, rows_B: jax.Array, items_B: jax.Array) -> jax.Array:
    """Bool ``B``: whether item ``items_B[j]`` is set in row ``rows_B[j]`` (one word gathered per pair)."""
    return _bit_of(bits_RxW[rows_B, items_B >> 5], items_B)
