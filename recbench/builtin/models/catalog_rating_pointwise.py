"""Model specs of the rating and pointwise families. No jax at import: builders import their modules lazily."""

from __future__ import annotations

from collections.abc import Iterator
from recbench.builtin.models.lazy import lazy_builder
from recbench.types import ModelSpec

_NCF_PAPER = ("X. He, L. Liao, H. Zhang, L. Nie, X. Hu and T.-S. Chua. Neural Collaborative Filtering. "
              "WWW 2017.")
_KOREN = "Y. Koren, R. Bell and C. Volinsky. Matrix Factorization Techniques for Recommender Systems. IEEE Computer 42(8), 2009."
#: NCF's official code: Adam lr 1e-3, 256 positives (x 5 with 4 negatives) per batch, 20 epochs.
_NCF_TRAINING = {"epochs": 20, "batch_size": 1280, "learning_rate": 1e-3, "optimizer": "adam"}


def specs() -> Iterator[ModelSpec]:
    # Rating models train all epochs (eval_every 0): ranking validation is not their objective.
    yield ModelSpec(
        name="mf",
        version="1",
        family="rating",
        description="matrix factorisation for ratings: squared error + L2 on the full factor tables, global mean offset",
        build=lazy_builder("recbench.builtin.models.mf:MF"),
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
        build=lazy_builder("recbench.builtin.models.mf:BiasedMF"),
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
        build=lazy_builder("recbench.builtin.models.ncf:GMF"),
        default_config={"dim": 8, "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        paper=_NCF_PAPER,
    )
    yield ModelSpec(
        name="mlp",
        version="1",
        family="pointwise",
        description="NCF's MLP: concatenated embeddings through ReLU layers, log loss on sampled negatives",
        build=lazy_builder("recbench.builtin.models.ncf:MLP"),
        default_config={"layers": [64, 32, 16, 8], "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        paper=_NCF_PAPER,
    )
    yield ModelSpec(
        name="neumf",
        version="1",
        family="pointwise",
        description="NCF's NeuMF: GMF and MLP fused; from scratch, or pre-trained from GMF and MLP (pretrain = true)",
        build=lazy_builder("recbench.builtin.models.ncf:NeuMF"),
        default_config={"dim": 8, "layers": [64, 32, 16, 8], "negatives": 4, "l2": 0.0, "init_std": 0.01},
        default_training=dict(_NCF_TRAINING),
        # pretrain (default false) is not listed here, so the default config and its run keys are unchanged
        paper=_NCF_PAPER + " The paper's GMF/MLP pre-training is the option pretrain = true.",
    )
