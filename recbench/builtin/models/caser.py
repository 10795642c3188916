"""Caser: convolutional sequence embedding (Tang & Wang, WSDM 2018), sequential family.

The host's sequential family hands a model, per sampled user, the latest ``max_len`` training items
(left-padded) and the next item at every position (:class:`recbench.train.sequential.SequentialBatch`).
Caser reads windows of ``L`` items. Every position ``t`` of the batch's history is the end of one
window ``inputs[t-L+1 .. t]`` (the padding item where the window starts before the history), and that
window predicts the next ``T`` items ``targets[t .. t+T-1]`` (those inside the ``max_len`` positions),
so one user contributes all of the sliding windows of the latest ``max_len`` items, as the paper's
training set of (user, L previous items, T next items) instances does. The windows are gathered on
the device (``B x max_len x L`` indices), no Python loop over users or positions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.builtin.models._layers import dropout
from recbench.errors import ConfigError
from recbench.train.sequential import HistoryStore, SequentialBatch
from recbench.train.softmax_losses import bce_one_negative


def sliding_windows(inputs_BxM: jax.Array, window: int, pad: int) -> jax.Array:
    """``B x M x L``: position ``t``'s window ``inputs[t-L+1 .. t]``, ``pad`` before the history starts."""
    padded = jnp.concatenate([jnp.full((inputs_BxM.shape[0], window - 1), pad, inputs_BxM.dtype), inputs_BxM], 1)
    length = inputs_BxM.shape[1]
    return jnp.stack([padded[:, j:j + length] for j in range(window)], axis=-1)


def shift_left(x_BxM: jax.Array, k: int, fill: jax.Array | int | bool) -> jax.Array:
    """``x[:, t + k]`` at position ``t``, ``fill`` past the end."""
    if k == 0:
        return x_BxM
    tail = jnp.full((x_BxM.shape[0], k), fill, x_BxM.dtype)
    return jnp.concatenate([x_BxM[:, k:], tail], axis=1)


