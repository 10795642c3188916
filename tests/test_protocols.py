"""Invariants of every built-in split protocol, on ml-100k (real timestamps, ties) and synthetic data.

Expected sizes are recomputed independently (per-user counts with bincount, time orders with a
stable argsort or pandas), never by calling the protocol's own helpers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recbench.builtin.protocols.kfold import kfold
from recbench.builtin.protocols.strong import strong_generalization
from recbench.builtin.protocols.temporal import leave_one_out, temporal
from recbench.builtin.splitters import RANDOM_HOLDOUT_DEFAULTS, fixed, random_holdout
from recbench.data.interactions import Interactions
from recbench.data.split import FOLD_IN, TEST, TRAIN, VALID, Split
from recbench.errors import ConfigError
from recbench.manager import PluginHost

PROTOCOLS = ["random_holdout", "fixed", "leave_one_out", "temporal", "kfold", "strong_generalization"]
RANDOM = {"random_holdout": {}, "kfold": {}, "kfold_by_user": {"by": "user"}, "strong_generalization": {}}
SPLITTERS = {"random_holdout": random_holdout, "kfold": kfold, "kfold_by_user": kfold,
             "strong_generalization": strong_generalization, "leave_one_out": leave_one_out, "temporal": temporal}


# -- helpers -----------------------------------------------------------------------------------------
def part_of_row(split: Split, data: Interactions) -> np.ndarray:
    """Each data row's part code, recovered from the split's parts by (user, item) pair.

    Asserts the invariants every protocol promises: the parts are pairwise disjoint, they cover the
    data exactly, and no valid, test or fold-in pair is in its user's training part (no leak).
    """
    assert data.duplicate_pair_count() == 0
    parts = {TRAIN: split.train, VALID: split.valid, TEST: split.test}
    if split.fold_in is not None:
        parts[FOLD_IN] = split.fold_in
    keys = np.concatenate([rows.pair_keys() for rows in parts.values()])
    codes = np.concatenate([np.full(len(rows), code, dtype=np.uint8) for code, rows in parts.items()])
    order = np.argsort(keys, kind="stable")
    assert np.all(np.diff(keys[order]) > 0), "two parts share a pair"
    assert keys.shape[0] == len(data), "the parts do not cover the data exactly"
    where = np.searchsorted(keys[order], data.pair_keys())
    assert np.array_equal(keys[order][where], data.pair_keys()), "some rows are in no part"
    held_out = np.concatenate([rows.pair_keys() for code, rows in parts.items() if code != TRAIN])
    assert not np.isin(held_out, split.train.pair_keys()).any(), "a held-out item is in its user's training part"
    assert len(split.split_id) == 16
    return codes[order][where]


def per_user(data: Interactions, part: np.ndarray, code: int) -> np.ndarray:
    return np.bincount(data.user_idx[part == code], minlength=data.n_users)


def round_half_up(x: Any) -> np.ndarray:
    return np.floor(np.asarray(x, dtype=float) + 0.5).astype(np.int64)


def time_order(data: Interactions) -> pd.DataFrame:
    """Rows sorted per user by time, ties by row position (pandas' stable sort), with a 0-based step."""
    frame = pd.DataFrame({"user": data.user_idx, "ts": data.timestamp, "row": np.arange(len(data))})
    frame = frame.sort_values(["user", "ts", "row"], kind="stable")
    frame["from_latest"] = frame.groupby("user").cumcount(ascending=False)
    return frame


def expect_config_error(split_fn: Any, data: Interactions, params: dict[str, Any], *needles: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        split_fn(data, params, 0)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert info.value.hint, "a ConfigError must suggest a fix"
    return info.value


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost(autoload=False)


@pytest.fixture(scope="module")
def published() -> Interactions:
    """Hand-made data with a published split (the ``fixed`` protocol's input)."""
    users = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    items = np.array([0, 1, 2, 0, 3, 4, 1, 2])
    part = np.array([TRAIN, TRAIN, TEST, TRAIN, VALID, TEST, TRAIN, TRAIN], dtype=np.uint8)
    return Interactions(users, items, 3, 5, timestamp=np.arange(8), fixed_part=part, name="published")


EXPECTED_VERSION = {"random_holdout": "2"}  # v2: uint32 random keys, single-sort ranking


# -- registration and the shared contract --------------------------------------------------------------
def test_every_protocol_is_registered_with_version_description_and_defaults(host: PluginHost) -> None:
    assert set(PROTOCOLS) <= set(host.all("splitters"))
    for name in PROTOCOLS:
        spec = host.splitter(name).spec
        assert spec.name == name and spec.version == EXPECTED_VERSION.get(name, "1")
        assert spec.description and "\n" not in spec.description
    assert dict(host.splitter("random_holdout").spec.default_params) == {"test_fraction": 0.2, "valid_fraction": 0.1}


@pytest.mark.parametrize("name", [n for n in PROTOCOLS if n != "fixed"])
def test_default_params_give_a_valid_split_on_both_datasets(
    host: PluginHost, name: str, ml100k: Interactions, small_synthetic: Interactions
) -> None:
    spec = host.splitter(name).spec
    for data in (ml100k, small_synthetic):
        split = spec.split(data, dict(spec.default_params), 11)  # as the runner calls it
        part_of_row(split, data)
        assert split.protocol == name and split.protocol_version == spec.version == EXPECTED_VERSION.get(name, "1")
        assert len(split.test) > 0 and len(split.train) > 0


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_protocols_are_deterministic_for_a_seed_and_differ_across_seeds(name: str, ml100k: Interactions) -> None:
    split_fn, params = SPLITTERS[name], RANDOM[name]
    a, b, c = (split_fn(ml100k, params, seed) for seed in (5, 5, 6))
    assert a.split_id == b.split_id
    for part in ("train", "valid", "test"):
        for col in ("user_idx", "item_idx", "timestamp"):
            assert np.array_equal(getattr(getattr(a, part), col), getattr(getattr(b, part), col))
    assert a.split_id != c.split_id
    assert not np.array_equal(part_of_row(a, ml100k), part_of_row(c, ml100k))


@pytest.mark.parametrize("name", ["leave_one_out", "temporal"])
def test_deterministic_protocols_ignore_the_seed(name: str, ml100k: Interactions) -> None:
    a, b = SPLITTERS[name](ml100k, {}, 1), SPLITTERS[name](ml100k, {}, 2)
    assert a.split_id == b.split_id and a.seed == 0


@pytest.mark.parametrize(("name", "params", "needles"), [
    ("random_holdout", {"test_fraction": 0.6, "valid_fraction": 0.5}, ["0.6", "sum below 1"]),
    ("random_holdout", {"test_frac": 0.2}, ["test_frac", "did you mean 'test_fraction'"]),
    ("random_holdout", {**RANDOM_HOLDOUT_DEFAULTS, "test_fraction": 0.3, "test_count": 1},
     ["test_fraction=0.3", "test_count", "mutually exclusive"]),
    ("random_holdout", {"test_count": 1.5}, ["test_count=1.5", "integer"]),
    ("random_holdout", {"valid_count": -1}, ["valid_count=-1", ">= 0"]),
    ("leave_one_out", {"valid": "yes"}, ["valid='yes'", "true or false"]),
    ("temporal", {"test_fraction": 0.0}, ["test_fraction=0.0", "(0, 1)"]),
    ("temporal", {"test_fraction": 0.5, "valid_fraction": 0.5}, ["500", "1 train row"]),
    ("temporal", {"test_fraction": 0.3, "test_start": "1998-01-01"}, ["test_fraction=0.3", "mutually exclusive"]),
    ("temporal", {"test_start": "yesterday"}, ["test_start='yesterday'", "ISO-8601"]),
    ("temporal", {"valid_start": "1998-01-01"}, ["valid_start", "without test_start"]),
    ("temporal", {"test_start": "1998-01-01", "valid_start": "1998-02-01"}, ["after test_start"]),
    ("temporal", {"test_start": "2005-01-01"}, ["2005-01-01", "test part", "ml-100k", "1997-09-20"]),
    ("temporal", {"test_start": 0}, ["train part", "ml-100k"]),
    ("kfold", {"k": 1}, ["k=1", ">= 2"]),
    ("kfold", {"k": 5, "fold": 5}, ["fold=5", "0..4"]),
    ("kfold", {"by": "item"}, ["by='item'", "interaction", "user"]),
    ("kfold", {"valid_fraction": 1.0}, ["valid_fraction=1.0", "[0, 1)"]),
    ("kfold", {"k": 1000, "by": "user"}, ["k=1000", "943 users"]),
    ("strong_generalization", {"heldout_users": 0.6}, ["heldout_users=0.6", "(0, 0.5)"]),
    ("strong_generalization", {"heldout_users": 500}, ["heldout_users=500", "943 users", "2 * count < 943"]),
    ("strong_generalization", {"heldout_users": 0}, ["heldout_users=0", "1 <= count"]),
    ("strong_generalization", {"heldout_users": "many"}, ["heldout_users='many'"]),
    ("strong_generalization", {"fold_in_fraction": 1.0}, ["fold_in_fraction=1.0", "(0, 1)"]),
])
def test_bad_params_are_config_errors_naming_value_rule_and_fix(
    name: str, params: dict[str, Any], needles: list[str], ml100k: Interactions
) -> None:
    expect_config_error(SPLITTERS[name], ml100k, params, *needles)


@pytest.mark.parametrize("name", ["leave_one_out", "temporal"])
def test_time_protocols_need_timestamps_and_name_the_dataset(name: str) -> None:
    data = Interactions.from_indices(np.array([0, 0, 0]), np.array([0, 1, 2]), name="no-clock")
    expect_config_error(SPLITTERS[name], data, {}, "'no-clock'", "no timestamps")


# -- random_holdout ------------------------------------------------------------------------------------
def test_random_holdout_fraction_mode_keeps_its_split_ids(ml100k: Interactions) -> None:
    """Pinned: the same data, protocol version, params and seed give this id on every machine.
    (Protocol version 2 draws uint32 random keys; version 1 gave 332bd676b9e3b234.)"""
    split = random_holdout(ml100k, dict(RANDOM_HOLDOUT_DEFAULTS), 3)
    assert split.split_id == "6b025de3c7e9b896"
    assert dict(split.params) == {"test_fraction": 0.2, "valid_fraction": 0.1}


def test_random_holdout_fraction_sizes_per_user(ml100k: Interactions) -> None:
    part = part_of_row(random_holdout(ml100k, {"test_fraction": 0.25, "valid_fraction": 0.15}, 2), ml100k)
    n = ml100k.user_counts()
    n_test = np.minimum(round_half_up(n * 0.25), n - 1)
    assert np.array_equal(per_user(ml100k, part, TEST), n_test)
    assert np.array_equal(per_user(ml100k, part, VALID), np.minimum(round_half_up(n * 0.15), n - 1 - n_test))


def test_random_holdout_by_count_sizes_per_user(ml100k: Interactions) -> None:
    split = random_holdout(ml100k, {**RANDOM_HOLDOUT_DEFAULTS, "test_count": 25, "valid_count": 10}, 0)
    assert dict(split.params) == {"test_count": 25, "valid_count": 10}
    part = part_of_row(split, ml100k)
    n = ml100k.user_counts()  # ml-100k users have 20..737 rows, so both caps bind for some users
    assert np.array_equal(per_user(ml100k, part, TEST), np.minimum(25, n - 1))
    assert np.array_equal(per_user(ml100k, part, VALID), np.minimum(10, n - 1 - np.minimum(25, n - 1)))
    assert per_user(ml100k, part, TRAIN).min() >= 1


def test_random_holdout_by_count_keeps_a_training_row_and_defaults_valid_count() -> None:
    data = Interactions.from_indices(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 0, 1, 0, 1, 2]))
    split = random_holdout(data, {"test_count": 1}, 0)
    assert dict(split.params) == {"test_count": 1, "valid_count": 1}
    part = part_of_row(split, data)
    assert per_user(data, part, TEST).tolist() == [0, 1, 1]
    assert per_user(data, part, VALID).tolist() == [0, 0, 1]
    assert per_user(data, part, TRAIN).tolist() == [1, 1, 1]


