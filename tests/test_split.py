from __future__ import annotations

import numpy as np
import pytest

from recbench.builtin.splitters import random_holdout
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError, DataError


def _pairs(part: Interactions) -> set[tuple[int, int]]:
    return set(zip(part.user_idx.tolist(), part.item_idx.tolist(), strict=True))


def test_parts_are_disjoint_cover_the_data_and_do_not_leak(ml100k: Interactions) -> None:
    split = random_holdout(ml100k, {"test_fraction": 0.2, "valid_fraction": 0.1}, 7)
    train, valid, test = _pairs(split.train), _pairs(split.valid), _pairs(split.test)
    assert not (train & valid) and not (train & test) and not (valid & test)
    assert len(train) + len(valid) + len(test) == len(ml100k) == len(train | valid | test)
    # per user: the fractions are respected and every user keeps training rows
    counts = ml100k.user_counts()
    test_counts = split.test.user_counts()
    assert np.array_equal(test_counts, np.minimum(np.floor(counts * 0.2 + 0.5), counts - 1))
    assert np.all(split.train.user_counts() >= 1)


def test_deterministic_for_a_seed_and_different_across_seeds(ml100k: Interactions) -> None:
    a, b, c = (random_holdout(ml100k, {}, s) for s in (3, 3, 4))
    assert a.split_id == b.split_id and np.array_equal(a.test.item_idx, b.test.item_idx)
    assert a.split_id != c.split_id
    assert len(a.split_id) == 16


def test_split_id_depends_on_params(ml100k: Interactions) -> None:
    assert random_holdout(ml100k, {"test_fraction": 0.25}, 0).split_id != random_holdout(ml100k, {}, 0).split_id


def test_users_with_one_row_stay_in_train() -> None:
    data = Interactions.from_indices(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 2]), n_users=2, n_items=3)
    split = random_holdout(data, {"test_fraction": 0.5, "valid_fraction": 0.0}, 0)
    assert 0 in split.train.user_idx and 0 not in split.test.user_idx


def test_duplicate_pairs_are_refused() -> None:
    data = Interactions.from_indices(np.array([0, 0, 0, 0]), np.array([1, 1, 2, 3]), n_users=1, n_items=4)
    with pytest.raises(DataError, match="also in"):
        for seed in range(20):  # some seed puts one copy in test and one in train
            random_holdout(data, {"test_fraction": 0.5, "valid_fraction": 0.0}, seed)


def test_bad_fractions_are_config_errors(ml100k: Interactions) -> None:
    with pytest.raises(ConfigError, match="sum below 1"):
        random_holdout(ml100k, {"test_fraction": 0.6, "valid_fraction": 0.5}, 0)
    with pytest.raises(ConfigError, match="unknown parameters"):
        random_holdout(ml100k, {"test_frac": 0.2}, 0)
