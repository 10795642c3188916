"""The user's own interaction file: CSV, TSV, Parquet, or RecBole atomic ``.inter``.

Parameters (dataset ``file``): ``path`` (required); ``user``, ``item``, ``rating``, ``timestamp``
(column names; user and item default to the first of the usual names found in the header, rating
and timestamp are optional); ``sep`` (default by extension: ``,`` for .csv, tab for .tsv/.inter);
``format`` (``csv``, ``tsv``, ``parquet`` or ``inter``; default by extension). Ids may be numbers or
strings; they become dense indices in sorted order.

RecBole atomic files: when ``NAME.inter`` has siblings ``NAME.user`` and/or ``NAME.item``, their
columns become user/item side features (see :func:`read_atomic_features`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from recbench.data.files import check_dataset_params
from recbench.data.interactions import Interactions
from recbench.data.readers import read_delimited
from recbench.errors import ConfigError, DataError
from recbench.types import DatasetContext

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".parquet": "parquet", ".pq": "parquet", ".inter": "inter"}
DEFAULT_COLUMNS = {
    "user": ("user", "user_id", "userId", "userid", "userID", "UserID"),
    "item": ("item", "item_id", "itemId", "itemid", "itemID", "movieId", "movie_id", "ItemID"),
    "rating": ("rating", "ratings", "score", "weight"),
    "timestamp": ("timestamp", "time", "ts", "datetime"),
}
KNOWN_PARAMS = ("path", "user", "item", "rating", "timestamp", "sep", "format")


def _header(path: Path, sep: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().rstrip("\r\n")
    return first.split(sep)


def _pick(role: str, params: Mapping[str, Any], columns: Sequence[str], path: Path) -> str | None:
    if role in params:
        if params[role] not in columns:
            raise DataError(f"{path}: no column {params[role]!r} for {role}; the header has {list(columns)}",
                            hint=f"pass {role}=<one of those columns>")
        return str(params[role])
    found = next((c for c in DEFAULT_COLUMNS[role] if c in columns), None)
    if found is None and role in ("user", "item"):
        raise DataError(f"{path}: cannot tell which column holds the {role}; the header has {list(columns)}",
                        hint=f"pass the column mapping, e.g. --columns {role}=<column>")
    return found


def load_user_file(ctx: DatasetContext) -> Interactions:
    params = dict(ctx.params)
    check_dataset_params("file", params, KNOWN_PARAMS, booleans=())
    if "path" not in params:
        raise ConfigError("dataset 'file' needs params.path: give the file's path as the dataset, e.g. "
                          "recbench run --datasets ratings.csv or recbench data info ratings.csv")
    path = Path(str(params["path"])).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="check the file's path (given as the dataset, or as params.path)")
    fmt = params.get("format") or FORMATS.get(path.suffix.lower())
    if fmt not in {"csv", "tsv", "parquet", "inter"}:
        raise ConfigError(f"{path}: unknown format {fmt!r}; pass format=csv|tsv|parquet|inter")
    table = _read_parquet(path, params) if fmt == "parquet" else _read_text(path, params, fmt)
    frame, roles = _checked(table)
    rating = frame[roles["rating"]].to_numpy(np.float32) if roles["rating"] else None
    timestamp = frame[roles["timestamp"]].to_numpy(np.int64) if roles["timestamp"] else None
    data = Interactions.from_raw(frame[roles["user"]].to_numpy(), frame[roles["item"]].to_numpy(),
                                 rating=rating, timestamp=timestamp, name=path.stem)
    if fmt != "inter":
        return data
    features = {}
    for kind, role in (("user", "user"), ("item", "item")):
        side = path.with_suffix(f".{kind}")
        if side.is_file():
            vocab = data.users if kind == "user" else data.items
            features[f"{kind}_features"] = read_atomic_features(side, str(roles[role]), vocab.raw_ids)
    return replace(data, **features) if features else data


#: Largest multi-hot matrix a ``token_seq`` column may become (cells, stored as int8).
MAX_MULTI_HOT_CELLS = 1 << 28
ATOMIC_TYPES = ("token", "token_seq", "float")


def _atomic_header(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        fields = fh.readline().rstrip("\r\n").split("\t")
    out = []
    for field in fields:
        name, _, kind = field.partition(":")
        if kind not in ATOMIC_TYPES:
            raise DataError(
                f"{path}:1: column {field!r} needs a type token, token_seq or float ('name:type')"
                + (f"; {kind} is not supported" if kind else ""),
                hint="declare the column's type, or remove that column",
            )
        out.append((name, kind))
    return out


def read_atomic_features(path: Path, id_column: str, raw_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Side features from a RecBole ``.user`` or ``.item`` file, aligned to ``raw_ids`` (the vocabulary).

    Every column but ``id_column`` becomes one feature, by its declared type:

    - ``token``: int32 codes ``0..K-1`` (distinct values in sorted order); -1 where the value is
      empty or the id has no row in the file.
    - ``token_seq`` (space-separated tokens): an int8 multi-hot matrix, one column per distinct token
      in sorted order; all zeros where missing.
    - ``float``: float32; NaN where missing.

    Rows for ids the interactions do not contain are ignored.

    Raises:
        DataError: naming ``file:line`` for a malformed row, a duplicate id, a non-numeric float or
            a header without ``id_column``.
    """
    columns = _atomic_header(path)
    names = [name for name, _ in columns]
    if id_column not in names:
        raise DataError(f"{path}:1: no {id_column!r} column (the .inter file's id column); the header has {names}",
                        hint=f"name the id column {id_column}:token, as in the .inter file")
    lines = pd.Series(path.read_text(encoding="utf-8", errors="replace").splitlines())
    fields = lines.str.count("\t").to_numpy() + 1
    wrong = np.flatnonzero((fields != len(names)) & (lines.str.strip() != "").to_numpy())
    if wrong.size:
        line = int(wrong[0])
        raise DataError(f"{path}:{line + 1}: expected {len(names)} tab-separated fields, found {fields[line]}: "
                        f"{lines.iloc[line][:120]!r}", hint="fix that line (an empty value still needs its tab)")
    frame = pd.read_csv(path, sep="\t", header=0, names=names, dtype=str, keep_default_na=False,
                        quoting=csv.QUOTE_NONE, engine="c", skip_blank_lines=True, index_col=False)
    ids = frame[id_column].to_numpy(dtype=object)
    if raw_ids.dtype.kind in "iuf":
        ids = pd.to_numeric(frame[id_column], errors="coerce").to_numpy(np.float64)
    rows = pd.Index(raw_ids).get_indexer(ids)
    known = rows >= 0
    dup = pd.Series(rows).duplicated().to_numpy() & known
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise DataError(f"{path}:{row + 2}: {id_column} {frame[id_column].iloc[row]!r} appears twice",
                        hint="keep one row per id")
    target, size = rows[known], raw_ids.shape[0]
    features: dict[str, np.ndarray] = {}
    for name, kind in columns:
        if name == id_column:
            continue
        values = frame[name]
        if kind == "float":
            numbers = pd.to_numeric(values.replace("", np.nan), errors="coerce")
            bad = np.flatnonzero((numbers.isna() & (values != "")).to_numpy())
            if bad.size:
                raise DataError(f"{path}:{int(bad[0]) + 2}: column {name!r} (float) is not a number: "
                                f"{values.iloc[int(bad[0])]!r}", hint="fix that value, or declare the column token")
            out = np.full(size, np.nan, np.float32)
            out[target] = numbers.to_numpy(np.float32)[known]
        elif kind == "token":
            present = (values != "").to_numpy()
            codes = np.full(len(values), -1, np.int32)
            codes[present] = pd.factorize(values[present], sort=True)[0]
            out = np.full(size, -1, np.int32)
            out[target] = codes[known]
        else:  # token_seq
            tokens = values.str.split(" ").explode()
            tokens = tokens[tokens.notna() & (tokens != "")]
            codes, vocabulary = pd.factorize(tokens, sort=True)
            if size * len(vocabulary) > MAX_MULTI_HOT_CELLS:
                raise DataError(f"{path}: column {name!r} (token_seq) has {len(vocabulary):,} distinct tokens: a "
                                f"{size:,} x {len(vocabulary):,} multi-hot matrix is too large",
                                hint="remove that column from the file, or declare it token")
            out = np.zeros((size, len(vocabulary)), np.int8)
            source_rows = tokens.index.to_numpy()
            keep = known[source_rows]
            out[rows[source_rows[keep]], codes[keep]] = 1
        features[name] = out
    return features


