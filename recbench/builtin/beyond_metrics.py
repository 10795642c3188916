"""Graded NDCG, AUC/GAUC and beyond-accuracy metrics. Definitions pinned in docs/metrics.md."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from recbench.types import MetricSpec

TAIL_MASS = 0.8  # the head: the most popular items holding 80% of training interactions


def ndcg_graded(batch: Any, k: int) -> Any:
    """NDCG with exponential gain 2^g - 1 of the held-out rating g, over the ideal ordering of gains."""
    import jax.numpy as jnp

    discount_K = 1.0 / jnp.log2(jnp.arange(k, dtype=jnp.float32) + 2.0)
    dcg_B = ((2.0 ** batch.gains_BxK - 1.0) * discount_K).sum(axis=1)
    idcg_B = ((2.0 ** batch.ideal_gains_BxK - 1.0) * discount_K).sum(axis=1)
    return jnp.where(idcg_B > 0, dcg_B / jnp.where(idcg_B > 0, idcg_B, 1.0), 0.0)


def auc(batch: Any, k: int) -> Any:
    """Per user: the fraction of (relevant, non-relevant candidate) pairs ranked in the right order,
    over all unmasked items (full AUC) or the candidates (sampled AUC); 1 when there is no negative."""
    import jax.numpy as jnp

    n_rel, n_cand = batch.n_relevant_B, batch.n_candidates_B
    n_neg = n_cand - n_rel
    below = n_rel * (n_cand - 1.0) - batch.rank_sum_B - n_rel * (n_rel - 1.0) / 2.0
    return jnp.where(n_neg > 0, below / jnp.maximum(n_rel * n_neg, 1.0), 1.0)


def gauc_aggregate(inputs: Any, k: int) -> float:
    """AUC averaged over users weighted by their number of relevant items."""
    weights = inputs.n_relevant_U.astype(np.float64)
    return float((inputs.per_user * weights).sum() / weights.sum()) if weights.sum() else float("nan")


def _zeros(batch: Any, k: int) -> Any:
    return batch.n_relevant_B * 0.0


def coverage_aggregate(inputs: Any, k: int) -> float:
    """Share of the catalogue recommended to at least one evaluated user in their top k."""
    return float((inputs.exposure_I > 0).sum() / inputs.n_items)


def gini_aggregate(inputs: Any, k: int) -> float:
    """Gini index of item exposure in the top-k lists: 0 equal exposure, -> 1 all on one item."""
    x = np.sort(inputs.exposure_I.astype(np.float64))
    n, total = x.size, x.sum()
    if total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * x).sum() / (n * total))


def _valid_items(batch: Any) -> tuple[Any, Any]:
    import jax.numpy as jnp

    valid_BxK = batch.items_BxK >= 0
    return valid_BxK, jnp.maximum(valid_BxK.sum(axis=1), 1)


def novelty(batch: Any, k: int) -> Any:
    """Mean self-information -log2(pop_i / n_train_users) of the recommended items (pop_i >= 1)."""
    import jax.numpy as jnp

    valid_BxK, n_B = _valid_items(batch)
    pop_BxK = jnp.maximum(batch.popularity_I[jnp.maximum(batch.items_BxK, 0)], 1.0)
    info_BxK = -jnp.log2(pop_BxK / jnp.maximum(batch.n_train_users, 1.0))
    return jnp.where(valid_BxK, info_BxK, 0.0).sum(axis=1) / n_B


def arp(batch: Any, k: int) -> Any:
    """Average recommended popularity: mean training interaction count of the recommended items."""
    import jax.numpy as jnp

    valid_BxK, n_B = _valid_items(batch)
    pop_BxK = batch.popularity_I[jnp.maximum(batch.items_BxK, 0)]
    return jnp.where(valid_BxK, pop_BxK, 0.0).sum(axis=1) / n_B


def tail_share(batch: Any, k: int) -> Any:
    """Share of recommended items in the long tail: items outside the smallest set of most popular
    items holding 80% of training interactions (ties in popularity: lower item index first)."""
    import jax.numpy as jnp

    pop_I = batch.popularity_I
    order_I = jnp.argsort(-pop_I, stable=True)
    mass_before = jnp.cumsum(pop_I[order_I]) - pop_I[order_I]
    head_sorted = mass_before < TAIL_MASS * pop_I.sum()
    head_I = jnp.zeros(pop_I.shape, bool).at[order_I].set(head_sorted)
    valid_BxK, n_B = _valid_items(batch)
    tail_BxK = valid_BxK & ~head_I[jnp.maximum(batch.items_BxK, 0)]
    return tail_BxK.sum(axis=1) / n_B


def specs() -> Iterator[MetricSpec]:
    yield MetricSpec(name="ndcg_graded", version="1", fn=ndcg_graded, uses=("graded",),
                     description="NDCG with gain 2^rating - 1 of the held-out ratings (1 for implicit data)")
    yield MetricSpec(name="auc", version="1", fn=auc, uses=("ranks",), needs_cutoff=False,
                     description="per-user AUC over all unmasked items (or the candidates when sampled)")
    yield MetricSpec(name="gauc", version="1", fn=auc, uses=("ranks",), needs_cutoff=False,
                     aggregate=gauc_aggregate, description="AUC averaged over users weighted by |relevant|")
    yield MetricSpec(name="coverage", version="1", fn=_zeros, aggregate=coverage_aggregate, kind="beyond-accuracy",
                     description="share of items in at least one user's top k")
    yield MetricSpec(name="gini", version="1", fn=_zeros, aggregate=gini_aggregate, kind="beyond-accuracy",
                     higher_is_better=False, description="Gini index of item exposure in the top-k lists")
    yield MetricSpec(name="novelty", version="1", fn=novelty, kind="beyond-accuracy",
                     description="mean self-information -log2(pop/users) of the top-k items")
    yield MetricSpec(name="arp", version="1", fn=arp, kind="beyond-accuracy", higher_is_better=False,
                     description="average recommended popularity (training interactions) of the top-k items")
    yield MetricSpec(name="tail_share", version="1", fn=tail_share, kind="beyond-accuracy",
                     description="share of top-k items outside the head holding 80% of interactions")
