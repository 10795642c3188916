"""Descriptive statistics of a dataset and of a split: what ``recbench data info`` prints."""

from __future__ import annotations

from typing import Any

import numpy as np

from recbench.data.interactions import Interactions
from recbench.data.split import Split


def count_distribution(counts: np.ndarray) -> dict[str, float]:
    counts = counts[counts > 0]
    if counts.size == 0:
        return {}
    q = np.quantile(counts, [0.1, 0.5, 0.9])
    return {"min": int(counts.min()), "p10": float(q[0]), "median": float(q[1]), "mean": float(counts.mean()),
            "p90": float(q[2]), "max": int(counts.max())}


def dataset_info(data: Interactions) -> dict[str, Any]:
    return {
        **data.summary(),
        "fingerprint": data.fingerprint()[:16],
        "has_timestamps": data.timestamp is not None,
        "has_ratings": data.rating is not None,
        "per_user": count_distribution(data.user_counts()),
        "per_item": count_distribution(data.item_counts()),
    }


def split_info(split: Split) -> dict[str, Any]:
    """Sizes, and cold-start counts: held-out users/items that never occur in training."""
    in_train_user = split.train.user_counts() > 0
    in_train_item = split.train.item_counts() > 0
    out: dict[str, Any] = split.describe()
    for name, part in (("valid", split.valid), ("test", split.test)):
        users = np.unique(part.user_idx)
        items = np.unique(part.item_idx)
        out[f"{name}_users"] = int(users.size)
        out[f"{name}_cold_users"] = int((~in_train_user[users]).sum())
        out[f"{name}_cold_items"] = int((~in_train_item[items]).sum())
        out[f"{name}_rows_with_cold_item"] = int((~in_train_item[part.item_idx]).sum())
    return out