class _Table(NamedTuple):
    """A user file as read, before its values are checked.

    Attributes:
        frame: the columns of ``roles``, as the file holds them.
        roles: role (user, item, rating, timestamp) -> column name, None for an absent optional role.
        where: data row index (0-based) -> how to point at it in an error, e.g. ``ratings.csv:7``.
    """

    frame: pd.DataFrame
    roles: dict[str, str | None]
    where: Callable[[int], str]


def _read_text(path: Path, params: Mapping[str, Any], fmt: str) -> _Table:
    sep = str(params.get("sep", "," if fmt == "csv" else "\t"))
    header = _header(path, sep)
    if fmt == "inter":  # RecBole atomic files: "name:type" headers
        renamed = [h.split(":", 1)[0] for h in header]
    else:
        renamed = header
    if len(renamed) < 2:
        raise DataError(f"{path}:1: the header has {len(renamed)} {sep!r}-separated field(s): {header!r}",
                        hint="pass sep=<the file's separator>")
    roles = {role: _pick(role, params, renamed, path) for role in DEFAULT_COLUMNS}
    frame = read_delimited(path, sep=sep, names=tuple(header), numeric=(), header=True,
                           fix="fix that line of your file")
    frame.columns = renamed
    return _Table(frame[[c for c in roles.values() if c]], roles, lambda row: f"{path}:{row + 2}")


