"""MovieLens 1M-32M loaders on files in the GroupLens formats. The shared data has ML-1M's real
movies.dat and users.dat but no ratings.dat, so ratings.dat is written here from the real ML-1M
pairs of ml-1m-afcfm (original ids) with made-up ratings and timestamps."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recbench.builtin.movielens_family import RELEASES, load_movielens
from recbench.data.files import dataset_context
from recbench.errors import DataError


def _ml1m_pairs(data_dir: Path) -> np.ndarray:
    with zipfile.ZipFile(data_dir / "ml-1m-afcfm" / "ml-1m.zip") as zf:
        text = zf.read("ml-1m/train.csv").decode() + zf.read("ml-1m/test.csv").decode()
    fields = np.array(text.replace(",", "-").split(), dtype=object)
    parts = np.array([f.split("-") for f in fields[:5000]], dtype=object)  # a sample is enough
    return np.array([[int(p[0]), int(p[4])] for p in parts])


def test_ml1m_with_real_metadata(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    for name in ("movies.dat", "users.dat"):
        shutil.copy(data_dir / "ml-1m" / name, folder / name)
    pairs = _ml1m_pairs(data_dir)
    lines = [f"{u}::{m}::{1 + (u + m) % 5}::{978300000 + i}" for i, (u, m) in enumerate(pairs)]
    (folder / "ratings.dat").write_text("\n".join(lines) + "\n", encoding="latin-1")
    data = load_movielens(RELEASES["ml-1m"], dataset_context(data_dir=tmp_path))
    assert len(data) == len(pairs) and data.n_users == len(np.unique(pairs[:, 0]))
    toy_story = data.items.indices_of([1])[0]  # movies.dat line 1: Animation|Children's|Comedy
    assert toy_story >= 0 and data.item_features["genres"][toy_story].sum() == 3
    assert data.item_features["genres"].shape[1] == 18
    first = data.users.indices_of([1])[0]  # users.dat line 1: 1::F::1::10::48067
    assert (data.user_features["gender"][first], data.user_features["age"][first],
            data.user_features["occupation"][first]) == (1, 1, 10)


@pytest.mark.parametrize("name", ["ml-20m", "ml-25m", "ml-32m"])
def test_csv_releases(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,2,3.5,100\n1,5,4.0,101\n7,2,0.5,99\n")
    (folder / "movies.csv").write_text('movieId,title,genres\n2,"Jumanji, The (1995)",Adventure|Fantasy\n'
                                       "5,Father (1995),(no genres listed)\n")
    data = load_movielens(RELEASES[name], dataset_context(data_dir=tmp_path))
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    assert data.item_features["genres"].tolist() == [[1, 1], [0, 0]]
    assert data.rating.tolist() == [3.5, 4.0, 0.5]


def test_ml10m_double_colon_and_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_movielens(RELEASES["ml-10m"], dataset_context(data_dir=tmp_path))
    assert "ratings.dat (missing)" in str(info.value) and "ml-10m.zip" in info.value.hint
    folder = tmp_path / "ml-10m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("1::122::5::838985046\n1::185::5::838983525\n")
    (folder / "movies.dat").write_text("122::Boomerang (1992)::Comedy|Romance\n185::Net, The (1995)::Action|Crime|Thriller\n")
    data = load_movielens(RELEASES["ml-10m"], dataset_context(data_dir=tmp_path))
    assert len(data) == 2 and data.item_features["genres"].sum() == 5