# -- fixed ----------------------------------------------------------------------------------------------
def test_fixed_returns_the_published_parts_whatever_the_seed(published: Interactions) -> None:
    a, b = fixed(published, {}, 0), fixed(published, {}, 9)
    assert np.array_equal(part_of_row(a, published), published.fixed_part)
    assert a.split_id == b.split_id
    expect_config_error(fixed, published, {"test_fraction": 0.2}, "unknown parameters ['test_fraction']")
    expect_config_error(fixed, Interactions.from_indices(np.array([0]), np.array([0]), name="plain"), {},
                        "'plain'", "publishes no split")


@pytest.mark.parametrize("params", [{"valid_fraction": 0.25}, {"valid_count": 2}])
def test_fixed_carves_a_seeded_validation_part_out_of_the_published_training_rows(params) -> None:
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(40), 12)
    items = np.tile(np.arange(12), 40)
    part = np.where(rng.random(users.size) < 0.2, TEST, TRAIN).astype(np.uint8)
    part[users == 7] = TRAIN  # user 7: 12 training rows
    part[(users == 8) & (items > 0)] = TEST  # user 8: one training row, which must stay
    data = Interactions(users, items, 40, 12, fixed_part=part, name="published-no-valid")
    a, b, c = fixed(data, params, 0), fixed(data, params, 0), fixed(data, params, 1)
    got = part_of_row(a, data)  # disjoint, covering, no leak
    assert np.array_equal(got[part == TEST], part[part == TEST])  # the published test part is untouched
    assert set(np.unique(got[part == TRAIN]).tolist()) == {TRAIN, VALID}
    train_U = np.bincount(users[part == TRAIN], minlength=40)
    valid_U = np.bincount(users[got == VALID], minlength=40)
    wanted = np.floor(train_U * 0.25 + 0.5) if "valid_fraction" in params else np.full(40, 2)
    assert np.array_equal(valid_U, np.minimum(wanted, train_U - 1))
    assert valid_U[7] == (3 if "valid_fraction" in params else 2) and valid_U[8] == 0
    assert a.split_id == b.split_id != c.split_id != fixed(data, {}, 0).split_id
    assert not np.array_equal(part_of_row(c, data), got)
    assert a.seed == 0 and c.seed == 1


