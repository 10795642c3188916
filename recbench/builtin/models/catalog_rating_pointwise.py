"""Model specs of the rating and pointwise families. No jax at import: builders import their modules lazily."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from recbench.types import ModelContext, ModelSpec

_NCF_PAPER = ("X. He, L. Liao, H. Zhang, L. Nie, X. Hu and T.-S. Chua. Neural Collaborative Filtering. "
              "WWW 2017.")
_KOREN = "Y. Koren, R. Bell and C. Volinsky. Matrix Factorization Techniques for Recommender Systems. IEEE Computer 42(8), 2009."
#: NCF's official code: Adam lr 1e-3, 256 positives (x 5 with 4 negatives) per batch, 20 epochs.
_NCF_TRAINING = {"epochs": 20, "batch_size": 1280, "learning_rate": 1e-3, "optimizer": "adam"}


def _build_mf(ctx: ModelContext) -> Any:
    from recbench.builtin.models.mf import MF

    return MF(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def _build_biased_mf(ctx: ModelContext) -> Any:
    from recbench.builtin.models.mf import BiasedMF

    return BiasedMF(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def _build_gmf(ctx: ModelContext) -> Any:
    from recbench.builtin.models.ncf import GMF

    return GMF(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def _build_mlp(ctx: ModelContext) -> Any:
    from recbench.builtin.models.ncf import MLP

    return MLP(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def _build_neumf(ctx: ModelContext) -> Any:
    from recbench.builtin.models.ncf import NeuMF

    return NeuMF(ctx.n_users, ctx.n_items, seed=ctx.seed, **ctx.config)


def specs() -> Iterator[ModelSpec]:
    # Rating models train all epochs (eval_every 0): ranking validation is not their objective.
    yield ModelSpec(
        name="mf",
        version="1",
        family="rating",
        description="matrix factorisation for ratings: squared error + L2 on the full factor tables, global mean offset",
        build=_build_mf,
        default_config={"dim": 32, "l2": 10.0, "init_std": 0.1},
        default_training={"epochs": 40, "batch_size": 1024, "learning_rate": 2e-3, "optimizer": "adam",
                          "eval_every": 0},
        paper="R. Salakhutdinov and A. Mnih. Probabilistic Matrix Factorization. NIPS 2007; " + _KOREN,
    )
    yield ModelSpec(
        name="biased_mf",
        version="1",
        family="rating",
        description="biased MF for ratings: mean + user bias + item bias + <p_u, q_i>, squared error + L2 on batch rows",
        build=_build_biased_mf,
        default_config={"dim": 64, "l2": 0.1, "init_std": 0.1},
        default_training={"epochs": 30, "batch_size": 1024, "learning_rate": 2e-3, "optimizer": "adam",
                          "eval_every": 0},
        paper=_KOREN,
    )
    yield ModelSpec(
        name="gmf",
        version="1",
        family="pointwise",
        description="NCF's generalized MF: weighted element-wise product of embeddings, log loss on sampled negatives",
        build=_build_gmf,
        default_config={"dim": 8, "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        paper=_NCF_PAPER,
    )
    yield ModelSpec(
        name="mlp",
        version="1",
        family="pointwise",
        description="NCF's MLP: concatenated embeddings through ReLU layers, log loss on sampled negatives",
        build=_build_mlp,
        default_config={"layers": [64, 32, 16, 8], "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        paper=_NCF_PAPER,
    )
    yield ModelSpec(
        name="neumf",
        version="1",
        family="pointwise",
        description="NCF's NeuMF: GMF and MLP fused, trained from scratch (no pre-training)",
        build=_build_neumf,
        default_config={"dim": 8, "layers": [64, 32, 16, 8], "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        paper=_NCF_PAPER + " Without the paper's GMF/MLP pre-training.",
    )
