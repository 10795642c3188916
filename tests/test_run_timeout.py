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
    models = [{"name": "slow", "config": {"seconds": 6}}, {"name": "pop"}]
    start = time.monotonic()
    outcome = Runner(host, _sweep(tmp_path, models, 3), progress=None).run()
    slow, pop = outcome.records
    assert slow.status == "timeout" and "passed its run timeout of 3 s" in slow.message and not slow.metrics
    assert slow.evaluation == {"cold_start": "include"}  # a failed run says under what it was to be evaluated
    assert pop.status == "ok" and time.monotonic() - start < 6  # the fit was stopped, not waited for
    # not completed: re-run with a larger limit (the same run key), it runs again and finishes
    again = Runner(host, _sweep(tmp_path, models, 30), progress=None).run()
    assert again.skipped == 1 and [(r.run_key, r.status) for r in again.records] == [(slow.run_key, "ok")]


def test_the_timer_is_disarmed_after_the_run(tmp_path: Path) -> None:
    with time_limit(0.2, "block"):
        pass
    time.sleep(0.4)  # an armed timer would raise RunTimeout here
    with pytest.raises(RunTimeout, match="block passed its run timeout of 0.1 s"):
        with time_limit(0.1, "block"):
            time.sleep(5)


@pytest.mark.parametrize("bad", [0, -3, "ten", True])
def test_a_bad_run_timeout_is_refused_in_one_line(tmp_path: Path, bad) -> None:
    with pytest.raises(ConfigError, match="run_timeout_s must be a positive number of seconds"):
        _sweep(tmp_path, [{"name": "pop"}], bad)
    with pytest.raises(ConfigError, match="--run-timeout: run_timeout_s must be a positive number"):
        apply_overrides(_sweep(tmp_path, [{"name": "pop"}], None), run_timeout=str(bad))


def test_the_command_line_timeout_replaces_the_files(tmp_path: Path) -> None:
    sweep = apply_overrides(_sweep(tmp_path, [{"name": "pop"}], 100), run_timeout="2.5")
    assert sweep.run_timeout_s == 2.5
