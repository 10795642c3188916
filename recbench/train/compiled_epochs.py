"""Compiled epochs shared by the runs of a process whose programs are identical.

The seeds of a sweep train the same model on splits of the same shapes: their epochs lower to the
same program, and only the arguments (initial parameters, key, data) differ. Compiling it once per
process instead of once per run saves XLA's compile (0.5-1 s for MF-BPR, more than its whole
training on ML-100K) and the executable's teardown at the end of each run (6-14 ms, about one
ML-100K epoch; benchmarks/RESULTS.md, fifth session). The runner trains a sweep seed by seed, so a
later seed finds a model's epoch only while the sweep has at most :data:`MAX_CACHED_EPOCHS`
programs per dataset; run records say whether a run compiled (``train_compile_cached``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, NamedTuple

import jax

#: Compiled epochs a process keeps (an MF-BPR epoch's executable is a few MB); least recently used dropped first.
MAX_CACHED_EPOCHS = 32

_CACHE: OrderedDict[tuple[str, ...], Any] = OrderedDict()

#: jax options that steer XLA's compile without showing in the lowered text (part of the key).
_XLA_STEERING_OPTIONS = ("jax_optimization_level", "jax_exec_time_optimization_effort",
                         "jax_memory_fitting_effort", "jax_enable_x64", "jax_default_matmul_precision")


class CompiledEpoch(NamedTuple):
    """An executable and whether it came from the cache."""

    executable: Any
    cached: bool


def program_key(lowered: Any) -> tuple[str, ...] | None:
    """What identifies a compiled program, or None when it cannot be told from the lowering.

    The lowered text (StableHLO: shapes, donation, shardings, compiler-visible options), the
    argument and result tree structures, the arguments the program keeps, the backend and device
    ids, and the jax options that steer XLA without showing in the text. A lowering with constants
    hoisted out of its text (jax's ``jax_use_simplified_jaxpr_constants``) is never shared.
    """
    lowering = getattr(lowered, "_lowering", None)  # jax's MeshComputation (jax 0.10)
    compile_args = getattr(lowering, "compile_args", None)
    if (not isinstance(compile_args, dict) or "kept_var_idx" not in compile_args
            or not hasattr(lowering, "const_args") or lowering.const_args or not hasattr(lowering, "_device_list")):
        return None
    return (
        hashlib.sha256(lowered.as_text().encode()).hexdigest(),
        str(lowered.in_tree), str(lowered.out_tree),
        str(sorted(compile_args["kept_var_idx"])),
        jax.default_backend(), str([getattr(d, "id", d) for d in (lowering._device_list or ())]),
        str(getattr(lowering, "_compiler_options_kvs", None)),
        str([getattr(jax.config, name, None) for name in _XLA_STEERING_OPTIONS]),
    )


def compile_cached(lowered: Any) -> CompiledEpoch:
    """``lowered.compile()``, or the executable an identical program already compiled in this process."""
    key = program_key(lowered)
    if key is None:
        return CompiledEpoch(lowered.compile(), False)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return CompiledEpoch(_CACHE[key], True)
    compiled = lowered.compile()
    _CACHE[key] = compiled
    while len(_CACHE) > MAX_CACHED_EPOCHS:
        _CACHE.popitem(last=False)
    return CompiledEpoch(compiled, False)


def clear() -> None:
    """Forget every cached epoch (their executables are freed when no run holds them)."""
    _CACHE.clear()
