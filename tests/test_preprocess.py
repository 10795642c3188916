from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest

from recbench.data.interactions import Interactions, Vocabulary
from recbench.data.preprocess import STEP_NAMES, StepReport, describe_reports, kcore_mask, preprocess, validate_steps
from recbench.errors import ConfigError, DataError


def make(
    pairs: list[tuple[int, int]],
    *,
    timestamp: list[int] | None = None,
    rating: list[float] | None = None,
    n_users: int | None = None,
    n_items: int | None = None,
    features: bool = True,
    fixed_part: list[int] | None = None,
) -> Interactions:
    """Small hand-made data; raw ids are ``u<index>`` / ``i<index>``; features are the index * 10."""
    users = np.array([p[0] for p in pairs], dtype=np.int64)
    items = np.array([p[1] for p in pairs], dtype=np.int64)
    nu = n_users if n_users is not None else int(users.max()) + 1
    ni = n_items if n_items is not None else int(items.max()) + 1
    return Interactions(
        user_idx=users,
        item_idx=items,
        n_users=nu,
        n_items=ni,
        timestamp=None if timestamp is None else np.array(timestamp),
        rating=None if rating is None else np.array(rating, dtype=np.float32),
        users=Vocabulary(np.array([f"u{u}" for u in range(nu)])),
        items=Vocabulary(np.array([f"i{i}" for i in range(ni)])),
        user_features={"age": np.arange(nu) * 10} if features else {},
        item_features={"genres": np.eye(ni, 3, dtype=np.int8), "year": np.arange(ni) * 10} if features else {},
        fixed_part=None if fixed_part is None else np.array(fixed_part),
        name="toy",
    )


def rows_of(data: Interactions) -> list[tuple[int, int]]:
    return list(zip(data.user_idx.tolist(), data.item_idx.tolist(), strict=True))


def assert_features_untouched(before: Interactions, after: Interactions) -> None:
    assert (after.n_users, after.n_items) == (before.n_users, before.n_items)
    assert after.users is before.users and after.items is before.items
    for name, values in before.item_features.items():
        np.testing.assert_array_equal(after.item_features[name], values)
    for name, values in before.user_features.items():
        np.testing.assert_array_equal(after.user_features[name], values)


# -- drop_missing ---------------------------------------------------------------------------------


def test_drop_missing_drops_nan_ratings_only() -> None:
    data = make([(0, 0), (0, 1), (1, 0), (1, 2)], rating=[1, np.nan, 3, np.nan], timestamp=[5, 6, 7, 8])
    out, [report] = preprocess(data, [{"step": "drop_missing"}])
    assert rows_of(out) == [(0, 0), (1, 0)]
    np.testing.assert_array_equal(out.rating, [1, 3])
    np.testing.assert_array_equal(out.timestamp, [5, 7])
    assert (report.rows_before, report.rows_after, report.removed) == (4, 2, 2)
    assert (report.users_after, report.items_after) == (2, 1)
    assert_features_untouched(data, out)


def test_drop_missing_without_rating_or_timestamp_keeps_everything() -> None:
    data = make([(0, 0), (1, 1)])
    out, [report] = preprocess(data, ["drop_missing"])  # a bare name is shorthand
    assert rows_of(out) == rows_of(data) and report.removed == 0


# -- deduplicate ----------------------------------------------------------------------------------

# rows:          0       1       2       3       4       5       6
DUP_PAIRS = [(0, 0), (0, 1), (0, 0), (1, 0), (0, 0), (1, 0), (0, 1)]
DUP_TIME = [30, 10, 50, 20, 50, 20, 5]  # (0,0): rows 2 and 4 tie at 50; (1,0): rows 3 and 5 tie at 20


