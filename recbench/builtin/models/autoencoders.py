"""Autoencoders of the listwise family: Mult-DAE, Mult-VAE (Liang et al., WWW 2018) and CDAE (Wu et al., WSDM 2016).

Each model receives whole training rows (:class:`recbench.train.listwise.ListwiseBatch`) and keeps
the input rows in a :class:`recbench.train.listwise.UserRowStore` to score users: at
evaluation the input row is the user's training part (or, for a held-out user under strong
generalisation, the fold-in part).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.builtin.models._layers import dropout, l2_normalize_rows
from recbench.errors import ConfigError
from recbench.train.listwise import ListwiseBatch, UserRowStore, UserItems
from recbench.train.softmax_losses import gaussian_kl, multinomial_nll

_KERNEL_INIT = nnx.initializers.xavier_uniform()  # the reference code's Glorot-uniform weights
_BIAS_INIT = nnx.initializers.normal(0.001)  # ... and N(0, 0.001^2) biases


def _mlp(dims: Sequence[int], rngs: nnx.Rngs) -> nnx.List:
    return nnx.List([nnx.Linear(a, b, kernel_init=_KERNEL_INIT, bias_init=_BIAS_INIT, rngs=rngs)
                     for a, b in zip(dims[:-1], dims[1:], strict=True)])


def _apply_tanh_mlp(layers: nnx.List, h: jax.Array) -> jax.Array:
    """tanh after every layer but the last, as in the reference code."""
    for i, layer in enumerate(layers):
        h = layer(h)
        if i != len(layers) - 1:
            h = jnp.tanh(h)
    return h


def _kernel_l2(layers: Sequence[nnx.Linear]) -> jax.Array:
    return sum((jnp.sum(layer.kernel[...] ** 2) for layer in layers), jnp.zeros(()))


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name}={value!r} must be in [0, 1)")


class MultDAE(nnx.Module):
    """Mult-DAE: Liang, Krishnan, Hoffman & Jebara, "Variational Autoencoders for Collaborative
    Filtering", WWW 2018. Family: listwise. Loss: multinomial log-likelihood (+ l2 on the weights).

    The input row is L2-normalised, dropped out (``dropout``, on the input only), and passed through
    a tanh MLP ``[I -> *hidden -> latent -> *reversed(hidden) -> I]`` (tanh after every layer but the
    output); the output logits go into a softmax over all items. Paper defaults (the authors'
    ML-20M notebook): ``[I -> 200 -> I]`` (``hidden = ()``, ``latent = 200``), input dropout 0.5,
    ``l2 = 0.01 / 500`` (lam = 0.01 / batch size, added as ``lam * sum ||W||^2``), Adam lr 1e-3,
    batch 500 users.
    """

    def __init__(self, n_users: int, n_items: int, *, hidden: Sequence[int] = (), latent: int = 200,
                 dropout: float = 0.5, l2: float = 0.01 / 500, seed: int = 0) -> None:
        _check_rate("dropout", dropout)
        rngs = nnx.Rngs(params=seed)
        dims = [n_items, *hidden, latent, *reversed(tuple(hidden)), n_items]
        self.layers = _mlp(dims, rngs)
        self.dropout = float(dropout)
        self.l2 = float(l2)
        self.rows = UserRowStore(n_users, n_items)

    def set_user_rows(self, rows: UserItems, width: int) -> None:
        self.rows.set(rows, width)

    def _logits(self, rows_BxI: jax.Array, key: jax.Array | None) -> jax.Array:
        return _apply_tanh_mlp(self.layers, dropout(l2_normalize_rows(rows_BxI), self.dropout, key))

    def loss(self, batch: ListwiseBatch) -> jax.Array:
        logits_BxI = self._logits(batch.rows_BxI, batch.key)
        return multinomial_nll(logits_BxI, batch.rows_BxI) + self.l2 * _kernel_l2(self.layers)

    def score(self, users_B: jax.Array) -> jax.Array:
        return self._logits(self.rows.rows(users_B), None)


class MultVAE(nnx.Module):
    """Mult-VAE^PR: Liang, Krishnan, Hoffman & Jebara, "Variational Autoencoders for Collaborative
    Filtering", WWW 2018. Family: listwise. Loss: multinomial log-likelihood + beta * KL (annealed).

    Encoder ``[I -> *hidden -> 2 * latent]`` (tanh between layers) gives ``mu`` and ``log sigma^2``
    of a Gaussian; training samples ``z = mu + sigma * eps`` (eps from the batch key), scoring uses
    ``z = mu``. Decoder ``[latent -> *reversed(hidden) -> I]``, softmax over all items. The input is
    L2-normalised and dropped out (``dropout``) as in Mult-DAE. ``beta = min(anneal_cap,
    global_step / total_anneal_steps)`` with the batch's 0-based global step (the reference code's
    ``update_count``). Paper defaults: ``[I -> 600 -> 200 -> 600 -> I]``, dropout 0.5, anneal_cap
    0.2, total_anneal_steps 200,000, no weight decay, Adam lr 1e-3, batch 500 users.
    """

    def __init__(self, n_users: int, n_items: int, *, hidden: Sequence[int] = (600,), latent: int = 200,
                 dropout: float = 0.5, anneal_cap: float = 0.2, total_anneal_steps: int = 200_000, l2: float = 0.0,
                 seed: int = 0) -> None:
        _check_rate("dropout", dropout)
        if total_anneal_steps < 1:
            raise ConfigError(f"total_anneal_steps={total_anneal_steps!r} must be a positive integer")
        rngs = nnx.Rngs(params=seed)
        self.encoder = _mlp([n_items, *hidden, 2 * latent], rngs)
        self.decoder = _mlp([latent, *reversed(tuple(hidden)), n_items], rngs)
        self.latent = int(latent)
        self.dropout = float(dropout)
        self.anneal_cap = float(anneal_cap)
        self.total_anneal_steps = int(total_anneal_steps)
        self.l2 = float(l2)
        self.rows = UserRowStore(n_users, n_items)

    def set_user_rows(self, rows: UserItems, width: int) -> None:
        self.rows.set(rows, width)

    def _encode(self, rows_BxI: jax.Array, key: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        out_Bx2D = _apply_tanh_mlp(self.encoder, dropout(l2_normalize_rows(rows_BxI), self.dropout, key))
        return out_Bx2D[:, : self.latent], out_Bx2D[:, self.latent:]

    def beta(self, global_step: jax.Array) -> jax.Array:
        """The KL weight at a 0-based global step."""
        return jnp.minimum(self.anneal_cap, global_step.astype(jnp.float32) / self.total_anneal_steps)

    def loss(self, batch: ListwiseBatch) -> jax.Array:
        drop_key, noise_key = jax.random.split(batch.key)
        mu_BxD, logvar_BxD = self._encode(batch.rows_BxI, drop_key)
        z_BxD = mu_BxD + jnp.exp(0.5 * logvar_BxD) * jax.random.normal(noise_key, mu_BxD.shape)
        logits_BxI = _apply_tanh_mlp(self.decoder, z_BxD)
        reg = self.l2 * (_kernel_l2(self.encoder) + _kernel_l2(self.decoder))
        return (multinomial_nll(logits_BxI, batch.rows_BxI) + self.beta(batch.global_step) * gaussian_kl(mu_BxD, logvar_BxD)
                + reg)

    def score(self, users_B: jax.Array) -> jax.Array:
        mu_BxD, _ = self._encode(self.rows.rows(users_B), None)
        return _apply_tanh_mlp(self.decoder, mu_BxD)


class CDAE(nnx.Module):
    """CDAE: Wu, DuBois, Zheng & Ester, "Collaborative Denoising Auto-Encoders for Top-N Recommender
    Systems", WSDM 2016. Family: listwise. Loss: logistic (binary cross-entropy) with negative sampling + l2.

    The binary row is corrupted by dropout with probability ``corruption`` (kept entries scaled by
    ``1 / (1 - q)``), then ``z = sigmoid(W x~ + V_u + b)`` with a user-specific input node ``V_u``,
    and the output logits ``W' z + b'`` (sigmoid output). As in the paper, the logistic loss of a user
    is summed over the user's items and a random subset of the other items: each unobserved item is
    kept with probability ``negative_ratio * |I_u| / (I - |I_u|)`` (about ``negative_ratio``
    negatives per positive, redrawn every step from the batch key; ``negative_ratio = 0`` sums over
    all items). ``l2 / 2 * (||W||^2 + ||W'||^2 + ||V_u||^2)`` regularises the weights and the batch's
    user nodes. Paper defaults: ``dim = 50`` (K), sigmoid hidden / sigmoid output with the logistic
    loss; corruption, lambda and the sampling ratio are tuned per dataset (0.2, 1e-5 and 5 here).
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 50, corruption: float = 0.2, l2: float = 1e-5,
                 negative_ratio: float = 5.0, seed: int = 0) -> None:
        _check_rate("corruption", corruption)
        if negative_ratio < 0:
            raise ConfigError(f"negative_ratio={negative_ratio!r} must be >= 0 (0: every item is a negative)")
        self.negative_ratio = float(negative_ratio)
        rngs = nnx.Rngs(params=seed)
        self.encoder = nnx.Linear(n_items, dim, kernel_init=_KERNEL_INIT, rngs=rngs)
        self.user_nodes = nnx.Param(0.01 * jax.random.normal(rngs.params(), (n_users, dim)))
        self.decoder = nnx.Linear(dim, n_items, kernel_init=_KERNEL_INIT, rngs=rngs)
        self.corruption = float(corruption)
        self.l2 = float(l2)
        self.rows = UserRowStore(n_users, n_items)

    def set_user_rows(self, rows: UserItems, width: int) -> None:
        self.rows.set(rows, width)

    def _logits(self, users_B: jax.Array, rows_BxI: jax.Array, key: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        v_BxD = self.user_nodes[...][users_B]
        z_BxD = jax.nn.sigmoid(self.encoder(dropout(rows_BxI, self.corruption, key)) + v_BxD)
        return self.decoder(z_BxD), v_BxD

    def loss(self, batch: ListwiseBatch) -> jax.Array:
        corrupt_key, negative_key = jax.random.split(batch.key)
        logits_BxI, v_BxD = self._logits(batch.users_B, batch.rows_BxI, corrupt_key)
        x = batch.rows_BxI
        weight_BxI = 1.0 - x
        if self.negative_ratio > 0:
            n_pos_B1 = x.sum(axis=-1, keepdims=True)
            keep_B1 = jnp.minimum(1.0, self.negative_ratio * n_pos_B1 / jnp.maximum(x.shape[-1] - n_pos_B1, 1.0))
            weight_BxI = weight_BxI * (jax.random.uniform(negative_key, x.shape) < keep_B1)
        bce_B = -jnp.sum(x * jax.nn.log_sigmoid(logits_BxI) + weight_BxI * jax.nn.log_sigmoid(-logits_BxI), axis=-1)
        reg = (jnp.sum(self.encoder.kernel[...] ** 2) + jnp.sum(self.decoder.kernel[...] ** 2)
               + jnp.mean(jnp.sum(v_BxD**2, axis=-1)))
        return jnp.mean(bce_B) + 0.5 * self.l2 * reg

    def score(self, users_B: jax.Array) -> jax.Array:
        logits_BxI, _ = self._logits(users_B, self.rows.rows(users_B), None)
        return logits_BxI
