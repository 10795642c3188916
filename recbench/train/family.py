"""The contract between the host's epoch driver and a training family.

A family says how to put the training part on the device and how to draw one minibatch from it
with ``jax.random``; the host does everything else (one jitted epoch with ``lax.scan`` over steps,
the optimizer, donation, compile timing, validation, early stopping, divergence). Models of the
family implement ``loss(batch) -> scalar`` and ``score(users_B) -> scores_BxI``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from recbench.data.split import Split
from recbench.errors import TrainingError
from recbench.train.config import TrainConfig

BatchSampler = Callable[[jax.Array, jax.Array, Any], Any]
"""``sample(step_key, global_step, device_data) -> batch``: pure, jittable and vmappable over
``(step_key, global_step)`` (an epoch draws many steps' batches at once), static shapes.
``global_step`` (int32, 0-based over the whole run) lets a batch carry schedules such as KL annealing."""


@dataclass(frozen=True)
class FamilyPlan:
    """What one family contributes to a training run.

    Attributes:
        data: pytree of device arrays the sampler reads (the training part, on the device).
        sample: draws one minibatch per step.
        steps_per_epoch: scan length; an epoch is one pass over the training examples in expectation.
        examples_per_step: examples one step trains on (for examples/s).
    """

    data: Any
    sample: BatchSampler
    steps_per_epoch: int
    examples_per_step: int


def input_rows(split: Split) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(user, item, timestamp) of what models may read at inference: training rows, then fold-in rows."""
    parts = [split.train] + ([split.fold_in] if split.fold_in is not None and len(split.fold_in) else [])
    times = None
    if all(p.timestamp is not None for p in parts):
        times = np.concatenate([p.timestamp for p in parts])
    return (np.concatenate([p.user_idx for p in parts]), np.concatenate([p.item_idx for p in parts]), times)


def hand_training_part(model: Any, split: Split) -> None:
    """Give a model the training data before its epoch is compiled, if it asks for it.

    A model of a row-sampling family (pairwise, pointwise, rating) whose loss or scores need more
    than the batch keeps what it derives in non-trainable ``nnx.Variable``s, from either hook; the
    planner calls them once, here, before the host splits the model:

    * ``set_training_part(train: Interactions)``: the training part (LightGCN's normalised graph,
      AutoRec's item columns);
    * ``set_training_matrix(users_N, items_N)``: the (user, item) rows models may read at
      inference, training rows then fold-in rows (DeepCF's user rows and item columns).
    """
    part_setter = getattr(model, "set_training_part", None)
    if callable(part_setter):
        part_setter(split.train)
    matrix_setter = getattr(model, "set_training_matrix", None)
    if callable(matrix_setter):
        users, items, _ = input_rows(split)
        matrix_setter(users, items)


#: The methods a model of a family must have: closed-form models are fitted, the others trained on batches.
REQUIRED_METHODS: dict[str, tuple[str, ...]] = {"closed_form": ("fit", "score")}
TRAINED_METHODS = ("loss", "score")
_METHOD_CALLS = {"loss": "loss(batch)", "fit": "fit(train)", "score": "score(users_B)"}
_METHOD_HINTS = {
    "loss": "implement loss(batch) returning a float scalar, or declare family 'closed_form' for a model "
            "fitted by fit(train)",
    "fit": "implement fit(train), or declare the family whose batches its loss(batch) reads",
    "score": "implement score(users_B) returning scores_BxI over all items",
}


def check_methods(model: Any, family: str) -> None:
    """Refuse a model that lacks a method its family calls, before anything is planned or compiled.

    Raises:
        TrainingError: e.g. "Base declares family 'closed_form' but has no fit(train)".
    """
    for method in REQUIRED_METHODS.get(family, TRAINED_METHODS):
        if not callable(getattr(model, method, None)):
            raise TrainingError(f"{type(model).__name__} declares family {family!r} but has no "
                                f"{_METHOD_CALLS[method]}", hint=_METHOD_HINTS[method])


def check_loss_output(loss: Callable[[Any, Any, Any], Any], loss_call: str, args: tuple[Any, Any, Any],
                      model: Any, family: str) -> None:
    """Trace ``loss(*args)`` (``jax.eval_shape``: nothing runs) and refuse anything but a float scalar.

    ``args`` are ``(params, rest, batch)``, the batch one of the family's (shapes suffice). An
    AttributeError or TypeError while tracing is most often a batch of another family than the model
    reads (its spec declares the wrong family); the error names both and quotes the original.

    Raises:
        TrainingError: one line, e.g. "LossVec.loss(batch) must return a float scalar, got float32[64]".
    """
    where, batch = f"{type(model).__name__}.{loss_call}", args[2]
    try:
        value = jax.eval_shape(loss, *args)
    except (AttributeError, TypeError) as exc:
        fields = ", ".join(getattr(batch, "_fields", ()))
        raise TrainingError(
            f"{where} failed on a batch of family {family!r} ({type(batch).__name__}: {fields}): "
            f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}",
            hint=f"is {family!r} the family whose batches the model reads? Else the error is in the loss itself",
        ) from exc
    scalar = isinstance(value, jax.ShapeDtypeStruct) and value.shape == ()
    if not (scalar and jnp.issubdtype(value.dtype, jnp.floating)):
        raise TrainingError(f"{where} must return a float scalar, got {_describe(value)}",
                            hint="return one float, e.g. the mean of the per-example losses; nothing beside it")


