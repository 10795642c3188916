"""Leaderboard rows: which ``[[models]]`` entry, and so which row, a run record belongs to.

A sweep knows exactly which run keys each of its entries produces (:func:`recbench.run_keys.row_names`
computes them with the function the runner uses), so a record of the sweep is looked up by its
``run_key``; it is never guessed from its settings. Only records that no entry of the sweep produces
(older runs in the same result directory, runs made before a plugin's version or the sweep's metrics
changed, entries whose plugin is not installed here) fall back to matching their settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from recbench.config import ModelChoice
from recbench.results.record import RunRecord


@dataclass(frozen=True, slots=True)
class RowNames:
    """The rows of one sweep's leaderboard.

    Attributes:
        by_run_key: run key -> row (the entry's ``label``, else its model name) for every run of the
            sweep. Labels are not part of run keys, so stored records keep their keys.
        models: the sweep's ``[[models]]`` entries, for records not in ``by_run_key``.
    """

    by_run_key: Mapping[str, str] = field(default_factory=dict)
    models: Sequence[ModelChoice] = ()

    def row(self, record: RunRecord) -> str:
        """The row of ``record``.

        1. A run of the sweep: the row of the entry that produced its run key. Exact; no guessing.
        2. Any other record: the row of the most specific entry of its model (most settings) whose
           ``config`` and ``training`` settings the record has (it holds the effective ones, defaults
           merged), when exactly one row is most specific.
        3. Otherwise (no entry matches, or entries of different rows match equally): its model name.
           Such a record is never put in a labelled row it may not belong to, and never stops the
           leaderboard from rendering.
        """
        exact = self.by_run_key.get(record.run_key)
        if exact is not None:
            return exact
        return row_by_settings(record, self.models) or str(record.model.get("name"))


def row_by_settings(record: RunRecord, models: Sequence[ModelChoice]) -> str | None:
    """The row of the one most specific entry of ``record``'s model whose settings it has, else None.

    Used only for records that no entry of the sweep produced: ``{name="neumf", config={dim=8}}`` and
    ``{name="neumf", config={pretrain=true}}`` both match a record with dim 8 and pre-training, and
    only its run key tells which entry ran it.
    """
    name = str(record.model.get("name"))
    config, training = record.model.get("config", {}), record.model.get("training", {})
    matches = [m for m in models if m.name == name
               and all(k in config and config[k] == v for k, v in m.config.items())
               and all(k in training and training[k] == v for k, v in m.training.items())]
    if not matches:
        return None
    most = max(len(m.config) + len(m.training) for m in matches)
    rows = {m.label or m.name for m in matches if len(m.config) + len(m.training) == most}
    return rows.pop() if len(rows) == 1 else None
