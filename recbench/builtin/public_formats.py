"""Loaders for published recommendation data in their own formats (vectorised; no loop over rows).

Each pins the sha256 of the files it reads (the figures in the data README of the release they come
from) and reads them from ``$RECBENCH_DATA_DIR/<name>/`` or the cache. Where the README records the
repository, commit and path of a pinned file, a missing file is downloaded from that commit
(verified against the pin, see :data:`SOURCES`); otherwise, and offline, the error says which files
go where.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recbench.data.files import (
    VERIFY,
    FileSource,
    boolean_param,
    check_dataset_params,
    github_files,
    locate,
    verify_pinned,
)
from recbench.data.interactions import Interactions
from recbench.data.readers import read_delimited
from recbench.data.split import TEST, TRAIN
from recbench.errors import DataError
from recbench.types import DatasetContext

ML_LATEST_SMALL = {"ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646"}
LASTFM_HETREC = {"user_artists.dat": "001400dc3c7d2667fca6e4ea6dc6acc31a9dd28ad5cd0f74cea988c019934d3b"}
AMAZON_VIDEO = {"Video.txt": "b7376fe24430743f411dc7f567285657b2adb3f74361cc7ba0aee94f3024b651"}
ML1M_AFCFM = {"ml-1m.zip": "ed6270391f0d287ead49fa12dae35cce3b778ecc9296ee7257b6f2a9b313e1da"}
GOWALLA = {
    "train.reconstructed.txt": "0f086326b28a56c2e6dcb81d86ee72d4ccb7eed3a8d26788392356d8f51111cc",
    "test.txt": "099a2a73924e4b754dc6efd730d764f492321b53c38eb93298850c83acf57be3",
}

#: Verified downloads: the repository, commit and folder the data README records for each file,
#: whose sha256 is pinned above (a download with any other bytes is discarded). Gowalla's train file
#: was rebuilt from a saved adjacency and DiffRec's arrays were unpacked from a .rar, so those two
#: have no download.
SOURCES = {
    "ml-latest-small": github_files(
        "hasstariq/Collaborative-Filltering-", "02202ae65f474026d8fedcdd87b4e7c60ef13cc4", "ml-latest-small",
        ML_LATEST_SMALL),
    "lastfm-hetrec2011": github_files(
        "Fxhj0501/Posioning-Attack-on-Recommendation-System", "a43be1e4756cd482be5a34eeeaa3bb605789ed90",
        "hetrec2011-lastfm-2k", LASTFM_HETREC),
    "amazon-video-sasrec": github_files(
        "kang205/SASRec", "e3738967fddab206d6eeb4fda433e7a7034dd8b1", "data", AMAZON_VIDEO),
    "ml-1m-afcfm": github_files(
        "TianyitheDeveloper/AFCFM", "23b798dce5d5cde51163451224cec1c13f551422", "Data", ML1M_AFCFM),
}


def _fix(origin: str) -> str:
    return f"restore the original file ({origin})"


def load_ml_latest_small(ctx: DatasetContext) -> Interactions:
    """MovieLens latest-small: ``ratings.csv`` (userId,movieId,rating,timestamp; 0.5-5.0 stars)."""
    check_dataset_params("ml-latest-small", ctx.params, [VERIFY])
    folder = locate("ml-latest-small", list(ML_LATEST_SMALL), ctx, SOURCES["ml-latest-small"])
    fix = _fix("https://files.grouplens.org/datasets/movielens/ml-latest-small.zip")
    frame = read_delimited(folder / "ratings.csv", sep=",", header=True,
                           names=("userId", "movieId", "rating", "timestamp"),
                           numeric=("userId", "movieId", "rating", "timestamp"), fix=fix)
    verify_pinned(folder, ML_LATEST_SMALL, ctx, fix)
    return Interactions.from_raw(frame["userId"].to_numpy(), frame["movieId"].to_numpy(),
                                 timestamp=frame["timestamp"].to_numpy(np.int64),
                                 rating=frame["rating"].to_numpy(np.float32), name="ml-latest-small")


def load_lastfm_hetrec(ctx: DatasetContext) -> Interactions:
    """HetRec 2011 Last.fm: ``user_artists.dat`` (userID, artistID, play-count weight). No timestamps."""
    check_dataset_params("lastfm-hetrec2011", ctx.params, [VERIFY])
    folder = locate("lastfm-hetrec2011", list(LASTFM_HETREC), ctx, SOURCES["lastfm-hetrec2011"])
    fix = _fix("hetrec2011-lastfm-2k from GroupLens")
    frame = read_delimited(folder / "user_artists.dat", sep="\t", header=True,
                           names=("userID", "artistID", "weight"), numeric=("userID", "artistID", "weight"), fix=fix)
    verify_pinned(folder, LASTFM_HETREC, ctx, fix)
    return Interactions.from_raw(frame["userID"].to_numpy(), frame["artistID"].to_numpy(),
                                 rating=frame["weight"].to_numpy(np.float32), name="lastfm-hetrec2011")


def load_amazon_video_sasrec(ctx: DatasetContext) -> Interactions:
    """SASRec's Amazon Video Games sequences: ``user item`` per line, sorted by user then time.

    The file has no timestamps; ``timestamp`` holds each row's position in the file, which orders
    every user's history in time (what leave-last-out protocols need).
    """
    check_dataset_params("amazon-video-sasrec", ctx.params, [VERIFY])
    folder = locate("amazon-video-sasrec", list(AMAZON_VIDEO), ctx, SOURCES["amazon-video-sasrec"])
    fix = _fix("kang205/SASRec data/Video.txt")
    frame = read_delimited(folder / "Video.txt", sep=" ", names=("user", "item"), numeric=("user", "item"), fix=fix)
    verify_pinned(folder, AMAZON_VIDEO, ctx, fix)
    data = Interactions.from_raw(frame["user"].to_numpy(), frame["item"].to_numpy(),
                                 timestamp=np.arange(len(frame), dtype=np.int64), name="amazon-video-sasrec")
    return dataclasses.replace(data, timestamp_is_order=True)


def _afcfm_ids(text: bytes, path: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(io.BytesIO(text), sep=",", header=None, names=("user", "item"), dtype=str)
    users = pd.to_numeric(frame["user"].str.partition("-")[0], errors="coerce")
    items = pd.to_numeric(frame["item"].str.partition("-")[0], errors="coerce")
    bad = np.flatnonzero((users.isna() | items.isna()).to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(f"{path}:{row + 1}: expected 'U-f1-f2-f3,I-g', got {frame.iloc[row].tolist()!r}")
    return users.to_numpy(np.int64), items.to_numpy(np.int64)


def load_ml1m_afcfm(ctx: DatasetContext) -> Interactions:
    """All 1,000,209 ML-1M (user, movie) pairs from AFCFM's ``ml-1m.zip`` (original MovieLens ids).

    Implicit, no ratings or timestamps. Publishes a leave-latest-one-out split (``fixed`` protocol):
    ``train.csv`` rows are train, ``test.csv`` rows (one per user) are test.
    """
    check_dataset_params("ml-1m-afcfm", ctx.params, [VERIFY])
    folder = locate("ml-1m-afcfm", list(ML1M_AFCFM), ctx, SOURCES["ml-1m-afcfm"])
    fix = _fix("TianyitheDeveloper/AFCFM Data/ml-1m.zip")
    verify_pinned(folder, ML1M_AFCFM, ctx, fix)
    try:
        with zipfile.ZipFile(folder / "ml-1m.zip") as zf:
            parts = [_afcfm_ids(zf.read(f"ml-1m/{name}.csv"), f"ml-1m.zip:ml-1m/{name}.csv") for name in ("train", "test")]
    except (zipfile.BadZipFile, KeyError, EOFError) as exc:
        raise DataError(f"{folder / 'ml-1m.zip'}: cannot read ml-1m/train.csv and test.csv ({exc})", hint=fix) from exc
    users = np.concatenate([p[0] for p in parts])
    items = np.concatenate([p[1] for p in parts])
    part = np.concatenate([np.full(len(parts[0][0]), TRAIN), np.full(len(parts[1][0]), TEST)]).astype(np.uint8)
    data = Interactions.from_raw(users, items, name="ml-1m-afcfm")
    return Interactions(data.user_idx, data.item_idx, data.n_users, data.n_items, users=data.users,
                        items=data.items, fixed_part=part, name="ml-1m-afcfm")


_LINE_BREAK = np.iinfo(np.int64).min  # stands for a newline among the parsed tokens; never a valid id


def _adjacency_lines(
    path: Path, fix: str = "correct that line, or restore the original file",
) -> tuple[np.ndarray, np.ndarray]:
    """``user item item ...`` lines to (user, item) pairs, vectorised with a line-break sentinel.

    Raises:
        DataError: naming ``path:line`` and the token when a token is not a non-negative integer.
    """
    words = path.read_text(encoding="utf-8", errors="replace").replace("\n", f" {_LINE_BREAK} ").split()
    try:
        tokens = np.array(words, dtype=np.int64)
        bad = np.flatnonzero((tokens < 0) & (tokens != _LINE_BREAK))
    except (ValueError, OverflowError):  # error path only: find the first token that is not an id
        parsed = pd.to_numeric(pd.Series(words), errors="coerce").to_numpy(np.float64)
        sentinel = np.asarray(words) == str(_LINE_BREAK)
        bad = np.flatnonzero(~sentinel & ~((parsed >= 0) & (parsed == np.floor(parsed))))
        tokens = np.where(sentinel, _LINE_BREAK, 0)
    if bad.size:
        line = int(np.count_nonzero(tokens[:bad[0]] == _LINE_BREAK)) + 1
        raise DataError(f"{path}:{line}: expected 'user item item ...' as non-negative integer ids, "
                        f"got {words[bad[0]]!r}", hint=fix)
    if not tokens.size:
        return tokens, tokens
    is_break = tokens == _LINE_BREAK
    line_of = np.cumsum(is_break) - is_break  # the line each token belongs to
    starts = np.flatnonzero(np.concatenate([[True], is_break[:-1]]) & ~is_break)
    first_of_line = np.full(int(line_of.max(initial=0)) + 1, -1, dtype=np.int64)
    first_of_line[line_of[starts]] = tokens[starts]
    is_item = ~is_break
    is_item[starts] = False
    return first_of_line[line_of[is_item]], tokens[is_item]


@dataclass(frozen=True, slots=True)
class LightGCNRelease:
    """One NGCF/LightGCN ``train.txt``/``test.txt`` dataset and what its publishers documented.

    Attributes:
        name: the dataset's recbench name (and its folder under the data directory).
        train: the training file's name (Gowalla's here is the rebuilt ``train.reconstructed.txt``).
        origin: where the original files are published, quoted when they are missing or wrong.
        counts: (users, items, train pairs, test pairs) as the publishers' logs and papers give them;
            users and items are max id + 1, as the LightGCN code counts them.
        pins: sha256 of the files, where known; without pins the counts are the only check.
    """

    name: str
    train: str
    origin: str
    counts: tuple[int, int, int, int]
    pins: dict[str, str] | None = None

    @property
    def files(self) -> list[str]:
        return [self.train, "test.txt"]


_LIGHTGCN_REPO = "the LightGCN repository's Data/{folder}/ folder (github.com/kuandeng/LightGCN)"
LIGHTGCN_RELEASES = {
    "gowalla-lightgcn": LightGCNRelease(
        "gowalla-lightgcn", "train.reconstructed.txt", "gusye1234/LightGCN-PyTorch data/gowalla",
        (29_858, 40_981, 810_128, 217_242), pins=GOWALLA),
    "yelp2018-lightgcn": LightGCNRelease(
        "yelp2018-lightgcn", "train.txt", _LIGHTGCN_REPO.format(folder="yelp2018"),
        (31_668, 38_048, 1_237_259, 324_147)),
    "amazon-book-lightgcn": LightGCNRelease(
        "amazon-book-lightgcn", "train.txt", _LIGHTGCN_REPO.format(folder="amazon-book"),
        (52_643, 91_599, 2_380_730, 603_378)),
}


def load_lightgcn(release: LightGCNRelease, ctx: DatasetContext) -> Interactions:
    """An NGCF/LightGCN dataset: ``user item item ...`` lines in the train and test files, 0-based
    remapped ids, a fixed split.

    Files with pinned sha256 are verified; all are checked against the published counts (both
    checks are skipped with the dataset parameter ``verify = false``, e.g. for a subset).

    Raises:
        DataError: a missing file (saying what to put where and where to get it), a malformed line
            (naming ``file:line``), or counts that differ from the published ones.
    """
    check_dataset_params(release.name, ctx.params, [VERIFY])
    fix = f"restore the original files from {release.origin}"
    folder = locate(release.name, release.files, ctx, None, origin=release.origin)
    if release.pins:
        verify_pinned(folder, release.pins, ctx, fix)
    train_u, train_i = _adjacency_lines(folder / release.train, fix)
    test_u, test_i = _adjacency_lines(folder / "test.txt", fix)
    users = np.concatenate([train_u, test_u])
    items = np.concatenate([train_i, test_i])
    if not users.size:
        raise DataError(f"{folder}: {release.train} and test.txt hold no (user, item) pairs", hint=fix)
    got = (int(users.max()) + 1, int(items.max()) + 1, int(train_u.size), int(test_u.size))
    if got != release.counts and boolean_param(release.name, ctx.params, VERIFY):
        labels = ("users", "items", "train pairs", "test pairs")
        differ = ", ".join(f"{label} {g:,} (published {e:,})"
                           for label, g, e in zip(labels, got, release.counts, strict=True) if g != e)
        raise DataError(f"{folder}: {release.train}/test.txt do not match the published {release.name}: {differ}",
                        hint=f"{fix}, or set verify=false in the dataset parameters to use a modified copy")
    part = np.concatenate([np.full(train_u.size, TRAIN), np.full(test_u.size, TEST)]).astype(np.uint8)
    return Interactions(users, items, got[0], got[1], fixed_part=part, name=release.name)


def load_gowalla_lightgcn(ctx: DatasetContext) -> Interactions:
    """Gowalla as used by NGCF/LightGCN: ``train.txt``-format lines (here the rebuilt
    ``train.reconstructed.txt``) and ``test.txt``; sha256-pinned."""
    return load_lightgcn(LIGHTGCN_RELEASES["gowalla-lightgcn"], ctx)


def load_yelp2018_lightgcn(ctx: DatasetContext) -> Interactions:
    """Yelp2018 as split by NGCF/LightGCN; not downloaded and not sha-pinned: checked by its counts."""
    return load_lightgcn(LIGHTGCN_RELEASES["yelp2018-lightgcn"], ctx)


def load_amazon_book_lightgcn(ctx: DatasetContext) -> Interactions:
    """Amazon-book as split by NGCF/LightGCN; not downloaded and not sha-pinned: checked by its counts."""
    return load_lightgcn(LIGHTGCN_RELEASES["amazon-book-lightgcn"], ctx)


DEEPCF_LASTFM = {
    "lastfm.train.rating": "aa286fd070b5063ccdb3ef847b64c927e83dbc961d8804fa8454dd8964dc6662",
    "lastfm.test.rating": "1bbe3bddddaf7c49d6c3ed204bda72d97545ce1acf98c0e0c7234aff9fcb5ce0",
    "lastfm.test.negative": "331f05638d7a786f59dc33f346318018224bdb24a91a5d0444dcdbf24bf9498d",
}
DEEPCF_AMUSIC = {
    "AMusic.train.rating": "7e7aa977b152a99e706c581f8feaa73a9c490b3c9f88b81a0aa1da3272bd3a98",
    "AMusic.test.rating": "e6d556349b628eaeae94170a96e183db899e1947664bb17dbe30c31962b5def1",
    "AMusic.test.negative": "a490e1666b38ee0cf0396b8723bc1ffc119b3cfa070a7b4b1165ec9b6ed07ce1",
}


def read_ncf_negatives(path: Path, fix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NCF ``.test.negative``: ``(user,item)`` then the negatives, tab-separated, one line per user.

    Returns (users_U, positives_U, negatives_UxC).
    """
    try:
        frame = pd.read_csv(path, sep="\t", header=None, dtype={0: str})
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: lines must have the same number of tab-separated fields ({exc})", hint=fix) from exc
    pair = frame[0].str.extract(r"^\((\d+),(\d+)\)$")
    bad = np.flatnonzero(pair.isna().any(axis=1).to_numpy())
    if bad.size:
        raise DataError(f"{path}:{int(bad[0]) + 1}: expected '(user,item)' first, got {frame[0].iloc[int(bad[0])]!r}", hint=fix)
    negatives = frame.iloc[:, 1:]
    if not all(dtype.kind in "iu" for dtype in negatives.dtypes):
        bad_rows = negatives.apply(pd.to_numeric, errors="coerce").isna().any(axis=1).to_numpy()
        row = int(np.flatnonzero(bad_rows)[0]) if bad_rows.any() else 0
        raise DataError(f"{path}:{row + 1}: every line needs the same number of integer negatives", hint=fix)
    return pair[0].to_numpy(np.int64), pair[1].to_numpy(np.int64), negatives.to_numpy(np.int64)


