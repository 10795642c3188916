"""The data pipeline's fast paths give exactly what the plain numpy/pandas formulation gives.

Each fast path (per-user boundaries instead of ranks, block-wise row selection, chunked counting,
the one-sort duplicate check) is compared with an independent reference written here, on small
inputs built to hit its edge cases: block and chunk boundaries, equal sort keys, users without rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from recbench.data.interactions import Interactions, _masked_rows
from recbench.data.keys import count_per_index
from recbench.data.split import TEST, TRAIN, VALID, parts_by_rank, rank_within_user, split_from_assignment
from recbench.errors import DataError


# -- ranks and parts -----------------------------------------------------------------------------
def reference_ranks(user_idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank of each row within its user by (key, row), from Python sorting."""
    rank = np.empty(user_idx.shape[0], dtype=np.int64)
    for u in np.unique(user_idx):
        rows = np.flatnonzero(user_idx == u)
        ordered = sorted(rows.tolist(), key=lambda r: (key[r], r))
        rank[ordered] = np.arange(len(ordered))
    return rank


def _case(seed: int, key_range: int, n_users: int = 12, n_rows: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    user_idx = rng.integers(0, n_users - 2, n_rows).astype(np.int32)  # the last two users have no rows
    return user_idx, rng.integers(0, key_range, n_rows).astype(np.uint32)


@pytest.mark.parametrize("key_range", [3, 50, 2**32])
def test_rank_within_user_matches_python_sorting(key_range: int) -> None:
    user_idx, key = _case(1, key_range)
    rank, count = rank_within_user(user_idx, key, 12)
    assert np.array_equal(rank, reference_ranks(user_idx, key))
    assert np.array_equal(count, np.bincount(user_idx, minlength=12)[user_idx])
    as_float, _ = rank_within_user(user_idx, key.astype(np.float64), 12)  # the lexsort path
    assert np.array_equal(as_float, rank)


@pytest.mark.parametrize("key_range", [2, 7, 2**32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parts_by_rank_matches_ranks(key_range: int, seed: int) -> None:
    """Many equal keys (key_range 2) exercise the admission of tied rows in row order."""
    user_idx, key = _case(seed, key_range)
    count_U = np.bincount(user_idx, minlength=12)
    rng = np.random.default_rng(seed + 100)
    first_U = rng.integers(0, count_U + 1)
    second_U = rng.integers(0, count_U - first_U + 1)
    first_U[-1], second_U[-1] = 0, 0  # users without rows
    rank = reference_ranks(user_idx, key)
    want = np.full(user_idx.shape[0], TRAIN, dtype=np.uint8)
    want[rank < (first_U + second_U)[user_idx]] = VALID
    want[rank < first_U[user_idx]] = TEST
    got = parts_by_rank(user_idx, key, 12, [(TEST, first_U), (VALID, second_U)], rest=TRAIN)
    assert got.dtype == np.uint8 and np.array_equal(got, want)
    floats = parts_by_rank(user_idx, key.astype(np.float64), 12, [(TEST, first_U), (VALID, second_U)], rest=TRAIN)
    assert np.array_equal(floats, want)  # the rank path agrees


# -- selection and counting ----------------------------------------------------------------------
@pytest.mark.parametrize("block", [1, 3, 64, 1 << 20])
def test_masked_rows_equal_boolean_indexing(block: int) -> None:
    rng = np.random.default_rng(block)
    mask = rng.random(200) < 0.3
    mask[:10] = False  # an empty leading block
    columns = [rng.integers(0, 9, 200).astype(np.int32), rng.random(200), rng.random((200, 3))]
    for got, column in zip(_masked_rows(mask, columns, block=block), columns):
        assert got.dtype == column.dtype and np.array_equal(got, column[mask])


def test_take_by_mask_or_rows_gives_the_same_data() -> None:
    rng = np.random.default_rng(5)
    data = Interactions.from_indices(rng.integers(0, 20, 500), rng.integers(0, 30, 500),
                                     timestamp=rng.integers(0, 9, 500), rating=rng.random(500))
    mask = rng.random(500) < 0.5
    by_mask, by_rows = data.take(mask), data.take(np.flatnonzero(mask))
    assert by_mask.fingerprint() == by_rows.fingerprint() and len(by_mask) == int(mask.sum())
    assert not by_mask.user_idx.flags.writeable and by_mask.rating is not None
    assert np.array_equal(by_mask.timestamp, data.timestamp[mask])


@pytest.mark.parametrize("chunk", [1, 7, 1 << 18])
def test_count_per_index_equals_bincount(chunk: int) -> None:
    index = np.random.default_rng(chunk).integers(0, 40, 1000).astype(np.int32)
    assert np.array_equal(count_per_index(index, 0, chunk=chunk), np.bincount(index))
    assert np.array_equal(count_per_index(index, 50, chunk=chunk), np.bincount(index, minlength=50))


# -- the split's duplicate check -----------------------------------------------------------------
def test_duplicates_inside_one_part_pass_and_across_parts_fail() -> None:
    data = Interactions.from_indices(np.array([0, 0, 0, 1]), np.array([1, 1, 2, 0]), n_users=2, n_items=3)
    split = split_from_assignment(data, np.array([TRAIN, TRAIN, TEST, TRAIN]), protocol="p", protocol_version="1",
                                  params={}, seed=0)
    assert len(split.train) == 3
    with pytest.raises(DataError, match="1 test pairs are also in train"):
        split_from_assignment(data, np.array([TRAIN, TEST, TEST, TRAIN]), protocol="p", protocol_version="1",
                              params={}, seed=0)
