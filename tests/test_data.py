from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recbench.builtin.movielens import ML100K_FILES_SHA256, load_ml100k
from recbench.builtin.synthetic import synthetic_interactions
from recbench.data.files import ArchiveSource, dataset_context, extract_zip, fetch_archive, file_digest
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError, DataError


def test_ml100k_counts_and_checksums(ml100k: Interactions, data_dir: Path) -> None:
    for name, digest in ML100K_FILES_SHA256.items():
        assert file_digest(data_dir / "ml-100k" / name) == digest
    assert (len(ml100k), ml100k.n_users, ml100k.n_items) == (100_000, 943, 1682)
    assert ml100k.duplicate_pair_count() == 0
    assert set(np.unique(ml100k.rating)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert ml100k.item_features["genres"].shape == (1682, 19)
    # u.item line 1: Toy Story is Animation, Children's, Comedy
    assert list(np.flatnonzero(ml100k.item_features["genres"][0])) == [3, 4, 5]
    assert ml100k.user_features["age"][0] == 24  # u.user line 1: 1|24|M|technician|85711
    # u.data line 1: 196 242 3 881250949
    row = np.flatnonzero((ml100k.user_idx == 195) & (ml100k.item_idx == 241))
    assert ml100k.rating[row[0]] == 3.0 and ml100k.timestamp[row[0]] == 881250949


def test_interactions_are_frozen_and_fingerprinted(ml100k: Interactions) -> None:
    with pytest.raises(ValueError):
        ml100k.user_idx[0] = 5
    assert ml100k.fingerprint() == ml100k.take(np.arange(len(ml100k))).fingerprint()
    assert ml100k.fingerprint() != ml100k.take(np.arange(len(ml100k) - 1)).fingerprint()


def test_synthetic_is_deterministic_and_has_popularity_skew() -> None:
    params = {"n_users": 300, "n_items": 200, "mean_per_user": 15}
    a = synthetic_interactions({**params, "seed": 3})
    b = synthetic_interactions({**params, "seed": 3})
    c = synthetic_interactions({**params, "seed": 4})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.duplicate_pair_count() == 0 and a.n_users == 300 and a.n_items == 200
    counts = np.sort(a.item_counts())[::-1]
    assert counts[:20].sum() > 5 * counts[-20:].sum()  # top decile vs bottom decile: a long tail
    with pytest.raises(ConfigError, match="unknown parameters"):
        synthetic_interactions({"n_user": 3})


def _corrupt(folder: Path, line_no: int, text: str) -> None:
    path = folder / "ml-100k" / "u.data"
    lines = path.read_text().splitlines(keepends=True)
    lines[line_no - 1] = text
    path.write_text("".join(lines))


def _load(folder: Path) -> Interactions:
    return load_ml100k(dataset_context(data_dir=folder))


def test_malformed_line_names_file_and_line(ml100k_copy: Path) -> None:
    _corrupt(ml100k_copy, 17, "1\t2\t3\n")
    with pytest.raises(DataError, match=r"u\.data:17: expected 4 tab-separated fields, found 3") as info:
        _load(ml100k_copy)
    assert info.value.hint and "restore the original" in info.value.hint


def test_extra_field_names_line(ml100k_copy: Path) -> None:
    _corrupt(ml100k_copy, 5, "1\t2\t3\t4\t5\n")
    with pytest.raises(DataError, match=r"u\.data:5: expected 4 tab-separated fields, found 5"):
        _load(ml100k_copy)


def test_non_numeric_rating_names_value(ml100k_copy: Path) -> None:
    _corrupt(ml100k_copy, 42, "196\t242\tfive\t881250949\n")
    with pytest.raises(DataError, match=r"u\.data:42: column 'rating' is not a number: 'five'"):
        _load(ml100k_copy)


def test_wrong_separator_is_reported(ml100k_copy: Path) -> None:
    path = ml100k_copy / "ml-100k" / "u.data"
    path.write_text(path.read_text().replace("\t", ","))
    with pytest.raises(DataError, match=r"u\.data:1: expected 4 tab-separated fields, found 1"):
        _load(ml100k_copy)


def test_modified_file_fails_checksum_unless_verify_false(ml100k_copy: Path) -> None:
    _corrupt(ml100k_copy, 1, "196\t242\t4\t881250949\n")  # well-formed, different value
    with pytest.raises(DataError, match="differs from the pinned"):
        _load(ml100k_copy)
    data = load_ml100k(dataset_context({"verify": False}, data_dir=ml100k_copy))
    assert len(data) == 100_000


def test_missing_files_say_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        _load(tmp_path)
    assert "u.data (missing)" in str(info.value)
    assert info.value.hint and str(tmp_path / "ml-100k") in info.value.hint and "u.item" in info.value.hint
    assert "files.grouplens.org" in info.value.hint


def _zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_download_verifies_extracts_and_loads(tmp_path: Path, data_dir: Path) -> None:
    payload = _zip_of({f"ml-100k/{n}": (data_dir / "ml-100k" / n).read_bytes() for n in ML100K_FILES_SHA256})
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(payload)
    source = ArchiveSource(url=archive.as_uri(), digest=hashlib.md5(payload).hexdigest(), algorithm="md5",
                           member_prefix="ml-100k/", member_sha256=ML100K_FILES_SHA256)
    cache = tmp_path / "cache"
    folder = fetch_archive("ml-100k", source, cache)
    assert sorted(p.name for p in folder.iterdir()) == sorted(ML100K_FILES_SHA256)
    assert [p.name for p in cache.iterdir()] == ["ml-100k"]  # no temporary leftovers
    import os

    os.environ["RECBENCH_CACHE_DIR"] = str(cache)  # restored by the autouse fixture's monkeypatch
    assert len(load_ml100k(dataset_context(data_dir=tmp_path / "nowhere"))) == 100_000


def test_download_with_wrong_checksum_is_discarded(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip_of({"x/u.data": b"1\t1\t1\t1\n"}))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="the download was discarded"):
        fetch_archive("thing", ArchiveSource(url=archive.as_uri(), digest="0" * 64), cache)
    assert list(cache.iterdir()) == []


def test_truncated_archive_leaves_nothing(tmp_path: Path) -> None:
    payload = _zip_of({"d/u.data": b"1\t1\t1\t1\n" * 1000})
    archive = tmp_path / "t.zip"
    archive.write_bytes(payload[: len(payload) // 2])
    target = tmp_path / "cache" / "d"
    with pytest.raises(DataError, match="not a complete zip archive"):
        extract_zip(archive, target)
    assert not target.exists() and list((tmp_path / "cache").iterdir()) == []


def test_archive_member_escaping_target_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip_of({"../../escape.txt": b"x"}))
    with pytest.raises(DataError, match="escapes the target directory"):
        extract_zip(archive, tmp_path / "cache" / "d")
    assert not (tmp_path / "escape.txt").exists()