_DEEPCF_COMMIT = "0d91a5ddacde4ec6de16972cb7f22a74c7c9e1a8"


def load_ncf_format(ctx: DatasetContext, name: str, prefix: str, pins: dict[str, str], origin: str,
                    source: FileSource | None = None) -> Interactions:
    """NCF/DeepCF release: ``PREFIX.train.rating``, ``PREFIX.test.rating`` (``user item value [timestamp]``,
    0-based ids) and ``PREFIX.test.negative`` (published candidates); a fixed split with fixed candidates.
    ``value`` (a rating or a play count) is kept as ``rating``."""
    check_dataset_params(name, ctx.params, [VERIFY])
    folder = locate(name, list(pins), ctx, source)
    fix = _fix(origin)
    parts = []
    for part in ("train", "test"):
        path = folder / f"{prefix}.{part}.rating"
        frame = read_delimited(path, sep="\t", names=("user", "item", "value"), numeric=("user", "item", "value"),
                               fix=fix) if _field_count(path) == 3 else read_delimited(
            path, sep="\t", names=("user", "item", "value", "timestamp"), numeric=("user", "item", "value", "timestamp"),
            fix=fix)
        parts.append(frame)
    users_U, positives_U, negatives_UxC = read_ncf_negatives(folder / f"{prefix}.test.negative", fix)
    verify_pinned(folder, pins, ctx, fix)
    users = np.concatenate([p["user"].to_numpy(np.int64) for p in parts])
    items = np.concatenate([p["item"].to_numpy(np.int64) for p in parts])
    part = np.concatenate([np.full(len(parts[0]), TRAIN), np.full(len(parts[1]), TEST)]).astype(np.uint8)
    n_items = int(max(items.max(), negatives_UxC.max())) + 1
    timestamp = None
    if all("timestamp" in p for p in parts):
        timestamp = np.concatenate([p["timestamp"].to_numpy(np.int64) for p in parts])
    return Interactions(
        users, items, int(users.max()) + 1, n_items, timestamp=timestamp,
        rating=np.concatenate([p["value"].to_numpy(np.float32) for p in parts]),
        fixed_part=part, fixed_candidates=(users_U, negatives_UxC), name=name,
    )


