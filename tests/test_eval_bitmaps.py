"""Per-row item bitmaps in the ranking evaluator: the packing against a set reference, and the
evaluator with bitmaps against the evaluator with index pairs (identical per-user and global values)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from recbench.data.interactions import Interactions
from recbench.data.split import CandidateSet
from recbench.evaluate import ranking
from recbench.bitmaps import count_bits, dense_bits, gather_bits, n_words, pack_bits
from recbench.evaluate.metric_names import parse_metric
from recbench.evaluate.ranking import RankingEvaluator, pad_plans, plan_ranking
from recbench.manager import PluginHost
from tests.test_metrics import FixedScores

SPECS = {name: spec.spec for name, spec in PluginHost(autoload=False).all("metrics").items()}


@pytest.mark.parametrize("n_items", [1, 31, 32, 33, 64, 65, 97])
def test_bits_match_a_set_reference_at_word_edges(n_items: int) -> None:
    rng = np.random.default_rng(n_items)
    n_rows = 7
    edges = [i for i in (0, 31, 32, 63, 64, n_items - 1) if i < n_items]
    rows = np.concatenate([np.repeat(np.arange(n_rows), len(edges)), rng.integers(0, n_rows, 40)])
    items = np.concatenate([np.tile(edges, n_rows), rng.integers(0, n_items, 40)])
    rows, items = rows[::2], items[::2]  # not every row has every edge item
    rows, items = np.concatenate([rows, rows[:5]]), np.concatenate([items, items[:5]])  # duplicate pairs
    reference = {(int(r), int(i)) for r, i in zip(rows, items, strict=True)}
    bits = pack_bits(rows, items, n_rows, n_items)
    assert bits.shape == (n_rows, n_words(n_items)) and bits.dtype == np.uint32
    expected = np.array([[(r, i) in reference for i in range(n_items)] for r in range(n_rows)])
    np.testing.assert_array_equal(np.asarray(dense_bits(jnp.asarray(bits), n_items)), expected)
    np.testing.assert_array_equal(count_bits(bits), expected.sum(axis=1))
    probe = rng.integers(0, n_items, (n_rows, 9))
    probe[:, :len(edges)] = edges
    got = np.asarray(gather_bits(jnp.asarray(bits), jnp.asarray(probe, jnp.int32)))
    np.testing.assert_array_equal(got, expected[np.arange(n_rows)[:, None], probe])
    # no bit beyond the catalogue is ever set
    unpacked = np.unpackbits(bits.astype("<u4").view(np.uint8), axis=1, bitorder="little")
    assert not unpacked[:, n_items:].any()


def test_plan_bitmaps_and_counts_match_the_pairs() -> None:
    n_users, n_items = 50, 70
    train, test, _ = _case(3, n_users, n_items)
    with_bits = plan_ranking(test, [train], 16, bitmaps=True)
    pairs = plan_ranking(test, [train], 16, bitmaps=False)
    assert with_bits.bitmaps and not pairs.bitmaps
    assert with_bits.exclude_rows_NxM is None  # the replaced pairs are not carried
    n, b = pairs.users_NxB.shape
    for bits, rows, items in ((with_bits.exclude_bits_NxBxW, pairs.exclude_rows_NxM, pairs.exclude_items_NxM),
                              (with_bits.target_bits_NxBxW, pairs.target_rows_NxT, pairs.target_items_NxT)):
        assert bits.shape == (n, b, n_words(n_items))
        dense = np.zeros((n, b + 1, n_items), bool)  # row b: the pairs' padding
        dense[np.arange(n)[:, None], rows, items] = True
        np.testing.assert_array_equal(np.asarray(dense_bits(jnp.asarray(bits.reshape(n * b, -1)), n_items)),
                                      dense[:, :b].reshape(n * b, n_items))
    np.testing.assert_array_equal(with_bits.n_relevant_NxB, count_bits(with_bits.target_bits_NxBxW))
    np.testing.assert_array_equal(with_bits.n_relevant_NxB, pairs.n_relevant_NxB)
    assert not with_bits.n_relevant_NxB[~with_bits.valid_NxB].any()


def test_size_rule_picks_bitmaps_only_when_they_are_not_much_bigger(monkeypatch: pytest.MonkeyPatch) -> None:
    n_users, n_items = 64, 4000  # sparse: one pair a user against 125 words a user
    users = np.arange(n_users)
    sparse = Interactions.from_indices(users, users % n_items, n_users=n_users, n_items=n_items)
    assert plan_ranking(sparse, [sparse], 32).bitmaps  # a few KB: under BITMAP_MIN_BYTES
    monkeypatch.setattr(ranking, "BITMAP_MIN_BYTES", 0)
    assert not plan_ranking(sparse, [sparse], 32).bitmaps
    u, i = np.nonzero(np.ones((n_users, 200), bool))
    dense = Interactions.from_indices(u, i, n_users=n_users, n_items=200)
    assert plan_ranking(dense, [dense], 32).bitmaps  # 7 words against 200 pairs a user


def _case(seed: int, n_users: int, n_items: int) -> tuple[Interactions, Interactions, np.ndarray]:
    """Random train/test parts: users with 0, 1 or many held-out items, a duplicate and an overlap."""
    rng = np.random.default_rng(seed)
    train_mask = rng.random((n_users, n_items)) < rng.uniform(0.05, 0.6, (n_users, 1))
    n_test = rng.choice([0, 1, 1, 2, 5, n_items], n_users)
    test_mask = (rng.random((n_users, n_items)).argsort(axis=1) < n_test[:, None]) & ~train_mask
    test_mask[0] = ~train_mask[0]  # every unmasked item is held out
    test_mask[1, n_items - 1] = train_mask[1, n_items - 1] = True  # a held-out item also in training
    u, i = np.nonzero(train_mask)
    train = Interactions.from_indices(u, i, n_users=n_users, n_items=n_items)
    u, i = np.nonzero(test_mask)
    u, i = np.concatenate([u, u[:1]]), np.concatenate([i, i[:1]])  # a duplicate held-out pair
    gains = rng.integers(1, 6, u.shape[0]).astype(np.float32)
    gains[-1] = gains[0]
    test = Interactions.from_indices(u, i, n_users=n_users, n_items=n_items, rating=gains)
    return train, test, gains


@pytest.mark.parametrize("seed", range(3))
def test_evaluator_with_and_without_bitmaps_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_users, n_items = 90, int(rng.choice([33, 64, 70]))
    train, test, _ = _case(seed, n_users, n_items)
    valid_train, valid, _ = _case(seed + 100, n_users, n_items)
    scores = rng.integers(0, 4, (n_users, n_items)).astype(np.float32)  # heavy ties
    scores[2] = np.nan  # NaN scores: ranked (lax.top_k's order), identical either way
    scores[3] = -np.inf
    cand_users = np.arange(0, n_users, 2, dtype=np.int32)
    candidates = CandidateSet(cand_users, rng.integers(0, n_items, (cand_users.shape[0], 9)).astype(np.int32), "test")
    k_big = n_items + 5  # beyond the catalogue
    refs = [f"{m}@{k}" for m in ("ndcg", "recall", "precision", "mrr", "map", "ndcg_graded", "coverage", "gini",
                                 "novelty", "tail_share") for k in (1, 5, k_big)] + ["auc", "gauc"]
    table = {parse_metric(r): SPECS[parse_metric(r).name] for r in refs}
    popularity = train.item_counts()

    def run(bitmaps: bool) -> dict[str, tuple[dict[str, np.ndarray], dict[str, float]]]:
        plans = {"test": plan_ranking(test, [train], 16, bitmaps=bitmaps),
                 "valid": plan_ranking(valid, [valid_train, train], 16, bitmaps=bitmaps),
                 "sampled": plan_ranking(test, [train], 16, candidates, bitmaps=bitmaps)}
        evaluator = RankingEvaluator(plans, n_items, table, popularity, 77)
        assert all(p.bitmaps == bitmaps for p in evaluator.plans.values())
        results = {name: evaluator.evaluate(FixedScores(scores), name) for name in plans}
        assert results["sampled"].protocol == "sampled[test]"
        return {name: (r.per_user, r.global_values, r.users) for name, r in results.items()}

    on, off = run(True), run(False)
    for name in on:
        (per_user, global_values, users), (off_per_user, off_global, off_users) = on[name], off[name]
        np.testing.assert_array_equal(users, off_users)
        assert per_user.keys() == off_per_user.keys() and global_values == off_global
        for metric, values in per_user.items():
            np.testing.assert_array_equal(values, off_per_user[metric], err_msg=f"{name} {metric}")
    per_user, _, users = on["test"]
    ordinary = ~np.isin(users, [1, 2, 3])  # AUC assumes finite scores and unmasked held-out items
    auc = per_user["auc"][ordinary]
    assert per_user["recall@5"].max() > 0 and np.all((auc >= 0) & (auc <= 1)) and 0 < auc.mean() < 1
    assert per_user["ndcg_graded@5"].max() > 0


def test_mixed_plans_share_bitmaps_and_padding_users_stay_invalid() -> None:
    n_users, n_items = 60, 40
    train, test, _ = _case(5, n_users, n_items)
    few = Interactions.from_indices(np.array([4, 4, 9]), np.array([1, 2, 3]), n_users=n_users, n_items=n_items)
    big, small = plan_ranking(test, [train], 8, bitmaps=True), plan_ranking(few, [train], 8, bitmaps=False)
    padded_big, padded_small = pad_plans([big, small])
    assert padded_big.bitmaps and padded_small.bitmaps
    assert padded_small.users_NxB.shape == padded_big.users_NxB.shape
    assert padded_small.exclude_bits_NxBxW.shape == padded_big.exclude_bits_NxBxW.shape
    pad = ~padded_small.valid_NxB
    assert pad.sum() == padded_small.valid_NxB.size - 2
    assert not padded_small.exclude_bits_NxBxW[pad].any() and not padded_small.target_bits_NxBxW[pad].any()
    assert not padded_small.n_relevant_NxB[pad].any()
    table = {parse_metric(r): SPECS[parse_metric(r).name] for r in ("recall@3", "coverage@3", "auc")}
    scores = np.random.default_rng(0).random((n_users, n_items)).astype(np.float32)
    mixed = RankingEvaluator({"a": big, "b": small}, n_items, table).evaluate(FixedScores(scores), "b")
    alone = RankingEvaluator({"b": small}, n_items, table).evaluate(FixedScores(scores), "b")
    assert mixed.users.tolist() == [4, 9]
    for metric, values in alone.per_user.items():
        np.testing.assert_array_equal(mixed.per_user[metric], values)
    assert mixed.global_values == alone.global_values


def test_real_ml1m_split_gives_bit_identical_values_either_way(data_dir) -> None:
    """On ML-1M (an untrained MF model), where fusing the bit gather into the metrics once moved
    ndcg@10 by 1 ulp for 3 users; and the size rule picks bitmaps at this shape."""
    from recbench.builtin.metrics import mrr, ndcg, recall
    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.builtin.public_formats import load_ml1m_afcfm
    from recbench.builtin.splitters import random_holdout
    from recbench.data.files import dataset_context

    split = random_holdout(load_ml1m_afcfm(dataset_context(data_dir=data_dir)), {}, seed=0)
    model = MFBPR(split.train.n_users, split.train.n_items, dim=64, l2=0.0, seed=0)
    table = {parse_metric("ndcg@10"): ndcg, parse_metric("recall@10"): recall, parse_metric("mrr@10"): mrr}
    assert plan_ranking(split.test, [split.train, split.valid], 1024).bitmaps
    values = {}
    for bitmaps in (True, False):
        plan = plan_ranking(split.test, [split.train, split.valid], 1024, bitmaps=bitmaps)
        values[bitmaps] = RankingEvaluator({"test": plan}, split.train.n_items, table).evaluate(model, "test").per_user
    for metric, on in values[True].items():
        np.testing.assert_array_equal(on, values[False][metric], err_msg=metric)


def _assert_direct_bitmaps_equal_converted(target: Interactions, exclude: list[Interactions], batch: int,
                                           candidates: CandidateSet | None = None) -> None:
    """plan_ranking's bitmaps, built straight from (slot, item) pairs, against the padded pairs converted."""
    direct = plan_ranking(target, exclude, batch, candidates, bitmaps=True)
    converted = ranking._as_bitmap_plan(plan_ranking(target, exclude, batch, candidates, bitmaps=False),
                                        n_words(target.n_items))
    assert direct.bitmaps and direct.exclude_rows_NxM is None and direct.exclude_items_NxM is None
    for name in ranking.EvalPlan.__slots__:
        got, want = getattr(direct, name), getattr(converted, name)
        if isinstance(want, np.ndarray):
            assert got.dtype == want.dtype and got.shape == want.shape, name
            np.testing.assert_array_equal(got, want, err_msg=name)
        else:
            assert got == want, name