@pytest.mark.parametrize(
    ("keep", "timestamp", "expected_rows"),
    [
        ("latest", DUP_TIME, [1, 4, 5]),  # ties go to the later row; (0,1) keeps row 1 (t=10 > t=5)
        ("first", DUP_TIME, [0, 1, 3]),
        ("last", DUP_TIME, [4, 5, 6]),
        ("latest", None, [4, 5, 6]),  # without timestamps "latest" is the last row
    ],
)
def test_deduplicate_known_answers(keep: str, timestamp: list[int] | None, expected_rows: list[int]) -> None:
    rating = [float(r) for r in range(len(DUP_PAIRS))]  # rating = original row number
    data = make(DUP_PAIRS, timestamp=timestamp, rating=rating, fixed_part=[0, 1, 2, 0, 1, 2, 0])
    out, [report] = preprocess(data, [{"step": "deduplicate", "keep": keep}])
    assert out.rating.tolist() == expected_rows  # kept rows, in data order
    assert rows_of(out) == [DUP_PAIRS[r] for r in expected_rows]
    assert out.fixed_part.tolist() == [[0, 1, 2, 0, 1, 2, 0][r] for r in expected_rows]
    assert out.duplicate_pair_count() == 0 and report.removed == 4 and report.params == {"keep": keep}
    assert_features_untouched(data, out)


def test_deduplicate_defaults_to_latest() -> None:
    data = make(DUP_PAIRS, timestamp=DUP_TIME, rating=[float(r) for r in range(7)])
    out, [report] = preprocess(data, [{"step": "deduplicate"}])
    assert report.params == {"keep": "latest"} and out.rating.tolist() == [1, 4, 5]


def reference_dedupe(pairs: list[tuple[int, int]], timestamp: list[int], keep: str) -> list[int]:
    chosen: dict[tuple[int, int], int] = {}
    for row, pair in enumerate(pairs):
        if pair not in chosen or keep == "last":
            chosen[pair] = row
        elif keep == "latest" and timestamp[row] >= timestamp[chosen[pair]]:
            chosen[pair] = row
    return sorted(chosen.values())


