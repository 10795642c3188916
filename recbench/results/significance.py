"""Paired significance tests on per-user metric values, with Holm's correction."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def paired_tests(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided p-values of the paired t-test and the Wilcoxon signed-rank test of ``a`` vs ``b``.

    Both arrays hold one value per (seed, user) pair, aligned. Identical samples give p = 1.
    """
    from scipy import stats

    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    diff = a - b
    if diff.size < 2 or np.allclose(diff, 0.0):
        return 1.0, 1.0
    t_p = float(stats.ttest_rel(a, b).pvalue)
    try:
        w_p = float(stats.wilcoxon(a, b, zero_method="wilcox").pvalue)
    except ValueError:
        w_p = 1.0
    return (t_p if math.isfinite(t_p) else 1.0), (w_p if math.isfinite(w_p) else 1.0)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[idx]))
        adjusted[idx] = running
    return adjusted.tolist()


def align(first: dict[tuple[int, int], float], second: dict[tuple[int, int], float]) -> tuple[np.ndarray, np.ndarray]:
    """Values of the (seed, user) keys both have, in one order."""
    keys = sorted(first.keys() & second.keys())
    return np.array([first[k] for k in keys]), np.array([second[k] for k in keys])
