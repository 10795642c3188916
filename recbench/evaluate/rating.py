"""Rating evaluation on the device: predict held-out (user, item) ratings, return errors and RMSE/MAE.

The evaluated part's rows are laid out on the host (vectorised) as fixed-size padded batches; one
jitted ``lax.map`` calls the model's ``predict(users_B, items_B) -> ratings_B`` per batch and returns
per-interaction squared and absolute errors, then per-user RMSE and MAE by ``segment_sum`` over the
users, all on the device. Padding rows are flagged invalid and contribute nothing.

Definitions (pinned):
    RMSE = sqrt(mean over held-out interactions of (r - r_hat)^2), MAE = mean of |r - r_hat|:
    interaction-weighted, the standard of the Netflix Prize and of rating benchmarks.
    rating_accuracy@T = mean over held-out interactions of [r >= T] == [r_hat >= T]: the share of
    predictions on the right side of the threshold T (e.g. "liked" as 4+ stars on a 1-5 scale).
    Per-user RMSE_u and MAE_u use the user's own held-out rows; they are kept for confidence
    intervals and paired tests, and their mean over users is *not* the (interaction-weighted) RMSE.
    Predictions are not clipped unless the evaluator is given ``clip=(low, high)``.

Wiring it into the runner (for the lead): in ``Runner._evaluator``, when the split's test part has
ratings and the sweep asks for rating metrics (``rmse``/``mae``), build::

    width = 8192                                  # rows per batch; static
    plans = {"test": plan_rating_eval(split.test, width)}
    if len(split.valid):
        plans["valid"] = plan_rating_eval(split.valid, width)
    rating_evaluator = RatingEvaluator(plans, split.train.n_users)

and in ``Runner._run_one``, for a model with ``predict`` (``has_predict(model)``)::

    result = rating_evaluator.evaluate(trained.model, "test")
    metrics.update(result.means())                # {"rmse": ..., "mae": ...}
    store per-user values: result.users and result.per_user ({"rmse": (U,), "mae": (U,)})
    throughput: rating_evaluator.compile_seconds (compile) apart from result.seconds (steady state)

For early stopping of rating models, validate with ``lambda m: -rating_evaluator.evaluate(m,
"valid").means()["rmse"]`` (the host loop maximises the validation value).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.data.interactions import Interactions
from recbench.device_arrays import device_array
from recbench.errors import ConfigError
from recbench.evaluate.model_outputs import real_output


#: the thresholded rating accuracy metric: ``rating_accuracy@T``
ACCURACY = "rating_accuracy"


def accuracy_name(threshold: float) -> str:
    """``rating_accuracy@4`` for 4.0: the metric reference a threshold is reported under."""
    return f"{ACCURACY}@{threshold:g}"


@dataclass(frozen=True, slots=True)
class RatingPlan:
    """The rows of one evaluated part as padded device-ready batches. Shapes are static per plan.

    Attributes:
        users: int32 (U,) users with at least one row in the part, ascending.
        n_rows: number of real rows (the rest is padding).
        users_NxB, items_NxB, ratings_NxB: rows in the part's order, row-major, padded with user 0,
            item 0, rating 0.
        valid_NxB: True for real rows.
    """

    users: np.ndarray
    n_rows: int
    users_NxB: np.ndarray
    items_NxB: np.ndarray
    ratings_NxB: np.ndarray
    valid_NxB: np.ndarray

    def device_arrays(self) -> tuple[jax.Array, ...]:
        return tuple(device_array(a) for a in (self.users_NxB, self.items_NxB, self.ratings_NxB, self.valid_NxB))


def n_batch_rows(plan: RatingPlan) -> int:
    """Rows of the padded layout, real and padding."""
    return int(plan.valid_NxB.size)


def plan_rating_eval(target: Interactions, batch_rows: int = 8192) -> RatingPlan:
    """Lay out ``target``'s (user, item, rating) rows in batches of ``batch_rows`` (fewer if the part is smaller).

    Raises:
        ConfigError: the part has no ratings (the message names the dataset).
    """
    if target.rating is None:
        raise ConfigError(
            f"dataset {target.name!r} has no ratings: RMSE and MAE need explicit ratings",
            hint="use ranking metrics for implicit feedback, or a dataset with ratings (e.g. ml-100k)",
        )
    n = len(target)
    batch = int(max(1, min(batch_rows, n)))
    n_batches = max(1, -(-n // batch))

    def padded(column: np.ndarray, dtype: Any) -> np.ndarray:
        out = np.zeros(n_batches * batch, dtype=dtype)
        out[:n] = column
        return out.reshape(n_batches, batch)

    valid = np.zeros(n_batches * batch, dtype=bool)
    valid[:n] = True
    return RatingPlan(
        users=np.unique(target.user_idx).astype(np.int32),
        n_rows=n,
        users_NxB=padded(target.user_idx, np.int32),
        items_NxB=padded(target.item_idx, np.int32),
        ratings_NxB=padded(target.rating, np.float32),
        valid_NxB=valid.reshape(n_batches, batch),
    )


def pad_rating_plans(plans: Sequence[RatingPlan]) -> list[RatingPlan]:
    """Pad plans to one shape (the widest batch, the most batches) so one compiled function serves all."""
    b = max(p.users_NxB.shape[1] for p in plans)
    n = max(-(-p.users_NxB.size // b) for p in plans)

    def grow(a: np.ndarray, fill: Any) -> np.ndarray:
        flat = np.full(n * b, fill, dtype=a.dtype)
        flat[: a.size] = a.reshape(-1)
        return flat.reshape(n, b)

    return [replace(p, users_NxB=grow(p.users_NxB, 0), items_NxB=grow(p.items_NxB, 0),
                    ratings_NxB=grow(p.ratings_NxB, 0), valid_NxB=grow(p.valid_NxB, False)) for p in plans]


def has_predict(model: Any) -> bool:
    return callable(getattr(model, "predict", None))


def make_rating_fn(graphdef: Any, n_users: int, clip: tuple[float, float] | None = None,
                   thresholds: Sequence[float] = ()) -> Any:
    """A jitted ``(state, users_NxB, items_NxB, ratings_NxB, valid_NxB) -> dict`` of device arrays:

    ``squared_error_NxB``, ``absolute_error_NxB`` (0 on padding), and per user of the vocabulary
    ``rmse_U``, ``mae_U``, ``count_U`` (users without rows get count 0 and 0 errors). For each
    threshold ``t`` (static), ``agree_TxNxB`` is 1 where ``r >= t`` equals ``r_hat >= t`` (0 on
    padding) and ``accuracy_TxU`` its per-user mean.
    """
    thresholds_T = jnp.asarray(tuple(thresholds), dtype=jnp.float32).reshape(-1, 1)

    def per_batch(state: Any, batch: tuple[jax.Array, ...]) -> tuple[jax.Array, jax.Array, jax.Array]:
        users_B, items_B, ratings_B, valid_B = batch
        model = nnx.merge(graphdef, state)
        pred_B = real_output(model, "predict(users_B, items_B)", model.predict(users_B, items_B), users_B.shape,
                             "one rating per (user, item) pair, shape [B]")
        if clip is not None:
            pred_B = jnp.clip(pred_B, clip[0], clip[1])
        err_B = jnp.where(valid_B, pred_B - ratings_B, 0.0)
        agree_TxB = (pred_B[None, :] >= thresholds_T) == (ratings_B[None, :] >= thresholds_T)
        return err_B**2, jnp.abs(err_B), jnp.where(valid_B[None, :], agree_TxB, False).astype(jnp.float32)

    def run(state: Any, users_NxB: jax.Array, items_NxB: jax.Array, ratings_NxB: jax.Array,
            valid_NxB: jax.Array) -> dict[str, jax.Array]:
        sq_NxB, abs_NxB, agree_NxTxB = jax.lax.map(lambda b: per_batch(state, b),
                                                   (users_NxB, items_NxB, ratings_NxB, valid_NxB))
        users_M = users_NxB.reshape(-1)

        def per_user(values_NxB: jax.Array) -> jax.Array:
            return jax.ops.segment_sum(values_NxB.reshape(-1), users_M, num_segments=n_users)

        count_U = per_user(valid_NxB.astype(jnp.float32))
        denom_U = jnp.maximum(count_U, 1.0)
        agree_TxNxB = jnp.moveaxis(agree_NxTxB, 1, 0)
        return {"squared_error_NxB": sq_NxB, "absolute_error_NxB": abs_NxB,
                "rmse_U": jnp.sqrt(per_user(sq_NxB) / denom_U), "mae_U": per_user(abs_NxB) / denom_U,
                "count_U": count_U, "agree_TxNxB": agree_TxNxB,
                "accuracy_TxU": jax.vmap(per_user)(agree_TxNxB) / denom_U}

    return jax.jit(run)


@dataclass
class RatingResult:
    """Errors of one rating evaluation.

    Attributes:
        users: evaluated users (those with held-out rows), ascending.
        per_user: ``{"rmse": (U,), "mae": (U,)}`` aligned with ``users``.
        per_interaction: ``{"squared_error": (n,), "absolute_error": (n,)}`` in the part's row order,
            plus ``"rating_accuracy@T"``: 1.0 where the prediction falls on the right side of T.
        seconds: steady-state device time (compilation excluded).
    """

    users: np.ndarray
    per_user: dict[str, np.ndarray]
    per_interaction: dict[str, np.ndarray]
    seconds: float
    protocol: str = "rating"

    def means(self) -> dict[str, float]:
        """Interaction-weighted RMSE, MAE and thresholded accuracies (see the module docstring)."""
        sq, ab = self.per_interaction["squared_error"], self.per_interaction["absolute_error"]
        accuracies = {name: values for name, values in self.per_interaction.items() if name.startswith(ACCURACY)}
        if not sq.size:
            return {name: float("nan") for name in ("rmse", "mae", *accuracies)}
        means = {"rmse": float(np.sqrt(sq.astype(np.float64).mean())), "mae": float(ab.astype(np.float64).mean())}
        means.update({name: float(values.astype(np.float64).mean()) for name, values in accuracies.items()})
        return means


class RatingEvaluator:
    """Evaluates any model with ``predict(users_B, items_B) -> ratings_B`` on several parts, compiling once.

    Args:
        plans: e.g. ``{"valid": plan_valid, "test": plan_test}`` from :func:`plan_rating_eval`; padded
            to one shape so one compiled function serves every part.
        n_users: size of the user vocabulary (static segment count of the per-user reduction).
        clip: optional ``(low, high)`` applied to predictions (e.g. the rating scale); None: raw.
        thresholds: rating thresholds T for ``rating_accuracy@T``.
    """

    def __init__(self, plans: Mapping[str, RatingPlan], n_users: int, clip: tuple[float, float] | None = None,
                 thresholds: Sequence[float] = ()) -> None:
        names = list(plans)
        self.plans: dict[str, RatingPlan] = dict(zip(names, pad_rating_plans([plans[n] for n in names]), strict=True))
        self.device_plans = {name: p.device_arrays() for name, p in self.plans.items()}
        self.n_users = int(n_users)
        self.clip = None if clip is None else (float(clip[0]), float(clip[1]))
        self.thresholds = tuple(sorted({float(t) for t in thresholds}))
        self._compiled: dict[Any, Any] = {}
        self.compile_seconds = 0.0

    def evaluate(self, model: Any, part: str) -> RatingResult:
        if not has_predict(model):
            raise ConfigError(
                f"model {type(model).__name__} has no predict(users_B, items_B): RMSE/MAE need a rating model",
                hint="evaluate it with ranking metrics",
            )
        graphdef, state = nnx.split(model)
        plan = self.plans[part]
        arrays = self.device_plans[part]
        shapes = tuple((leaf.shape, str(leaf.dtype)) for leaf in jax.tree.leaves(state))
        key = (graphdef, shapes)
        if key not in self._compiled:
            start = time.perf_counter()
            fn = make_rating_fn(graphdef, self.n_users, self.clip, self.thresholds)
            self._compiled[key] = fn.lower(state, *arrays).compile()
            self.compile_seconds += time.perf_counter() - start
        start = time.perf_counter()
        out = jax.block_until_ready(self._compiled[key](state, *arrays))
        seconds = time.perf_counter() - start
        n = plan.n_rows
        per_interaction = {"squared_error": np.asarray(out["squared_error_NxB"]).reshape(-1)[:n],
                           "absolute_error": np.asarray(out["absolute_error_NxB"]).reshape(-1)[:n]}
        per_user = {"rmse": np.asarray(out["rmse_U"])[plan.users], "mae": np.asarray(out["mae_U"])[plan.users]}
        agree_TxM = np.asarray(out["agree_TxNxB"]).reshape(len(self.thresholds), n_batch_rows(plan))
        accuracy_TxU = np.asarray(out["accuracy_TxU"])
        for t, threshold in enumerate(self.thresholds):
            name = accuracy_name(threshold)
            per_interaction[name] = agree_TxM[t, :n]
            per_user[name] = accuracy_TxU[t][plan.users]
        return RatingResult(plan.users, per_user, per_interaction, seconds)
