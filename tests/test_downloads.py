"""Verified downloads of files pinned by sha256, without the network: sources are local file:// URLs."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from recbench.builtin import movielens_family as family
from recbench.builtin import public_formats as formats
from recbench.builtin.movielens import ML100K_SOURCE
from recbench.data.files import (
    ArchiveSource,
    FileSource,
    dataset_context,
    fetch_archive,
    fetch_files,
    file_digest,
    file_digests,
    github_files,
)
from recbench.errors import DataError


def _remote(tmp_path: Path, files: dict[str, bytes]) -> FileSource:
    """A folder standing in for the publisher, and a source pinning the given bytes."""
    remote = tmp_path / "remote"
    remote.mkdir()
    for name, payload in files.items():
        (remote / name).write_bytes(payload)
    return FileSource(remote.as_uri() + "/", {n: file_digest(remote / n) for n in files})


def _leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_fetch_files_verifies_and_publishes(tmp_path: Path) -> None:
    source = _remote(tmp_path, {"a.txt": b"0 1 2\n", "b.txt": b"1 3\n"})
    cache = tmp_path / "cache"
    folder = fetch_files("thing", source, cache)
    assert folder == cache / "thing" and _leftovers(cache) == ["thing"]  # no staging or temp files
    assert (folder / "a.txt").read_bytes() == b"0 1 2\n" and (folder / "b.txt").read_bytes() == b"1 3\n"


@pytest.mark.parametrize("damage", ["other bytes", "truncated"])
def test_a_file_whose_checksum_differs_is_discarded_with_the_rest(tmp_path: Path, damage: str) -> None:
    source = _remote(tmp_path, {"a.txt": b"fine\n", "b.txt": b"0 1\n" * 1000})
    b = tmp_path / "remote" / "b.txt"
    b.write_bytes(b"0 2\n" * 1000 if damage == "other bytes" else b.read_bytes()[:2001])
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"b\.txt has sha256 [0-9a-f]{64}, expected .*the download was discarded"):
        fetch_files("thing", source, cache)
    assert _leftovers(cache) == []  # a.txt was fine but is not published without b.txt


def test_a_failed_download_leaves_nothing(tmp_path: Path) -> None:
    source = _remote(tmp_path, {"a.txt": b"fine\n", "b.txt": b"x\n"})
    (tmp_path / "remote" / "b.txt").unlink()
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"download of .*b\.txt failed"):
        fetch_files("thing", source, cache)
    assert _leftovers(cache) == []


def test_files_already_present_stay_and_verified_ones_join_them(tmp_path: Path) -> None:
    source = _remote(tmp_path, {"a.txt": b"A\n", "b.txt": b"B\n"})
    (tmp_path / "cache" / "thing").mkdir(parents=True)
    (tmp_path / "cache" / "thing" / "notes.md").write_text("mine")
    folder = fetch_files("thing", source, tmp_path / "cache")
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt", "notes.md"]
    assert _leftovers(tmp_path / "cache") == ["thing"]


def test_loader_downloads_into_the_cache_then_reads_it(tmp_path: Path, data_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """lastfm-hetrec2011 end to end: the 'publisher' is a copy of the real file."""
    remote = tmp_path / "remote"
    remote.mkdir()
    shutil.copy(data_dir / "lastfm-hetrec2011" / "user_artists.dat", remote)
    monkeypatch.setitem(formats.SOURCES, "lastfm-hetrec2011",
                        FileSource(remote.as_uri() + "/", formats.LASTFM_HETREC))
    cache = tmp_path / "cache"
    monkeypatch.setenv("RECBENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("RECBENCH_OFFLINE")
    data = formats.load_lastfm_hetrec(dataset_context(data_dir=tmp_path / "empty"))
    assert (len(data), data.n_users, data.n_items) == (92_834, 1_892, 17_632)
    assert file_digest(cache / "lastfm-hetrec2011" / "user_artists.dat") == formats.LASTFM_HETREC["user_artists.dat"]
    (remote / "user_artists.dat").unlink()  # a second load reads the cache, not the network
    assert len(formats.load_lastfm_hetrec(dataset_context(data_dir=tmp_path / "empty"))) == 92_834


def test_truncated_afcfm_archive_is_discarded(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    payload = (data_dir / "ml-1m-afcfm" / "ml-1m.zip").read_bytes()
    (remote / "ml-1m.zip").write_bytes(payload[: len(payload) // 2])
    monkeypatch.setitem(formats.SOURCES, "ml-1m-afcfm", FileSource(remote.as_uri() + "/", formats.ML1M_AFCFM))
    cache = tmp_path / "cache"
    monkeypatch.setenv("RECBENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("RECBENCH_OFFLINE")
    with pytest.raises(DataError, match=r"ml-1m\.zip has sha256 .*the download was discarded"):
        formats.load_ml1m_afcfm(dataset_context(data_dir=tmp_path / "empty"))
    assert _leftovers(cache) == []


def test_offline_error_names_the_download_url(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        formats.load_amazon_video_sasrec(dataset_context(data_dir=tmp_path))
    hint = info.value.hint
    assert "https://raw.githubusercontent.com/kang205/SASRec/e3738967fddab206d6eeb4fda433e7a7034dd8b1/data/" in hint
    assert "unset RECBENCH_OFFLINE" in hint and str(tmp_path / "amazon-video-sasrec") in hint


def test_github_files_url_needs_a_full_commit() -> None:
    source = github_files("o/r", "a" * 40, "/Data/", {"x.txt": "0" * 64})
    assert source.base_url + "x.txt" == f"https://raw.githubusercontent.com/o/r/{'a' * 40}/Data/x.txt"
    with pytest.raises(ValueError, match="full commit"):
        github_files("o/r", "main", "Data", {})


def test_sources_match_the_data_readme(data_dir: Path) -> None:
    """Each download's repository, commit, folder and sha256 are the ones the data README records."""
    readme = (data_dir / "README.md").read_text()
    sections = dict(re.findall(r"^## ([\w.-]+): (.*?)(?=^## |\Z)", readme, flags=re.M | re.S))
    sources = dict(formats.SOURCES)
    sources["deepcf-lastfm"] = github_files("familyld/DeepCF", formats._DEEPCF_COMMIT, "Data", formats.DEEPCF_LASTFM)
    sources["deepcf-amusic"] = github_files("familyld/DeepCF", formats._DEEPCF_COMMIT, "Data", formats.DEEPCF_AMUSIC)
    for name, source in sources.items():
        text = sections[name]
        repo, commit, folder = re.fullmatch(
            r"https://raw\.githubusercontent\.com/([^/]+/[^/]+)/([0-9a-f]{40})/(.*)", source.base_url).groups()
        assert f"`{repo}` @ `{commit}`" in text or f"`{repo}`, **first commit** `{commit}`" in text, name
        for file, digest in source.sha256.items():
            assert re.search(rf"\| `{re.escape(file)}` \| \d+ \| `{digest}` \|", text), (name, file)
            assert f"{folder}{file}" in text or f"{folder.rstrip('/')}/{{" in text or folder.rstrip("/") in text, name


