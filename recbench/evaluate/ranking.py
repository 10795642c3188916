"""Ranking evaluation on the device: full ranking, or ranking within candidate sets.

Per batch of users: score all items, mask the items to exclude (training, and validation when
testing) with -inf, and, for sampled evaluation, also every item that is neither a candidate nor a
held-out item of the user. Then ``lax.top_k`` (ties go to the lower item index, deterministically),
read the relevance of the ranked items, and compute every metric as a per-user vector. All batches
run inside one jitted ``lax.map``; the host only prepares padded index arrays, vectorised.

The excluded and held-out items of a batch come either as per-row bitmaps (one bit per item; see
:mod:`recbench.bitmaps`), when those are not much bigger than the index pairs they replace,
or as padded (row, item) pairs scattered into dense matrices. Both give identical results; with
bitmaps, masking is one fused elementwise pass and relevance a ``B x K`` gather (no ``B x I`` matrix).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.data.keys import sorted_unique
from recbench.data.split import CandidateSet
from recbench.device_arrays import device_array
from recbench.bitmaps import dense_bits, gather_bits, n_words, pack_bits
from recbench.evaluate.metric_names import MetricRef
from recbench.evaluate.model_outputs import real_output
from recbench.evaluate.topk import top_k_exact
from recbench.types import MetricSpec


class RankedBatch(NamedTuple):
    """What a metric function sees for one user batch (B users, cutoff k).

    Attributes:
        relevance_BxK: 1.0 where the item at that rank is relevant (held out), else 0.0; best rank first.
        n_relevant_B: number of relevant (held-out) items of each user.
        scores_BxK: the model's scores of the ranked items.
        items_BxK: the ranked item indices (-1 beyond the catalogue).
        gains_BxK: graded gain (the held-out rating) of the ranked items; 0 if not relevant. Only
            computed when a metric ``uses`` "graded" (else equal to ``relevance_BxK``).
        ideal_gains_BxK: the user's k largest held-out gains, descending ("graded" only).
        popularity_I: training interactions per item.
        n_train_users: number of users with training interactions.
        rank_sum_B: sum over the user's relevant items of their 0-based position in the full
            ranking of candidates ("ranks" only).
        n_candidates_B: items the user's ranking ranges over (not masked, finite score), plus the
            held-out items that cannot be ranked, counted below all of them ("ranks" only).
    """

    relevance_BxK: jax.Array
    n_relevant_B: jax.Array
    scores_BxK: jax.Array
    items_BxK: jax.Array
    gains_BxK: jax.Array
    ideal_gains_BxK: jax.Array
    popularity_I: jax.Array
    n_train_users: jax.Array
    rank_sum_B: jax.Array
    n_candidates_B: jax.Array


@dataclass(frozen=True, slots=True)
class GlobalInputs:
    """What a global (aggregate) metric sees after all batches.

    Attributes:
        exposure_I: how often each item appears in the evaluated users' top-k lists (k = the metric's).
        per_user: the metric's own per-user ``fn`` values.
        n_relevant_U: number of relevant items per evaluated user.
        n_items: catalogue size.
    """

    exposure_I: np.ndarray
    per_user: np.ndarray
    n_relevant_U: np.ndarray
    n_items: int


# Bitmaps are used when their bytes are at most max(BITMAP_PAIRS_FACTOR x the bytes of the padded index
# pairs they replace, BITMAP_MIN_BYTES). Measured on ML-1M (batches of 1,024 users x 3,706 items, ~150k
# excluded pairs each; 2-core CPU): masking and relevance ~0.85 ms a batch with bitmaps against ~1.65 ms
# with pairs, the whole evaluation 1.1-1.2x faster. The cost of a bitmap grows with the catalogue, a
# scatter's with the pairs, and bitmaps take memory: ML-100K and ML-1M (a few MB of bitmaps) use them; at
# ML-20M's shape (138k users x 26,744 items: ~0.93 GB of bitmaps against ~0.2 GB of pairs) they are not used.
BITMAP_MIN_BYTES = 64 << 20
BITMAP_PAIRS_FACTOR = 2


@dataclass(frozen=True, slots=True)
class EvalPlan:
    """Padded device-ready index arrays for one evaluated part. Shapes are static per plan.

    ``users_NxB`` lists evaluated users in batches (padding repeats user 0 and is flagged invalid);
    ``*_rows_NxM`` index rows inside a batch (padding is ``B``, dropped by the scatter).
    ``n_relevant_NxB`` counts each user's distinct held-out items (0 for padding).
    With bitmaps (``exclude_bits_NxBxW`` and ``target_bits_NxBxW``, uint32, ``W = ceil(n_items / 32)``)
    the exclude pairs are not kept; the target pairs are (graded gains read them).
    ``include_*`` are set for sampled evaluation: only those items (and the held-out ones) are ranked.
    """

    users: np.ndarray
    users_NxB: np.ndarray
    valid_NxB: np.ndarray
    target_rows_NxT: np.ndarray
    target_items_NxT: np.ndarray
    n_relevant_NxB: np.ndarray
    n_users_without_targets: int
    exclude_rows_NxM: np.ndarray | None = None
    exclude_items_NxM: np.ndarray | None = None
    exclude_bits_NxBxW: np.ndarray | None = None
    target_bits_NxBxW: np.ndarray | None = None
    target_gains_NxT: np.ndarray | None = None
    include_rows_NxC: np.ndarray | None = None
    include_items_NxC: np.ndarray | None = None
    candidates_source: str | None = None

    @property
    def sampled(self) -> bool:
        return self.include_rows_NxC is not None

    @property
    def bitmaps(self) -> bool:
        return self.exclude_bits_NxBxW is not None

    def device_arrays(self, graded: bool = True) -> dict[str, jax.Array]:
        """The arrays one compiled evaluator reads, by name; target pairs and gains only where needed."""
        arrays = {"users": self.users_NxB, "valid": self.valid_NxB, "n_relevant": self.n_relevant_NxB}
        if self.bitmaps:
            arrays |= {"exclude_bits": self.exclude_bits_NxBxW, "target_bits": self.target_bits_NxBxW}
        else:
            arrays |= {"exclude_rows": self.exclude_rows_NxM, "exclude_items": self.exclude_items_NxM}
        if graded or not self.bitmaps:
            arrays |= {"target_rows": self.target_rows_NxT, "target_items": self.target_items_NxT}
        if graded:
            arrays["target_gains"] = (self.target_gains_NxT if self.target_gains_NxT is not None
                                      else np.ones(self.target_rows_NxT.shape, np.float32))
        if self.sampled:
            arrays |= {"include_rows": self.include_rows_NxC, "include_items": self.include_items_NxC}
        return {name: device_array(a) for name, a in arrays.items()}


def _pair_width(slot: np.ndarray, batch: int, n_batches: int) -> int:
    """Width of the padded per-batch pair arrays of (slot, item) pairs: the most pairs in one batch (>= 1)."""
    return max(int(np.bincount(slot // batch, minlength=n_batches).max(initial=0)), 1)


def _batched_pairs(items: np.ndarray, slot: np.ndarray, batch: int, n_batches: int,
                   values: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Group (slot, item[, value]) by batch into padded [n_batches, width] row, item (and value) arrays."""
    batch_of = slot // batch
    order = np.argsort(batch_of, kind="stable")
    batch_sorted = batch_of[order]
    counts = np.bincount(batch_sorted, minlength=n_batches)
    width = max(int(counts.max(initial=0)), 1)
    starts = np.cumsum(counts) - counts
    col = np.arange(order.shape[0]) - starts[batch_sorted]
    rows = np.full((n_batches, width), batch, dtype=np.int32)
    cols = np.zeros((n_batches, width), dtype=np.int32)
    rows[batch_sorted, col] = (slot[order] % batch).astype(np.int32)
    cols[batch_sorted, col] = items[order]
    if values is None:
        return rows, cols
    vals = np.zeros((n_batches, width), dtype=np.float32)
    vals[batch_sorted, col] = values[order]
    return rows, cols, vals


