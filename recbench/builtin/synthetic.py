"""A deterministic latent-factor dataset with power-law popularity: the embedded default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.data.files import check_dataset_params
from recbench.data.interactions import Interactions
from recbench.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    "n_users": 2000,
    "n_items": 1000,
    "mean_per_user": 40,
    "dim": 8,
    "popularity_exponent": 1.0,
    "popularity_weight": 0.6,
    "affinity_weight": 2.5,
    "seed": 0,
}
_DAY = 86_400
_START = 1_600_000_000


def synthetic_interactions(params: Mapping[str, Any]) -> Interactions:
    """Sample implicit feedback from ``softmax(affinity * <u, v> + popularity * log pop)`` per user.

    Each user draws ``n_u`` distinct items (log-normal around ``mean_per_user``) without replacement by
    the Gumbel-top-k trick, so preference structure is real and popularity alone is a weak baseline.
    Timestamps are increasing in the order the items were drawn; ratings 1..5 follow affinity.
    """
    check_dataset_params("synthetic", params, DEFAULTS, booleans=())
    p = {**DEFAULTS, **params}
    n_users, n_items, dim = int(p["n_users"]), int(p["n_items"]), int(p["dim"])
    if n_users < 2 or n_items < 2 or dim < 1:
        raise ConfigError(f"synthetic: need n_users >= 2, n_items >= 2, dim >= 1; got {n_users}, {n_items}, {dim}")
    rng = np.random.default_rng(int(p["seed"]))
    user_f = rng.standard_normal((n_users, dim)).astype(np.float32)
    item_f = rng.standard_normal((n_items, dim)).astype(np.float32)
    popularity = (rng.permutation(n_items) + 1.0) ** -float(p["popularity_exponent"])
    item_bias = (float(p["popularity_weight"]) * np.log(popularity / popularity.max())).astype(np.float32)
    sigma = 0.5
    counts = rng.lognormal(np.log(float(p["mean_per_user"])) - sigma**2 / 2, sigma, n_users)
    counts = np.clip(np.rint(counts), 5, max(5, n_items // 2)).astype(np.int64)
    counts = np.minimum(counts, n_items - 1)
    scale = float(p["affinity_weight"]) / np.sqrt(dim)

    users, items, ranks, affinities = [], [], [], []
    block = max(1, 4_000_000 // n_items)  # a loop over user blocks, not users
    for lo in range(0, n_users, block):
        hi = min(n_users, lo + block)
        logits = scale * (user_f[lo:hi] @ item_f.T) + item_bias
        gumbel = -np.log(-np.log(rng.random(logits.shape, dtype=np.float32) + 1e-12) + 1e-12)
        order = np.argsort(-(logits + gumbel), axis=1)
        rank_of = np.argsort(order, axis=1)
        chosen = rank_of < counts[lo:hi, None]
        u, i = np.nonzero(chosen)
        users.append(u + lo)
        items.append(i)
        ranks.append(rank_of[u, i])
        affinities.append(logits[u, i] - item_bias[i])
    user_idx = np.concatenate(users)
    item_idx = np.concatenate(items)
    rank = np.concatenate(ranks)
    affinity = np.concatenate(affinities)
    start = _START + rng.integers(0, 365 * _DAY, n_users)
    timestamp = start[user_idx] + rank * _DAY + rng.integers(0, _DAY, user_idx.shape[0])
    cuts = np.quantile(affinity, [0.1, 0.3, 0.6, 0.85])
    rating = (1 + np.searchsorted(cuts, affinity)).astype(np.float32)
    return Interactions.from_indices(
        user_idx, item_idx, n_users=n_users, n_items=n_items, timestamp=timestamp, rating=rating,
        name="synthetic",
    )