def _read_parquet(path: Path, params: Mapping[str, Any]) -> _Table:
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow", hint="pip install pyarrow") from exc
    roles = {role: _pick(role, params, [str(c) for c in frame.columns], path) for role in DEFAULT_COLUMNS}
    return _Table(frame[[c for c in roles.values() if c]], roles, lambda row: f"{path}: row {row + 1}")


def _checked(table: _Table) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """The table's frame with rating and timestamp as numbers, once every id and number is present.

    Raises:
        DataError: naming the file, the row and the column of the first missing id, or of the first
            rating or timestamp that is missing or not a finite number.
    """
    frame, roles, where = table
    for role in ("user", "item"):
        _require_present(frame[roles[role]], role, where)
    if roles["rating"]:
        frame[roles["rating"]] = _numbers(frame[roles["rating"]], where)
    if roles["timestamp"]:
        frame[roles["timestamp"]] = _whole_seconds(frame[roles["timestamp"]], where)
    return frame, roles


def _require_present(column: pd.Series, role: str, where: Callable[[int], str]) -> None:
    if _plain_int(column):  # numpy ints cannot be missing
        return
    missing = np.flatnonzero(column.isna().to_numpy())
    if missing.size:
        raise DataError(f"{where(int(missing[0]))}: no {role} id in column {column.name!r}",
                        hint="fill in the id, or remove that row")


def _numbers(column: pd.Series, where: Callable[[int], str]) -> pd.Series:
    """``column`` as numbers; the file's own numbers are returned as they are (no copy)."""
    if _plain_int(column):  # already numbers, none missing
        return column
    is_float = isinstance(column.dtype, np.dtype) and column.dtype.kind == "f"
    values = column if is_float else pd.to_numeric(column, errors="coerce")
    bad = values.isna().to_numpy()
    if not is_float:
        bad = bad | column.isna().to_numpy()  # NaT, which to_numeric turns into a number
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":
        bad = bad | np.isinf(values.to_numpy())
    rows = np.flatnonzero(bad)
    if rows.size:
        row, value = int(rows[0]), column.iloc[int(rows[0])]
        shown = repr(value) if isinstance(value, str) else str(value)  # 'five', nan, NaT, <NA>
        raise DataError(f"{where(row)}: column {column.name!r} is not a number: {shown}",
                        hint="fix that value, or drop missing values with the drop_missing preprocessing step")
    return values


def _whole_seconds(column: pd.Series, where: Callable[[int], str]) -> pd.Series:
    """Timestamps as whole unix seconds (date-times, e.g. a Parquet timestamp column, counted from the
    UTC epoch), as MovieLens counts them.

    Raises:
        DataError: a timestamp is missing, not a number, or has a fraction of a second: truncated, a
            later event could sort before an earlier one of the same second (leave-one-out's order).
    """
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        _numbers(column, where)  # NaT refused, named as the file has it
        values = (column - pd.Timestamp(0, tz=column.dt.tz)) / pd.Timedelta(seconds=1)
    else:
        values = _numbers(column, where)
    if _plain_int(values):
        return values
    fraction = np.flatnonzero(values.to_numpy() % 1 != 0)
    if fraction.size:
        row = int(fraction[0])
        raise DataError(f"{where(row)}: column {column.name!r} has a fraction of a second: {column.iloc[row]}",
                        hint="timestamps are whole seconds: round them (ties then keep the file's order), "
                             "or give milliseconds as whole numbers")
    return values.astype(np.int64)


def _plain_int(column: pd.Series) -> bool:
    """A numpy integer column (no missing values possible; pandas' nullable Int64 does not count)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu"
