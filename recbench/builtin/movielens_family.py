"""MovieLens 1M, 10M, 20M, 25M and 32M in their GroupLens formats, with genres and demographics.

Downloads come from files.grouplens.org. Each zip is checked against the md5 GroupLens publishes
beside it (``<name>.zip.md5``) and, where public projects recorded them, against a pinned sha256 and
size as well (ml-10m has no sha256 pin: none was found, see docs/datasets.md). A mismatch of any pin
discards the download. Offline, the files are read from ``$RECBENCH_DATA_DIR/<name>/``.

Files whose own sha256 is known (:attr:`MovieLensRelease.file_sha256`) are also checked when they
are read, wherever they came from, and refused when they differ unless the dataset parameter
``verify = false`` is given, as ml-100k's are. Only ml-1m's ``movies.dat`` and ``users.dat`` are
pinned so: no sha256 of any other file of these releases is recorded in the shared data README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from recbench.data.files import VERIFY, ArchiveSource, check_dataset_params, locate, verify_pinned
from recbench.data.interactions import Interactions
from recbench.data.readers import read_delimited
from recbench.types import DatasetContext

_BASE = "https://files.grouplens.org/datasets/movielens"


@dataclass(frozen=True, slots=True)
class MovieLensRelease:
    """Where a release keeps its ratings and movies, how they are written, and the files' pinned sha256."""

    name: str
    ratings: str
    movies: str
    sep: str
    header: bool
    encoding: str
    source: ArchiveSource | None
    users: str | None = None
    file_sha256: Mapping[str, str] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return [self.ratings, self.movies] + ([self.users] if self.users else [])


def _zip(name: str, md5: str, prefix: str, sha256: str | None = None, size: int | None = None,
         member_sha256: Mapping[str, str] | None = None) -> ArchiveSource:
    return ArchiveSource(url=f"{_BASE}/{name}.zip", digest=md5, algorithm="md5", member_prefix=prefix,
                         sha256=sha256, size=size, member_sha256=dict(member_sha256 or {}))


#: sha256 of ML-1M's movies.dat (171,308 bytes) and users.dat (134,368 bytes), as the shared data
#: README records them (copied from amahuli00/rec_system @ 0c28a3ba2f743c02e8189ab4527d0eccbab6727f,
#: data/ml-1m/, sizes equal to the GroupLens release). ratings.dat has no sha256 there (only the git
#: blob id of a copy that was too large to fetch), so it is not pinned.
ML1M_FILES_SHA256 = {
    "movies.dat": "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9",
    "users.dat": "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3",
}


