"""Vectorised readers for delimited files whose errors name the file, the line and the fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recbench.errors import DataError

_SEP_NAMES = {"\t": "tab", ",": "comma", "|": "'|'", "::": "'::'", " ": "space", ";": "semicolon"}


def _line_text(path: Path, line_no: int, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace") as fh:
        for text in islice(fh, line_no - 1, line_no):
            return text.rstrip("\r\n")[:120]
    return ""


def read_delimited(
    path: Path,
    *,
    sep: str,
    names: Sequence[str],
    numeric: Sequence[str],
    encoding: str = "utf-8",
    header: bool = False,
    fix: str = "correct or remove that line, or restore the original file",
) -> pd.DataFrame:
    """Read a delimited file into a DataFrame; every listed column must be present and numeric.

    Raises:
        DataError: naming the file, the 1-based line, the offending text and ``fix``.
    """
    sep_name = _SEP_NAMES.get(sep, repr(sep))
    first_data_line = 2 if header else 1
    try:
        frame = _read_csv(
            path,
            sep=sep if len(sep) == 1 else re.escape(sep),
            engine="c" if len(sep) == 1 else "python",
            header=0 if header else None,
            names=None if header else list(names),
            usecols=list(names) if header else None,
            encoding=encoding,
            dtype=None,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+), saw (\d+)", str(exc))
        if match:
            line = int(match.group(1))
            raise DataError(
                f"{path}:{line}: expected {len(names)} {sep_name}-separated fields, found {match.group(2)}: "
                f"{_line_text(path, line, encoding)!r}",
                hint=fix,
            ) from exc
        raise DataError(f"{path}: cannot parse as {sep_name}-separated: {exc}", hint=fix) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot read as {encoding} {sep_name}-separated text: {exc}", hint=fix) from exc
    if header:
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise DataError(f"{path}: header lacks columns {missing}; found {list(frame.columns)}", hint=fix)
    if frame.empty:
        raise DataError(f"{path}: no data rows", hint=fix)
    missing = frame[list(numeric)].isna().any(axis=1).to_numpy()  # required fields
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        line = _file_line_of_row(path, row, first_data_line, encoding)
        text = _line_text(path, line, encoding)
        found = len(text.split(sep)) if text else 0
        guess = next((name for cand, name in _SEP_NAMES.items() if cand != sep and cand in text), None)
        looks = f" (it looks {guess}-separated)" if guess and found == 1 else ""
        raise DataError(
            f"{path}:{line}: expected {len(names)} {sep_name}-separated fields, found {found}{looks}: {text!r}",
            hint=fix,
        )
    for col in numeric:
        values = frame[col]
        if values.dtype.kind in "iuf":
            continue
        coerced = pd.to_numeric(values, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy())
        if bad.size:
            row = int(bad[0])
            line = _file_line_of_row(path, row, first_data_line, encoding)
            raise DataError(
                f"{path}:{line}: column {col!r} is not a number: {values.iloc[row]!r}: "
                f"{_line_text(path, line, encoding)!r}",
                hint=fix,
            )
        frame[col] = coerced
    return frame


#: Files at least this large are read in chunks of ``CHUNK_ROWS`` rows (see :func:`_read_csv`).
CHUNKED_MIN_BYTES = 32 << 20
CHUNK_ROWS = 1 << 18
_NUMERIC = (np.dtype(np.int64), np.dtype(np.float64))


def _read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)``, the same frame, with less memory and time for large numeric files.

    pandas' C parser converts a large file in chunks and then concatenates each column's chunks:
    the whole table twice in memory, and a second pass over it. Here the file is read in chunks of
    ``CHUNK_ROWS`` rows that are copied straight into preallocated int64/float64 columns (sized
    from the first MiB's line lengths, grown if the file's lines get shorter). Chunks combine by
    the parser's own rules: int64 and float64 chunks make a float64 column. A chunk with any other
    type (strings, say) ends the fast path and the file is read by ``pd.read_csv`` alone: whether a
    value such as ``7`` becomes a string or a number then depends on pandas' own chunks, which this
    reader does not reproduce.
    """
    size = path.stat().st_size if isinstance(path, Path) else 0
    if kwargs.get("engine") != "c" or size < CHUNKED_MIN_BYTES:
        return pd.read_csv(path, **kwargs)
    capacity = _estimate_rows(path, size)
    columns: dict[str, np.ndarray] | None = None
    filled = 0
    with pd.read_csv(path, chunksize=CHUNK_ROWS, **kwargs) as reader:
        for chunk in reader:
            if columns is None:
                if not all(chunk[name].dtype in _NUMERIC for name in chunk.columns):
                    break
                columns = {name: np.empty(capacity, chunk[name].dtype) for name in chunk.columns}
            types = {name: _combined_type(columns[name].dtype, chunk[name].dtype) for name in chunk.columns}
            if any(t is None for t in types.values()) or list(chunk.columns) != list(columns):
                columns = None
                break
            n = len(chunk)
            if filled + n > capacity:
                capacity = max(2 * capacity, filled + n)
                columns = {name: _moved(values, filled, capacity, values.dtype) for name, values in columns.items()}
            for name, values in columns.items():
                if types[name] != values.dtype:  # int64 so far, float64 from now on
                    columns[name] = values = _moved(values, filled, capacity, types[name])
                values[filled:filled + n] = chunk[name].to_numpy()
            filled += n
    if columns is None:  # not all numbers, or no data rows: pandas' own frame
        return pd.read_csv(path, **kwargs)
    return _frame(columns, filled)


def _combined_type(so_far: np.dtype, chunk: np.dtype) -> np.dtype | None:
    """The column type after one more chunk, or None if that is not int64/float64."""
    if so_far not in _NUMERIC or chunk not in _NUMERIC:
        return None
    return np.dtype(np.float64) if np.float64 in (so_far, chunk) else np.dtype(np.int64)


def _moved(values: np.ndarray, filled: int, capacity: int, dtype: np.dtype) -> np.ndarray:
    """A new ``capacity``-row column of ``dtype`` holding the first ``filled`` values (the rest unwritten)."""
    out = np.empty(capacity, dtype)
    out[:filled] = values[:filled]
    return out


def _frame(columns: dict[str, np.ndarray], rows: int) -> pd.DataFrame:
    return pd.DataFrame({name: values[:rows] for name, values in columns.items()}, copy=False)


def _estimate_rows(path: Path, size: int) -> int:
    """An upper estimate of the rows: the file's size over the first MiB's mean line length, plus 25%.

    Over-estimating costs address space only: pages of the preallocated columns that are never
    written are never resident.
    """
    with open(path, "rb") as fh:
        sample = fh.read(1 << 20)
    per_line = len(sample) / max(sample.count(b"\n"), 1)
    return int(size / per_line * 1.25) + 1024


def _file_line_of_row(path: Path, row: int, first_data_line: int, encoding: str) -> int:
    """1-based file line of data row ``row``, accounting for blank lines pandas skipped."""
    line = first_data_line - 1
    seen = -1
    with open(path, encoding=encoding, errors="replace") as fh:
        for line, text in enumerate(fh, start=1):
            if line < first_data_line or not text.strip():
                continue
            seen += 1
            if seen == row:
                return line
    return line
