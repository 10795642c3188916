"""Neural Collaborative Filtering: GMF, MLP and NeuMF (He et al., WWW 2017), pointwise family.

All three score a (user, item) pair with a logit, are trained with binary cross-entropy on training
pairs (label 1) and sampled negatives (label 0) drawn by the host's pointwise family, and rank with
the logit (monotone in the predicted probability).

Defaults follow the paper and its official code (github.com/hexiangnan/neural_collaborative_filtering):
4 negatives per positive, Adam with learning rate 1e-3, 256 positives per minibatch (batch_size
1280 = 256 x 5 examples), 20 epochs, embeddings initialised N(0, 0.01^2), hidden layers Glorot-uniform,
the prediction layer LeCun-uniform, no regularisation, 8 predictive factors (GMF dim 8; MLP layers
64 -> 32 -> 16 -> 8 where 64 is the concatenated user+item embedding, so embeddings of 32 each).

Scoring all items (``score(users_B) -> scores_BxI``) runs batched on the device. GMF is a matrix
product. For the MLP tower the first layer is split as ``W [p_u; q_i] = W_u p_u + W_i q_i``, so the
user half (B x H) is broadcast against the item half (I x H): the largest intermediate is
B x I x H floats with H = layers[1] (32 by default), e.g. 943 x 1682 x 32 x 4 bytes = 0.2 GB for all
of ml-100k's users in one evaluator batch. For larger catalogues lower the evaluator's batch_users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from recbench.errors import ConfigError
from recbench.train.losses import binary_cross_entropy_with_logits
from recbench.train.family import Pretraining
from recbench.train.pointwise import PointwiseBatch

_HIDDEN_INIT = nnx.initializers.glorot_uniform()
_OUTPUT_INIT = nnx.initializers.lecun_uniform()
#: How the host trains NeuMF's GMF and MLP components (overrides of the run's settings): the paper's Adam.
PRETRAIN_TRAINING: Mapping[str, Any] = {"optimizer": "adam", "learning_rate": 1e-3}


def _embedding(rngs: nnx.Rngs, rows: int, dim: int, std: float) -> nnx.Param:
    return nnx.Param(std * jax.random.normal(rngs.params(), (rows, dim)))


def _check_layers(layers: Sequence[int]) -> tuple[int, ...]:
    layers = tuple(int(w) for w in layers)
    if len(layers) < 2 or layers[0] % 2 or min(layers) < 1:
        raise ConfigError(
            f"MLP layers={list(layers)} must list at least two positive widths, the first even "
            "(it is the concatenated user + item embedding), e.g. [64, 32, 16, 8]"
        )
    return layers


class _Tower(nnx.Module):
    """The MLP tower on [p_u; q_i] with ReLU layers, applied pairwise or broadcast against all items."""

    def __init__(self, layers: tuple[int, ...], rngs: nnx.Rngs) -> None:
        self.embed_dim = layers[0] // 2
        self.hidden = nnx.List([nnx.Linear(a, b, kernel_init=_HIDDEN_INIT, rngs=rngs)
                                for a, b in zip(layers[:-1], layers[1:], strict=True)])

    def _halves(self, p_xE: jax.Array, q_xE: jax.Array) -> tuple[jax.Array, jax.Array]:
        first = self.hidden[0]
        kernel = first.kernel[...]
        return p_xE @ kernel[: self.embed_dim] + first.bias[...], q_xE @ kernel[self.embed_dim:]

    def _rest(self, h: jax.Array) -> jax.Array:
        h = jax.nn.relu(h)
        for layer in self.hidden[1:]:
            h = jax.nn.relu(layer(h))
        return h

    def pairs(self, p_BxE: jax.Array, q_BxE: jax.Array) -> jax.Array:
        """Last hidden layer (B x H_last) for matched (user, item) rows."""
        u_BxH, v_BxH = self._halves(p_BxE, q_BxE)
        return self._rest(u_BxH + v_BxH)

    def all_items(self, p_BxE: jax.Array, q_IxE: jax.Array) -> jax.Array:
        """Last hidden layer (B x I x H_last) of every user in the batch against every item."""
        u_BxH, v_IxH = self._halves(p_BxE, q_IxE)
        return self._rest(u_BxH[:, None, :] + v_IxH[None, :, :])


class _Pointwise(nnx.Module):
    negatives: int
    l2: float

    def logits(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        raise NotImplementedError

    def embedding_norms(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        raise NotImplementedError

    def loss(self, batch: PointwiseBatch) -> jax.Array:
        bce = binary_cross_entropy_with_logits(self.logits(batch.users_B, batch.items_B), batch.labels_B)
        if not self.l2:
            return bce
        return bce + self.l2 * self.embedding_norms(batch.users_B, batch.items_B).mean()


class GMF(_Pointwise):
    """Generalized Matrix Factorization. X. He, L. Liao, H. Zhang, L. Nie, X. Hu and T.-S. Chua,
    Neural Collaborative Filtering, WWW 2017, eq. (9). Family: pointwise. Loss: binary cross-entropy
    (log loss, eq. 7) on sampled negatives, plus optional ``l2 * mean_b(|p_u|^2 + |q_i|^2)`` (paper: 0).

    logit(u, i) = h^T (p_u * q_i) + b. Paper defaults: dim (predictive factors) 8, 4 negatives.
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 8, negatives: int = 4, l2: float = 0.0,
                 init_std: float = 0.01, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        self.user_embedding = _embedding(rngs, n_users, dim, init_std)
        self.item_embedding = _embedding(rngs, n_items, dim, init_std)
        self.output = nnx.Linear(dim, 1, kernel_init=_OUTPUT_INIT, rngs=rngs)
        self.negatives = int(negatives)
        self.l2 = float(l2)

    def logits(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        p, q = self.user_embedding[...][users_B], self.item_embedding[...][items_B]
        return self.output(p * q)[:, 0]

    def embedding_norms(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        return (self.user_embedding[...][users_B] ** 2).sum(-1) + (self.item_embedding[...][items_B] ** 2).sum(-1)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Logits of every item (scores_BxI): ``(p_u * h) @ Q^T + b``, one matrix product."""
        h_D = self.output.kernel[...][:, 0]
        return (self.user_embedding[...][users_B] * h_D) @ self.item_embedding[...].T + self.output.bias[...][0]


class MLP(_Pointwise):
    """Multi-Layer Perceptron CF. X. He et al., Neural Collaborative Filtering, WWW 2017, eq. (10).
    Family: pointwise. Loss: binary cross-entropy on sampled negatives, plus optional
    ``l2 * mean_b(|p_u|^2 + |q_i|^2)`` (paper: 0).

    The user and item embeddings (``layers[0] / 2`` each) are concatenated and passed through
    Dense+ReLU layers (``nnx.Linear``) of widths ``layers[1:]`` to a linear score. Paper defaults:
    layers 64 -> 32 -> 16 -> 8 (8 predictive factors), 4 negatives. ``score`` broadcasts users against
    all items on the device (memory B x I x layers[1]; see the module docstring).
    """

    def __init__(self, n_users: int, n_items: int, *, layers: Sequence[int] = (64, 32, 16, 8), negatives: int = 4,
                 l2: float = 0.0, init_std: float = 0.01, seed: int = 0) -> None:
        layers = _check_layers(layers)
        rngs = nnx.Rngs(params=seed)
        self.user_embedding = _embedding(rngs, n_users, layers[0] // 2, init_std)
        self.item_embedding = _embedding(rngs, n_items, layers[0] // 2, init_std)
        self.tower = _Tower(layers, rngs)
        self.output = nnx.Linear(layers[-1], 1, kernel_init=_OUTPUT_INIT, rngs=rngs)
        self.negatives = int(negatives)
        self.l2 = float(l2)

    def logits(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        h = self.tower.pairs(self.user_embedding[...][users_B], self.item_embedding[...][items_B])
        return self.output(h)[:, 0]

    def embedding_norms(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        return (self.user_embedding[...][users_B] ** 2).sum(-1) + (self.item_embedding[...][items_B] ** 2).sum(-1)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Logits of every item (scores_BxI), users broadcast against all items."""
        h_BxIxH = self.tower.all_items(self.user_embedding[...][users_B], self.item_embedding[...])
        return self.output(h_BxIxH)[..., 0]


class NeuMF(_Pointwise):
    """Neural Matrix Factorization: GMF and MLP fused. X. He et al., Neural Collaborative Filtering,
    WWW 2017, eq. (12). Family: pointwise. Loss: binary cross-entropy on sampled negatives, plus
    optional ``l2 * mean_b`` of the squared norms of all four embedding rows (paper: 0).

    GMF and MLP have separate embeddings; the GMF product ``p_u * q_i`` and the MLP tower's last
    layer are concatenated and mapped by one linear layer to the logit. Paper defaults: dim 8,
    layers 64 -> 32 -> 16 -> 8, 4 negatives.

    Pre-training (paper section 3.4.1), off by default (``pretrain = false``: trained from scratch).
    With ``pretrain = true`` the host first trains a GMF (``dim``) and an MLP (``layers``), both with
    this model's ``negatives``, ``l2`` and ``init_std``, with the same host loop on the same split
    (the run's training settings updated by ``pretrain_training``, default Adam with learning rate
    1e-3 as in the paper), then NeuMF takes their embeddings and tower, and its output layer is
    ``[alpha h_GMF; (1 - alpha) h_MLP]`` with bias ``alpha b_GMF + (1 - alpha) b_MLP`` (alpha 0.5), so
    its initial logit is ``alpha logit_GMF + (1 - alpha) logit_MLP``. The paper then trains NeuMF with
    plain SGD; that is the run's own training setting, so the paper's recipe is
    ``config = {pretrain = true}, training = {optimizer = "sgd", learning_rate = ...}``.
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 8, layers: Sequence[int] = (64, 32, 16, 8),
                 negatives: int = 4, l2: float = 0.0, init_std: float = 0.01, pretrain: bool = False,
                 alpha: float = 0.5, pretrain_training: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        layers = _check_layers(layers)
        if not isinstance(pretrain, bool):
            raise ConfigError(f"neumf: pretrain={pretrain!r} must be true or false")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"neumf: alpha={alpha!r} must be in [0, 1] (the GMF share of the output layer)")
        self.n_users, self.n_items, self.layers = n_users, n_items, layers
        self.init_std, self.seed = float(init_std), int(seed)
        self.pretrain, self.alpha = pretrain, float(alpha)
        # a tuple of pairs: a static attribute of the module, not a pytree node
        self.pretrain_training = tuple(sorted((PRETRAIN_TRAINING if pretrain_training is None
                                               else pretrain_training).items()))
        rngs = nnx.Rngs(params=seed)
        self.gmf_user = _embedding(rngs, n_users, dim, init_std)
        self.gmf_item = _embedding(rngs, n_items, dim, init_std)
        self.mlp_user = _embedding(rngs, n_users, layers[0] // 2, init_std)
        self.mlp_item = _embedding(rngs, n_items, layers[0] // 2, init_std)
        self.tower = _Tower(layers, rngs)
        self.output = nnx.Linear(dim + layers[-1], 1, kernel_init=_OUTPUT_INIT, rngs=rngs)
        self.dim = int(dim)
        self.negatives = int(negatives)
        self.l2 = float(l2)

    def logits(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        gmf = self.gmf_user[...][users_B] * self.gmf_item[...][items_B]
        mlp = self.tower.pairs(self.mlp_user[...][users_B], self.mlp_item[...][items_B])
        return self.output(jnp.concatenate([gmf, mlp], axis=-1))[:, 0]

    def embedding_norms(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        rows = (self.gmf_user[...][users_B], self.gmf_item[...][items_B], self.mlp_user[...][users_B],
                self.mlp_item[...][items_B])
        return sum((r**2).sum(-1) for r in rows)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Logits of every item (scores_BxI): the GMF half as a matrix product, the MLP half broadcast."""
        kernel = self.output.kernel[...][:, 0]
        gmf_BxI = (self.gmf_user[...][users_B] * kernel[: self.dim]) @ self.gmf_item[...].T
        h_BxIxH = self.tower.all_items(self.mlp_user[...][users_B], self.mlp_item[...])
        return gmf_BxI + h_BxIxH @ kernel[self.dim:] + self.output.bias[...][0]

    def pretraining(self) -> dict[str, Pretraining]:
        """The GMF and MLP the host trains first when ``pretrain`` is on (see the class docstring)."""
        if not self.pretrain:
            return {}
        common = {"negatives": self.negatives, "l2": self.l2, "init_std": self.init_std}
        gmf = GMF(self.n_users, self.n_items, dim=self.dim, seed=(self.seed + 1) % 2**32, **common)
        mlp = MLP(self.n_users, self.n_items, layers=self.layers, seed=(self.seed + 2) % 2**32, **common)
        return {"gmf": Pretraining(gmf, "pointwise", dict(self.pretrain_training)),
                "mlp": Pretraining(mlp, "pointwise", dict(self.pretrain_training))}

    def load_pretrained(self, trained: Mapping[str, Any]) -> None:
        """Copy the trained GMF and MLP in; the output layer is their alpha-weighted concatenation."""
        gmf, mlp = trained["gmf"], trained["mlp"]
        # copies: the host donates this model's parameters to its epoch, the components keep theirs
        self.gmf_user[...] = jnp.copy(gmf.user_embedding[...])
        self.gmf_item[...] = jnp.copy(gmf.item_embedding[...])
        self.mlp_user[...] = jnp.copy(mlp.user_embedding[...])
        self.mlp_item[...] = jnp.copy(mlp.item_embedding[...])
        nnx.update(self.tower, jax.tree.map(jnp.copy, nnx.state(mlp.tower)))
        a = self.alpha
        self.output.kernel[...] = jnp.concatenate([a * gmf.output.kernel[...], (1 - a) * mlp.output.kernel[...]])
        self.output.bias[...] = a * gmf.output.bias[...] + (1 - a) * mlp.output.bias[...]
