"""Item cold start: a seeded share of the items is held out of training entirely."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recbench.builtin.protocols._params import as_fraction, check_known, rng_for, round_half_up
from recbench.data.interactions import Interactions
from recbench.data.split import TEST, TRAIN, VALID, CandidateSet, Split, split_from_assignment
from recbench.errors import ConfigError

COLD_ITEMS_DEFAULTS: dict[str, Any] = {"test_fraction": 0.2, "valid_fraction": 0.0, "rank_among": "cold"}
COLD_ITEMS_STREAM = 0xC01D1
_RANK_AMONG = ("cold", "all")


def cold_items(data: Interactions, params: Mapping[str, Any], seed: int) -> Split:
    """Items with rows are shuffled; the first ``round(n * test_fraction)`` are test items and the next
    ``round(n * valid_fraction)`` valid items: *all* their rows go to that part, so no test (valid)
    item occurs in training. Every other row is training. Users whose rows are all on held-out items
    become cold users too.

    ``rank_among = "cold"`` (default): each test user ranks the test's cold items only (every test
    item is a candidate of every test user, a :class:`CandidateSet` with source
    ``cold_items:<count>``), the usual item cold-start evaluation: which of the new items will the
    user take? ``rank_among = "all"``: full ranking over every item the user has not trained on, so
    new items compete with the warm catalogue. Validation (``valid_fraction > 0``) is always full
    ranking (the evaluator applies candidates to the test part only).

    Raises:
        ConfigError: unknown parameters, fractions outside [0, 1) (test > 0) or summing to 1 or more,
            a fraction leaving no test item or no training item, or an unknown ``rank_among``.
    """
    check_known("cold_items", params, COLD_ITEMS_DEFAULTS)
    p = {**COLD_ITEMS_DEFAULTS, **params}
    test_fraction = as_fraction("cold_items", "test_fraction", p["test_fraction"], positive=True)
    valid_fraction = as_fraction("cold_items", "valid_fraction", p["valid_fraction"])
    if p["rank_among"] not in _RANK_AMONG:
        raise ConfigError(f"cold_items: rank_among={p['rank_among']!r} must be one of {list(_RANK_AMONG)}",
                          hint='e.g. rank_among = "cold"')
    items = np.flatnonzero(data.item_counts() > 0)
    n_test = int(round_half_up(items.shape[0] * test_fraction))
    n_valid = int(round_half_up(items.shape[0] * valid_fraction))
    if n_test < 1 or n_test + n_valid >= items.shape[0]:
        raise ConfigError(
            f"cold_items: test_fraction={test_fraction}, valid_fraction={valid_fraction} of the "
            f"{items.shape[0]} items with rows of {data.name!r} give {n_test} test and {n_valid} valid items; "
            "at least one test item and one training item are needed",
            hint="choose fractions that leave items on both sides, e.g. test_fraction = 0.2",
        )
    shuffled = rng_for(seed, COLD_ITEMS_STREAM).permutation(items)
    part_I = np.full(data.n_items, TRAIN, dtype=np.uint8)
    part_I[shuffled[:n_test]] = TEST
    part_I[shuffled[n_test:n_test + n_valid]] = VALID
    part = part_I[data.item_idx]
    resolved = {"test_fraction": test_fraction, "valid_fraction": valid_fraction, "rank_among": p["rank_among"]}
    candidates = None
    if p["rank_among"] == "cold":
        test_items = np.sort(shuffled[:n_test]).astype(np.int32)
        test_users = np.unique(data.user_idx[part == TEST]).astype(np.int32)
        candidates = CandidateSet(test_users, np.broadcast_to(test_items, (test_users.shape[0], n_test)).copy(),
                                  f"cold_items:{n_test}")
    return split_from_assignment(data, part, protocol="cold_items", protocol_version="1", params=resolved, seed=seed,
                                 candidates=candidates)