def _describe(value: Any) -> str:
    """A traced output as an error shows it: ``int32[64]``, ``float32[]``, ``tuple (float32[], dict)``, ``None``."""
    if isinstance(value, jax.ShapeDtypeStruct):
        return f"{value.dtype}[{','.join(map(str, value.shape))}]"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__} ({', '.join(map(_describe, value))})"
    return "None" if value is None else type(value).__name__


FamilyPlanner = Callable[[Split, TrainConfig, Any], FamilyPlan]
"""``plan(split, cfg, model) -> FamilyPlan``; registered in :data:`recbench.train.loop.FAMILY_PLANNERS`."""


@dataclass(frozen=True)
class Pretraining:
    """A component a model is initialised from, trained first by the host (e.g. NeuMF's GMF and MLP).

    A model that wants pre-training implements ``pretraining() -> Mapping[str, Pretraining]`` (empty
    when it is off) and ``load_pretrained(trained: Mapping[str, Any])``, which copies the trained
    components' parameters into itself. The host trains every component with the same loop, on the
    same split, before the model's own training (:func:`pretrain`).

    Attributes:
        module: the untrained component (a model of ``family``).
        family: the component's training family.
        training: overrides of the run's training settings for this component (e.g. its optimizer).
    """

    module: Any
    family: str
    training: Mapping[str, Any] = field(default_factory=dict)


def pretrain(model: Any, split: Split, cfg: TrainConfig, seed: int,
             validator_for: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Train the model's pre-training components (if any) with the host loop, then load them into it.

    Component ``k`` (in the order the model lists them) trains with ``cfg`` updated by its
    ``training`` overrides and a sampling seed spawned from ``(seed, k)``; ``validator_for(module)``
    gives its validation function (early stopping) or None. Returns ``{name: TrainOutcome}``, empty
    when the model has no components.

    Raises:
        ConfigError: a component's training overrides are invalid.
        DivergedError: a component's loss became NaN or Inf.
    """
    from recbench.train.loop import train

    components = model.pretraining() if callable(getattr(model, "pretraining", None)) else {}
    if not components:
        return {}
    outcomes = {}
    for k, (name, component) in enumerate(components.items()):
        settings = {**cfg.to_dict(), **component.training}
        component_cfg = TrainConfig.from_mapping(settings, where=f"pre-training component {name!r} training")
        component_seed = int(np.random.SeedSequence([seed, k]).generate_state(1, np.uint32)[0])
        validate = validator_for(component.module) if validator_for is not None else None
        outcomes[name] = train(component.module, component.family, split, component_cfg, component_seed, validate)
    model.load_pretrained({name: outcome.model for name, outcome in outcomes.items()})
    return outcomes