def _field_count(path: Path) -> int:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return len(fh.readline().rstrip("\r\n").split("\t"))


def load_deepcf_lastfm(ctx: DatasetContext) -> Interactions:
    return load_ncf_format(ctx, "deepcf-lastfm", "lastfm", DEEPCF_LASTFM, "familyld/DeepCF Data/lastfm.*",
                           github_files("familyld/DeepCF", _DEEPCF_COMMIT, "Data", DEEPCF_LASTFM))


def load_deepcf_amusic(ctx: DatasetContext) -> Interactions:
    return load_ncf_format(ctx, "deepcf-amusic", "AMusic", DEEPCF_AMUSIC, "familyld/DeepCF Data/AMusic.*",
                           github_files("familyld/DeepCF", _DEEPCF_COMMIT, "Data", DEEPCF_AMUSIC))


ML1M_DIFFREC = {
    "ml-1m_clean/train_list.npy": "b39010ebf49c1159c71b5a44a2a45081f01c3f653f4221027fef2721cc0b0523",
    "ml-1m_clean/valid_list.npy": "93f795d0a8439bb07e644d7e69679a2c1799684bf4b19d10bd415d80a05681b2",
    "ml-1m_clean/test_list.npy": "645010f80c5a4e7b35f154587acacb596cdf3b2502531a7c71e3a8ae020c06c9",
}


