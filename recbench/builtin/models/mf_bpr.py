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

    The user factors ``P`` and item factors ``Q`` are one table, ``factors = [P; Q]`` (users' rows,
    then items'), so a step gathers, scatters and updates one array instead of two. Same numbers;
    on CPU, XLA spreads an elementwise pass over threads only for arrays of 512 KiB and more, and
    ML-100K's tables at dim 64 are 241 and 430 KiB apart, 672 KiB together: a dense Adam step is
    6-9% faster (benchmarks/RESULTS.md, fifth session). ``user_factors`` and ``item_factors`` read
    the two parts.

    The table is row-sparse (:mod:`recbench.train.sparse`): the loss reads only the batch's rows,
    so ``training.sparse_optimizer`` (``sgd``, ``adagrad``, ``adam``) updates just those rows.
    """

    sparse_tables = ("factors",)

    def __init__(self, n_users: int, n_items: int, *, dim: int = 64, l2: float = 1e-4, loss: str = "bpr",
                 init_std: float = 0.1, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        users = init_std * jax.random.normal(rngs.params(), (n_users, dim))
        items = init_std * jax.random.normal(rngs.params(), (n_items, dim))
        self.factors = nnx.Param(jnp.concatenate([users, items]))
        self.n_users = n_users
        self.l2 = l2
        self.loss_name = loss
        pairwise_loss(loss, jnp.zeros(1))  # validate the name now, not inside the compiled epoch

    @property
    def user_factors(self) -> jax.Array:
        """``P``: the first ``n_users`` rows of ``factors``."""
        return self.factors[...][: self.n_users]

    @property
    def item_factors(self) -> jax.Array:
        """``Q``: the rows of ``factors`` after the users'."""
        return self.factors[...][self.n_users :]

    def table_rows(self, batch: PairwiseBatch) -> dict[str, jax.Array]:
        """The rows the loss reads, ``[3, B]``: users, positives, negatives (items offset by ``n_users``)."""
        return {"factors": jnp.stack([batch.users_B, batch.pos_B + self.n_users, batch.neg_B + self.n_users])}

    def loss_from_rows(self, rows: dict[str, jax.Array], batch: PairwiseBatch) -> jax.Array:
        """The loss given ``rows["factors"] = factors[table_rows(batch)["factors"]]``."""
        u_BxD, pos_BxD, neg_BxD = rows["factors"][0], rows["factors"][1], rows["factors"][2]
        diff_B = row_sums(u_BxD * (pos_BxD - neg_BxD))
        reg_B = row_sums(u_BxD * u_BxD + pos_BxD * pos_BxD + neg_BxD * neg_BxD)
        return pairwise_loss(self.loss_name, diff_B) + self.l2 * reg_B.mean()

    def loss(self, batch: PairwiseBatch) -> jax.Array:
        return self.loss_from_rows(gather_rows(self, self.table_rows(batch)), batch)

    def score(self, users_B: jax.Array) -> jax.Array:
        return self.user_factors[users_B] @ self.item_factors.T
