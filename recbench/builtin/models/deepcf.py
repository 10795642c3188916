"""DeepCF / CFNet (Deng et al., AAAI 2019), pointwise family.

Inputs. As in the paper, a user is represented by the user's row of the binary training matrix
(``I`` entries) and an item by its column (``U`` entries); the first layer of every tower is a dense
linear layer over that multi-hot vector, i.e. the sum of the weight rows of the user's items (the
embedding-lookup view: a linear layer over a one-hot vector is an embedding). The host's pointwise
planner hands the model the (user, item) training rows once (``set_training_matrix``); the model keeps
them on the device as two CSRs (user -> items, item -> users) in non-trainable variables and builds a
batch's dense rows and columns by one scatter each (:func:`recbench.train.listwise.dense_rows`), so
nothing leaves the device during an epoch.

Cost. A training example costs about ``I (u_0 + m) + U (v_0 + m)`` multiply-adds for the first
layers (``u_0``/``v_0``: the first user/item widths of the representation towers, ``m`` = half the
matching tower's input), e.g. 1682 x 768 + 943 x 1280 = 2.5M on ml-100k at the paper's sizes: DeepCF
is much heavier per example than GMF. ``score`` computes every item's column representation once per
call (items in chunks) and runs the matching tower for ``user_chunk`` users at a time, whose largest
intermediate is ``user_chunk x I x layers[1]`` floats (64 x 1682 x 256 x 4 bytes = 110 MB on ml-100k).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.errors import ConfigError
from recbench.train.listwise import TrainingData, UserItems, dense_rows, user_items
from recbench.train.losses import binary_cross_entropy_with_logits
from recbench.train.pointwise import PointwiseBatch

_HIDDEN_INIT = nnx.initializers.glorot_uniform()
_OUTPUT_INIT = nnx.initializers.lecun_normal()


def _widths(name: str, widths: Sequence[int], at_least: int) -> tuple[int, ...]:
    widths = tuple(int(w) for w in widths)
    if len(widths) < at_least or min(widths) < 1:
        raise ConfigError(f"deepcf: {name}={list(widths)} must list at least {at_least} positive widths")
    return widths


def _dense_stack(n_in: int, widths: tuple[int, ...], rngs: nnx.Rngs) -> nnx.List:
    sizes = (n_in, *widths)
    return nnx.List([nnx.Linear(a, b, kernel_init=_HIDDEN_INIT, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])


def _run_stack(stack: nnx.List, x: jax.Array, *, first_linear: bool) -> jax.Array:
    for index, layer in enumerate(stack):
        x = layer(x)
        if index or not first_linear:
            x = jax.nn.relu(x)
    return x


class MatrixStore(nnx.Module):
    """The binary training matrix as two device CSRs (user -> items and item -> users), non-trainable."""

    def __init__(self, n_users: int, n_items: int) -> None:
        self.n_users, self.n_items = n_users, n_items
        self.user_width, self.item_width = 1, 1
        self.user_indptr = TrainingData(jnp.zeros((n_users + 1,), jnp.int32))
        self.user_items = TrainingData(jnp.zeros((1,), jnp.int32))
        self.item_indptr = TrainingData(jnp.zeros((n_items + 1,), jnp.int32))
        self.item_users = TrainingData(jnp.zeros((1,), jnp.int32))

    def set(self, users_N: np.ndarray, items_N: np.ndarray) -> None:
        by_user, self.user_width = user_items(users_N, items_N, self.n_users)
        by_item, self.item_width = user_items(items_N, users_N, self.n_items)
        self.user_indptr, self.user_items = TrainingData(by_user.indptr_U1), TrainingData(by_user.items_N)
        self.item_indptr, self.item_users = TrainingData(by_item.indptr_U1), TrainingData(by_item.items_N)

    def user_rows(self, users_B: jax.Array) -> jax.Array:
        """``B x I`` binary rows (the users' training items)."""
        rows = UserItems(self.user_indptr[...], self.user_items[...])
        return dense_rows(rows, users_B, self.user_width, self.n_items)

    def item_columns(self, items_B: jax.Array) -> jax.Array:
        """``B x U`` binary columns (the items' training users)."""
        cols = UserItems(self.item_indptr[...], self.item_users[...])
        return dense_rows(cols, items_B, self.item_width, self.n_users)


class DeepCF(nnx.Module):
    """DeepCF's CFNet: Z.-H. Deng, L. Huang, C.-D. Wang, J.-H. Lai and P. S. Yu, "DeepCF: A Unified
    Framework of Representation Learning and Matching Function Learning in Recommender System",
    AAAI 2019. Family: pointwise. Loss: binary cross-entropy on training pairs and sampled negatives
    (the paper's eq. 10), no regularisation (as the paper).

    CFNet-rl (representation learning, a DMF-style tower pair): the user's row and the item's column
    go through towers of widths ``user_layers`` and ``item_layers`` (first layer linear, then ReLU;
    the last widths are equal) and meet in an element-wise product. CFNet-ml (matching function
    learning): the row and the column are mapped linearly to ``layers[0] / 2`` each, concatenated and
    passed through ReLU layers ``layers[1:]``. The two vectors are concatenated and one linear layer
    gives the logit (the paper's sigmoid is in the loss). Paper defaults (authors' code): user_layers
    512 -> 64, item_layers 1024 -> 64, layers 512 -> 256 -> 128 -> 64, 4 negatives, Glorot-uniform
    hidden layers, LeCun-normal prediction layer. Trained from scratch (the paper's optional
    pre-training of the two parts is not done); see the catalog for the optimizer.
    """

    def __init__(self, n_users: int, n_items: int, *, user_layers: Sequence[int] = (512, 64),
                 item_layers: Sequence[int] = (1024, 64), layers: Sequence[int] = (512, 256, 128, 64),
                 negatives: int = 4, user_chunk: int = 64, item_chunk: int = 1024,
                 seed: int = 0) -> None:
        user_layers = _widths("user_layers", user_layers, 1)
        item_layers = _widths("item_layers", item_layers, 1)
        layers = _widths("layers", layers, 2)
        if user_layers[-1] != item_layers[-1]:
            raise ConfigError(f"deepcf: user_layers {list(user_layers)} and item_layers {list(item_layers)} must "
                              "end with the same width (their outputs are multiplied element-wise)")
        if layers[0] % 2:
            raise ConfigError(f"deepcf: layers[0]={layers[0]} must be even (the concatenated user + item vectors)")
        rngs = nnx.Rngs(params=seed)
        self.n_users, self.n_items = n_users, n_items
        self.matrix = MatrixStore(n_users, n_items)
        self.user_rl = _dense_stack(n_items, user_layers, rngs)
        self.item_rl = _dense_stack(n_users, item_layers, rngs)
        self.user_ml = nnx.Linear(n_items, layers[0] // 2, kernel_init=_HIDDEN_INIT, rngs=rngs)
        self.item_ml = nnx.Linear(n_users, layers[0] // 2, kernel_init=_HIDDEN_INIT, rngs=rngs)
        self.tower = _dense_stack(layers[0], layers[1:], rngs)
        self.output = nnx.Linear(user_layers[-1] + layers[-1], 1, kernel_init=_OUTPUT_INIT, rngs=rngs)
        self.rl_width = user_layers[-1]
        self.half = layers[0] // 2
        self.negatives = int(negatives)
        self.user_chunk, self.item_chunk = max(1, int(user_chunk)), max(1, int(item_chunk))

    def set_training_matrix(self, users_N: np.ndarray, items_N: np.ndarray) -> None:
        self.matrix.set(users_N, items_N)

    def _users(self, users_B: jax.Array) -> tuple[jax.Array, jax.Array]:
        rows_BxI = self.matrix.user_rows(users_B)
        return _run_stack(self.user_rl, rows_BxI, first_linear=True), self.user_ml(rows_BxI)

    def _items(self, items_B: jax.Array) -> tuple[jax.Array, jax.Array]:
        cols_BxU = self.matrix.item_columns(items_B)
        return _run_stack(self.item_rl, cols_BxU, first_linear=True), self.item_ml(cols_BxU)

    def logits(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        (u_rl, u_ml), (v_rl, v_ml) = self._users(users_B), self._items(items_B)
        h_ml = _run_stack(self.tower, jnp.concatenate([u_ml, v_ml], -1), first_linear=False)
        return self.output(jnp.concatenate([u_rl * v_rl, h_ml], -1))[:, 0]

    def loss(self, batch: PointwiseBatch) -> jax.Array:
        return binary_cross_entropy_with_logits(self.logits(batch.users_B, batch.items_B), batch.labels_B)

    def score(self, users_B: jax.Array) -> jax.Array:
        """Logits of every item, ``B x I`` (see the module docstring for the chunking)."""
        n_chunks = -(-self.n_items // self.item_chunk)
        items_CxK = jnp.minimum(jnp.arange(n_chunks * self.item_chunk).reshape(n_chunks, -1), self.n_items - 1)
        v_rl, v_ml = jax.lax.map(self._items, items_CxK)
        v_rl_IxR = v_rl.reshape(-1, v_rl.shape[-1])[: self.n_items]
        v_ml_IxM = v_ml.reshape(-1, v_ml.shape[-1])[: self.n_items]
        first = self.tower[0]
        kernel = first.kernel[...]
        v_first_IxH = v_ml_IxM @ kernel[self.half:]
        w_out = self.output.kernel[...][:, 0]

        def users_chunk(users_C: jax.Array) -> jax.Array:
            u_rl, u_ml = self._users(users_C)
            rl_CxI = (u_rl * w_out[: self.rl_width]) @ v_rl_IxR.T
            h = jax.nn.relu((u_ml @ kernel[: self.half] + first.bias[...])[:, None, :] + v_first_IxH[None])
            for layer in self.tower[1:]:
                h = jax.nn.relu(layer(h))
            return rl_CxI + h @ w_out[self.rl_width:] + self.output.bias[...][0]

        n_users = users_B.shape[0]
        chunk = min(self.user_chunk, n_users)
        n_user_chunks = -(-n_users // chunk)
        padded = jnp.pad(users_B, (0, n_user_chunks * chunk - n_users)).reshape(n_user_chunks, chunk)
        return jax.lax.map(users_chunk, padded).reshape(-1, self.n_items)[:n_users]