@pytest.mark.parametrize("loader", ["ml-100k", "ml-1m-afcfm"])
def test_direct_bitmaps_equal_converted_pairs_on_a_real_split(loader: str, data_dir) -> None:
    from recbench.builtin.movielens import load_ml100k
    from recbench.builtin.public_formats import load_ml1m_afcfm
    from recbench.builtin.splitters import random_holdout
    from recbench.data.files import dataset_context

    load = {"ml-100k": load_ml100k, "ml-1m-afcfm": load_ml1m_afcfm}[loader]
    split = random_holdout(load(dataset_context(data_dir=data_dir)), {}, seed=0)
    assert split.test.item_idx.max() >= 1024 and split.test.n_items % 32 != 0  # several words, a partial last one
    for batch in (1024, 100):  # one full-width batch (ml-100k), or many with a partial last one
        _assert_direct_bitmaps_equal_converted(split.test, [split.train, split.valid], batch)
        _assert_direct_bitmaps_equal_converted(split.valid, [split.train], batch)


@pytest.mark.parametrize("n_items", [33, 64, 65])
def test_direct_bitmaps_equal_converted_pairs_at_the_edges(n_items: int) -> None:
    """Items 0, 31, 32, 63 and the last one; users with held-out items but nothing excluded, users with
    excluded items but nothing held out (not evaluated), a user with no items at all, a batch with one
    user, no exclude parts at all, and sampled candidates."""
    n_users = 9
    edges = np.array([i for i in (0, 31, 32, 63, n_items - 1) if i < n_items])
    test_users = np.array([0, 0, 0, 2, 2, 5, 5, 5, 5, 8])  # 1, 3, 4, 6, 7: nothing held out
    test_items = edges[np.arange(test_users.shape[0]) % edges.shape[0]]
    test = Interactions.from_indices(test_users, test_items, n_users=n_users, n_items=n_items)
    train_users = np.repeat([1, 2, 3, 5, 6], edges.shape[0])  # 0 and 8: nothing excluded; 4, 7: no items at all
    train_items = np.tile(edges[::-1], 5)  # users 2 and 5: held-out items also in training
    train = Interactions.from_indices(train_users, train_items, n_users=n_users, n_items=n_items)
    candidates = CandidateSet(np.array([0, 5], np.int32), np.array([[n_items - 1, 31 % n_items], [32 % n_items, 0]],
                                                                   np.int32), "test")
    for batch in (1, 2, 3, 16):
        _assert_direct_bitmaps_equal_converted(test, [train], batch)
        _assert_direct_bitmaps_equal_converted(test, [], batch)
        _assert_direct_bitmaps_equal_converted(test, [train, test], batch, candidates)
    plan = plan_ranking(test, [train], 2, bitmaps=True)
    dense = np.asarray(dense_bits(jnp.asarray(plan.exclude_bits_NxBxW.reshape(-1, n_words(n_items))), n_items))
    assert dense[:3].tolist() == [[False] * n_items, [i in edges for i in range(n_items)],
                                  [i in edges for i in range(n_items)]]  # users 0 (none), 2 and 5 (all edges)


def test_size_rule_counts_the_exclude_pairs_it_no_longer_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The automatic choice weighs the bitmaps against the bytes the padded pairs would take, exactly:
    at a factor of exactly their ratio bitmaps fit, just below it they do not."""
    train, test, _ = _case(7, 70, 65)
    pairs = plan_ranking(test, [train], 16, bitmaps=False)
    pair_bytes = sum(a.nbytes for a in (pairs.exclude_rows_NxM, pairs.exclude_items_NxM, pairs.target_rows_NxT,
                                        pairs.target_items_NxT))
    bitmap_bytes = 2 * pairs.users_NxB.size * n_words(65) * 4
    monkeypatch.setattr(ranking, "BITMAP_MIN_BYTES", 0)
    monkeypatch.setattr(ranking, "BITMAP_PAIRS_FACTOR", bitmap_bytes / pair_bytes)
    assert plan_ranking(test, [train], 16).bitmaps
    monkeypatch.setattr(ranking, "BITMAP_PAIRS_FACTOR", np.nextafter(bitmap_bytes / pair_bytes, 0))
    assert not plan_ranking(test, [train], 16).bitmaps
