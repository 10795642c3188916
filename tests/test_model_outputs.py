"""A model's scores and ratings must keep the contract's shape and be real numbers: anything else is one
error row naming the model, never an "ok" run with broadcast or cast values."""

from __future__ import annotations

import re
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import recbench
from recbench.config import sweep_from_mapping
from recbench.manager import PluginHost
from recbench.runner import Runner

SMALL = {"n_users": 40, "n_items": 30, "mean_per_user": 8}


class Bent(nnx.Module):
    """Good scores ``table[users]`` bent by ``how`` (the ways a plugin's score can go wrong)."""

    def __init__(self, n_users: int, n_items: int, how: str) -> None:
        self.table = nnx.Variable(jnp.asarray(np.random.default_rng(0).random((n_users, n_items)), jnp.float32))
        self.how = how

    def fit(self, train) -> None:
        del train

    def score(self, users_B):
        good = self.table[...][users_B]
        return {
            "good": good, "float16": good.astype(jnp.float16), "ints": (good * 100).astype(jnp.int32),
            "one row": good[:1], "vector": good[:, 0], "transposed": good.T, "extra item": jnp.pad(good, ((0, 0), (0, 1))),
            "booleans": good > 0.5, "complex": good.astype(jnp.complex64), "list": [good],
        }.get(self.how, good)

    def predict(self, users_B, items_B):
        good = self.table[...][users_B, items_B] * 5
        return {"good": good, "column": good[:, None], "booleans": good > 2.5}.get(self.how, good)


class BentModels:
    @recbench.hookimpl
    def recbench_models(self):
        yield recbench.ModelSpec(name="bent", version="1", family="closed_form", description="bent outputs",
                                 build=lambda ctx: Bent(ctx.n_users, ctx.n_items, ctx.config["how"]))


def _records(tmp_path: Path, hows: list[str], metrics: list[str]) -> dict[str, recbench.RunRecord]:
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0], "metrics": metrics, "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": SMALL}],
        "models": [{"name": "bent", "config": {"how": how}, "label": how} for how in hows]})
    host = PluginHost(autoload=False, extra_plugins=[("bent", BentModels())])
    return {r.model["config"]["how"]: r for r in Runner(host, sweep, progress=None).run().records}


def test_real_scores_of_the_contracts_shape_are_accepted_whatever_their_number_type(tmp_path: Path) -> None:
    records = _records(tmp_path, ["good", "float16", "ints"], ["ndcg@10"])
    assert {how: r.status for how, r in records.items()} == {"good": "ok", "float16": "ok", "ints": "ok"}


@pytest.mark.parametrize(("how", "says"), [
    ("one row", r"Bent.score\(users_B\) must return scores of shape \[B, n_items\] = \[\d+, 30\], got shape \[1, 30\]"),
    ("vector", r"got shape \[\d+\]"),
    ("transposed", r"= \[(\d+), 30\], got shape \[30, \1\]"),
    ("extra item", r"got shape \[\d+, 31\]"),
    ("booleans", r"as real numbers, got bool"),
    ("complex", r"as real numbers, got complex64"),
    ("list", r"got a list"),
])
def test_a_score_off_the_contract_is_an_error_row_naming_the_model(tmp_path: Path, how: str, says: str) -> None:
    record = _records(tmp_path, [how], ["ndcg@10"])[how]
    assert record.status == "error" and not record.metrics
    assert "\n" not in record.message and re.search(says, record.message), record.message


@pytest.mark.parametrize(("how", "says"), [("column", r"shape \[B\] = \[\d+\], got shape \[\d+, 1\]"),
                                           ("booleans", "as real numbers, got bool")])
def test_a_rating_prediction_off_the_contract_is_an_error_row(tmp_path: Path, how: str, says: str) -> None:
    record = _records(tmp_path, [how], ["rmse"])[how]
    assert record.status == "error" and re.search(says, record.message), record.message