@pytest.mark.parametrize("keep", ["latest", "first", "last"])
def test_deduplicate_matches_plain_python_on_random_cases(keep: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        n = int(rng.integers(1, 40))
        pairs = list(zip(rng.integers(0, 4, n).tolist(), rng.integers(0, 4, n).tolist(), strict=True))
        timestamp = rng.integers(0, 4, n).tolist()  # few values: many ties
        data = make(pairs, timestamp=timestamp, rating=[float(r) for r in range(n)], n_users=4, n_items=4)
        out, _ = preprocess(data, [{"step": "deduplicate", "keep": keep}])
        assert out.rating.astype(int).tolist() == reference_dedupe(pairs, timestamp, keep)


# -- rating_range ---------------------------------------------------------------------------------


def test_rating_range_drops_rows_outside_including_nan() -> None:
    data = make([(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)], rating=[0, 1, 5, 6, np.nan])
    out, [report] = preprocess(data, [{"step": "rating_range", "min": 1, "max": 5}])
    assert rows_of(out) == [(0, 1), (1, 0)] and report.removed == 3
    assert report.params == {"min": 1, "max": 5, "action": "drop"}
    out, _ = preprocess(data, [{"step": "rating_range", "min": 1}])  # one bound is enough
    assert out.rating.tolist() == [1, 5, 6]
    assert_features_untouched(data, out)


def test_rating_range_error_names_the_original_row_and_value() -> None:
    data = make([(0, 0), (0, 0), (0, 1), (1, 0), (1, 1)], timestamp=[1, 2, 3, 4, 5], rating=[9, 2, 3, 7, 4])
    steps = [{"step": "deduplicate"}, {"step": "rating_range", "min": 1, "max": 5, "action": "error"}]
    # deduplicate drops row 0 (rating 9); the first bad row left is row 3 of the loaded data
    with pytest.raises(DataError, match=r"toy: preprocess\[1\] rating_range\(min=1, max=5, action=\"error\"\): "
                                         r"row 3 of the loaded data has rating 7\.0, outside \[1, 5\]"):
        preprocess(data, steps)
    out, reports = preprocess(data, steps[:1] + [{"step": "rating_range", "max": 8, "action": "error"}])
    assert reports[1].removed == 0 and len(out) == 4


# -- implicit -------------------------------------------------------------------------------------


def test_implicit_keeps_rows_at_or_above_threshold_and_the_rating_column() -> None:
    data = make([(0, 0), (0, 1), (1, 0), (1, 2)], rating=[3.5, 4, 5, 1])
    out, [report] = preprocess(data, [{"step": "implicit", "threshold": 4}])
    assert rows_of(out) == [(0, 1), (1, 0)] and out.rating.tolist() == [4, 5]
    assert (report.removed, report.users_after, report.items_after) == (2, 2, 2)
    assert out.n_items == 3  # implicit does not compact: item 2 keeps its index and features
    assert_features_untouched(data, out)


# -- kcore ----------------------------------------------------------------------------------------

# A chain u0-i0, u0-i1, u1-i1, u1-i2, u2-i2, u2-i3, u3-i3, u3-i4 peels from both ends, one side per
# round, for 4 rounds under kcore(2, 2); the complete 3x3 block on users/items 5..7 survives.
CHAIN = [(k, k + d) for k in range(4) for d in (0, 1)]
BLOCK = [(u, i) for u in range(5, 8) for i in range(5, 8)]


def test_kcore_cascade_needs_several_rounds() -> None:
    data = make(CHAIN + BLOCK, rating=[1.0] * 17)
    out, [report] = preprocess(data, [{"step": "kcore", "users": 2, "items": 2}])
    assert sorted(rows_of(out)) == BLOCK
    assert report.rounds == 4 and report.removed == 8
    assert (report.users_after, report.items_after) == (3, 3)
    assert (out.n_users, out.n_items) == (8, 8)  # no implicit compaction
    assert_features_untouched(data, out)
    assert describe_reports([report]) == "kcore(users=2, items=2): 17 -> 9 rows (-8), 3 users, 3 items, 4 rounds"


def test_kcore_on_a_core_takes_zero_rounds_and_defaults_to_five() -> None:
    block = [(u, i) for u in range(5) for i in range(5)]
    out, [report] = preprocess(make(block), [{"step": "kcore"}])
    assert report.params == {"users": 5, "items": 5} and report.rounds == 0 and len(out) == 25


def reference_kcore(pairs: list[tuple[int, int]], min_user: int, min_item: int) -> set[int]:
    """Plain Python: remove one offending row at a time until every user and item meets its bound."""
    alive = set(range(len(pairs)))
    changed = True
    while changed:
        changed = False
        users = Counter(pairs[r][0] for r in alive)
        items = Counter(pairs[r][1] for r in alive)
        for row in sorted(alive):
            u, i = pairs[row]
            if users[u] < min_user or items[i] < min_item:
                alive.discard(row)
                changed = True
                break
    return alive


def test_kcore_matches_plain_python_on_random_cases() -> None:
    rng = np.random.default_rng(11)
    multi_round = 0
    for _ in range(150):
        n = int(rng.integers(1, 50))
        pairs = list(zip(rng.integers(0, 8, n).tolist(), rng.integers(0, 8, n).tolist(), strict=True))
        min_user, min_item = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        keep, rounds = kcore_mask(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), min_user, min_item)
        assert set(np.flatnonzero(keep).tolist()) == reference_kcore(pairs, min_user, min_item)
        multi_round += rounds >= 2
    assert multi_round >= 10  # the random cases do exercise cascades


# -- compact --------------------------------------------------------------------------------------


def test_compact_reindexes_and_slices_vocabularies_and_features() -> None:
    data = make([(3, 4), (1, 0), (3, 0)], timestamp=[1, 2, 3], rating=[1, 2, 3], n_users=5, n_items=6,
                fixed_part=[0, 2, 1])
    out, [report] = preprocess(data, [{"step": "compact"}])
    assert (out.n_users, out.n_items) == (2, 2) and report.removed == 0
    assert rows_of(out) == [(1, 1), (0, 0), (1, 0)]  # order of the old indices is kept
    assert out.users.raw_ids.tolist() == ["u1", "u3"] and out.items.raw_ids.tolist() == ["i0", "i4"]
    assert out.user_features["age"].tolist() == [10, 30]
    assert out.item_features["year"].tolist() == [0, 40]
    np.testing.assert_array_equal(out.item_features["genres"], data.item_features["genres"][[0, 4]])
    assert out.fixed_part.tolist() == [0, 2, 1] and out.timestamp.tolist() == [1, 2, 3]
    raw = {(out.users.raw_ids[u], out.items.raw_ids[i]) for u, i in rows_of(out)}
    assert raw == {(data.users.raw_ids[u], data.items.raw_ids[i]) for u, i in rows_of(data)}


