"""Built-in model plugins. Each builder imports its Flax module lazily."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recbench import hookimpl
from recbench.builtin.models.lazy import lazy_builder
from recbench.types import ModelContext, ModelSpec


def _build_pop(ctx: ModelContext) -> Any:
    from recbench.builtin.models.pop import Pop

    return Pop(ctx.n_items)


#: Modules holding more of the catalogue, each with a jax-free ``specs() -> Iterator[ModelSpec]``.
CATALOGS: tuple[str, ...] = (
    "recbench.builtin.models.catalog_baselines",
    "recbench.builtin.models.catalog_rating_pointwise",
    "recbench.builtin.models.catalog_listwise_sequential",
    "recbench.builtin.models.catalog_graph_hybrid",
    "recbench.builtin.models.catalog_cnn_deepcf",
)


@hookimpl
def recbench_models() -> Iterator[ModelSpec]:
    import importlib

    yield from _core()
    for name in CATALOGS:
        yield from importlib.import_module(name).specs()


def _core() -> Iterator[ModelSpec]:
    yield ModelSpec(
        name="pop",
        version="1",
        family="closed_form",
        description="most popular items (training interaction counts); the same list for every user",
        build=_build_pop,
        paper="baseline; see e.g. Cremonesi et al., RecSys 2010",
    )
    yield ModelSpec(
        name="mf_bpr",
        version="1",
        family="pairwise",
        description="matrix factorisation (dot product) trained with BPR on sampled negatives",
        build=lazy_builder("recbench.builtin.models.mf_bpr:MFBPR"),
        # l2 selected on ml-100k's validation part (5%) among 1e-4, 1e-3, 5e-3, 2e-2: ndcg@10 0.119,
        # 0.119, 0.128, 0.128 (seed 0); the test part was not looked at for this choice.
        default_config={"dim": 64, "l2": 5e-3, "loss": "bpr", "init_std": 0.1},
        default_training={"epochs": 60, "batch_size": 2048, "learning_rate": 5e-3, "optimizer": "adam"},
        paper="S. Rendle et al. BPR: Bayesian Personalized Ranking from Implicit Feedback. UAI 2009.",
    )
