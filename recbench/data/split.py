"""Train/valid/test splits with a content-derived ``split_id``, and their invariants."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recbench.data.interactions import Interactions
from recbench.errors import DataError

TRAIN, VALID, TEST = 0, 1, 2


@dataclass(frozen=True, slots=True, eq=False)
class Split:
    """Three disjoint parts of one dataset, made once and handed unchanged to every model.

    Attributes:
        train, valid, test: the parts, sharing the dataset's vocabularies.
        protocol, protocol_version, params, seed: how it was made.
        dataset_fingerprint: :meth:`Interactions.fingerprint` of the input.
        split_id: sha256 prefix over the inputs *and* the resulting row assignment, so two
            machines agree on the id only if they produced the same split.
    """

    train: Interactions
    valid: Interactions
    test: Interactions
    protocol: str
    protocol_version: str
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    dataset_fingerprint: str = ""
    split_id: str = ""

    def validate(self) -> None:
        """Raise DataError unless parts are disjoint and no test/valid pair is in training."""
        train_keys = self.train.pair_keys()
        for part_name, part in (("valid", self.valid), ("test", self.test)):
            leaked = np.isin(part.pair_keys(), train_keys)
            if leaked.any():
                row = int(np.flatnonzero(leaked)[0])
                raise DataError(
                    f"split {self.protocol}: {int(leaked.sum())} {part_name} pairs are also in train "
                    f"(first: user {int(part.user_idx[row])}, item {int(part.item_idx[row])}); "
                    "the dataset has duplicate (user, item) rows",
                    hint="deduplicate the dataset before splitting",
                )
        overlap = np.isin(self.test.pair_keys(), self.valid.pair_keys())
        if overlap.any():
            raise DataError(f"split {self.protocol}: {int(overlap.sum())} test pairs are also in valid")

    def describe(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "params": dict(self.params),
            "seed": self.seed,
            "split_id": self.split_id,
            "sizes": {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)},
        }


def split_from_assignment(
    data: Interactions,
    part_of_row: np.ndarray,
    *,
    protocol: str,
    protocol_version: str,
    params: Mapping[str, Any],
    seed: int,
) -> Split:
    """Build a validated :class:`Split` from a per-row part code (0 train, 1 valid, 2 test)."""
    part_of_row = np.asarray(part_of_row, dtype=np.uint8)
    if part_of_row.shape != (len(data),):
        raise DataError(f"split {protocol}: assignment has shape {part_of_row.shape}, expected ({len(data)},)")
    fingerprint = data.fingerprint()
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"protocol": protocol, "version": protocol_version, "params": dict(params), "seed": seed,
             "dataset": fingerprint},
            sort_keys=True,
            default=str,
        ).encode()
    )
    h.update(part_of_row.tobytes())
    split = Split(
        train=data.take(part_of_row == TRAIN),
        valid=data.take(part_of_row == VALID),
        test=data.take(part_of_row == TEST),
        protocol=protocol,
        protocol_version=protocol_version,
        params=dict(params),
        seed=seed,
        dataset_fingerprint=fingerprint,
        split_id=h.hexdigest()[:16],
    )
    split.validate()
    return split


def rank_within_user(user_idx: np.ndarray, sort_key: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """For each row, its 0-based rank among its user's rows ordered by ``sort_key``, and the user's count.

    Vectorised: one lexsort, no loop over users.
    """
    order = np.lexsort((sort_key, user_idx))
    counts = np.bincount(user_idx, minlength=n_users)
    starts = np.cumsum(counts) - counts
    rank_sorted = np.arange(user_idx.shape[0]) - starts[user_idx[order]]
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    return rank, counts[user_idx]
