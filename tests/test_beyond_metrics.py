"""Graded NDCG, AUC/GAUC and beyond-accuracy metrics against plain-Python references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recbench.builtin import beyond_metrics as bm
from recbench.data.interactions import Interactions
from recbench.evaluate.metric_names import parse_metric
from recbench.evaluate.ranking import RankingEvaluator, plan_ranking
from recbench.manager import PluginHost
from tests.test_metrics import FixedScores

SPECS = {name: spec.spec for name, spec in PluginHost(autoload=False).all("metrics").items()}


def _case(seed: int):
    rng = np.random.default_rng(seed)
    n_users, n_items = 60, int(rng.integers(8, 30))
    scores = rng.integers(0, 5, size=(n_users, n_items)).astype(np.float32)  # many ties
    train, test, gains = [], [], []
    for u in range(n_users):
        perm = rng.permutation(n_items)
        n_train = int(rng.integers(1, n_items // 2))
        n_test = int(rng.integers(1, 4))
        train += [(u, int(i)) for i in perm[:n_train]]
        for i in perm[n_train:n_train + n_test]:
            test.append((u, int(i)))
            gains.append(float(rng.integers(1, 6)))
    return scores, train, test, np.array(gains, np.float32)


def _evaluate(scores, train, test, gains, refs, batch=16):
    n_users, n_items = scores.shape
    tr = np.array(train)
    te = np.array(test)
    train_part = Interactions.from_indices(tr[:, 0], tr[:, 1], n_users=n_users, n_items=n_items)
    test_part = Interactions.from_indices(te[:, 0], te[:, 1], n_users=n_users, n_items=n_items, rating=gains)
    popularity = train_part.item_counts()
    plan = plan_ranking(test_part, [train_part], batch)
    table = {parse_metric(r): SPECS[parse_metric(r).name] for r in refs}
    evaluator = RankingEvaluator({"test": plan}, n_items, table, popularity, int((train_part.user_counts() > 0).sum()))
    return evaluator.evaluate(FixedScores(scores), "test"), popularity


def _ranking(scores, train_set, user):
    items = [i for i in range(scores.shape[1]) if (user, i) not in train_set]
    return sorted(items, key=lambda i: (-float(scores[user, i]), i))


@pytest.mark.parametrize("seed", range(3))
def test_differential_against_python_references(seed: int) -> None:
    scores, train, test, gains = _case(seed)
    ks = [3, 10]
    refs = ["auc", "gauc"] + [f"{m}@{k}" for m in ("ndcg_graded", "novelty", "arp", "tail_share", "coverage", "gini") for k in ks]
    result, popularity = _evaluate(scores, train, test, gains, refs)
    train_set = set(train)
    gain_of = {pair: g for pair, g in zip(test, gains.tolist(), strict=True)}
    users = sorted({u for u, _ in test})
    n_train_users = len({u for u, _ in train})
    total = popularity.sum()
    order = sorted(range(len(popularity)), key=lambda i: (-popularity[i], i))
    head, mass = set(), 0
    for i in order:
        if mass < 0.8 * total:
            head.add(i)
        mass += popularity[i]
    aucs, weights = [], []
    exposure = {k: np.zeros(scores.shape[1]) for k in ks}
    for idx, user in enumerate(users):
        ranking = _ranking(scores, train_set, user)
        relevant = {i for (u, i) in test if u == user}
        positives = [ranking.index(i) for i in relevant]
        negatives = len(ranking) - len(relevant)
        correct = sum(sum(1 for j, i in enumerate(ranking) if j > p and i not in relevant) for p in positives)
        expected_auc = correct / (len(relevant) * negatives) if negatives else 1.0
        assert result.per_user["auc"][idx] == pytest.approx(expected_auc, abs=1e-6)
        aucs.append(expected_auc)
        weights.append(len(relevant))
        for k in ks:
            top = ranking[:k]
            exposure[k][top] += 1
            g = [gain_of.get((user, i), 0.0) for i in top]
            ideal = sorted((gain_of[(user, i)] for i in relevant), reverse=True)[:k]
            dcg = sum((2**x - 1) / math.log2(r + 2) for r, x in enumerate(g))
            idcg = sum((2**x - 1) / math.log2(r + 2) for r, x in enumerate(ideal))
            assert result.per_user[f"ndcg_graded@{k}"][idx] == pytest.approx(dcg / idcg, abs=1e-5)
            info = [-math.log2(max(popularity[i], 1) / n_train_users) for i in top]
            assert result.per_user[f"novelty@{k}"][idx] == pytest.approx(sum(info) / len(top), abs=1e-4)
            assert result.per_user[f"arp@{k}"][idx] == pytest.approx(sum(popularity[i] for i in top) / len(top), abs=1e-4)
            assert result.per_user[f"tail_share@{k}"][idx] == pytest.approx(sum(i not in head for i in top) / len(top))
    means = result.means()
    assert means["gauc"] == pytest.approx(np.average(aucs, weights=weights), abs=1e-6)
    for k in ks:
        assert means[f"coverage@{k}"] == pytest.approx((exposure[k] > 0).mean())
        x = np.sort(exposure[k])
        n = x.size
        gini = sum((2 * (i + 1) - n - 1) * x[i] for i in range(n)) / (n * x.sum())
        assert means[f"gini@{k}"] == pytest.approx(gini)
    assert "coverage@3" not in result.per_user  # global metrics have no per-user values


def test_graded_ndcg_equals_binary_ndcg_for_implicit_data() -> None:
    scores, train, test, gains = _case(7)
    result, _ = _evaluate(scores, train, test, np.ones_like(gains), ["ndcg_graded@5"])
    from tests.test_metrics import evaluate

    binary = evaluate(scores, train, test, ["ndcg@5"], batch_users=16)
    assert np.allclose(result.per_user["ndcg_graded@5"], binary["ndcg@5"], atol=1e-6)


def test_known_gini_and_coverage_values() -> None:
    class Inputs:
        def __init__(self, exposure):
            self.exposure_I = np.array(exposure, float)
            self.n_items = len(exposure)

    assert bm.gini_aggregate(Inputs([5, 5, 5, 5]), 1) == pytest.approx(0.0)
    assert bm.gini_aggregate(Inputs([0, 0, 0, 8]), 1) == pytest.approx(0.75)  # (n-1)/n for one item
    assert bm.coverage_aggregate(Inputs([0, 1, 0, 3]), 1) == 0.5


def test_auc_counts_unrankable_held_out_items_as_ranked_last() -> None:
    """A held-out item that is also excluded, or whose score is NaN or inf, beats no candidate."""
    scores = np.array([[5, 4, 3, 2, 1, 0],
                       [5, 4, 3, 2, 1, 0],
                       [5, np.nan, 3, 2, 1, 0],
                       [5, 4, 3, 2, 1, 0]], np.float32)
    train = [(0, 5), (1, 0), (2, 0), (3, 0)]
    test = [(0, 1), (1, 0), (1, 4), (2, 1), (2, 2), (3, 3)]  # user 1's item 0 is also excluded
    result, _ = _evaluate(scores, train, test, np.ones(len(test), np.float32), ["auc", "gauc"], batch=4)
    auc = dict(zip(result.users.tolist(), result.per_user["auc"].tolist(), strict=True))
    # user 0: candidates 0-4, held-out 1 beats 2, 3, 4 of the 4 non-relevant: 3/4
    assert auc[0] == pytest.approx(3 / 4)
    # user 1: held-out 4 (beats item 5) and 0 (excluded: beats nothing); non-relevant 1, 2, 3, 5
    assert auc[1] == pytest.approx(1 / (2 * 4))
    # user 2: held-out 1 (NaN: beats nothing) and 2 (beats 3, 4, 5); non-relevant 3, 4, 5
    assert auc[2] == pytest.approx(3 / (2 * 3))
    # user 3: held-out 3 beats 4, 5 of non-relevant 1, 2, 4, 5
    assert auc[3] == pytest.approx(2 / 4)
    assert all(0.0 <= a <= 1.0 for a in auc.values())
    assert result.means()["gauc"] == pytest.approx((3 / 4 + 2 * 1 / 8 + 2 * 3 / 6 + 2 / 4) / 6)
