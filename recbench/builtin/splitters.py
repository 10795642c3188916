"""Built-in split protocols (this module registers them; the larger ones live in ``protocols/``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from recbench import hookimpl
from recbench.builtin.protocols._params import as_count, as_fraction, check_known, resolve_mode, rng_for, round_half_up
from recbench.builtin.protocols.cold import COLD_ITEMS_DEFAULTS, cold_items
from recbench.builtin.protocols.kfold import KFOLD_DEFAULTS, kfold
from recbench.builtin.protocols.strong import STRONG_DEFAULTS, strong_generalization
from recbench.builtin.protocols.temporal import LEAVE_ONE_OUT_DEFAULTS, TEMPORAL_DEFAULTS, leave_one_out, temporal
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN, VALID, CandidateSet, Split, parts_by_rank, split_from_assignment
from recbench.errors import ConfigError
from recbench.types import SplitterSpec

RANDOM_HOLDOUT_DEFAULTS = {"test_fraction": 0.2, "valid_fraction": 0.1}
RANDOM_HOLDOUT_COUNT_DEFAULTS = {"test_count": 1, "valid_count": 1}
RANDOM_HOLDOUT_STREAM = 0x5B117


def random_holdout(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Per user, a random part of the rows to test and another to valid, by fraction or by count.

    By fraction (default): per user with n rows, n_test = floor(n * test_fraction + 0.5) and n_valid
    likewise. By count (``test_count`` / ``valid_count``, mutually exclusive with the fractions;
    each defaults to 1 in that mode): n_test = test_count and n_valid = valid_count. Either way both
    are reduced, test first, so that at least one row stays in train (a user with one row is all
    train). Rows must be unique (user, item) pairs.

    Since the host merges ``default_params`` into a run's params, in count mode fractions equal to
    their defaults are ignored; other fraction values alongside a count are a ConfigError.
    """
    by_count, p = resolve_mode("random_holdout", params, RANDOM_HOLDOUT_DEFAULTS, RANDOM_HOLDOUT_COUNT_DEFAULTS)
    count_U = data.user_counts()
    if by_count:
        p = {name: as_count("random_holdout", name, p[name]) for name in RANDOM_HOLDOUT_COUNT_DEFAULTS}
        test_U, valid_U = np.full_like(count_U, p["test_count"]), np.full_like(count_U, p["valid_count"])
    else:
        test_fraction, valid_fraction = _holdout_fractions(p)
        # the split_id hashes these: 0, 0.0 and False must not name one split three ways
        p = {**p, "test_fraction": test_fraction, "valid_fraction": valid_fraction}
        test_U, valid_U = np.floor(count_U * test_fraction + 0.5), np.floor(count_U * valid_fraction + 0.5)
    n_test_U = np.minimum(test_U, count_U - 1)
    n_valid_U = np.minimum(valid_U, count_U - 1 - n_test_U)
    rng = rng_for(seed, RANDOM_HOLDOUT_STREAM)
    # v2: per user, rows ordered by uint32 random keys (ties in row order): the first n_test are test,
    # the next n_valid valid
    part = parts_by_rank(data.user_idx, rng.integers(0, 2**32, len(data), dtype=np.uint32), data.n_users,
                         [(TEST, n_test_U), (VALID, n_valid_U)], rest=TRAIN)
    return split_from_assignment(
        data, part, protocol="random_holdout", protocol_version="2", params=p, seed=seed
    )


def _holdout_fractions(p: Mapping[str, Any]) -> tuple[float, float]:
    """The two fractions as floats, each in [0, 1) with a sum below 1 (numbers only: not "0.2", not a
    bool), else ConfigError."""
    test_fraction = as_fraction("random_holdout", "test_fraction", p["test_fraction"])
    valid_fraction = as_fraction("random_holdout", "valid_fraction", p["valid_fraction"])
    if not test_fraction + valid_fraction < 1:
        raise ConfigError(
            f"random_holdout: test_fraction={p['test_fraction']!r}, valid_fraction={p['valid_fraction']!r}; "
            "each must be in [0, 1) and their sum below 1",
            hint="e.g. test_fraction = 0.2, valid_fraction = 0.1; or test_count = 1 for a count per user",
        )
    return test_fraction, valid_fraction


FIXED_VALID_KEYS = ("valid_fraction", "valid_count")
FIXED_VALID_STREAM = 0xF1EED


