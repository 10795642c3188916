"""Runs whose epochs lower to the same program share one compiled executable (recbench.train.compiled_epochs)."""

from __future__ import annotations

import jax
import pytest

from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.splitters import random_holdout
from recbench.train import compiled_epochs
from recbench.train.config import TrainConfig
from recbench.train.loop import train

CFG = TrainConfig(epochs=2, batch_size=256, eval_every=0, learning_rate=1e-2)


@pytest.fixture()
def split(small_synthetic):
    compiled_epochs.clear()
    yield random_holdout(small_synthetic, {}, 0)
    compiled_epochs.clear()


def _run(split, seed: int, dim: int = 8):
    return train(MFBPR(split.train.n_users, split.train.n_items, dim=dim, seed=seed), "pairwise", split, CFG, seed)


def test_seeds_share_one_compiled_epoch_and_train_as_if_compiled_alone(split) -> None:
    first = _run(split, 1)
    second = _run(split, 2)  # another seed: other initial factors and keys, the same program
    assert len(compiled_epochs._CACHE) == 1
    assert not first.compile_cached and second.compile_cached
    compiled_epochs.clear()
    alone = _run(split, 2)  # compiled afresh
    assert not alone.compile_cached
    assert second.losses == alone.losses and first.losses != second.losses
    assert jax.numpy.array_equal(second.model.factors[...], alone.model.factors[...])


def test_another_shape_or_setting_compiles_its_own_epoch(split) -> None:
    _run(split, 1, dim=8)
    _run(split, 1, dim=16)
    train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=1), "pairwise", split,
          TrainConfig(epochs=1, batch_size=256, eval_every=0, learning_rate=1e-2, optimizer="sgd"), 1)
    assert len(compiled_epochs._CACHE) == 3


def test_the_cache_keeps_only_the_most_recent_epochs(split, monkeypatch) -> None:
    monkeypatch.setattr(compiled_epochs, "MAX_CACHED_EPOCHS", 2)
    keys = []
    for dim in (4, 8, 12):
        _run(split, 0, dim)
        keys.append(next(reversed(compiled_epochs._CACHE)))
    assert list(compiled_epochs._CACHE) == keys[1:]


def test_the_key_names_the_devices_and_a_lowering_it_cannot_read_is_not_shared(split) -> None:
    lowered = jax.jit(lambda x: x * 2).lower(jax.numpy.ones(3))
    key = compiled_epochs.program_key(lowered)
    assert key is not None and str([d.id for d in jax.devices()[:1]]) in key
    lowered._lowering.const_args = [jax.numpy.ones(40)]  # constants hoisted out of the program's text
    assert compiled_epochs.program_key(lowered) is None
    assert not compiled_epochs.compile_cached(lowered).cached and not compiled_epochs._CACHE
