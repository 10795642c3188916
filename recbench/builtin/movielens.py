"""MovieLens 100K from the GroupLens files ``u.data``, ``u.item`` and ``u.user``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recbench.data.files import VERIFY, ArchiveSource, check_dataset_params, locate, verify_pinned
from recbench.data.interactions import Interactions, Vocabulary
from recbench.data.readers import read_delimited
from recbench.errors import DataError
from recbench.types import DatasetContext

ML100K_FILES_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
}
#: GroupLens publishes the md5 of the zip; the zip's sha256 and size are the ones recorded in
#: tensorflow/datasets tensorflow_datasets/url_checksums/movielens.txt (the same sha256 is pinned in
#: ISG-Siegen/OmniRec src/omnirec/data_loaders/movielens_100k.py); the extracted files are then pinned
#: by sha256 above.
ML100K_SOURCE = ArchiveSource(
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    digest="0e33842e24a9c977be4e0107933c0723",
    algorithm="md5",
    member_prefix="ml-100k/",
    member_sha256=ML100K_FILES_SHA256,
    sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    size=4_924_029,
)
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
_FIX = "restore the original GroupLens file (https://files.grouplens.org/datasets/movielens/ml-100k.zip)"


def load_ml100k(ctx: DatasetContext) -> Interactions:
    """All 100,000 ratings with timestamps, item genres (multi-hot) and user demographics.

    Ids keep their GroupLens order: index = raw id - 1. Files whose sha256 differs from the pinned
    one are rejected unless ``verify=false`` is set in the dataset parameters (the fingerprint still
    tells such data apart in every record).
    """
    check_dataset_params("ml-100k", ctx.params, [VERIFY])
    folder = locate("ml-100k", list(ML100K_FILES_SHA256), ctx, ML100K_SOURCE)
    ratings = read_delimited(
        folder / "u.data", sep="\t", names=("user", "item", "rating", "timestamp"),
        numeric=("user", "item", "rating", "timestamp"), fix=_FIX,
    )
    items = read_delimited(
        folder / "u.item", sep="|", names=("item", "title", "release", "video", "url", *GENRES),
        numeric=("item", *GENRES), encoding="latin-1", fix=_FIX,
    )
    users = read_delimited(
        folder / "u.user", sep="|", names=("user", "age", "gender", "occupation", "zip"),
        numeric=("user", "age"), fix=_FIX,
    )
    verify_pinned(folder, ML100K_FILES_SHA256, ctx, _FIX)
    bad = ~ratings["rating"].between(1, 5)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{folder / 'u.data'}:{row + 1}: rating {ratings['rating'].iloc[row]!r} outside 1..5", hint=_FIX)
    n_users, n_items = int(users["user"].max()), int(items["item"].max())
    user_idx = ratings["user"].to_numpy(np.int64) - 1
    item_idx = ratings["item"].to_numpy(np.int64) - 1
    if user_idx.min() < 0 or user_idx.max() >= n_users or item_idx.min() < 0 or item_idx.max() >= n_items:
        raise DataError(f"{folder / 'u.data'}: ids outside u.user/u.item (1..{n_users}, 1..{n_items})", hint=_FIX)
    genres = np.zeros((n_items, len(GENRES)), dtype=np.int8)
    genres[items["item"].to_numpy(np.int64) - 1] = items[list(GENRES)].to_numpy(np.int8)
    user_order = users["user"].to_numpy(np.int64) - 1
    age = np.zeros(n_users, np.int32)
    age[user_order] = users["age"].to_numpy(np.int32)
    gender = np.zeros(n_users, np.int32)
    gender[user_order] = (users["gender"] == "F").to_numpy(np.int32)
    occupation = np.zeros(n_users, np.int32)
    occupation[user_order] = pd.factorize(users["occupation"], sort=True)[0]
    return Interactions(
        user_idx=user_idx,
        item_idx=item_idx,
        n_users=n_users,
        n_items=n_items,
        timestamp=ratings["timestamp"].to_numpy(np.int64),
        rating=ratings["rating"].to_numpy(),
        users=Vocabulary(np.arange(1, n_users + 1)),
        items=Vocabulary(np.arange(1, n_items + 1)),
        user_features={"age": age, "gender": gender, "occupation": occupation},
        item_features={"genres": genres},
        name="ml-100k",
    )
