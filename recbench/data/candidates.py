"""Sampled candidate sets for paper-parity evaluation (NCF's 1 + 99, SASRec's 1 + 100, ...).

Sampled metrics rank a user's held-out items among a few sampled negatives instead of the whole
catalogue. They are cheap but biased and can reorder models (Krichene & Rendle, KDD 2020), so every
record evaluated this way says ``sampled[...]`` in its evaluation protocol.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.data.keys import member
from recbench.data.split import CandidateSet, Split
from recbench.errors import ConfigError

SAMPLINGS = ("uniform", "popularity")


def sample_negatives(split: Split, negatives: int, sampling: str, seed: int) -> CandidateSet:
    """``negatives`` distinct items per test user, none of them the user's items in any part.

    ``uniform`` draws items with equal probability among the items of the data (those with a row in
    some part: an item that preprocessing such as ``kcore`` left without rows is not drawn, as if the
    data had been compacted); ``popularity`` in proportion to their number of training interactions
    (items never seen in training are then never drawn). Vectorised: a round
    draws a block of items per user, rejects positives and repeats, keeps the first ``negatives``
    valid ones; only rows still short are drawn again, with twice the block.
    """
    if sampling not in SAMPLINGS:
        raise ConfigError(f"candidate sampling {sampling!r} is not one of {', '.join(SAMPLINGS)}")
    if not isinstance(negatives, int) or negatives < 1:
        raise ConfigError(f"candidates: negatives={negatives!r} must be a positive integer")
    n_items = split.train.n_items
    users = np.unique(split.test.user_idx).astype(np.int64)
    positives = np.concatenate([p.pair_keys() for p in split.parts().values()])
    positives.sort()
    counts_per_user = np.bincount(positives // n_items, minlength=split.train.n_users)
    drawable = np.unique(np.concatenate([p.item_idx for p in split.parts().values()])) if sampling == "uniform" else None
    pool = drawable.size if drawable is not None else int((split.train.item_counts() > 0).sum())
    short = users[counts_per_user[users] + negatives > pool]
    if short.size:
        raise ConfigError(
            f"candidates: user {int(short[0])} has {int(counts_per_user[short[0]])} known items, so fewer than "
            f"{negatives} {sampling} negatives remain among {pool} items",
            hint="ask for fewer negatives",
        )
    probs = None
    if sampling == "popularity":
        counts = split.train.item_counts().astype(np.float64)
        probs = counts / counts.sum()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xCA4D]))
    chosen = np.full((users.size, negatives), -1, dtype=np.int64)
    todo = np.arange(users.size)
    draw = negatives * 2 + 8
    while todo.size:
        if draw > 64 * n_items:
            raise ConfigError(
                f"candidates: could not draw {negatives} distinct {sampling} negatives for user {int(users[todo[0]])}",
                hint="ask for fewer negatives or use uniform sampling",
            )
        if drawable is not None:  # the same draws as before when every item has rows (drawable = all)
            block = drawable[rng.choice(drawable.size, size=(todo.size, draw))]
        else:
            block = rng.choice(n_items, size=(todo.size, draw), p=probs)
        keys = users[todo, None] * n_items + block
        bad = member(keys, positives)
        order = np.argsort(block, axis=1, kind="stable")  # repeats within a row: keep the first
        sorted_block = np.take_along_axis(block, order, axis=1)
        repeat_sorted = np.concatenate([np.zeros((todo.size, 1), bool), sorted_block[:, 1:] == sorted_block[:, :-1]], axis=1)
        repeat = np.empty_like(repeat_sorted)
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        ok = ~(bad | repeat)
        enough = ok.sum(axis=1) >= negatives
        rank = np.cumsum(ok, axis=1) - 1
        take = ok & (rank < negatives) & enough[:, None]
        rows, cols = np.nonzero(take)
        chosen[todo[rows], rank[rows, cols]] = block[rows, cols]
        todo = todo[~enough]
        draw *= 2  # rows still short know most of the likely items: draw more for them
    return CandidateSet(users.astype(np.int32), chosen.astype(np.int32), f"{sampling}:{negatives}")


def with_candidates(split: Split, candidates: CandidateSet) -> Split:
    """The same split with test candidates; the split_id changes to cover them."""
    split_id = hashlib.sha256(f"{split.split_id}:{candidates.digest()}".encode()).hexdigest()[:16]
    return dataclasses.replace(split, candidates=candidates, split_id=split_id)


def candidates_from_config(split: Split, config: Mapping[str, Any], seed: int) -> Split:
    """Apply ``{negatives = 99, sampling = "uniform"}`` from a dataset's run configuration."""
    unknown = set(config) - {"negatives", "sampling"}
    if unknown:
        raise ConfigError(f"candidates: unknown keys {sorted(unknown)}; known: negatives, sampling")
    negatives = config.get("negatives", 99)
    return with_candidates(split, sample_negatives(split, negatives, str(config.get("sampling", "uniform")), seed))
