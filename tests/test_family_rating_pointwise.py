"""The rating and pointwise families, their models (mf, biased_mf, gmf, mlp, neumf) and rating evaluation."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from recbench.builtin.models.catalog_rating_pointwise import specs
from recbench.builtin.models.mf import MF, BiasedMF
from recbench.builtin.models.ncf import GMF
from recbench.builtin.splitters import random_holdout
from recbench.config import sweep_from_mapping
from recbench.data.interactions import Interactions
from recbench.data.split import TRAIN, split_from_assignment
from recbench.errors import ConfigError
from recbench.evaluate.rating import RatingEvaluator, plan_rating_eval
from recbench.manager import PluginHost
from recbench.runner import Runner
from recbench.train.config import TrainConfig
from recbench.train.loop import train
from recbench.train.pointwise import plan_pointwise
from recbench.train.rating import RatingBatch, plan_rating
from recbench.train.sampling import is_positive
from recbench.types import ModelContext

SMALL = {"n_users": 300, "n_items": 200, "mean_per_user": 25}

_COMPILES: list[str] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, duration, **kw: _COMPILES.append(event) if event.endswith("backend_compile_duration") else None
)


@pytest.fixture(scope="module")
def split(small_synthetic):
    return random_holdout(small_synthetic, {}, 0)


def _spec(name: str):
    return next(s for s in specs() if s.name == name)


def _train_counting_compiles(model, family: str, split, cfg: TrainConfig, seed: int):
    """Train, recording the number of backend compilations seen at the end of every epoch."""
    epoch_compiles: list[int] = []

    def validate(m) -> float:
        epoch_compiles.append(len(_COMPILES))
        return float(len(epoch_compiles))  # rising: the last epoch's parameters are kept

    return train(model, family, split, cfg, seed, validate), epoch_compiles


@pytest.mark.parametrize(
    ("family", "make", "cfg"),
    [
        ("rating", lambda n_u, n_i, s: BiasedMF(n_u, n_i, dim=16, seed=s),
         TrainConfig(epochs=4, batch_size=512, learning_rate=1e-2, eval_every=1, patience=100)),
        ("pointwise", lambda n_u, n_i, s: GMF(n_u, n_i, dim=16, seed=s),
         TrainConfig(epochs=4, batch_size=640, learning_rate=1e-2, eval_every=1, patience=100)),
    ],
    ids=["rating", "pointwise"],
)
def test_family_compiles_once_learns_and_is_deterministic(split, family, make, cfg) -> None:
    n_u, n_i = split.train.n_users, split.train.n_items
    runs = [_train_counting_compiles(make(n_u, n_i, s), family, split, cfg, s) for s in (0, 0, 1)]
    (first, epoch_compiles), (again, _), (other, _) = runs
    assert first.epochs == 4 and first.compile_seconds > 0
    # epoch 1 may compile helpers (e.g. the best-parameter copy); epochs 2..4 compile nothing
    assert epoch_compiles[1:] == [epoch_compiles[1]] * 3, epoch_compiles
    assert first.losses[-1] < first.losses[0] * 0.9, first.losses
    assert first.losses == again.losses and first.losses != other.losses
    leaves = [jax.tree.leaves(nnx.state(r.model, nnx.Param)) for r in (first, again, other)]
    assert all(np.array_equal(x, y) for x, y in zip(leaves[0], leaves[1], strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(leaves[0], leaves[2], strict=True))


def _tiny_split() -> tuple[Interactions, object]:
    users = np.array([0, 0, 1, 1, 2, 2])
    items = np.array([0, 3, 1, 3, 2, 0])
    ratings = np.array([5.0, 3.0, 4.0, 1.0, 2.0, 4.0], np.float32)
    data = Interactions.from_indices(users, items, n_users=4, n_items=5, rating=ratings, name="tiny")
    split = split_from_assignment(data, np.full(len(data), TRAIN), protocol="all_train", protocol_version="1",
                                  params={}, seed=0)
    return data, split


def test_mf_loss_is_the_textbook_objective_per_rating() -> None:
    """J = sum (r - mu - <p_u, q_i>)^2 + l2 (|P|_F^2 + |Q|_F^2), computed independently with numpy.

    With disjoint batches covering the data once (S steps of B rows, S * B = n), B * L_step summed over
    the epoch equals J exactly; one batch of all rows gives J / n.
    """
    data, split = _tiny_split()
    l2 = 0.7
    model = MF(data.n_users, data.n_items, dim=3, l2=l2, init_std=0.8, seed=3)
    plan_rating(split, TrainConfig(batch_size=2), model)  # hands the training statistics to the model
    P = np.asarray(model.user_factors[...], np.float64)
    Q = np.asarray(model.item_factors[...], np.float64)
    r = data.rating.astype(np.float64)
    mu = r.mean()
    J = sum((r[k] - mu - P[u] @ Q[i]) ** 2 for k, (u, i) in enumerate(zip(data.user_idx, data.item_idx, strict=True)))
    J += l2 * ((P**2).sum() + (Q**2).sum())  # includes user 3 and item 4, which have no ratings

    def batch(rows):
        return RatingBatch(jnp.asarray(data.user_idx[rows]), jnp.asarray(data.item_idx[rows]), jnp.asarray(r[rows]))

    n = len(data)
    assert np.isclose(n * float(model.loss(batch(np.arange(n)))), J, rtol=1e-5)
    epoch = sum(2 * float(model.loss(batch(rows))) for rows in np.array_split(np.random.default_rng(0).permutation(n), 3))
    assert np.isclose(epoch, J, rtol=1e-5)
    # the global mean is a constant of the model, not a parameter
    assert float(model.global_mean[...]) == pytest.approx(mu)
    assert "global_mean" not in nnx.state(model, nnx.Param)


def test_rating_family_needs_ratings_and_samples_training_rows(small_synthetic) -> None:
    no_ratings = Interactions.from_indices(small_synthetic.user_idx, small_synthetic.item_idx, name="clicks")
    split = random_holdout(no_ratings, {}, 0)
    with pytest.raises(ConfigError, match="dataset 'clicks' has no ratings"):
        plan_rating(split, TrainConfig(), BiasedMF(no_ratings.n_users, no_ratings.n_items))
    with pytest.raises(ConfigError, match="dataset 'clicks' has no ratings"):
        plan_rating_eval(split.test)

    _, tiny = _tiny_split()
    plan = plan_rating(tiny, TrainConfig(batch_size=4), MF(4, 5))
    assert plan.steps_per_epoch == 2 and plan.examples_per_step == 4
    got = jax.jit(plan.sample)(jax.random.key(0), jnp.int32(0), plan.data)
    rows = set(zip(tiny.train.user_idx.tolist(), tiny.train.item_idx.tolist(), tiny.train.rating.tolist(), strict=True))
    assert set(zip(*(np.asarray(x).tolist() for x in got), strict=True)) <= rows


def test_pointwise_batches_label_positives_and_avoid_training_items(split) -> None:
    model = GMF(split.train.n_users, split.train.n_items, negatives=3)
    plan = plan_pointwise(split, TrainConfig(batch_size=1001), model)
    assert plan.examples_per_step == 1000 and plan.steps_per_epoch == -(-len(split.train) // 250)
    batch = jax.jit(plan.sample)(jax.random.key(0), jnp.int32(0), plan.data)
    assert all(x.shape == (1000,) for x in batch)
    labels = np.asarray(batch.labels_B)
    assert labels[:250].tolist() == [1.0] * 250 and labels[250:].tolist() == [0.0] * 750
    positive = np.asarray(jax.jit(is_positive, static_argnums=3)(plan.data, batch.users_B, batch.items_B, 30))
    assert positive[:250].all() and positive[250:].mean() < 0.01  # redrawn twice: rare leftovers only
    assert np.array_equal(np.asarray(batch.users_B[250:]), np.tile(np.asarray(batch.users_B[:250]), 3))
    with pytest.raises(ConfigError, match="batch_size=3 is smaller than 1 \\+ negatives = 4"):
        plan_pointwise(split, TrainConfig(batch_size=3), model)


class _TablePredictor(nnx.Module):
    def __init__(self, table: np.ndarray) -> None:
        self.table = nnx.Param(jnp.asarray(table))

    def predict(self, users_B: jax.Array, items_B: jax.Array) -> jax.Array:
        return self.table[...][users_B, items_B]


def test_rating_evaluator_matches_numpy_on_random_predictions(small_synthetic) -> None:
    split = random_holdout(small_synthetic, {}, 0)
    rng = np.random.default_rng(0)
    table = rng.uniform(0, 6, (small_synthetic.n_users, small_synthetic.n_items)).astype(np.float32)
    parts = {"test": split.test, "valid": split.valid}
    evaluator = RatingEvaluator({name: plan_rating_eval(part, 97) for name, part in parts.items()},
                                small_synthetic.n_users)
    model = _TablePredictor(table)
    for name, part in parts.items():
        result = evaluator.evaluate(model, name)
        err = table[part.user_idx, part.item_idx].astype(np.float64) - part.rating
        np.testing.assert_allclose(result.per_interaction["squared_error"], err**2, rtol=1e-5)
        np.testing.assert_allclose(result.per_interaction["absolute_error"], np.abs(err), rtol=1e-5)
        means = result.means()
        assert means["rmse"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-6)
        assert means["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-6)
        users = np.unique(part.user_idx)
        assert np.array_equal(result.users, users)
        rmse_u = [np.sqrt((err[part.user_idx == u] ** 2).mean()) for u in users]  # a loop is fine in a test
        mae_u = [np.abs(err[part.user_idx == u]).mean() for u in users]
        np.testing.assert_allclose(result.per_user["rmse"], rmse_u, rtol=1e-5)
        np.testing.assert_allclose(result.per_user["mae"], mae_u, rtol=1e-5)
    assert len(evaluator._compiled) == 1  # both parts padded to one shape: one compilation
    clipped = RatingEvaluator({"test": plan_rating_eval(split.test)}, small_synthetic.n_users, clip=(1, 5))
    err = np.clip(table[split.test.user_idx, split.test.item_idx], 1, 5) - split.test.rating
    assert clipped.evaluate(model, "test").means()["rmse"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-5)


def test_rating_accuracy_matches_numpy_at_each_threshold(small_synthetic) -> None:
    split = random_holdout(small_synthetic, {}, 0)
    rng = np.random.default_rng(1)
    table = rng.uniform(0, 6, (small_synthetic.n_users, small_synthetic.n_items)).astype(np.float32)
    table[split.test.user_idx[:5], split.test.item_idx[:5]] = 4.0  # predictions exactly at a threshold count as >=
    evaluator = RatingEvaluator({"test": plan_rating_eval(split.test, 97)}, small_synthetic.n_users,
                                thresholds=[4, 3, 4])
    result = evaluator.evaluate(_TablePredictor(table), "test")
    pred = table[split.test.user_idx, split.test.item_idx]
    users = np.unique(split.test.user_idx)
    for t in (3, 4):
        agree = (pred >= t) == (split.test.rating >= t)
        name = f"rating_accuracy@{t}"
        assert result.means()[name] == pytest.approx(agree.mean(), rel=1e-9)
        assert np.array_equal(result.per_interaction[name], agree.astype(np.float32))
        per_user = [agree[split.test.user_idx == u].mean() for u in users]  # a loop is fine in a test
        np.testing.assert_allclose(result.per_user[name], per_user, rtol=1e-6)
    assert 0.0 < result.means()["rating_accuracy@4"] < 1.0  # random predictions: neither all right nor all wrong


def test_biased_mf_defaults_reach_rmse_094_on_ml100k(ml100k) -> None:
    """The sanity bar: RMSE <= 0.94 on ml-100k, per-user random 80/20 holdout, with the spec's defaults."""
    split = random_holdout(ml100k, {"test_fraction": 0.2, "valid_fraction": 0.0}, 0)
    spec = _spec("biased_mf")
    model = spec.build(ModelContext(ml100k.n_users, ml100k.n_items, dict(spec.default_config), seed=0))
    outcome = train(model, spec.family, split, TrainConfig.from_mapping(spec.default_training), 0)
    evaluator = RatingEvaluator({"test": plan_rating_eval(split.test)}, ml100k.n_users)
    rmse = evaluator.evaluate(outcome.model, "test").means()["rmse"]
    assert rmse <= 0.94, rmse


def test_ncf_models_beat_pop_through_the_runner(tmp_path: Path) -> None:
    fast = {"epochs": 30, "learning_rate": 1e-2}  # the paper's lr 1e-3 needs more steps than this tiny data has
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": SMALL}],
        "models": [{"name": "pop"}, *({"name": m, "training": fast} for m in ("gmf", "mlp", "neumf"))],
    })
    outcome = Runner(PluginHost(autoload=False), sweep, progress=None).run()
    assert [r.status for r in outcome.records] == ["ok"] * 4, [r.message for r in outcome.records]
    ndcg = {r.model["name"]: r.metrics["ndcg@10"] for r in outcome.records}
    for name in ("gmf", "mlp", "neumf"):
        assert ndcg[name] > ndcg["pop"] + 0.05, ndcg
