"""Vectorised readers for delimited files whose errors name the file, the line and the fix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import islice
from pathlib import Path

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
        frame = pd.read_csv(
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
