"""Model specs of DeepCF (pointwise) and the CNN models ConvNCF (pairwise) and Caser (sequential).

No jax at import: builders import their modules lazily.
"""

from __future__ import annotations

from collections.abc import Iterator

from recbench.builtin.models.lazy import lazy_builder
from recbench.types import ModelSpec


def specs() -> Iterator[ModelSpec]:
    yield ModelSpec(
        name="deepcf",
        version="1",
        family="pointwise",
        description="DeepCF's CFNet: representation learning (rows x columns towers) fused with matching function "
                    "learning (MLP), log loss on sampled negatives",
        build=lazy_builder("recbench.builtin.models.deepcf:DeepCF"),
        default_config={"user_layers": [512, 64], "item_layers": [1024, 64], "layers": [512, 256, 128, 64],
                        "negatives": 4},
        # The authors' README trains CFNet without pre-training for 20 epochs with their script's default
        # learner (SGD) at lr 0.01, batches of 256 examples; here Adam lr 1e-3 and 256 positives x 5 per
        # step, as the NCF models of this catalogue (not tuned; see the report of issue 5 for ml-100k).
        default_training={"epochs": 20, "batch_size": 1280, "learning_rate": 1e-3, "optimizer": "adam"},
        paper="Z.-H. Deng, L. Huang, C.-D. Wang, J.-H. Lai, P. S. Yu. DeepCF: A Unified Framework of Representation "
              "Learning and Matching Function Learning in Recommender System. AAAI 2019.",
    )
    yield ModelSpec(
        name="convncf",
        version="1",
        family="pairwise",
        description="ConvNCF: outer product of user and item embeddings, a CNN over the map, BPR; optionally "
                    "started from a trained MF-BPR (pretrain = true)",
        build=lazy_builder("recbench.builtin.models.convncf:ConvNCF"),
        default_config={"dim": 64, "channels": 32, "l2": 0.0, "init_std": 0.1},
        # Scoring all items costs ~1.5M multiply-adds per (user, item) at the paper's sizes: validate rarely.
        default_training={"epochs": 30, "batch_size": 512, "learning_rate": 1e-3, "optimizer": "adam",
                          "eval_every": 10},
        paper="X. He, X. Du, X. Wang, F. Tian, J. Tang, T.-S. Chua. Outer Product-based Neural Collaborative "
              "Filtering. IJCAI 2018.",
    )
    yield ModelSpec(
        name="caser",
        version="1",
        family="sequential",
        description="Caser: horizontal and vertical convolutions over the last L item embeddings, BCE on the next "
                    "T items with sampled negatives",
        build=lazy_builder("recbench.builtin.models.caser:Caser"),
        default_config={"dim": 50, "window": 5, "targets": 3, "n_vertical": 4, "n_horizontal": 16, "dropout": 0.5,
                        "max_len": 50},
        default_training={"epochs": 50, "batch_size": 128, "learning_rate": 1e-3, "optimizer": "adam"},
        paper="J. Tang, K. Wang. Personalized Top-N Sequential Recommendation via Convolutional Sequence "
              "Embedding. WSDM 2018.",
    )
