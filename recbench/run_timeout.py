"""A hard wall-clock limit per run (the sweep's ``run_timeout_s``): a run past it becomes a ``timeout`` row.

On POSIX, in the main thread, a ``SIGALRM`` timer raises :class:`RunTimeout` once the limit passes. The
interpreter delivers it between bytecodes, so a compiled call that is running finishes first (an epoch,
an evaluation batch loop); a Python loop, a sleep or a data read is stopped where it is. Elsewhere
(another thread, or no ``SIGALRM``) the limit is checked when the block ends: the run still becomes a
``timeout`` row, after it finished. A training ``time_budget_s`` is different: it ends training gracefully
between epochs and the run is evaluated as usual.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from recbench.errors import RunTimeout

_HINT = "raise run_timeout_s (or --run-timeout), or give the model a training time_budget_s"


@contextmanager
def time_limit(seconds: float | None, what: str) -> Iterator[None]:
    """Raise :class:`RunTimeout` (naming ``what``) if the block runs longer than ``seconds`` (None: no limit)."""
    if seconds is None:
        yield
        return
    message = f"{what} passed its run timeout of {seconds:g} s"
    if not _alarm_available():
        start = time.monotonic()
        yield
        if time.monotonic() - start > seconds:
            raise RunTimeout(message, hint=_HINT)
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise RunTimeout(message, hint=_HINT)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:  # a caller's own alarm (e.g. a test timeout): re-armed with what was left of it
            signal.setitimer(signal.ITIMER_REAL, max(outer_delay - (time.monotonic() - start), 1e-6), outer_interval)


def _alarm_available() -> bool:
    return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
