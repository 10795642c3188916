"""The run record: one JSON document per run, versioned, with provenance."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
STATUSES = ("ok", "error", "diverged", "timeout")


def stable_hash(value: Any, length: int = 16) -> str:
    """sha256 prefix of a JSON-serialisable value with sorted keys."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Everything needed to trust, compare and reproduce one run.

    Attributes:
        run_key: hash of what defines the run (dataset choice, protocol, model + config, training, seed,
            metrics); re-running skips keys already completed.
        status: one of :data:`STATUSES`; only ``ok`` records carry metrics.
        dataset: name, version, params, fingerprint and sizes.
        split: protocol, version, params, seed, split_id and part sizes.
        model: name, version, family, config, config_hash, training settings.
        metrics: test metric means over evaluated users.
        validation: validation metric means of the selected (best) parameters.
        evaluation: protocol, users evaluated and excluded, the per-user values file.
        training: epochs, best epoch, why it stopped, loss curve.
        throughput: compile seconds apart from steady-state train examples/s and eval users/s, memory.
        environment: package versions, backend, device kind, host.
        plugins: distribution and version of every plugin the run used.
    """

    run_key: str
    status: str
    seed: int
    dataset: dict[str, Any]
    split: dict[str, Any]
    model: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    throughput: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    plugins: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    started_at: str = ""
    finished_at: str = ""
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, allow_nan=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
