"""Splits are made once per (dataset fingerprint, protocol, version, params, seed) and cached on disk.

The cache stores the per-row part assignment, the candidates and the split_id in
``$RECBENCH_CACHE_DIR/splits/<key>.npz`` (atomic writes). Loading rebuilds the split through
:func:`split_from_assignment`, which re-validates it and recomputes the split_id; a mismatch with the
stored id (a corrupted or foreign file) discards the entry and the split is made again.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from recbench.atomic import atomic_write_bytes
from recbench.data.files import CACHE_DIR_ENV
from recbench.data.interactions import Interactions
from recbench.data.split import CandidateSet, Split, split_from_assignment
from recbench.results.record import stable_hash
from recbench.types import SplitterSpec

#: Set to 1 to bypass the cache (always split anew).
NO_SPLIT_CACHE_ENV = "RECBENCH_NO_SPLIT_CACHE"


def split_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "recbench").expanduser() / "splits"


#: Part of every key: raised when what a cached split holds, or how it is made, changes without the
#: splitter's version (2: published candidates and order-only timestamps keyed; random_holdout's
#: fractions hashed as floats; 3: temporal's params hashed canonically), so that no machine keeps a
#: split made the old way.
CACHE_FORMAT = 3


def cache_key(data: Interactions, splitter: SplitterSpec, params: Mapping[str, Any], seed: int) -> str:
    """What the split depends on: the rows (fingerprint), the published candidates (the fingerprint
    leaves them out), whether timestamps are only an order, the protocol, its parameters and the seed."""
    return stable_hash({"format": CACHE_FORMAT, "dataset": data.fingerprint(), "candidates": data.candidates_digest(),
                        "order_only": data.timestamp_is_order, "protocol": splitter.name,
                        "version": splitter.version, "params": dict(params), "seed": seed}, length=24)


def cached_split(data: Interactions, splitter: SplitterSpec, params: Mapping[str, Any], seed: int) -> Split:
    """The split from the cache if present and intact, else made by ``splitter`` and stored."""
    if os.environ.get(NO_SPLIT_CACHE_ENV, "").strip() in {"1", "true", "yes"}:
        return splitter.split(data, params, seed)
    path = split_cache_dir() / f"{cache_key(data, splitter, params, seed)}.npz"
    loaded = _load(path, data)
    if loaded is not None:
        return loaded
    split = splitter.split(data, params, seed)
    if split.assignment is not None:
        _store(path, split)
    return split


def _store(path: Path, split: Split) -> None:
    meta = {"protocol": split.protocol, "protocol_version": split.protocol_version, "params": dict(split.params),
            "seed": split.seed, "split_id": split.split_id,
            "candidates_source": split.candidates.source if split.candidates is not None else None}
    arrays: dict[str, np.ndarray] = {"assignment": split.assignment, "meta": np.array(json.dumps(meta, default=str))}
    if split.candidates is not None:
        arrays["candidate_users"] = split.candidates.users
        arrays["candidate_items"] = split.candidates.items_UxC
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: Path, data: Interactions) -> Split | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            assignment = stored["assignment"]
            candidates = None
            if meta["candidates_source"] is not None:
                candidates = CandidateSet(stored["candidate_users"], stored["candidate_items"], meta["candidates_source"])
        split = split_from_assignment(data, assignment, protocol=meta["protocol"],
                                      protocol_version=meta["protocol_version"], params=meta["params"],
                                      seed=meta["seed"], candidates=candidates)
    except Exception:  # unreadable or inconsistent: make the split again
        path.unlink(missing_ok=True)
        return None
    if split.split_id != meta["split_id"]:
        path.unlink(missing_ok=True)
        return None
    return split
