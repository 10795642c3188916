from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.models.pop import Pop
from recbench.builtin.splitters import random_holdout
from recbench.errors import ConfigError
from recbench.train.config import TrainConfig
from recbench.train.loop import train
from recbench.bitmaps import pack_bits
from recbench.train.sampling import (
    binary_search_member,
    exclude_positives,
    is_positive,
    random_bits32,
    to_device,
    uniform_draws,
)


@pytest.fixture(scope="module")
def split(small_synthetic):
    return random_holdout(small_synthetic, {}, 0)


def test_pop_counts_training_interactions(split) -> None:
    outcome = train(Pop(split.train.n_items), "closed_form", split, TrainConfig(), 0)
    scores = np.asarray(outcome.model.score(jax.numpy.array([0, 5])))
    assert np.array_equal(scores[0], split.train.item_counts()) and np.array_equal(scores[0], scores[1])


def test_mf_bpr_loss_decreases_and_no_recompilation_after_first_epoch(split) -> None:
    compiles: list[str] = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, duration, **kw: compiles.append(event) if event.endswith("backend_compile_duration") else None
    )
    epoch_compiles: list[int] = []
    model = MFBPR(split.train.n_users, split.train.n_items, dim=16, seed=0)

    def validate(m) -> float:  # runs between epochs; records how many compiles happened so far
        epoch_compiles.append(len(compiles))
        return 0.0

    cfg = TrainConfig(epochs=6, batch_size=512, learning_rate=5e-2, eval_every=1, patience=100)
    outcome = train(model, "pairwise", split, cfg, 0, validate)
    assert outcome.epochs == 6 and outcome.compile_seconds > 0
    assert outcome.losses[-1] < outcome.losses[0] * 0.8
    # epoch 1 may compile helpers (e.g. the best-parameter copy); epochs 2..6 compile nothing
    assert epoch_compiles[1:] == [epoch_compiles[1]] * 5, epoch_compiles


def test_training_is_deterministic_for_a_seed(split) -> None:
    cfg = TrainConfig(epochs=2, batch_size=512, eval_every=0)
    runs = [train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=s), "pairwise", split, cfg, s)
            for s in (1, 1, 2)]
    a, b, c = (np.asarray(r.model.item_factors[...]) for r in runs)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert runs[0].losses == runs[1].losses


@pytest.mark.parametrize("with_bitmap", [True, False])
def test_negatives_avoid_training_items(split, with_bitmap) -> None:
    data, depth = to_device(split.train.user_idx, split.train.item_idx, split.train.n_users, split.train.n_items,
                            bitmap_max_bits=2**31 if with_bitmap else 0)
    assert (data.bitmap_UxW.size > 0) == with_bitmap
    users = jax.numpy.asarray(split.train.user_idx)
    assert bool(is_positive(data, users, jax.numpy.asarray(split.train.item_idx), depth).all())
    rng = np.random.default_rng(0)
    items = rng.integers(0, split.train.n_items, users.shape[0])
    train_pairs = set(zip(split.train.user_idx.tolist(), split.train.item_idx.tolist(), strict=True))
    expected = np.array([(u, i) in train_pairs for u, i in zip(split.train.user_idx.tolist(), items.tolist(), strict=True)])
    got = np.asarray(is_positive(data, users, jax.numpy.asarray(items), depth))
    assert np.array_equal(got, expected)


def test_membership_bitmap_matches_a_set_reference_at_word_edges() -> None:
    rng = np.random.default_rng(7)
    n_users, n_items = 5, 70  # 3 words a user; items 31, 32, 63, 64 and 69 sit at word edges
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, n_users, 120), rng.integers(0, n_items, 120), strict=True)}
    pairs |= {(0, 31), (0, 32), (1, 63), (1, 64), (4, 69), (3, 0)}
    users, items = (np.array(c, np.int32) for c in zip(*sorted(pairs), strict=True))
    bitmap = pack_bits(users, items, n_users, n_items)
    assert bitmap.shape == (n_users, 3) and bitmap.dtype == np.uint32
    bits = np.unpackbits(bitmap.view(np.uint8), bitorder="little").reshape(n_users, 96)[:, :n_items]
    expected = np.zeros((n_users, n_items), np.uint8)
    expected[users, items] = 1
    assert np.array_equal(bits, expected)
    data, depth = to_device(users, items, n_users, n_items)
    csr_data, _ = to_device(users, items, n_users, n_items, bitmap_max_bits=0)
    assert data.bitmap_UxW.size and not csr_data.bitmap_UxW.size
    all_u, all_i = (a.ravel().astype(np.int32) for a in np.meshgrid(np.arange(n_users), np.arange(n_items), indexing="ij"))
    via_bitmap = np.asarray(is_positive(data, jax.numpy.asarray(all_u), jax.numpy.asarray(all_i), depth))
    assert np.array_equal(via_bitmap, expected.ravel().astype(bool))
    assert np.array_equal(via_bitmap, np.asarray(binary_search_member(csr_data, jax.numpy.asarray(all_u),
                                                                      jax.numpy.asarray(all_i), depth)))


