"""iALS's collapse threshold: where the all-zero factors attract (an l2 that does not transfer between data sets)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sparse_matrix
import scipy.sparse.linalg as sparse_linalg

from recbench.builtin.models.ials import (COLLAPSE_MAX_ITERATIONS, COLLAPSE_TOLERANCE, IALS, _top_singular_value,
                                          alternate, collapse_l2, padded_histories)
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


def _scales(data: Interactions, a0: float, nu: float) -> tuple[np.ndarray, np.ndarray]:
    du = data.user_counts() + a0 * data.n_items
    di = data.item_counts() + a0 * data.n_users
    return (np.where(du > 0, np.maximum(du, 1e-300) ** (-nu / 2), 0.0),
            np.where(di > 0, np.maximum(di, 1e-300) ** (-nu / 2), 0.0))


def _svds_threshold(data: Interactions, a0: float, nu: float) -> float:
    """The top singular value of the scaled matrix by scipy's sparse SVD (ARPACK, float64)."""
    su, si = _scales(data, a0, nu)
    matrix = sparse_matrix.csr_matrix((su[data.user_idx] * si[data.item_idx], (data.user_idx, data.item_idx)),
                                      shape=(data.n_users, data.n_items))
    return float(sparse_linalg.svds(matrix, k=1, return_singular_vectors=False, tol=1e-10)[0])


def _steps_taken(data: Interactions, a0: float, nu: float) -> int:
    su, si = _scales(data, a0, nu)
    _, steps = _top_singular_value(jnp.asarray(data.user_idx), jnp.asarray(data.item_idx),
                                   jnp.asarray(su, jnp.float32), jnp.asarray(si, jnp.float32),
                                   jnp.int32(COLLAPSE_MAX_ITERATIONS), jnp.float32(COLLAPSE_TOLERANCE),
                                   n_users=data.n_users, n_items=data.n_items)
    return int(steps)


def test_power_iteration_rises_monotonically_to_the_svd_from_below(ml100k: Interactions) -> None:
    """The estimate after k steps (no early exit) never decreases and never exceeds the dense SVD's
    value, beyond float32 rounding: why stopping early can only underestimate the threshold."""
    exact = _reference_threshold(ml100k, 0.1, 1.0)
    estimates = np.array([collapse_l2(ml100k, 0.1, 1.0, max_iterations=k, tolerance=0.0) for k in range(12)])
    assert np.all(np.diff(estimates) >= -3e-7 * exact)
    assert np.all(estimates <= exact * (1 + 3e-7))
    assert estimates[0] < exact * (1 - 1e-3)  # the first estimate is visibly below: the test has teeth
    assert estimates[-1] == pytest.approx(exact, rel=1e-6)


@pytest.fixture(scope="module")
def gowalla(data_dir) -> Interactions:
    from recbench.builtin.public_formats import load_gowalla_lightgcn
    from recbench.data.files import dataset_context

    return load_gowalla_lightgcn(dataset_context(data_dir=data_dir))


@pytest.mark.parametrize(("a0", "nu"), [(0.1, 1.0), (0.0, 1.0), (0.1, 0.5)])
def test_early_exit_matches_200_steps_and_scipy_on_real_data(ml100k: Interactions, gowalla: Interactions, a0: float,
                                                           nu: float) -> None:
    """On ml-100k and gowalla (slow to converge with a0 0: the top two singular values are 1 and
    0.987): the early exit stops well before 200 steps, within 1e-5 of the 200-step value and of
    scipy's sparse SVD, and not above either beyond float32 rounding."""
    for data, most_steps in ((ml100k, 10), (gowalla, 40)):
        early = collapse_l2(data, a0, nu)
        fixed = collapse_l2(data, a0, nu, max_iterations=200, tolerance=0.0)
        reference = _svds_threshold(data, a0, nu)
        assert fixed == pytest.approx(reference, rel=1e-6)
        assert early == pytest.approx(fixed, rel=1e-5) and early == pytest.approx(reference, rel=1e-5)
        assert early <= reference * (1 + 3e-7)
        assert 2 <= _steps_taken(data, a0, nu) <= most_steps
