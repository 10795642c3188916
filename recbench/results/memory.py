"""Peak memory of one run, not of the process so far.

A process's high-water marks (``ru_maxrss``, Linux's ``VmHWM``, a device's ``peak_bytes_in_use``) only
ever grow: in a sweep every run of a process after the first would report the largest peak before it.
:func:`open_peak_window` at a run's start and :func:`close_peak_window` at its end give the run's own
peak where the platform allows it, and say in ``memory_source`` what the figure is:

================================  ========================================================================
memory_source                     ``peak_memory_bytes`` is
================================  ========================================================================
process_peak_rss_since_run_start  the largest resident set of the process while the run ran (Linux: the
                                  peak is reset at the run's start by writing 5 to /proc/self/clear_refs;
                                  elsewhere, a peak that rose during the run was reached in it)
process_peak_rss_cumulative       the process's largest resident set since it started (no reset, and the
                                  peak did not rise during the run: the run's own is at most this)
device_peak_since_run_start       the device's ``peak_bytes_in_use``, which rose during the run
device_peak_cumulative            the device's peak since the process started (no reset exists in JAX;
                                  the peak did not rise during the run: the run's own is at most this)
device, process_peak_rss          records made before this module: cumulative figures
================================  ========================================================================

Only the ``*_since_run_start`` figures are a run's (:func:`run_peak_bytes`). A process's resident set
includes what it held when the run started (the data, compiled code): ``memory_at_start_bytes`` records
that, so ``peak_memory_bytes - memory_at_start_bytes`` is what the run added at most.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The sources whose ``peak_memory_bytes`` is the run's own peak.
PER_RUN_SOURCES = frozenset({"process_peak_rss_since_run_start", "device_peak_since_run_start"})

PROC_STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True, slots=True)
class PeakWindow:
    """What :func:`close_peak_window` needs from a run's start.

    Attributes:
        rss_reset: the process's peak resident set was reset to its current size at the start.
        rss_peak_at_start: the process's peak resident set (bytes) right after the reset, or without one.
        rss_at_start: the process's resident set (bytes) at the start; None where it cannot be read.
        device_peak_at_start: the first device's ``peak_bytes_in_use`` at the start; None without one.
        device_in_use_at_start: its ``bytes_in_use`` at the start.
    """

    rss_reset: bool
    rss_peak_at_start: int | None
    rss_at_start: int | None
    device_peak_at_start: int | None
    device_in_use_at_start: int | None


def open_peak_window() -> PeakWindow:
    """Call when a run starts: resets the process's peak resident set where the platform allows it."""
    device = _device_stats()
    reset = reset_peak_rss()
    return PeakWindow(rss_reset=reset, rss_peak_at_start=_peak_rss_bytes(), rss_at_start=_rss_bytes(),
                      device_peak_at_start=_int_or_none(device.get("peak_bytes_in_use")),
                      device_in_use_at_start=_int_or_none(device.get("bytes_in_use")))


def close_peak_window(window: PeakWindow) -> dict[str, Any]:
    """Call when the run ends: ``peak_memory_bytes``, ``memory_source`` and ``memory_at_start_bytes``
    (the run record's throughput fields; see the module docstring). The device's figures where the
    backend reports them (a GPU's memory is not the process's), else the process's resident set."""
    device_peak = _int_or_none(_device_stats().get("peak_bytes_in_use"))
    if device_peak is not None:
        rose = window.device_peak_at_start is not None and device_peak > window.device_peak_at_start
        return {"peak_memory_bytes": device_peak,
                "memory_source": "device_peak_since_run_start" if rose else "device_peak_cumulative",
                "memory_at_start_bytes": window.device_in_use_at_start}
    peak = _peak_rss_bytes()
    rose = window.rss_peak_at_start is not None and peak is not None and peak > window.rss_peak_at_start
    per_run = peak is not None and (window.rss_reset or rose)
    return {"peak_memory_bytes": peak,
            "memory_source": "process_peak_rss_since_run_start" if per_run else "process_peak_rss_cumulative",
            "memory_at_start_bytes": window.rss_at_start}


def run_peak_bytes(throughput: Mapping[str, Any]) -> int | None:
    """A record's ``throughput`` peak memory if it is the run's own, else None (a cumulative figure, or a
    record made before runs had their own: never shown as a run's)."""
    value = throughput.get("peak_memory_bytes")
    return int(value) if throughput.get("memory_source") in PER_RUN_SOURCES and value is not None else None


def reset_peak_rss() -> bool:
    """Reset the process's peak resident set (Linux >= 4.0: ``5`` into /proc/self/clear_refs, which
    touches nothing else). False where that is refused or does not exist."""
    try:
        with CLEAR_REFS.open("w") as file:
            file.write("5")
    except OSError:
        return False
    return True


def _status_bytes(field: str) -> int | None:
    """A ``kB`` line of /proc/self/status in bytes; None off Linux."""
    try:
        text = PROC_STATUS.read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _peak_rss_bytes() -> int | None:
    """The process's peak resident set: VmHWM (what the reset resets), else ``ru_maxrss``."""
    peak = _status_bytes("VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # Windows
        return None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024  # bytes on macOS, KiB elsewhere


def _rss_bytes() -> int | None:
    return _status_bytes("VmRSS")


def _device_stats() -> dict[str, Any]:
    """The first device's ``memory_stats()``; empty where the backend reports none (JAX's CPU)."""
    import jax

    try:
        return dict(jax.devices()[0].memory_stats() or {})
    except Exception:  # a backend without the call
        return {}


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]
