"""Model builders that import their Flax module only when a run builds the model (no jax at listing)."""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from recbench.types import ModelBuilder, ModelContext


def lazy_builder(target: str, *, seeded: bool = True) -> ModelBuilder:
    """``"package.module:Class"`` -> a builder calling ``Class(n_users, n_items, [seed=...], **config)``."""
    module_name, class_name = target.split(":")

    def build(ctx: ModelContext) -> Any:
        cls = getattr(importlib.import_module(module_name), class_name)
        extra = {"seed": ctx.seed} if seeded else {}
        return cls(ctx.n_users, ctx.n_items, **extra, **ctx.config)

    build.__qualname__ = f"build[{class_name}]"
    build.lazy_target = LazyTarget(module_name, class_name, seeded)  # what sweep checks read
    return build


class LazyTarget(NamedTuple):
    """What a :func:`lazy_builder` builder constructs: ``module_name:class_name``, given ``seed`` or not."""

    module_name: str
    class_name: str
    seeded: bool
