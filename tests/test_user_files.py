"""The user's own data: CSV, TSV, RecBole .inter, with column mapping, through the CLI too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recbench.builtin.user_files import load_user_file
from recbench.config import dataset_from_cli, parse_columns
from recbench.data.files import dataset_context
from recbench.errors import ConfigError, DataError


def _load(**params):
    return load_user_file(dataset_context(params))


def test_recbole_inter_equals_ml100k(tmp_path: Path, data_dir: Path, ml100k) -> None:
    """RecBole's ml-100k.inter holds u.data's rows under a typed header."""
    frame = pd.read_csv(data_dir / "ml-100k" / "u.data", sep="\t", header=None)
    path = tmp_path / "ml-100k.inter"
    header = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    path.write_text(header + frame.to_csv(sep="\t", header=False, index=False))
    data = _load(path=str(path))
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1682)
    assert np.array_equal(data.user_idx, ml100k.user_idx) and np.array_equal(data.item_idx, ml100k.item_idx)
    assert np.array_equal(data.rating, ml100k.rating) and np.array_equal(data.timestamp, ml100k.timestamp)


def test_csv_with_column_mapping_and_string_ids(tmp_path: Path) -> None:
    path = tmp_path / "clicks.csv"
    path.write_text("who,what,when,stars\nann,x1,5,1\nbob,x2,6,2\nann,x3,7,3\n")
    data = _load(path=str(path), user="who", item="what", timestamp="when", rating="stars")
    assert (len(data), data.n_users, data.n_items) == (3, 2, 3)
    assert data.users.raw_ids.tolist() == ["ann", "bob"] and data.timestamp.tolist() == [5, 6, 7]
    with pytest.raises(DataError, match="cannot tell which column holds the user"):
        _load(path=str(path))
    with pytest.raises(DataError, match="no column 'rank' for rating"):
        _load(path=str(path), user="who", item="what", rating="rank")


def test_bad_values_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.tsv"
    path.write_text("user\titem\trating\n1\t2\t3\n1\t3\tgood\n")
    with pytest.raises(DataError, match=r"r\.tsv:3: column 'rating' is not a number: 'good'"):
        _load(path=str(path))
    semi = tmp_path / "s.csv"
    semi.write_text("user;item\n1;2\n")
    with pytest.raises(DataError, match="header has 1"):
        _load(path=str(semi))
    with pytest.raises(ConfigError, match="needs params.path"):
        _load()


def test_cli_entry_that_is_a_path_becomes_the_file_dataset(tmp_path: Path) -> None:
    choice = dataset_from_cli(str(tmp_path / "x.csv"), parse_columns("user=u,item=i"), ";")
    assert choice.name == "file" and choice.params["user"] == "u" and choice.params["sep"] == ";"
    assert dataset_from_cli("ml-100k").name == "ml-100k"
    with pytest.raises(ConfigError, match="ROLE=COLUMN"):
        parse_columns("usr=u")


def test_cli_runs_a_users_own_file(tmp_path: Path, small_synthetic) -> None:
    path = tmp_path / "mine.csv"
    pd.DataFrame({"uid": small_synthetic.user_idx, "iid": small_synthetic.item_idx}).to_csv(path, index=False)
    result = subprocess.run([sys.executable, "-m", "recbench.cli", "run", "--datasets", str(path),
                             "--columns", "user=uid,item=iid", "--models", "pop", "--seeds", "0",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "file:mine.csv" in result.stdout


def _atomic_ml100k(tmp_path: Path, data_dir: Path) -> Path:
    """ml-100k as RecBole atomic files (.inter, .user, .item) written from the GroupLens files."""
    from recbench.builtin.movielens import GENRES

    ratings = pd.read_csv(data_dir / "ml-100k" / "u.data", sep="\t", header=None)
    inter = tmp_path / "ml-100k.inter"
    inter.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                     + ratings.to_csv(sep="\t", header=False, index=False))
    users = pd.read_csv(data_dir / "ml-100k" / "u.user", sep="|", header=None)
    (tmp_path / "ml-100k.user").write_text("user_id:token\tage:float\tgender:token\toccupation:token\tzip_code:token\n"
                                           + users.to_csv(sep="\t", header=False, index=False))
    items = pd.read_csv(data_dir / "ml-100k" / "u.item", sep="|", header=None, encoding="latin-1")
    flags = items.iloc[:, 5:].to_numpy(bool)
    classes = [" ".join(g.replace(" ", "_") for g, on in zip(GENRES, row, strict=True) if on) for row in flags]
    side = pd.DataFrame({"item_id": items[0], "class": classes})
    (tmp_path / "ml-100k.item").write_text("item_id:token\tclass:token_seq\n"
                                           + side.to_csv(sep="\t", header=False, index=False))
    return inter


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two codings of one categorical feature name the same groups (codes may differ)."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def test_recbole_side_files_become_features(tmp_path: Path, data_dir: Path, ml100k) -> None:
    data = _load(path=str(_atomic_ml100k(tmp_path, data_dir)))
    assert set(data.user_features) == {"age", "gender", "occupation", "zip_code"}
    assert set(data.item_features) == {"class"}
    assert data.user_features["age"].dtype == np.float32
    assert np.array_equal(data.user_features["age"], ml100k.user_features["age"].astype(np.float32))
    for name in ("gender", "occupation"):
        codes = data.user_features[name]
        assert codes.dtype == np.int32 and codes.min() == 0
        assert _same_partition(codes, ml100k.user_features[name])
    assert int(data.user_features["occupation"].max()) == 20  # 21 occupations
    genres = data.item_features["class"]
    assert genres.dtype == np.int8 and genres.shape == (1682, 19)
    # the GroupLens loader's multi-hot, with columns in sorted token order
    from recbench.builtin.movielens import GENRES

    order = sorted(range(len(GENRES)), key=lambda j: GENRES[j].replace(" ", "_"))
    assert np.array_equal(genres, ml100k.item_features["genres"][:, order])


def test_side_files_align_to_the_vocabulary_and_mark_missing(tmp_path: Path) -> None:
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\nu2\ti1\nu1\ti2\nu3\ti1\n")
    (tmp_path / "d.user").write_text(
        "user_id:token\tcity:token\tscore:float\ttags:token_seq\n"
        "u3\tparis\t1.5\ta b\n"
        "u9\tlima\t2\tz\n"  # a user without interactions: ignored
        "u1\t\t\tb\n"  # empty values: missing
    )
    data = _load(path=str(tmp_path / "d.inter"))
    assert data.users.raw_ids.tolist() == ["u1", "u2", "u3"]
    feats = data.user_features
    assert feats["city"].tolist() == [-1, -1, 1]  # codes over the file's sorted values: lima 0, paris 1
    assert np.array_equal(feats["score"], np.array([np.nan, np.nan, 1.5], np.float32), equal_nan=True)
    assert feats["tags"].tolist() == [[0, 1, 0], [0, 0, 0], [1, 1, 0]]  # tokens a, b, z
    assert data.item_features == {}


@pytest.mark.parametrize(("text", "message"), [
    ("user_id:token\tage:float\nu1\t3\nu2\told\n", r"d\.user:3: column 'age' \(float\) is not a number: 'old'"),
    ("user_id:token\tage:float\nu1\t3\nu1\t4\n", r"d\.user:3: user_id 'u1' appears twice"),
    ("user_id:token\tage:float\nu1\t3\t9\n", r"d\.user:2: expected 2 tab-separated fields, found 3: 'u1\\t3\\t9'"),
    ("user_id:token\tage:float\nu1\t3\nu2\n", r"d\.user:3: expected 2 tab-separated fields, found 1: 'u2'"),
    ("user_id:token\tage\nu1\t3\n", r"d\.user:1: column 'age' needs a type"),
    ("user_id:token\temb:float_seq\nu1\t3 4\n", r"d\.user:1: column 'emb:float_seq' .*float_seq is not supported"),
    ("user:token\tage:float\nu1\t3\n", r"d\.user:1: no 'user_id' column"),
])
def test_bad_side_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "d.inter").write_text("user_id:token\titem_id:token\nu1\ti1\nu2\ti2\n")
    (tmp_path / "d.user").write_text(text)
    with pytest.raises(DataError, match=message):
        _load(path=str(tmp_path / "d.inter"))
