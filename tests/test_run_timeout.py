"""A run past the sweep's run_timeout_s is a ``timeout`` row; the sweep goes on, and is retried on resume."""

from __future__ import annotations

import time
from pathlib import Path

import jax.numpy as jnp
import pytest
from flax import nnx

import recbench
from recbench.config import apply_overrides, sweep_from_mapping
from recbench.errors import ConfigError, RunTimeout
from recbench.manager import PluginHost
from recbench.run_timeout import time_limit
from recbench.runner import Runner

SMALL = {"n_users": 120, "n_items": 80, "mean_per_user": 15}


class SlowFit(nnx.Module):
    """A closed-form model whose fit takes ``seconds`` of Python (as a slow host-side fit would)."""

    def __init__(self, n_items: int, seconds: float) -> None:
        self.w = nnx.Param(jnp.zeros((n_items,)))
        self.seconds = seconds

    def fit(self, train) -> None:
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline:
            time.sleep(0.01)

    def score(self, users_B):
        return jnp.broadcast_to(self.w[...], (users_B.shape[0], self.w[...].shape[0]))


class SlowModels:
    @recbench.hookimpl
    def recbench_models(self):
        yield recbench.ModelSpec(name="slow", version="1", family="closed_form", description="sleeps",
                                 build=lambda ctx: SlowFit(ctx.n_items, float(ctx.config.get("seconds", 30))))


def _sweep(tmp_path: Path, models: list, timeout: float | None) -> recbench.config.SweepConfig:
    return sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
                               "datasets": [{"name": "synthetic", "params": SMALL}], "models": models,
                               **({"run_timeout_s": timeout} if timeout is not None else {})})


def test_a_run_past_its_timeout_is_a_timeout_row_and_the_sweep_goes_on(tmp_path: Path) -> None:
    host = PluginHost(autoload=False, extra_plugins=[("slow", SlowModels())])
    models = [{"name": "slow", "config": {"seconds": 600}}, {"name": "pop"}]  # a fit that would take 10 minutes
    runner = Runner(host, _sweep(tmp_path, models, 8), progress=None)
    slow, pop = runner.run().records
    assert slow.status == "timeout" and "passed its run timeout of 8 s" in slow.message and not slow.metrics
    assert slow.evaluation == {"cold_start": "include"}  # a failed run says under what it was to be evaluated
    assert pop.status == "ok"  # the sweep went on (a pop run takes well under 8 s)
    assert not runner.store.completed(slow.run_key)  # so a re-run (with a larger limit) runs it again


def test_the_timer_is_disarmed_after_the_run(tmp_path: Path) -> None:
    with time_limit(0.2, "block"):
        pass
    time.sleep(0.4)  # an armed timer would raise RunTimeout here
    with pytest.raises(RunTimeout, match="block passed its run timeout of 0.1 s"):
        with time_limit(0.1, "block"):
            time.sleep(5)


def test_a_callers_own_alarm_survives_a_run_timeout() -> None:
    import signal

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)  # the caller's alarm
        with time_limit(30, "block"):
            pass
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 0.5  # re-armed with what was left of it
        time.sleep(1.0)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("bad", [0, -3, "ten", True, float("inf"), float("nan")])
def test_a_bad_run_timeout_is_refused_in_one_line(tmp_path: Path, bad) -> None:
    with pytest.raises(ConfigError, match="run_timeout_s must be a positive number of seconds"):
        _sweep(tmp_path, [{"name": "pop"}], bad)
    with pytest.raises(ConfigError, match="--run-timeout: run_timeout_s must be a positive number"):
        apply_overrides(_sweep(tmp_path, [{"name": "pop"}], None), run_timeout=str(bad))


def test_the_command_line_timeout_replaces_the_files(tmp_path: Path) -> None:
    sweep = apply_overrides(_sweep(tmp_path, [{"name": "pop"}], 100), run_timeout="2.5")
    assert sweep.run_timeout_s == 2.5
