"""Parameter checks shared by the split protocols: every message names the value, the rule and the fix."""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from recbench.data.files import require_bool
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError


def check_known(protocol: str, params: Mapping[str, Any], known: Collection[str]) -> None:
    """Raise ConfigError for a parameter name the protocol does not take, with a "did you mean"."""
    unknown = sorted(set(params) - set(known))
    if not unknown:
        return
    guesses = {name: difflib.get_close_matches(name, sorted(known), n=1) for name in unknown}
    near = "; ".join(f"{name!r}: did you mean {g[0]!r}?" for name, g in guesses.items() if g)
    raise ConfigError(
        f"{protocol}: unknown parameters {unknown}; known: {sorted(known)}" + (f" ({near})" if near else ""),
        hint=f"remove or rename the parameter in the protocol_params of {protocol}",
    )


def resolve_mode(
    protocol: str, params: Mapping[str, Any], defaults: Mapping[str, Any], other_defaults: Mapping[str, Any]
) -> tuple[bool, dict[str, Any]]:
    """Choose between a protocol's default mode and a mutually exclusive alternative mode.

    The host merges a splitter's ``default_params`` into every run's params, so the default mode's
    keys arrive even when the user only set the alternative's. Rule: if any key of ``other_defaults``
    is present, the alternative mode is used; default-mode keys *equal to their default* are taken as
    merged in and dropped, and any other value of them is a conflict (ConfigError).

    Returns:
        ``(alternative, resolved)``: whether the alternative mode was chosen, and its full params.
    """
    check_known(protocol, params, {*defaults, *other_defaults})
    if not any(key in params for key in other_defaults):
        return False, {**defaults, **params}
    conflicting = {key: value for key, value in params.items() if key in defaults and value != defaults[key]}
    if conflicting:
        given = ", ".join(f"{key}={value!r}" for key, value in conflicting.items())
        alt = ", ".join(sorted(key for key in other_defaults if key in params))
        raise ConfigError(
            f"{protocol}: {given} cannot be combined with {alt}; the two are mutually exclusive modes",
            hint=f"give either {sorted(defaults)} or {sorted(other_defaults)}, not both",
        )
    return True, {**other_defaults, **{key: value for key, value in params.items() if key not in defaults}}


def as_fraction(protocol: str, name: str, value: Any, *, positive: bool = False) -> float:
    """``value`` as a float in [0, 1) (or (0, 1) when ``positive``), else ConfigError."""
    rule = "(0, 1)" if positive else "[0, 1)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{protocol}: {name}={value!r} must be a number in {rule}", hint=f"e.g. {name} = 0.1")
    fraction = float(value)
    if not ((0 < fraction if positive else 0 <= fraction) and fraction < 1):
        raise ConfigError(f"{protocol}: {name}={value!r} must be in {rule}", hint=f"e.g. {name} = 0.1")
    return fraction


def as_count(protocol: str, name: str, value: Any, *, minimum: int = 0, example: int = 1) -> int:
    """``value`` as an integer >= ``minimum`` (bools and floats refused), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{protocol}: {name}={value!r} must be an integer >= {minimum}",
                          hint=f"e.g. {name} = {example}")
    if int(value) < minimum:
        raise ConfigError(f"{protocol}: {name}={value!r} must be >= {minimum}", hint=f"e.g. {name} = {example}")
    return int(value)


def as_bool(protocol: str, name: str, value: Any) -> bool:
    """``value`` as a bool (strings and numbers refused), else ConfigError naming the protocol."""
    return require_bool(f"{protocol}:", name, value)


def require_timestamps(protocol: str, data: Interactions) -> np.ndarray:
    """The int64 timestamps, or a ConfigError naming the dataset when it has none."""
    if data.timestamp is None:
        raise ConfigError(
            f"dataset {data.name!r} has no timestamps, so protocol {protocol!r} (which orders rows by time) "
            "cannot be used",
            hint="choose a protocol that needs no time, e.g. random_holdout or kfold",
        )
    return data.timestamp


def round_half_up(x: np.ndarray | float) -> np.ndarray:
    """``floor(x + 0.5)`` as int64: the rounding every protocol uses for "a fraction of n rows"."""
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def rng_for(seed: int, constant: int) -> np.random.Generator:
    """The protocol's own random stream for a run's split seed."""
    return np.random.default_rng(np.random.SeedSequence([seed, constant]))


def rank_within_user_by_time(
    user_idx: np.ndarray, timestamp: np.ndarray, n_users: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 0-based rank among its user's rows in time order, and the user's row count.

    Ties in timestamp are broken by row order: of two rows with the same time, the one that comes
    later in the data (the file) counts as later. One lexsort over (user, time, row), no loop.
    """
    n_rows = user_idx.shape[0]
    order = np.lexsort((np.arange(n_rows), timestamp, user_idx))
    counts_U = np.bincount(user_idx, minlength=n_users)
    starts_U = np.cumsum(counts_U) - counts_U
    rank = np.empty(n_rows, dtype=np.int64)
    rank[order] = np.arange(n_rows) - starts_U[user_idx[order]]
    return rank, counts_U[user_idx]


def active_users(data: Interactions) -> np.ndarray:
    """int64 indices of the users with at least one row, ascending."""
    return np.flatnonzero(data.user_counts() > 0)
