"""k-fold cross-validation over interactions (warm users) or over users (cold users)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.builtin.protocols._params import active_users, as_count, as_fraction, check_known, rng_for, round_half_up
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN, VALID, Split, rank_within_user, split_from_assignment
from recbench.errors import ConfigError

KFOLD_DEFAULTS: dict[str, Any] = {"k": 5, "fold": 0, "by": "interaction", "valid_fraction": 0.0}
KFOLD_STREAM = 0x6F01D
_BY = ("interaction", "user")


def kfold(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Fold ``fold`` of a seeded k-fold partition is test; the other folds are train (and valid).

    * ``by = "interaction"``: each user's rows are shuffled and dealt round-robin into the k folds
      from a random starting fold, so a user with n rows has floor(n/k) or ceil(n/k) rows in every
      fold. Users with one row stay in train; every other user keeps >= 1 training row because
      ceil(n/k) <= n - 1 for n >= 2, k >= 2. ``valid_fraction`` then moves, per user with m
      training rows, min(floor(m * valid_fraction + 0.5), m - 1) random training rows to valid.
    * ``by = "user"``: users (with rows) are shuffled and dealt round-robin into folds, so fold sizes
      in users differ by at most one, and the test fold's users are wholly in test. This is a
      **cold-user** protocol: test users have no training rows, so only models that can score unseen
      users (popularity, content features) are meaningful. ``valid_fraction`` holds out
      floor(u * valid_fraction + 0.5) of the u training users wholly as valid (cold too, like test).

    For one seed the k values of ``fold`` partition the data: each row is test in exactly one fold
    (except train-only rows of one-row users under ``by = "interaction"``).
    """
    check_known("kfold", params, KFOLD_DEFAULTS)
    p = {**KFOLD_DEFAULTS, **params}
    k = as_count("kfold", "k", p["k"], minimum=2, example=5)
    fold = as_count("kfold", "fold", p["fold"], minimum=0, example=0)
    if fold >= k:
        raise ConfigError(f"kfold: fold={fold} must be in 0..{k - 1} for k={k}", hint=f"use fold = 0 .. {k - 1}")
    if p["by"] not in _BY:
        raise ConfigError(f"kfold: by={p['by']!r} must be one of {list(_BY)}", hint='e.g. by = "interaction"')
    valid_fraction = as_fraction("kfold", "valid_fraction", p["valid_fraction"])
    rng = rng_for(seed, KFOLD_STREAM)
    if p["by"] == "interaction":
        part = _interaction_folds(data, k, fold, valid_fraction, rng)
    else:
        part = _user_folds(data, k, fold, valid_fraction, rng)
    resolved = {"k": k, "fold": fold, "by": p["by"], "valid_fraction": valid_fraction}
    return split_from_assignment(data, part, protocol="kfold", protocol_version="1", params=resolved, seed=seed)


def _interaction_folds(
    data: Interactions, k: int, fold: int, valid_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    n_rows, user_idx = len(data), data.user_idx
    rank, count = rank_within_user(user_idx, rng.random(n_rows), data.n_users)
    start_fold_U = rng.integers(0, k, data.n_users)
    test = ((rank + start_fold_U[user_idx]) % k == fold) & (count >= 2)
    part = np.where(test, TEST, TRAIN).astype(np.uint8)
    if valid_fraction > 0:
        # test rows sort last, so ranks 0..m-1 are the user's m training rows in random order
        train_rank, _ = rank_within_user(user_idx, np.where(test, 2.0, rng.random(n_rows)), data.n_users)
        n_train = count - np.bincount(user_idx[test], minlength=data.n_users)[user_idx]
        n_valid = np.minimum(round_half_up(n_train * valid_fraction), n_train - 1)
        part[~test & (train_rank < n_valid)] = VALID
    return part


def _user_folds(data: Interactions, k: int, fold: int, valid_fraction: float, rng: np.random.Generator) -> np.ndarray:
    users = rng.permutation(active_users(data))
    if users.shape[0] < k:
        raise ConfigError(
            f"kfold: k={k} user folds need at least {k} users, "
            f"dataset {data.name!r} has {users.shape[0]} users with rows",
            hint=f"use k <= {users.shape[0]} or by = \"interaction\"",
        )
    fold_of_position = np.arange(users.shape[0]) % k
    train_users = users[fold_of_position != fold]
    n_valid = int(round_half_up(train_users.shape[0] * valid_fraction))
    if n_valid >= train_users.shape[0]:
        raise ConfigError(
            f"kfold: valid_fraction={valid_fraction} would hold out all {train_users.shape[0]} training users",
            hint="lower valid_fraction",
        )
    part_U = np.full(data.n_users, TRAIN, dtype=np.uint8)
    part_U[users[fold_of_position == fold]] = TEST
    part_U[train_users[:n_valid]] = VALID
    return part_U[data.user_idx]
