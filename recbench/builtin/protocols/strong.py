"""Strong generalisation (Liang et al., "Variational Autoencoders for Collaborative Filtering", WWW 2018)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.builtin.protocols._params import active_users, as_fraction, check_known, rng_for, round_half_up
from recbench.data.interactions import Interactions
from recbench.data.split import FOLD_IN, TEST, TRAIN, VALID, Split, rank_within_user, split_from_assignment
from recbench.errors import ConfigError

STRONG_DEFAULTS: dict[str, Any] = {"heldout_users": 0.1, "fold_in_fraction": 0.8}
STRONG_STREAM = 0x5760E


def strong_generalization(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Held-out users: models train on the other users and must generalise to these at inference.

    ``heldout_users`` (an integer count, or a float fraction in (0, 0.5) of the users with rows,
    rounded half up to a count h) users are drawn at random for test and h others for valid; the
    rest are train users, all of whose rows are TRAIN. Each held-out user with n rows keeps
    ``n_fold_in = clip(floor(n * fold_in_fraction + 0.5), 1, n)`` random rows as FOLD_IN (the model's
    input at inference, never trained on) and their other ``n - n_fold_in`` rows go to TEST or VALID
    (for a one-row user: none, so that user is not evaluated).

    Unlike Liang et al.'s script, held-out items never seen in training are kept (they count as
    misses), rows are not dropped, and counts round half up instead of down.
    """
    check_known("strong_generalization", params, STRONG_DEFAULTS)
    p = {**STRONG_DEFAULTS, **params}
    fold_in_fraction = as_fraction("strong_generalization", "fold_in_fraction", p["fold_in_fraction"], positive=True)
    users = active_users(data)
    n_heldout = _heldout_count(p["heldout_users"], users.shape[0], data.name)
    rng = rng_for(seed, STRONG_STREAM)
    users = rng.permutation(users)
    role_U = np.full(data.n_users, TRAIN, dtype=np.uint8)
    role_U[users[:n_heldout]] = TEST
    role_U[users[n_heldout:2 * n_heldout]] = VALID
    rank, count = rank_within_user(data.user_idx, rng.random(len(data)), data.n_users)
    n_fold_in = np.clip(round_half_up(count * fold_in_fraction), 1, count)
    role = role_U[data.user_idx]
    part = np.where((role != TRAIN) & (rank < n_fold_in), FOLD_IN, role).astype(np.uint8)
    resolved = {"heldout_users": p["heldout_users"], "fold_in_fraction": fold_in_fraction}
    return split_from_assignment(
        data, part, protocol="strong_generalization", protocol_version="1", params=resolved, seed=seed
    )


def _heldout_count(value: Any, n_users: int, dataset: str) -> int:
    """``heldout_users`` as a count h with 1 <= h and 2h < n_users (test, valid and >= 1 train user)."""
    fix = "e.g. heldout_users = 0.1 (a fraction) or heldout_users = 100 (a count)"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"strong_generalization: heldout_users={value!r} must be a count or a fraction", hint=fix)
    if isinstance(value, numbers.Integral):
        count = int(value)
    elif 0 < float(value) < 0.5:
        count = int(round_half_up(n_users * float(value)))
    else:
        raise ConfigError(
            f"strong_generalization: heldout_users={value!r} as a fraction must be in (0, 0.5) "
            "(the same number of users is held out for test and for valid)", hint=fix,
        )
    if count < 1 or 2 * count >= n_users:
        raise ConfigError(
            f"strong_generalization: heldout_users={value!r} means {count} test and {count} valid users, but "
            f"dataset {dataset!r} has {n_users} users with rows; need 1 <= count and 2 * count < {n_users}",
            hint=fix,
        )
    return count
