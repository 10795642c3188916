"""The two-stage exact top-k against lax.top_k and an independent numpy reference, and in the evaluator."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from recbench.data.interactions import Interactions
from recbench.evaluate import ranking
from recbench.evaluate.metric_names import parse_metric
from recbench.evaluate.ranking import RankingEvaluator, plan_ranking
from recbench.evaluate.topk import top_k_exact, uses_two_stages
from recbench.manager import PluginHost
from tests.test_metrics import FixedScores

LOWEST = np.array(-1, np.int32).view(np.float32)  # bits 0xFFFFFFFF: a NaN, the last value in the total order
SPECIALS = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, LOWEST,
                     np.array(0x7F800001, np.int32).view(np.float32)], np.float32)  # + a NaN with another payload


def numpy_top_k(x_BxI: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort by the IEEE total order, descending (lax.top_k's documented comparator), ties to the lower index."""
    bits = x_BxI.view(np.int32).astype(np.int64)
    key = np.where(bits < 0, bits ^ 0x7FFFFFFF, bits)
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(x_BxI, order, axis=1), order


def random_rows(rng: np.random.Generator, n_rows: int, n_items: int) -> np.ndarray:
    """Rows of many kinds: continuous, heavy ties, -inf masking, fully masked, all equal, special values, NaNs."""
    x = np.empty((n_rows, n_items), np.float32)
    for r in range(n_rows):
        kind = r % 8
        if kind == 0:
            row = rng.standard_normal(n_items)
        elif kind == 1:  # heavy ties: small integers
            row = rng.integers(0, 3, n_items).astype(np.float64)
        elif kind == 2:  # ties and masking, the evaluator's case
            row = rng.integers(0, 4, n_items).astype(np.float64)
            row[rng.random(n_items) < rng.uniform(0.1, 0.99)] = -np.inf
        elif kind == 3:  # fully masked
            row = np.full(n_items, -np.inf)
        elif kind == 4:  # all equal
            row = np.full(n_items, float(rng.integers(-2, 3)))
        elif kind == 5:  # special values among ties
            row = SPECIALS[rng.integers(0, SPECIALS.size, n_items)]
        elif kind == 6:  # only NaNs with the sign bit, which rank below -inf
            row = np.where(rng.random(n_items) < 0.5, LOWEST, -np.nan)
        else:  # few finite items among -inf, fewer than k possible
            row = np.full(n_items, -np.inf)
            finite = rng.choice(n_items, size=min(n_items, int(rng.integers(0, 4))), replace=False)
            row[finite] = rng.standard_normal(1)[0]  # equal scores
        x[r] = np.asarray(row, np.float32)
    return x


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    bits_a, bits_b = (np.ascontiguousarray(v).view(np.int32) for v in (a, b))
    return a.shape == b.shape and np.array_equal(bits_a, bits_b)


# (n_items, k, group): items fewer than, equal to and not a multiple of the group; k from 1 to all items
CASES = [(1, 1, 4), (5, 2, 4), (7, 7, 2), (31, 3, 8), (32, 4, 8), (33, 5, 8), (33, 33, 4), (100, 1, 8),
         (100, 10, 8), (101, 12, 4), (257, 10, 32), (257, 20, 16), (1030, 10, 32), (1682, 10, 32),
         (1682, 50, 8), (3706, 10, 32), (513, 64, 2), (64, 7, 3)]


