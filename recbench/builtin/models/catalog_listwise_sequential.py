"""Model specs of the listwise and sequential families. No jax at import: builders import their modules lazily."""

from __future__ import annotations

from collections.abc import Iterator
from recbench.builtin.models.lazy import lazy_builder
from recbench.types import ModelSpec

_LIANG = ("D. Liang, R. G. Krishnan, M. D. Hoffman, T. Jebara. Variational Autoencoders for Collaborative "
          "Filtering. WWW 2018.")


_AE_TRAINING = {"epochs": 200, "batch_size": 500, "learning_rate": 1e-3, "optimizer": "adam"}
_SEQ_TRAINING = {"epochs": 200, "batch_size": 128, "learning_rate": 1e-3, "optimizer": "adam"}


def specs() -> Iterator[ModelSpec]:
    yield ModelSpec(
        name="multdae",
        version="1",
        family="listwise",
        description="denoising autoencoder over user rows, multinomial likelihood (Mult-DAE)",
        build=lazy_builder("recbench.builtin.models.autoencoders:MultDAE"),
        default_config={"hidden": [], "latent": 200, "dropout": 0.5, "l2": 0.01 / 500},
        default_training=_AE_TRAINING,
        paper=_LIANG,
    )
    yield ModelSpec(
        name="multvae",
        version="1",
        family="listwise",
        description="variational autoencoder over user rows, multinomial likelihood, annealed KL (Mult-VAE^PR)",
        build=lazy_builder("recbench.builtin.models.autoencoders:MultVAE"),
        default_config={"hidden": [600], "latent": 200, "dropout": 0.5, "anneal_cap": 0.2,
                        "total_anneal_steps": 200_000, "l2": 0.0},
        default_training=_AE_TRAINING,
        paper=_LIANG,
    )
    yield ModelSpec(
        name="cdae",
        version="1",
        family="listwise",
        description="collaborative denoising autoencoder with a user input node, logistic loss on sampled negatives (CDAE)",
        build=lazy_builder("recbench.builtin.models.autoencoders:CDAE"),
        default_config={"dim": 50, "corruption": 0.2, "l2": 1e-5, "negative_ratio": 5.0},
        default_training={**_AE_TRAINING, "learning_rate": 1e-2},  # at 1e-3 it sits at popularity for 30+ epochs
        paper="Y. Wu, C. DuBois, A. X. Zheng, M. Ester. Collaborative Denoising Auto-Encoders for Top-N "
              "Recommender Systems. WSDM 2016.",
    )
    yield ModelSpec(
        name="gru4rec",
        version="1",
        family="sequential",
        description="GRU over the time-ordered history, full softmax cross-entropy on the next item",
        build=lazy_builder("recbench.builtin.models.sequence_models:GRU4Rec"),
        default_config={"dim": 64, "hidden": 100, "dropout": 0.25, "max_len": 50, "loss": "softmax",
                        "n_sampled": 256},
        default_training=_SEQ_TRAINING,
        paper="B. Hidasi, A. Karatzoglou, L. Baltrunas, D. Tikk. Session-based Recommendations with Recurrent "
              "Neural Networks. ICLR 2016 (cross-entropy variant: Hidasi & Karatzoglou, CIKM 2018).",
    )
    yield ModelSpec(
        name="lstm",
        version="1",
        family="sequential",
        description="GRU4Rec's architecture with an LSTM cell, full softmax cross-entropy on the next item",
        build=lazy_builder("recbench.builtin.models.sequence_models:LSTMRec"),
        default_config={"dim": 64, "hidden": 100, "dropout": 0.25, "max_len": 50, "loss": "softmax",
                        "n_sampled": 256},
        default_training=_SEQ_TRAINING,
        paper="B. Hidasi et al. Session-based Recommendations with Recurrent Neural Networks. ICLR 2016, with "
              "the LSTM cell of S. Hochreiter, J. Schmidhuber. Long Short-Term Memory. Neural Computation 1997.",
    )
    yield ModelSpec(
        name="sasrec",
        version="1",
        family="sequential",
        description="causal self-attention over the history, BCE with one sampled negative per position",
        build=lazy_builder("recbench.builtin.models.sequence_models:SASRec"),
        default_config={"dim": 50, "n_blocks": 2, "n_heads": 1, "dropout": 0.2, "max_len": 50},
        default_training=_SEQ_TRAINING,
        paper="W.-C. Kang, J. McAuley. Self-Attentive Sequential Recommendation. ICDM 2018.",
    )
