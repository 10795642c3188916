"""Built-in ranking metrics. Pinned definitions: docs/metrics.md. jax is imported only when traced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recbench import hookimpl
from recbench.types import MetricSpec


def _hits(batch: Any) -> Any:
    return batch.relevance_BxK.sum(axis=1)


def hit(batch: Any, k: int) -> Any:
    """1 if at least one relevant item is in the top k, else 0."""
    return (_hits(batch) > 0).astype("float32")


def precision(batch: Any, k: int) -> Any:
    """Relevant items in the top k, divided by k (k, not min(k, |relevant|))."""
    return _hits(batch) / k


def recall(batch: Any, k: int) -> Any:
    """Relevant items in the top k, divided by the user's number of relevant items."""
    import jax.numpy as jnp

    return _hits(batch) / jnp.maximum(batch.n_relevant_B, 1)


def ndcg(batch: Any, k: int) -> Any:
    """Binary-gain NDCG: sum_i rel_i / log2(i + 1) over ranks i = 1..k, over the ideal DCG of
    min(k, |relevant|) relevant items ranked first."""
    import jax.numpy as jnp

    discount_K = 1.0 / jnp.log2(jnp.arange(k, dtype=jnp.float32) + 2.0)
    dcg_B = (batch.relevance_BxK * discount_K).sum(axis=1)
    ideal_cumsum_K = jnp.cumsum(discount_K)
    n_ideal_B = jnp.clip(batch.n_relevant_B, 1, k).astype(jnp.int32)
    return dcg_B / ideal_cumsum_K[n_ideal_B - 1]


@hookimpl
def recbench_metrics() -> Iterator[MetricSpec]:
    yield MetricSpec(name="hit", version="1", fn=hit,
                     description="hit rate: 1 if any relevant item is in the top k")
    yield MetricSpec(name="precision", version="1", fn=precision,
                     description="relevant items in the top k / k")
    yield MetricSpec(name="recall", version="1", fn=recall,
                     description="relevant items in the top k / the user's relevant items")
    yield MetricSpec(name="ndcg", version="1", fn=ndcg,
                     description="binary-gain NDCG with log2 discount; ideal = min(k, |relevant|) hits")
