"""Parsing ``name@k`` metric references. No jax here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from recbench.errors import ConfigError

_RE = re.compile(r"^([a-z0-9][a-z0-9_.\-]*)(?:@(\d+))?$")


@dataclass(frozen=True, slots=True, order=True)
class MetricRef:
    """A metric at a cutoff: ``ndcg@10`` is ``MetricRef("ndcg", 10)``; ``k`` is None without a cutoff."""

    name: str
    k: int | None

    def __str__(self) -> str:
        return self.name if self.k is None else f"{self.name}@{self.k}"


def parse_metric(text: str) -> MetricRef:
    match = _RE.match(text.strip().lower())
    if not match:
        raise ConfigError(f"metric {text!r} is not of the form NAME or NAME@K (e.g. ndcg@10)")
    k = int(match.group(2)) if match.group(2) else None
    if k is not None and k < 1:
        raise ConfigError(f"metric {text!r}: the cutoff must be at least 1")
    return MetricRef(match.group(1), k)
