"""Row-wise (sparse) optimizers for embedding tables: a step touches only the batch's rows.

A dense optax step over an embedding table reads and writes every row (and every row of its
moments) whatever the batch, so an epoch costs ``steps x (users + items) x dim``. The row-wise
optimizers here gather the batch's rows, differentiate the loss with respect to those rows only,
and scatter the update back, so an epoch costs ``interactions x dim``.

How a model opts in (``MFBPR`` keeps its user and item factors in one table)::

    class MyModel(nnx.Module):
        sparse_tables = ("user_factors", "item_factors")    # nnx.Param attributes, shape [rows, ...]

        def table_rows(self, batch) -> dict[str, jax.Array]:  # int indices of the rows the loss reads
            return {"user_factors": batch.users_B, "item_factors": jnp.stack([batch.pos_B, batch.neg_B])}

        def loss_from_rows(self, rows, batch) -> jax.Array:   # rows[name] = table[table_rows(batch)[name]]
            ...                                              # must not read the tables themselves

        def loss(self, batch):                                # the dense path: the same function
            return self.loss_from_rows(gather_rows(self, self.table_rows(batch)), batch)

and the run sets ``training.sparse_optimizer`` to ``sgd``, ``adagrad`` or ``adam``. Other parameters
(dense layers) keep the dense optax ``training.optimizer``. Because the gradient is taken with
respect to the gathered rows, regularisation must be on the batch's rows too (per-example l2, as
in the BPR paper); a loss that reads a whole table cannot use this path.

Semantics. A row that occurs several times in a batch (a popular item) first has its gradients
summed, exactly the gradient of the loss with respect to that row; the optimizer then updates it
once. Rows not in the batch are left untouched, state included:

* ``sgd``: ``row -= lr * g``. Identical to dense ``optax.sgd``, whose update of an untouched row is 0.
* ``adagrad``: ``acc += g**2; row -= lr * g / sqrt(acc + eps)`` with optax's defaults
  (``acc`` starts at 0.1, ``eps`` 1e-7), element-wise. Identical to dense ``optax.adagrad``, whose
  accumulator of an untouched row does not change either.
* ``adam`` (lazy Adam): ``m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2`` only for touched rows,
  and ``row -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias correction by the **global** step count
  ``t`` (``m_hat = m / (1 - b1**t)``), the convention of ``torch.optim.SparseAdam`` and TensorFlow
  Addons' ``LazyAdam`` (b1 0.9, b2 0.999, eps 1e-8 as in optax). It differs from dense Adam, whose
  moments decay and keep moving every row at every step; it equals it when every row is touched at
  every step.

Duplicates are merged without sorting: each table keeps an int32 ``owner`` scratch vector (one entry
per row); the step writes each batch position into ``owner[row]`` (one of the duplicates wins), reads
it back, and so knows, for every position, the representative position of its row. Gradients are
``segment_sum``-ed onto representatives and the other positions are dropped from the scatter. This is
O(batch) work; ``jnp.unique`` sorts and was 2-3x slower on CPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from recbench.errors import ConfigError
from recbench.train.adam import bias_corrected_step
from recbench.train.config import TrainConfig, learning_rate_schedule, make_optimizer


class RowSparseModel(Protocol):
    """A model whose embedding tables may be updated row-wise (see the module docstring)."""

    sparse_tables: tuple[str, ...]

    def table_rows(self, batch: Any) -> dict[str, jax.Array]: ...

    def loss_from_rows(self, rows: dict[str, jax.Array], batch: Any) -> jax.Array: ...


def declared_tables(model: Any) -> tuple[str, ...]:
    """The row-sparse table names a model declares (empty if it declares none)."""
    return tuple(getattr(model, "sparse_tables", ()) or ())


def table_param(model: Any, name: str) -> nnx.Param:
    """The ``nnx.Param`` at attribute path ``name`` (dots for submodules), checked to be a table."""
    obj = model
    for part in name.split("."):
        obj = getattr(obj, part, None)
    if not isinstance(obj, nnx.Param) or obj[...].ndim < 1:
        raise ConfigError(f"{type(model).__name__}.sparse_tables names {name!r}, which is not an nnx.Param "
                          "table of shape [rows, ...]; list only embedding tables there")
    return obj


def gather_rows(model: Any, indices: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """``{name: table[indices[name]]}``: what ``loss_from_rows`` receives on the dense path."""
    return {name: table_param(model, name)[...][idx] for name, idx in indices.items()}


# -- row-wise optimizers ----------------------------------------------------------------------------
class RowOptimizer(NamedTuple):
    """A row-wise optimizer for one table.

    ``init(table) -> slots``; ``update(table, slots, rows_K, grads_K, lr, t) -> (table, slots)`` where
    ``rows_K`` are distinct row indices (``rows`` = out of range marks a dropped position), ``grads_K``
    the summed gradient of each, ``lr`` the step size and ``t`` the 1-based global step.
    ``merge_duplicates`` is False when a plain scatter-add of per-position updates is already exact.
    """

    init: Callable[[jax.Array], tuple[jax.Array, ...]]
    update: Callable[..., tuple[jax.Array, tuple[jax.Array, ...]]]
    merge_duplicates: bool


def _take(array: jax.Array, rows_K: jax.Array) -> jax.Array:
    return array.at[rows_K].get(mode="fill", fill_value=0)


def _put(array: jax.Array, rows_K: jax.Array, values: jax.Array) -> jax.Array:
    return array.at[rows_K].set(values, mode="drop", unique_indices=True)


def row_sgd() -> RowOptimizer:
    """``row -= lr * g``; duplicates need no merging (scatter-add sums them)."""

    def update(table, slots, rows_K, grads_K, lr, t):
        return table.at[rows_K].add(-lr * grads_K, mode="drop"), slots

    return RowOptimizer(lambda table: (), update, merge_duplicates=False)


def row_adagrad(initial_accumulator_value: float = 0.1, eps: float = 1e-7) -> RowOptimizer:
    """Element-wise Adagrad on the touched rows, with optax.adagrad's defaults and formula."""

    def init(table):
        return (jnp.full(table.shape, initial_accumulator_value, table.dtype),)

    def update(table, slots, rows_K, grads_K, lr, t):
        (acc,) = slots
        acc_K = _take(acc, rows_K) + grads_K * grads_K
        step_K = jnp.where(acc_K > 0, jax.lax.rsqrt(acc_K + eps), 0.0) * grads_K
        table = table.at[rows_K].add(-lr * step_K, mode="drop", unique_indices=True)
        return table, (_put(acc, rows_K, acc_K),)

    return RowOptimizer(init, update, merge_duplicates=True)


