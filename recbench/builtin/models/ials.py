"""iALS: implicit alternating least squares with batched closed-form solves in JAX (closed-form family)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from recbench.builtin.models.neighbourhood import Fitted
from recbench.data.interactions import Interactions
from recbench.data.split import rank_within_user
from recbench.device_arrays import device_array
from recbench.errors import ConfigError

#: Largest padded gather (rows x history width x dim floats) one solve chunk may hold: 64 MiB of float32.
CHUNK_FLOATS = 2**24


def padded_histories(owner_idx: np.ndarray, other_idx: np.ndarray, n_owners: int, pad: int) -> np.ndarray:
    """Each owner's partners (a user's items, or an item's users), padded with ``pad`` to the longest."""
    rank, _ = rank_within_user(owner_idx, other_idx.astype(np.int64), n_owners)
    width = max(int(np.bincount(owner_idx, minlength=n_owners).max(initial=0)), 1)
    table = np.full((n_owners, width), pad, dtype=np.int32)
    table[owner_idx, rank] = other_idx
    return table


def solve_side(other_RxD: jax.Array, history_NxL: jax.Array, counts_N: jax.Array, unobserved_weight: float,
               l2: float, l2_exponent: float, chunk: int) -> jax.Array:
    """Exact least-squares update of one side's factors given the other side's, for every row at once.

    For owner ``n`` with partners ``P_n`` (padded entries point at a zero row), solves::

        (sum_{j in P_n} h_j h_j^T + a0 H^T H + lambda_n I) w_n = sum_{j in P_n} h_j
        lambda_n = l2 * (|P_n| + a0 * R) ** l2_exponent

    with the Gram trick (``H^T H`` once, ``D x D``) and the observed part from a padded gather, in
    chunks of ``chunk`` owners mapped by ``lax.map`` (no Python loop over owners), each a batched
    Cholesky solve.
    """
    n_other, dim = other_RxD.shape
    n_rows, width = history_NxL.shape
    padded_other = jnp.concatenate([other_RxD, jnp.zeros((1, dim), other_RxD.dtype)])
    gram_DxD = unobserved_weight * (other_RxD.T @ other_RxD)
    lambda_N = l2 * (counts_N + unobserved_weight * n_other) ** l2_exponent
    n_chunks = -(-n_rows // chunk)
    pad_rows = n_chunks * chunk - n_rows
    history = jnp.pad(history_NxL, ((0, pad_rows), (0, 0)), constant_values=n_other).reshape(n_chunks, chunk, width)
    lambdas = jnp.pad(lambda_N, (0, pad_rows), constant_values=1.0).reshape(n_chunks, chunk)
    eye_DxD = jnp.eye(dim, dtype=other_RxD.dtype)

    def one_chunk(xs: tuple[jax.Array, jax.Array]) -> jax.Array:
        history_CxL, lambda_C = xs
        partners_CxLxD = padded_other[history_CxL]
        a_CxDxD = (jnp.einsum("cld,cle->cde", partners_CxLxD, partners_CxLxD) + gram_DxD
                   + lambda_C[:, None, None] * eye_DxD)
        b_CxD = partners_CxLxD.sum(axis=1)
        chol_CxDxD = jnp.linalg.cholesky(a_CxDxD)
        return jax.vmap(lambda c, b: jax.scipy.linalg.cho_solve((c, True), b))(chol_CxDxD, b_CxD)

    solved = jax.lax.map(one_chunk, (history, lambdas))
    return solved.reshape(n_chunks * chunk, dim)[:n_rows]


@functools.partial(jax.jit, static_argnames=("epochs", "unobserved_weight", "l2", "l2_exponent", "user_chunk",
                                             "item_chunk"))
def alternate(users_UxD: jax.Array, items_IxD: jax.Array, user_hist_UxL: jax.Array, item_hist_IxM: jax.Array,
              user_counts_U: jax.Array, item_counts_I: jax.Array, *, epochs: int, unobserved_weight: float,
              l2: float, l2_exponent: float, user_chunk: int, item_chunk: int) -> tuple[jax.Array, jax.Array]:
    """``epochs`` rounds of (solve every user, then every item), one jitted ``lax.fori_loop``."""

    def epoch(_: jax.Array, factors: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        _, items = factors
        users = solve_side(items, user_hist_UxL, user_counts_U, unobserved_weight, l2, l2_exponent, user_chunk)
        items = solve_side(users, item_hist_IxM, item_counts_I, unobserved_weight, l2, l2_exponent, item_chunk)
        return users, items

    return jax.lax.fori_loop(0, epochs, epoch, (users_UxD, items_IxD))


#: Power iteration stops when its estimate changes by less than this, relatively, in one step.
COLLAPSE_TOLERANCE = 1e-6
#: ... or after this many steps (slowly converging data; the estimate is then still a lower bound).
COLLAPSE_MAX_ITERATIONS = 200


@functools.partial(jax.jit, static_argnames=("n_users", "n_items"))
def _top_singular_value(users_N: jax.Array, items_N: jax.Array, user_scale_U: jax.Array, item_scale_I: jax.Array,
                        max_iterations: jax.Array, tolerance: jax.Array, *, n_users: int,
                        n_items: int) -> tuple[jax.Array, jax.Array]:
    """Largest singular value of ``A = diag(user_scale) R diag(item_scale)`` (R: the 0/1 matrix of the
    pairs, duplicates summed) by power iteration on ``M = A^T A`` from the all-ones vector (R >= 0, so
    the Perron vector has a positive component along it), and the number of steps taken.

    The estimate after ``k`` steps is ``|A v_k|`` with ``v_k = M^k v_0 / |M^k v_0|``, so its square is
    ``m_(2k+1) / m_2k`` with the moments ``m_j = v_0^T M^j v_0 = sum_i c_i^2 lambda_i^j`` (``lambda_i >= 0``
    the eigenvalues of M). By Cauchy-Schwarz ``m_j^2 <= m_(j-1) m_(j+1)``, so the ratios of successive
    moments never decrease and never exceed ``lambda_max``: the estimate rises monotonically towards
    the top singular value from below (exactly; in float32 up to a few ulps of rounding). The loop
    stops at the first step that changes it by at most ``tolerance`` relative (``tolerance`` 0: never
    early), or after ``max_iterations`` steps. Stopping early thus underestimates: when the estimate
    converges geometrically with ratio ``q`` a step, by about ``tolerance * q / (1 - q)``.
    """
    values_N = user_scale_U[users_N] * item_scale_I[items_N]

    def times_a(v_I: jax.Array) -> jax.Array:
        return jax.ops.segment_sum(values_N * v_I[items_N], users_N, n_users)

    def step(state: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
        steps, u_U, sigma, _ = state
        w_I = jax.ops.segment_sum(values_N * u_U[users_N], items_N, n_items)  # A^T A v, v unit
        next_u_U = times_a(w_I / jnp.maximum(jnp.linalg.norm(w_I), 1e-30))
        return steps + 1, next_u_U, jnp.linalg.norm(next_u_U), sigma

    def going_on(state: tuple[jax.Array, ...]) -> jax.Array:
        steps, _, sigma, previous = state
        changing = (steps == 0) | (tolerance <= 0) | (jnp.abs(sigma - previous) > tolerance * sigma)
        return (steps < max_iterations) & changing

    u0_U = times_a(jnp.full((n_items,), n_items**-0.5, jnp.float32))
    sigma0 = jnp.linalg.norm(u0_U)
    steps, _, sigma, _ = jax.lax.while_loop(going_on, step, (jnp.int32(0), u0_U, sigma0, sigma0))
    return sigma, steps


def collapse_l2(train: Interactions, unobserved_weight: float, l2_exponent: float,
                max_iterations: int = COLLAPSE_MAX_ITERATIONS, tolerance: float = COLLAPSE_TOLERANCE) -> float:
    """The l2 at and above which iALS's all-zero factors attract: the fit then shrinks every factor
    towards 0 and its scores carry no signal.

    Near zero factors the solves are linear, ``w_u = sum_{i in I_u} h_i / lambda_u`` and
    ``h_i = sum_{u in U_i} w_u / lambda_i`` (the quadratic terms vanish), so one alternation maps the
    item factors by ``D_I^-1 R^T D_U^-1 R`` with ``D = l2 (count + a0 * n_other)^nu``. Zero attracts
    when that map's spectral radius is below 1, i.e. when ``l2`` is at least the largest singular
    value of ``(c_u + a0 |I|)^(-nu/2) R (c_i + a0 |U|)^(-nu/2)``, returned here. Sparse data with
    many items has a small one: 0.44 on ml-100k's training part, 0.024 on gowalla's (a0 0.1, nu 1).

    Computed by power iteration (see :func:`_top_singular_value`), which approaches the value from
    below and stops once a step changes it by at most ``tolerance`` relative, or after
    ``max_iterations`` steps (``tolerance=0``: always ``max_iterations``). On the real data sets it
    stops after 3-5 steps (ml-100k, ml-1m) to ~20 (gowalla with a0 0), within 5e-6 of the converged
    value; the fixed 200 steps it replaced took ~1 s on a million pairs.
    """
    user_base = train.user_counts().astype(np.float64) + unobserved_weight * train.n_items
    item_base = train.item_counts().astype(np.float64) + unobserved_weight * train.n_users
    user_scale = np.where(user_base > 0, np.maximum(user_base, 1e-300) ** (-l2_exponent / 2), 0.0)
    item_scale = np.where(item_base > 0, np.maximum(item_base, 1e-300) ** (-l2_exponent / 2), 0.0)
    sigma, _ = _top_singular_value(device_array(train.user_idx), device_array(train.item_idx),
                                   jnp.asarray(user_scale, jnp.float32), jnp.asarray(item_scale, jnp.float32),
                                   jnp.int32(max_iterations), jnp.float32(tolerance),
                                   n_users=train.n_users, n_items=train.n_items)
    return float(sigma)


def ials_objective(users_N: jax.Array, items_N: jax.Array, user_UxD: jax.Array, item_IxD: jax.Array,
                   unobserved_weight: float, l2: float, l2_exponent: float) -> jax.Array:
    """The iALS loss of Rendle et al. 2022, eq. (2), for the given factors (used by tests and diagnostics)."""
    n_users, n_items = user_UxD.shape[0], item_IxD.shape[0]
    observed = ((user_UxD[users_N] * item_IxD[items_N]).sum(-1) - 1.0) ** 2
    all_pairs = jnp.sum((user_UxD.T @ user_UxD) * (item_IxD.T @ item_IxD))
    user_counts = jnp.zeros(n_users).at[users_N].add(1.0)
    item_counts = jnp.zeros(n_items).at[items_N].add(1.0)
    reg_u = (l2 * (user_counts + unobserved_weight * n_items) ** l2_exponent * (user_UxD**2).sum(-1)).sum()
    reg_i = (l2 * (item_counts + unobserved_weight * n_users) ** l2_exponent * (item_IxD**2).sum(-1)).sum()
    return observed.sum() + unobserved_weight * all_pairs + reg_u + reg_i


class IALS(nnx.Module):
    """Implicit ALS (Y. Hu, Y. Koren and C. Volinsky, Collaborative Filtering for Implicit Feedback
    Datasets, ICDM 2008), in the formulation and with the regularisation of S. Rendle, W. Krichene,
    L. Zhang and Y. Koren, Revisiting the Performance of iALS on Item Recommendation Benchmarks,
    RecSys 2022. Family: closed_form (``fit``: alternating exact least-squares solves, no optimiser).
    Loss (Rendle et al. eq. 2), over the binary training matrix with observed set S::

        L(W, H) = sum_{(u,i) in S} (<w_u, h_i> - 1)^2 + a0 * sum_{u, i} <w_u, h_i>^2
                  + l2 * sum_u (|I_u| + a0 |I|)^nu |w_u|^2 + l2 * sum_i (|U_i| + a0 |U|)^nu |h_i|^2

    ``a0`` is ``unobserved_weight``, the weight of the all-pairs term that plays the part of Hu et
    al.'s unit confidence on unobserved entries (Hu et al. weight observed entries by ``1 + alpha``
    instead), and ``nu`` is ``l2_exponent`` (Rendle et al.'s frequency-scaled regularisation). Each epoch
    solves every user's system given the items, then every item's given the users, each exactly
    (Cholesky) and all at once (see :func:`solve_side`); the whole fit is one jitted
    ``lax.fori_loop`` over epochs. Factors start at N(0, (init_std / sqrt(dim))^2), as in Rendle et
    al.'s code. Scores are ``<w_u, h_i>``.

    Defaults: Rendle et al.'s ML-20M setting (unobserved_weight 0.1, nu 1, init_std 0.1, 16 epochs),
    with dim 64 and l2 chosen for ml-100k on a validation part (see the catalogue spec).

    ``l2`` does not transfer between data sets: at and above :func:`collapse_l2` (which depends on
    the training data, ``unobserved_weight`` and ``nu``) the all-zero factors attract, every factor
    shrinks towards 0 over the alternations and the scores are noise. ml-100k's 0.03 is 0.07 of its
    threshold (0.44); on gowalla the threshold is 0.024, so 0.03 collapses (recall@20 0.0099, below
    pop's 0.042; factor norms 1e-4 after 2 epochs). ``fit`` refuses such an ``l2`` with a
    ConfigError naming the threshold rather than returning a collapsed model.

    Cost: per epoch ``O(N d^2 + (U + I) d^3)`` plus padding; a solve chunk gathers ``chunk x L x d``
    floats where L is the longest history, so very skewed data wastes work on padding (sorting
    owners into length buckets would remove it).
    """

    def __init__(self, n_users: int, n_items: int, *, dim: int = 64, l2: float = 0.003,
                 unobserved_weight: float = 0.1, l2_exponent: float = 1.0, epochs: int = 16,
                 init_std: float = 0.1, seed: int = 0) -> None:
        rngs = nnx.Rngs(params=seed)
        scale = init_std / np.sqrt(dim)
        self.user_factors = Fitted(scale * jax.random.normal(rngs.params(), (n_users, dim)))
        self.item_factors = Fitted(scale * jax.random.normal(rngs.params(), (n_items, dim)))
        self.l2, self.unobserved_weight, self.l2_exponent = float(l2), float(unobserved_weight), float(l2_exponent)
        self.epochs = int(epochs)

    def fit(self, train: Interactions) -> None:
        """Alternate exact solves over ``train``.

        Raises:
            ConfigError: ``l2`` is at or above :func:`collapse_l2` for this training data. The threshold
                is approached from below (power iteration stopped early: within ~1e-5 relative on real
                data), so every ``l2`` at or above the exact threshold is refused (up to float32
                rounding, ~1e-7 relative); a sliver just below it may be refused too, where zero repels
                so weakly that the factors would barely leave it anyway.
        """
        n_users, n_items = train.n_users, train.n_items
        threshold = collapse_l2(train, self.unobserved_weight, self.l2_exponent)
        if self.l2 >= threshold:
            raise ConfigError(
                f"ials: l2={self.l2:g} is at or above {threshold:.4g}, where on this training data "
                f"(unobserved_weight {self.unobserved_weight:g}, l2_exponent {self.l2_exponent:g}) the all-zero "
                "factors attract: every factor would shrink to 0 and the scores carry no signal",
                hint=f"use an l2 well below {threshold:.3g} (ml-100k's default 0.03 is 0.07 of its threshold)")
        dim = self.user_factors[...].shape[1]
        user_hist = padded_histories(train.user_idx, train.item_idx, n_users, n_items)
        item_hist = padded_histories(train.item_idx, train.user_idx, n_items, n_users)
        user_chunk = int(max(1, min(n_users, CHUNK_FLOATS // (user_hist.shape[1] * dim))))
        item_chunk = int(max(1, min(n_items, CHUNK_FLOATS // (item_hist.shape[1] * dim))))
        users, items = alternate(
            self.user_factors[...], self.item_factors[...], device_array(user_hist), device_array(item_hist),
            jnp.asarray(train.user_counts(), jnp.float32), jnp.asarray(train.item_counts(), jnp.float32),
            epochs=self.epochs, unobserved_weight=self.unobserved_weight, l2=self.l2,
            l2_exponent=self.l2_exponent, user_chunk=user_chunk, item_chunk=item_chunk)
        self.user_factors[...] = users
        self.item_factors[...] = items

    def score(self, users_B: jax.Array) -> jax.Array:
        return self.user_factors[...][users_B] @ self.item_factors[...].T
