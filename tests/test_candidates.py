from __future__ import annotations

import numpy as np
import pytest

from recbench.builtin.splitters import random_holdout
from recbench.data.candidates import candidates_from_config, sample_negatives
from recbench.errors import ConfigError


@pytest.fixture(scope="module")
def split(ml100k):
    return random_holdout(ml100k, {}, 0)


@pytest.mark.parametrize("sampling", ["uniform", "popularity"])
def test_negatives_are_distinct_unknown_items_and_seeded(split, sampling: str) -> None:
    cands = sample_negatives(split, 99, sampling, seed=5)
    assert cands.items_UxC.shape == (943, 99) and cands.source == f"{sampling}:99"
    assert np.array_equal(cands.users, np.unique(split.test.user_idx))
    known = set()
    for part in split.parts().values():
        known |= set(zip(part.user_idx.tolist(), part.item_idx.tolist(), strict=True))
    for row, user in enumerate(cands.users.tolist()):
        items = cands.items_UxC[row].tolist()
        assert len(set(items)) == 99
        assert not any((user, i) in known for i in items)
    again = sample_negatives(split, 99, sampling, seed=5)
    other = sample_negatives(split, 99, sampling, seed=6)
    assert again.digest() == cands.digest() != other.digest()


def test_popularity_sampling_prefers_popular_items(split) -> None:
    counts = split.train.item_counts()
    popular = sample_negatives(split, 50, "popularity", 0).items_UxC
    uniform = sample_negatives(split, 50, "uniform", 0).items_UxC
    assert counts[popular].mean() > 2 * counts[uniform].mean()
    assert (counts[popular] > 0).all()


def test_candidates_change_the_split_id_and_are_labelled(split) -> None:
    sampled = candidates_from_config(split, {"negatives": 20}, 0)
    assert sampled.split_id != split.split_id
    assert sampled.describe()["candidates"] == {"source": "uniform:20", "users": 943, "per_user": 20}


def test_bad_candidate_configs(split) -> None:
    with pytest.raises(ConfigError, match="unknown keys"):
        candidates_from_config(split, {"negative": 9}, 0)
    with pytest.raises(ConfigError, match="not one of"):
        sample_negatives(split, 9, "zipf", 0)
    with pytest.raises(ConfigError, match="fewer than 1600"):
        sample_negatives(split, 1600, "uniform", 0)


def test_uniform_negatives_come_from_the_items_the_data_still_has(ml100k) -> None:
    from recbench.data.preprocess import preprocess

    cored, _ = preprocess(ml100k, [{"step": "kcore", "users": 20, "items": 20}])  # no compact: items left rowless
    split = random_holdout(cored, {}, 0)
    with_rows = np.unique(np.concatenate([p.item_idx for p in split.parts().values()]))
    assert with_rows.size < cored.n_items  # the case at hand
    cands = sample_negatives(split, 99, "uniform", seed=3)
    assert np.isin(cands.items_UxC, with_rows).all()  # never an item no one has (it would be a free negative)
    with pytest.raises(ConfigError, match=f"negatives remain among {with_rows.size} items"):
        sample_negatives(split, with_rows.size, "uniform", seed=3)
