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
