"""A result store on disk: one JSON record and one per-user ``.npz`` per run, written atomically.

Layout::

    OUT/records/<run_key>.json     the run record
    OUT/per_user/<run_key>.npz     users and per-user metric values (test), for significance tests
    OUT/leaderboard.md             the rendered table

Writes go to a temporary file in the same directory and are renamed into place, so a crash or
``kill -9`` leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from recbench.atomic import atomic_write_bytes
from recbench.errors import DataError
from recbench.results.record import RunRecord


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.records_dir = self.root / "records"
        self.per_user_dir = self.root / "per_user"

    def record_path(self, run_key: str) -> Path:
        return self.records_dir / f"{run_key}.json"

    def write(self, record: RunRecord, users: np.ndarray | None = None,
              per_user: Mapping[str, np.ndarray] | None = None) -> None:
        """Write the per-user values first, then the record that points at them."""
        if per_user:
            import io

            buffer = io.BytesIO()
            np.savez_compressed(buffer, users=users, **{k.replace("@", "_at_"): v for k, v in per_user.items()})
            atomic_write_bytes(self.per_user_dir / f"{record.run_key}.npz", buffer.getvalue())
        atomic_write_bytes(self.record_path(record.run_key), record.to_json().encode())

    def completed(self, run_key: str) -> bool:
        return self.completed_on(run_key) is not None

    def completed_on(self, run_key: str) -> dict[str, str | None] | None:
        """What a completed (``ok``) run's data was: its ``fingerprint`` and ``candidates_digest`` (None
        where the record has none); None when the run is not completed."""
        path = self.record_path(run_key)
        if not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if record.get("status") != "ok":
            return None
        dataset = record.get("dataset", {})
        return {"fingerprint": dataset.get("fingerprint"), "candidates_digest": dataset.get("candidates_digest")}

    def records(self) -> Iterator[RunRecord]:
        if not self.records_dir.is_dir():
            return
        for path in sorted(self.records_dir.glob("*.json")):
            try:
                yield RunRecord.from_dict(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError, TypeError) as exc:
                raise DataError(f"{path}: not a readable run record ({exc})", hint="delete or restore that file") from exc

    def load_per_user(self, run_key: str) -> dict[str, np.ndarray]:
        """The run's per-user values ({metric: values, "users": ...}).

        Raises:
            DataError: the file is missing or unreadable (naming it).
        """
        path = self.per_user_dir / f"{run_key}.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k.replace("_at_", "@"): data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: per-user values missing or unreadable ({exc})",
                            hint="re-run that model with --rerun, or merge the store with its per_user/ folder") from exc


def merge_stores(target: Path, sources: list[Path]) -> tuple[int, int]:
    """Copy records (and per-user files) of ``sources`` into ``target``; returns (copied, kept).

    A run already completed (``ok``) in the target is kept; otherwise an ``ok`` record from a source
    replaces a failed one. Writes are atomic, so an interrupted merge can simply be repeated.
    """
    out = ResultStore(target)
    copied = kept = 0
    for source in sources:
        store = ResultStore(source)
        for record in store.records():
            if out.completed(record.run_key) or (out.record_path(record.run_key).is_file() and record.status != "ok"):
                kept += 1
                continue
            per_user = store.per_user_dir / f"{record.run_key}.npz"
            if per_user.is_file():
                atomic_write_bytes(out.per_user_dir / per_user.name, per_user.read_bytes())
            atomic_write_bytes(out.record_path(record.run_key), record.to_json().encode())
            copied += 1
    return copied, kept