def test_uniform_draws_are_in_range_uniform_and_independent() -> None:
    n_draws = 60_000
    draws = [np.asarray(d) for d in uniform_draws(jax.random.key(3), (7, 1, 1_000_003), (n_draws,))]
    assert [d.dtype for d in draws] == [np.int32] * 3
    assert draws[0].min() >= 0 and draws[0].max() == 6
    assert np.array_equal(np.unique(draws[1]), [0])
    assert draws[2].min() >= 0 and draws[2].max() < 1_000_003 and draws[2].max() > 990_000
    counts = np.bincount(draws[0], minlength=7)
    chi2 = float(((counts - n_draws / 7) ** 2 / (n_draws / 7)).sum())
    assert chi2 < 22.5  # 6 degrees of freedom: p = 0.001
    # the two draws of one call are not the same stream
    assert np.corrcoef(draws[0], draws[2] % 7)[0, 1] ** 2 < 1e-3
    again = [np.asarray(d) for d in uniform_draws(jax.random.key(3), (7, 1, 1_000_003), (n_draws,))]
    assert all(np.array_equal(a, b) for a, b in zip(draws, again, strict=True))


def test_random_bits32_is_jax_random_bits_bit_for_bit() -> None:
    """The unrolled threefry keeps jax's stream: same bits for fresh, split and folded keys, any shape,
    under jit and vmap; other generators fall back to jax.random.bits."""
    import jax.numpy as jnp

    keys = [jax.random.key(0), jax.random.key(2**31 - 1), *jax.random.split(jax.random.key(5), 3),
            jax.random.fold_in(jax.random.key(7), 123)]
    for key in keys:
        for shape in [(1,), (5,), (4, 2048), (2, 3, 7)]:
            expected = np.asarray(jax.random.bits(key, shape, jnp.uint32))
            assert np.array_equal(np.asarray(random_bits32(key, shape)), expected), (key, shape)
            assert np.array_equal(np.asarray(jax.jit(random_bits32, static_argnums=1)(key, shape)), expected)
    batch = jax.random.split(jax.random.key(9), 4)
    assert np.array_equal(np.asarray(jax.vmap(lambda k: random_bits32(k, (3, 5)))(batch)),
                          np.asarray(jax.vmap(lambda k: jax.random.bits(k, (3, 5), jnp.uint32))(batch)))
    rbg = jax.random.key(1, impl="rbg")
    assert np.array_equal(np.asarray(random_bits32(rbg, (6,))), np.asarray(jax.random.bits(rbg, (6,), jnp.uint32)))


def test_exclude_positives_redraws_only_training_items(split) -> None:
    data, depth = to_device(split.train.user_idx, split.train.item_idx, split.train.n_users, split.train.n_items,
                            bitmap_max_bits=0)  # the binary search; the bitmap path is tested above
    users = split.train.user_idx[:500]
    positives = split.train.item_idx[:500]  # every first draw is a training item of its user
    train_pairs = set(zip(split.train.user_idx.tolist(), split.train.item_idx.tolist(), strict=True))
    not_positive = np.array([next(i for i in range(split.train.n_items) if (u, i) not in train_pairs)
                             for u in users.tolist()])
    keep = np.where(np.arange(500) % 2 == 0, not_positive, positives)  # half the first draws are fine
    jnp = jax.numpy
    out = np.asarray(exclude_positives(data, jnp.asarray(users), [jnp.asarray(keep), jnp.asarray(positives),
                                                                  jnp.asarray(not_positive)], depth))
    # kept where the first draw was fine; else the second draw (a positive) is redrawn by the third
    assert np.array_equal(out, not_positive)
    one_round = np.asarray(exclude_positives(data, jnp.asarray(users), [jnp.asarray(positives),
                                                                        jnp.asarray(keep)], depth))
    assert np.array_equal(one_round, keep)


def test_unimplemented_family_is_a_clear_error(split) -> None:
    with pytest.raises(ConfigError, match="no host training loop yet"):
        train(object(), "graph_magic", split, TrainConfig(), 0)


def test_train_config_rejects_unknown_and_bad_values() -> None:
    with pytest.raises(ConfigError, match="unknown training settings"):
        TrainConfig.from_mapping({"epoch": 3})
    with pytest.raises(ConfigError, match="optimizer 'adamx'"):
        TrainConfig.from_mapping({"optimizer": "adamx"})


