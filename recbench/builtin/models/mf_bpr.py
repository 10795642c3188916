"""MF-BPR: a dot-product factor model trained on (user, positive, negative) triples."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.builtin.models._layers import row_sums
from recbench.train.losses import pairwise_loss
from recbench.train.pairwise import PairwiseBatch
from recbench.train.sparse import gather_rows


class MFBPR(nnx.Module):
    """Rendle et al., UAI 2009. Family: pairwise. Loss: BPR (or hinge) + l2 on the batch's rows.

    score(u, i) = <p_u, q_i>. The l2 term is ``l2 * mean_b(|p_u|^2 + |q_pos|^2 + |q_neg|^2)``, the
    per-example regularisation of the BPR paper's SGD.

    Both tables are row-sparse (:mod:`recbench.train.sparse`): the loss reads only the batch's rows,
    so ``training.sparse_optimizer`` (``sgd``, ``adagrad``, ``adam``) updates just those rows.
    """

    sparse_tables = ("user_factors", "item_factors")

    def __init__(self, n_users: int, n_items: int, *, dim: int = 64, l2: float = 1e-4, loss: str = "bpr",
                 init_std: float = 0.1, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        self.user_factors = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_users, dim)))
        self.item_factors = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_items, dim)))
        self.l2 = l2
        self.loss_name = loss
        pairwise_loss(loss, jnp.zeros(1))  # validate the name now, not inside the compiled epoch

    def table_rows(self, batch: PairwiseBatch) -> dict[str, jax.Array]:
        """The rows the loss reads: users ``[B]``; items ``[2, B]`` (positives, then negatives)."""
        return {"user_factors": batch.users_B, "item_factors": jnp.stack([batch.pos_B, batch.neg_B])}

    def loss_from_rows(self, rows: dict[str, jax.Array], batch: PairwiseBatch) -> jax.Array:
        """The loss given ``rows[name] = table[table_rows(batch)[name]]``."""
        u_BxD = rows["user_factors"]
        pos_BxD, neg_BxD = rows["item_factors"][0], rows["item_factors"][1]
        diff_B = row_sums(u_BxD * (pos_BxD - neg_BxD))
        reg_B = row_sums(u_BxD * u_BxD + pos_BxD * pos_BxD + neg_BxD * neg_BxD)
        return pairwise_loss(self.loss_name, diff_B) + self.l2 * reg_B.mean()

    def loss(self, batch: PairwiseBatch) -> jax.Array:
        return self.loss_from_rows(gather_rows(self, self.table_rows(batch)), batch)

    def score(self, users_B: jax.Array) -> jax.Array:
        return self.user_factors[...][users_B] @ self.item_factors[...].T
