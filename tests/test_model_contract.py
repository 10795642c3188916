"""A model that breaks the training contract (a loss that is not a float scalar, a missing method, a
wrongly declared family, a builder that returns no module) gets one line naming the model and the fix,
before anything is compiled; a sweep records it as that run's error and goes on. A run's record says
whether early stopping was on and, if not, why."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

import recbench
from recbench.builtin.models.mf_bpr import MFBPR
from recbench.builtin.splitters import random_holdout
from recbench.config import sweep_from_mapping
from recbench.errors import TrainingError
from recbench.manager import PluginHost
from recbench.runner import Runner
from recbench.train.config import TrainConfig
from recbench.train.loop import early_stopping_status, train

CFG = TrainConfig(epochs=1, batch_size=64, eval_every=0)
SMALL = {"n_users": 60, "n_items": 40, "mean_per_user": 8}


@pytest.fixture(scope="module")
def split(small_synthetic):
    return random_holdout(small_synthetic, {}, 0)


class Pairwise(nnx.Module):
    """A minimal pairwise model: BPR on dot products."""

    def __init__(self, n_users: int, n_items: int) -> None:
        key_u, key_i = jax.random.split(jax.random.key(0))
        self.U = nnx.Param(0.1 * jax.random.normal(key_u, (n_users, 4)))
        self.V = nnx.Param(0.1 * jax.random.normal(key_i, (n_items, 4)))

    def margins(self, batch):
        users_BxD = self.U[...][batch.users_B]
        return (users_BxD * (self.V[...][batch.pos_B] - self.V[...][batch.neg_B])).sum(-1)

    def loss(self, batch):
        return -jax.nn.log_sigmoid(self.margins(batch)).mean()

    def score(self, users_B):
        return self.U[...][users_B] @ self.V[...].T


class PerExample(Pairwise):
    def loss(self, batch):
        return -jax.nn.log_sigmoid(self.margins(batch))


class IntLoss(Pairwise):
    def loss(self, batch):
        return jnp.int32(1)


class BoolLoss(Pairwise):
    def loss(self, batch):
        return super().loss(batch) > 0


class WithAux(Pairwise):
    def loss(self, batch):
        return super().loss(batch), {"aux": 1.0}


class NoneLoss(Pairwise):
    def loss(self, batch):
        return None


class ShapeOne(Pairwise):
    def loss(self, batch):
        return super().loss(batch)[None]


class FloatLoss(Pairwise):
    def loss(self, batch):
        return 1.0  # a Python float is a float scalar


@pytest.mark.parametrize(("cls", "got"), [
    (PerExample, "float32[64]"), (IntLoss, "int32[]"), (BoolLoss, "bool[]"),
    (WithAux, "tuple (float32[], dict)"), (NoneLoss, "None"), (ShapeOne, "float32[1]"),
])
def test_a_loss_that_is_not_a_float_scalar_is_one_line_naming_the_model_and_what_it_returned(split, cls, got) -> None:
    with pytest.raises(TrainingError) as caught:
        train(cls(split.train.n_users, split.train.n_items), "pairwise", split, CFG, 0)
    assert str(caught.value) == f"{cls.__name__}.loss(batch) must return a float scalar, got {got}"
    assert "mean of the per-example losses" in caught.value.hint


def test_a_python_float_loss_is_accepted(split) -> None:
    assert train(FloatLoss(split.train.n_users, split.train.n_items), "pairwise", split, CFG, 0).epochs == 1


def test_the_row_sparse_path_checks_loss_from_rows(split) -> None:
    class PerExampleRows(MFBPR):
        def loss_from_rows(self, rows, batch):
            return jnp.zeros(batch.users_B.shape)

    model = PerExampleRows(split.train.n_users, split.train.n_items, dim=4, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=64, eval_every=0, sparse_optimizer="adagrad")
    with pytest.raises(TrainingError, match=r"^PerExampleRows\.loss_from_rows\(rows, batch\) must return a float "
                                            r"scalar, got float32\[64\]$"):
        train(model, "pairwise", split, cfg, 0)


class NoLoss(nnx.Module):
    def __init__(self, n_users: int, n_items: int) -> None:
        self.V = nnx.Param(jnp.zeros((n_items,)))

    def score(self, users_B):
        return jnp.broadcast_to(self.V[...], (users_B.shape[0], self.V.shape[0]))


class FitOnly(Pairwise):
    loss = None

    def fit(self, train) -> None:
        pass


class NoScore(nnx.Module):
    def __init__(self, n_users: int, n_items: int) -> None:
        self.V = nnx.Param(jnp.zeros((n_items,)))

    def fit(self, train) -> None:
        pass


@pytest.mark.parametrize(("cls", "family", "message", "hint"), [
    (NoLoss, "pairwise", "NoLoss declares family 'pairwise' but has no loss(batch)", "declare family 'closed_form'"),
    (FitOnly, "pointwise", "FitOnly declares family 'pointwise' but has no loss(batch)", "declare family 'closed_form'"),
    (Pairwise, "closed_form", "Pairwise declares family 'closed_form' but has no fit(train)", "loss(batch) reads"),
    (NoScore, "closed_form", "NoScore declares family 'closed_form' but has no score(users_B)", "scores_BxI"),
])
def test_a_missing_method_of_the_family_is_named(split, cls, family, message, hint) -> None:
    with pytest.raises(TrainingError) as caught:
        train(cls(split.train.n_users, split.train.n_items), family, split, CFG, 0)
    assert str(caught.value) == message and hint in caught.value.hint


@pytest.mark.parametrize(("family", "batch"), [("rating", "RatingBatch: users_B, items_B, ratings_B"),
                                               ("pointwise", "PointwiseBatch: users_B, items_B, labels_B")])
def test_a_model_declared_with_the_wrong_family_names_the_family_and_its_batch(split, family, batch) -> None:
    with pytest.raises(TrainingError) as caught:
        train(Pairwise(split.train.n_users, split.train.n_items), family, split, CFG, 0)
    assert str(caught.value) == (f"Pairwise.loss(batch) failed on a batch of family {family!r} ({batch}): "
                                 f"AttributeError: '{batch.split(':')[0]}' object has no attribute 'pos_B'")
    assert f"is {family!r} the family whose batches the model reads?" in caught.value.hint


class NotAModule:
    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def fit(self, train) -> None:
        pass

    def score(self, users_B):
        return jnp.zeros((users_B.shape[0], self.n_items))


class OddBuilders:
    @recbench.hookimpl
    def recbench_models(self):
        for name, family, build in [("returns_none", "pairwise", lambda ctx: None),
                                    ("returns_int", "pairwise", lambda ctx: 3),
                                    ("returns_object", "closed_form", lambda ctx: NotAModule(ctx.n_items))]:
            yield recbench.ModelSpec(name=name, version="1", family=family, description="odd", build=build)


def _sweep(tmp_path: Path, models: list, **dataset):
    return sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"],
                               "datasets": [{"name": "synthetic", "params": SMALL, **dataset}],
                               "models": models, "out": str(tmp_path / "out")})


def test_a_builder_that_returns_no_nnx_module_is_that_runs_error_naming_the_plugin(tmp_path: Path) -> None:
    host = PluginHost(autoload=False, extra_plugins=[("odd", OddBuilders())])
    models = [{"name": "returns_none"}, {"name": "returns_int"}, {"name": "returns_object"}, {"name": "pop"}]
    outcome = Runner(host, _sweep(tmp_path, models), progress=None).run()
    assert [r.status for r in outcome.records] == ["error", "error", "error", "ok"]
    hint = " (hint: its build(ctx) must return the model, an instance of a flax.nnx.Module subclass)"
    assert [r.message for r in outcome.records[:3]] == [
        f"model plugin {name!r} (<in-process>) built {what}, not a flax.nnx.Module{hint}"
        for name, what in [("returns_none", "None"), ("returns_int", "3 (int)"), ("returns_object", "a NotAModule")]]


MF = {"name": "mf_bpr", "config": {"dim": 4}}


@pytest.mark.parametrize(("training", "dataset", "status"), [
    ({"epochs": 2, "eval_every": 1}, {"protocol": "random_holdout",
                                      "protocol_params": {"test_fraction": 0.2, "valid_fraction": 0.0}},
     "off: the split has no validation part"),
    ({"epochs": 3, "eval_every": 50}, {}, "off: eval_every (50) exceeds epochs (3)"),
    ({"epochs": 2, "eval_every": 0}, {}, "off: eval_every is 0"),
    ({"epochs": 4, "eval_every": 2, "patience": 3}, {}, "on: ndcg@10 every 2 epochs, patience 3"),
])
def test_the_record_says_whether_early_stopping_was_on_and_why_not(tmp_path: Path, training, dataset,
                                                                    status) -> None:
    sweep = _sweep(tmp_path, [{**MF, "training": training}, {"name": "pop"}], **dataset)
    mf, pop = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    assert mf.status == "ok" and mf.training["early_stopping"] == status
    assert pop.training["early_stopping"] == "off: a closed-form model is fitted once"


def test_early_stopping_status_when_the_metric_cannot_validate_the_model() -> None:
    cfg = TrainConfig(eval_every=1, early_stopping_metric="rmse")
    assert early_stopping_status(cfg, "pairwise", True, False) == (
        "off: rmse cannot be evaluated for this model on the validation part")
    assert early_stopping_status(cfg, "pairwise", True, True) == "on: rmse every epoch, patience 3"


class CopyingFit(nnx.Module):
    """A closed-form model whose fit returns a fitted copy instead of fitting itself."""

    def __init__(self, n_items: int) -> None:
        self.w = nnx.Param(jnp.zeros((n_items,)))

    def fit(self, train):
        fitted = CopyingFit(self.w[...].shape[0])
        fitted.w[...] = jnp.ones_like(fitted.w[...])
        return fitted

    def score(self, users_B):
        return jnp.broadcast_to(self.w[...], (users_B.shape[0], self.w[...].shape[0]))


def test_a_fit_that_returns_a_copy_is_refused_not_scored_unfitted(split) -> None:
    cfg = TrainConfig(epochs=1)
    with pytest.raises(TrainingError, match=r"CopyingFit.fit\(train\) returned a CopyingFit; a closed-form model fits "
                                            r"itself in place"):
        train(CopyingFit(split.train.n_items), "closed_form", split, cfg, 0)
