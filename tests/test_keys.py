import numpy as np
import pytest

from recbench.data.keys import member, sorted_unique


@pytest.mark.parametrize("seed", range(20))
def test_member_and_unique_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 60, int(rng.integers(0, 300)), dtype=np.int64)
    pool = np.sort(rng.integers(0, 60, int(rng.integers(0, 40)), dtype=np.int64))
    assert np.array_equal(member(keys, pool), np.isin(keys, pool))
    assert np.array_equal(sorted_unique(keys), np.unique(keys))


def test_member_keeps_the_shape_of_2d_queries() -> None:
    keys = np.array([[5, 1, 9], [2, 2, 7]])
    assert member(keys, np.array([2, 9])).tolist() == [[False, False, True], [True, True, False]]