def test_compact_remaps_published_candidates() -> None:
    if "fixed_candidates" not in Interactions.__dataclass_fields__:
        pytest.skip("Interactions has no fixed_candidates")
    base = make([(3, 4), (1, 0), (3, 0), (1, 2)], n_users=5, n_items=6)
    data = dataclasses.replace(base, fixed_candidates=(np.array([3, 1]), np.array([[0, 2], [4, 4]])))
    out, _ = preprocess(data, ["compact"])  # users 1, 3 -> 0, 1; items 0, 2, 4 -> 0, 1, 2
    assert out.fixed_candidates[0].tolist() == [1, 0] and out.fixed_candidates[1].tolist() == [[0, 1], [2, 2]]
    with pytest.raises(DataError, match="would drop 0 users and 1 items that the published candidate sets"):
        preprocess(dataclasses.replace(base, fixed_candidates=(np.array([3]), np.array([[0, 5]]))), ["compact"])


def test_compact_without_vocabularies_or_features() -> None:
    data = Interactions.from_indices(np.array([2, 2]), np.array([1, 3]), n_users=4, n_items=5)
    out, _ = preprocess(data, ["compact"])
    assert (out.n_users, out.n_items, rows_of(out)) == (1, 2, [(0, 0), (0, 1)])
    assert out.users is None and dict(out.user_features) == {}


# -- the real ml-100k -----------------------------------------------------------------------------


def _frame(data: Interactions) -> pd.DataFrame:
    return pd.DataFrame({"user": data.user_idx, "item": data.item_idx, "rating": data.rating})


def test_ml100k_kcore_known_answers(ml100k: Interactions) -> None:
    df = _frame(ml100k)
    assert df.groupby("user").size().min() == 20  # ml-100k is 20-core for users
    out, [report] = preprocess(ml100k, [{"step": "kcore", "users": 20, "items": 1}])
    assert report.removed == 0 and report.rounds == 0 and out.fingerprint() == ml100k.fingerprint()

    item_counts = df.groupby("item").size()
    expected = int(df["item"].map(item_counts).ge(10).sum())  # users=1: one pass over items is exact
    out, [report] = preprocess(ml100k, [{"step": "kcore", "users": 1, "items": 10}])
    assert report.rows_after == len(out) == expected and report.removed == 100_000 - expected
    assert report.items_after == int((item_counts >= 10).sum()) and report.users_after == 943
    assert_features_untouched(ml100k, out)
    _, reports = preprocess(ml100k, [{"step": "kcore"}])
    assert describe_reports(reports) == (
        "kcore(users=5, items=5): 100000 -> 99287 rows (-713), 943 users, 1349 items, 1 round"
    )


def test_ml100k_full_pipeline(ml100k: Interactions) -> None:
    steps = [
        {"step": "drop_missing"}, {"step": "deduplicate", "keep": "latest"},
        {"step": "rating_range", "min": 1, "max": 5},
        {"step": "implicit", "threshold": 4}, {"step": "kcore", "users": 5, "items": 5}, {"step": "compact"},
    ]
    out, reports = preprocess(ml100k, steps)
    assert [r.step for r in reports] == [s["step"] for s in steps]
    assert [r.removed for r in reports[:3]] == [0, 0, 0]  # ml-100k has no gaps, duplicates or bad ratings
    df = _frame(ml100k)
    assert reports[3].rows_after == int((df["rating"] >= 4).sum())
    assert reports[4].rows_after == reports[5].rows_after == len(out)
    assert all(a.rows_after == b.rows_before for a, b in zip(reports, reports[1:]))
    assert (out.n_users, out.n_items) == (reports[4].users_after, reports[4].items_after)
    assert out.item_features["genres"].shape == (out.n_items, 19)
    assert out.user_features["age"].shape == (out.n_users,)
    assert (out.user_counts() >= 5).all() and (out.item_counts() >= 5).all()
    # features follow their raw ids through compaction (ml-100k index = raw id - 1)
    np.testing.assert_array_equal(out.item_features["genres"], ml100k.item_features["genres"][out.items.raw_ids - 1])
    np.testing.assert_array_equal(out.user_features["age"], ml100k.user_features["age"][out.users.raw_ids - 1])
    lines = describe_reports(reports).splitlines()
    assert len(lines) == 6 and lines[1].startswith('deduplicate(keep="latest"): 100000 -> 100000 rows (-0)')


