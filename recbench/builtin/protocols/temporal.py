"""Time-ordered protocols: per-user leave-one-out by time and a global temporal cut."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.builtin.protocols._params import (
    as_bool,
    as_fraction,
    check_known,
    rank_within_user_by_time,
    require_timestamps,
    resolve_mode,
    round_half_up,
)
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN, VALID, Split, split_from_assignment
from recbench.errors import ConfigError

LEAVE_ONE_OUT_DEFAULTS: dict[str, Any] = {"valid": True}
TEMPORAL_DEFAULTS: dict[str, Any] = {"test_fraction": 0.1, "valid_fraction": 0.1}
TEMPORAL_DATE_DEFAULTS: dict[str, Any] = {"test_start": None, "valid_start": None}


def leave_one_out(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Each user's latest row is test and, with ``valid = true``, the second-latest is valid.

    Rows are ordered per user by (timestamp, row position); a timestamp tie is broken by row order,
    so the row that comes later in the data counts as later. Users with fewer than 3 rows (2 when
    ``valid = false``) stay wholly in train, so every evaluated user keeps a training history.
    Deterministic: the seed is ignored and recorded as 0.
    """
    check_known("leave_one_out", params, LEAVE_ONE_OUT_DEFAULTS)
    p = {**LEAVE_ONE_OUT_DEFAULTS, **params}
    with_valid = as_bool("leave_one_out", "valid", p["valid"])
    timestamp = require_timestamps("leave_one_out", data)
    rank, count = rank_within_user_by_time(data.user_idx, timestamp, data.n_users)
    from_latest = count - 1 - rank  # 0 for the user's latest row
    held_out = count >= (3 if with_valid else 2)
    part = np.full(len(data), TRAIN, dtype=np.uint8)
    part[held_out & (from_latest == 0)] = TEST
    if with_valid:
        part[held_out & (from_latest == 1)] = VALID
    return split_from_assignment(
        data, part, protocol="leave_one_out", protocol_version="1", params={"valid": with_valid}, seed=0
    )


