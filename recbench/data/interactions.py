"""The columnar interaction table every dataset produces and every model consumes."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recbench.data.keys import count_per_index, sorted_unique
from recbench.errors import DataError


@dataclass(frozen=True, slots=True, eq=False)
class Vocabulary:
    """Raw id <-> dense index. ``raw_ids[i]`` is the raw id of index ``i``."""

    raw_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.raw_ids.shape[0])

    def indices_of(self, raw: Any) -> np.ndarray:
        """Dense indices of raw ids; -1 where unknown."""
        import pandas as pd

        return pd.Index(self.raw_ids).get_indexer(np.atleast_1d(np.asarray(raw)))


def _readonly(array: np.ndarray | None, dtype: Any) -> np.ndarray | None:
    """A read-only contiguous ``dtype`` array that no caller can write through.

    The caller's array is copied unless it is already read-only and owns its memory (how
    :func:`_handover` marks the fresh arrays this module builds, so that ``take`` and ``from_raw``
    do not copy every column twice).
    """
    if array is None:
        return None
    out = np.ascontiguousarray(array, dtype=dtype)
    if out is array and (array.flags.writeable or array.base is not None):
        out = out.copy()
    out.flags.writeable = False
    return out


def _handover(array: np.ndarray | None) -> np.ndarray | None:
    """Mark a fresh array that nothing else references as read-only, for :func:`_readonly` to adopt."""
    if array is not None and array.base is None:
        array.flags.writeable = False
    return array


def _masked_rows(mask: np.ndarray, columns: list[np.ndarray], block: int = 1 << 20) -> list[np.ndarray]:
    """``[c[mask] for c in columns]``, as fresh arrays: ~3x faster, in blocks of ``block`` rows.

    numpy's boolean indexing scans the mask again for every column; here each block's mask is
    turned into row numbers once (``np.flatnonzero``, at most ``block`` of them at a time, so
    without a full-length index array) and every column gathers them.
    """
    n_out = int(np.count_nonzero(mask))
    out = [np.empty((n_out,) + c.shape[1:], c.dtype) for c in columns]
    filled = 0
    for start in range(0, mask.shape[0], block):
        rows = np.flatnonzero(mask[start:start + block])
        if not rows.size:
            continue
        for values, dest in zip(columns, out):
            np.take(values[start:start + block], rows, axis=0, out=dest[filled:filled + rows.size])
        filled += rows.size
    return out


def _dense_codes(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(raw, return_inverse=True)``, with the inverse as int32 when it fits.

    Integer ids within a range of at most about twice their count (the usual case: MovieLens ids,
    row numbers) go through a lookup table over that range: O(n) gathers instead of a sort
    (measured on 20M ML-20M-shaped ids: 0.13-0.16 s against np.unique's 3.4 s for sorted user ids
    and 13 s for unsorted item ids). Anything else (strings, floats, sparse hashed ids) uses
    ``np.unique``.
    """
    raw = np.asarray(raw).reshape(-1)
    if raw.dtype.kind in "iu" and raw.size:
        lo, hi = int(raw.min()), int(raw.max())
        base = 0 if 0 <= lo and hi < 2 * raw.size + 65_536 else lo
        span = hi - base + 1
        if span <= 2 * raw.size + 65_536 and -(2**62) < lo and hi < 2**62:
            offset = raw if base == 0 else np.subtract(raw, base, dtype=np.int64)
            present = np.zeros(span, dtype=bool)
            present[offset] = True
            vocab = np.flatnonzero(present)
            code_of = np.cumsum(present, dtype=np.int32 if vocab.size < 2**31 else np.int64)
            code_of -= 1
            return (vocab + base).astype(raw.dtype), code_of[offset]
    vocab, inverse = np.unique(raw, return_inverse=True)
    return vocab, inverse.reshape(-1)


