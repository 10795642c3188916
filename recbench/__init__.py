"""recbench: benchmark recommender models on JAX with one split, one loop, one evaluator."""

from __future__ import annotations

import pluggy

from recbench.errors import ConfigError, DataError, PluginError, RecbenchError, TrainingError
from recbench.types import DatasetContext, DatasetSpec, MetricSpec, ModelContext, ModelSpec, SplitterSpec

__version__ = "0.1.0"

#: Decorator for plugin hook implementations.
hookimpl = pluggy.HookimplMarker("recbench")

__all__ = [
    "ConfigError",
    "DataError",
    "DatasetContext",
    "DatasetSpec",
    "MetricSpec",
    "ModelContext",
    "ModelSpec",
    "PluginError",
    "RecbenchError",
    "SplitterSpec",
    "TrainingError",
    "__version__",
    "hookimpl",
]