def test_fixed_carve_out_refuses_bad_values_and_a_published_validation_part(published: Interactions) -> None:
    expect_config_error(fixed, published, {"valid_fraction": 0.1}, "publishes a validation part")
    plain = Interactions(np.array([0, 0, 1]), np.array([0, 1, 1]), 2, 2,
                         fixed_part=np.array([TRAIN, TEST, TRAIN], np.uint8), name="p")
    expect_config_error(fixed, plain, {"valid_fraction": 1.5}, "valid_fraction=1.5", "(0, 1)")
    expect_config_error(fixed, plain, {"valid_fraction": "x"}, "valid_fraction='x'")
    expect_config_error(fixed, plain, {"valid_fraction": "0.5"}, "valid_fraction='0.5'", "must be a number")
    expect_config_error(fixed, plain, {"valid_fractoin": 0.1}, "did you mean 'valid_fraction'")
    expect_config_error(fixed, plain, {"valid_count": 0}, "valid_count=0")
    expect_config_error(fixed, plain, {"valid_count": 1, "valid_fraction": 0.1}, "not both")


# -- leave_one_out ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("with_valid", [True, False])
def test_leave_one_out_holds_out_each_users_latest_rows(ml100k: Interactions, with_valid: bool) -> None:
    split = leave_one_out(ml100k, {"valid": with_valid}, 0)
    part = part_of_row(split, ml100k)
    order = time_order(ml100k)
    count = np.bincount(ml100k.user_idx)[order["user"].to_numpy()]
    held = count >= (3 if with_valid else 2)
    step = order["from_latest"].to_numpy()
    expected = np.full(len(ml100k), TRAIN, dtype=np.uint8)
    rows = order["row"].to_numpy()
    expected[rows[held & (step == 0)]] = TEST
    if with_valid:
        expected[rows[held & (step == 1)]] = VALID
    assert np.array_equal(part, expected)
    assert np.array_equal(per_user(ml100k, part, TEST), np.ones(ml100k.n_users, dtype=np.int64))


