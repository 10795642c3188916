"""Closed-form baselines: random, item-item and user-user neighbourhoods, and EASE.

They are fitted once on the training part (``fit(train)``) with dense JAX algebra on the device and
score users with ``score(users_B) -> scores_BxI``. Dense item-item (I x I) and user-user (U x I)
matrices bound the catalogue they suit: I up to ~30k items for EASE/ItemKNN on a 24 GiB host.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.data.split import rank_within_user


class Fitted(nnx.Variable):
    """A fitted, non-trainable quantity."""


def history_table(train: Interactions) -> np.ndarray:
    """Each user's training items, padded with ``n_items`` to the longest history (vectorised)."""
    rank, _ = rank_within_user(train.user_idx, train.item_idx, train.n_users)
    width = max(int(train.user_counts().max(initial=0)), 1)
    table = np.full((train.n_users, width), train.n_items, dtype=np.int32)
    table[train.user_idx, rank] = train.item_idx
    return table


def _rows(history_BxL: jax.Array, n_items: int) -> jax.Array:
    """Dense 0/1 interaction rows of a user batch from padded histories."""
    batch = history_BxL.shape[0]
    rows_B1 = jnp.arange(batch)[:, None]
    return jnp.zeros((batch, n_items + 1), jnp.float32).at[rows_B1, history_BxL].set(1.0)[:, :n_items]


def _dense(train: Interactions) -> jax.Array:
    return jnp.zeros((train.n_users, train.n_items), jnp.float32).at[
        jnp.asarray(train.user_idx), jnp.asarray(train.item_idx)].set(1.0)


def _keep_top_k(sim_NxM: jax.Array, k: int) -> jax.Array:
    """Keep each row's k largest entries (ties: lower index), zero the rest."""
    k = min(k, sim_NxM.shape[1])
    values, idx = jax.lax.top_k(sim_NxM, k)
    return jnp.zeros_like(sim_NxM).at[jnp.arange(sim_NxM.shape[0])[:, None], idx].set(values)


class RandomScores(nnx.Module):
    """Uniform random scores, fixed per (seed, user, item): the floor every model must beat."""

    def __init__(self, n_items: int, seed: int = 0) -> None:
        self.n_items = n_items
        self.key = Fitted(jax.random.key_data(jax.random.key(seed)))

    def fit(self, train: Interactions) -> None:
        del train

    def score(self, users_B: jax.Array) -> jax.Array:
        key = jax.random.wrap_key_data(self.key[...])
        return jax.vmap(lambda u: jax.random.uniform(jax.random.fold_in(key, u), (self.n_items,)))(users_B)


class ItemKNN(nnx.Module):
    """Item-based CF (Sarwar et al., WWW 2001; Deshpande & Karypis 2004).

    sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrink) over binary item columns, diagonal zeroed, each
    item keeping its ``neighbours`` most similar items; score(u, j) = sum over u's items i of sim(i, j).
    """

    def __init__(self, n_users: int, n_items: int, *, neighbours: int = 100, shrink: float = 10.0) -> None:
        self.n_items, self.neighbours, self.shrink = n_items, neighbours, shrink
        self.history = Fitted(jnp.full((n_users, 1), n_items, jnp.int32))
        self.weights = Fitted(jnp.zeros((n_items, n_items), jnp.float32))

    def fit(self, train: Interactions) -> None:
        x_UxI = _dense(train)
        gram_IxI = x_UxI.T @ x_UxI
        norms_I = jnp.sqrt(jnp.diag(gram_IxI))
        sim = gram_IxI / (norms_I[:, None] * norms_I[None, :] + self.shrink)
        sim = sim * (1.0 - jnp.eye(self.n_items))
        # row j of the top-k matrix holds item j's neighbours; transposed, column j does
        self.weights[...] = _keep_top_k(sim, self.neighbours).T
        self.history = Fitted(jnp.asarray(history_table(train)))  # a new shape: replace the variable

    def score(self, users_B: jax.Array) -> jax.Array:
        return _rows(self.history[...][users_B], self.n_items) @ self.weights[...]


class UserKNN(nnx.Module):
    """User-based CF (Herlocker et al., SIGIR 1999): cosine similarity with shrinkage between users'
    binary rows, each user's ``neighbours`` nearest kept; score(u, j) = sum_v sim(u, v) x_vj."""

    def __init__(self, n_users: int, n_items: int, *, neighbours: int = 50, shrink: float = 10.0) -> None:
        self.n_users, self.neighbours, self.shrink = n_users, neighbours, shrink
        self.neighbour_weights = Fitted(jnp.zeros((n_users, n_users), jnp.float32))
        self.matrix = Fitted(jnp.zeros((n_users, n_items), jnp.float32))

    def fit(self, train: Interactions) -> None:
        x_UxI = _dense(train)
        gram_UxU = x_UxI @ x_UxI.T
        norms_U = jnp.sqrt(jnp.diag(gram_UxU))
        sim = gram_UxU / (norms_U[:, None] * norms_U[None, :] + self.shrink)
        sim = sim * (1.0 - jnp.eye(self.n_users))
        self.neighbour_weights[...] = _keep_top_k(sim, self.neighbours)
        self.matrix[...] = x_UxI

    def score(self, users_B: jax.Array) -> jax.Array:
        return self.neighbour_weights[...][users_B] @ self.matrix[...]


class EASE(nnx.Module):
    """EASE^R (Steck, WWW 2019): B = argmin |X - XB|^2 + lambda |B|^2 s.t. diag(B) = 0, in closed form
    P = (X^T X + lambda I)^-1, B = I - P diag(1 / diag(P)); score(u, .) = x_u B."""

    def __init__(self, n_users: int, n_items: int, *, l2: float = 500.0) -> None:
        self.n_items, self.l2 = n_items, l2
        self.history = Fitted(jnp.full((n_users, 1), n_items, jnp.int32))
        self.weights = Fitted(jnp.zeros((n_items, n_items), jnp.float32))

    def fit(self, train: Interactions) -> None:
        x_UxI = _dense(train)
        gram_IxI = x_UxI.T @ x_UxI + self.l2 * jnp.eye(self.n_items)
        p_IxI = jnp.linalg.inv(gram_IxI)
        b_IxI = -p_IxI / jnp.diag(p_IxI)[None, :]
        self.weights[...] = b_IxI * (1.0 - jnp.eye(self.n_items))
        self.history = Fitted(jnp.asarray(history_table(train)))  # a new shape: replace the variable

    def score(self, users_B: jax.Array) -> jax.Array:
        return _rows(self.history[...][users_B], self.n_items) @ self.weights[...]
