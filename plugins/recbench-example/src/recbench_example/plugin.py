"""The plugin module named by the ``recbench`` entry point. Keep imports light: no jax here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

import recbench
from recbench.data import Interactions


def load_blocks(ctx: recbench.DatasetContext) -> Interactions:
    """``n_blocks`` communities; each user holds ``per_user`` distinct items of their community."""
    n_blocks = int(ctx.params.get("n_blocks", 8))
    users_per_block = int(ctx.params.get("users_per_block", 40))
    items_per_block = int(ctx.params.get("items_per_block", 25))
    per_user = int(ctx.params.get("per_user", 12))
    rng = np.random.default_rng(int(ctx.params.get("seed", 0)))
    n_users = n_blocks * users_per_block
    block_of_user = np.arange(n_users) // users_per_block
    # per user, a random subset of their block's items: argsort of random keys, vectorised
    picks = np.argsort(rng.random((n_users, items_per_block)), axis=1)[:, :per_user]
    items = block_of_user[:, None] * items_per_block + picks
    users = np.repeat(np.arange(n_users), per_user)
    return Interactions.from_indices(users, items.reshape(-1), n_users=n_users,
                                     n_items=n_blocks * items_per_block, name="example-blocks")


def build_biased_mf(ctx: recbench.ModelContext) -> Any:
    from recbench_example.model import BiasedMF  # jax/flax only when a run builds the model

    return BiasedMF(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def reciprocal_rank(batch: Any, k: int) -> Any:
    """1 / rank of the first relevant item in the top k; 0 if none."""
    import jax.numpy as jnp

    ranks_K = jnp.arange(1, k + 1, dtype=jnp.float32)
    first_hit_B = jnp.max(batch.relevance_BxK / ranks_K, axis=1)
    return first_hit_B


@recbench.hookimpl
def recbench_datasets() -> Iterator[recbench.DatasetSpec]:
    yield recbench.DatasetSpec(
        name="example-blocks",
        version="1",
        description="example plugin: users interact only with items of their own community",
        load=load_blocks,
        feedback="implicit",
        license="generated; no terms",
    )


@recbench.hookimpl
def recbench_models() -> Iterator[recbench.ModelSpec]:
    yield recbench.ModelSpec(
        name="example_biased_mf",
        version="1",
        family="pairwise",
        description="example plugin: dot product plus item bias, trained with BPR by the host loop",
        build=build_biased_mf,
        default_config={"dim": 16, "l2": 1e-4},
        default_training={"epochs": 20, "batch_size": 1024, "learning_rate": 1e-2},
        paper="template; see Rendle et al., UAI 2009",
    )


@recbench.hookimpl
def recbench_metrics() -> Iterator[recbench.MetricSpec]:
    yield recbench.MetricSpec(
        name="example_rr",
        version="1",
        description="example plugin: reciprocal rank of the first relevant item in the top k",
        fn=reciprocal_rank,
    )
