"""ConvNCF: the outer-product interaction map and a CNN over it (He et al., IJCAI 2018), pairwise family.

Cost. One (user, item) score is a CNN over a ``d x d`` map: with the paper's ``d = 64`` and 6 layers of
32 channels that is about 1.5M multiply-adds per pair (the second layer alone ~1M), so scoring all
items for one user costs ``1.5M x I``. ``score`` therefore runs users one at a time (``lax.map``) and
items in chunks of ``item_chunk`` (default 512), which bounds the activation memory to about
``item_chunk x (d/2)^2 x channels`` floats (64 MB at the defaults) whatever the catalogue size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.builtin.models.mf_bpr import MFBPR
from recbench.errors import ConfigError
from recbench.train.family import Pretraining
from recbench.train.losses import pairwise_loss
from recbench.train.pairwise import PairwiseBatch


#: How the host trains the MF-BPR that ConvNCF starts from (mf_bpr's catalog training settings).
MF_BPR_TRAINING: Mapping[str, Any] = {"epochs": 60, "batch_size": 2048, "learning_rate": 5e-3, "optimizer": "adam"}


def outer_product_map(p_BxD: jax.Array, q_BxD: jax.Array) -> jax.Array:
    """The interaction map ``E = p q^T`` of each pair, ``B x D x D x 1`` (NHWC, one channel)."""
    return (p_BxD[:, :, None] * q_BxD[:, None, :])[..., None]


class ConvNCF(nnx.Module):
    """ConvNCF: X. He, X. Du, X. Wang, F. Tian, J. Tang and T.-S. Chua, "Outer Product-based Neural
    Collaborative Filtering", IJCAI 2018. Family: pairwise. Loss: BPR (eq. 5) on (user, positive,
    sampled negative) triples, plus ``l2 * mean_b(|p_u|^2 + |q_pos|^2 + |q_neg|^2)``.

    ``E = p_u q_i^T`` (``d x d``) goes through ``log2(d)`` convolution layers of ``channels`` feature
    maps, each a 2x2 kernel with stride 2 and ReLU, halving the map until it is ``1 x 1 x channels``;
    a linear layer maps that vector to the score (eq. 3-4). Paper defaults: ``d = 64`` (6 layers),
    32 channels, BPR. The paper initialises the embeddings from a trained MF-BPR and optimises with
    Adagrad. By default here the embeddings start from ``N(0, init_std^2)`` and the host's Adam
    trains everything (l2 0, not tuned). With ``pretrain = true`` the host first trains an MF-BPR
    (``mf_bpr``'s catalog settings: l2 5e-3, Adam lr 5e-3, batch 2048, 60 epochs, with this model's
    ``dim`` and ``init_std``) on the same split with the same loop, and ConvNCF starts from its
    user and item factors, as in the paper.
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 64, channels: int = 32, l2: float = 0.0,
                 init_std: float = 0.1, item_chunk: int = 512, pretrain: bool = False, seed: int = 0) -> None:
        if not isinstance(pretrain, bool):
            raise ConfigError(f"convncf: pretrain={pretrain!r} must be true or false")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2 or dim & (dim - 1):
            raise ConfigError(f"convncf: dim={dim!r} must be a power of two >= 2 (each layer halves the map)",
                              hint="use the paper's dim = 64")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ConfigError(f"convncf: channels={channels!r} must be a positive integer")
        rngs = nnx.Rngs(params=seed)
        self.user_embedding = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_users, dim)))
        self.item_embedding = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_items, dim)))
        n_layers = int(math.log2(dim))
        widths = [1] + [channels] * n_layers
        self.convs = nnx.List([nnx.Conv(a, b, kernel_size=(2, 2), strides=(2, 2), padding="VALID", rngs=rngs)
                               for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.output = nnx.Linear(channels, 1, rngs=rngs)
        self.l2 = float(l2)
        self.item_chunk = max(1, int(item_chunk))
        self.n_users, self.n_items, self.dim, self.init_std = n_users, n_items, dim, float(init_std)
        self.pretrain, self.seed = pretrain, int(seed)

    def pretraining(self) -> dict[str, Pretraining]:
        """The MF-BPR the host trains first when ``pretrain`` is on (see the class docstring)."""
        if not self.pretrain:
            return {}
        mf = MFBPR(self.n_users, self.n_items, dim=self.dim, l2=5e-3, init_std=self.init_std,
                   seed=(self.seed + 1) % 2**32)
        return {"mf_bpr": Pretraining(mf, "pairwise", dict(MF_BPR_TRAINING))}

    def load_pretrained(self, trained: Mapping[str, Any]) -> None:
        """Start from the trained MF-BPR's user and item factors (copies: the host donates ours)."""
        self.user_embedding[...] = jnp.copy(trained["mf_bpr"].user_factors[...])
        self.item_embedding[...] = jnp.copy(trained["mf_bpr"].item_factors[...])

    def pair_scores(self, p_BxD: jax.Array, q_BxD: jax.Array) -> jax.Array:
        """Scores of matched (user, item) embedding rows, ``B``."""
        h = outer_product_map(p_BxD, q_BxD)
        for conv in self.convs:
            h = jax.nn.relu(conv(h))
        return self.output(h.reshape(h.shape[0], -1))[:, 0]

    def loss(self, batch: PairwiseBatch) -> jax.Array:
        p_BxD = self.user_embedding[...][batch.users_B]
        pos_BxD = self.item_embedding[...][batch.pos_B]
        neg_BxD = self.item_embedding[...][batch.neg_B]
        diff_B = self.pair_scores(p_BxD, pos_BxD) - self.pair_scores(p_BxD, neg_BxD)
        loss = pairwise_loss("bpr", diff_B)
        if not self.l2:
            return loss
        reg_B = (p_BxD**2).sum(-1) + (pos_BxD**2).sum(-1) + (neg_BxD**2).sum(-1)
        return loss + self.l2 * reg_B.mean()

    def score(self, users_B: jax.Array) -> jax.Array:
        """Every item's score, ``B x I``: one user at a time, items in chunks (see the module docstring)."""
        q_IxD = self.item_embedding[...]
        n_items, dim = q_IxD.shape
        chunk = min(self.item_chunk, n_items)
        n_chunks = -(-n_items // chunk)
        q_CxKxD = jnp.pad(q_IxD, ((0, n_chunks * chunk - n_items), (0, 0))).reshape(n_chunks, chunk, dim)

        def one_user(p_D: jax.Array) -> jax.Array:
            def one_chunk(q_KxD: jax.Array) -> jax.Array:
                return self.pair_scores(jnp.broadcast_to(p_D, q_KxD.shape), q_KxD)

            return jax.lax.map(one_chunk, q_CxKxD).reshape(-1)[:n_items]

        return jax.lax.map(one_user, self.user_embedding[...][users_B])
