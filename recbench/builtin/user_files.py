"""The user's own interaction file: CSV, TSV, Parquet, or RecBole atomic ``.inter``.

Parameters (dataset ``file``): ``path`` (required); ``user``, ``item``, ``rating``, ``timestamp``
(column names; user and item default to the first of the usual names found in the header, rating
and timestamp are optional); ``sep`` (default by extension: ``,`` for .csv, tab for .tsv/.inter);
``format`` (``csv``, ``tsv``, ``parquet`` or ``inter``; default by extension). Ids may be numbers or
strings; they become dense indices in sorted order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
KNOWN_PARAMS = {"path", "user", "item", "rating", "timestamp", "sep", "format"}


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
    unknown = set(params) - KNOWN_PARAMS - {"verify"}
    if unknown:
        raise ConfigError(f"dataset 'file': unknown parameters {sorted(unknown)}; known: {sorted(KNOWN_PARAMS)}")
    if "path" not in params:
        raise ConfigError("dataset 'file' needs params.path, e.g. --datasets path/to/ratings.csv")
    path = Path(str(params["path"])).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file", hint="check the path given to --datasets")
    fmt = params.get("format") or FORMATS.get(path.suffix.lower())
    if fmt not in {"csv", "tsv", "parquet", "inter"}:
        raise ConfigError(f"{path}: unknown format {fmt!r}; pass format=csv|tsv|parquet|inter")
    if fmt == "parquet":
        frame, roles = _read_parquet(path, params)
    else:
        frame, roles = _read_text(path, params, fmt)
    rating = frame[roles["rating"]].to_numpy(np.float32) if roles["rating"] else None
    timestamp = frame[roles["timestamp"]].to_numpy(np.int64) if roles["timestamp"] else None
    return Interactions.from_raw(frame[roles["user"]].to_numpy(), frame[roles["item"]].to_numpy(),
                                 rating=rating, timestamp=timestamp, name=path.stem)


def _read_text(path: Path, params: Mapping[str, Any], fmt: str) -> tuple[pd.DataFrame, dict[str, str | None]]:
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
    wanted = [c for c in roles.values() if c]
    numeric = [c for role, c in roles.items() if c and role in ("rating", "timestamp")]
    frame = read_delimited(path, sep=sep, names=tuple(header), numeric=(), header=True,
                           fix="fix that line of your file")
    frame.columns = renamed
    frame = frame[wanted]
    ids = [c for c in (roles["user"], roles["item"]) if not _plain_int(frame[c])]  # numpy ints cannot be NA
    if ids and frame[ids].isna().any().any():
        row = int(np.flatnonzero(frame[ids].isna().any(axis=1).to_numpy())[0])
        raise DataError(f"{path}:{row + 2}: missing user or item id")
    for col in numeric:
        if _plain_int(frame[col]):  # already numbers, none missing (NaN would have made them floats)
            continue
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy())
        if bad.size:
            raise DataError(f"{path}:{int(bad[0]) + 2}: column {col!r} is not a number: {frame[col].iloc[int(bad[0])]!r}",
                            hint="fix that line, or drop missing values with the drop_missing preprocessing step")
        frame[col] = values
    return frame, roles


def _plain_int(column: pd.Series) -> bool:
    """A numpy integer column (no missing values possible; pandas' nullable Int64 does not count)."""
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "iu"


def _read_parquet(path: Path, params: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, str | None]]:
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow", hint="pip install pyarrow") from exc
    roles = {role: _pick(role, params, list(frame.columns), path) for role in DEFAULT_COLUMNS}
    return frame, roles
