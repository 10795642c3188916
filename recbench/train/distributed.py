"""Data-parallel training over a ``jax.sharding.Mesh`` of local devices (JAX's own SPMD).

``training.devices = N`` builds a one-axis mesh (axis ``data``) over the first N of
``jax.local_devices()``. The host places the training data and the parameters replicated (or, with
``training.shard_tables``, the row-sparse tables and their row-wise optimizer state split by rows),
and the epoch constrains every minibatch to be split along its leading (batch) axis. The compiled
epoch is the same program as on one device; XLA's SPMD partitioner inserts the gradient all-reduce.

The global batch does not depend on N: the sampler draws the whole batch from the same key and
``jax_threefry_partitionable`` (JAX's default) makes random bits independent of sharding, so N
devices train on exactly the batches one device would, and losses agree up to float summation order.

Nothing here is CPU-specific. Multi-host use is described in ``docs/scaling.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from recbench.errors import ConfigError

DATA_AXIS = "data"


def make_mesh(n_devices: int) -> Mesh:
    """A 1-D mesh over the first ``n_devices`` local devices."""
    devices = jax.local_devices()
    if n_devices > len(devices):
        raise ConfigError(
            f"training.devices={n_devices} but only {len(devices)} local {devices[0].platform} device(s) exist",
            hint="lower devices, or on CPU simulate more with XLA_FLAGS=--xla_force_host_platform_device_count=N "
                 "set before jax is imported")
    return Mesh(np.array(devices[:n_devices]), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec())


def row_sharded(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def batch_sharding(mesh: Mesh, leaf: Any, axis: int = 0) -> NamedSharding:
    """Split along ``axis`` when it divides evenly over the mesh; replicate otherwise."""
    shape = np.shape(leaf)
    if len(shape) > axis and shape[axis] % mesh.size == 0:
        return NamedSharding(mesh, PartitionSpec(*([None] * axis), DATA_AXIS))
    return replicated(mesh)


def shard_batch(mesh: Mesh, batch: Any, axis: int = 0) -> Any:
    """Inside jit: constrain every array of a minibatch to be split along its batch axis (``axis``:
    1 for the minibatches of several steps drawn together, ``[steps, batch, ...]``)."""
    return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, batch_sharding(mesh, x, axis)), batch)


def state_shardings(mesh: Mesh, tree: Any, table_rows: set[int], shard_tables: bool) -> Any:
    """Shardings for parameters or optimizer state: arrays whose leading dimension is the row count
    of a row-sparse table are split by rows when ``shard_tables``; everything else is replicated."""

    def choose(leaf: Any) -> NamedSharding:
        shape = np.shape(leaf)
        if shard_tables and len(shape) >= 1 and shape[0] in table_rows:
            return row_sharded(mesh)
        return replicated(mesh)

    return jax.tree.map(choose, tree)


def place(tree: Any, shardings: Any) -> Any:
    """``jax.device_put`` a pytree with matching shardings."""
    return jax.device_put(tree, shardings)


@dataclass(frozen=True)
class Distributed:
    """Training state placed on a mesh, the epoch's output shardings, and ``unpad(params)`` which
    returns the parameters at the model's own shapes (row-sharded tables are padded to a multiple of
    the device count; the padding rows are never read by the loss)."""

    params: Any
    rest: Any
    data: Any
    opt_state: Any
    out_shardings: Any
    unpad: Callable[[Any], Any]


def distribute(mesh: Mesh, params: tuple[Any, ...], rest: Any, data: Any, init: Callable[[Any], Any],
               shard_tables: bool) -> Distributed:
    """Place a run's state on ``mesh``: data, non-trainable state and dense parameters replicated;
    with ``shard_tables``, ``params[0]`` (the declared tables) padded and split by rows, and optimizer
    state arrays with a table's padded row count split the same way."""
    unpad: Callable[[Any], Any] = lambda params: params  # noqa: E731
    padded_rows: set[int] = set()
    if shard_tables:
        rows = jax.tree.map(lambda x: int(x.shape[0]), params[0])
        tables = jax.tree.map(lambda x: _pad_rows(x, mesh.size), params[0])
        padded_rows = {int(x.shape[0]) for x in jax.tree.leaves(tables)}
        params = (place(tables, row_sharded(mesh)), *(place(p, replicated(mesh)) for p in params[1:]))

        def unpad(params: tuple[Any, ...]) -> tuple[Any, ...]:
            return (jax.tree.map(lambda x, n: x[:n], params[0], rows), *params[1:])
    else:
        params = place(params, replicated(mesh))
    rest, data = place((rest, data), replicated(mesh))
    opt_state = init(params)
    opt_state = place(opt_state, state_shardings(mesh, opt_state, padded_rows, shard_tables))
    out_shardings = (jax.tree.map(lambda x: x.sharding, params),
                     jax.tree.map(lambda x: x.sharding, opt_state), replicated(mesh))
    return Distributed(params, rest, data, opt_state, out_shardings, unpad)


def _pad_rows(table: jax.Array, multiple: int) -> jax.Array:
    extra = -table.shape[0] % multiple
    if not extra:
        return table
    return jnp.pad(table, [(0, extra)] + [(0, 0)] * (table.ndim - 1))
