"""Metrics through the one device evaluator, against hand-computed values and a plain-Python reference."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from recbench.builtin import metrics as builtin
from recbench.data.interactions import Interactions
from recbench.evaluate.metric_names import parse_metric
from recbench.evaluate.ranking import RankingEvaluator, batch_width, plan_ranking

METRICS = ("ndcg", "recall", "precision", "hit", "recall_liang", "f1", "mrr", "map")
FUNCTIONS = {name: getattr(builtin, "map_" if name == "map" else name) for name in METRICS}


class FixedScores(nnx.Module):
    """A 'model' whose scores are a given user x item matrix."""

    def __init__(self, scores: np.ndarray) -> None:
        self.table = nnx.Variable(jnp.asarray(scores, jnp.float32))

    def score(self, users_B):
        return self.table[...][users_B]


def evaluate(scores: np.ndarray, train: list[tuple[int, int]], test: list[tuple[int, int]], refs: list[str],
             batch_users: int = 1024) -> dict[str, np.ndarray]:
    n_users, n_items = scores.shape

    def part(pairs: list[tuple[int, int]]) -> Interactions:
        arr = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        return Interactions.from_indices(arr[:, 0], arr[:, 1], n_users=n_users, n_items=n_items)

    train_part, test_part = part(train), part(test)
    plan = plan_ranking(test_part, [train_part], batch_width([test_part], batch_users))
    table = {parse_metric(r): FUNCTIONS[parse_metric(r).name] for r in refs}
    result = RankingEvaluator({"test": plan}, n_items, table).evaluate(FixedScores(scores), "test")
    order = np.argsort(result.users)
    return {name: values[order] for name, values in result.per_user.items()}


def reference(scores: np.ndarray, train: set[tuple[int, int]], test: set[tuple[int, int]], user: int, k: int) -> dict[str, float]:
    """Plain Python: rank unmasked items by score descending, ties by lower item index."""
    items = [i for i in range(scores.shape[1]) if (user, i) not in train]
    ranked = sorted(items, key=lambda i: (-float(scores[user, i]), i))[:k]
    relevant = {i for (u, i) in test if u == user}
    gains = [1.0 if i in relevant else 0.0 for i in ranked]
    hits = sum(gains)
    dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
    idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    precision, recall = hits / k, hits / len(relevant)
    first = next((rank for rank, g in enumerate(gains, start=1) if g), None)
    ap = sum(g * sum(gains[:rank]) / rank for rank, g in enumerate(gains, start=1)) / min(k, len(relevant))
    return {"ndcg": dcg / idcg, "recall": recall, "precision": precision, "hit": float(hits > 0),
            "recall_liang": hits / min(k, len(relevant)),
            "f1": 2 * precision * recall / (precision + recall) if hits else 0.0,
            "mrr": 1 / first if first else 0.0, "map": ap}


def test_hand_computed_case() -> None:
    # one user, 5 items; item 0 is a training item with the top score and must be masked
    scores = np.array([[9.0, 1.0, 5.0, 3.0, 4.0]])
    values = evaluate(scores, train=[(0, 0)], test=[(0, 1), (0, 3)], refs=["ndcg@3", "recall@3", "precision@3", "hit@3", "ndcg@2"])
    # ranking after masking: 2 (5.0), 4 (4.0), 3 (3.0), 1 (1.0); relevant {1, 3}: top-3 hits item 3 at rank 3
    assert values["precision@3"][0] == pytest.approx(1 / 3)
    assert values["recall@3"][0] == pytest.approx(1 / 2)
    assert values["hit@3"][0] == 1.0
    assert values["ndcg@3"][0] == pytest.approx((1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert values["ndcg@2"][0] == 0.0
    more = evaluate(scores, train=[(0, 0)], test=[(0, 1), (0, 3)], refs=["mrr@4", "map@4", "f1@3", "recall_liang@1"])
    assert more["mrr@4"][0] == pytest.approx(1 / 3)
    assert more["map@4"][0] == pytest.approx((1 / 3 + 2 / 4) / 2)  # hits at ranks 3 and 4
    assert more["f1@3"][0] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    assert more["recall_liang@1"][0] == 0.0


def test_ties_go_to_the_lower_item_index() -> None:
    scores = np.zeros((1, 6))
    values = evaluate(scores, train=[(0, 0)], test=[(0, 1), (0, 5)], refs=["hit@1", "ndcg@4", "ndcg@5", "precision@1"])
    assert values["hit@1"][0] == 1.0  # item 1 is the lowest unmasked index
    assert values["ndcg@4"][0] == pytest.approx(1 / (1 + 1 / math.log2(3)))  # item 5 is rank 5, beyond k=4
    assert values["ndcg@5"][0] == pytest.approx((1 + 1 / math.log2(6)) / (1 + 1 / math.log2(3)))


def test_users_without_test_items_are_excluded_and_counted() -> None:
    scores = np.random.default_rng(0).random((4, 6))
    train = Interactions.from_indices(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3]), n_users=4, n_items=6)
    test = Interactions.from_indices(np.array([1, 3]), np.array([4, 5]), n_users=4, n_items=6)
    plan = plan_ranking(test, [train], 2)
    assert plan.n_users_without_targets == 2
    result = RankingEvaluator({"test": plan}, 6, {parse_metric("hit@2"): builtin.hit}).evaluate(FixedScores(scores), "test")
    assert sorted(result.users.tolist()) == [1, 3]


@pytest.mark.parametrize("seed", range(4))
def test_differential_against_python_reference(seed: int) -> None:
    """1,000+ randomised users per seed: ties, 0/1/many relevant items, k beyond the catalogue."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 300, int(rng.integers(5, 40))
    # coarse integer scores make ties common
    scores = rng.integers(0, 4, size=(n_users, n_items)).astype(np.float32)
    train, test = set(), set()
    for u in range(n_users):
        perm = rng.permutation(n_items)
        n_train = int(rng.integers(0, n_items // 2))
        n_test = int(rng.choice([1, 1, 2, 3, n_items - n_train]))
        train |= {(u, int(i)) for i in perm[:n_train]}
        test |= {(u, int(i)) for i in perm[n_train:n_train + n_test]}
    ks = [1, 3, 10, n_items + 7]  # the last is larger than the catalogue
    refs = [f"{m}@{k}" for m in METRICS for k in ks]
    values = evaluate(scores, sorted(train), sorted(test), refs, batch_users=64)
    users = sorted({u for (u, _) in test})
    for idx, user in enumerate(users):
        for k in ks:
            expected = reference(scores, train, test, user, k)
            for name in METRICS:
                assert values[f"{name}@{k}"][idx] == pytest.approx(expected[name], abs=1e-6), (user, name, k)


def test_metric_values_stay_in_range(ml100k) -> None:
    from recbench.builtin.splitters import random_holdout

    split = random_holdout(ml100k, {}, 0)
    scores = np.random.default_rng(1).random((ml100k.n_users, ml100k.n_items))
    plan = plan_ranking(split.test, [split.train, split.valid], 256)
    table = {parse_metric(f"{m}@10"): FUNCTIONS[m] for m in METRICS}
    result = RankingEvaluator({"test": plan}, ml100k.n_items, table).evaluate(FixedScores(scores), "test")
    assert result.users.shape[0] == 943
    for values in result.per_user.values():
        assert np.all((values >= 0) & (values <= 1))
    # random scores: expected precision@10 is about |test| / |unmasked items|
    assert 0.005 < result.means()["precision@10"] < 0.03


def test_ncf_convention_one_positive_among_100_candidates() -> None:
    """NCF (He et al. 2017): rank the held-out item among 99 sampled negatives; HR@10 and NDCG@10."""
    from recbench.data.split import CandidateSet

    n_items = 300
    rng = np.random.default_rng(0)
    scores = rng.random((3, n_items)).astype(np.float32)
    negatives = np.stack([rng.choice(np.arange(10, n_items), 99, replace=False) for _ in range(3)])
    positive = [0, 1, 2]
    # user 0: positive beats every candidate -> rank 1; user 1: rank 4; user 2: rank 12
    for user, rank in zip(range(3), (1, 4, 12), strict=True):
        cand_scores = np.sort(scores[user, negatives[user]])[::-1]
        scores[user, positive[user]] = cand_scores[rank - 2] - 1e-4 if rank > 1 else cand_scores[0] + 1.0
        scores[user, 3:10] = 10.0  # items 3..9 are not candidates: their top scores must be ignored
    test = Interactions.from_indices(np.arange(3), np.array(positive), n_users=3, n_items=n_items)
    train = Interactions.from_indices(np.zeros(0, int), np.zeros(0, int), n_users=3, n_items=n_items)
    plan = plan_ranking(test, [train], 3, candidates=CandidateSet(np.arange(3, dtype=np.int32),
                                                                  negatives.astype(np.int32), "test"))
    table = {parse_metric("hit@10"): builtin.hit, parse_metric("ndcg@10"): builtin.ndcg}
    result = RankingEvaluator({"test": plan}, n_items, table).evaluate(FixedScores(scores), "test")
    assert result.protocol == "sampled[test]"
    assert result.per_user["hit@10"].tolist() == [1.0, 1.0, 0.0]
    assert result.per_user["ndcg@10"] == pytest.approx([1.0, 1 / math.log2(5), 0.0])


def test_mult_vae_convention_recall_normalised_by_min_k() -> None:
    """Liang et al. 2018: Recall@k divides by min(k, |held-out|); NDCG@k as usual."""
    scores = np.tile(np.arange(30, 0, -1, dtype=np.float32), (1, 1))  # item 0 ranks first
    test = [(0, i) for i in (0, 1, 2, 25, 26, 27)]  # 3 in the top 3, 3 far down
    values = evaluate(scores, train=[], test=test, refs=["recall_liang@3", "recall@3", "ndcg@3", "recall_liang@20"])
    assert values["recall_liang@3"][0] == 1.0 and values["recall@3"][0] == 0.5
    assert values["ndcg@3"][0] == pytest.approx(1.0)
    assert values["recall_liang@20"][0] == pytest.approx(3 / 6)