# md5: GroupLens's own, published as files.grouplens.org/datasets/movielens/<name>.zip.md5.
# sha256 and size: recorded by public projects that downloaded the zips (docs/datasets.md lists them):
#   ml-1m, ml-20m, ml-25m: tensorflow/datasets tensorflow_datasets/url_checksums/movielens.txt
#     (`URL SIZE SHA256 FILENAME`), agreeing with
#     ml-1m:  tensorflow/examples lite/examples/recommendation/ml/data/example_generation_movielens.py and
#             keras-team/keras-rs examples/sas_rec.py (MOVIELENS_ZIP_HASH);
#     ml-20m: dmbates/GroupLens.jl src/GroupLens.jl and ISG-Siegen/OmniRec
#             src/omnirec/data_loaders/movielens_large.py; size also on academictorrents.com (ml-20m.zip);
#     ml-25m: ISG-Siegen/OmniRec src/omnirec/data_loaders/movielens_large.py.
#   ml-32m: not in tensorflow_datasets; md5, sha256 and size as quoted alike by several unrelated public
#     projects found through a code-search index that does not name their repositories (weaker
#     attribution, see docs/datasets.md).
#   ml-10m: no sha256 found anywhere, so md5 only.
RELEASES = {
    "ml-1m": MovieLensRelease("ml-1m", "ratings.dat", "movies.dat", "::", False, "latin-1",
                              _zip("ml-1m", "c4d9eecfca2ab87c1945afe126590906", "ml-1m/",
                                   "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5_917_549,
                                   ML1M_FILES_SHA256),
                              users="users.dat", file_sha256=ML1M_FILES_SHA256),
    "ml-10m": MovieLensRelease("ml-10m", "ratings.dat", "movies.dat", "::", False, "utf-8",
                               _zip("ml-10m", "ce571fd55effeba0271552578f2648bd", "ml-10M100K/")),
    "ml-20m": MovieLensRelease("ml-20m", "ratings.csv", "movies.csv", ",", True, "utf-8",
                               _zip("ml-20m", "cd245b17a1ae2cc31bb14903e1204af3", "ml-20m/",
                                    "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198_702_078)),
    "ml-25m": MovieLensRelease("ml-25m", "ratings.csv", "movies.csv", ",", True, "utf-8",
                               _zip("ml-25m", "6b51fb2759a8657d3bfcbfc42b592ada", "ml-25m/",
                                    "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261_978_986)),
    "ml-32m": MovieLensRelease("ml-32m", "ratings.csv", "movies.csv", ",", True, "utf-8",
                               _zip("ml-32m", "d472be332d4daa821edc399621853b57", "ml-32m/",
                                    "e4a68655d7386b8f95f2f2424b2ff975dfdd15ffd59e0d864a14dca43e99d6ee", 238_950_008)),
}


def load_movielens(release: MovieLensRelease, ctx: DatasetContext) -> Interactions:
    """Ratings with timestamps; item features ``genres`` (multi-hot, columns sorted by name); for
    ml-1m user features ``gender``, ``age`` and ``occupation`` from users.dat.

    Raises:
        ConfigError: a parameter other than ``verify`` (accepted only by releases with pinned files),
            or a ``verify`` that is not true or false.
        DataError: a missing or malformed file, or a pinned file whose sha256 differs.
    """
    check_dataset_params(release.name, ctx.params, [VERIFY] if release.file_sha256 else [])
    folder = locate(release.name, release.files, ctx, release.source)
    fix = f"restore the GroupLens file ({_BASE}/{release.name}.zip)"
    names = ("userId", "movieId", "rating", "timestamp")
    ratings = read_delimited(folder / release.ratings, sep=release.sep, names=names, numeric=names,
                             header=release.header, encoding=release.encoding, fix=fix)
    movies = read_delimited(folder / release.movies, sep=release.sep, names=("movieId", "title", "genres"),
                            numeric=("movieId",), header=release.header, encoding=release.encoding, fix=fix)
    verify_pinned(folder, release.file_sha256, ctx, fix)  # after the reads: a malformed line is named first
    data = Interactions.from_raw(ratings["userId"].to_numpy(np.int64), ratings["movieId"].to_numpy(np.int64),
                                 timestamp=ratings["timestamp"].to_numpy(np.int64),
                                 rating=ratings["rating"].to_numpy(), name=release.name)
    genres = movies["genres"].fillna("").str.get_dummies(sep="|")
    genres = genres.drop(columns=[c for c in genres.columns if c.startswith("(no genres")], errors="ignore")
    item_rows = data.items.indices_of(movies["movieId"].to_numpy(np.int64))
    multi_hot = np.zeros((data.n_items, genres.shape[1]), np.int8)
    known = item_rows >= 0
    multi_hot[item_rows[known]] = genres.to_numpy(np.int8)[known]
    user_features: dict[str, np.ndarray] = {}
    if release.users:
        users = read_delimited(folder / release.users, sep=release.sep,
                               names=("userId", "gender", "age", "occupation", "zip"),
                               numeric=("userId", "age", "occupation"), encoding=release.encoding, fix=fix)
        rows = data.users.indices_of(users["userId"].to_numpy(np.int64))
        ok = rows >= 0
        for col, values in (("gender", (users["gender"] == "F").to_numpy(np.int32)),
                            ("age", users["age"].to_numpy(np.int32)),
                            ("occupation", users["occupation"].to_numpy(np.int32))):
            feature = np.zeros(data.n_users, np.int32)
            feature[rows[ok]] = values[ok]
            user_features[col] = feature
    return Interactions(data.user_idx, data.item_idx, data.n_users, data.n_items, timestamp=data.timestamp,
                        rating=data.rating, users=data.users, items=data.items, user_features=user_features,
                        item_features={"genres": multi_hot}, name=release.name)


