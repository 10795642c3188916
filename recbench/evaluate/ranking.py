"""Full-ranking evaluation on the device.

Per batch of users: score all items, mask the items to exclude (training, and validation when testing)
with -inf, ``lax.top_k`` (ties go to the lower item index, deterministically), gather the relevance of
the ranked items, and compute every metric as a per-user vector. All batches run inside one jitted
``lax.map``; the host only prepares padded index arrays, vectorised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.evaluate.metric_names import MetricRef


class RankedBatch(NamedTuple):
    """What a metric function sees for one user batch (B users, cutoff k).

    Attributes:
        relevance_BxK: gain of the item at each rank (1.0 relevant, 0.0 not), best rank first.
        n_relevant_B: number of relevant (held-out) items of each user.
        scores_BxK: the model's scores of the ranked items.
    """

    relevance_BxK: jax.Array
    n_relevant_B: jax.Array
    scores_BxK: jax.Array


@dataclass(frozen=True, slots=True)
class EvalPlan:
    """Padded device-ready index arrays for one target part. Shapes are static per plan.

    ``users_NxB`` lists evaluated users in batches (padding repeats user 0 and is flagged invalid);
    ``*_rows_NxM`` index rows inside a batch (padding is ``B``, dropped by the scatter).
    """

    users: np.ndarray
    users_NxB: np.ndarray
    valid_NxB: np.ndarray
    exclude_rows_NxM: np.ndarray
    exclude_items_NxM: np.ndarray
    target_rows_NxT: np.ndarray
    target_items_NxT: np.ndarray
    n_users_without_targets: int

    @property
    def shape_key(self) -> tuple[int, ...]:
        return (*self.users_NxB.shape, self.exclude_rows_NxM.shape[1], self.target_rows_NxT.shape[1])


def _batched_pairs(users: np.ndarray, items: np.ndarray, slot: np.ndarray, batch: int, n_batches: int):
    """Group (slot, item) pairs by batch into padded [n_batches, width] row and item arrays."""
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
    return rows, cols


def plan_ranking(target: Interactions, exclude: Sequence[Interactions], batch_users: int = 1024) -> EvalPlan:
    """Plan the evaluation of ``target``'s users, excluding the items in ``exclude`` parts.

    Users with no item in ``target`` are not scored (they are counted in ``n_users_without_targets``);
    ``batch_users`` is the static batch width (use :func:`batch_width` to share one across parts).
    """
    users = np.unique(target.user_idx).astype(np.int32)
    in_any = np.zeros(target.n_users, bool)
    for part in exclude:
        in_any[part.user_idx] = True
    n_without = int(in_any.sum() - in_any[users].sum())
    batch = int(max(1, batch_users))
    n_batches = max(1, -(-users.shape[0] // batch))
    slot_of_user = np.full(target.n_users, -1, dtype=np.int64)
    slot_of_user[users] = np.arange(users.shape[0])
    padded = np.zeros(n_batches * batch, dtype=np.int32)
    padded[: users.shape[0]] = users
    valid = np.zeros(n_batches * batch, dtype=bool)
    valid[: users.shape[0]] = True

    ex_users = np.concatenate([p.user_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_items = np.concatenate([p.item_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_slot = slot_of_user[ex_users]
    keep = ex_slot >= 0
    ex_rows, ex_cols = _batched_pairs(ex_users[keep], ex_items[keep], ex_slot[keep], batch, n_batches)
    tg_rows, tg_cols = _batched_pairs(
        target.user_idx, target.item_idx, slot_of_user[target.user_idx], batch, n_batches
    )
    return EvalPlan(
        users=users,
        users_NxB=padded.reshape(n_batches, batch),
        valid_NxB=valid.reshape(n_batches, batch),
        exclude_rows_NxM=ex_rows,
        exclude_items_NxM=ex_cols,
        target_rows_NxT=tg_rows,
        target_items_NxT=tg_cols,
        n_users_without_targets=n_without,
    )


def pad_plans(plans: Sequence[EvalPlan]) -> list[EvalPlan]:
    """Pad plans of one batch width to one common shape, so a single compiled evaluator serves all."""
    widths = {p.users_NxB.shape[1] for p in plans}
    if len(widths) != 1:
        raise ValueError(f"plans have different batch widths {sorted(widths)}; plan them with one batch_users")
    (b,) = widths
    n = max(p.users_NxB.shape[0] for p in plans)
    m = max(p.exclude_rows_NxM.shape[1] for p in plans)
    t = max(p.target_rows_NxT.shape[1] for p in plans)

    def grow(a: np.ndarray, shape: tuple[int, int], fill: Any) -> np.ndarray:
        out = np.full(shape, fill, dtype=a.dtype)
        out[: a.shape[0], : a.shape[1]] = a
        return out

    return [
        EvalPlan(
            users=p.users,
            users_NxB=grow(p.users_NxB, (n, b), 0),
            valid_NxB=grow(p.valid_NxB, (n, b), False),
            exclude_rows_NxM=grow(p.exclude_rows_NxM, (n, m), b),
            exclude_items_NxM=grow(p.exclude_items_NxM, (n, m), 0),
            target_rows_NxT=grow(p.target_rows_NxT, (n, t), b),
            target_items_NxT=grow(p.target_items_NxT, (n, t), 0),
            n_users_without_targets=p.n_users_without_targets,
        )
        for p in plans
    ]


def batch_width(targets: Sequence[Interactions], batch_users: int = 1024) -> int:
    """One batch width for several parts: ``batch_users`` or fewer when there are fewer users."""
    most = max(int(np.unique(t.user_idx).shape[0]) for t in targets)
    return int(max(1, min(batch_users, most)))


MetricTable = Mapping[MetricRef, Callable[[RankedBatch, int], jax.Array]]


def make_ranking_fn(graphdef: Any, n_items: int, metrics: MetricTable) -> Callable[..., dict[str, jax.Array]]:
    """A jitted function (model state, plan arrays) -> {metric: values_NxB}."""
    k_max = max([ref.k or 1 for ref in metrics] + [1])
    k_top = min(k_max, n_items)

    def per_batch(state: Any, batch: tuple[jax.Array, ...]) -> dict[str, jax.Array]:
        users_B, ex_rows, ex_items, tg_rows, tg_items = batch
        model = nnx.merge(graphdef, state)
        scores_BxI = model.score(users_B).astype(jnp.float32)
        scores_BxI = scores_BxI.at[ex_rows, ex_items].set(-jnp.inf, mode="drop")
        rel_BxI = jnp.zeros_like(scores_BxI).at[tg_rows, tg_items].set(1.0, mode="drop")
        n_rel_B = rel_BxI.sum(axis=1)
        top_scores_BxK, top_items_BxK = jax.lax.top_k(scores_BxI, k_top)
        relevance_BxK = jnp.take_along_axis(rel_BxI, top_items_BxK, axis=1)
        if k_max > k_top:  # k beyond the catalogue: the missing ranks hold nothing relevant
            pad = ((0, 0), (0, k_max - k_top))
            relevance_BxK = jnp.pad(relevance_BxK, pad)
            top_scores_BxK = jnp.pad(top_scores_BxK, pad, constant_values=-jnp.inf)
        out = {}
        for ref, fn in metrics.items():
            k = ref.k or k_max
            ranked = RankedBatch(relevance_BxK[:, :k], n_rel_B, top_scores_BxK[:, :k])
            out[str(ref)] = fn(ranked, k).astype(jnp.float32)
        return out

    def run(state: Any, users, ex_rows, ex_items, tg_rows, tg_items) -> dict[str, jax.Array]:
        return jax.lax.map(lambda b: per_batch(state, b), (users, ex_rows, ex_items, tg_rows, tg_items))

    return jax.jit(run)


@dataclass
class RankingResult:
    """Per-user metric values of one evaluation, aligned with ``users``."""

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    n_users_without_targets: int
    seconds: float

    def means(self) -> dict[str, float]:
        return {name: float(values.mean()) if values.size else float("nan") for name, values in self.per_user.items()}


class RankingEvaluator:
    """Evaluates any model with ``score(users_B) -> scores_BxI`` on several plans with one compile.

    Args:
        plans: e.g. ``{"valid": plan_valid, "test": plan_test}``; padded to one shape.
        n_items: catalogue size.
        metrics: metric references and their functions.
    """

    def __init__(self, plans: Mapping[str, EvalPlan], n_items: int, metrics: MetricTable) -> None:
        names = list(plans)
        padded = pad_plans([plans[n] for n in names])
        self.plans = dict(zip(names, padded, strict=True))
        self.device_plans = {
            name: tuple(jnp.asarray(a) for a in (p.users_NxB, p.exclude_rows_NxM, p.exclude_items_NxM,
                                                 p.target_rows_NxT, p.target_items_NxT))
            for name, p in self.plans.items()
        }
        self.n_items = n_items
        self.metrics = dict(metrics)
        self._compiled: dict[Any, Any] = {}
        self.compile_seconds = 0.0

    def evaluate(self, model: Any, part: str) -> RankingResult:
        graphdef, state = nnx.split(model)
        arrays = self.device_plans[part]
        key = (graphdef, tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree.leaves(state)))
        if key not in self._compiled:
            start = time.perf_counter()
            fn = make_ranking_fn(graphdef, self.n_items, self.metrics)
            self._compiled[key] = fn.lower(state, *arrays).compile()
            self.compile_seconds += time.perf_counter() - start
        start = time.perf_counter()
        values = self._compiled[key](state, *arrays)
        values = jax.block_until_ready(values)
        seconds = time.perf_counter() - start
        plan = self.plans[part]
        mask = plan.valid_NxB.reshape(-1)
        per_user = {name: np.asarray(v).reshape(-1)[mask] for name, v in values.items()}
        return RankingResult(plan.users, per_user, plan.n_users_without_targets, seconds)
