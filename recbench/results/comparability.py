"""What a run record says about how its values were computed, read alike by the leaderboard and
``recbench compare``: values computed under different definitions are never compared."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from recbench.results.record import RunRecord


def cold_start_of(record: RunRecord) -> str | None:
    """The run's ``cold_start`` setting, from its evaluation section: ok runs made before the setting
    existed evaluated every row (``include``); failed runs record it too, except those made before that
    (None: not recorded)."""
    return record.evaluation.get("cold_start", "include" if record.status == "ok" else None)


def metric_versions_of(record: RunRecord) -> dict[str, object]:
    """``{metric: version}`` of a run (every run records them, failed ones too: ``plugins.metrics``)."""
    return {name: entry[2] if isinstance(entry, list | tuple) and len(entry) > 2 else None
            for name, entry in record.plugins.get("metrics", {}).items()}


def metric_versions_seen(records: Iterable[RunRecord], metrics: Sequence[str] | None = None) -> dict[str, set[str]]:
    """``{metric: the versions it was recorded with among records}`` for ``metrics`` (all when None)."""
    seen: dict[str, set[str]] = {}
    for record in records:
        for name, version in metric_versions_of(record).items():
            if metrics is None or name in metrics:
                seen.setdefault(name, set()).add(str(version))
    return seen
