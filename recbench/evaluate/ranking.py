"""Ranking evaluation on the device: full ranking, or ranking within candidate sets.

Per batch of users: score all items, mask the items to exclude (training, and validation when
testing) with -inf, and, for sampled evaluation, also every item that is neither a candidate nor a
held-out item of the user. Then ``lax.top_k`` (ties go to the lower item index, deterministically),
gather the relevance of the ranked items, and compute every metric as a per-user vector. All batches
run inside one jitted ``lax.map``; the host only prepares padded index arrays, vectorised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.data.split import CandidateSet
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
    """Padded device-ready index arrays for one evaluated part. Shapes are static per plan.

    ``users_NxB`` lists evaluated users in batches (padding repeats user 0 and is flagged invalid);
    ``*_rows_NxM`` index rows inside a batch (padding is ``B``, dropped by the scatter).
    ``include_*`` are set for sampled evaluation: only those items (and the held-out ones) are ranked.
    """

    users: np.ndarray
    users_NxB: np.ndarray
    valid_NxB: np.ndarray
    exclude_rows_NxM: np.ndarray
    exclude_items_NxM: np.ndarray
    target_rows_NxT: np.ndarray
    target_items_NxT: np.ndarray
    n_users_without_targets: int
    include_rows_NxC: np.ndarray | None = None
    include_items_NxC: np.ndarray | None = None
    candidates_source: str | None = None

    @property
    def sampled(self) -> bool:
        return self.include_rows_NxC is not None

    def device_arrays(self) -> tuple[jax.Array, ...]:
        arrays = [self.users_NxB, self.exclude_rows_NxM, self.exclude_items_NxM, self.target_rows_NxT,
                  self.target_items_NxT]
        if self.sampled:
            arrays += [self.include_rows_NxC, self.include_items_NxC]
        return tuple(jnp.asarray(a) for a in arrays)


def _batched_pairs(items: np.ndarray, slot: np.ndarray, batch: int, n_batches: int) -> tuple[np.ndarray, np.ndarray]:
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


def plan_ranking(target: Interactions, exclude: Sequence[Interactions], batch_users: int = 1024,
                 candidates: CandidateSet | None = None) -> EvalPlan:
    """Plan the evaluation of ``target``'s users, excluding the items in ``exclude`` parts.

    Users with no item in ``target`` are not scored (they are counted in ``n_users_without_targets``);
    with ``candidates``, only users that have candidates are evaluated, each ranking its held-out
    items among its candidates. ``batch_users`` is the static batch width (see :func:`batch_width`).
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

    def pairs(user_idx: np.ndarray, item_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slot = slot_of_user[user_idx]
        keep = slot >= 0
        return _batched_pairs(item_idx[keep], slot[keep], batch, n_batches)

    ex_users = np.concatenate([p.user_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_items = np.concatenate([p.item_idx for p in exclude]) if exclude else np.zeros(0, np.int32)
    ex_rows, ex_cols = pairs(ex_users, ex_items)
    tg_rows, tg_cols = pairs(target.user_idx, target.item_idx)
    plan = EvalPlan(users, padded.reshape(n_batches, batch), valid.reshape(n_batches, batch),
                    ex_rows, ex_cols, tg_rows, tg_cols, n_without)
    if candidates is None:
        return plan
    per_user = candidates.items_UxC.shape[1]
    in_rows, in_cols = pairs(np.repeat(candidates.users, per_user), candidates.items_UxC.reshape(-1))
    return replace(plan, include_rows_NxC=in_rows, include_items_NxC=in_cols, candidates_source=candidates.source)


def batch_width(targets: Sequence[Interactions], batch_users: int = 1024) -> int:
    """One batch width for several parts: ``batch_users`` or fewer when there are fewer users."""
    most = max(int(np.unique(t.user_idx).shape[0]) for t in targets)
    return int(max(1, min(batch_users, most)))


def pad_plans(plans: Sequence[EvalPlan]) -> list[EvalPlan]:
    """Pad plans of one batch width and kind to one common shape, so one compiled evaluator serves all."""
    widths = {p.users_NxB.shape[1] for p in plans}
    if len(widths) != 1:
        raise ValueError(f"plans have different batch widths {sorted(widths)}; plan them with one batch_users")
    (b,) = widths
    n = max(p.users_NxB.shape[0] for p in plans)
    m = max(p.exclude_rows_NxM.shape[1] for p in plans)
    t = max(p.target_rows_NxT.shape[1] for p in plans)
    c = max((p.include_rows_NxC.shape[1] for p in plans if p.sampled), default=0)

    def grow(a: np.ndarray, shape: tuple[int, int], fill: Any) -> np.ndarray:
        out = np.full(shape, fill, dtype=a.dtype)
        out[: a.shape[0], : a.shape[1]] = a
        return out

    out = []
    for p in plans:
        q = replace(
            p,
            users_NxB=grow(p.users_NxB, (n, b), 0),
            valid_NxB=grow(p.valid_NxB, (n, b), False),
            exclude_rows_NxM=grow(p.exclude_rows_NxM, (n, m), b),
            exclude_items_NxM=grow(p.exclude_items_NxM, (n, m), 0),
            target_rows_NxT=grow(p.target_rows_NxT, (n, t), b),
            target_items_NxT=grow(p.target_items_NxT, (n, t), 0),
        )
        if p.sampled:
            q = replace(q, include_rows_NxC=grow(p.include_rows_NxC, (n, c), b),
                        include_items_NxC=grow(p.include_items_NxC, (n, c), 0))
        out.append(q)
    return out


MetricTable = Mapping[MetricRef, Callable[[RankedBatch, int], jax.Array]]


def make_ranking_fn(graphdef: Any, n_items: int, metrics: MetricTable, sampled: bool) -> Callable[..., dict[str, jax.Array]]:
    """A jitted function (model state, plan arrays) -> {metric: values_NxB}."""
    k_max = max([ref.k or 1 for ref in metrics] + [1])
    k_top = min(k_max, n_items)

    def per_batch(state: Any, batch: tuple[jax.Array, ...]) -> dict[str, jax.Array]:
        users_B, ex_rows, ex_items, tg_rows, tg_items = batch[:5]
        model = nnx.merge(graphdef, state)
        scores_BxI = model.score(users_B).astype(jnp.float32)
        if sampled:
            in_rows, in_items = batch[5:]
            allowed_BxI = (jnp.zeros(scores_BxI.shape, bool).at[in_rows, in_items].set(True, mode="drop")
                           .at[tg_rows, tg_items].set(True, mode="drop"))
            scores_BxI = jnp.where(allowed_BxI, scores_BxI, -jnp.inf)
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

    def run(state: Any, *arrays: jax.Array) -> dict[str, jax.Array]:
        return jax.lax.map(lambda b: per_batch(state, b), arrays)

    return jax.jit(run)


@dataclass
class RankingResult:
    """Per-user metric values of one evaluation, aligned with ``users``."""

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    n_users_without_targets: int
    seconds: float
    protocol: str = "full_ranking"

    def means(self) -> dict[str, float]:
        return {name: float(values.mean()) if values.size else float("nan") for name, values in self.per_user.items()}


class RankingEvaluator:
    """Evaluates any model with ``score(users_B) -> scores_BxI`` on several plans, compiling once per kind.

    Args:
        plans: e.g. ``{"valid": plan_valid, "test": plan_test}``; plans of one kind (full or sampled)
            are padded to one shape.
        n_items: catalogue size.
        metrics: metric references and their functions.
    """

    def __init__(self, plans: Mapping[str, EvalPlan], n_items: int, metrics: MetricTable) -> None:
        self.plans: dict[str, EvalPlan] = {}
        for sampled in (False, True):
            names = [n for n, p in plans.items() if p.sampled == sampled]
            if names:
                self.plans.update(zip(names, pad_plans([plans[n] for n in names]), strict=True))
        self.device_plans = {name: p.device_arrays() for name, p in self.plans.items()}
        self.n_items = n_items
        self.metrics = dict(metrics)
        self._compiled: dict[Any, Any] = {}
        self.compile_seconds = 0.0

    def evaluate(self, model: Any, part: str) -> RankingResult:
        graphdef, state = nnx.split(model)
        plan = self.plans[part]
        arrays = self.device_plans[part]
        shapes = tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree.leaves(state))
        key = (graphdef, shapes, plan.sampled)
        if key not in self._compiled:
            start = time.perf_counter()
            fn = make_ranking_fn(graphdef, self.n_items, self.metrics, plan.sampled)
            self._compiled[key] = fn.lower(state, *arrays).compile()
            self.compile_seconds += time.perf_counter() - start
        start = time.perf_counter()
        values = jax.block_until_ready(self._compiled[key](state, *arrays))
        seconds = time.perf_counter() - start
        mask = plan.valid_NxB.reshape(-1)
        per_user = {name: np.asarray(v).reshape(-1)[mask] for name, v in values.items()}
        protocol = f"sampled[{plan.candidates_source}]" if plan.sampled else "full_ranking"
        return RankingResult(plan.users, per_user, plan.n_users_without_targets, seconds, protocol)
