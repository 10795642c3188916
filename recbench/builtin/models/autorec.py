"""I-AutoRec: an item-based autoencoder that reconstructs each item's column of observed ratings (rating family)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.builtin.models.ials import padded_histories
from recbench.data.interactions import Interactions
from recbench.train.listwise import TrainingData
from recbench.train.rating import RatingBatch, RatingStats


def rating_columns(users_IxL: jax.Array, ratings_IxL: jax.Array, items_B: jax.Array, n_users: int
                   ) -> tuple[jax.Array, jax.Array]:
    """Dense training columns of a batch of items (``B x U`` ratings, 0 where unobserved) and their masks.

    ``users_IxL`` holds each item's raters padded with ``n_users`` (dropped by the scatter).
    """
    raters_BxL, ratings_BxL = users_IxL[items_B], ratings_IxL[items_B]
    rows_BxL = jnp.broadcast_to(jnp.arange(items_B.shape[0])[:, None], raters_BxL.shape)
    empty_BxU = jnp.zeros((items_B.shape[0], n_users), jnp.float32)
    values_BxU = empty_BxU.at[rows_BxL, raters_BxL].set(ratings_BxL, mode="drop")
    mask_BxU = empty_BxU.at[rows_BxL, raters_BxL].set(1.0, mode="drop")
    return values_BxU, mask_BxU


class AutoRec(nnx.Module):
    """S. Sedhain, A. K. Menon, S. Sanner and L. Xie. AutoRec: Autoencoders Meet Collaborative
    Filtering. WWW 2015 (I-AutoRec, the item-based variant the paper found best). Family: rating.
    Loss: masked squared error of the reconstruction plus L2 on the two weight matrices (eq. 2)::

        h(r) = f(W g(V r + mu) + b),   g = sigmoid, f = identity, r in R^U an item's rating column
        J = sum_i || (r_i - h(r_i)) * mask_i ||^2 + (l2 / 2) (||W||_F^2 + ||V||_F^2)

    The predicted rating of (u, i) is ``h(r_i)_u``, where ``r_i`` is item i's *training* column (the
    model keeps it in non-trainable variables, handed over by the rating planner through
    ``set_training_part``).

    Scaling per step: the host draws B training ratings uniformly; each row's item column is
    reconstructed whole and weighted by ``1 / n_i`` (the item's training ratings), so::

        L_step = (1/B) sum_b (1 / n_{i_b}) || (r_{i_b} - h(r_{i_b})) * mask ||^2 + (l2 / 2n) (||W||^2 + ||V||^2)

    has ``E[L_step] = J / n``: an unbiased, lower-variance version of per-rating sampling (each
    item column is drawn in proportion to its ratings and down-weighted by them). One host epoch
    therefore reconstructs about ``n`` columns, roughly ``n / I`` of the paper's item epochs (47 on
    ml-100k), so few host epochs are needed.

    Defaults: the paper's 500 sigmoid hidden units and identity output; l2 is tuned in the paper
    over {0.001, ..., 1000} with L-BFGS/Rprop; here Adam, with l2 and epochs chosen on ml-100k's
    validation part (the catalogue's spec: l2 300, 5 epochs of Adam lr 1e-3, batch 256; with small
    l2 the hidden layer learns to copy each observed input to its output and generalises badly).
    Predictions are clipped to the training rating range.

    Top-N ranking: like ``mf`` and ``biased_mf`` this is a rating predictor trained on observed
    ratings only; ranked by predicted rating it favours rarely rated, highly rated items and does
    not learn which items a user chooses to rate, so it does not beat ``pop`` on implicit top-N
    protocols. Use it for RMSE/MAE.
    """

    def __init__(self, n_users: int, n_items: int, *, hidden: int = 500, l2: float = 300.0, init_std: float = 0.03,
                 seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        self.n_users, self.n_items = n_users, n_items
        self.encoder = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_users, hidden)))
        self.encoder_bias = nnx.Param(jnp.zeros((hidden,), jnp.float32))
        self.decoder = nnx.Param(init_std * jax.random.normal(rngs.params(), (hidden, n_users)))
        self.decoder_bias = nnx.Param(jnp.zeros((n_users,), jnp.float32))
        self.l2 = float(l2)
        # Constants of training, filled before the epoch is compiled.
        self.n_train = nnx.Variable(jnp.ones((), jnp.float32))
        self.rating_range = nnx.Variable(jnp.array([-jnp.inf, jnp.inf], jnp.float32))
        self.raters_IxL = TrainingData(jnp.full((n_items, 1), n_users, jnp.int32))
        self.ratings_IxL = TrainingData(jnp.zeros((n_items, 1), jnp.float32))
        self.counts_I = TrainingData(jnp.ones((n_items,), jnp.float32))

    def set_rating_stats(self, stats: RatingStats) -> None:
        """Called by the rating planner: the number of training ratings and their range."""
        self.n_train[...] = jnp.float32(stats.n)
        self.rating_range[...] = jnp.array([stats.low, stats.high], jnp.float32)

    def set_training_part(self, train: Interactions) -> None:
        """Keep every item's training column (raters and ratings, padded) for the input side."""
        raters = padded_histories(train.item_idx, train.user_idx, self.n_items, self.n_users)
        filled = raters < self.n_users
        ratings = np.zeros(raters.shape, np.float32)
        # the same (item, rank) order as padded_histories: rank raters by user index within each item
        order = np.lexsort((train.user_idx, train.item_idx))
        ratings[filled] = np.asarray(train.rating, np.float32)[order]
        self.raters_IxL = TrainingData(jnp.asarray(raters))  # new shapes: replace the variables
        self.ratings_IxL = TrainingData(jnp.asarray(ratings))
        self.counts_I = TrainingData(jnp.asarray(np.maximum(train.item_counts(), 1), jnp.float32))

    def reconstruct(self, columns_BxU: jax.Array) -> jax.Array:
        hidden_BxH = jax.nn.sigmoid(columns_BxU @ self.encoder[...] + self.encoder_bias[...])
        return hidden_BxH @ self.decoder[...] + self.decoder_bias[...]

    def _columns(self, items_B: jax.Array) -> tuple[jax.Array, jax.Array]:
        return rating_columns(self.raters_IxL[...], self.ratings_IxL[...], items_B, self.n_users)

    def loss(self, batch: RatingBatch) -> jax.Array:
        values_BxU, mask_BxU = self._columns(batch.items_B)
        errors_B = (((values_BxU - self.reconstruct(values_BxU)) * mask_BxU) ** 2).sum(-1)
        data = (errors_B / self.counts_I[...][batch.items_B]).mean()
        weights = (self.encoder[...] ** 2).sum() + (self.decoder[...] ** 2).sum()
        return data + self.l2 / 2.0 / self.n_train[...] * weights

    def _clip(self, ratings: jax.Array) -> jax.Array:
        return jnp.clip(ratings, self.rating_range[...][0], self.rating_range[...][1])

    def predict(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        """Predicted ratings of (user, item) pairs: the user's entry of the item's reconstructed column."""
        values_BxU, _ = self._columns(items_B)
        hidden_BxH = jax.nn.sigmoid(values_BxU @ self.encoder[...] + self.encoder_bias[...])
        out_B = (hidden_BxH * self.decoder[...][:, users_B].T).sum(-1) + self.decoder_bias[...][users_B]
        return self._clip(out_B)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Predicted ratings of every item for a batch of users (scores_BxI); encodes all item columns."""
        values_IxU, _ = self._columns(jnp.arange(self.n_items))
        hidden_IxH = jax.nn.sigmoid(values_IxU @ self.encoder[...] + self.encoder_bias[...])
        out_BxI = (hidden_IxH @ self.decoder[...][:, users_B]).T + self.decoder_bias[...][users_B][:, None]
        return self._clip(out_BxI)
