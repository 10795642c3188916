"""``recbench data info`` lists side features: name, kind and cardinality."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from recbench.data.info import dataset_info, describe_features, feature_summary
from recbench.data.interactions import Interactions


def test_ml100k_features_are_listed(ml100k: Interactions) -> None:
    info = dataset_info(ml100k)
    assert info["user_features"] == "age (categorical, 61), gender (categorical, 2), occupation (categorical, 21)"
    assert info["item_features"] == "genres (multi-hot, 19)"


def test_feature_summary_kinds_and_missing() -> None:
    assert feature_summary(np.array([3, -1, 3, 5])) == {"kind": "categorical", "cardinality": 2, "missing": 1}
    assert feature_summary(np.array(["a", "", "b"], dtype=object)) == {"kind": "categorical", "cardinality": 2,
                                                                         "missing": 1}
    assert feature_summary(np.array([0.5, np.nan, 0.5, 2.0])) == {"kind": "numeric", "cardinality": 2, "missing": 1}
    assert feature_summary(np.array([[0, 1, 1], [1, 0, 0]], np.int8)) == {"kind": "multi-hot", "cardinality": 3}
    assert feature_summary(np.array([[0, 2], [1, 0]])) == {"kind": "matrix", "cardinality": 2}
    assert describe_features({}) == "none"
    assert describe_features({"c": np.array([1, -1])}) == "c (categorical, 1, 1 missing)"


def test_cli_prints_the_features(data_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "recbench.cli", "data", "info", "ml-100k", "--data-dir",
                             str(data_dir)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert out["item_features"] == "genres (multi-hot, 19)" and out["user_features"].startswith("age (categorical, 61)")
    result = subprocess.run([sys.executable, "-m", "recbench.cli", "data", "info", "deepcf-lastfm", "--data-dir",
                             str(data_dir)], capture_output=True, text=True, timeout=300)
    out = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert out["user_features"] == out["item_features"] == "none"