def temporal(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """A global temporal cut: train rows precede valid rows, which precede test rows.

    Two modes:

    * by fraction (default): rows sorted by (timestamp, row position); the latest
      ``n_test = floor(N * test_fraction + 0.5)`` rows are test and the ``n_valid`` rows before them
      (same rounding) are valid. Rows sharing a timestamp may straddle a cut, taken in row order.
    * by date: ``test_start`` (and optionally ``valid_start``) as ISO-8601 strings (naive means UTC)
      or unix seconds; test is ``timestamp >= test_start``, valid is
      ``valid_start <= timestamp < test_start``. Without ``valid_start`` there is no valid part.

    Either way ``max(train time) <= min(valid time)`` and ``max(valid time) <= min(test time)``.
    Users may appear only after the cut (cold users): that is part of the protocol. Deterministic:
    the seed is ignored and recorded as 0.
    """
    by_date, p = resolve_mode("temporal", params, TEMPORAL_DEFAULTS, TEMPORAL_DATE_DEFAULTS)
    timestamp = require_timestamps("temporal", data)
    if data.timestamp_is_order:
        raise ConfigError(f"temporal: dataset {data.name!r} has no times, only each user's order (its timestamps are "
                          "row positions in its file), so a cut at one global time is meaningless",
                          hint="use leave_one_out or another per-user protocol with this dataset")
    part = _cut_by_date(data, timestamp, p) if by_date else _cut_by_fraction(data, timestamp, p)
    return split_from_assignment(data, part, protocol="temporal", protocol_version="1", params=_canonical(p, by_date),
                                 seed=0)


def _canonical(p: Mapping[str, Any], by_date: bool) -> dict[str, Any]:
    """The params as the split_id hashes them: one split, one id, however the cut was written.

    Fractions as floats; cut dates as ``YYYY-MM-DD HH:MM:SS`` (UTC) of the first whole second they let
    in (timestamps are whole seconds: ``>= 888710400.5`` cuts where ``>= 888710401`` does), so
    ``"1998-03-01"``, ``888710400`` and ``"1998-03-01T00:00:00"`` are one split."""
    if not by_date:
        return {**p, **{k: as_fraction("temporal", k, p[k]) for k in ("test_fraction", "valid_fraction")}}
    return {**p, **{k: _iso(math.ceil(_unix_seconds(k, p[k]))) for k in ("test_start", "valid_start")
                    if p[k] is not None}}


def _cut_by_fraction(data: Interactions, timestamp: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    test_fraction = as_fraction("temporal", "test_fraction", p["test_fraction"], positive=True)
    valid_fraction = as_fraction("temporal", "valid_fraction", p["valid_fraction"])
    n_rows = len(data)
    n_test, n_valid = int(round_half_up(n_rows * test_fraction)), int(round_half_up(n_rows * valid_fraction))
    if n_test < 1 or n_test + n_valid >= n_rows:
        raise ConfigError(
            f"temporal: test_fraction={test_fraction}, valid_fraction={valid_fraction} give {n_test} test and "
            f"{n_valid} valid of {n_rows} rows; need at least 1 test row and 1 train row",
            hint="lower the fractions (their sum must stay below 1) or use a larger dataset",
        )
    position = np.empty(n_rows, dtype=np.int64)
    position[np.lexsort((np.arange(n_rows), timestamp))] = np.arange(n_rows)  # 0 = earliest
    part = np.full(n_rows, TRAIN, dtype=np.uint8)
    part[position >= n_rows - n_test - n_valid] = VALID
    part[position >= n_rows - n_test] = TEST
    return part


def _cut_by_date(data: Interactions, timestamp: np.ndarray, p: Mapping[str, Any]) -> np.ndarray:
    if p["test_start"] is None:
        raise ConfigError(
            f"temporal: valid_start={p['valid_start']!r} was given without test_start",
            hint="add test_start (ISO date or unix seconds), e.g. test_start = \"1998-03-01\"",
        )
    test_start = _unix_seconds("test_start", p["test_start"])
    valid_start = test_start if p["valid_start"] is None else _unix_seconds("valid_start", p["valid_start"])
    if valid_start > test_start:
        raise ConfigError(
            f"temporal: valid_start={p['valid_start']!r} is after test_start={p['test_start']!r}; "
            "valid must precede test", hint="swap them or move valid_start earlier",
        )
    part = np.full(len(data), TRAIN, dtype=np.uint8)
    part[timestamp >= valid_start] = VALID
    part[timestamp >= test_start] = TEST
    span = f"{_iso(int(timestamp.min()))} .. {_iso(int(timestamp.max()))}" if len(data) else "no rows"
    first_cut = p["test_start"] if p["valid_start"] is None else p["valid_start"]
    cuts = [("train", TRAIN, first_cut), ("test", TEST, p["test_start"]), ("valid", VALID, p["valid_start"])]
    for name, code, cut in cuts:
        if cut is not None and not (part == code).any():
            raise ConfigError(
                f"temporal: the cut at {cut!r} leaves the {name} part of dataset {data.name!r} empty "
                f"(its timestamps span {span})",
                hint="choose cut dates inside that span",
            )
    return part


def _unix_seconds(name: str, value: Any) -> float:
    """An ISO-8601 string (naive = UTC) or a number of unix seconds, as unix seconds."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (dt.date, str)):
        try:
            moment = value if isinstance(value, dt.date) else dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
            moment = dt.datetime(moment.year, moment.month, moment.day)
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
            return moment.timestamp()
    raise ConfigError(
        f"temporal: {name}={value!r} is neither an ISO-8601 date nor unix seconds",
        hint=f'e.g. {name} = "1998-03-01" or {name} = 888710400',
    )


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
