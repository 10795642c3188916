"""Compiled epochs shared by the runs of a process whose programs are identical.

The seeds of a sweep train the same model on splits of the same shapes: their epochs lower to the
same program, and only the arguments (initial parameters, key, data) differ. Compiling it once per
process instead of once per run saves XLA's compile (0.5-1 s for MF-BPR, more than its whole
training on ML-100K) and the executable's teardown at the end of each run (6-14 ms, about one
ML-100K epoch; benchmarks/RESULTS.md, fifth session).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

#: Compiled epochs a process keeps; the least recently used is dropped first.
MAX_CACHED_EPOCHS = 8

_CACHE: OrderedDict[tuple[str, str, str], Any] = OrderedDict()


def program_key(lowered: Any) -> tuple[str, str, str]:
    """What identifies a lowered program: its text (StableHLO, with donation and sharding
    annotations) and the tree structures of its arguments and results."""
    return (hashlib.sha256(lowered.as_text().encode()).hexdigest(), str(lowered.in_tree), str(lowered.out_tree))


def compile_cached(lowered: Any) -> Any:
    """``lowered.compile()``, or the executable an identical program already compiled in this process."""
    key = program_key(lowered)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    compiled = lowered.compile()
    _CACHE[key] = compiled
    while len(_CACHE) > MAX_CACHED_EPOCHS:
        _CACHE.popitem(last=False)
    return compiled


def clear() -> None:
    """Forget every cached epoch (their executables are freed when no run holds them)."""
    _CACHE.clear()
