"""The framework's own overhead in the quickstart (issue: under 10% of the run).

Runs the embedded default sweep (`recbench run` with no arguments: synthetic data, pop and mf_bpr,
3 seeds) in this process with a fresh result directory and measures:

* wall: the whole ``Runner.run()`` plus the leaderboard rendering (plugin loading is timed apart);
* model work: the sum over run records of model build (parameter init) + train compile + steady-state
  train + validation during training + eval compile + test evaluation;
* overhead = wall - model work: dataset generation, splitting, evaluation planning, record writing,
  environment capture and rendering.

It prints the seconds and the overhead share (the reference is the model work of the same run).
Run: ``python benchmarks/bench_overhead.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def main() -> None:
    start = time.perf_counter()
    from recbench.manager import PluginHost

    host = PluginHost(autoload=False)
    host.all("models")
    plugin_seconds = time.perf_counter() - start

    import flax.nnx  # noqa: F401  (jax and flax import time is reported apart: it is not recbench's)
    import jax  # noqa: F401

    import_seconds = time.perf_counter() - start - plugin_seconds
    from recbench.config import DEFAULT_SWEEP, sweep_from_mapping
    from recbench.results.leaderboard import render
    from recbench.runner import Runner

    with tempfile.TemporaryDirectory() as out:
        sweep = sweep_from_mapping({**DEFAULT_SWEEP, "out": str(Path(out) / "r")})
        t0 = time.perf_counter()
        runner = Runner(host, sweep, progress=None)
        records = runner.run().records
        render(records, list(sweep.metrics), per_user=lambda r: runner.store.load_per_user(r.run_key))
        wall = time.perf_counter() - t0
    model = sum(r.throughput["build_s"] + r.throughput["train_compile_s"] + r.throughput["train_seconds"]
                + r.throughput["validation_s"] + r.throughput["eval_compile_s"] + r.throughput["eval_seconds"]
                for r in records)
    overhead = wall - model
    print(f"plugin loading            {plugin_seconds:8.3f} s")
    print(f"jax + flax import         {import_seconds:8.3f} s (not counted)")
    print(f"sweep wall (6 runs)       {wall:8.3f} s")
    print(f"model work                {model:8.3f} s (build, compile, train, validation, test evaluation)")
    print(f"framework overhead        {overhead:8.3f} s = {overhead / wall:.1%} of the sweep "
          f"({(overhead + plugin_seconds) / (wall + plugin_seconds):.1%} with plugin loading)")


if __name__ == "__main__":
    main()
