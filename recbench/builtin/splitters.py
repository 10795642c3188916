"""Built-in split protocols."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from recbench import hookimpl
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN, VALID, Split, rank_within_user, split_from_assignment
from recbench.errors import ConfigError
from recbench.types import SplitterSpec

RANDOM_HOLDOUT_DEFAULTS = {"test_fraction": 0.2, "valid_fraction": 0.1}


def random_holdout(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Per user, a random ``test_fraction`` of rows to test and ``valid_fraction`` to valid.

    Per user with n rows: n_test = floor(n * test_fraction + 0.5) and n_valid likewise, both reduced
    so that at least one row stays in train (a user with one row is all train). Rows must be unique
    (user, item) pairs.
    """
    unknown = set(params) - set(RANDOM_HOLDOUT_DEFAULTS)
    if unknown:
        raise ConfigError(f"random_holdout: unknown parameters {sorted(unknown)}; known: {sorted(RANDOM_HOLDOUT_DEFAULTS)}")
    p = {**RANDOM_HOLDOUT_DEFAULTS, **params}
    test_fraction, valid_fraction = float(p["test_fraction"]), float(p["valid_fraction"])
    if not (0 <= test_fraction < 1 and 0 <= valid_fraction < 1 and test_fraction + valid_fraction < 1):
        raise ConfigError(
            f"random_holdout: test_fraction={test_fraction}, valid_fraction={valid_fraction}; "
            "each must be in [0, 1) and their sum below 1"
        )
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5B117]))
    rank, count = rank_within_user(data.user_idx, rng.random(len(data)), data.n_users)
    n_test = np.minimum(np.floor(count * test_fraction + 0.5), count - 1)
    n_valid = np.minimum(np.floor(count * valid_fraction + 0.5), count - 1 - n_test)
    part = np.where(rank < n_test, TEST, np.where(rank < n_test + n_valid, VALID, TRAIN))
    return split_from_assignment(
        data, part, protocol="random_holdout", protocol_version="1", params=p, seed=seed
    )


def fixed(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """The split published with the data (``Interactions.fixed_part``), unchanged; the seed is ignored."""
    if params:
        raise ConfigError(f"fixed: takes no parameters, got {sorted(params)}")
    if data.fixed_part is None:
        raise ConfigError(
            f"dataset {data.name!r} publishes no split, so protocol 'fixed' cannot be used",
            hint="choose another protocol, e.g. random_holdout",
        )
    return split_from_assignment(data, data.fixed_part, protocol="fixed", protocol_version="1", params={}, seed=0)


@hookimpl
def recbench_splitters() -> Iterator[SplitterSpec]:
    yield SplitterSpec(
        name="random_holdout",
        version="1",
        description="per-user random holdout into train/valid/test by fraction, seeded",
        split=random_holdout,
        default_params=RANDOM_HOLDOUT_DEFAULTS,
    )
    yield SplitterSpec(
        name="fixed",
        version="1",
        description="the train/valid/test split published with the dataset, unchanged",
        split=fixed,
    )