@pytest.mark.parametrize(("n_items", "k", "group"), CASES)
def test_identical_to_lax_top_k_and_numpy(n_items: int, k: int, group: int) -> None:
    rng = np.random.default_rng(n_items * 1000 + k * 10 + group)
    x = random_rows(rng, 72, n_items)  # 18 shapes x 72 rows = 1,296 randomised cases
    assert uses_two_stages(n_items, k, group, min_items=0) == (-(-n_items // group) > k)
    values, indices = jax.jit(lambda s: top_k_exact(s, k, group=group, min_items=0))(jnp.asarray(x))
    lax_values, lax_indices = jax.lax.top_k(jnp.asarray(x), k)
    ref_values, ref_indices = numpy_top_k(x, k)
    assert indices.dtype == lax_indices.dtype and values.dtype == lax_values.dtype
    np.testing.assert_array_equal(np.asarray(indices), np.asarray(lax_indices))
    assert same_bits(np.asarray(values), np.asarray(lax_values))
    np.testing.assert_array_equal(np.asarray(indices), ref_indices)
    assert same_bits(np.asarray(values), ref_values)


def test_plain_stable_argsort_reference_on_masked_ties() -> None:
    """Without NaN or -0.0, the order is the documented one: score descending, then lower item index."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, (200, 3706)).astype(np.float32)
    x[rng.random(x.shape) < 0.5] = -np.inf
    x[::17] = -np.inf
    assert uses_two_stages(3706, 10)
    for k, min_items in ((10, None), (20, 0)):
        values, indices = top_k_exact(jnp.asarray(x), k, min_items=min_items)
        order = np.argsort(-x, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(np.asarray(indices), order)
        np.testing.assert_array_equal(np.asarray(values), np.take_along_axis(x, order, axis=1))
        np.testing.assert_array_equal(np.asarray(indices)[0], np.arange(k))  # fully masked: the first items


def test_default_path_leading_axes_and_other_dtypes() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 3, (2, 3, 2000)).astype(np.int32)
    negative = -rng.integers(1, 1_000_000, (4, 2000)).astype(np.int32)  # the k-th group maximum < 0
    assert uses_two_stages(2000, 10)
    for array in (jnp.asarray(x), jnp.asarray(x, jnp.float16), jnp.asarray(x, jnp.bfloat16), jnp.asarray(negative)):
        values, indices = top_k_exact(array, 10)
        lax_values, lax_indices = jax.lax.top_k(array, 10)
        assert values.shape == (*array.shape[:-1], 10) and values.dtype == array.dtype
        np.testing.assert_array_equal(np.asarray(indices), np.asarray(lax_indices))
        np.testing.assert_array_equal(np.asarray(values), np.asarray(lax_values))


def test_small_catalogues_and_many_groups_fall_back() -> None:
    assert not uses_two_stages(100, 10)  # small catalogue: plain lax.top_k
    assert uses_two_stages(512, 10) and not uses_two_stages(511, 10)
    assert uses_two_stages(1280, 20) and not uses_two_stages(1279, 20)  # larger k needs more items
    assert not uses_two_stages(5000, 157, group=32, min_items=0)  # 157 groups <= k
    assert uses_two_stages(5000, 156, group=32, min_items=0)
    assert not uses_two_stages(5000, 0)
    assert top_k_exact(jnp.zeros((2, 5000)), 0)[1].shape == (2, 0)


def test_k_beyond_the_items_is_refused() -> None:
    with pytest.raises(ValueError, match="k=6 must be between 0 and the 5 items"):
        top_k_exact(jnp.zeros((2, 5)), 6)


def test_evaluator_results_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluator with the two-stage top-k gives the same per-user and global values as with lax.top_k."""
    rng = np.random.default_rng(11)
    n_users, n_items = 300, 2100
    scores = rng.integers(0, 6, (n_users, n_items)).astype(np.float32)  # heavy ties
    scores[5] = 0.0
    train_mask = rng.random((n_users, n_items)) < 0.3
    train_mask[7] = True  # a user with everything masked but the test items
    test_mask = (rng.random((n_users, n_items)) < 0.01) & ~train_mask
    test_mask[7, :3] = True
    train_mask[7, :3] = False
    u, i = np.nonzero(train_mask)
    train = Interactions.from_indices(u, i, n_users=n_users, n_items=n_items)
    u, i = np.nonzero(test_mask)
    test = Interactions.from_indices(u, i, n_users=n_users, n_items=n_items)
    plan = plan_ranking(test, [train], 128)
    specs = {name: spec.spec for name, spec in PluginHost(autoload=False).all("metrics").items()}
    refs = ["ndcg@10", "recall@5", "mrr@10", "ndcg_graded@10", "coverage@10", "gini@5", "novelty@10", "auc"]
    table = {parse_metric(r): specs[parse_metric(r).name] for r in refs}
    assert uses_two_stages(n_items, 10)

    def run() -> tuple[dict[str, np.ndarray], dict[str, float]]:
        result = RankingEvaluator({"test": plan}, n_items, table).evaluate(FixedScores(scores), "test")
        return result.per_user, result.global_values

    per_user, global_values = run()
    monkeypatch.setattr(ranking, "top_k_exact", jax.lax.top_k)
    lax_per_user, lax_global_values = run()
    assert per_user.keys() == lax_per_user.keys() and global_values == lax_global_values
    for name, values in per_user.items():
        np.testing.assert_array_equal(values, lax_per_user[name])
    assert per_user["ndcg@10"].max() > 0 and 0 < global_values["coverage@10"] < 1