def row_lazy_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> RowOptimizer:
    """Lazy Adam: moments of touched rows only; bias correction by the global step (SparseAdam).

    Both moments live in one ``[rows, 2, ...]`` array (``[:, 0]`` the first, ``[:, 1]`` the second)
    so a step gathers and scatters each touched row's state once.
    """

    def init(table):
        return (jnp.zeros((table.shape[0], 2, *table.shape[1:]), table.dtype),)

    def update(table, slots, rows_K, grads_K, lr, t):
        (moments,) = slots
        moments_K = _take(moments, rows_K)
        m_K = b1 * moments_K[:, 0] + (1 - b1) * grads_K
        v_K = b2 * moments_K[:, 1] + (1 - b2) * grads_K * grads_K
        step_K = bias_corrected_step(m_K, v_K, t, b1, b2, eps)
        table = table.at[rows_K].add(-lr * step_K, mode="drop", unique_indices=True)
        return table, (_put(moments, rows_K, jnp.stack([m_K, v_K], axis=1)),)

    return RowOptimizer(init, update, merge_duplicates=True)


ROW_OPTIMIZERS: dict[str, Callable[[], RowOptimizer]] = {
    "sgd": row_sgd, "adagrad": row_adagrad, "adam": row_lazy_adam,
}


def merge_duplicate_rows(owner_R: jax.Array, rows_K: jax.Array, grads_K: jax.Array
                         ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Sum the gradients of repeated rows onto one representative position each.

    Returns the updated owner scratch, the rows with non-representative positions set to
    ``len(owner_R)`` (out of range: dropped by the scatters), and the summed gradients.
    """
    positions_K = jnp.arange(rows_K.shape[0], dtype=jnp.int32)
    owner_R = owner_R.at[rows_K].set(positions_K)
    representative_K = owner_R[rows_K]
    summed_K = jax.ops.segment_sum(grads_K, representative_K, num_segments=rows_K.shape[0])
    distinct_K = jnp.where(representative_K == positions_K, rows_K, owner_R.shape[0])
    return owner_R, distinct_K, summed_K


def apply_row_update(opt: RowOptimizer, table: jax.Array, slots: tuple[jax.Array, ...], owner: jax.Array,
                     indices: jax.Array, grads: jax.Array, lr: jax.Array, t: jax.Array
                     ) -> tuple[jax.Array, tuple[jax.Array, ...], jax.Array]:
    """One row-wise step of ``table`` given the gradient w.r.t. ``table[indices]`` (any index shape)."""
    rows_K = indices.reshape(-1).astype(jnp.int32)
    grads_K = grads.reshape((rows_K.shape[0], *table.shape[1:]))
    if opt.merge_duplicates:
        owner, rows_K, grads_K = merge_duplicate_rows(owner, rows_K, grads_K)
    table, slots = opt.update(table, slots, rows_K, grads_K, lr, t)
    return table, slots, owner


# -- the training step ------------------------------------------------------------------------------
class SparseOptState(NamedTuple):
    """Optimizer state of a sparse run: optax state of the dense parameters, row-wise slots and the
    owner scratch of each table (in ``sparse_tables`` order), and the number of steps taken."""

    dense: Any
    slots: tuple[tuple[jax.Array, ...], ...]
    owners: tuple[jax.Array, ...]
    count: jax.Array


def table_filter(names: tuple[str, ...]) -> Callable[[tuple[Any, ...], Any], bool]:
    """An nnx filter selecting the ``nnx.Param`` tables at the given attribute paths."""
    paths = {tuple(name.split(".")) for name in names}
    return lambda path, value: isinstance(value, nnx.Param) and tuple(map(str, path)) in paths


def table_leaves(tables: Any, names: tuple[str, ...]) -> list[jax.Array]:
    """The arrays of a tables state, in ``names`` order."""
    flat = {".".join(map(str, path)): var for path, var in nnx.to_flat_state(tables)}
    return [flat[name][...] for name in names]


def with_table_leaves(tables: Any, names: tuple[str, ...], arrays: list[jax.Array]) -> Any:
    """The tables state with its arrays replaced (``names`` order)."""
    by_name = dict(zip(names, arrays, strict=True))
    values = [by_name[".".join(map(str, path))] for path, _ in nnx.to_flat_state(tables)]
    old = jax.tree.leaves(tables)
    assert [v.shape for v in values] == [v.shape for v in old], "tables state leaves out of path order"
    return jax.tree.unflatten(jax.tree.structure(tables), values)


class Updater(NamedTuple):
    """How parameters change in one step: ``init(params) -> opt_state`` and
    ``step(params, rest, opt_state, batch) -> (params, opt_state, loss)``. ``params`` is a tuple of
    nnx states merged as ``nnx.merge(graphdef, *params, rest)``. ``loss(params, rest, batch)`` is the
    model's method the step differentiates, ``loss_call`` how an error names it (e.g. ``loss(batch)``)."""

    init: Callable[[Any], Any]
    step: Callable[[Any, Any, Any, Any], tuple[Any, Any, jax.Array]]
    loss: Callable[[Any, Any, Any], Any]
    loss_call: str


def split_model(model: Any, cfg: TrainConfig) -> tuple[Any, tuple[Any, ...], Any, tuple[str, ...]]:
    """``graphdef, params, rest, table names`` for the run's settings.

    Plain dense runs: ``params = (all nnx.Param,)`` and no names. Row-sparse runs, and runs that
    shard tables: ``params = (the declared tables, the other nnx.Param)``.
    """
    names = declared_tables(model)
    if cfg.sparse_optimizer == "none" and not cfg.shard_tables:
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)
        return graphdef, (params,), rest, ()
    if cfg.sparse_optimizer != "none" and (
            not names or not all(callable(getattr(model, m, None)) for m in ("table_rows", "loss_from_rows"))):
        raise ConfigError(
            f"model {type(model).__name__} declares no row-sparse tables (sparse_tables, table_rows, "
            f"loss_from_rows), so training.sparse_optimizer={cfg.sparse_optimizer!r} cannot apply",
            hint="set sparse_optimizer only in the training settings of models that support it, or 'none'")
    if not names:
        raise ConfigError(f"training.shard_tables is set but model {type(model).__name__} declares no "
                          "embedding tables (sparse_tables) to shard", hint="set shard_tables = false")
    for name in names:
        table_param(model, name)
    graphdef, tables, params, rest = nnx.split(model, table_filter(names), nnx.Param, ...)
    return graphdef, (tables, params), rest, names


