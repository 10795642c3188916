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
