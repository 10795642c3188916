"""Losses of the listwise and sequential families: multinomial likelihood and softmax variants.

All functions are pure and jittable and return a scalar mean. Masks are float or bool arrays that
select the positions that count (padding positions of a sequence batch are 0); a masked mean divides
by the number of selected positions (at least 1, so an all-padding batch gives 0, not NaN).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

NEG_INF = -1e30  # finite "minus infinity": keeps gradients NaN-free where every logit is masked


def masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of ``values`` over the positions where ``mask`` is set (0 if none is)."""
    mask = mask.astype(values.dtype)
    return (values * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def multinomial_nll(logits_BxI: jax.Array, counts_BxI: jax.Array) -> jax.Array:
    """Multinomial negative log-likelihood of Mult-DAE / Mult-VAE (Liang et al., WWW 2018, eq. 2).

    ``-mean_u sum_i x_ui log softmax(f(u))_i``: the row sum is over all items (every interaction of
    the user counts once per click), the mean over users. This is the reference implementation's
    ``-reduce_mean(reduce_sum(log_softmax(logits) * x, axis=1))``.
    """
    log_p_BxI = jax.nn.log_softmax(logits_BxI, axis=-1)
    return -jnp.mean(jnp.sum(log_p_BxI * counts_BxI, axis=-1))


def softmax_cross_entropy(logits_NxI: jax.Array, targets_N: jax.Array, mask_N: jax.Array | None = None) -> jax.Array:
    """Full softmax cross-entropy over all items: ``logsumexp(s) - s[target]``, masked mean.

    Leading axes may be anything (e.g. ``B x L`` positions of a sequence batch); the last axis of
    ``logits`` is the item axis. Cost and memory are ``O(positions x items)``; for large catalogues
    use :func:`sampled_softmax_cross_entropy`.
    """
    target_logit = jnp.take_along_axis(logits_NxI, targets_N[..., None], axis=-1)[..., 0]
    nll = jax.nn.logsumexp(logits_NxI, axis=-1) - target_logit
    if mask_N is None:
        return jnp.mean(nll)
    return masked_mean(nll, mask_N)


def sampled_softmax_cross_entropy(pos_logits_N: jax.Array, neg_logits_NxS: jax.Array, log_q_neg: jax.Array | float,
                                  n_sampled: int, accidental_hit_NxS: jax.Array | None = None,
                                  mask_N: jax.Array | None = None) -> jax.Array:
    """Softmax cross-entropy over the target and ``S`` sampled negatives, with the log-Q correction.

    Each sampled logit is corrected to ``s_j - log(S q_j)``, where ``q_j`` is the probability of
    drawing item ``j`` (``log_q_neg`` is ``log q_j``, scalar or per-sample); the target's logit is
    used as is. The normaliser ``exp(s_pos) + sum_j exp(s_j) / (S q_j)`` is then the importance-sampling
    estimate of the full softmax normaliser (Bengio & Senecal, IEEE TNN 2008; Jean et al., ACL 2015),
    so the loss estimates the full-softmax cross-entropy. For uniform sampling over ``I`` items
    ``log q_j = -log I`` and every negative gets the same ``log(I / S)`` boost.

    ``accidental_hit_NxS`` marks samples equal to the target; they are removed (logit -inf), as in
    TensorFlow's ``remove_accidental_hits``.
    """
    corrected_NxS = neg_logits_NxS - (jnp.log(float(n_sampled)) + log_q_neg)
    if accidental_hit_NxS is not None:
        corrected_NxS = jnp.where(accidental_hit_NxS, NEG_INF, corrected_NxS)
    all_logits = jnp.concatenate([pos_logits_N[..., None], corrected_NxS], axis=-1)
    nll = jax.nn.logsumexp(all_logits, axis=-1) - pos_logits_N
    if mask_N is None:
        return jnp.mean(nll)
    return masked_mean(nll, mask_N)


def bce_one_negative(pos_logits_N: jax.Array, neg_logits_N: jax.Array, mask_N: jax.Array | None = None) -> jax.Array:
    """Binary cross-entropy on the target and one sampled negative per position (SASRec, Kang &
    McAuley, ICDM 2018, eq. 9): ``-log sigma(s_pos) - log(1 - sigma(s_neg))``, masked mean."""
    nll = -jax.nn.log_sigmoid(pos_logits_N) - jax.nn.log_sigmoid(-neg_logits_N)
    if mask_N is None:
        return jnp.mean(nll)
    return masked_mean(nll, mask_N)


def gaussian_kl(mu_BxD: jax.Array, logvar_BxD: jax.Array) -> jax.Array:
    """``KL(N(mu, diag exp(logvar)) || N(0, I))`` summed over dimensions, mean over the batch."""
    return jnp.mean(0.5 * jnp.sum(jnp.exp(logvar_BxD) + mu_BxD**2 - 1.0 - logvar_BxD, axis=-1))