# -- errors ---------------------------------------------------------------------------------------


def test_a_step_that_empties_the_data_raises_naming_dataset_step_and_params() -> None:
    data = make(CHAIN, rating=[1.0] * 8)
    with pytest.raises(DataError, match=r"dataset toy: preprocess\[1\] kcore\(users=2, items=2\) removed all 8 "
                                         r"remaining rows; use a looser setting"):
        preprocess(data, [{"step": "drop_missing"}, {"step": "kcore", "users": 2, "items": 2}])
    with pytest.raises(DataError, match=r"implicit\(threshold=4\).*a lower threshold"):
        preprocess(data, [{"step": "implicit", "threshold": 4}])
    with pytest.raises(DataError, match="no rows to preprocess"):
        preprocess(data.take(np.zeros(8, dtype=bool)), ["compact"])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"step": "k-core"}], r"preprocess\[0\]: unknown preprocessing step 'k-core'; did you mean 'kcore'\? "
                               r"Known: drop_missing, deduplicate, rating_range, implicit, kcore, features, compact"),
        ([{"step": "dedupe"}], r"did you mean 'deduplicate'"),
        ([{"step": "kcore", "user": 5}], r"\(kcore\): unknown parameter 'user'; did you mean 'users'\?.*got user = 5"),
        ([{"step": "kcore", "users": 0}], r"\(kcore\): users = 0 is invalid: expected an integer >= 1, e.g. users = 5"),
        ([{"step": "kcore", "items": 2.5}], r"items = 2\.5 is invalid"),
        ([{"step": "kcore", "items": True}], r"items = True is invalid"),
        ([{"step": "deduplicate", "keep": "newest"}], r"keep = 'newest' is invalid: expected one of \"latest\""),
        ([{"step": "implicit"}], r"\(implicit\): missing parameter 'threshold'"),
        ([{"step": "implicit", "threshold": "4"}], r"threshold = '4' is invalid: expected a finite number"),
        ([{"step": "rating_range", "max": float("inf")}], r"max = inf is invalid: expected a finite number"),
        ([{"step": "rating_range"}], r"needs min, max or both"),
        ([{"step": "rating_range", "min": 5, "max": 1}], r"min = 5 is greater than max = 1"),
        ([{"step": "rating_range", "min": 1, "action": "warn"}], r"action = 'warn' is invalid"),
        ([{"step": "compact", "users": 1}], r"unknown parameter 'users'.*takes no parameters"),
        ([{"name": "kcore"}], r"preprocess\[0\]: expected a table with a 'step' name"),
        ({"step": "kcore"}, r"expected a list of steps"),
    ],
)
def test_bad_configuration_is_a_config_error(steps: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_steps(steps)
    with pytest.raises(ConfigError, match=message) as raised:
        preprocess(make([(0, 0)], rating=[1.0]), steps)
    assert str(raised.value).startswith("dataset toy: preprocess")


def test_every_step_is_validated_before_any_runs() -> None:
    data = make(CHAIN, rating=[1.0] * 8)
    # the first step would empty the data (DataError); the typo in the last one must win
    with pytest.raises(ConfigError, match="'kcor'"):
        preprocess(data, [{"step": "kcore", "users": 9}, {"step": "kcor"}])
    with pytest.raises(ConfigError, match=r"preprocess\[1\] \(implicit\) needs ratings"):
        preprocess(make(CHAIN), [{"step": "kcore", "users": 9}, {"step": "implicit", "threshold": 4}])


def test_reports_and_step_names() -> None:
    report = StepReport("kcore", {"users": 5, "items": 5}, 100, 90, 9, 8, rounds=2)
    assert report.removed == 10
    assert report.as_dict() == {"step": "kcore", "params": {"users": 5, "items": 5}, "rows_before": 100,
                                "rows_after": 90, "users_after": 9, "items_after": 8, "rounds": 2, "removed": 10}
    assert describe_reports([]) == "" and preprocess(make([(0, 0)]), [])[1] == []
    assert STEP_NAMES == ("drop_missing", "deduplicate", "rating_range", "implicit", "kcore", "features", "compact")


# -- features -------------------------------------------------------------------------------------

ML100K_AGE_BINS = [18, 25, 35, 45, 50, 56]


def test_features_on_ml100k_keeps_encodes_and_reports(ml100k: Interactions, data_dir) -> None:
    steps = [{"step": "features", "user": ["age", "gender", "occupation"], "item": ["genres"],
              "bins": {"age": ML100K_AGE_BINS}}]
    out, [report] = preprocess(ml100k, steps)
    assert report.removed == 0 and out.fingerprint() == ml100k.fingerprint()  # rows untouched
    # an independent reading of u.user with pandas
    users = pd.read_csv(data_dir / "ml-100k" / "u.user", sep="|", header=None,
                        names=["user", "age", "gender", "occupation", "zip"]).sort_values("user")
    assert len(users) == out.n_users == 943
    bucket = pd.cut(users["age"], [-np.inf, *ML100K_AGE_BINS, np.inf], right=False, labels=False).to_numpy()
    assert out.user_features["age"].tolist() == bucket.tolist()
    assert np.bincount(out.user_features["age"]).tolist() == np.bincount(bucket.astype(int)).tolist()
    assert out.user_features["gender"].tolist() == (users["gender"] == "F").astype(int).tolist()  # loaded as F = 1
    occupations = sorted(users["occupation"].unique())
    assert len(occupations) == 21
    assert out.user_features["occupation"].tolist() == [occupations.index(o) for o in users["occupation"]]
    assert all(v.dtype == np.int32 for v in out.user_features.values())
    genres = out.item_features["genres"]
    assert genres.dtype == np.int8 and genres.shape == (1682, 19)
    np.testing.assert_array_equal(genres, ml100k.item_features["genres"])
    assert report.features == {
        "user.age": {"kind": "bucketised", "cardinality": 7, "bins": ML100K_AGE_BINS},
        "user.gender": {"kind": "categorical", "cardinality": 2},
        "user.occupation": {"kind": "categorical", "cardinality": 21},
        "item.genres": {"kind": "multi-hot", "cardinality": 19},
        "dropped": [],
    }
    assert report.as_dict()["features"] == report.features and report.as_dict()["removed"] == 0
    assert describe_reports([report]).endswith(
        "100000 -> 100000 rows (-0), 943 users, 1682 items; kept user.age (bucketised, 7), user.gender "
        "(categorical, 2), user.occupation (categorical, 21), item.genres (multi-hot, 19)")


def test_features_keeps_only_the_named_ones(ml100k: Interactions) -> None:
    out, [report] = preprocess(ml100k, [{"step": "features", "user": ["age"]}])
    assert set(out.user_features) == {"age"} and dict(out.item_features) == {}
    assert report.features["user.age"] == {"kind": "categorical", "cardinality": 61}  # no bins: one code per age
    assert report.features["dropped"] == ["user.gender", "user.occupation", "item.genres"]
    assert "; dropped user.gender, user.occupation, item.genres" in report.describe()
    ages = np.unique(ml100k.user_features["age"])
    assert ages[out.user_features["age"]].tolist() == ml100k.user_features["age"].tolist()  # codes decode


def test_feature_encodings_known_answers() -> None:
    data = dataclasses.replace(
        make([(0, 0), (1, 1), (2, 2), (3, 0)]),
        user_features={
            "city": np.array([7, -1, 3, 7]),  # -1: missing, as the RecBole reader writes it
            "name": np.array(["b", "", "a", "b"], dtype=object),
            "score": np.array([0.5, np.nan, 2.0, 0.5], np.float32),
            "flag": np.array([True, False, True, True]),
        },
        item_features={"genres": np.eye(3, 4, dtype=np.int64), "emb": np.full((3, 2), 0.25)},
    )
    steps = [{"step": "features", "user": ["city", "name", "score", "flag"], "item": ["genres", "emb"]}]
    out, [report] = preprocess(data, steps)
    uf, itf = out.user_features, out.item_features
    assert uf["city"].tolist() == [1, 2, 0, 1] and report.features["user.city"] == {
        "kind": "categorical", "cardinality": 3, "missing": 1}
    assert uf["name"].tolist() == [1, 2, 0, 1]
    assert uf["flag"].tolist() == [1, 0, 1, 1] and report.features["user.flag"]["cardinality"] == 2
    assert uf["score"].dtype == np.float32 and report.features["user.score"] == {"kind": "numeric", "cardinality": 2}
    assert itf["genres"].dtype == np.int8 and report.features["item.genres"] == {"kind": "multi-hot", "cardinality": 4}
    assert itf["emb"].dtype == np.float32 and report.features["item.emb"]["kind"] == "matrix"
    out, [report] = preprocess(data, [{"step": "features", "user": ["score"], "bins": {"score": [0, 1]}}])
    assert out.user_features["score"].tolist() == [1, 3, 2, 1]  # [0,1) -> 1, >= 1 -> 2, NaN -> 3
    assert report.features["user.score"] == {"kind": "bucketised", "cardinality": 4, "bins": [0, 1], "missing": 1}


def test_features_then_compact_slices_the_encoded_features() -> None:
    data = make([(3, 4), (1, 0)], n_users=5, n_items=6)
    out, _ = preprocess(data, [{"step": "features", "user": ["age"], "item": ["genres"]}, "compact"])
    assert out.user_features["age"].tolist() == [1, 3]  # ages 10, 30 were codes 1, 3 of 0..40
    np.testing.assert_array_equal(out.item_features["genres"], np.eye(6, 3, dtype=np.int8)[[0, 4]])


@pytest.mark.parametrize(("step", "message"), [
    ({"step": "features", "user": ["agee"]}, r"unknown user feature 'agee'; did you mean 'age'\? Known: age"),
    ({"step": "features", "item": ["genre"]}, r"unknown item feature 'genre'; did you mean 'genres'.*Known: genres, year"),
    ({"step": "features", "item": ["genres"], "bins": {"genres": [1]}}, r"bins for item feature 'genres': it is not a numeric"),
    ({"step": "features", "user": ["age"], "bins": {"year": [1]}}, r"bins for 'year', which is not in user or item"),
    ({"step": "features", "user": ["age"], "bins": {"age": [5, 3]}}, r"bins = .* is invalid: expected a table"),
    ({"step": "features", "user": "age"}, r"user = 'age' is invalid: expected a list of distinct feature names"),
    ({"step": "features", "user": ["age", "age"]}, r"expected a list of distinct feature names"),
    ({"step": "features"}, r"name the features to keep"),
    ({"step": "features", "users": ["age"]}, r"unknown parameter 'users'; did you mean 'user'"),
])
def test_bad_features_step_is_a_config_error_before_any_step_runs(step: dict, message: str) -> None:
    data = make(CHAIN)
    with pytest.raises(ConfigError, match=message):
        preprocess(data, [{"step": "kcore", "users": 99}, step])  # the kcore would empty the data first


def test_features_on_data_without_features_says_so() -> None:
    with pytest.raises(ConfigError, match="the data has no user features"):
        preprocess(make([(0, 0)], features=False), [{"step": "features", "user": ["age"]}])


def test_a_later_features_step_cannot_use_a_dropped_feature() -> None:
    steps = [{"step": "features", "user": ["age"], "item": ["genres", "year"]}, {"step": "features", "item": ["genres"]}]
    out, _ = preprocess(make(CHAIN), steps)
    assert dict(out.user_features) == {} and set(out.item_features) == {"genres"}
    with pytest.raises(ConfigError, match=r"preprocess\[1\] features\(item=\[.year.\]\): unknown item feature 'year'"):
        preprocess(make(CHAIN), [{"step": "features", "item": ["genres"]}, {"step": "features", "item": ["year"]}])
