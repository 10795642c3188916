"""All evaluations of one split: the ranking evaluator and, for rating metrics, the rating evaluator.

Built once per split and shared by every model of that split, so every model is evaluated on the
identical plans. Per-user values of both are merged over the union of their users (NaN where a user
has no value for a metric), which is what the result store keeps for significance tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recbench.data.interactions import Interactions
from recbench.data.split import Split
from recbench.errors import ConfigError, DataError, DivergedError
from recbench.evaluate.metric_names import MetricRef, parse_metric
from recbench.types import MetricSpec


@dataclass
class SuiteResult:
    means: dict[str, float]
    users: np.ndarray
    per_user: dict[str, np.ndarray]
    protocol: str
    seconds: float
    n_users: int
    n_users_without_targets: int
    rating_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _merge_users(parts: Sequence[tuple[np.ndarray, dict[str, np.ndarray]]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    users = np.unique(np.concatenate([u for u, _ in parts])) if parts else np.zeros(0, np.int32)
    merged: dict[str, np.ndarray] = {}
    for part_users, values in parts:
        pos = np.searchsorted(users, part_users)
        for name, vals in values.items():
            column = np.full(users.shape, np.nan, dtype=np.float64)
            column[pos] = vals
            merged[name] = column
    return users, merged


class EvaluationSuite:
    """Ranking metrics through :class:`RankingEvaluator`, rating metrics (kind ``rating``) through
    :class:`RatingEvaluator` for models with ``predict``. ``reported`` (default: all of ``metrics``)
    are the metrics :meth:`evaluate` returns; the others are there for :meth:`validator`."""

    def __init__(self, split: Split, metrics: Mapping[MetricRef, MetricSpec], valid: Interactions,
                 test: Interactions, reported: Sequence[MetricRef] | None = None) -> None:
        from recbench.evaluate.ranking import RankingEvaluator, batch_width, plan_ranking

        if not len(test):
            raise DataError(f"split {split.protocol} ({split.split_id}) has an empty test part")
        self.metrics = dict(metrics)
        #: what :meth:`evaluate` returns; the other metrics serve :meth:`validator` only (early stopping)
        self.reported = {str(r) for r in (metrics if reported is None else reported)}
        self.ranking_refs = {r: s for r, s in metrics.items() if s.kind != "rating"}
        self.rating_refs = {r: s for r, s in metrics.items() if s.kind == "rating"}
        fold_in = [split.fold_in] if split.fold_in is not None else []
        self.ranking = None
        if self.ranking_refs:
            width = batch_width([p for p in (valid, test) if len(p)])
            plans = {"test": plan_ranking(test, [split.train, split.valid, *fold_in], width, split.candidates)}
            if len(valid):
                plans["valid"] = plan_ranking(valid, [split.train, *fold_in], width)
            self.ranking = RankingEvaluator(plans, split.train.n_items, self.ranking_refs,
                                            split.train.item_counts(), int((split.train.user_counts() > 0).sum()))
        self.rating = None
        if self.rating_refs:
            from recbench.evaluate.rating import ACCURACY, RatingEvaluator, plan_rating_eval

            if test.rating is None:
                raise ConfigError(f"rating metrics {sorted(map(str, self.rating_refs))} need ratings; "
                                  f"the dataset {test.name!r} has none", hint="ask for ranking metrics instead")
            rating_plans = {"test": plan_rating_eval(test)}
            if len(valid):
                rating_plans["valid"] = plan_rating_eval(valid)
            thresholds = [r.k for r in self.rating_refs if r.name == ACCURACY]
            self.rating = RatingEvaluator(rating_plans, split.train.n_users, thresholds=thresholds)
        self.has_valid = len(valid) > 0
        #: whether :meth:`evaluate` ranks (a ranking metric is reported, not only stopped on)
        self.reports_ranking = self.ranking is not None and bool(self.reported & set(map(str, self.ranking_refs)))
        from recbench.data.info import split_info

        #: held-out users/items unseen in training, counted once per split for every record
        self.cold_counts = {k: v for k, v in split_info(split).items() if "cold" in k}

    @property
    def compile_seconds(self) -> float:
        return sum(e.compile_seconds for e in (self.ranking, self.rating) if e is not None)

    def validator(self, metric: str, model: Any) -> Any:
        """A function model -> value to maximise on the validation part (negated for metrics where
        lower is better), or None when there is no validation part or the metric is not evaluated."""
        refs = {str(r): s for r, s in self.metrics.items()}
        metric = str(parse_metric(metric))  # as the sweep names it: NDCG@10 is ndcg@10
        if not self.has_valid or metric not in refs:
            return None
        spec = refs[metric]
        sign = 1.0 if spec.higher_is_better else -1.0
        if spec.kind == "rating":
            if not _predicts(model):
                return None
            return lambda m: sign * self.rating.evaluate(m, "valid").means()[metric]
        return lambda m: sign * self._ranking(m, "valid").means()[metric]

    def _ranking(self, model: Any, part: str) -> Any:
        """The ranking evaluator's result, refused (:class:`DivergedError`) if ``model`` scored a
        candidate item of an evaluated user NaN or infinite: the run diverged, its ranking means nothing."""
        result = self.ranking.evaluate(model, part)
        flagged = result.non_finite_scores
        users = int(np.count_nonzero(flagged))
        if users:
            raise DivergedError(
                f"model {type(model).__name__} scored candidate items NaN or infinite for {users:,} of "
                f"{flagged.size:,} users on the {part} part; the run is recorded as diverged, not ranked",
                hint="lower the learning rate or raise regularisation; a model must score every item finitely")
        return result

    def evaluate(self, model: Any, part: str) -> SuiteResult:
        parts, means = [], {}
        protocol = "full_ranking" if self.reports_ranking else "rating"
        seconds, n_users, n_without, rating_seconds = 0.0, 0, 0, 0.0
        if self.reports_ranking and part in self.ranking.plans:
            result = self._ranking(model, part)
            parts.append((result.users, result.per_user))
            means.update(result.means())
            protocol, seconds = result.protocol, result.seconds
            n_users, n_without = int(result.users.shape[0]), result.n_users_without_targets
        if self.rating is not None and part in self.rating.plans and _predicts(model):
            rating = self.rating.evaluate(model, part)
            wanted = {str(r) for r in self.rating_refs}
            means.update({k: v for k, v in rating.means().items() if k in wanted})
            parts.append((rating.users, {k: v for k, v in rating.per_user.items() if k in wanted}))
            rating_seconds = rating.seconds
            n_users = n_users or int(rating.users.shape[0])
        users, per_user = _merge_users(parts)
        means = {k: v for k, v in means.items() if k in self.reported}
        per_user = {k: v for k, v in per_user.items() if k in self.reported}
        return SuiteResult(means, users, per_user, protocol, seconds, n_users, n_without, rating_seconds)


def _predicts(model: Any) -> bool:
    from recbench.evaluate.rating import has_predict

    return has_predict(model)