@dataclass(frozen=True, slots=True, eq=False)
class Interactions:
    """Frozen columnar interactions: parallel arrays, one row per (user, item) event.

    Attributes:
        user_idx: int32 user indices in ``[0, n_users)``.
        item_idx: int32 item indices in ``[0, n_items)``.
        n_users: size of the user vocabulary (users may have no rows, e.g. in a test part).
        n_items: size of the item vocabulary.
        timestamp: optional int64 seconds.
        rating: optional float32 rating or weight.
        users: optional raw-id vocabulary for users.
        items: optional raw-id vocabulary for items.
        user_features: optional per-user feature arrays (first axis n_users).
        item_features: optional per-item feature arrays (first axis n_items), e.g. multi-hot genres.
        fixed_part: optional uint8 per-row part of a split published with the data
            (0 train, 1 valid, 2 test), used by the ``fixed`` protocol.
        fixed_candidates: optional published candidate negatives ``(users_U, items_UxC)`` for the
            test part (e.g. NCF's ``test.negative``), used by the ``fixed`` protocol.
        name: the dataset's name, for messages.
        timestamp_is_order: ``timestamp`` orders each user's rows but is not a time (e.g. a row's position
            in a file without times): per-user protocols may use it, a global time cut may not.
    """

    user_idx: np.ndarray
    item_idx: np.ndarray
    n_users: int
    n_items: int
    timestamp: np.ndarray | None = None
    rating: np.ndarray | None = None
    users: Vocabulary | None = None
    items: Vocabulary | None = None
    user_features: Mapping[str, np.ndarray] = field(default_factory=dict)
    item_features: Mapping[str, np.ndarray] = field(default_factory=dict)
    fixed_part: np.ndarray | None = None
    fixed_candidates: tuple[np.ndarray, np.ndarray] | None = None
    name: str = "interactions"
    timestamp_is_order: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "user_idx", _readonly(self.user_idx, np.int32))
        set_(self, "item_idx", _readonly(self.item_idx, np.int32))
        set_(self, "timestamp", _readonly(self.timestamp, np.int64))
        set_(self, "rating", _readonly(self.rating, np.float32))
        set_(self, "fixed_part", _readonly(self.fixed_part, np.uint8))
        n = self.user_idx.shape[0]
        for col in ("item_idx", "timestamp", "rating", "fixed_part"):
            arr = getattr(self, col)
            if arr is not None and arr.shape != (n,):
                raise DataError(f"{self.name}: column {col} has shape {arr.shape}, expected ({n},)")
        if n:
            for col, bound in (("user_idx", self.n_users), ("item_idx", self.n_items)):
                arr = getattr(self, col)
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0 or hi >= bound:
                    raise DataError(f"{self.name}: {col} spans [{lo}, {hi}], outside [0, {bound})")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_raw(
        cls,
        raw_users: np.ndarray,
        raw_items: np.ndarray,
        *,
        timestamp: np.ndarray | None = None,
        rating: np.ndarray | None = None,
        name: str = "interactions",
    ) -> Interactions:
        """Build from raw ids; vocabularies are the sorted unique raw ids.

        Pass columns as they come (e.g. ``frame[col].to_numpy()``, a view): ``timestamp`` and
        ``rating`` are converted to int64/float32 here, in one copy each. Converting them first
        (``to_numpy(np.float32)``) makes a fresh array that is then copied again, because this
        class cannot know that nobody else holds it (about 0.17 CPU-s for 20M float32 ratings on
        the benchmark machine, mostly the first touch of fresh memory; see benchmarks/RESULTS.md).
        """
        user_vocab, user_idx = _dense_codes(raw_users)
        item_vocab, item_idx = _dense_codes(raw_items)
        return cls(
            user_idx=_handover(user_idx.astype(np.int32, copy=False)),
            item_idx=_handover(item_idx.astype(np.int32, copy=False)),
            n_users=len(user_vocab),
            n_items=len(item_vocab),
            timestamp=timestamp,
            rating=rating,
            users=Vocabulary(user_vocab),
            items=Vocabulary(item_vocab),
            name=name,
        )

    @classmethod
    def from_indices(
        cls,
        user_idx: np.ndarray,
        item_idx: np.ndarray,
        *,
        n_users: int | None = None,
        n_items: int | None = None,
        timestamp: np.ndarray | None = None,
        rating: np.ndarray | None = None,
        name: str = "interactions",
    ) -> Interactions:
        """Build from dense indices; sizes default to max index + 1."""
        user_idx = np.asarray(user_idx)
        item_idx = np.asarray(item_idx)
        return cls(
            user_idx=user_idx,
            item_idx=item_idx,
            n_users=int(n_users if n_users is not None else (user_idx.max() + 1 if user_idx.size else 0)),
            n_items=int(n_items if n_items is not None else (item_idx.max() + 1 if item_idx.size else 0)),
            timestamp=timestamp,
            rating=rating,
            name=name,
        )

    # -- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.user_idx.shape[0])

    def take(self, rows: np.ndarray) -> Interactions:
        """The rows selected by a boolean mask or index array; vocabularies unchanged."""
        names = ("user_idx", "item_idx", "timestamp", "rating", "fixed_part")
        columns = [getattr(self, name) for name in names]
        rows = np.asarray(rows)
        if rows.dtype == np.bool_ and rows.shape == (len(self),):
            picked = _masked_rows(rows, [c for c in columns if c is not None])
            taken = [None if c is None else picked.pop(0) for c in columns]
        else:
            taken = [None if c is None else c[rows] for c in columns]
        return replace(self, **{name: _handover(values) for name, values in zip(names, taken)})

    def pair_keys(self) -> np.ndarray:
        """int64 ``user * n_items + item``, unique per (user, item) pair (a fresh array the caller may modify)."""
        keys = self.user_idx.astype(np.int64)
        keys *= self.n_items  # in place: one int64 array, no temporaries
        keys += self.item_idx
        return keys

    def duplicate_pair_count(self) -> int:
        return len(self) - int(sorted_unique(self.pair_keys()).shape[0])

    def user_counts(self) -> np.ndarray:
        return count_per_index(self.user_idx, self.n_users)

    def item_counts(self) -> np.ndarray:
        return count_per_index(self.item_idx, self.n_items)

    @property
    def density(self) -> float:
        cells = self.n_users * self.n_items
        return len(self) / cells if cells else 0.0

    def fingerprint(self) -> str:
        """sha256 over the sizes and every array (not the vocabularies' types)."""
        h = hashlib.sha256()
        h.update(f"{self.n_users}:{self.n_items}:{len(self)}".encode())
        for col in ("user_idx", "item_idx", "timestamp", "rating", "fixed_part"):
            arr = getattr(self, col)
            if col == "fixed_part" and arr is None:
                continue  # keeps fingerprints of data without a published split unchanged
            h.update(col.encode())
            h.update(b"-" if arr is None else memoryview(arr).cast("B"))  # the bytes of tobytes(), uncopied
        return h.hexdigest()

    def candidates_digest(self) -> str | None:
        """sha256 of the published candidates (``fixed_candidates``), which :meth:`fingerprint` leaves
        out; None without them."""
        if self.fixed_candidates is None:
            return None
        h = hashlib.sha256()
        for array in self.fixed_candidates:
            array = np.ascontiguousarray(array)
            h.update(f"{array.dtype.str}{array.shape}".encode())
            h.update(memoryview(array).cast("B"))
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_interactions": len(self),
            "density": self.density,
        }
