"""Row-wise (sparse) embedding updates: a numpy reference, dense equivalences, the host loop, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.models.pop import Pop
from recbench.builtin.splitters import random_holdout
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.loop import train
from recbench.train.sparse import ROW_OPTIMIZERS, apply_row_update, merge_duplicate_rows


@pytest.fixture(scope="module")
def split(small_synthetic):
    return random_holdout(small_synthetic, {}, 0)


# -- an independent numpy reference: one Python loop over the distinct rows of each step ------------
def reference_steps(name: str, table: np.ndarray, steps: list[tuple[np.ndarray, np.ndarray]], lr: float
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
    table = table.astype(np.float64).copy()
    acc = np.full_like(table, 0.1)
    m, v = np.zeros_like(table), np.zeros_like(table)
    b1, b2 = 0.9, 0.999
    for t, (indices, grads) in enumerate(steps, start=1):
        flat_idx = indices.reshape(-1)
        flat_g = grads.reshape(flat_idx.shape[0], -1)
        summed: dict[int, np.ndarray] = {}
        for row, g in zip(flat_idx.tolist(), flat_g, strict=True):
            summed[row] = summed.get(row, 0.0) + g.astype(np.float64)
        for row, g in summed.items():
            if name == "sgd":
                table[row] -= lr * g
            elif name == "adagrad":
                acc[row] += g * g
                table[row] -= lr * g / np.sqrt(acc[row] + 1e-7)
            else:
                m[row] = b1 * m[row] + (1 - b1) * g
                v[row] = b2 * v[row] + (1 - b2) * g * g
                table[row] -= lr * (m[row] / (1 - b1**t)) / (np.sqrt(v[row] / (1 - b2**t)) + 1e-8)
    slots = {"sgd": [], "adagrad": [acc], "adam": [np.stack([m, v], axis=1)]}[name]  # moments: [rows, 2, dim]
    return table, slots


def run_row_optimizer(name: str, table: np.ndarray, steps: list[tuple[np.ndarray, np.ndarray]], lr: float
                      ) -> tuple[np.ndarray, list[np.ndarray]]:
    opt = ROW_OPTIMIZERS[name]()
    update = jax.jit(lambda *a: apply_row_update(opt, *a))
    table_j = jnp.asarray(table)
    slots = opt.init(table_j)
    owner = jnp.zeros(table.shape[:1], jnp.int32)
    for t, (indices, grads) in enumerate(steps, start=1):
        table_j, slots, owner = update(table_j, slots, owner, jnp.asarray(indices), jnp.asarray(grads),
                                       jnp.float32(lr), jnp.int32(t))
    return np.asarray(table_j), [np.asarray(s) for s in slots]


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adam"])
def test_row_optimizers_match_a_numpy_reference_with_duplicate_rows(name: str) -> None:
    rng = np.random.default_rng(7)
    table = rng.normal(size=(50, 4)).astype(np.float32)
    steps = []
    for _ in range(6):  # rows drawn from a small range: many duplicates within each step
        indices = rng.integers(0, 12, size=(2, 16)).astype(np.int32)
        indices[0, :3] = 40  # one row three times, and rows 12..49 except 40 never touched
        steps.append((indices, rng.normal(size=(2, 16, 4)).astype(np.float32)))
    expected, expected_slots = reference_steps(name, table, steps, lr=0.05)
    got, got_slots = run_row_optimizer(name, table, steps, lr=0.05)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    for g, e in zip(got_slots, expected_slots, strict=True):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-6)
    untouched = np.setdiff1d(np.arange(50), np.concatenate([np.arange(12), [40]]))
    assert np.array_equal(got[untouched], table[untouched])  # bit for bit: never written


def test_duplicates_merge_onto_one_representative_per_row() -> None:
    rows = jnp.asarray([3, 5, 3, 3, 9, 5], jnp.int32)
    grads = jnp.arange(6.0)[:, None] * jnp.ones((1, 2))
    stale_owner = jnp.full((10,), 4, jnp.int32)  # stale scratch from an earlier step must not matter
    _, distinct, summed = merge_duplicate_rows(stale_owner, rows, grads)
    distinct, summed = np.asarray(distinct), np.asarray(summed)
    kept = distinct < 10
    assert sorted(distinct[kept].tolist()) == [3, 5, 9]
    by_row = {int(r): summed[k, 0] for k, r in enumerate(distinct) if r < 10}
    assert by_row == {3: 0.0 + 2 + 3, 5: 1.0 + 5, 9: 4.0}


def test_lazy_adam_equals_dense_adam_when_every_row_is_touched_every_step() -> None:
    rng = np.random.default_rng(3)
    table = rng.normal(size=(8, 3)).astype(np.float32)
    tx = optax.adam(0.1)
    dense, state = jnp.asarray(table), tx.init(jnp.asarray(table))
    steps = []
    for _ in range(5):
        indices = np.concatenate([rng.permutation(8), rng.integers(0, 8, 4)]).astype(np.int32)
        grads = rng.normal(size=(12, 3)).astype(np.float32)
        steps.append((indices, grads))
        dense_grad = jnp.zeros_like(dense).at[indices].add(grads)
        updates, state = tx.update(dense_grad, state, dense)
        dense = optax.apply_updates(dense, updates)
    got, _ = run_row_optimizer("adam", table, steps, lr=0.1)
    np.testing.assert_allclose(got, np.asarray(dense), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,lr", [("sgd", 2.0), ("adagrad", 0.1)])
def test_sparse_path_equals_the_dense_optax_path_through_the_host_loop(split, name: str, lr: float) -> None:
    """Row-wise SGD and Adagrad are exactly dense optax SGD and Adagrad (untouched rows get 0).

    The sparse run sets its step size only through ``sparse_learning_rate`` (mf_bpr has no dense
    parameters, so ``learning_rate`` 1e-3 is unused): equal results also show that it is the one used.
    """
    runs = {}
    for sparse in ("none", name):
        rates = {"learning_rate": lr} if sparse == "none" else {"learning_rate": 1e-3, "sparse_learning_rate": lr}
        cfg = TrainConfig(epochs=3, batch_size=256, optimizer=name, eval_every=0, sparse_optimizer=sparse, **rates)
        runs[sparse] = train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0), "pairwise",
                             split, cfg, 0)
    dense, sparse = runs["none"], runs[name]
    np.testing.assert_allclose(sparse.losses, dense.losses, rtol=1e-5)
    assert dense.losses[-1] < dense.losses[0]
    for attr in ("user_factors", "item_factors"):
        np.testing.assert_allclose(np.asarray(getattr(sparse.model, attr)[...]),
                                   np.asarray(getattr(dense.model, attr)[...]), rtol=1e-4, atol=1e-5)


def test_lazy_adam_trains_without_recompiling_after_the_first_epoch(split) -> None:
    compiles: list[str] = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: compiles.append(event) if event.endswith("backend_compile_duration") else None
    )
    seen: list[int] = []

    def validate(model) -> float:
        seen.append(len(compiles))
        return 0.0

    cfg = TrainConfig(epochs=5, batch_size=512, learning_rate=0.02, eval_every=1, patience=100,
                      sparse_optimizer="adam")
    outcome = train(MFBPR(split.train.n_users, split.train.n_items, dim=16, seed=0), "pairwise", split, cfg, 0,
                    validate)
    assert outcome.losses[-1] < outcome.losses[0] * 0.9
    assert seen[1:] == [seen[1]] * 4, seen
    assert outcome.model.user_factors[...].shape == (split.train.n_users, 16)


@pytest.mark.parametrize("values,message", [
    ({"sparse_optimizer": "lazyadam"}, "sparse_optimizer 'lazyadam' is not one of none, sgd, adagrad, adam"),
    ({"sparse_optimizer": "sgd", "momentum": 0.9}, "sparse_optimizer 'sgd' has no momentum"),
    ({"sparse_learning_rate": -1.0}, "sparse_learning_rate=-1.0 must be positive"),
    ({"devices": 0}, "devices=0 must be a positive integer"),
    ({"devices": 3, "batch_size": 1000}, "batch_size=1000 is not divisible by devices=3"),
    ({"shard_tables": "yes"}, "shard_tables='yes' must be true or false"),
])
def test_bad_sparse_and_device_settings_are_clear_errors(values: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig.from_mapping(values)


def test_a_model_without_tables_rejects_a_sparse_optimizer(split) -> None:
    from recbench.builtin.models.mf import MF

    model = MF(split.train.n_users, split.train.n_items, dim=4)
    with pytest.raises(ConfigError, match="MF declares no row-sparse tables"):
        train(model, "rating", split, TrainConfig(sparse_optimizer="adagrad", epochs=1), 0)
    with pytest.raises(ConfigError, match="shard_tables is set but model MF declares no embedding tables"):
        train(model, "rating", split, TrainConfig(shard_tables=True, epochs=1), 0)
    assert train(Pop(split.train.n_items), "closed_form", split, TrainConfig(sparse_optimizer="sgd"), 0).epochs == 1
