"""The benchmark's RecBole atomic-file writer: file names, header and rows as RecBole's loader reads them.

RecBole is not installed here; the expectations are RecBole's documented atomic-file format: a
tab-separated text file whose first line holds ``field:type`` column headers, one row per
interaction, and with ``benchmark_filename: [train, valid, test]`` the files
``<data_path>/<dataset>/<dataset>.<part>.inter``. The rows are read back with the csv module.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

WRITER = Path(__file__).resolve().parents[1] / "benchmarks" / "peers" / "atomic_files.py"


@pytest.fixture(scope="module")
def atomic_files():
    spec = importlib.util.spec_from_file_location("bench_atomic_files", WRITER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_back(path: Path) -> tuple[list[str], list[tuple[int, int]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, body = rows[0], rows[1:]
    assert all(len(row) == 2 for row in body), "every row has exactly two tab-separated fields"
    return header, [(int(u), int(i)) for u, i in body]


def test_split_files_hold_exactly_the_parts_pairs_in_recbole_layout(tmp_path, atomic_files):
    rng = np.random.default_rng(3)
    parts = {part: (rng.integers(0, 50_000, n).astype(np.int32), rng.integers(0, 9_000, n).astype(np.int32))
             for part, n in (("train", 1_234), ("valid", 57), ("test", 301))}
    folder = atomic_files.write_split(tmp_path, "ml_bench", parts)
    assert folder == tmp_path / "ml_bench"
    assert sorted(p.name for p in folder.iterdir()) == [
        "ml_bench.test.inter", "ml_bench.train.inter", "ml_bench.valid.inter"]
    for part, (users, items) in parts.items():
        path = folder / f"ml_bench.{part}.inter"
        header, rows = read_back(path)
        assert header == ["user_id:token", "item_id:token"]
        assert rows == list(zip(users.tolist(), items.tolist()))
        assert path.read_bytes().endswith(b"\n") and b"\r" not in path.read_bytes()


def test_empty_part_writes_only_the_header(tmp_path, atomic_files):
    empty = np.array([], np.int32)
    assert atomic_files.write_inter(tmp_path / "x.inter", empty, empty) == 0
    assert (tmp_path / "x.inter").read_text() == "user_id:token\titem_id:token\n"


def test_missing_part_and_mismatched_arrays_are_refused(tmp_path, atomic_files):
    pair = (np.array([1, 2]), np.array([3, 4]))
    with pytest.raises(ValueError, match=r"\['valid'\] missing"):
        atomic_files.write_split(tmp_path, "d", {"train": pair, "test": pair})
    with pytest.raises(ValueError, match="one length"):
        atomic_files.write_inter(tmp_path / "y.inter", np.array([1, 2, 3]), np.array([1, 2]))
