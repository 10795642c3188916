"""The contract between the host's epoch driver and a training family.

A family says how to put the training part on the device and how to draw one minibatch from it
with ``jax.random``; the host does everything else (one jitted epoch with ``lax.scan`` over steps,
the optimizer, donation, compile timing, validation, early stopping, divergence). Models of the
family implement ``loss(batch) -> scalar`` and ``score(users_B) -> scores_BxI``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax

from recbench.data.split import Split
from recbench.train.config import TrainConfig

BatchSampler = Callable[[jax.Array, jax.Array, Any], Any]
"""``sample(step_key, global_step, device_data) -> batch``: pure, jittable, static shapes.
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


def hand_training_part(model: Any, split: Split) -> None:
    """Give a model the training part before its epoch is compiled, if it asks for it.

    A model of a row-sampling family (pairwise, pointwise, rating) whose loss or scores need more
    than the batch (LightGCN's normalised graph, AutoRec's item columns) implements
    ``set_training_part(train: Interactions)`` and keeps what it derives in non-trainable
    ``nnx.Variable``s; the planner calls it once, here, before the host splits the model.
    """
    setter = getattr(model, "set_training_part", None)
    if callable(setter):
        setter(split.train)


FamilyPlanner = Callable[[Split, TrainConfig, Any], FamilyPlan]
"""``plan(split, cfg, model) -> FamilyPlan``; registered in :data:`recbench.train.loop.FAMILY_PLANNERS`."""
