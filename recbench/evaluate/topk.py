"""Exact top-k over a large last axis in two stages, with ``lax.top_k``'s results bit for bit.

``lax.top_k`` orders floats by their IEEE total order (``-NaN < -inf < ... < -0.0 < +0.0 < ... <
+inf < +NaN``; its comparator compares the bit patterns as sign-magnitude integers) and breaks ties
towards the lower index. On a CPU it can cost more than the matmul that made the scores. The
two-stage form below returns the same values and indices for every input, -inf masks, all-masked
rows and NaNs included:

1. Cut the last axis into groups of ``G`` consecutive items (the tail padded with the smallest value
   in the total order, behind every real item) and take each group's maximum (in the total order).
2. ``lax.top_k`` of the group maxima picks ``k`` groups; sorted ascending, they are gathered into
   ``k * G`` candidates, whose position grows with the item index.
3. Candidates below the ``k``-th largest of the chosen group maxima become the smallest value;
   ``lax.top_k`` of the candidates is the answer, positions mapped back to item indices.

Why it is exact. Let item ``t`` of group ``g`` be in the true top k (order: value descending, then
index ascending). Every group ``h`` ranked before ``g`` by the group maxima (a larger maximum, or
an equal maximum and ``h < g``) holds an item that beats ``t``: its maximum is larger than ``t``'s
value, or equal and at a lower index, since group ``h`` lies wholly before group ``g``. So fewer than ``k``
groups rank before ``g``, and ``lax.top_k`` of the group maxima (ties to the lower group) selects
``g``. The candidates thus hold the whole true top k, and ``lax.top_k`` over them, in ascending item
order, applies the same order and tie rule to a superset of it. Padding (the smallest value, after
every real item) loses to every real item, and the candidates hold at least ``k`` real items, so it
never appears. Step 3 changes no answer: the ``k`` chosen group maxima are ``k`` distinct items at or
above the ``k``-th of them, so nothing below it is in the top k, and they remain to fill it. It makes
the second ``lax.top_k`` cheap: XLA's CPU TopK spends its time replacing members of its running top k
(943 random rows of 320: 2.1 ms; with 95% of the values at -inf: 0.86 ms).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# Chosen by measurement on a 2-core CPU (1024 random rows, benchmarks/RESULTS.md, sixth session):
# groups of 32 keep the group maxima a fast vectorised reduction and are near the best size from 1.7k
# to 27k items; two stages win at k <= 10 from 512 items (1.16x; 1.5x at 2k), and at larger k from
# about 64 * k items (k = 20: 1.46x at 2k; k = 50: 1.31x at 5k; k = 100: 1.08x at 5k, 1.69x at 26k).
DEFAULT_GROUP = 32


def default_min_items(k: int) -> int:
    """Fewest items for which the two-stage form is used by default, at cutoff ``k``."""
    return 512 if k <= 10 else 64 * k


def _int_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"int{np.dtype(dtype).itemsize * 8}")


def _to_key(x: jax.Array) -> jax.Array:
    """Floats -> signed integers whose order is the IEEE total order (the map is its own inverse)."""
    bits = jax.lax.bitcast_convert_type(x, _int_dtype(x.dtype))
    magnitude = jnp.array(np.iinfo(bits.dtype).max, bits.dtype)
    return jnp.where(bits < 0, bits ^ magnitude, bits)


def _from_key(key: jax.Array, dtype: np.dtype) -> jax.Array:
    magnitude = jnp.array(np.iinfo(key.dtype).max, key.dtype)
    return jax.lax.bitcast_convert_type(jnp.where(key < 0, key ^ magnitude, key), dtype)


def _order_key(x: jax.Array) -> jax.Array:
    """Integers ordered as ``lax.top_k`` orders ``x``: the total order's key for floats, else ``x``."""
    return _to_key(x) if jnp.issubdtype(x.dtype, jnp.floating) else x


def _group_max(x_BxNxG: jax.Array) -> jax.Array:
    """Per-group maximum in ``lax.top_k``'s order (the total order for floats)."""
    if jnp.issubdtype(x_BxNxG.dtype, jnp.floating):
        return _from_key(_to_key(x_BxNxG).max(axis=-1), x_BxNxG.dtype)
    return x_BxNxG.max(axis=-1)