def _slots_to_bits(slot: np.ndarray, items: np.ndarray, batch: int, n_batches: int, words: int) -> np.ndarray:
    """(slot, item) pairs (slot = batch * batch index + row) -> bitmaps ``[n_batches, batch, words]``."""
    return pack_bits(slot, items, n_batches * batch, words * 32).reshape(n_batches, batch, words)


def _pairs_to_bits(rows_NxM: np.ndarray, items_NxM: np.ndarray, batch: int, words: int) -> np.ndarray:
    """Padded per-batch (row, item) pairs (padding rows are ``batch``) -> bitmaps ``[N, batch, words]``."""
    n_batches = rows_NxM.shape[0]
    keep = rows_NxM < batch
    slot = (np.arange(n_batches, dtype=np.int64)[:, None] * batch + rows_NxM)[keep]
    return _slots_to_bits(slot, items_NxM[keep], batch, n_batches, words)


def bitmaps_fit(bitmap_bytes: int, pair_bytes: int) -> bool:
    """Whether bitmaps of ``bitmap_bytes`` may replace index pairs of ``pair_bytes`` (see ``BITMAP_MIN_BYTES``)."""
    return bitmap_bytes <= max(BITMAP_PAIRS_FACTOR * pair_bytes, BITMAP_MIN_BYTES)


