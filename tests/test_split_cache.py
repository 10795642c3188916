from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from recbench.builtin.splitters import random_holdout
from recbench.data.split_cache import cache_key, cached_split, split_cache_dir
from recbench.types import SplitterSpec


def _counting(calls: list[int]) -> SplitterSpec:
    def split(data, params, seed):
        calls.append(seed)
        return random_holdout(data, params, seed)

    return SplitterSpec(name="random_holdout", version="1", description="", split=split)


def test_second_request_loads_the_identical_split(small_synthetic) -> None:
    calls: list[int] = []
    spec = _counting(calls)
    first = cached_split(small_synthetic, spec, {"test_fraction": 0.3}, 4)
    second = cached_split(small_synthetic, spec, {"test_fraction": 0.3}, 4)
    assert calls == [4]
    assert second.split_id == first.split_id
    assert np.array_equal(second.test.item_idx, first.test.item_idx)
    cached_split(small_synthetic, spec, {"test_fraction": 0.3}, 5)
    cached_split(small_synthetic, spec, {"test_fraction": 0.25}, 4)
    assert calls == [4, 5, 4]
    assert len(list(split_cache_dir().glob("*.npz"))) == 3


def test_corrupted_entry_is_discarded_and_remade(small_synthetic) -> None:
    calls: list[int] = []
    spec = _counting(calls)
    first = cached_split(small_synthetic, spec, {}, 1)
    path = split_cache_dir() / f"{cache_key(small_synthetic, spec, {}, 1)}.npz"
    path.write_bytes(path.read_bytes()[:100])
    again = cached_split(small_synthetic, spec, {}, 1)
    assert calls == [1, 1] and again.split_id == first.split_id


def test_split_id_is_stable_across_processes(small_synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The id hashes content, not memory: a fresh cache directory reproduces it exactly."""
    a = cached_split(small_synthetic, _counting([]), {}, 9)
    monkeypatch.setenv("RECBENCH_CACHE_DIR", str(tmp_path / "other"))
    b = cached_split(small_synthetic, _counting([]), {}, 9)
    assert a.split_id == b.split_id == random_holdout(dataclasses.replace(small_synthetic), {}, 9).split_id


def test_changed_published_candidates_are_a_new_cache_entry(small_synthetic) -> None:
    users = np.arange(5, dtype=np.int32)
    negatives = np.tile(np.arange(3, dtype=np.int32), (5, 1))
    first = dataclasses.replace(small_synthetic, fixed_candidates=(users, negatives))
    changed = dataclasses.replace(small_synthetic, fixed_candidates=(users, negatives + 1))
    assert first.fingerprint() == changed.fingerprint()  # the rows are the same
    spec = _counting([])
    assert cache_key(first, spec, {}, 0) != cache_key(changed, spec, {}, 0)
    assert cache_key(first, spec, {}, 0) == cache_key(dataclasses.replace(first), spec, {}, 0)
    assert cache_key(small_synthetic, spec, {}, 0) not in {cache_key(first, spec, {}, 0)}


def test_order_only_timestamps_are_a_new_cache_entry(small_synthetic) -> None:
    spec = _counting([])
    ordered = dataclasses.replace(small_synthetic, timestamp_is_order=True)
    assert cache_key(ordered, spec, {}, 0) != cache_key(small_synthetic, spec, {}, 0)
