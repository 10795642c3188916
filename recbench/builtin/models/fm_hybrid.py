"""A factorisation machine over user and item ids and side features, trained with BPR (pairwise family)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.errors import ConfigError
from recbench.train.listwise import TrainingData
from recbench.train.losses import pairwise_loss
from recbench.train.pairwise import PairwiseBatch


def encode_side(n: int, features: Mapping[str, Any], with_ids: bool, side: str, offset: int = 0
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """One side's FM input rows as padded sparse (feature index, value) pairs.

    Fields: the id (one-hot, if ``with_ids``), then each feature in name order: a 1-D integer array
    is categorical (one-hot over its distinct values), a 1-D float array a single numeric input
    (standardised), a 2-D array one input per column with the array's values (e.g. multi-hot genres).

    Returns:
        ``(index_NxF, value_NxF, n_inputs)``: input indices (from ``offset``), values (0 pads), and
        how many inputs this side has.

    Raises:
        ConfigError: a feature's first axis is not ``n``, or it has more than two axes.
    """
    indices, values, width = [], [], offset
    if with_ids:
        indices.append(width + np.arange(n)[:, None])
        values.append(np.ones((n, 1), np.float32))
        width += n
    for name in sorted(features):
        array = np.asarray(features[name])
        if array.ndim not in (1, 2) or array.shape[0] != n:
            raise ConfigError(
                f"{side} feature {name!r} has shape {array.shape}; expected ({n},) or ({n}, k), one row per {side}",
                hint=f"give side features with one row per {side} of the vocabulary",
            )
        if array.ndim == 2:
            k = array.shape[1]
            indices.append(np.broadcast_to(width + np.arange(k), (n, k)))
            values.append(array.astype(np.float32))
            width += k
        elif np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
            _, codes = np.unique(array, return_inverse=True)
            indices.append(width + codes.reshape(n, 1))
            values.append(np.ones((n, 1), np.float32))
            width += int(codes.max(initial=-1)) + 1
        else:
            std = float(array.std()) or 1.0
            indices.append(np.full((n, 1), width))
            values.append(((array - array.mean()) / std).astype(np.float32).reshape(n, 1))
            width += 1
    if not indices:
        raise ConfigError(f"fm_hybrid: the {side} side has no inputs (no ids and no features)",
                          hint="set use_ids = true or use a dataset with side features")
    return (np.concatenate(indices, axis=1).astype(np.int32), np.concatenate(values, axis=1).astype(np.float32),
            width - offset)


class FMHybrid(nnx.Module):
    """A second-order factorisation machine over the user's and the item's ids and side features,
    trained with BPR: S. Rendle, Factorization Machines, ICDM 2010 (the model), with the pairwise
    ranking objective of S. Rendle et al., BPR, UAI 2009; the hybrid use of user and item metadata
    for cold start follows M. Kula, Metadata Embeddings for User and Item Cold-start
    Recommendations, CBRecSys 2015 (LightFM, the same model without the within-side interactions).
    Family: pairwise. Loss: BPR plus L2 on the batch's active inputs.

    The input of a (user, item) pair is the concatenation ``x = [x_user, x_item]`` of one-hot ids and
    the side features (see :func:`encode_side`); with ``s = sum_f x_f v_f`` per side::

        y(u, i) = w_u . x_u + w_i . x_i + <s_u, s_i> + q(x_u) + q(x_i)
        q(x) = (|sum_f x_f v_f|^2 - sum_f x_f^2 |v_f|^2) / 2          (the within-side pairs)
        L_step = mean_b softplus(-(y(u, pos) - y(u, neg))) + l2 * mean_b (r(x_u) + r(x_pos) + r(x_neg))
        r(x) = sum_f x_f^2 (|v_f|^2 + w_f^2)

    which is exactly FM's ``sum_{f<g} <v_f, v_g> x_f x_g`` plus its linear terms (the global bias
    cancels in BPR and ranking). The id input of a user or item without training rows is switched
    off (``set_training_part``, called by the pairwise planner): its factors were never fitted to a
    positive, so a cold item is scored through its features alone. Side features come from the dataset through
    :class:`recbench.types.ModelContext` (ml-100k: users' age, gender and occupation as categories,
    items' 19 genres multi-hot).

    Defaults: dim 64 and BPR's per-example L2 like ``mf_bpr``, Adam; neither paper fixes them.
    """

    def __init__(self, n_users: int, n_items: int, *, user_features: Mapping[str, Any] | None = None,
                 item_features: Mapping[str, Any] | None = None, dim: int = 64, l2: float = 5e-3,
                 use_ids: bool = True, loss: str = "bpr", init_std: float = 0.1, seed: int = 0) -> None:
        user_index, user_value, n_user_inputs = encode_side(n_users, user_features or {}, use_ids, "user")
        item_index, item_value, n_item_inputs = encode_side(n_items, item_features or {}, use_ids, "item",
                                                            offset=n_user_inputs)
        rngs = nnx.Rngs(params=seed)
        n_inputs = n_user_inputs + n_item_inputs
        self.factors = nnx.Param(init_std * jax.random.normal(rngs.params(), (n_inputs, dim)))
        self.weights = nnx.Param(jnp.zeros((n_inputs,), jnp.float32))
        self.user_index = TrainingData(jnp.asarray(user_index))
        self.user_value = TrainingData(jnp.asarray(user_value))
        self.item_index = TrainingData(jnp.asarray(item_index))
        self.item_value = TrainingData(jnp.asarray(item_value))
        self.use_ids = bool(use_ids)
        self.l2, self.loss_name = float(l2), loss
        pairwise_loss(loss, jnp.zeros(1))  # validate the name now, not inside the compiled epoch

    def set_training_part(self, train: Interactions) -> None:
        """Switch off the id input of users and items without training rows (called by the planner).

        Such an id was never a positive (a cold item is at most a sampled negative), so its factors
        are noise; a cold user or item is represented by its side features alone.
        """
        if not self.use_ids:
            return
        for counts, value in ((train.user_counts(), self.user_value), (train.item_counts(), self.item_value)):
            seen = jnp.asarray(counts > 0, jnp.float32)
            value[...] = value[...].at[:, 0].multiply(seen)

    def _side(self, index_BxF: jax.Array, value_BxF: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(sum vector s, linear + within-side term, regulariser) of a batch of one side's inputs."""
        v_BxFxD = self.factors[...][index_BxF]
        w_BxF = self.weights[...][index_BxF]
        s_BxD = (value_BxF[..., None] * v_BxFxD).sum(1)
        squares_BxF = value_BxF**2
        within_B = 0.5 * ((s_BxD**2).sum(-1) - (squares_BxF * (v_BxFxD**2).sum(-1)).sum(-1))
        reg_B = (squares_BxF * ((v_BxFxD**2).sum(-1) + w_BxF**2)).sum(-1)
        return s_BxD, (value_BxF * w_BxF).sum(-1) + within_B, reg_B

    def _users(self, users_B: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self._side(self.user_index[...][users_B], self.user_value[...][users_B])

    def _items(self, items_B: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return self._side(self.item_index[...][items_B], self.item_value[...][items_B])

    def loss(self, batch: PairwiseBatch) -> jax.Array:
        s_u, _, reg_u = self._users(batch.users_B)
        s_pos, own_pos, reg_pos = self._items(batch.pos_B)
        s_neg, own_neg, reg_neg = self._items(batch.neg_B)
        diff_B = (s_u * (s_pos - s_neg)).sum(-1) + own_pos - own_neg
        return pairwise_loss(self.loss_name, diff_B) + self.l2 * (reg_u + reg_pos + reg_neg).mean()

    def score(self, users_B: jax.Array) -> jax.Array:
        s_BxD, own_B, _ = self._users(users_B)
        s_IxD, own_I, _ = self._items(jnp.arange(self.item_index[...].shape[0]))
        return s_BxD @ s_IxD.T + own_B[:, None] + own_I[None, :]
