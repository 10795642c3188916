"""A model that scores items NaN or infinite is a diverged run, in test and in validation, never a ranking."""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import recbench
from recbench.builtin.splitters import random_holdout
from recbench.builtin.synthetic import synthetic_interactions
from recbench.config import sweep_from_mapping
from recbench.errors import DivergedError
from recbench.evaluate.metric_names import parse_metric
from recbench.evaluate.suite import EvaluationSuite
from recbench.manager import PluginHost
from recbench.runner import Runner

SMALL = {"n_users": 120, "n_items": 80, "mean_per_user": 15}
SPECS = {name: spec.spec for name, spec in PluginHost(autoload=False).all("metrics").items()}


class Scores(nnx.Module):
    """Scores item i for user u as ``table[u, i]``: the test decides where the bad values are."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = nnx.Variable(jnp.asarray(table, jnp.float32))

    def fit(self, train) -> None:  # a closed-form model with nothing to fit
        del train

    def score(self, users_B):
        return self.table[...][users_B]


@pytest.fixture(scope="module")
def suite():
    split = random_holdout(synthetic_interactions(SMALL), {}, 0)
    metrics = {parse_metric(m): SPECS[parse_metric(m).name] for m in ("ndcg@10", "recall@10", "auc")}
    return split, EvaluationSuite(split, metrics, split.valid, split.test)


def _scores(split, bad_user: int | None, bad_value: float, part: str = "test") -> np.ndarray:
    """Random scores; ``bad_value`` for one held-out item of ``bad_user`` in ``part`` (a candidate)."""
    table = np.random.default_rng(0).random((split.train.n_users, split.train.n_items)).astype(np.float32)
    if bad_user is not None:
        held_out = getattr(split, part)
        table[bad_user, held_out.item_idx[held_out.user_idx == bad_user][0]] = bad_value
    return table


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf, -np.float32(np.nan)])
def test_a_non_finite_score_of_an_evaluated_user_is_refused_on_test_and_validation(suite, bad_value) -> None:
    split, evaluation = suite
    user = int(split.test.user_idx[0])
    model = Scores(_scores(split, user, bad_value))
    with pytest.raises(DivergedError, match=r"scored candidate items NaN or infinite for 1 of \d+ users on the test part"):
        evaluation.evaluate(model, "test")
    valid_user = int(split.valid.user_idx[0])
    model = Scores(_scores(split, valid_user, bad_value, "valid"))
    with pytest.raises(DivergedError, match="on the valid part"):
        evaluation.validator("ndcg@10", model)(model)


def test_a_non_finite_score_of_a_masked_item_does_not_count(suite) -> None:
    split, evaluation = suite
    table = _scores(split, None, 0.0)
    table[split.train.user_idx[0], split.train.item_idx[0]] = np.nan  # a training item: never ranked
    assert np.isfinite(evaluation.evaluate(Scores(table), "test").means["ndcg@10"])


def test_finite_scores_pass_and_only_evaluated_users_count(suite) -> None:
    split, evaluation = suite
    result = evaluation.evaluate(Scores(_scores(split, None, 0.0)), "test")
    assert np.isfinite(result.means["ndcg@10"])
    # a test part of users 1..59 only, in one padded batch whose padding slots hold user 0
    half = split.test.take(np.flatnonzero((split.test.user_idx > 0) & (split.test.user_idx < 60)))
    metrics = {parse_metric("ndcg@10"): SPECS["ndcg"]}
    partial = EvaluationSuite(split, metrics, split.valid, half)
    for outside in (0, 100):  # a padding slot's user, a user of no batch
        assert np.isfinite(partial.evaluate(Scores(_scores(split, outside, np.nan)), "test").means["ndcg@10"])
        assert not partial.ranking.evaluate(Scores(_scores(split, outside, np.nan)), "test").non_finite_scores.any()
    with pytest.raises(DivergedError, match=r"for 1 of 59 users on the test part"):
        partial.evaluate(Scores(_scores(split, 1, np.nan)), "test")


class NaNScores:
    @recbench.hookimpl
    def recbench_models(self):
        def build(ctx):
            table = np.zeros((ctx.n_users, ctx.n_items), np.float32)
            table[:, 0] = np.nan  # a finite loss, NaN scores: only the evaluator can see it
            return Scores(table)

        yield recbench.ModelSpec(name="nan_scores", version="1", family="closed_form", description="NaN scores",
                                 build=build)


def test_a_sweep_records_a_model_with_nan_scores_as_diverged_and_goes_on(tmp_path: Path) -> None:
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": ["ndcg@10"], "datasets": [{"name": "synthetic", "params": SMALL}],
        "models": [{"name": "nan_scores"}, {"name": "pop"}], "out": str(tmp_path / "out"),
    })
    host = PluginHost(autoload=False, extra_plugins=[("nan", NaNScores())])
    records = {r.model["name"]: r for r in Runner(host, sweep, progress=None).run().records}
    assert records["nan_scores"].status == "diverged"
    assert "NaN or infinite" in records["nan_scores"].message and not records["nan_scores"].metrics
    assert records["pop"].status == "ok"