def fixed(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """The split published with the data (``Interactions.fixed_part``); without parameters unchanged,
    and the seed is ignored.

    Published candidates (``Interactions.fixed_candidates``, e.g. NCF's ``test.negative``) come with
    it: the test part is then evaluated as a sampled ranking among them.

    ``valid_fraction`` or ``valid_count`` carve a validation part out of the published *training*
    rows, per user and seeded (the seed is then used and recorded), for early stopping and model
    selection on splits released without one (Gowalla's, NCF's). Per user with n training rows,
    n_valid = floor(n * valid_fraction + 0.5), or valid_count, at most n - 1. The published test
    part is untouched. Refused when the published split has a validation part already.
    """
    check_known("fixed", params, FIXED_VALID_KEYS)
    if len(params) > 1:
        raise ConfigError("fixed: give valid_fraction or valid_count, not both", hint="keep one of them")
    if data.fixed_part is None:
        raise ConfigError(
            f"dataset {data.name!r} publishes no split, so protocol 'fixed' cannot be used",
            hint="choose another protocol, e.g. random_holdout",
        )
    candidates = None
    if data.fixed_candidates is not None:
        users_U, items_UxC = data.fixed_candidates
        candidates = CandidateSet(np.asarray(users_U, np.int32), np.asarray(items_UxC, np.int32),
                                  f"file:{items_UxC.shape[1]}")
    if not params:
        return split_from_assignment(data, data.fixed_part, protocol="fixed", protocol_version="1", params={},
                                     seed=0, candidates=candidates)
    part = np.asarray(data.fixed_part, np.uint8).copy()
    if (part == VALID).any():
        raise ConfigError(f"fixed: dataset {data.name!r} publishes a validation part; {next(iter(params))} "
                          "would replace it", hint="remove the protocol_params and use the published one")
    train_rows = part == TRAIN
    count_U = np.bincount(data.user_idx[train_rows], minlength=data.n_users)
    if "valid_count" in params:
        checked = {"valid_count": as_count("fixed", "valid_count", params["valid_count"], minimum=1)}
        n_valid_U = np.full_like(count_U, checked["valid_count"])
    else:
        checked = {"valid_fraction": as_fraction("fixed", "valid_fraction", params["valid_fraction"], positive=True)}
        n_valid_U = round_half_up(count_U * checked["valid_fraction"])
    n_valid_U = np.minimum(n_valid_U, count_U - 1)  # every user keeps a training row
    keys = rng_for(seed, FIXED_VALID_STREAM).integers(0, 2**32, int(train_rows.sum()), dtype=np.uint32)
    part[train_rows] = parts_by_rank(data.user_idx[train_rows], keys, data.n_users, [(VALID, n_valid_U)], rest=TRAIN)
    return split_from_assignment(data, part, protocol="fixed", protocol_version="1", params=checked, seed=seed,
                                 candidates=candidates)


@hookimpl
def recbench_splitters() -> Iterator[SplitterSpec]:
    yield SplitterSpec(
        name="random_holdout",
        version="2",
        description="per-user random holdout into train/valid/test by fraction or count, seeded",
        split=random_holdout,
        default_params=RANDOM_HOLDOUT_DEFAULTS,
    )
    yield SplitterSpec(
        name="fixed",
        version="1",
        description="the train/valid/test split published with the dataset, unchanged",
        split=fixed,
    )
    yield SplitterSpec(
        name="leave_one_out",
        version="1",
        description="per user, the latest row is test and the second-latest valid (needs timestamps)",
        split=leave_one_out,
        default_params=LEAVE_ONE_OUT_DEFAULTS,
    )
    yield SplitterSpec(
        name="temporal",
        version="1",
        description="global time cut by fraction of rows or by date: train < valid < test (needs timestamps)",
        split=temporal,
        default_params=TEMPORAL_DEFAULTS,
    )
    yield SplitterSpec(
        name="kfold",
        version="1",
        description="seeded k-fold by interaction (per user) or by user (cold users); test is fold `fold`",
        split=kfold,
        default_params=KFOLD_DEFAULTS,
    )
    yield SplitterSpec(
        name="strong_generalization",
        version="1",
        description="held-out test/valid users with fold-in rows, as in Mult-VAE (Liang et al. 2018)",
        split=strong_generalization,
        default_params=STRONG_DEFAULTS,
    )
    yield SplitterSpec(
        name="cold_items",
        version="1",
        description="item cold start: a seeded share of items held out of training entirely; test ranks the new items",
        split=cold_items,
        default_params=COLD_ITEMS_DEFAULTS,
    )