def test_leave_one_out_is_chronological_per_user(ml100k: Interactions) -> None:
    split = leave_one_out(ml100k, {}, 0)
    latest_train = pd.Series(split.train.timestamp).groupby(split.train.user_idx).max()
    valid = pd.Series(split.valid.timestamp, index=split.valid.user_idx).sort_index()
    test = pd.Series(split.test.timestamp, index=split.test.user_idx).sort_index()
    assert (latest_train.loc[valid.index] <= valid).all() and (valid <= test.loc[valid.index]).all()


def test_leave_one_out_breaks_ties_by_row_order_and_keeps_short_users_in_train() -> None:
    #            user 0  | user 1   | user 2: two rows tie at t=9; the later row in the data is "latest"
    users = np.array([0, 1, 1, 2, 2, 2, 2])
    items = np.array([0, 0, 1, 0, 1, 2, 3])
    stamp = np.array([5, 1, 2, 9, 3, 9, 4])
    data = Interactions.from_indices(users, items, timestamp=stamp)
    with_valid = part_of_row(leave_one_out(data, {"valid": True}, 0), data)
    assert with_valid.tolist() == [TRAIN, TRAIN, TRAIN, VALID, TRAIN, TEST, TRAIN]
    without = part_of_row(leave_one_out(data, {"valid": False}, 0), data)
    assert without.tolist() == [TRAIN, TRAIN, TEST, TRAIN, TRAIN, TEST, TRAIN]