def dense_updater(graphdef: Any, tx: optax.GradientTransformation) -> Updater:
    """The dense path: ``jax.grad`` of ``model.loss`` w.r.t. every parameter, then optax."""

    def loss_fn(params: Any, rest: Any, batch: Any) -> jax.Array:
        return nnx.merge(graphdef, *params, rest).loss(batch)

    def step(params, rest, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, rest, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return Updater(tx.init, step, loss_fn, "loss(batch)")


def sparse_updater(graphdef: Any, names: tuple[str, ...], cfg: TrainConfig, steps_per_epoch: int) -> Updater:
    """The row-sparse path: gradient w.r.t. the gathered rows and the dense parameters; row-wise
    update of each table, optax (``cfg.optimizer``) for the rest."""
    tx = make_optimizer(cfg, steps_per_epoch)
    row_opt = ROW_OPTIMIZERS[cfg.sparse_optimizer]()
    lr_cfg = cfg if cfg.sparse_learning_rate is None else _with_lr(cfg, cfg.sparse_learning_rate)
    schedule = learning_rate_schedule(lr_cfg, steps_per_epoch)

    def init(params):
        tables, dense = params
        arrays = table_leaves(tables, names)
        return SparseOptState(dense=tx.init(dense), slots=tuple(row_opt.init(a) for a in arrays),
                              owners=tuple(jnp.zeros(a.shape[:1], jnp.int32) for a in arrays),
                              count=jnp.zeros((), jnp.int32))

    def batch_rows(tables: Any, dense: Any, rest: Any, batch: Any
                   ) -> tuple[dict[str, jax.Array], list[jax.Array], dict[str, jax.Array]]:
        """The batch's row indices per table (``table_rows``), the tables' arrays and the gathered rows."""
        model = nnx.merge(graphdef, tables, dense, rest)
        indices = model.table_rows(batch)
        if set(indices) != set(names):
            raise ConfigError(f"{type(model).__name__}.table_rows returned rows of {sorted(indices)}, "
                              f"but sparse_tables is {list(names)}; return one index array per table")
        arrays = table_leaves(tables, names)
        return indices, arrays, {name: array[indices[name]] for name, array in zip(names, arrays, strict=True)}

    def row_loss(params: Any, rest: Any, batch: Any) -> Any:
        tables, dense = params
        _, _, rows = batch_rows(tables, dense, rest, batch)
        return nnx.merge(graphdef, tables, dense, rest).loss_from_rows(rows, batch)

    def step(params, rest, opt_state, batch):
        tables, dense = params
        indices, arrays, rows = batch_rows(tables, dense, rest, batch)

        def loss_fn(rows: dict[str, jax.Array], dense: Any) -> jax.Array:
            return nnx.merge(graphdef, tables, dense, rest).loss_from_rows(rows, batch)

        loss, (row_grads, dense_grads) = jax.value_and_grad(loss_fn, argnums=(0, 1))(rows, dense)
        updates, dense_state = tx.update(dense_grads, opt_state.dense, dense)
        dense = optax.apply_updates(dense, updates)
        lr, t = schedule(opt_state.count), opt_state.count + 1
        new_arrays, new_slots, new_owners = [], [], []
        for name, array, slots, owner in zip(names, arrays, opt_state.slots, opt_state.owners, strict=True):
            array, slots, owner = apply_row_update(row_opt, array, slots, owner, indices[name],
                                                   row_grads[name], lr, t)
            new_arrays.append(array)
            new_slots.append(slots)
            new_owners.append(owner)
        tables = with_table_leaves(tables, names, new_arrays)
        state = SparseOptState(dense_state, tuple(new_slots), tuple(new_owners), t)
        return (tables, dense), state, loss

    return Updater(init, step, row_loss, "loss_from_rows(rows, batch)")


def _with_lr(cfg: TrainConfig, learning_rate: float) -> TrainConfig:
    return dataclasses.replace(cfg, learning_rate=float(learning_rate))


def make_updater(model: Any, cfg: TrainConfig, steps_per_epoch: int
                 ) -> tuple[Any, tuple[Any, ...], Any, tuple[str, ...], Updater]:
    """Split ``model`` for ``cfg`` and build its updater: ``graphdef, params, rest, tables, updater``."""
    graphdef, params, rest, names = split_model(model, cfg)
    if cfg.sparse_optimizer != "none":
        return graphdef, params, rest, names, sparse_updater(graphdef, names, cfg, steps_per_epoch)
    return graphdef, params, rest, names, dense_updater(graphdef, make_optimizer(cfg, steps_per_epoch))
