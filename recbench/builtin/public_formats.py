"""Loaders for published recommendation data in their own formats (vectorised; no loop over rows).

Each pins the sha256 of the files it reads (the figures in the data README of the release they come
from) and reads them from ``$RECBENCH_DATA_DIR/<name>/`` or the cache. These sources are research
repositories without a stable download URL, so offline placement is the way in; the error says
which files go where.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from recbench.data.files import file_digest, locate, verify_pinned
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


def _fix(origin: str) -> str:
    return f"restore the original file ({origin})"


def load_ml_latest_small(ctx: DatasetContext) -> Interactions:
    """MovieLens latest-small: ``ratings.csv`` (userId,movieId,rating,timestamp; 0.5-5.0 stars)."""
    folder = locate("ml-latest-small", list(ML_LATEST_SMALL), ctx, None)
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
    folder = locate("lastfm-hetrec2011", list(LASTFM_HETREC), ctx, None)
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
    folder = locate("amazon-video-sasrec", list(AMAZON_VIDEO), ctx, None)
    fix = _fix("kang205/SASRec data/Video.txt")
    frame = read_delimited(folder / "Video.txt", sep=" ", names=("user", "item"), numeric=("user", "item"), fix=fix)
    verify_pinned(folder, AMAZON_VIDEO, ctx, fix)
    return Interactions.from_raw(frame["user"].to_numpy(), frame["item"].to_numpy(),
                                 timestamp=np.arange(len(frame), dtype=np.int64), name="amazon-video-sasrec")


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
    folder = locate("ml-1m-afcfm", list(ML1M_AFCFM), ctx, None)
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


def _adjacency_lines(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``user item item ...`` lines to (user, item) pairs, vectorised with a line-break sentinel."""
    text = path.read_text().replace("\n", " -1 ")
    try:
        tokens = np.array(text.split(), dtype=np.int64)
    except ValueError as exc:
        raise DataError(f"{path}: expected whitespace-separated integer ids ({exc})") from exc
    is_break = tokens == -1
    line_of = np.cumsum(is_break) - is_break  # the line each token belongs to
    starts = np.flatnonzero(np.concatenate([[True], is_break[:-1]]) & ~is_break)
    first_of_line = np.full(int(line_of.max(initial=0)) + 1, -1, dtype=np.int64)
    first_of_line[line_of[starts]] = tokens[starts]
    is_item = ~is_break
    is_item[starts] = False
    return first_of_line[line_of[is_item]], tokens[is_item]


def load_gowalla_lightgcn(ctx: DatasetContext) -> Interactions:
    """Gowalla as used by NGCF/LightGCN: ``train.txt``-format lines (here the rebuilt
    ``train.reconstructed.txt``) and ``test.txt``; 0-based remapped ids; a fixed split."""
    folder = locate("gowalla-lightgcn", list(GOWALLA), ctx, None)
    verify_pinned(folder, GOWALLA, ctx, _fix("gusye1234/LightGCN-PyTorch data/gowalla"))
    train_u, train_i = _adjacency_lines(folder / "train.reconstructed.txt")
    test_u, test_i = _adjacency_lines(folder / "test.txt")
    users = np.concatenate([train_u, test_u])
    items = np.concatenate([train_i, test_i])
    part = np.concatenate([np.full(train_u.size, TRAIN), np.full(test_u.size, TEST)]).astype(np.uint8)
    return Interactions(users, items, int(users.max()) + 1, int(items.max()) + 1, fixed_part=part,
                        name="gowalla-lightgcn")


__all__ = ["file_digest", "load_amazon_video_sasrec", "load_gowalla_lightgcn", "load_lastfm_hetrec",
           "load_ml1m_afcfm", "load_ml_latest_small"]