def test_learning_rate_schedules() -> None:
    from recbench.train.config import learning_rate_schedule

    cfg = TrainConfig.from_mapping({"epochs": 10, "learning_rate": 0.1, "schedule": "cosine", "warmup_epochs": 2})
    lr = learning_rate_schedule(cfg, steps_per_epoch=5)
    assert float(lr(0)) == 0.0 and float(lr(5)) == pytest.approx(0.05)  # half-way through warm-up
    assert float(lr(10)) == pytest.approx(0.1) and float(lr(50)) == pytest.approx(0.0, abs=1e-7)
    exp = learning_rate_schedule(TrainConfig.from_mapping({"learning_rate": 1.0, "schedule": "exponential",
                                                           "decay_rate": 0.5}), steps_per_epoch=4)
    assert float(exp(8)) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="schedule 'step'"):
        TrainConfig.from_mapping({"schedule": "step"})


def test_sgd_with_a_schedule_trains_through_the_host_loop(split) -> None:
    cfg = TrainConfig(epochs=3, batch_size=512, optimizer="sgd", momentum=0.9, learning_rate=0.5,
                      schedule="linear", warmup_epochs=1, eval_every=0)
    outcome = train(MFBPR(split.train.n_users, split.train.n_items, dim=8, seed=0), "pairwise", split, cfg, 0)
    assert outcome.epochs == 3 and all(np.isfinite(outcome.losses))


def test_hand_training_part_gives_every_row_sampling_model_both_hooks(small_synthetic) -> None:
    from recbench.builtin.protocols.strong import strong_generalization
    from recbench.train.family import hand_training_part

    class Reader:
        def set_training_part(self, train):
            self.part = train

        def set_training_matrix(self, users_N, items_N):
            self.rows = (users_N, items_N)

    split = strong_generalization(small_synthetic, {}, 0)
    assert split.fold_in is not None and len(split.fold_in)
    model = Reader()
    hand_training_part(model, split)
    assert model.part is split.train
    users, items = model.rows
    assert len(users) == len(split.train) + len(split.fold_in)  # fold-in rows are readable at inference
    np.testing.assert_array_equal(users[len(split.train):], split.fold_in.user_idx)
    np.testing.assert_array_equal(items[:len(split.train)], split.train.item_idx)
    hand_training_part(object(), split)  # a model with neither hook is left alone


class _TwoTableMFBPR(nnx.Module):
    """MF-BPR as the BPR paper writes it, with separate user and item tables (mf_bpr packs them in one)."""

    sparse_tables = ("users", "items")

    def __init__(self, n_users: int, n_items: int, dim: int, seed: int) -> None:
        rngs = nnx.Rngs(params=seed)  # the same draws as MFBPR's: users first, then items
        self.users = nnx.Param(0.1 * jax.random.normal(rngs.params(), (n_users, dim)))
        self.items = nnx.Param(0.1 * jax.random.normal(rngs.params(), (n_items, dim)))

    def table_rows(self, batch):
        return {"users": batch.users_B, "items": jnp.stack([batch.pos_B, batch.neg_B])}

    def loss_from_rows(self, rows, batch):
        u, pos, neg = rows["users"], rows["items"][0], rows["items"][1]
        x = (u * (pos - neg)).sum(-1)
        return -jax.nn.log_sigmoid(x).mean() + 1e-4 * (u * u + pos * pos + neg * neg).sum(-1).mean()

    def loss(self, batch):
        return self.loss_from_rows({"users": self.users[...][batch.users_B],
                                    "items": self.items[...][jnp.stack([batch.pos_B, batch.neg_B])]}, batch)

    def score(self, users_B):
        return self.users[...][users_B] @ self.items[...].T


@pytest.mark.parametrize("sparse_optimizer", ["none", "adam"])
def test_mf_bpr_one_table_trains_as_two_tables(split, sparse_optimizer) -> None:
    cfg = TrainConfig(epochs=3, batch_size=256, eval_every=0, learning_rate=1e-2, sparse_optimizer=sparse_optimizer)
    n_users, n_items = split.train.n_users, split.train.n_items
    packed = train(MFBPR(n_users, n_items, dim=8, seed=3), "pairwise", split, cfg, 0)
    two = train(_TwoTableMFBPR(n_users, n_items, 8, 3), "pairwise", split, cfg, 0)
    np.testing.assert_allclose(packed.losses, two.losses, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(packed.model.user_factors), np.asarray(two.model.users[...]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.asarray(packed.model.item_factors), np.asarray(two.model.items[...]), rtol=1e-5, atol=1e-7)
    assert packed.model.factors[...].shape == (n_users + n_items, 8)
