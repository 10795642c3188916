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


def recall_liang(batch: Any, k: int) -> Any:
    """Liang et al. (2018): relevant items in the top k / min(k, |relevant|)."""
    import jax.numpy as jnp

    return _hits(batch) / jnp.clip(batch.n_relevant_B, 1, k)


def f1(batch: Any, k: int) -> Any:
    """Harmonic mean of precision@k and recall@k; 0 when both are 0."""
    import jax.numpy as jnp

    p, r = precision(batch, k), recall(batch, k)
    return jnp.where(p + r > 0, 2 * p * r / jnp.where(p + r > 0, p + r, 1.0), 0.0)


def mrr(batch: Any, k: int) -> Any:
    """1 / rank of the first relevant item within the top k; 0 if there is none."""
    import jax.numpy as jnp

    return jnp.max(batch.relevance_BxK / jnp.arange(1, k + 1, dtype=jnp.float32), axis=1)


def map_(batch: Any, k: int) -> Any:
    """Average precision at k: sum_i rel_i * precision@i over ranks i <= k, / min(k, |relevant|)."""
    import jax.numpy as jnp

    rel = batch.relevance_BxK
    precision_at_i = jnp.cumsum(rel, axis=1) / jnp.arange(1, k + 1, dtype=jnp.float32)
    return (rel * precision_at_i).sum(axis=1) / jnp.clip(batch.n_relevant_B, 1, k)


def _rating_metric(batch: Any, k: int) -> Any:
    raise TypeError("rating metrics are computed by recbench.evaluate.rating, not from a ranked batch")


@hookimpl
def recbench_metrics() -> Iterator[MetricSpec]:
    yield MetricSpec(name="rmse", version="1", fn=_rating_metric, kind="rating", higher_is_better=False,
                     needs_cutoff=False, description="root mean squared error of held-out ratings (per interaction)")
    yield MetricSpec(name="mae", version="1", fn=_rating_metric, kind="rating", higher_is_better=False,
                     needs_cutoff=False, description="mean absolute error of held-out ratings (per interaction)")
    yield MetricSpec(name="rating_accuracy", version="1", fn=_rating_metric, kind="rating",
                     description="share of held-out ratings whose prediction is on the right side of the "
                                 "threshold T in rating_accuracy@T (r >= T vs r_hat >= T)")
    from recbench.builtin import beyond_metrics

    yield from beyond_metrics.specs()
    yield MetricSpec(name="hit", version="1", fn=hit,
                     description="hit rate: 1 if any relevant item is in the top k")
    yield MetricSpec(name="precision", version="1", fn=precision,
                     description="relevant items in the top k / k")
    yield MetricSpec(name="recall", version="1", fn=recall,
                     description="relevant items in the top k / the user's relevant items")
    yield MetricSpec(name="ndcg", version="1", fn=ndcg,
                     description="binary-gain NDCG with log2 discount; ideal = min(k, |relevant|) hits")
    yield MetricSpec(name="recall_liang", version="1", fn=recall_liang,
                     description="Liang et al. 2018 recall: hits in the top k / min(k, |relevant|)")
    yield MetricSpec(name="f1", version="1", fn=f1, description="harmonic mean of precision@k and recall@k")
    yield MetricSpec(name="mrr", version="1", fn=mrr,
                     description="reciprocal rank of the first relevant item in the top k (0 if none)")
    yield MetricSpec(name="map", version="1", fn=map_,
                     description="average precision at k, normalised by min(k, |relevant|)")
