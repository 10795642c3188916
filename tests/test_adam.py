"""recbench's Adam (one division per parameter) against optax's and against the paper's formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from recbench.train.adam import adam, adamw
from recbench.train.config import TrainConfig, make_optimizer


def _params() -> dict[str, jax.Array]:
    return {"table": jax.random.normal(jax.random.key(0), (300, 16)), "bias": jax.random.normal(jax.random.key(1), (7,))}


def _grads(params: dict[str, jax.Array], step: int) -> dict[str, jax.Array]:
    noise = jax.tree.map(lambda x: jax.random.normal(jax.random.fold_in(jax.random.key(2), step), x.shape), params)
    # sparse rows (a zero gradient) and tiny and large magnitudes, as embedding tables see them
    scale = {"table": jnp.where(jnp.arange(300)[:, None] % 3 == 0, 0.0, 10.0 ** (jnp.arange(300)[:, None] % 7 - 4)),
             "bias": jnp.ones(7)}
    return jax.tree.map(lambda n, s, p: n * s + 0.01 * p, noise, scale, params)


def _run_beside_optax(ours: optax.GradientTransformation, ref: optax.GradientTransformation, steps: int,
                      rtol: float, atol: float) -> list[bool]:
    """Both transformations fed the same gradients at our parameters: updates compared each step;
    returns, per step, whether the two states were identical."""
    params = _params()
    s_ours, s_ref = ours.init(params), ref.init(params)
    same_state = []
    for step in range(steps):
        g = _grads(params, step)
        u_ours, s_ours = ours.update(g, s_ours, params)
        u_ref, s_ref = ref.update(g, s_ref, params)
        for a, b in zip(jax.tree.leaves(u_ours), jax.tree.leaves(u_ref), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
        same_state.append(all(np.array_equal(a, b) for a, b in
                              zip(jax.tree.leaves(s_ours), jax.tree.leaves(s_ref), strict=True)))
        params = optax.apply_updates(params, u_ours)
    return same_state


@pytest.mark.parametrize("schedule", [1e-2, optax.cosine_decay_schedule(1e-2, 60)])
def test_same_moments_bit_for_bit_and_updates_to_rounding_as_optax(schedule) -> None:
    assert all(_run_beside_optax(adam(schedule), optax.adam(schedule), 60, rtol=2e-6, atol=1e-12))


def test_matches_the_papers_algorithm_in_float64() -> None:
    """Kingma & Ba (2015), Algorithm 1, in numpy float64: 40 steps on the same gradients."""
    lr, b1, b2, eps = 3e-3, 0.9, 0.999, 1e-8
    params = _params()
    ref = {k: np.asarray(v, np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in ref.items()}
    v = {k: np.zeros_like(x) for k, x in ref.items()}
    tx = adam(lr)
    state = tx.init(params)
    for t in range(1, 41):
        g = _grads(params, t)
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        for k in ref:
            gk = np.asarray(g[k], np.float64)
            m[k] = b1 * m[k] + (1 - b1) * gk
            v[k] = b2 * v[k] + (1 - b2) * gk * gk
            ref[k] = ref[k] - lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
    for k in ref:
        np.testing.assert_allclose(np.asarray(params[k], np.float64), ref[k], rtol=0, atol=2e-5)


def test_adamw_decays_like_optax() -> None:
    _run_beside_optax(adamw(1e-2, weight_decay=0.1), optax.adamw(1e-2, weight_decay=0.1), 20, rtol=0, atol=1e-7)


def test_run_configuration_adam_is_this_adam_and_minimises() -> None:
    """``optimizer = "adam"`` builds this Adam (its first update differs from optax's only in
    rounding) and drives a least-squares problem to its solution."""
    cfg = TrainConfig(optimizer="adam", learning_rate=0.05)
    tx = make_optimizer(cfg)
    target = jnp.linspace(-1.0, 1.0, 12)
    params = jnp.zeros(12)
    state = tx.init(params)
    loss = lambda p: jnp.sum((p - target) ** 2)  # noqa: E731
    for _ in range(400):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        params = optax.apply_updates(params, updates)
    assert float(loss(params)) < 1e-6
    g = jnp.array([1.0, -2.0, 1e-3])
    first, _ = tx.update(g, tx.init(jnp.zeros(3)), jnp.zeros(3))
    expected, _ = optax.adam(0.05).update(g, optax.adam(0.05).init(jnp.zeros(3)), jnp.zeros(3))
    np.testing.assert_allclose(np.asarray(first), np.asarray(expected), rtol=1e-6)  # about -0.05 * sign(g)
    assert _elementwise_divisions(tx) == 1 < _elementwise_divisions(optax.adam(0.05))


def _elementwise_divisions(tx: optax.GradientTransformation) -> int:
    """Divisions over the parameter's shape in one update (scalar bias corrections not counted)."""
    params = jnp.zeros(5)
    jaxpr = jax.make_jaxpr(lambda g, s: tx.update(g, s, params))(params, tx.init(params))

    def count(jaxpr) -> int:
        n = 0
        for eqn in jaxpr.eqns:
            n += eqn.primitive.name == "div" and eqn.outvars[0].aval.shape == (5,)
            if "jaxpr" in eqn.params:
                inner = eqn.params["jaxpr"]
                n += count(getattr(inner, "jaxpr", inner))
        return n

    return count(jaxpr.jaxpr)