class Caser(nnx.Module):
    """Caser: J. Tang and K. Wang, "Personalized Top-N Sequential Recommendation via Convolutional
    Sequence Embedding", WSDM 2018. Family: sequential. Loss: binary cross-entropy on the ``T`` next
    items of every window and one sampled negative per target (the paper's eq. 13 with as many
    negatives as targets), masked mean.

    The ``L x d`` embedding matrix of a window goes through ``n_vertical`` vertical filters
    (``L x 1``, a weighted sum of the rows, no activation) and, for every height ``h`` in ``1..L``,
    ``n_horizontal`` horizontal filters (``h x d``, ReLU, max-pooled over the ``L - h + 1``
    positions); the concatenation (``n_vertical * d + L * n_horizontal``) is dropped out and mapped
    by a dense ReLU layer to ``z`` (``d``); ``[z; P_u]`` with the user embedding ``P_u`` scores item
    ``i`` as ``<W'_i, [z; P_u]> + b'_i`` (eq. 10). Multi-target training is done (``targets = T``,
    paper default 3, ``targets = 1`` for the single next item). At scoring the window is the user's
    latest ``L`` training items.

    Paper defaults: ``L = 5`` (``window``), ``T = 3``, ``d = 50``, ``n_v = 4``, ``n_h = 16``, dropout 0.5,
    Adam lr 1e-3. The paper's l2 (1e-6 in the authors' code) is not applied. ``max_len`` (50) is how
    many latest training items per user feed the sliding windows in a step (users are drawn
    uniformly, so a long history is represented by its latest ``max_len`` windows).
    """

    needs_negatives = True

    def __init__(self, n_users: int, n_items: int, *, dim: int = 50, window: int = 5, targets: int = 3,
                 n_vertical: int = 4, n_horizontal: int = 16, dropout: float = 0.5, max_len: int = 50,
                 seed: int = 0) -> None:
        for name, value in (("dim", dim), ("window", window), ("targets", targets), ("n_vertical", n_vertical),
                            ("n_horizontal", n_horizontal), ("max_len", max_len)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"caser: {name}={value!r} must be a positive integer")
        if window > max_len:
            raise ConfigError(f"caser: window={window} must not exceed max_len={max_len}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"caser: dropout={dropout!r} must be in [0, 1)")
        rngs = nnx.Rngs(params=seed)
        self.n_items = n_items
        self.dim, self.window, self.targets = dim, window, targets
        self.max_len = max_len
        self.dropout = float(dropout)
        self.item_embed = nnx.Param(jax.random.normal(rngs.params(), (n_items + 1, dim)) / dim)
        self.user_embed = nnx.Param(jax.random.normal(rngs.params(), (n_users, dim)) / dim)
        self.vertical = nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), (window, n_vertical)))
        self.horizontal = nnx.List([
            nnx.Conv(dim, n_horizontal, kernel_size=(h,), padding="VALID", rngs=rngs) for h in range(1, window + 1)
        ])
        self.hidden = nnx.Linear(n_vertical * dim + window * n_horizontal, dim, rngs=rngs)
        self.out_weight = nnx.Param(jax.random.normal(rngs.params(), (n_items, 2 * dim)) / (2 * dim))
        self.out_bias = nnx.Param(jnp.zeros((n_items,)))
        self.history = HistoryStore(n_users, n_items, max_len)

    def set_histories(self, histories_UxT: jax.Array) -> None:
        self.history.set(histories_UxT)

    def convolve(self, windows_NxL: jax.Array) -> jax.Array:
        """The concatenated vertical and max-pooled horizontal features, ``N x (n_v d + L n_h)``."""
        valid_NxLx1 = (windows_NxL != self.n_items)[..., None]
        e_NxLxD = self.item_embed[...][windows_NxL] * valid_NxLx1  # the padding item embeds to zero
        vertical_NxVxD = jnp.einsum("nld,lv->nvd", e_NxLxD, self.vertical[...])
        pooled = []  # per height h: N x n_h
        for h, conv in enumerate(self.horizontal, start=1):
            # the h-row slices at every start, N x (L-h+1) x h x d, times the h x d x n_h kernel: one
            # matrix product (2-3x faster than lax.conv for these small maps on a CPU, same numbers)
            slices = jnp.stack([e_NxLxD[:, s:s + h] for s in range(self.window - h + 1)], axis=1)
            out = jnp.einsum("nphd,hdo->npo", slices, conv.kernel[...]) + conv.bias[...]
            pooled.append(jax.nn.relu(out).max(axis=1))
        return jnp.concatenate([vertical_NxVxD.reshape(e_NxLxD.shape[0], -1), *pooled], axis=-1)

    def encode(self, windows_NxL: jax.Array, users_N: jax.Array, key: jax.Array | None) -> jax.Array:
        """``[z; P_u]`` for every window, ``N x 2d``."""
        z_NxD = jax.nn.relu(self.hidden(dropout(self.convolve(windows_NxL), self.dropout, key)))
        return jnp.concatenate([z_NxD, self.user_embed[...][users_N]], axis=-1)

    def item_scores(self, x_Nx2D: jax.Array, items_NxK: jax.Array) -> jax.Array:
        """``<W'_i, x> + b'_i`` for ``K`` items per row (padding items clipped; mask them)."""
        items = jnp.minimum(items_NxK, self.n_items - 1)
        return jnp.einsum("nd,nkd->nk", x_Nx2D, self.out_weight[...][items]) + self.out_bias[...][items]

    def loss(self, batch: SequentialBatch) -> jax.Array:
        b, m = batch.inputs_BxL.shape
        windows = sliding_windows(batch.inputs_BxL, self.window, self.n_items).reshape(b * m, self.window)
        users = jnp.broadcast_to(batch.users_B[:, None], (b, m)).reshape(-1)
        x_Nx2D = self.encode(windows, users, batch.key)
        k = range(self.targets)
        pos_NxT = jnp.stack([shift_left(batch.targets_BxL, j, self.n_items) for j in k], -1).reshape(b * m, -1)
        neg_NxT = jnp.stack([shift_left(batch.negatives_BxL, j, self.n_items) for j in k], -1).reshape(b * m, -1)
        mask_NxT = jnp.stack([batch.mask_BxL & shift_left(batch.mask_BxL, j, False) for j in k], -1).reshape(b * m, -1)
        return bce_one_negative(self.item_scores(x_Nx2D, pos_NxT), self.item_scores(x_Nx2D, neg_NxT), mask_NxT)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Every item's score after the user's latest ``L`` training items: ``B x I``."""
        windows_BxL = self.history.window(users_B)[:, -self.window:]
        x_Bx2D = self.encode(windows_BxL, users_B, None)
        return x_Bx2D @ self.out_weight[...].T + self.out_bias[...]

