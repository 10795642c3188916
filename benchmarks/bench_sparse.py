"""Benchmark mf_bpr epochs with dense optax optimizers against the row-wise (sparse) ones.

The catalogue has ML-20M's shape (138,493 users x 26,744 items, so the tables hold 10.6M floats
at dim 64), with fewer interactions than ML-20M (``--interactions``, default 2M) so the whole run
takes about two minutes on 2 cores. Users are uniform; item popularity is proportional to
1 / (rank + 50), as in ``bench_mf_bpr.py``'s ML-20M-shaped data. Every configuration trains the real
host loop (``recbench.train.loop.train``) on the same data, seed and batches; reported are compile
seconds and steady-state examples/s (``TrainOutcome.examples_per_second``, compilation excluded),
and each one's ratio to dense Adam (mf_bpr's default).

A dense optax step reads and writes every row of the factor table and of the optimizer's moments, so its
cost grows with ``users + items``; a row-wise step touches only the batch's rows (``batch x dim``).

Run (from the repository root)::

    python benchmarks/bench_sparse.py                   # ~2 min on 2 cores
    python benchmarks/bench_sparse.py --interactions 500000 --epochs 1     # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

USERS, ITEMS = 138_493, 26_744
CONFIGS = {  # name -> TrainConfig settings (learning rates are typical for each, not tuned)
    "dense adam (optax)": {"optimizer": "adam", "learning_rate": 5e-3},
    "dense sgd (optax)": {"optimizer": "sgd", "learning_rate": 50.0},
    "row-wise sgd": {"optimizer": "sgd", "learning_rate": 50.0, "sparse_optimizer": "sgd"},
    "row-wise adagrad": {"optimizer": "adagrad", "learning_rate": 0.1, "sparse_optimizer": "adagrad"},
    "row-wise lazy adam": {"optimizer": "adam", "learning_rate": 5e-3, "sparse_optimizer": "adam"},
}


def make_data(n_interactions: int, seed: int, users: int = USERS, items: int = ITEMS):
    """Distinct (user, item) pairs over ML-20M's catalogue: uniform users, power-law items."""
    from recbench.data.interactions import Interactions

    USERS, ITEMS = users, items  # noqa: N806 (the catalogue of this call)
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(ITEMS) + 50.0)
    cdf = np.cumsum(weights) / weights.sum()
    item_of_rank = rng.permutation(ITEMS)
    users = rng.integers(0, USERS, n_interactions, dtype=np.int64)
    items = item_of_rank[np.minimum(np.searchsorted(cdf, rng.random(n_interactions)), ITEMS - 1)]
    keys = np.sort(users * ITEMS + items)
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return Interactions.from_indices((keys // ITEMS).astype(np.int32), (keys % ITEMS).astype(np.int32),
                                     n_users=USERS, n_items=ITEMS, name=f"catalogue-{USERS}x{ITEMS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=list(CONFIGS), help="run only these configurations")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--small-catalogue", type=int, default=10, metavar="F",
                        help="also time dense adam and row-wise adagrad with users and items / F and the same "
                             "number of interactions (0: skip); row-wise should barely change, dense should speed up")
    args = parser.parse_args()

    import jax

    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.train.config import TrainConfig
    from recbench.train.loop import train

    started = time.perf_counter()
    data = make_data(args.interactions, args.seed)
    split = SimpleNamespace(train=data, split_id="bench-sparse")  # the pairwise planner reads .train
    print(f"jax {jax.__version__} on {jax.devices()[0].platform} ({len(jax.devices())} device(s)), "
          f"{platform.processor() or platform.machine()}; loadavg {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"data: {data.n_users:,} users x {data.n_items:,} items, {len(data):,} interactions "
          f"({time.perf_counter() - started:.1f} s); dim {args.dim}, batch {args.batch_size}, {args.epochs} epochs")
    results: dict[str, dict[str, float]] = {}
    for name, settings in CONFIGS.items():
        if args.only and name not in args.only:
            continue
        cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, eval_every=0, **settings)
        model = MFBPR(USERS, ITEMS, dim=args.dim, seed=args.seed)
        outcome = train(model, "pairwise", split, cfg, args.seed)
        results[name] = {"compile_s": outcome.compile_seconds, "examples_per_s": outcome.examples_per_second,
                         "epoch_s": outcome.train_seconds / outcome.epochs, "final_loss": outcome.losses[-1]}
        print(f"  {name:<20} compile {outcome.compile_seconds:5.2f} s  {outcome.train_seconds / outcome.epochs:6.2f} "
              f"s/epoch  {outcome.examples_per_second / 1e6:6.3f}M examples/s  loss {outcome.losses[-1]:.4f}",
              flush=True)
    base = results.get("dense adam (optax)")
    if base:
        print("ratios to dense adam (examples/s):")
        for name, figures in results.items():
            figures["ratio_to_dense_adam"] = figures["examples_per_s"] / base["examples_per_s"]
            print(f"  {name:<20} {figures['ratio_to_dense_adam']:5.2f}x")
    if args.small_catalogue:
        users, items = USERS // args.small_catalogue, ITEMS // args.small_catalogue
        small = SimpleNamespace(train=make_data(args.interactions, args.seed, users, items), split_id="bench-small")
        print(f"the same with a {args.small_catalogue}x smaller catalogue ({users:,} users x {items:,} items, "
              f"{len(small.train):,} interactions):")
        for name in ("dense adam (optax)", "row-wise adagrad"):
            cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, eval_every=0, **CONFIGS[name])
            outcome = train(MFBPR(users, items, dim=args.dim, seed=args.seed), "pairwise", small, cfg, args.seed)
            figures = {"examples_per_s": outcome.examples_per_second,
                       "epoch_s": outcome.train_seconds / outcome.epochs}
            if name in results:
                figures["speedup_vs_full_catalogue"] = figures["examples_per_s"] / results[name]["examples_per_s"]
            results[f"{name}, catalogue / {args.small_catalogue}"] = figures
            print(f"  {name:<20} {figures['epoch_s']:6.2f} s/epoch  {figures['examples_per_s'] / 1e6:6.3f}M "
                  f"examples/s  ({figures.get('speedup_vs_full_catalogue', float('nan')):.2f}x the full catalogue)",
                  flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; loadavg {Path('/proc/loadavg').read_text().split()[:3]}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
