"""LightGCN: embeddings smoothed over the normalised user-item graph, trained with BPR (pairwise family)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.train.listwise import TrainingData
from recbench.train.losses import pairwise_loss
from recbench.train.pairwise import PairwiseBatch


def normalised_edges(user_idx: np.ndarray, item_idx: np.ndarray, n_users: int, n_items: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The symmetric-normalised bipartite adjacency as (source, target, weight) edge lists.

    Nodes are users ``0..U-1`` then items ``U..U+I-1``. Every training pair gives two directed edges
    with weight ``1 / sqrt(|I_u| |U_i|)``: the non-zeros of ``D^-1/2 A D^-1/2`` with
    ``A = [[0, R], [R^T, 0]]`` (He et al. 2020, eq. 7). Vectorised; no dense adjacency.
    """
    user_deg = np.bincount(user_idx, minlength=n_users).astype(np.float64)
    item_deg = np.bincount(item_idx, minlength=n_items).astype(np.float64)
    weight = 1.0 / np.sqrt(user_deg[user_idx] * item_deg[item_idx])
    item_node = item_idx.astype(np.int64) + n_users
    source = np.concatenate([user_idx, item_node]).astype(np.int32)
    target = np.concatenate([item_node, user_idx]).astype(np.int32)
    return source, target, np.concatenate([weight, weight]).astype(np.float32)


def propagate(ego_NxD: jax.Array, source_E: jax.Array, target_E: jax.Array, weight_E: jax.Array,
              layers: int) -> jax.Array:
    """LightGCN's layer combination: ``mean_{k=0..K} A_hat^k E`` with ``A_hat E`` a weighted
    ``segment_sum`` over the edge list (He et al. 2020, eqs. 3-4 with alpha_k = 1 / (K + 1))."""
    layer_NxD, total_NxD = ego_NxD, ego_NxD
    for _ in range(layers):  # K is a small static constant (3): unrolled, not a loop over data
        messages_ExD = weight_E[:, None] * layer_NxD[source_E]
        layer_NxD = jax.ops.segment_sum(messages_ExD, target_E, num_segments=ego_NxD.shape[0])
        total_NxD = total_NxD + layer_NxD
    return total_NxD / (layers + 1)


class LightGCN(nnx.Module):
    """X. He, K. Deng, X. Wang, Y. Li, Y. Zhang and M. Wang. LightGCN: Simplifying and Powering Graph
    Convolution Network for Recommendation. SIGIR 2020. Family: pairwise. Loss: BPR on the propagated
    embeddings plus L2 on the batch's ego (layer-0) embeddings, as in the authors' code::

        e = mean_{k=0..K} A_hat^k E0,   A_hat = D^-1/2 A D^-1/2 of the training user-item graph
        L_step = mean_b softplus(-(<e_u, e_pos> - <e_u, e_neg>))
                 + l2 * mean_b (|E0_u|^2 + |E0_pos|^2 + |E0_neg|^2) / 2

    Scores are ``<e_u, e_i>``. The graph comes from the training part only (the pairwise planner
    hands it over through ``set_training_part``; see :func:`recbench.train.family.hand_training_part`)
    and is kept as a weighted edge list (``2 N`` edges) in non-trainable variables: no dense
    adjacency. Each training step propagates the whole graph (``O(K N d)``), as the paper does;
    ``score`` propagates once per evaluation batch.

    Defaults from the paper and its code: dim 64, 3 layers, l2 1e-4, N(0, 0.1^2) initialisation,
    Adam, batch 2048; the learning rate is 5e-3 rather than the paper's 1e-3 (which needs ~1000
    epochs), chosen on ml-100k's validation part (see the catalogue spec).
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 64, layers: int = 3, l2: float = 1e-4,
                 loss: str = "bpr", init_std: float = 0.1, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        self.n_users, self.n_items, self.layers = n_users, n_items, int(layers)
        self.embeddings = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_users + n_items, dim)))
        self.source_E = TrainingData(jnp.zeros((1,), jnp.int32))
        self.target_E = TrainingData(jnp.zeros((1,), jnp.int32))
        self.weight_E = TrainingData(jnp.zeros((1,), jnp.float32))
        self.l2, self.loss_name = float(l2), loss
        pairwise_loss(loss, jnp.zeros(1))  # validate the name now, not inside the compiled epoch

    def set_training_part(self, train: Interactions) -> None:
        """Build the normalised graph once from the training part (called by the pairwise planner)."""
        source, target, weight = normalised_edges(train.user_idx, train.item_idx, self.n_users, self.n_items)
        self.source_E = TrainingData(jnp.asarray(source))  # new shapes: replace the variables
        self.target_E = TrainingData(jnp.asarray(target))
        self.weight_E = TrainingData(jnp.asarray(weight))

    def propagated(self) -> jax.Array:
        """The final embeddings of every node (users, then items), ``(U + I) x D``."""
        return propagate(self.embeddings[...], self.source_E[...], self.target_E[...], self.weight_E[...],
                         self.layers)

    def loss(self, batch: PairwiseBatch) -> jax.Array:
        final_NxD = self.propagated()
        ego_NxD = self.embeddings[...]
        pos_B, neg_B = batch.pos_B + self.n_users, batch.neg_B + self.n_users
        u_BxD = final_NxD[batch.users_B]
        diff_B = (u_BxD * (final_NxD[pos_B] - final_NxD[neg_B])).sum(-1)
        reg_B = (ego_NxD[batch.users_B] ** 2).sum(-1) + (ego_NxD[pos_B] ** 2).sum(-1) + (ego_NxD[neg_B] ** 2).sum(-1)
        return pairwise_loss(self.loss_name, diff_B) + self.l2 * 0.5 * reg_B.mean()

    def score(self, users_B: jax.Array) -> jax.Array:
        final_NxD = self.propagated()
        return final_NxD[users_B] @ final_NxD[self.n_users:].T