def _lowest(dtype: np.dtype) -> jax.Array:
    """The value no real value beats in ``lax.top_k``'s order."""
    if jnp.issubdtype(dtype, jnp.floating):
        key_dtype = _int_dtype(dtype)
        return _from_key(jnp.array(np.iinfo(key_dtype).min, key_dtype), dtype)
    return jnp.array(jnp.iinfo(dtype).min, dtype)


def uses_two_stages(n_items: int, k: int, group: int = DEFAULT_GROUP, min_items: int | None = None) -> bool:
    """Whether :func:`top_k_exact` takes the two-stage path for this shape (else plain ``lax.top_k``)."""
    n_groups = -(-n_items // group)
    min_items = default_min_items(k) if min_items is None else min_items
    return k > 0 and group > 1 and n_items >= min_items and n_groups > k


def top_k_exact(scores_BxI: jax.Array, k: int, group: int = DEFAULT_GROUP,
                min_items: int | None = None) -> tuple[jax.Array, jax.Array]:
    """``lax.top_k(scores_BxI, k)`` over the last axis, computed in two stages; identical results.

    Args:
        scores_BxI: scores, items on the last axis (any leading shape; float or integer dtype).
        k: how many items, ``0 <= k <= n_items`` (as ``lax.top_k`` requires).
        group: items per group ``G`` of the first stage.
        min_items: below this many items (default: :func:`default_min_items`), or when there are
            at most ``k`` groups, plain ``lax.top_k`` is used.

    Returns:
        ``(values_BxK, indices_BxK)``, best first, ties to the lower index: exactly ``lax.top_k``'s.
    """
    n_items = scores_BxI.shape[-1]
    if not 0 <= k <= n_items:
        raise ValueError(f"top_k_exact: k={k} must be between 0 and the {n_items} items")
    if not uses_two_stages(n_items, k, group, min_items) or not (
            jnp.issubdtype(scores_BxI.dtype, jnp.floating) or jnp.issubdtype(scores_BxI.dtype, jnp.integer)):
        return jax.lax.top_k(scores_BxI, k)
    lead = scores_BxI.shape[:-1]
    n_groups = -(-n_items // group)
    x_BxI = scores_BxI.reshape(-1, n_items)
    n_rows = x_BxI.shape[0]
    padded_BxNG = x_BxI
    if n_groups * group > n_items:  # fused into the reduction below, not materialised
        padded_BxNG = jnp.pad(x_BxI, ((0, 0), (0, n_groups * group - n_items)), constant_values=_lowest(x_BxI.dtype))
    group_maxima_BxK, groups_BxK = jax.lax.top_k(_group_max(padded_BxNG.reshape(n_rows, n_groups, group)), k)
    groups_BxK = jnp.sort(groups_BxK, axis=-1)  # candidate positions grow with the item index
    items_BxC = (groups_BxK[:, :, None] * group + jnp.arange(group, dtype=groups_BxK.dtype)).reshape(n_rows, k * group)
    candidates_BxC = jnp.take_along_axis(x_BxI, jnp.minimum(items_BxC, n_items - 1), axis=1, mode="promise_in_bounds")
    # Below the k-th group maximum no candidate can be in the top k (the k group maxima beat it), so
    # such candidates, and the last group's padding, become the lowest value: same answer, and a far
    # cheaper second TopK, whose cost is in replacing its running top k.
    # (the k-th as the least of the k: slicing the k-th alone breaks XLA's TopK rewrite into a full sort)
    kth_group_max_Bx1 = _order_key(group_maxima_BxK).min(axis=-1, keepdims=True)
    keep_BxC = _order_key(candidates_BxC) >= kth_group_max_Bx1
    if n_groups * group > n_items:
        keep_BxC &= items_BxC < n_items
    candidates_BxC = jnp.where(keep_BxC, candidates_BxC, _lowest(x_BxI.dtype))
    values_BxK, positions_BxK = jax.lax.top_k(candidates_BxC, k)
    indices_BxK = jnp.take_along_axis(items_BxC, positions_BxK, axis=1, mode="promise_in_bounds").astype(jnp.int32)
    return values_BxK.reshape(*lead, k), indices_BxK.reshape(*lead, k)