def load_ml1m_diffrec(ctx: DatasetContext) -> Interactions:
    """DiffRec's clean ML-1M: ``{train,valid,test}_list.npy`` int64 (n, 2) ``[user, item]``; a fixed
    temporal train/valid/test split with 0-based remapped ids."""
    check_dataset_params("ml-1m-diffrec", ctx.params, [VERIFY])
    folder = locate("ml-1m-diffrec", list(ML1M_DIFFREC), ctx, None)
    fix = _fix("YiyanXu/DiffRec datasets/ml-1m_clean.rar")
    verify_pinned(folder, ML1M_DIFFREC, ctx, fix)
    arrays = []
    for name in ML1M_DIFFREC:
        try:
            arr = np.load(folder / name, allow_pickle=False)
        except ValueError as exc:
            raise DataError(f"{folder / name}: not a plain .npy array ({exc})", hint=fix) from exc
        if arr.ndim != 2 or arr.shape[1] != 2 or arr.dtype.kind not in "iu":
            raise DataError(f"{folder / name}: expected an integer array of shape (n, 2), got {arr.dtype} {arr.shape}", hint=fix)
        arrays.append(arr)
    pairs = np.concatenate(arrays)
    part = np.concatenate([np.full(a.shape[0], code) for a, code in zip(arrays, (TRAIN, 1, TEST), strict=True)])
    return Interactions(pairs[:, 0], pairs[:, 1], int(pairs[:, 0].max()) + 1, int(pairs[:, 1].max()) + 1,
                        fixed_part=part.astype(np.uint8), name="ml-1m-diffrec")