def plan_ranking(target: Interactions, exclude: Sequence[Interactions], batch_users: int = 1024,
                 candidates: CandidateSet | None = None, bitmaps: bool | None = None) -> EvalPlan:
    """Plan the evaluation of ``target``'s users, excluding the items in ``exclude`` parts.

    Users with no item in ``target`` are not scored (they are counted in ``n_users_without_targets``);
    with ``candidates``, only users that have candidates are evaluated, each ranking its held-out
    items among its candidates. ``batch_users`` is the static batch width (see :func:`batch_width`).
    ``bitmaps``: pass excluded and held-out items as per-row bitmaps (True), as index pairs (False), or
    decide by size (None, see :func:`bitmaps_fit`); the results are identical.
    """
    users = np.unique(target.user_idx).astype(np.int32)
    if candidates is not None:
        users = np.intersect1d(users, candidates.users).astype(np.int32)
    in_any = np.zeros(target.n_users, bool)
    for part in exclude:
        in_any[part.user_idx] = True
    in_any[target.user_idx] = True
    n_without = int(in_any.sum() - in_any[users].sum())
    batch = int(max(1, batch_users))
    n_batches = max(1, -(-users.shape[0] // batch))
    slot_of_user = np.full(target.n_users, -1, dtype=np.int64)
    slot_of_user[users] = np.arange(users.shape[0])
    padded = np.zeros(n_batches * batch, dtype=np.int32)
    padded[: users.shape[0]] = users
    valid = np.zeros(n_batches * batch, dtype=bool)
    valid[: users.shape[0]] = True
    # distinct held-out items per user (duplicate pairs count once, as in a relevance matrix)
    distinct_keys = sorted_unique(target.pair_keys())
    n_relevant_U = np.bincount(distinct_keys // max(target.n_items, 1), minlength=target.n_users)
    n_relevant = np.zeros(n_batches * batch, dtype=np.float32)
    n_relevant[: users.shape[0]] = n_relevant_U[users]

    def evaluated(user_idx: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
        """The slots of the pairs of evaluated users, and their other columns (the rest dropped)."""
        slot = slot_of_user[user_idx]
        keep = slot >= 0
        return slot[keep], *(column[keep] for column in columns)

    def pairs(user_idx: np.ndarray, item_idx: np.ndarray) -> tuple[np.ndarray, ...]:
        slot, items = evaluated(user_idx, item_idx)
        return _batched_pairs(items, slot, batch, n_batches)

    ex_users = np.concatenate([p.user_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_items = np.concatenate([p.item_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_slot, ex_items = evaluated(ex_users, ex_items)
    gains = target.rating if target.rating is not None else np.ones(len(target), np.float32)
    tg_slot, tg_items, tg_gains = evaluated(target.user_idx, target.item_idx, gains)
    tg_rows, tg_cols, tg_gains = _batched_pairs(tg_items, tg_slot, batch, n_batches, tg_gains)
    words = n_words(target.n_items)
    if bitmaps is None:
        bitmap_bytes = 2 * n_batches * batch * words * 4  # exclude and target bitmaps
        ex_pair_bytes = 2 * n_batches * _pair_width(ex_slot, batch, n_batches) * 4  # int32 rows and items
        bitmaps = bitmaps_fit(bitmap_bytes, ex_pair_bytes + tg_rows.nbytes + tg_cols.nbytes)
    plan = EvalPlan(users, padded.reshape(n_batches, batch), valid.reshape(n_batches, batch), tg_rows, tg_cols,
                    n_relevant.reshape(n_batches, batch), n_without, target_gains_NxT=tg_gains)
    if bitmaps:  # straight from the (slot, item) pairs, the exclude pairs never padded (equal to _as_bitmap_plan's)
        plan = replace(plan, exclude_bits_NxBxW=_slots_to_bits(ex_slot, ex_items, batch, n_batches, words),
                       target_bits_NxBxW=_slots_to_bits(tg_slot, tg_items, batch, n_batches, words))
    else:
        ex_rows, ex_cols = _batched_pairs(ex_items, ex_slot, batch, n_batches)
        plan = replace(plan, exclude_rows_NxM=ex_rows, exclude_items_NxM=ex_cols)
    if candidates is None:
        return plan
    per_user = candidates.items_UxC.shape[1]
    in_rows, in_cols = pairs(np.repeat(candidates.users, per_user), candidates.items_UxC.reshape(-1))
    return replace(plan, include_rows_NxC=in_rows, include_items_NxC=in_cols, candidates_source=candidates.source)


def batch_width(targets: Sequence[Interactions], batch_users: int = 1024) -> int:
    """One batch width for several parts: ``batch_users`` or fewer when there are fewer users."""
    most = max(int(np.unique(t.user_idx).shape[0]) for t in targets)
    return int(max(1, min(batch_users, most)))


def _as_bitmap_plan(plan: EvalPlan, words: int) -> EvalPlan:
    """The same plan with bitmaps built from its index pairs (to share a compiled evaluator); equal to
    the bitmaps :func:`plan_ranking` builds directly."""
    batch = plan.users_NxB.shape[1]
    return replace(plan, exclude_bits_NxBxW=_pairs_to_bits(plan.exclude_rows_NxM, plan.exclude_items_NxM, batch, words),
                   target_bits_NxBxW=_pairs_to_bits(plan.target_rows_NxT, plan.target_items_NxT, batch, words),
                   exclude_rows_NxM=None, exclude_items_NxM=None)


def pad_plans(plans: Sequence[EvalPlan]) -> list[EvalPlan]:
    """Pad plans of one batch width and kind to one common shape, so one compiled evaluator serves all.

    If some of the plans use bitmaps and others index pairs, the latter get bitmaps too (a plan's
    bitmaps are as big as its sibling's, which fit).
    """
    widths = {p.users_NxB.shape[1] for p in plans}
    if len(widths) != 1:
        raise ValueError(f"plans have different batch widths {sorted(widths)}; plan them with one batch_users")
    (b,) = widths
    words = {p.exclude_bits_NxBxW.shape[2] for p in plans if p.bitmaps}
    if len(words) > 1:
        raise ValueError(f"plans have bitmaps of different widths {sorted(words)} (words a row); "
                         "plan them on one catalogue")
    if words:
        plans = [p if p.bitmaps else _as_bitmap_plan(p, next(iter(words))) for p in plans]
    n = max(p.users_NxB.shape[0] for p in plans)
    t = max(p.target_rows_NxT.shape[1] for p in plans)
    c = max((p.include_rows_NxC.shape[1] for p in plans if p.sampled), default=0)
    m = max((p.exclude_rows_NxM.shape[1] for p in plans if not p.bitmaps), default=0)

    def grow(a: np.ndarray, shape: tuple[int, ...], fill: Any) -> np.ndarray:
        out = np.full(shape, fill, dtype=a.dtype)
        out[tuple(slice(0, s) for s in a.shape)] = a
        return out

    out = []
    for p in plans:
        q = replace(
            p,
            users_NxB=grow(p.users_NxB, (n, b), 0),
            valid_NxB=grow(p.valid_NxB, (n, b), False),
            n_relevant_NxB=grow(p.n_relevant_NxB, (n, b), 0.0),
            target_rows_NxT=grow(p.target_rows_NxT, (n, t), b),
            target_items_NxT=grow(p.target_items_NxT, (n, t), 0),
            target_gains_NxT=grow(p.target_gains_NxT, (n, t), 0.0) if p.target_gains_NxT is not None else None,
        )
        if p.bitmaps:
            q = replace(q, exclude_bits_NxBxW=grow(p.exclude_bits_NxBxW, (n, b, *p.exclude_bits_NxBxW.shape[2:]), 0),
                        target_bits_NxBxW=grow(p.target_bits_NxBxW, (n, b, *p.target_bits_NxBxW.shape[2:]), 0))
        else:
            q = replace(q, exclude_rows_NxM=grow(p.exclude_rows_NxM, (n, m), b),
                        exclude_items_NxM=grow(p.exclude_items_NxM, (n, m), 0))
        if p.sampled:
            q = replace(q, include_rows_NxC=grow(p.include_rows_NxC, (n, c), b),
                        include_items_NxC=grow(p.include_items_NxC, (n, c), 0))
        out.append(q)
    return out


MetricTable = Mapping[MetricRef, Any]  # MetricSpec, or a bare per-user function


def _spec(entry: Any) -> MetricSpec:
    if isinstance(entry, MetricSpec):
        return entry
    return MetricSpec(name="anonymous", version="0", description="", fn=entry)


#: Per user of a batch, whether the model scored a candidate item NaN or +-inf (an output, not a metric).
NON_FINITE = "__non_finite__"


def make_ranking_fn(graphdef: Any, n_items: int, metrics: Mapping[MetricRef, MetricSpec],
                    sampled: bool, n_train_users_total: int = 0) -> Callable[..., dict[str, jax.Array]]:
    """A jitted function (model state, popularity, {name: plan array}) -> {metric: values_NxB, ...}.

    The plan arrays are :meth:`EvalPlan.device_arrays`; which ones are present (bitmaps or index pairs)
    selects the path at trace time.
    """
    k_max = max([ref.k or 1 for ref in metrics] + [1])
    k_top = min(k_max, n_items)
    uses = {u for spec in metrics.values() for u in spec.uses}
    graded, ranks = "graded" in uses, "ranks" in uses
    exposure_ks = sorted({ref.k or k_max for ref, spec in metrics.items() if spec.aggregate is not None})

    def per_batch(state: Any, popularity_I: jax.Array, batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        users_B, valid_B, n_rel_B = batch["users"], batch["valid"], batch["n_relevant"]
        bitmaps = "exclude_bits" in batch
        model = nnx.merge(graphdef, state)
        # a NaN or infinite score is a diverged model (the suite refuses it): such scores become +inf, so
        # that a user has one among the candidates iff +inf tops their list (fused into the masking pass:
        # a count over every score is a reduction as long as the top-k, +15-30% of an evaluation)
        scores_BxI = real_output(model, "score(users_B)", model.score(users_B), (users_B.shape[0], n_items),
                                 "scores of shape [B, n_items]")
        scores_BxI = jnp.where(jnp.isfinite(scores_BxI), scores_BxI, jnp.inf)
        if sampled:
            allowed_BxI = jnp.zeros(scores_BxI.shape, bool).at[batch["include_rows"], batch["include_items"]].set(
                True, mode="drop")
            if bitmaps:
                allowed_BxI = allowed_BxI | dense_bits(batch["target_bits"], n_items)
            else:
                allowed_BxI = allowed_BxI.at[batch["target_rows"], batch["target_items"]].set(True, mode="drop")
            scores_BxI = jnp.where(allowed_BxI, scores_BxI, -jnp.inf)
        if bitmaps:
            scores_BxI = jnp.where(dense_bits(batch["exclude_bits"], n_items), -jnp.inf, scores_BxI)
        else:
            scores_BxI = scores_BxI.at[batch["exclude_rows"], batch["exclude_items"]].set(-jnp.inf, mode="drop")
        top_scores_BxK, top_items_BxK = top_k_exact(scores_BxI, k_top)  # = lax.top_k, faster
        # any(), not [:, 0]: a second slice of the last sort keeps XLA from rewriting it as a TopK (a full sort)
        non_finite_B = jnp.any(top_scores_BxK == jnp.inf, axis=1)
        rel_BxI = None  # the dense relevance matrix, only where needed
        if bitmaps:
            relevance_BxK = gather_bits(batch["target_bits"], top_items_BxK).astype(jnp.float32)
            if ranks:
                rel_BxI = dense_bits(batch["target_bits"], n_items).astype(jnp.float32)
        else:
            rel_BxI = jnp.zeros_like(scores_BxI).at[batch["target_rows"], batch["target_items"]].set(1.0, mode="drop")
            relevance_BxK = jnp.take_along_axis(rel_BxI, top_items_BxK, axis=1)
        # materialised, so that the metrics compile alike on either path and give identical floats (fused
        # into a gather, XLA may order a metric's sums differently: 1-ulp differences in ndcg on ML-1M)
        relevance_BxK = jax.lax.optimization_barrier(relevance_BxK)
        gains_BxK, ideal_BxK = relevance_BxK, jnp.zeros_like(relevance_BxK)
        if graded:
            gain_BxI = jnp.zeros_like(scores_BxI).at[batch["target_rows"], batch["target_items"]].set(
                batch["target_gains"], mode="drop")
            gains_BxK = jnp.take_along_axis(gain_BxI, top_items_BxK, axis=1)
            ideal_BxK, _ = jax.lax.top_k(gain_BxI, k_top)
        rank_sum_B = n_cand_B = jnp.zeros_like(n_rel_B)
        if ranks:
            # candidates: finite scores, best first (ties: lower item index first); then the held-out
            # items that cannot be ranked (masked, or a NaN/inf score), which beat no candidate; then the rest
            finite_BxI = jnp.isfinite(scores_BxI)
            group_BxI = jnp.where(finite_BxI, 0, jnp.where(rel_BxI > 0, 1, 2))
            order_BxI = jnp.lexsort((jnp.where(finite_BxI, -scores_BxI, 0.0), group_BxI), axis=1)
            position_BxI = jnp.argsort(order_BxI, axis=1)
            rank_sum_B = (rel_BxI * position_BxI).sum(axis=1)
            n_cand_B = (group_BxI < 2).sum(axis=1).astype(jnp.float32)
        if k_max > k_top:  # k beyond the catalogue: the missing ranks hold nothing
            pad = ((0, 0), (0, k_max - k_top))
            relevance_BxK, gains_BxK, ideal_BxK = (jnp.pad(a, pad) for a in (relevance_BxK, gains_BxK, ideal_BxK))
            top_scores_BxK = jnp.pad(top_scores_BxK, pad, constant_values=-jnp.inf)
            top_items_BxK = jnp.pad(top_items_BxK, pad, constant_values=-1)
        n_train_users = jnp.float32(n_train_users_total)
        out = {}
        for ref, spec in metrics.items():
            k = ref.k or k_max
            ranked = RankedBatch(relevance_BxK[:, :k], n_rel_B, top_scores_BxK[:, :k], top_items_BxK[:, :k],
                                 gains_BxK[:, :k], ideal_BxK[:, :k], popularity_I, n_train_users,
                                 rank_sum_B, n_cand_B)
            out[str(ref)] = spec.fn(ranked, k).astype(jnp.float32)
        for k in exposure_ks:
            items = top_items_BxK[:, :k]
            weight = jnp.where((items >= 0) & valid_B[:, None], 1.0, 0.0)  # padding users do not count
            out[f"__exposure@{k}__"] = jnp.zeros((n_items,), jnp.float32).at[items].add(weight, mode="drop")
        out[NON_FINITE] = non_finite_B
        return out

    def run(state: Any, popularity_I: jax.Array, arrays: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        return jax.lax.map(lambda b: per_batch(state, popularity_I, b), dict(arrays))

    return jax.jit(run)


@dataclass
class RankingResult:
    """Per-user metric values of one evaluation, aligned with ``users``."""

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    n_users_without_targets: int
    seconds: float
    protocol: str = "full_ranking"
    global_values: dict[str, float] = field(default_factory=dict)
    #: per evaluated user (aligned with ``users``), whether the model scored a candidate NaN or +-inf
    non_finite_scores: np.ndarray | None = None

    def means(self) -> dict[str, float]:
        out = {name: float(values.mean()) if values.size else float("nan") for name, values in self.per_user.items()}
        out.update(self.global_values)
        return out


class RankingEvaluator:
    """Evaluates any model with ``score(users_B) -> scores_BxI`` on several plans, compiling once per kind.

    Args:
        plans: e.g. ``{"valid": plan_valid, "test": plan_test}``; plans of one kind (full or sampled)
            are padded to one shape.
        n_items: catalogue size.
        metrics: metric references and their specs (or bare per-user functions).
        popularity_I: training interactions per item (beyond-accuracy metrics).
        n_train_users: users with training interactions (novelty's denominator).
    """

    def __init__(self, plans: Mapping[str, EvalPlan], n_items: int, metrics: MetricTable,
                 popularity_I: np.ndarray | None = None, n_train_users: int = 0) -> None:
        self.plans: dict[str, EvalPlan] = {}
        for sampled in (False, True):
            names = [n for n, p in plans.items() if p.sampled == sampled]
            if names:
                self.plans.update(zip(names, pad_plans([plans[n] for n in names]), strict=True))
        self.n_items = n_items
        self.metrics = {ref: _spec(entry) for ref, entry in metrics.items()}
        graded = any("graded" in spec.uses for spec in self.metrics.values())
        self.device_plans = {name: p.device_arrays(graded) for name, p in self.plans.items()}
        self.n_train_users = int(n_train_users)
        self.popularity_I = jnp.asarray(popularity_I if popularity_I is not None else np.zeros(n_items), jnp.float32)
        self._compiled: dict[Any, Any] = {}
        self.compile_seconds = 0.0

    def evaluate(self, model: Any, part: str) -> RankingResult:
        graphdef, state = nnx.split(model)
        plan = self.plans[part]
        arrays = self.device_plans[part]
        shapes = tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree.leaves(state))
        key = (graphdef, shapes, plan.sampled, tuple(sorted(arrays)))
        if key not in self._compiled:
            start = time.perf_counter()
            fn = make_ranking_fn(graphdef, self.n_items, self.metrics, plan.sampled, self.n_train_users)
            self._compiled[key] = fn.lower(state, self.popularity_I, arrays).compile()
            self.compile_seconds += time.perf_counter() - start
        start = time.perf_counter()
        values = jax.block_until_ready(self._compiled[key](state, self.popularity_I, arrays))
        seconds = time.perf_counter() - start
        return self._collect(plan, values, seconds)

    def _collect(self, plan: EvalPlan, values: Mapping[str, jax.Array], seconds: float) -> RankingResult:
        mask = plan.valid_NxB.reshape(-1)
        flat = {name: np.asarray(v).reshape(-1)[mask] for name, v in values.items() if not name.startswith("__")}
        n_relevant = plan.n_relevant_NxB.reshape(-1)[mask]
        exposures = {name: np.asarray(v).sum(axis=0) for name, v in values.items() if name.startswith("__exposure")}
        per_user, global_values = {}, {}
        k_max = max([ref.k or 1 for ref in self.metrics] + [1])
        for ref, spec in self.metrics.items():
            name = str(ref)
            if spec.aggregate is None:
                per_user[name] = flat[name]
            else:
                k = ref.k or k_max
                inputs = GlobalInputs(exposures[f"__exposure@{k}__"], flat[name], n_relevant, self.n_items)
                global_values[name] = float(spec.aggregate(inputs, k))
        protocol = f"sampled[{plan.candidates_source}]" if plan.sampled else "full_ranking"
        return RankingResult(plan.users, per_user, plan.n_users_without_targets, seconds, protocol, global_values,
                             np.asarray(values[NON_FINITE]).reshape(-1)[mask])
