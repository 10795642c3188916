"""The epoch draws its minibatches ahead of the steps (``make_epoch``'s chunks): same batches, same training."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from recbench.builtin.models.autoencoders import MultVAE
from recbench.builtin.models.mf import MF
from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.models.ncf import GMF
from recbench.builtin.models.sequence_models import GRU4Rec
from recbench.builtin.protocols.temporal import leave_one_out
from recbench.builtin.splitters import random_holdout
from recbench.train.config import TrainConfig
from recbench.train.loop import FAMILY_PLANNERS, make_epoch, presample_chunk
from recbench.train.sparse import make_updater

FAMILIES = {  # family -> (model class, split maker)
    "pairwise": (MFBPR, random_holdout),
    "pointwise": (GMF, random_holdout),
    "rating": (MF, random_holdout),
    "listwise": (MultVAE, random_holdout),
    "sequential": (GRU4Rec, leave_one_out),
}


def _plan(family: str, dataset, batch_size: int):
    model_class, split_maker = FAMILIES[family]
    split = split_maker(dataset, {}, 0)
    model = model_class(split.train.n_users, split.train.n_items, seed=0)
    cfg = TrainConfig(epochs=1, eval_every=0, batch_size=batch_size)
    module_name, function = FAMILY_PLANNERS[family].split(":")
    return model, cfg, getattr(importlib.import_module(module_name), function)(split, cfg, model)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_batches_drawn_together_equal_batches_drawn_one_by_one(small_synthetic, family) -> None:
    _, _, plan = _plan(family, small_synthetic, 64)
    keys = jax.random.split(jax.random.key(7), 5)
    steps = jnp.arange(100, 105)  # global steps well past 0 (schedules such as KL annealing read them)
    together = jax.jit(jax.vmap(plan.sample, in_axes=(0, 0, None)))(keys, steps, plan.data)
    one_step = jax.jit(plan.sample)
    for s in range(5):
        alone = one_step(keys[s], steps[s], plan.data)
        for a, b in zip(jax.tree.leaves(together), jax.tree.leaves(alone), strict=True):
            assert a.shape[1:] == b.shape and np.array_equal(_bits(a[s]), _bits(b)), family


def _bits(x: jax.Array) -> np.ndarray:
    """The array's values (a key array's key data)."""
    return np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x)


def _train_epochs(family: str, dataset, chunk: int | None, epochs: int = 2):
    """Losses and parameters after ``epochs`` epochs of a fresh model (the epoch donates them)."""
    model, cfg, plan = _plan(family, dataset, 16)
    _, params, rest, _, updater = make_updater(model, cfg, plan.steps_per_epoch)
    opt_state = jax.jit(updater.init)(params)
    epoch = make_epoch(updater.step, plan.sample, plan.steps_per_epoch, chunk=chunk)
    losses = []
    for e in range(1, epochs + 1):
        params, opt_state, loss = epoch(params, rest, opt_state, jax.random.key(3), np.int32(e), plan.data)
        losses.append(float(loss))
    return losses, [np.asarray(x) for x in jax.tree.leaves(params)]


@pytest.mark.parametrize("family", ["pairwise", "sequential"])
def test_epoch_is_the_same_whatever_the_chunk(small_synthetic, family) -> None:
    steps = _plan(family, small_synthetic, 16)[2].steps_per_epoch
    assert steps >= 7 and steps % 3  # so that chunks of 3 leave a tail
    whole = _train_epochs(family, small_synthetic, None)
    divisors = [c for c in range(2, steps) if steps % c == 0]  # several chunks, no tail
    for chunk in (3, steps - 1, *divisors[:1]):
        losses, params = _train_epochs(family, small_synthetic, chunk)
        # the same batches train the same steps; XLA may fuse a tail's steps differently (last bits)
        np.testing.assert_allclose(losses, whole[0], rtol=1e-6, err_msg=f"{family} chunk {chunk}")
        for a, b in zip(params, whole[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=f"{family} chunk {chunk}")


def test_presample_chunk_keeps_drawn_batches_under_the_byte_budget(small_synthetic) -> None:
    _, _, plan = _plan("pairwise", small_synthetic, 64)
    step_bytes = 3 * 64 * 4  # users, positives, negatives: int32 each
    assert presample_chunk(plan.sample, plan.data, 1000) == 1000  # the default budget holds them all
    assert presample_chunk(plan.sample, plan.data, 1000, max_bytes=10 * step_bytes) == 10
    assert presample_chunk(plan.sample, plan.data, 1000, max_bytes=10 * step_bytes - 1) == 8  # divides 1000
    assert presample_chunk(plan.sample, plan.data, 997, max_bytes=10 * step_bytes) == 10  # 997 is prime: a tail
    assert presample_chunk(plan.sample, plan.data, 1000, max_bytes=1) == 1  # at least one step
    assert presample_chunk(plan.sample, plan.data, 4) == 4  # never more than the epoch


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sampler_intermediates_stay_within_twice_the_drawn_batches(small_synthetic, family) -> None:
    # PRESAMPLE_MAX_BYTES counts the drawn batches only; what the vmapped sampler needs on top while
    # drawing them (XLA's temporary buffers) must stay a small multiple of that, or the budget misleads
    _, _, plan = _plan(family, small_synthetic, 64)
    keys, steps = jax.random.split(jax.random.key(0), 8), jnp.arange(8)
    draw = jax.jit(jax.vmap(plan.sample, in_axes=(0, 0, None)))
    batches = jax.eval_shape(draw, keys, steps, plan.data)
    batch_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(batches))
    memory = draw.lower(keys, steps, plan.data).compile().memory_analysis()
    if memory is None:
        pytest.skip("this backend reports no memory analysis")
    assert memory.output_size_in_bytes >= batch_bytes  # (plus the output tuple's pointer table)
    assert memory.temp_size_in_bytes <= 2 * batch_bytes, (family, memory.temp_size_in_bytes, batch_bytes)
