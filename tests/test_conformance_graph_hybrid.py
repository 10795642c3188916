"""iALS, AutoRec, LightGCN and the side-feature hybrid: the conformance suite, known answers against
numpy references written here, the cold_items protocol's invariants, and item cold start on ml-100k."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

from recbench.builtin.models.autorec import AutoRec
from recbench.builtin.models.fm_hybrid import FMHybrid, encode_side
from recbench.builtin.models.ials import alternate, ials_objective, padded_histories, solve_side
from recbench.builtin.models.lightgcn import LightGCN, normalised_edges, propagate
from recbench.builtin.protocols.cold import cold_items
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError
from recbench.testing import ModelPluginTests
from recbench.train.pairwise import PairwiseBatch
from recbench.train.rating import RatingBatch, RatingStats
from recbench.types import ModelContext


# -- the conformance suite ----------------------------------------------------------------------------
class TestIALS(ModelPluginTests):
    model_name = "ials"
    config = {"dim": 16}


class TestLightGCN(ModelPluginTests):
    model_name = "lightgcn"
    config = {"dim": 16}
    training = {"epochs": 40, "learning_rate": 2e-2, "eval_every": 0}


class TestAutoRec(ModelPluginTests):
    """A rating model ranks by predicted rating: on implicit synthetic data it cannot beat pop (docstring)."""

    model_name = "autorec"
    # l2 300 (chosen on ml-100k) scales by 1 / n_train and flattens the reconstruction on this tiny
    # checkerboard into ties for most seeds (hit@1 0.0-0.9 over seeds 0-5); at 30 seeds 0 and 2-5
    # rank every held-out item first (seed 1: 0.725).
    config = {"hidden": 32, "l2": 30.0}
    training = {"epochs": 30, "learning_rate": 1e-2}
    beats_pop_by = None


class TestFMHybrid(ModelPluginTests):
    """Synthetic data has no side features: the hybrid is then an FM over the two ids."""

    model_name = "fm_hybrid"
    config = {"dim": 16}
    training = {"epochs": 60, "learning_rate": 2e-2, "eval_every": 0}


@pytest.fixture(scope="module")
def tiny() -> Interactions:
    rng = np.random.default_rng(0)
    dense = rng.random((6, 8)) < 0.4
    dense[5] = False  # a user without training rows
    dense[:, 7] = False  # an item without training rows
    dense[0, 0] = dense[1, 1] = True
    users, items = np.nonzero(dense)
    return Interactions.from_indices(users, items, n_users=6, n_items=8,
                                     rating=rng.integers(1, 6, users.size).astype(np.float32))


def _dense(data: Interactions, values: np.ndarray | None = None) -> np.ndarray:
    x = np.zeros((data.n_users, data.n_items))
    x[data.user_idx, data.item_idx] = 1.0 if values is None else values
    return x


# -- iALS -----------------------------------------------------------------------------------------------
def test_ials_solves_equal_numpy_least_squares(tiny) -> None:
    rng = np.random.default_rng(1)
    dim, a0, l2, nu = 3, 0.3, 0.05, 1.0
    x = _dense(tiny)
    items_IxD = rng.normal(size=(tiny.n_items, dim))
    history = padded_histories(tiny.user_idx, tiny.item_idx, tiny.n_users, tiny.n_items)
    # chunk 4 over 6 users: the last chunk is padded, which must not leak into real rows
    users_UxD = np.asarray(solve_side(jnp.asarray(items_IxD, jnp.float32), jnp.asarray(history),
                                      jnp.asarray(x.sum(1), jnp.float32), a0, l2, nu, 4))
    for u in range(tiny.n_users):
        lam = l2 * (x[u].sum() + a0 * tiny.n_items) ** nu
        # min sum_{i in I_u} (<w, h_i> - 1)^2 + a0 sum_i <w, h_i>^2 + lam |w|^2 as one stacked lstsq
        a = np.vstack([items_IxD[x[u] > 0], np.sqrt(a0) * items_IxD, np.sqrt(lam) * np.eye(dim)])
        b = np.concatenate([np.ones(int(x[u].sum())), np.zeros(tiny.n_items + dim)])
        expected = np.linalg.lstsq(a, b, rcond=None)[0]
        assert np.allclose(users_UxD[u], expected, atol=1e-4), u


def test_ials_alternation_never_increases_the_objective(tiny) -> None:
    rng = np.random.default_rng(2)
    users0 = jnp.asarray(rng.normal(0, 0.1, (6, 4)), jnp.float32)
    items0 = jnp.asarray(rng.normal(0, 0.1, (8, 4)), jnp.float32)
    hist_u = jnp.asarray(padded_histories(tiny.user_idx, tiny.item_idx, 6, 8))
    hist_i = jnp.asarray(padded_histories(tiny.item_idx, tiny.user_idx, 8, 6))
    counts_u = jnp.asarray(tiny.user_counts(), jnp.float32)
    counts_i = jnp.asarray(tiny.item_counts(), jnp.float32)
    users_N, items_N = jnp.asarray(tiny.user_idx), jnp.asarray(tiny.item_idx)
    values = [float(ials_objective(users_N, items_N, users0, items0, 0.2, 0.1, 1.0))]
    for epochs in (1, 2, 3, 5):
        w, h = alternate(users0, items0, hist_u, hist_i, counts_u, counts_i, epochs=epochs, unobserved_weight=0.2,
                         l2=0.1, l2_exponent=1.0, user_chunk=3, item_chunk=8)
        values.append(float(ials_objective(users_N, items_N, w, h, 0.2, 0.1, 1.0)))
    assert all(b <= a + 1e-5 for a, b in zip(values, values[1:])), values
    assert values[-1] < 0.9 * values[0]


# -- LightGCN -----------------------------------------------------------------------------------------
def test_lightgcn_propagation_equals_dense_numpy(tiny) -> None:
    n_users, n_items, layers = tiny.n_users, tiny.n_items, 3
    r = _dense(tiny)
    adjacency = np.block([[np.zeros((n_users, n_users)), r], [r.T, np.zeros((n_items, n_items))]])
    degree = adjacency.sum(1)
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    a_hat = inv_sqrt[:, None] * adjacency * inv_sqrt[None, :]
    ego = np.random.default_rng(3).normal(size=(n_users + n_items, 5))
    expected = np.mean([np.linalg.matrix_power(a_hat, k) @ ego for k in range(layers + 1)], axis=0)
    source, target, weight = normalised_edges(tiny.user_idx, tiny.item_idx, n_users, n_items)
    got = propagate(jnp.asarray(ego, jnp.float32), jnp.asarray(source), jnp.asarray(target), jnp.asarray(weight),
                    layers)
    assert np.allclose(np.asarray(got), expected, atol=1e-5)

    model = LightGCN(n_users, n_items, dim=5, layers=layers)
    model.embeddings[...] = jnp.asarray(ego, jnp.float32)
    model.set_training_part(tiny)
    users = jnp.arange(n_users)
    assert np.allclose(np.asarray(model.score(users)), expected[:n_users] @ expected[n_users:].T, atol=1e-5)
    batch = PairwiseBatch(jnp.array([0, 1]), jnp.array([0, 1]), jnp.array([3, 7]))
    final_u, final_i = expected[:n_users], expected[n_users:]
    diff = (final_u[[0, 1]] * (final_i[[0, 1]] - final_i[[3, 7]])).sum(1)
    pos, neg = n_users + np.array([0, 1]), n_users + np.array([3, 7])
    reg = (ego[[0, 1]] ** 2).sum(1) + (ego[pos] ** 2).sum(1) + (ego[neg] ** 2).sum(1)
    expected_loss = np.mean(np.log1p(np.exp(-diff))) + 1e-4 * 0.5 * reg.mean()
    assert np.isclose(float(model.loss(batch)), expected_loss, atol=1e-5)


# -- AutoRec --------------------------------------------------------------------------------------------
def test_autorec_predictions_and_loss_equal_the_numpy_formula(tiny) -> None:
    model = AutoRec(tiny.n_users, tiny.n_items, hidden=4, l2=2.0, init_std=0.5, seed=1)
    model.set_rating_stats(RatingStats(len(tiny), float(tiny.rating.mean()), 1.0, 5.0))
    model.set_training_part(tiny)
    v, mu = np.asarray(model.encoder[...]), np.asarray(model.encoder_bias[...])
    w, b = np.asarray(model.decoder[...]), np.asarray(model.decoder_bias[...])
    columns_IxU = _dense(tiny, tiny.rating).T
    mask_IxU = _dense(tiny).T
    out_IxU = (1 / (1 + np.exp(-(columns_IxU @ v + mu)))) @ w + b
    users, items = np.array([0, 2, 5, 1]), np.array([0, 7, 3, 1])
    got = np.asarray(model.predict(jnp.asarray(users), jnp.asarray(items)))
    assert np.allclose(got, np.clip(out_IxU[items, users], 1, 5), atol=1e-5)
    assert np.allclose(np.asarray(model.score(jnp.arange(6))), np.clip(out_IxU.T, 1, 5), atol=1e-5)
    batch = RatingBatch(jnp.asarray(tiny.user_idx[:3]), jnp.asarray(tiny.item_idx[:3]), jnp.asarray(tiny.rating[:3]))
    batch_items = tiny.item_idx[:3]
    sse = (((columns_IxU - out_IxU) * mask_IxU) ** 2).sum(1)
    penalty = 2.0 / 2 / len(tiny) * ((v**2).sum() + (w**2).sum())
    expected = np.mean(sse[batch_items] / tiny.item_counts()[batch_items]) + penalty
    assert np.isclose(float(model.loss(batch)), expected, rtol=1e-5)


# -- the hybrid -----------------------------------------------------------------------------------------
def test_fm_hybrid_scores_equal_a_brute_force_factorisation_machine(tiny) -> None:
    rng = np.random.default_rng(4)
    user_features = {"gender": np.array([0, 1, 0, 1, 1, 0], np.int32), "age": rng.normal(30, 5, 6)}
    item_features = {"genres": (rng.random((8, 3)) < 0.5).astype(np.int8)}
    model = FMHybrid(6, 8, user_features=user_features, item_features=item_features, dim=4, seed=2)
    n_inputs = model.factors[...].shape[0]
    model.factors[...] = jnp.asarray(rng.normal(size=(n_inputs, 4)), jnp.float32)
    model.weights[...] = jnp.asarray(rng.normal(size=n_inputs), jnp.float32)
    model.set_training_part(tiny)  # user 5 and item 7 (at least) have no rows: their id inputs go off
    v, w = np.asarray(model.factors[...]), np.asarray(model.weights[...])
    age = (user_features["age"] - user_features["age"].mean()) / user_features["age"].std()

    def x_user(u: int) -> np.ndarray:  # inputs in encode_side's order: id, age (numeric), gender (one-hot)
        x = np.zeros(n_inputs)
        x[u] = float(tiny.user_counts()[u] > 0)
        x[6] = age[u]
        x[7 + user_features["gender"][u]] = 1.0
        return x

    def x_item(i: int) -> np.ndarray:  # item inputs start after the 9 user inputs: id, then genres
        x = np.zeros(n_inputs)
        x[9 + i] = float(tiny.item_counts()[i] > 0)
        x[9 + 8: 9 + 11] = item_features["genres"][i]
        return x

    def fm(x: np.ndarray) -> float:
        pairs = sum(v[f] @ v[g] * x[f] * x[g] for f in range(n_inputs) for g in range(f + 1, n_inputs))
        return float(w @ x + pairs)

    expected = np.array([[fm(x_user(u) + x_item(i)) for i in range(8)] for u in range(6)])
    got = np.asarray(model.score(jnp.arange(6)))
    assert np.allclose(got, expected, rtol=1e-4, atol=1e-4), np.abs(got - expected).max(axis=1)


def test_fm_hybrid_refuses_features_of_the_wrong_shape() -> None:
    with pytest.raises(ConfigError, match="item feature 'genres' has shape"):
        encode_side(8, {"genres": np.zeros((7, 3))}, True, "item")
    with pytest.raises(ConfigError, match="no inputs"):
        FMHybrid(3, 4, use_ids=False)


def test_model_context_stays_backward_compatible() -> None:
    ctx = ModelContext(n_users=2, n_items=3, config={}, seed=0)
    assert dict(ctx.user_features) == {} and dict(ctx.item_features) == {}


# -- the cold_items protocol ------------------------------------------------------------------------
def test_cold_items_holds_items_out_of_training_entirely(ml100k) -> None:
    split = cold_items(ml100k, {"test_fraction": 0.2, "valid_fraction": 0.1}, 7)
    train_items = set(np.unique(split.train.item_idx).tolist())
    test_items = set(np.unique(split.test.item_idx).tolist())
    valid_items = set(np.unique(split.valid.item_idx).tolist())
    n_items = int((ml100k.item_counts() > 0).sum())
    assert len(test_items) == int(np.floor(n_items * 0.2 + 0.5))
    assert len(valid_items) == int(np.floor(n_items * 0.1 + 0.5))
    assert not (train_items & test_items) and not (train_items & valid_items) and not (test_items & valid_items)
    assert len(split.train) + len(split.valid) + len(split.test) == len(ml100k)
    # every row of a held-out item is held out
    assert int(np.isin(ml100k.item_idx, list(test_items)).sum()) == len(split.test)
    cands = split.candidates
    assert cands is not None and cands.source == f"cold_items:{len(test_items)}"
    assert np.array_equal(cands.users, np.unique(split.test.user_idx))
    assert all(set(row.tolist()) == test_items for row in cands.items_UxC[:5])
    again, other = cold_items(ml100k, {"test_fraction": 0.2, "valid_fraction": 0.1}, 7), cold_items(ml100k, {}, 8)
    assert again.split_id == split.split_id and np.array_equal(again.assignment, split.assignment)
    assert other.split_id != split.split_id
    assert cold_items(ml100k, {"rank_among": "all"}, 7).candidates is None


@pytest.mark.parametrize(("params", "match"), [
    ({"test_fracton": 0.2}, "did you mean 'test_fraction'"),
    ({"test_fraction": 0.0}, "test_fraction=0.0 must be in"),
    ({"rank_among": "warm"}, "rank_among='warm'"),
    ({"test_fraction": 0.6, "valid_fraction": 0.4}, "at least one test item and one training item"),
])
def test_cold_items_refuses_bad_parameters(tiny, params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cold_items(tiny, params, 0)


def test_cold_items_is_registered() -> None:
    from recbench.manager import PluginHost

    spec = PluginHost().splitter("cold_items").spec
    assert spec.default_params["rank_among"] == "cold" and spec.split is cold_items


# -- item cold start on ml-100k through the real runner ----------------------------------------------
def test_hybrid_beats_pure_cf_on_ml100k_item_cold_start(data_dir: Path) -> None:
    from recbench.config import sweep_from_mapping
    from recbench.manager import PluginHost
    from recbench.runner import Runner

    with tempfile.TemporaryDirectory() as out:
        sweep = sweep_from_mapping({
            "name": "cold", "seeds": [0, 1, 2], "metrics": ["ndcg@10"], "out": str(Path(out) / "r"),
            "training": {"epochs": 8, "eval_every": 0},
            "datasets": [{"name": "ml-100k", "protocol": "cold_items", "cold_start": "include"}],
            "models": [{"name": "pop"}, {"name": "mf_bpr"}, {"name": "fm_hybrid"}],
        })
        runs = Runner(PluginHost(), sweep, data_dir=str(data_dir), progress=None).run().records
    assert all(r.status == "ok" for r in runs), {(r.model["name"], r.seed): r.message for r in runs}
    ndcg = {name: float(np.mean([r.metrics["ndcg@10"] for r in runs if r.model["name"] == name]))
            for name in ("pop", "mf_bpr", "fm_hybrid")}
    # Means over 3 seeds (each seed holds out other items). pop's order among new items is the tie rule
    # (lower index first), which on ml-100k is not random (docs/protocols.md), so one seed can favour
    # it: seed 0 gave pop 0.181, fm_hybrid 0.176; seeds 1 and 2 gave 0.135/0.236 and 0.168/0.179.
    assert ndcg["fm_hybrid"] > ndcg["pop"] and ndcg["fm_hybrid"] > ndcg["mf_bpr"] + 0.05, ndcg
    records = {r.model["name"]: r for r in runs if r.seed == 0}
    evaluation = records["fm_hybrid"].evaluation
    n_items = 1682  # every ml-100k item has ratings
    assert evaluation["test_cold_items"] == int(np.floor(n_items * 0.2 + 0.5))
    assert evaluation["test_rows_with_cold_item"] == records["fm_hybrid"].split["sizes"]["test"]
    assert evaluation["protocol"] == f"sampled[cold_items:{evaluation['test_cold_items']}]"
    assert evaluation["cold_start"] == "include"


# -- ml-100k: iALS and LightGCN beat pop ------------------------------------------------------------
def test_ials_and_lightgcn_beat_pop_on_ml100k(ml100k) -> None:
    from recbench.builtin.metrics import ndcg
    from recbench.builtin.models.ials import IALS
    from recbench.builtin.models.pop import Pop
    from recbench.builtin.splitters import random_holdout
    from recbench.evaluate.metric_names import parse_metric
    from recbench.evaluate.ranking import RankingEvaluator, plan_ranking
    from recbench.train.config import TrainConfig
    from recbench.train.loop import train

    split = random_holdout(ml100k, {"test_fraction": 0.25, "valid_fraction": 0.0}, 0)
    evaluator = RankingEvaluator({"test": plan_ranking(split.test, [split.train], 1024)}, ml100k.n_items,
                                 {parse_metric("ndcg@10"): ndcg})
    pop, ials = Pop(ml100k.n_items), IALS(943, 1682, dim=64, l2=0.03, unobserved_weight=0.1)
    pop.fit(split.train)
    ials.fit(split.train)
    lightgcn = train(LightGCN(943, 1682), "pairwise", split,
                     TrainConfig(epochs=10, batch_size=2048, learning_rate=5e-3, eval_every=0), 0).model
    scores = {name: evaluator.evaluate(model, "test").means()["ndcg@10"]
              for name, model in (("pop", pop), ("ials", ials), ("lightgcn", lightgcn))}
    assert scores["ials"] > scores["pop"] + 0.1, scores
    assert scores["lightgcn"] > scores["pop"] + 0.05, scores
