"""Conformance suites that plugin authors reuse.

Subclass :class:`ModelPluginTests` in your package's tests and name your model; pytest collects the
``test_*`` methods. Every check goes through the real host: the plugin manager, the runner, the
family's jit-compiled loop and the one evaluator::

    from recbench.testing import ModelPluginTests

    class TestMyModel(ModelPluginTests):
        model_name = "my_model"
        training = {"epochs": 20}      # keep it quick on the small data below
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

import recbench
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN

SMALL_SYNTHETIC = {"n_users": 300, "n_items": 200, "mean_per_user": 25}


def checkerboard(n_users: int = 40, n_items: int = 30, seed: int = 0) -> Interactions:
    """User u likes item i iff (u + i) is even. Each user holds out one liked item (test); the other
    liked items are training rows (rating 5), and for rating models a third of the disliked items are
    training rows with rating 1. Timestamps follow row order: per user, training rows in random order
    and the held-out item last. Any working model ranks the held-out
    item first among the user's unseen items (implicit's checkerboard known answer)."""
    rng = np.random.default_rng(seed)
    users, items = np.nonzero((np.add.outer(np.arange(n_users), np.arange(n_items)) % 2) == 0)
    held_out = np.zeros(users.shape, bool)
    starts = np.searchsorted(users, np.arange(n_users))
    counts = np.bincount(users, minlength=n_users)
    held_out[starts + rng.integers(0, counts)] = True
    d_users, d_items = np.nonzero((np.add.outer(np.arange(n_users), np.arange(n_items)) % 2) == 1)
    disliked = rng.random(d_users.shape) < 1 / 3
    all_users = np.concatenate([users, d_users[disliked]])
    all_items = np.concatenate([items, d_items[disliked]])
    rating = np.concatenate([np.full(users.size, 5.0), np.full(int(disliked.sum()), 1.0)])
    part = np.concatenate([np.where(held_out, TEST, TRAIN), np.full(int(disliked.sum()), TRAIN)])
    # per user: training rows in random order (no transition to memorise), the held-out item last
    order = np.lexsort((rng.random(all_users.size), part, all_users))
    return Interactions(all_users[order], all_items[order], n_users, n_items, rating=rating[order],
                        timestamp=np.arange(order.size), fixed_part=part[order].astype(np.uint8),
                        name="checkerboard")


def implicit_checkerboard(ctx: recbench.DatasetContext) -> Interactions:
    data = checkerboard()
    liked = data.rating == 5.0
    kept = data.take(liked)
    return Interactions(kept.user_idx, kept.item_idx, kept.n_users, kept.n_items, rating=kept.rating,
                        timestamp=np.arange(len(kept)), fixed_part=kept.fixed_part, name="checkerboard")


class _CheckerboardPlugin:
    @recbench.hookimpl
    def recbench_datasets(self) -> Iterator[recbench.DatasetSpec]:
        yield recbench.DatasetSpec(name="conformance-checkerboard", version="1", load=implicit_checkerboard,
                                   description="checkerboard known answer", default_protocol="fixed")
        yield recbench.DatasetSpec(name="conformance-checkerboard-rated", version="1",
                                   load=lambda ctx: checkerboard(), description="checkerboard with dislikes",
                                   default_protocol="fixed", feedback="explicit")


class ModelPluginTests:
    """Checks every model plugin must pass. Set ``model_name``; optionally ``config`` and ``training``.

    Attributes:
        model_name: the registered model name.
        config: model config overrides for these tests.
        training: host training overrides (e.g. fewer epochs, a larger learning rate).
        checkerboard_hit: the share of users whose held-out item must be ranked first (1.0 = all).
        beats_pop_by: the margin in ndcg@10 over ``pop`` on the small synthetic data; set to None,
            with a reason in your model's docstring, if the model cannot beat popularity.
    """

    model_name: ClassVar[str] = ""
    config: ClassVar[Mapping[str, Any]] = {}
    training: ClassVar[Mapping[str, Any]] = {}
    checkerboard_hit: ClassVar[float] = 0.95
    beats_pop_by: ClassVar[float | None] = 0.0
    _pop_cache: ClassVar[dict[str, float]] = {}

    # -- helpers -----------------------------------------------------------------------------------
    def _host(self) -> Any:
        from recbench.manager import PluginHost

        return PluginHost(extra_plugins=[("recbench.testing.checkerboard", _CheckerboardPlugin())])

    def _run(self, dataset: dict[str, Any], metrics: list[str], model: dict[str, Any] | None = None) -> Any:
        from recbench.config import sweep_from_mapping
        from recbench.runner import Runner

        with tempfile.TemporaryDirectory() as out:
            sweep = sweep_from_mapping({
                "name": "conformance", "seeds": [0], "metrics": metrics, "out": str(Path(out) / "r"),
                "datasets": [dataset],
                "models": [model or {"name": self.model_name, "config": dict(self.config),
                                     "training": dict(self.training)}],
            })
            (record,) = Runner(self._host(), sweep, progress=None).run().records
        assert record.status == "ok", f"{record.model['name']} {record.status}: {record.message}"
        return record

    def _family(self) -> str:
        return self._host().model(self.model_name).spec.family

    # -- the checks --------------------------------------------------------------------------------
    def test_is_registered_with_family_description_and_paper(self) -> None:
        from recbench.types import FAMILIES

        spec = self._host().model(self.model_name).spec
        assert spec.family in FAMILIES, f"family {spec.family!r} is not one of {FAMILIES}"
        assert spec.description and spec.version and spec.paper

    def test_ranks_a_checkerboard(self) -> None:
        dataset = "conformance-checkerboard-rated" if self._family() == "rating" else "conformance-checkerboard"
        record = self._run({"name": dataset}, ["hit@1"])
        assert record.metrics["hit@1"] >= self.checkerboard_hit, (
            f"{self.model_name} ranked the held-out liked item first for {record.metrics['hit@1']:.0%} of users")

    def test_trains_deterministically_with_decreasing_loss_and_beats_pop(self) -> None:
        dataset: dict[str, Any] = {"name": "synthetic", "params": SMALL_SYNTHETIC}
        if self._family() == "sequential":  # next-item models are tested on a next-item protocol
            dataset["protocol"] = "leave_one_out"
        first = self._run(dataset, ["ndcg@10"])
        second = self._run(dataset, ["ndcg@10"])
        assert first.metrics == second.metrics, "the same seed must give the same result"
        losses = first.training.get("losses", [])
        if self._family() != "closed_form":
            assert len(losses) >= 2 and losses[-1] < losses[0], f"loss did not decrease: {losses[:3]}...{losses[-3:]}"
        if self.beats_pop_by is not None:
            protocol = dataset.get("protocol", "default")
            if protocol not in self._pop_cache:
                self._pop_cache[protocol] = self._run(dataset, ["ndcg@10"], {"name": "pop"}).metrics["ndcg@10"]
            pop = self._pop_cache[protocol]
            assert first.metrics["ndcg@10"] > pop + self.beats_pop_by, (
                f"{self.model_name} ndcg@10 {first.metrics['ndcg@10']:.4f} vs pop {pop:.4f} ({protocol} protocol)")
