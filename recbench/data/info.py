"""Descriptive statistics of a dataset and of a split: what ``recbench data info`` prints."""

from __future__ import annotations

from collections.abc import Mapping
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


def feature_summary(values: np.ndarray) -> dict[str, Any]:
    """A side feature's kind and cardinality, as loaded.

    Kinds: ``multi-hot`` (0/1 matrix; cardinality = columns), ``matrix`` (other 2-D; columns),
    ``numeric`` (floats; distinct finite values) and ``categorical`` (integers, booleans, strings;
    distinct present values). ``missing`` counts NaN, negative-integer and empty values, when any.
    """
    from recbench.data.preprocess import is_multi_hot, missing_categories

    values = np.asarray(values)
    if values.ndim == 2:
        return {"kind": "multi-hot" if is_multi_hot(values) else "matrix", "cardinality": int(values.shape[1])}
    missing = missing_categories(values)
    out: dict[str, Any] = {"kind": "numeric" if values.dtype.kind == "f" else "categorical",
                           "cardinality": int(np.unique(values[~missing]).size)}
    if missing.any():
        out["missing"] = int(missing.sum())
    return out


def describe_features(features: Mapping[str, np.ndarray]) -> str:
    """One line: ``age (categorical, 61), genres (multi-hot, 19)``; ``none`` without features."""
    parts = []
    for name, values in features.items():
        info = feature_summary(values)
        missing = f", {info['missing']} missing" if "missing" in info else ""
        parts.append(f"{name} ({info['kind']}, {info['cardinality']}{missing})")
    return ", ".join(parts) or "none"


def dataset_info(data: Interactions) -> dict[str, Any]:
    return {
        **data.summary(),
        "fingerprint": data.fingerprint()[:16],
        "has_timestamps": data.timestamp is not None,
        "has_ratings": data.rating is not None,
        "per_user": count_distribution(data.user_counts()),
        "per_item": count_distribution(data.item_counts()),
        "user_features": describe_features(data.user_features),
        "item_features": describe_features(data.item_features),
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