# --- archives pinned by md5 (the publisher's) and sha256 + size (recorded by others) ---------------

_RATINGS = b"userId,movieId,rating,timestamp\n1,2,3.5,100\n1,5,4.0,101\n7,2,0.5,99\n"
_MOVIES = b'movieId,title,genres\n2,"Jumanji, The (1995)",Adventure|Fantasy\n5,Father (1995),Comedy\n'


def _published_zip(tmp_path: Path, prefix: str = "ml-20m/") -> tuple[Path, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{prefix}ratings.csv", _RATINGS)
        zf.writestr(f"{prefix}movies.csv", _MOVIES)
    remote = tmp_path / "remote"
    remote.mkdir(exist_ok=True)
    (remote / "ml-20m.zip").write_bytes(buffer.getvalue())
    return remote / "ml-20m.zip", buffer.getvalue()


def _pinned(archive: Path, payload: bytes, **override: object) -> ArchiveSource:
    pins: dict[str, object] = dict(digest=hashlib.md5(payload).hexdigest(), sha256=hashlib.sha256(payload).hexdigest(),
                                   size=len(payload))
    pins.update(override)
    return ArchiveSource(url=archive.as_uri(), algorithm="md5", member_prefix="ml-20m/", **pins)  # type: ignore[arg-type]


def test_file_digests_in_one_pass_match_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    payload = bytes(range(256)) * 5000  # more than one read chunk
    path.write_bytes(payload)
    got = file_digests(path, ("md5", "sha256"))
    assert got == {"md5": hashlib.md5(payload).hexdigest(), "sha256": hashlib.sha256(payload).hexdigest()}
    assert file_digest(path, "md5") == got["md5"]


def test_archive_matching_every_pin_is_published(tmp_path: Path) -> None:
    archive, payload = _published_zip(tmp_path)
    cache = tmp_path / "cache"
    folder = fetch_archive("ml-20m", _pinned(archive, payload), cache)
    assert (folder / "ratings.csv").read_bytes() == _RATINGS and _leftovers(cache) == ["ml-20m"]


@pytest.mark.parametrize("wrong", ["sha256", "md5", "size"])
def test_archive_with_one_wrong_pin_is_discarded(tmp_path: Path, wrong: str) -> None:
    """The md5 matching is not enough when a sha256 (or size) is pinned too, and the other way round."""
    archive, payload = _published_zip(tmp_path)
    bad = {"sha256": {"sha256": "0" * 64}, "md5": {"digest": "0" * 32}, "size": {"size": len(payload) + 1}}[wrong]
    cache = tmp_path / "cache"
    expected = {"sha256": r"has sha256 [0-9a-f]{64}, expected 0{64}", "md5": r"has md5 [0-9a-f]{32}, expected 0{32}",
                "size": rf"has {len(payload)} bytes, expected {len(payload) + 1}"}[wrong]
    with pytest.raises(DataError, match=expected + "; the download was discarded") as info:
        fetch_archive("ml-20m", _pinned(archive, payload, **bad), cache)
    assert "\n" not in str(info.value) and "ml-20m.zip" in str(info.value)
    assert _leftovers(cache) == []  # neither the archive nor anything extracted stays


def test_two_different_sha256_pins_are_refused_when_the_source_is_declared(tmp_path: Path) -> None:
    archive, payload = _published_zip(tmp_path)
    digest = hashlib.sha256(payload).hexdigest()
    with pytest.raises(ValueError, match="two different sha256 pins"):
        ArchiveSource(url=archive.as_uri(), digest=digest, sha256="0" * 64)
    same = ArchiveSource(url=archive.as_uri(), digest=digest, sha256=digest.upper())
    assert same.pinned_digests == {"sha256": digest}


def test_movielens_loader_discards_a_zip_whose_md5_matches_but_sha256_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ml-20m end to end with file:// URLs: right pins load; a wrong sha256 pin beside the right md5 fails."""
    archive, payload = _published_zip(tmp_path)
    release = family.RELEASES["ml-20m"]
    cache = tmp_path / "cache"
    monkeypatch.setenv("RECBENCH_CACHE_DIR", str(cache))
    monkeypatch.delenv("RECBENCH_OFFLINE")
    ctx = dataset_context(data_dir=tmp_path / "empty")
    bad = dataclasses.replace(release, source=_pinned(archive, payload, sha256=hashlib.sha256(b"x").hexdigest()))
    with pytest.raises(DataError, match=r"ml-20m\.zip has sha256 .*the download was discarded"):
        family.load_movielens(bad, ctx)
    assert _leftovers(cache) == []
    good = dataclasses.replace(release, source=_pinned(archive, payload))
    data = family.load_movielens(good, ctx)
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2) and _leftovers(cache) == ["ml-20m"]


def test_movielens_pins() -> None:
    """md5 is GroupLens's own for every release; sha256 and size are pinned wherever a record was found."""
    sources = {name: r.source for name, r in family.RELEASES.items()} | {"ml-100k": ML100K_SOURCE}
    assert set(sources) == {"ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m"}
    for name, source in sources.items():
        assert source is not None and source.algorithm == "md5" and re.fullmatch(r"[0-9a-f]{32}", source.digest)
        assert source.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        if name == "ml-10m":  # no public record of its sha256 was found: md5 only (docs/datasets.md)
            assert source.sha256 is None and source.size is None
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", source.sha256 or "") and (source.size or 0) > 4_000_000
    assert sources["ml-32m"].member_prefix == "ml-32m/"


def test_movielens_pins_match_the_docs() -> None:
    """docs/datasets.md lists the same md5, sha256 and size for each release as the code."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    sources = {name: r.source for name, r in family.RELEASES.items()} | {"ml-100k": ML100K_SOURCE}
    for name, source in sources.items():
        assert source is not None
        size = f"{source.size:,}" if source.size else "—"
        row = rf"\| `{name}\.zip` \| {re.escape(size)} \| `{source.digest}` \| `?{source.sha256 or '—'}`? \|"
        assert re.search(row, docs), name
