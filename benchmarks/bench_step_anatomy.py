"""Where an MF-BPR training step's time goes: one compiled epoch per variant, timed interleaved.

Each variant is the real host-loop epoch (``plan_pairwise`` + ``make_updater`` + ``make_epoch``, one
``lax.scan`` of minibatches) on the same split, seed and batch size, with one thing changed:

* ``dense adam``: mf_bpr's default (optax Adam over whole tables); the reference of every ratio.
* ``dense sgd``: optax SGD over whole tables (what Adam's moment and division passes cost).
* ``row-wise sgd`` / ``row-wise lazy adam``: ``training.sparse_optimizer`` (no dense gradient).
* ``no exclusion``: negatives are not redrawn when they are training items (the bitmap lookups).
* ``fixed batch``: the sampler returns one precomputed batch (what on-device sampling costs).

The epochs of all variants run in turns (variant A's epoch, then B's, ...), so drifts of a shared
machine fall on every variant alike; reported are the median and the minimum microseconds per step
over the measured rounds and their ratios to ``dense adam``. ``--dims`` repeats it per embedding
size: what stays at dim 1 does not depend on the rows' width (sampling, dispatch, the loss's scalars).

Run (from the repository root)::

    python benchmarks/bench_step_anatomy.py --datasets ml-100k,ml-1m-afcfm
    python benchmarks/bench_step_anatomy.py --datasets ml-1m-afcfm --dims 1,16,64 --rounds 10
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mf_bpr import fmt, loadavg, log  # noqa: E402  (the benchmark folder is not a package)
from bench_peers import load_dataset  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {  # name -> TrainConfig overrides
    "dense adam": {},
    "dense sgd": {"optimizer": "sgd", "learning_rate": 0.05},
    "row-wise sgd": {"optimizer": "sgd", "learning_rate": 0.05, "sparse_optimizer": "sgd"},
    "row-wise lazy adam": {"sparse_optimizer": "adam"},
    "no exclusion": {"exclude_positive_negatives": False},
    "fixed batch": {},
}


def load_split(name: str, data_dir: str, seed: int) -> Any:
    """``bench_peers``' data set ``name``, split as there (``random_holdout`` with ``seed``)."""
    from recbench.builtin.splitters import random_holdout

    return random_holdout(load_dataset(name, data_dir, seed=seed), {}, seed=seed)


def compiled_epoch(split: Any, variant: str, dim: int, batch_size: int, seed: int) -> tuple[Callable[[int], float], int]:
    """A function running one epoch of ``variant`` (returns its mean loss) and its steps per epoch."""
    import jax
    import jax.numpy as jnp

    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.train.config import TrainConfig
    from recbench.train.loop import make_epoch
    from recbench.train.pairwise import plan_pairwise
    from recbench.train.sparse import make_updater

    cfg = TrainConfig(epochs=1, eval_every=0, batch_size=batch_size, optimizer="adam", learning_rate=1e-3)
    cfg = dataclasses.replace(cfg, **VARIANTS[variant])
    model = MFBPR(split.train.n_users, split.train.n_items, dim=dim, l2=1e-4, seed=seed)
    plan = plan_pairwise(split, cfg, model)
    sample = plan.sample
    if variant == "fixed batch":
        batch = jax.jit(plan.sample)(jax.random.key(seed + 1), jnp.int32(0), plan.data)
        sample = lambda key, step, data: batch  # noqa: E731
    graphdef, params, rest, _, updater = make_updater(model, cfg, plan.steps_per_epoch)
    opt_state = jax.jit(updater.init)(params)
    key = jax.random.key(seed)
    epoch_fn = make_epoch(updater.step, sample, plan.steps_per_epoch)
    compiled = epoch_fn.lower(params, rest, opt_state, key, jnp.int32(0), plan.data).compile()
    state = [params, opt_state]

    def run(epoch: int) -> float:
        params, opt_state, loss = compiled(state[0], rest, state[1], key, np.int32(epoch), plan.data)
        state[0], state[1] = params, opt_state
        return float(loss)

    return run, plan.steps_per_epoch


def measure(split: Any, dim: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    runs = {v: compiled_epoch(split, v, dim, args.batch_size, args.seed) for v in VARIANTS}
    for run, _ in runs.values():  # warm-up: first touches of fresh buffers
        run(1)
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for rnd in range(args.rounds):
        for v, (run, _) in runs.items():
            start = time.perf_counter()
            run(rnd + 2)
            seconds[v].append(time.perf_counter() - start)
    out = {}
    for v, (_, steps) in runs.items():
        out[v] = {"median_us": 1e6 * statistics.median(seconds[v]) / steps,
                  "min_us": 1e6 * min(seconds[v]) / steps, "steps": steps}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="ml-100k,ml-1m-afcfm")
    ap.add_argument("--data-dir", default=None, help="default: RECBENCH_DATA_DIR or ../shared/data")
    ap.add_argument("--dims", default="64")
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import os

    data_dir = args.data_dir or os.environ.get("RECBENCH_DATA_DIR") or str(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for name in args.datasets.split(","):
        split = load_split(name, data_dir, args.seed)
        for dim in (int(d) for d in args.dims.split(",")):
            log(f"\n=== {name}, dim {dim}, batch {args.batch_size}, {args.rounds} rounds (loadavg {loadavg()})")
            res = measure(split, dim, args)
            ref = res["dense adam"]
            log(f"{'variant':20s} {'median us/step':>15s} {'ratio':>7s} {'min us/step':>12s} {'ratio':>7s}")
            for v, r in res.items():
                log(f"{v:20s} {fmt(r['median_us']):>15s} {r['median_us'] / ref['median_us']:7.3f} "
                    f"{fmt(r['min_us']):>12s} {r['min_us'] / ref['min_us']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
