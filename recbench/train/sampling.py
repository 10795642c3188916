"""On-device sampling of training examples and negatives (jax.random; no host round-trips)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from recbench.bitmaps import member_bits, pack_bits


#: Largest catalogue (users x items) whose membership bitmap is kept on the device: 2**31 bits,
#: 256 MiB (ML-1M's is 2.8 MB, Gowalla's 153 MB). Larger catalogues use the binary search.
BITMAP_MAX_BITS = 2**31


class DeviceInteractions(NamedTuple):
    """Training interactions on the device, for row sampling and membership tests.

    ``bitmap_UxW`` has bit ``i % 32`` of word ``[u, i // 32]`` set for every training pair (u, i); it
    is empty (shape ``[0, 0]``) when the catalogue is too large (:data:`BITMAP_MAX_BITS`) or
    ``n_items`` was not given, and then the per-user CSR of sorted items (``indptr_U1``,
    ``sorted_items_N``) is binary-searched instead; with a bitmap ``sorted_items_N`` is empty.
    """

    users_N: jax.Array
    items_N: jax.Array
    indptr_U1: jax.Array
    sorted_items_N: jax.Array
    bitmap_UxW: jax.Array


def to_device(user_idx: np.ndarray, item_idx: np.ndarray, n_users: int, n_items: int,
              bitmap_max_bits: int = BITMAP_MAX_BITS) -> tuple[DeviceInteractions, int]:
    """Put training pairs on the device; returns them and the binary-search depth they need.

    For a catalogue of at most ``bitmap_max_bits`` (user, item) pairs, membership tests read one
    bitmap word (one gather) instead of binary-searching the user's items (``depth`` dependent
    gathers, ~40% of a row-wise MF-BPR step on ML-1M); the users' sorted items are then not built
    (``sorted_items_N`` is empty). ``bitmap_max_bits=0`` forces the binary search.
    """
    counts = np.bincount(user_idx, minlength=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    depth = int(np.ceil(np.log2(max(int(counts.max(initial=0)), 1) + 1))) + 1
    if n_users * n_items <= bitmap_max_bits:
        bitmap, sorted_items = pack_bits(user_idx, item_idx, n_users, n_items), np.zeros(0, np.int32)
    else:
        bitmap, sorted_items = np.zeros((0, 0), np.uint32), item_idx[np.lexsort((item_idx, user_idx))]
    # every dtype explicit, see recbench.device_arrays.device_array
    data = DeviceInteractions(
        users_N=jnp.asarray(user_idx, jnp.int32),
        items_N=jnp.asarray(item_idx, jnp.int32),
        indptr_U1=jnp.asarray(indptr, jnp.int32),
        sorted_items_N=jnp.asarray(sorted_items, jnp.int32),
        bitmap_UxW=jnp.asarray(bitmap, jnp.uint32),
    )
    return data, depth


def is_positive(data: DeviceInteractions, users_B: jax.Array, items_B: jax.Array, depth: int) -> jax.Array:
    """Whether each (user, item) is a training pair (``items_B`` in ``[0, n_items)``): one bitmap
    word when the bitmap exists, else a fixed-depth binary search in the user's CSR row."""
    if data.bitmap_UxW.size:
        return member_bits(data.bitmap_UxW, users_B, items_B)
    return binary_search_member(data, users_B, items_B, depth)


def binary_search_member(data: DeviceInteractions, users_B: jax.Array, items_B: jax.Array, depth: int) -> jax.Array:
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


#: Threefry-2x32's rotation constants (Salmon et al., SC 2011; as in ``jax._src.random.threefry2x32``).
THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The Threefry-2x32 hash of the counter pairs ``(x1, x2)`` under key ``(k1, k2)``, 20 rounds unrolled."""
    ks = (k1, k2, k1 ^ k2 ^ jnp.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in THREEFRY_ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = ((x2 << jnp.uint32(r)) | (x2 >> jnp.uint32(32 - r))) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x1, x2


def random_bits32(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.bits(key, shape, jnp.uint32)``, bit for bit, as one fusable expression.

    On CPU, jax lowers its threefry hash as a rolled 5-iteration loop (small on-device loops whose
    steps each run a handful of tiny kernels); unrolled, XLA fuses the hash into one loop: ~50 us off
    a dim-1 MF-BPR step at batch 2048, ~5% of a dim-64 one (benchmarks/RESULTS.md, fourth session). This is the
    same algorithm jax lowers on GPU and TPU, so the streams, and every sampled batch, are unchanged;
    a test checks it against ``jax.random.bits``. Keys of another generator, jax's non-partitionable
    threefry mode or 2**32 draws and more go to ``jax.random.bits`` itself.
    """
    size = int(np.prod(shape, dtype=np.int64))
    if (not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) or str(jax.random.key_impl(key)) != "threefry2x32"
            or not getattr(jax.config, "jax_threefry_partitionable", True) or size >= 2**32):
        return jax.random.bits(key, shape, jnp.uint32)
    k1, k2 = jax.random.key_data(key)
    counts = jax.lax.iota(jnp.uint32, size).reshape(shape)  # the flat index; its high word is 0
    hi, lo = _threefry2x32(k1, k2, jnp.zeros(shape, jnp.uint32), counts)
    return hi ^ lo


def uniform_draws(key: jax.Array, bounds: tuple[int, ...], shape: tuple[int, ...]) -> list[jax.Array]:
    """For each bound ``n``, uniform int32 indices of ``shape`` in ``[0, n)``, from ONE random call.

    A step's draws (rows, negatives, redraws) share one call of :func:`random_bits32`
    (``jax.random.bits``' stream): a handful of small calls per step cost more than the work. Each
    draw is 32 bits modulo ``n``; the bias left is below ``n / 2**32`` relative.
    """
    bits = random_bits32(key, (len(bounds), *shape))
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
