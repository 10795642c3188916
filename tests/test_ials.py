"""iALS's collapse threshold: where the all-zero factors attract (an l2 that does not transfer between data sets)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from recbench.builtin.models.ials import IALS, alternate, collapse_l2, padded_histories
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError


@pytest.fixture(scope="module")
def sparse() -> Interactions:
    """40 users x 60 items, about 10% dense, with a duplicate pair, an empty user and an empty item."""
    rng = np.random.default_rng(0)
    dense = rng.random((40, 60)) < 0.1
    dense[3] = False
    dense[:, 59] = False
    users, items = np.nonzero(dense)
    users, items = np.append(users, users[0]), np.append(items, items[0])  # a duplicate counts twice
    return Interactions.from_indices(users, items, n_users=40, n_items=60)


def _reference_threshold(data: Interactions, a0: float, nu: float) -> float:
    r = np.zeros((data.n_users, data.n_items))
    np.add.at(r, (data.user_idx, data.item_idx), 1.0)
    du = r.sum(1) + a0 * data.n_items
    di = r.sum(0) + a0 * data.n_users
    su = np.array([d ** (-nu / 2) if d > 0 else 0.0 for d in du])  # an empty row without a0 has no system
    si = np.array([d ** (-nu / 2) if d > 0 else 0.0 for d in di])
    return float(np.linalg.svd(su[:, None] * r * si[None, :], compute_uv=False)[0])


@pytest.mark.parametrize(("a0", "nu"), [(0.1, 1.0), (0.5, 0.5), (0.0, 1.0)])
def test_collapse_threshold_equals_the_dense_svd(sparse: Interactions, a0: float, nu: float) -> None:
    assert collapse_l2(sparse, a0, nu) == pytest.approx(_reference_threshold(sparse, a0, nu), rel=1e-4)


def _norms_after(data: Interactions, l2: float, epochs: int) -> float:
    rng = np.random.default_rng(1)
    users0 = jnp.asarray(rng.normal(0, 0.01, (data.n_users, 4)), jnp.float32)
    items0 = jnp.asarray(rng.normal(0, 0.01, (data.n_items, 4)), jnp.float32)
    user_hist = padded_histories(data.user_idx, data.item_idx, data.n_users, data.n_items)
    _, items = alternate(users0, items0, jnp.asarray(user_hist),
                         jnp.asarray(padded_histories(data.item_idx, data.user_idx, data.n_items, data.n_users)),
                         jnp.asarray(data.user_counts(), jnp.float32), jnp.asarray(data.item_counts(), jnp.float32),
                         epochs=epochs, unobserved_weight=0.1, l2=l2, l2_exponent=1.0, user_chunk=16, item_chunk=16)
    return float(jnp.linalg.norm(items))


def test_above_the_threshold_the_factors_vanish_and_below_they_do_not(sparse: Interactions) -> None:
    threshold = collapse_l2(sparse, 0.1, 1.0)
    start = _norms_after(sparse, threshold, 0)
    assert _norms_after(sparse, 1.2 * threshold, 40) < 1e-3 * start  # zero attracts: geometric shrinkage
    assert _norms_after(sparse, 0.5 * threshold, 40) > start  # zero repels: a non-trivial solution


def test_fit_refuses_an_l2_at_or_above_the_threshold(sparse: Interactions) -> None:
    threshold = collapse_l2(sparse, 0.1, 1.0)
    model = IALS(40, 60, dim=4, l2=1.01 * threshold, epochs=2)
    with pytest.raises(ConfigError, match=r"ials: l2=\S+ is at or above \S+, where on this training data") as info:
        model.fit(sparse)
    assert "\n" not in str(info.value) and f"{threshold:.3g}" in str(info.value)
    fitted = IALS(40, 60, dim=4, l2=0.5 * threshold, epochs=2)
    fitted.fit(sparse)
    assert float(jnp.abs(fitted.score(jnp.arange(40))).max()) > 0
