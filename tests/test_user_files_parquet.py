"""The Parquet path of the user-file loader gets the CSV path's checks: missing ids, missing or
non-numeric ratings and timestamps are one-line errors naming the file, the row and the column.

pyarrow is optional (and not installed everywhere), so most tests hand the loader the frame that
``pd.read_parquet`` would return; one round trip through a real file runs where pyarrow is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recbench.builtin.user_files import load_user_file
from recbench.data.files import dataset_context
from recbench.errors import DataError


@pytest.fixture()
def parquet_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Call with a DataFrame: returns the path of a .parquet file that reads as that frame."""
    path = tmp_path / "clicks.parquet"
    path.write_bytes(b"PAR1")

    def use(frame: pd.DataFrame) -> Path:
        monkeypatch.setattr(pd, "read_parquet", lambda p, *a, **k: frame.copy())
        return path

    return use


def _load(path: Path, **params):
    return load_user_file(dataset_context({"path": str(path), **params}))


@pytest.mark.parametrize(("columns", "message"), [
    ({"user": ["a", None, "c"], "item": [1, 2, 3]}, r"clicks\.parquet: row 2: no user id in column 'user'"),
    ({"user": [1, 2, 3], "item": [1.0, 2.0, np.nan]}, r"clicks\.parquet: row 3: no item id in column 'item'"),
    ({"user": [1, 2, 3], "item": [1, 2, 3], "timestamp": [10.0, np.nan, 30.0]},
     r"clicks\.parquet: row 2: column 'timestamp' is not a number: nan"),
    ({"user": [1, 2, 3], "item": [1, 2, 3], "timestamp": ["10", "20", "soon"]},
     r"clicks\.parquet: row 3: column 'timestamp' is not a number: 'soon'"),
    ({"user": [1, 2, 3], "item": [1, 2, 3], "timestamp": pd.to_datetime(["2020-01-01", None, "2020-01-03"])},
     r"clicks\.parquet: row 2: column 'timestamp' is not a number: NaT"),
    ({"user": [1, 2, 3], "item": [1, 2, 3], "rating": [1.0, np.inf, 3.0]},
     r"clicks\.parquet: row 2: column 'rating' is not a number: inf"),
    ({"user": [1, 2, 3], "item": [1, 2, 3], "rating": pd.array([1, None, 3], dtype="Int64")},
     r"clicks\.parquet: row 2: column 'rating' is not a number: <NA>"),
])
def test_bad_values_name_the_file_row_and_column(parquet_frame, columns: dict, message: str) -> None:
    path = parquet_frame(pd.DataFrame(columns))
    with pytest.raises(DataError, match=message) as info:
        _load(path)
    assert "\n" not in str(info.value)


def test_good_frames_load_with_numbers_from_strings_and_nullable_ints(parquet_frame) -> None:
    frame = pd.DataFrame({"who": ["ann", "bob", "ann"], "what": pd.array([7, 8, 9], dtype="Int64"),
                          "when": ["5", "6", "7"], "stars": pd.array([1, 2, 3], dtype="Int64")})
    data = _load(parquet_frame(frame), user="who", item="what", timestamp="when", rating="stars")
    assert data.users.raw_ids.tolist() == ["ann", "bob"] and data.timestamp.tolist() == [5, 6, 7]
    assert data.rating.tolist() == [1.0, 2.0, 3.0]


def test_csv_and_parquet_share_the_checks(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("user,item,timestamp\n1,2,3\n,3,4\n")
    with pytest.raises(DataError, match=r"r\.csv:3: no user id in column 'user'"):
        _load(path)


def test_a_real_parquet_file_round_trips(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="writing Parquet needs pyarrow, which is not installed here")
    path = tmp_path / "real.parquet"
    pd.DataFrame({"user": ["a", None], "item": [1, 2], "timestamp": [1.0, 2.0]}).to_parquet(path)
    with pytest.raises(DataError, match=r"real\.parquet: row 2: no user id in column 'user'"):
        _load(path)
    pd.DataFrame({"user": ["a", "b"], "item": [1, 2], "timestamp": [1, 2]}).to_parquet(path)
    assert len(_load(path)) == 2


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_a_parquet_timestamp_column_becomes_unix_seconds_whatever_its_unit(parquet_frame, unit) -> None:
    times = pd.to_datetime(["1970-01-01 00:00:10", "2001-09-09 01:46:40", "2020-01-01 00:00:00"]).as_unit(unit)
    data = _load(parquet_frame(pd.DataFrame({"user": [1, 2, 3], "item": [4, 5, 6], "timestamp": times})))
    assert sorted(data.timestamp.tolist()) == [10, 1_000_000_000, 1_577_836_800]


def test_a_timezone_aware_parquet_timestamp_counts_from_the_utc_epoch(parquet_frame) -> None:
    times = pd.to_datetime(["1970-01-01 01:00:10"]).tz_localize("Europe/Berlin")  # 00:00:10 UTC
    data = _load(parquet_frame(pd.DataFrame({"user": [1], "item": [4], "timestamp": times})))
    assert data.timestamp.tolist() == [10]


@pytest.mark.parametrize("times", [
    [100.0, 100.9, 50.0],
    pd.to_datetime(["2020-01-01 00:00:00", "2020-01-01 00:00:00.250", "2020-01-02 00:00:00"], format="ISO8601"),
])
def test_a_fraction_of_a_second_is_refused_naming_the_row(parquet_frame, times) -> None:
    frame = pd.DataFrame({"user": [1, 1, 2], "item": [4, 5, 6], "timestamp": times})
    with pytest.raises(DataError, match=r"clicks\.parquet: row 2: column 'timestamp' has a fraction of a second"):
        _load(parquet_frame(frame))


def test_whole_float_seconds_load_as_integers(parquet_frame) -> None:
    data = _load(parquet_frame(pd.DataFrame({"user": [1, 2], "item": [4, 5], "timestamp": [100.0, 978300760.0]})))
    assert sorted(data.timestamp.tolist()) == [100, 978300760]


def test_a_csv_timestamp_with_a_fraction_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("user,item,timestamp\n1,10,100.9\n1,11,100.1\n2,10,50\n")
    with pytest.raises(DataError, match=r"events\.csv.*2.*column 'timestamp' has a fraction of a second: 100.9"):
        _load(path)