# -- temporal ---------------------------------------------------------------------------------------------
def test_temporal_by_fraction_takes_the_latest_rows_globally(ml100k: Interactions) -> None:
    split = temporal(ml100k, {"test_fraction": 0.15, "valid_fraction": 0.05}, 0)
    part = part_of_row(split, ml100k)
    n_test, n_valid = int(round_half_up(len(ml100k) * 0.15)), int(round_half_up(len(ml100k) * 0.05))
    assert (len(split.test), len(split.valid)) == (n_test, n_valid) == (15000, 5000)
    by_time = np.argsort(ml100k.timestamp, kind="stable")  # ties: earlier row first
    assert np.all(part[by_time[len(ml100k) - n_test:]] == TEST)
    assert np.all(part[by_time[len(ml100k) - n_test - n_valid:len(ml100k) - n_test]] == VALID)
    assert split.train.timestamp.max() <= split.valid.timestamp.min()
    assert split.valid.timestamp.max() <= split.test.timestamp.min()


def test_temporal_by_date_accepts_iso_and_unix_seconds(ml100k: Interactions) -> None:
    test_cut, valid_cut = 888_710_400, 886_032_000  # 1998-03-01 and 1998-01-29, UTC
    iso = temporal(ml100k, {"test_start": "1998-03-01", "valid_start": "1998-01-29T00:00:00+00:00"}, 0)
    unix = temporal(ml100k, {**{"test_fraction": 0.1, "valid_fraction": 0.1},  # merged defaults are ignored
                             "test_start": test_cut, "valid_start": valid_cut}, 0)
    part = part_of_row(iso, ml100k)
    assert np.array_equal(part, part_of_row(unix, ml100k))
    ts = ml100k.timestamp
    expected = np.where(ts >= test_cut, TEST, np.where(ts >= valid_cut, VALID, TRAIN))
    assert np.array_equal(part, expected) and len(iso.valid) > 0 and len(iso.test) > 0
    assert iso.train.timestamp.max() < iso.valid.timestamp.min() <= iso.valid.timestamp.max() < iso.test.timestamp.min()
    no_valid = part_of_row(temporal(ml100k, {"test_start": test_cut}, 0), ml100k)
    assert np.array_equal(no_valid, np.where(ts >= test_cut, TEST, TRAIN))
    toml_date = part_of_row(temporal(ml100k, {"test_start": dt.date(1998, 3, 1)}, 0), ml100k)  # tomllib's type
    assert np.array_equal(toml_date, no_valid)


# -- kfold ----------------------------------------------------------------------------------------------
def test_kfold_by_interaction_folds_partition_each_users_rows(ml100k: Interactions) -> None:
    k, n = 5, ml100k.user_counts()
    tests = np.stack([part_of_row(kfold(ml100k, {"k": k, "fold": f}, 3), ml100k) == TEST for f in range(k)])
    assert np.all(tests.sum(axis=0) == 1), "every row is test in exactly one fold"
    for fold_test in tests:
        n_test = np.bincount(ml100k.user_idx[fold_test], minlength=ml100k.n_users)
        assert np.all((n_test == n // k) | (n_test == -(-n // k)))
    assert not np.array_equal(tests[0], tests[1])


def test_kfold_valid_fraction_is_carved_per_user_from_training_rows(ml100k: Interactions) -> None:
    part = part_of_row(kfold(ml100k, {"k": 4, "fold": 2, "valid_fraction": 0.2}, 0), ml100k)
    m = ml100k.user_counts() - per_user(ml100k, part, TEST)
    assert np.array_equal(per_user(ml100k, part, VALID), np.minimum(round_half_up(m * 0.2), m - 1))
    assert per_user(ml100k, part, TRAIN).min() >= 1


def test_kfold_keeps_one_row_users_in_train() -> None:
    data = Interactions.from_indices(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 0, 1, 0, 1, 2]))
    for fold in range(2):
        part = part_of_row(kfold(data, {"k": 2, "fold": fold}, 0), data)
        assert part[0] == TRAIN and per_user(data, part, TRAIN).min() >= 1


def test_kfold_by_user_is_cold_user_and_partitions_users(ml100k: Interactions) -> None:
    k = 4
    parts = [part_of_row(kfold(ml100k, {"k": k, "fold": f, "by": "user", "valid_fraction": 0.1}, 8), ml100k)
             for f in range(k)]
    test_users = [np.unique(ml100k.user_idx[p == TEST]) for p in parts]
    assert sorted(np.concatenate(test_users).tolist()) == list(range(ml100k.n_users)), "each user tested once"
    assert {u.shape[0] for u in test_users} <= {ml100k.n_users // k, -(-ml100k.n_users // k)}
    for part, users in zip(parts, test_users, strict=True):
        roles = pd.Series(part).groupby(ml100k.user_idx).nunique()
        assert (roles == 1).all(), "a user's rows are all in one part (cold valid and test users)"
        n_valid_users = np.unique(ml100k.user_idx[part == VALID]).shape[0]
        assert n_valid_users == round_half_up((ml100k.n_users - users.shape[0]) * 0.1)


# -- strong_generalization -----------------------------------------------------------------------------
@pytest.mark.parametrize(("heldout", "expected_users"), [(100, 100), (0.1, 94)])
def test_strong_generalization_holds_out_users_with_fold_in_rows(
    ml100k: Interactions, heldout: float, expected_users: int
) -> None:
    split = strong_generalization(ml100k, {"heldout_users": heldout, "fold_in_fraction": 0.8}, 4)
    part = part_of_row(split, ml100k)
    role = pd.Series(part).groupby(ml100k.user_idx).agg(lambda p: frozenset(p.tolist()))
    assert set(role.unique()) == {frozenset({TRAIN}), frozenset({FOLD_IN, TEST}), frozenset({FOLD_IN, VALID})}
    assert (role == frozenset({FOLD_IN, TEST})).sum() == expected_users
    assert (role == frozenset({FOLD_IN, VALID})).sum() == expected_users
    n = ml100k.user_counts()
    held = per_user(ml100k, part, FOLD_IN) > 0
    n_fold_in = np.clip(round_half_up(n * 0.8), 1, n)
    assert np.array_equal(per_user(ml100k, part, FOLD_IN)[held], n_fold_in[held])
    out = per_user(ml100k, part, TEST) + per_user(ml100k, part, VALID)
    assert np.array_equal(out[held], (n - n_fold_in)[held]) and np.all(out[~held] == 0)
    assert not np.isin(split.train.user_idx, split.fold_in.user_idx).any()


def test_strong_generalization_on_synthetic_and_a_one_row_user() -> None:
    data = Interactions.from_indices(np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3]), np.arange(10) % 4)
    for seed in range(6):
        part = part_of_row(strong_generalization(data, {"heldout_users": 1, "fold_in_fraction": 0.5}, seed), data)
        fold_in = per_user(data, part, FOLD_IN)
        held = fold_in > 0
        assert held.sum() == 2 and per_user(data, part, TRAIN)[held].sum() == 0
        assert np.array_equal(fold_in[held], np.clip(round_half_up(data.user_counts() * 0.5), 1, None)[held])


def test_temporal_refuses_timestamps_that_are_only_an_order() -> None:
    import dataclasses

    from recbench.errors import ConfigError

    users = np.repeat(np.arange(20), 5)
    data = Interactions.from_indices(users, np.tile(np.arange(5), 20), n_users=20, n_items=5,
                                     timestamp=np.arange(100, dtype=np.int64), name="positions")
    ordered = dataclasses.replace(data, timestamp_is_order=True)
    assert ordered.fingerprint() == data.fingerprint()  # the same rows, the same data
    with pytest.raises(ConfigError, match="dataset 'positions' has no times, only each user's order"):
        temporal(ordered, {}, 0)
    assert leave_one_out(ordered, {}, 0).split_id == leave_one_out(data, {}, 0).split_id  # per-user order is fine
    temporal(data, {}, 0)  # real times: as before


def test_one_random_holdout_is_one_split_id_however_its_fractions_are_written(ml100k) -> None:
    from recbench.errors import ConfigError

    same = [random_holdout(ml100k, {"test_fraction": 0.2, "valid_fraction": v}, 0) for v in (0, 0.0)]
    assert same[0].split_id == same[1].split_id and same[0].params["valid_fraction"] == 0.0
    for bad in ({"test_fraction": "0.2"}, {"valid_fraction": False}):
        with pytest.raises(ConfigError, match="must be a number in"):
            random_holdout(ml100k, {**RANDOM_HOLDOUT_DEFAULTS, **bad}, 0)


def test_one_temporal_cut_is_one_split_id_however_its_date_is_written(ml100k) -> None:
    cuts = ["1998-03-01", 888710400, "1998-03-01T00:00:00", 888710399.5]
    splits = [temporal(ml100k, {"test_start": cut}, 0) for cut in cuts]
    assert len({s.split_id for s in splits}) == 1
    assert splits[0].params["test_start"] == "1998-03-01 00:00:00"
    assert all(np.array_equal(s.test.user_idx, splits[0].test.user_idx) for s in splits)
    by_fraction = [temporal(ml100k, {"test_fraction": f, "valid_fraction": 0}, 0) for f in (0.2, 0.2000)]
    assert by_fraction[0].params["valid_fraction"] == 0.0 and by_fraction[0].split_id == by_fraction[1].split_id
