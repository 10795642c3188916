"""recbench's MF-BPR training and full-ranking evaluation against its peers, on the same data, in one run.

Per data set (ml-100k, ml-1m-afcfm, and synthetic data of ML-20M's shape), one ``random_holdout``
split (0.2 test / 0.1 valid per user, seed 0) is made once, and three implementations are timed on it:

* **recbench**: ``recbench.train.loop.train`` (the real jit-compiled host loop) on ``mf_bpr`` with
  Adam (its default optimizer, as RecBole's), and ``plan_ranking`` + ``RankingEvaluator`` (ndcg@10,
  recall@10 on the test part, train and valid items masked, 1024 users a batch).
* **SGD, like for like**: the same comparison with plain SGD on both sides (``--sgd-batch-lr``, on the
  batch-mean loss): recbench's row-wise SGD (``training.sparse_optimizer = "sgd"``, which updates only
  the batch's rows; exactly dense SGD's result) against RecBole's ``learner: sgd`` (torch's dense SGD).
  Adam is compared with Adam, SGD with SGD; no ratio mixes optimizers.
* **numpy reference**: ``bench_mf_bpr.NumpyBPR`` (plain numpy minibatch BPR SGD, same loss; its
  gradients are checked against ``jax.grad`` in ``bench_mf_bpr.py``) for a fixed number of steps,
  and ``bench_mf_bpr.numpy_ranking`` (matmul, mask, ``argpartition`` top-k) on the recbench model.
* **RecBole 1.2.1 BPR**: ``benchmarks/peers/recbole_bpr.py`` run by a separate venv's python
  (``--recbole-python``, default ``/work/venv-recbole/bin/python``; skipped with a message if it is
  missing). The split is written as RecBole atomic files (``peers/atomic_files.py``) and loaded
  with ``benchmark_filename``, so RecBole trains on the same pairs. Same dim (64), batch size,
  Adam learning rate and number of epochs as recbench: both train ``1 + epochs`` epochs and count the
  last ``epochs`` (the first is warm-up: recbench's first epoch in a process pays the first touch of
  freshly allocated buffers; its figure with the warm-up epoch is printed and saved beside). Both
  sides' examples/s is the median over the measured epochs of an epoch's rate (the mean is printed
  and saved beside): a 16 ms ML-100K epoch of recbench is easily hit by a stall of the shared machine.
  torch's 2 intra-op threads collapse when other processes load the 2 cores (measured here at load
  ~12: 5k examples/s with 2 threads vs 80k with 1 on ml-100k), so RecBole runs with 1 torch thread,
  and on ml-100k with 1 and 2; where both ran, RecBole's *faster* figure is the one compared.

Python overhead: while recbench's ``train()`` runs, ``recbench.train.loop.compile_cached`` is wrapped so
that every call of the compiled epoch is timed (with ``block_until_ready``). Then

* per-epoch loop overhead = (``train_seconds`` - time inside compiled calls) / epochs, as a share
  of an epoch (the mean time inside the compiled call of the measured epochs, the warm-up's left out);
* one-off setup = wall of ``train()`` - compile - ``train_seconds`` (the family plan, i.e. the
  host-side CSR build, ``nnx.split``, optimizer init, final merge), in epochs;
* all-in = (wall - compile - time inside compiled calls) / epochs, as a share of an epoch: the
  Python time outside compiled calls over this run, spread over its epochs.

ML-20M shape: recbench runs whole epochs; the numpy training reference runs a fixed number of steps
and its evaluation times a random subset of users (users/s extrapolated). RecBole cannot run whole
epochs of ~13.8M examples in minutes here, so each of its epochs is cut to its first
``--recbole-20m-batches`` minibatches (a partial epoch, labelled as such), and it evaluates only the
test users of a random subset (``--recbole-20m-eval-users``) of users, with the full item set.

The RecBole venv (never a recbench dependency; install torch first and explicitly, so pip does not
pick another build)::

    python3 -m venv /work/venv-recbole
    /work/venv-recbole/bin/pip install torch==2.13.0
    /work/venv-recbole/bin/pip install "setuptools<81" numpy==1.23.5 pandas==2.0.3 scipy==1.11.4 \
        scikit-learn==1.3.2 recbole==1.2.1

Run (from the repository root)::

    python benchmarks/bench_peers.py                           # all three data sets
    python benchmarks/bench_peers.py --datasets ml-100k        # one
    python benchmarks/bench_peers.py --quick                   # smoke run (ML-20M shape at 1/50)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_mf_bpr import (  # noqa: E402  (the benchmark folder is not a package)
    EVAL_BATCH,
    K,
    NumpyBPR,
    csr,
    fmt,
    load1,
    load_ml100k_data,
    loadavg,
    log,
    machine_info,
    make_ml20m_shape,
    numpy_ranking,
)
from peers.atomic_files import write_split  # noqa: E402

DATASETS = ("ml-100k", "ml-1m-afcfm", "ml-20m-shape")
RECBOLE_SCRIPT = Path(__file__).resolve().parent / "peers" / "recbole_bpr.py"
DEFAULT_RECBOLE_PYTHON = "/work/venv-recbole/bin/python"
TARGET_TRAIN_VS_RECBOLE = 10.0
TARGET_EVAL_VS_RECBOLE = 5.0
TARGET_OVERHEAD_SHARE = 0.05


@dataclass
class Plan:
    """How much work to do on one data set."""

    batch_size: int
    epochs: int  # measured epochs, recbench and RecBole alike (RecBole adds one warm-up epoch)
    numpy_steps: int
    eval_repeats: int
    numpy_eval_users: int | None = None  # None: all test users
    recbole_max_batches: int | None = None  # None: whole epochs
    recbole_eval_users: int | None = None  # None: all test users
    recbole_threads: tuple[int, ...] = (1,)  # torch thread counts tried; the faster RecBole run is compared
    scale: float = 1.0


def plans(args: argparse.Namespace) -> dict[str, Plan]:
    if args.quick:
        return {
            "ml-100k": Plan(2048, epochs=2, numpy_steps=20, eval_repeats=2),
            "ml-1m-afcfm": Plan(2048, epochs=1, numpy_steps=20, eval_repeats=1, recbole_max_batches=20),
            "ml-20m-shape": Plan(8192, epochs=1, numpy_steps=10, eval_repeats=1, numpy_eval_users=1000,
                                 recbole_max_batches=5, recbole_eval_users=500, scale=0.02),
        }
    return {
        "ml-100k": Plan(2048, epochs=args.epochs_100k, numpy_steps=300, eval_repeats=10, recbole_threads=(1, 2)),
        "ml-1m-afcfm": Plan(2048, epochs=args.epochs_1m, numpy_steps=300, eval_repeats=5),
        "ml-20m-shape": Plan(8192, epochs=2, numpy_steps=100, eval_repeats=1, numpy_eval_users=5_000,
                             recbole_max_batches=args.recbole_20m_batches,
                             recbole_eval_users=args.recbole_20m_eval_users),
    }


def load_dataset(name: str, data_dir: str, scale: float = 1.0, seed: int = 0) -> Any:
    """One of :data:`DATASETS`: the real files from ``data_dir``, or ML-20M's shape (``scale``, ``seed``)."""
    if name == "ml-100k":
        return load_ml100k_data(data_dir)
    if name == "ml-1m-afcfm":
        from recbench.builtin.public_formats import load_ml1m_afcfm
        from recbench.data.files import dataset_context

        return load_ml1m_afcfm(dataset_context(data_dir=data_dir))
    if name == "ml-20m-shape":
        return make_ml20m_shape(scale, seed)
    raise SystemExit(f"unknown data set {name!r}: use one of {', '.join(DATASETS)}")


# -- time inside recbench's compiled epoch calls -----------------------------------------------
class _TimedCompiled:
    def __init__(self, compiled: Any, clock: dict[str, float]) -> None:
        self.compiled, self.clock = compiled, clock

    def __call__(self, *args: Any) -> Any:
        import jax

        start = time.perf_counter()
        out = self.compiled(*args)
        jax.block_until_ready(out)
        self.clock["seconds"] += time.perf_counter() - start
        self.clock["calls"] += 1
        self.clock["per_call"].append(time.perf_counter() - start)
        return out


@contextlib.contextmanager
def timed_compiled_epochs() -> Iterator[dict[str, Any]]:
    """Within this block, the host loop's compiled epoch calls add their seconds to the yielded clock."""
    import recbench.train.loop as loop

    real = loop.compile_cached
    clock: dict[str, Any] = {"seconds": 0.0, "calls": 0, "per_call": []}

    def compile_cached(lowered: Any) -> Any:
        program = real(lowered)
        return program._replace(executable=_TimedCompiled(program.executable, clock))

    loop.compile_cached = compile_cached
    try:
        yield clock
    finally:
        loop.compile_cached = real


class SteadyState(NamedTuple):
    """A ``train()`` run after its warm-up epoch: examples/s (median epoch, mean), the mean seconds of
    a measured epoch's compiled call, and the loop's mean seconds outside compiled calls per epoch."""

    median_rate: float
    mean_rate: float
    epoch_s: float
    loop_overhead_s: float


def after_warm_up(res: Any, clock: dict[str, Any]) -> SteadyState:
    """A ``train()`` run's steady state, its first epoch excluded as warm-up (as RecBole's is).

    The first call of a compiled epoch in a process pays the first touch of its freshly allocated
    buffers (~25 ms of a ~15 ms ML-100K epoch here); RecBole's first epoch is excluded for its
    warm-up, so recbench's is too, and both train ``1 + epochs`` epochs. The compared figure is the
    median over the measured epochs of an epoch's examples over its seconds, for both (a 16 ms
    epoch is easily hit by a passing stall of the shared machine; a mean over 0.2 s is not robust);
    an epoch's seconds are its compiled call plus the loop's mean per-epoch overhead. Overhead
    shares are taken against the measured epochs' mean compiled seconds, not the warm-up's.
    """
    per_epoch = res.examples / res.epochs
    measured = clock["per_call"][1:]
    loop_overhead = (res.train_seconds - sum(clock["per_call"])) / res.epochs
    median = statistics.median(per_epoch / (s + loop_overhead) for s in measured)
    mean = per_epoch * len(measured) / (res.train_seconds - clock["per_call"][0])
    return SteadyState(median, mean, statistics.fmean(measured), loop_overhead)


# -- RecBole -------------------------------------------------------------------------------------
def run_recbole(python: str, folder: Path, dataset: str, plan: Plan, args: argparse.Namespace,
                threads: int, learner: str = "adam") -> dict[str, Any]:
    lr = args.adam_lr if learner == "adam" else args.sgd_batch_lr
    cmd = [python, str(RECBOLE_SCRIPT), "--data-path", str(folder), "--dataset", dataset,
           "--batch-size", str(plan.batch_size), "--dim", str(args.dim), "--lr", str(lr), "--learner", learner,
           "--epochs", str(plan.epochs), "--eval-repeats", str(min(plan.eval_repeats, 3)),
           "--eval-users-per-batch", str(EVAL_BATCH), "--seed", str(args.seed), "--threads", str(threads)]
    if plan.recbole_max_batches is not None:
        cmd += ["--max-batches", str(plan.recbole_max_batches)]
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    log(f"recbole: {' '.join(cmd)}")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.recbole_timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise RuntimeError(f"RecBole run failed (exit {proc.returncode}):\n{tail}")
    out = json.loads(lines[-1])
    measured = out["epochs"][1:]  # the first is warm-up
    out["train_examples_per_s_mean"] = out["train_examples_per_s"]
    out["train_examples_per_s"] = statistics.median(e["examples"] / e["seconds"] for e in measured)
    return out


# -- one data set --------------------------------------------------------------------------------
@dataclass
class DatasetResult:
    name: str
    shape: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def bench_dataset(name: str, plan: Plan, args: argparse.Namespace, recbole_python: str | None) -> DatasetResult:
    import jax

    from recbench.builtin.metrics import ndcg, recall
    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.builtin.splitters import random_holdout
    from recbench.evaluate.metric_names import MetricRef
    from recbench.evaluate.ranking import RankingEvaluator, batch_width, plan_ranking
    from recbench.train.config import TrainConfig
    from recbench.train.loop import train

    out = DatasetResult(name)
    f = out.figures
    f["loadavg_before"] = loadavg()
    log(f"\n=== {name}" + (f" (scale {plan.scale})" if plan.scale != 1.0 else "") + f" === (loadavg {loadavg()})")
    start = time.perf_counter()
    data = load_dataset(name, args.data_dir, plan.scale, args.seed)
    split = random_holdout(data, {}, seed=args.seed)
    tr = split.train
    out.shape = {"n_users": data.n_users, "n_items": data.n_items, "n_interactions": len(data),
                 "train": len(tr), "valid": len(split.valid), "test": len(split.test)}
    log(f"data: {data.n_users:,} users x {data.n_items:,} items, {len(data):,} interactions (train {len(tr):,} / "
        f"valid {len(split.valid):,} / test {len(split.test):,}); load + split {time.perf_counter() - start:.1f} s")
    del data
    B, dim, l2, seed = plan.batch_size, args.dim, args.l2, args.seed
    n_steps = math.ceil(len(tr) / B)
    log(f"training: batch {B}, {n_steps} steps/epoch, {plan.epochs} measured epochs, dim {dim}, "
        f"adam lr {args.adam_lr:g} (recbench, RecBole); numpy sgd lr {args.sgd_lr * B:g}")

    # -- recbench: host loop, Adam, compiled calls timed ------------------------------------------
    model = MFBPR(tr.n_users, tr.n_items, dim=dim, l2=l2, seed=seed)
    P0, Q0 = np.asarray(model.user_factors[...]), np.asarray(model.item_factors[...])
    cfg = TrainConfig(epochs=1 + plan.epochs, eval_every=0, batch_size=B, optimizer="adam", learning_rate=args.adam_lr)
    with timed_compiled_epochs() as clock:
        start = time.perf_counter()
        res = train(model, "pairwise", split, cfg, seed)
        wall = time.perf_counter() - start
    steady_state = after_warm_up(res, clock)
    steady, steady_mean = steady_state.median_rate, steady_state.mean_rate
    inside = clock["seconds"]
    epoch_s, loop_overhead = steady_state.epoch_s, steady_state.loop_overhead_s
    setup = wall - res.compile_seconds - res.train_seconds
    all_in = (wall - res.compile_seconds - inside) / res.epochs
    f["recbench_train"] = {
        "compile_s": res.compile_seconds, "train_s": res.train_seconds, "epochs": res.epochs,
        "examples": res.examples, "examples_per_s": steady, "examples_per_s_mean": steady_mean,
        "examples_per_s_with_warm_up": res.examples_per_second,
        "warm_up_epoch_s": clock["per_call"][0], "wall_s": wall,
        "inside_compiled_s": inside, "compiled_calls": clock["calls"], "epoch_s": epoch_s,
        "loop_overhead_per_epoch_s": loop_overhead, "loop_overhead_share": loop_overhead / epoch_s,
        "setup_s": setup, "setup_epochs": setup / epoch_s, "all_in_overhead_share": all_in / epoch_s,
        "loss_first": res.losses[0], "loss_last": res.losses[-1],
    }
    log(f"recbench train: compile {res.compile_seconds:.2f} s; {res.epochs} epochs in {res.train_seconds:.2f} s; "
        f"after the warm-up epoch ({clock['per_call'][0]:.3f} s) {fmt(steady)} examples/s (median epoch; mean "
        f"{fmt(steady_mean)}; {fmt(res.examples_per_second)} with the warm-up); "
        f"a measured epoch's compiled call {epoch_s:.3f} s; "
        f"loop overhead {loop_overhead * 1e3:.2f} ms/epoch ({loop_overhead / epoch_s:.2%}); one-off setup "
        f"{setup:.2f} s ({setup / epoch_s:.2f} epochs); all-in {all_in / epoch_s:.2%} of an epoch; "
        f"loss {res.losses[0]:.4f} -> {res.losses[-1]:.4f}" + load1())
    model = res.model
    del res

    # -- recbench with row-wise SGD, paired with RecBole's SGD (like for like, as Adam with Adam) ---
    sgd_model = MFBPR(tr.n_users, tr.n_items, dim=dim, l2=l2, seed=seed)
    sgd_cfg = TrainConfig(epochs=1 + plan.epochs, eval_every=0, batch_size=B, optimizer="sgd",
                          learning_rate=args.sgd_batch_lr, sparse_optimizer="sgd")
    with timed_compiled_epochs() as sgd_clock:
        sgd_res = train(sgd_model, "pairwise", split, sgd_cfg, seed)
    sgd_steady, sgd_mean = after_warm_up(sgd_res, sgd_clock)[:2]
    f["recbench_train_sgd"] = {"compile_s": sgd_res.compile_seconds, "train_s": sgd_res.train_seconds,
                               "epochs": sgd_res.epochs, "examples_per_s": sgd_steady, "examples_per_s_mean": sgd_mean,
                               "examples_per_s_with_warm_up": sgd_res.examples_per_second,
                               "warm_up_epoch_s": sgd_clock["per_call"][0],
                               "loss_first": sgd_res.losses[0], "loss_last": sgd_res.losses[-1]}
    log(f"recbench train, row-wise sgd (lr {args.sgd_batch_lr:g}): compile {sgd_res.compile_seconds:.2f} s; "
        f"{sgd_res.epochs} epochs in {sgd_res.train_seconds:.2f} s; after the warm-up epoch {fmt(sgd_steady)} "
        f"examples/s (median epoch; mean {fmt(sgd_mean)}; {fmt(sgd_res.examples_per_second)} with the warm-up); "
        f"loss {sgd_res.losses[0]:.4f} -> {sgd_res.losses[-1]:.4f}" + load1())
    del sgd_model, sgd_res

    # -- numpy reference training ----------------------------------------------------------------
    ref = NumpyBPR(P0, Q0, tr.user_idx, tr.item_idx, l2=l2, lr=args.sgd_lr * B, batch_size=B, seed=seed)
    for _ in range(3):
        ref.step()
    start = time.perf_counter()
    for _ in range(plan.numpy_steps):
        ref.step()
    np_seconds = time.perf_counter() - start
    f["numpy_train"] = {"steps": plan.numpy_steps, "seconds": np_seconds,
                        "examples_per_s": plan.numpy_steps * B / np_seconds}
    log(f"numpy train (sgd): {plan.numpy_steps} steps in {np_seconds:.2f} s = "
        f"{fmt(f['numpy_train']['examples_per_s'])} examples/s" + load1())
    del ref, P0, Q0

    # -- recbench evaluation ---------------------------------------------------------------------
    start = time.perf_counter()
    rplan = plan_ranking(split.test, [split.train, split.valid], batch_width([split.test], EVAL_BATCH))
    evaluator = RankingEvaluator({"test": rplan}, tr.n_items, {MetricRef("ndcg", K): ndcg, MetricRef("recall", K): recall})
    plan_s = time.perf_counter() - start
    runs = [evaluator.evaluate(model, "test") for _ in range(plan.eval_repeats)]
    eval_s = statistics.median(r.seconds for r in runs)
    result = runs[-1]
    n_eval = int(result.users.shape[0])
    means = result.means()
    f["recbench_eval"] = {"plan_s": plan_s, "compile_s": evaluator.compile_seconds, "seconds": eval_s,
                          "users": n_eval, "users_per_s": n_eval / eval_s, "ndcg@10": means[f"ndcg@{K}"]}
    log(f"recbench eval: {n_eval:,} users, run {eval_s:.3f} s (median of {plan.eval_repeats}) = "
        f"{fmt(n_eval / eval_s)} users/s; compile {evaluator.compile_seconds:.2f} s; ndcg@10 {means[f'ndcg@{K}']:.4f}"
        + load1())

    # -- numpy reference evaluation --------------------------------------------------------------
    P = np.asarray(model.user_factors[...], np.float32)
    Q = np.asarray(model.item_factors[...], np.float32)
    ex_csr = csr(np.concatenate([split.train.user_idx, split.valid.user_idx]),
                 np.concatenate([split.train.item_idx, split.valid.item_idx]), tr.n_users)
    tg_csr = csr(split.test.user_idx, split.test.item_idx, tr.n_users)
    users = result.users.astype(np.int64)
    rng = np.random.default_rng(seed)
    subset = plan.numpy_eval_users is not None and plan.numpy_eval_users < n_eval
    pick = np.sort(rng.choice(n_eval, plan.numpy_eval_users, replace=False)) if subset else np.arange(n_eval)
    start = time.perf_counter()
    np_ndcg, _ = numpy_ranking(P, Q, users[pick], ex_csr, tg_csr)
    np_eval_s = time.perf_counter() - start
    ndcg_diff = abs(float(np_ndcg.mean()) - float(result.per_user[f"ndcg@{K}"][pick].mean()))
    f["numpy_eval"] = {"users_timed": int(pick.shape[0]), "seconds": np_eval_s,
                       "users_per_s": pick.shape[0] / np_eval_s, "extrapolated": bool(subset),
                       "ndcg_mean_abs_diff_vs_recbench": ndcg_diff}
    log(f"numpy eval: {pick.shape[0]:,} users{' (random subset)' if subset else ''} in {np_eval_s:.2f} s = "
        f"{fmt(pick.shape[0] / np_eval_s)} users/s; |mean ndcg@10 - recbench's| {ndcg_diff:.1e}" + load1())
    del model, P, Q, evaluator, runs, result

    # -- RecBole ---------------------------------------------------------------------------------
    if recbole_python is None:
        f["recbole"] = None
    else:
        with tempfile.TemporaryDirectory(prefix="recbench-peers-") as tmp:
            start = time.perf_counter()
            test_u, test_i = split.test.user_idx, split.test.item_idx
            if plan.recbole_eval_users is not None:
                test_users = np.unique(test_u)
                keep = rng.choice(test_users, min(plan.recbole_eval_users, test_users.shape[0]), replace=False)
                mask = np.isin(test_u, keep)
                test_u, test_i = test_u[mask], test_i[mask]
            rb_name = name.replace("-", "_")
            write_split(Path(tmp), rb_name, {"train": (split.train.user_idx, split.train.item_idx),
                                             "valid": (split.valid.user_idx, split.valid.item_idx),
                                             "test": (test_u, test_i)})
            log(f"recbole: atomic files written in {time.perf_counter() - start:.1f} s")
            tried = []
            for threads in plan.recbole_threads:
                try:
                    tried.append(run_recbole(recbole_python, Path(tmp), rb_name, plan, args, threads))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    log(f"recbole: FAILED: {exc}")
                    tried.append({"error": str(exc), "torch_threads": threads})
                    continue
                log_recbole(tried[-1])
            try:  # SGD, with the thread count of the first (Adam) run
                f["recbole_sgd"] = run_recbole(recbole_python, Path(tmp), rb_name, plan, args,
                                               plan.recbole_threads[0], learner="sgd")
                log_recbole(f["recbole_sgd"])
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"recbole (sgd): FAILED: {exc}")
                f["recbole_sgd"] = {"error": str(exc)}
        ok = [t for t in tried if "error" not in t]
        f["recbole_runs"] = tried
        if ok:  # RecBole's best figures over the thread counts tried (train and eval chosen apart)
            best_train = max(ok, key=lambda t: t["train_examples_per_s"])
            best_eval = max(ok, key=lambda t: t["eval_users_per_s"])
            f["recbole"] = {**best_train, "eval_users_per_s": best_eval["eval_users_per_s"],
                            "eval_seconds": best_eval["eval_seconds"], "eval_threads": best_eval["torch_threads"],
                            "runs": len(ok)}
        else:
            f["recbole"] = tried[-1] if tried else None
    f["loadavg_after"] = loadavg()
    return out


def log_recbole(rb: dict[str, Any]) -> None:
    partial = rb["max_batches"] is not None and rb["max_batches"] < rb["full_epoch_batches"]
    what = (f"partial epochs of {rb['max_batches']}/{rb['full_epoch_batches']} batches" if partial
            else "epochs")
    epoch_seconds = ", ".join(f"{e['seconds']:.2f}" for e in rb["epochs"])
    log(f"recbole: data {rb['data_seconds']:.1f} s; {rb['measured_epochs']} measured {what} "
        f"({epoch_seconds} s incl. warm-up) = "
        f"{fmt(rb['train_examples_per_s'])} examples/s (median epoch; mean {fmt(rb['train_examples_per_s_mean'])}); eval {rb['eval_users']:,} users in "
        f"{rb['eval_seconds']:.2f} s = {fmt(rb['eval_users_per_s'])} users/s; torch threads "
        f"{rb['torch_threads']}; {rb['metrics']}" + load1())


# -- summary -------------------------------------------------------------------------------------
def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def summary(results: list[DatasetResult]) -> tuple[str, list[str]]:
    """The table of throughputs and ratios, and one verdict line per target and data set."""
    rows = [("data set", "measure", "recbench", "numpy ref", "RecBole", "recbench/numpy", "recbench/RecBole", "target")]
    verdicts = []
    for r in results:
        f = r.figures
        t, nt, e, ne = f["recbench_train"], f["numpy_train"], f["recbench_eval"], f["numpy_eval"]
        rb = f.get("recbole") or {}
        rb_ok = bool(rb) and "error" not in rb
        partial = rb_ok and rb["max_batches"] is not None and rb["max_batches"] < rb["full_epoch_batches"]
        rb_train = rb["train_examples_per_s"] if rb_ok else None
        rb_eval = rb["eval_users_per_s"] if rb_ok else None
        rows.append((r.name, "train examples/s" + (" (RecBole: partial epochs)" if partial else ""),
                     fmt(t["examples_per_s"]), fmt(nt["examples_per_s"]) + " (sgd)",
                     fmt(rb_train) if rb_ok else "skipped", ratio(t["examples_per_s"], nt["examples_per_s"]),
                     ratio(t["examples_per_s"], rb_train), f">= {TARGET_TRAIN_VS_RECBOLE:g}x RecBole"))
        ts, rbs = f.get("recbench_train_sgd"), f.get("recbole_sgd") or {}
        rbs_train = rbs.get("train_examples_per_s")
        if ts is not None:
            rows.append((r.name, "train examples/s, SGD (recbench row-wise; RecBole dense)",
                         fmt(ts["examples_per_s"]), "", fmt(rbs_train) if rbs_train else "skipped", "",
                         ratio(ts["examples_per_s"], rbs_train), f">= {TARGET_TRAIN_VS_RECBOLE:g}x RecBole"))
        sub = ne["extrapolated"] or (rb_ok and rb["eval_users"] < e["users"])
        rows.append((r.name, "eval users/s" + (" (numpy/RecBole: user subset)" if sub else ""),
                     fmt(e["users_per_s"]), fmt(ne["users_per_s"]), fmt(rb_eval) if rb_ok else "skipped",
                     ratio(e["users_per_s"], ne["users_per_s"]), ratio(e["users_per_s"], rb_eval),
                     f">= {TARGET_EVAL_VS_RECBOLE:g}x RecBole"))
        rows.append((r.name, "python overhead, share of an epoch: per-epoch loop | all-in",
                     f"{t['loop_overhead_share']:.2%} | {t['all_in_overhead_share']:.2%}", "", "", "", "",
                     f"< {TARGET_OVERHEAD_SHARE:.0%}"))
        if rb_ok:
            tr_ratio, ev_ratio = t["examples_per_s"] / rb_train, e["users_per_s"] / rb_eval
            if ts is not None and rbs_train:
                sgd_ratio = ts["examples_per_s"] / rbs_train
                verdicts.append(f"{r.name}: training with SGD {sgd_ratio:.2f}x RecBole's SGD -> "
                                f"{'MET' if sgd_ratio >= TARGET_TRAIN_VS_RECBOLE else 'NOT met'}")
            verdicts.append(f"{r.name}: training (Adam) {tr_ratio:.2f}x RecBole -> "
                            f"{'MET' if tr_ratio >= TARGET_TRAIN_VS_RECBOLE else 'NOT met'}; eval {ev_ratio:.2f}x "
                            f"RecBole -> {'MET' if ev_ratio >= TARGET_EVAL_VS_RECBOLE else 'NOT met'}")
        else:
            verdicts.append(f"{r.name}: RecBole not measured, its targets not checked")
        verdicts.append(f"{r.name}: python overhead per-epoch loop {t['loop_overhead_share']:.2%} -> "
                        f"{'MET' if t['loop_overhead_share'] < TARGET_OVERHEAD_SHARE else 'NOT met'}; all-in over "
                        f"{t['epochs']} epochs {t['all_in_overhead_share']:.2%} -> "
                        f"{'MET' if t['all_in_overhead_share'] < TARGET_OVERHEAD_SHARE else 'NOT met'}")
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines), verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--quick", action="store_true", help="small smoke run (ML-20M shape at 1/50 scale)")
    parser.add_argument("--data-dir", default="/work/shared/data", help="folder holding ml-100k/ and ml-1m-afcfm/")
    parser.add_argument("--recbole-python", default=DEFAULT_RECBOLE_PYTHON,
                        help="python of a venv with torch and recbole==1.2.1 (skipped if missing)")
    parser.add_argument("--no-recbole", action="store_true", help="do not run RecBole")
    parser.add_argument("--recbole-timeout", type=float, default=1800.0, help="seconds per RecBole run")
    parser.add_argument("--epochs-100k", type=int, default=10, help="measured epochs on ml-100k")
    parser.add_argument("--epochs-1m", type=int, default=10,
                        help="measured epochs on ml-1m-afcfm (10: a median over ~2.5 s of recbench epochs, not 0.7 s)")
    parser.add_argument("--recbole-20m-batches", type=int, default=15,
                        help="ML-20M shape: RecBole's epochs are cut to this many minibatches")
    parser.add_argument("--recbole-20m-eval-users", type=int, default=2000,
                        help="ML-20M shape: RecBole evaluates the test users of this many random users")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--sgd-lr", type=float, default=0.025, help="numpy reference: sgd step per example")
    parser.add_argument("--adam-lr", type=float, default=5e-3, help="Adam learning rate (recbench and RecBole)")
    parser.add_argument("--sgd-batch-lr", type=float, default=50.0,
                        help="SGD learning rate on the batch-mean loss (recbench row-wise SGD and RecBole's SGD)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write all figures to this JSON file")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.datasets.split(",") if s.strip()]
    bad = [s for s in names if s not in DATASETS]
    if bad:
        parser.error(f"unknown data sets {bad}; choose from {', '.join(DATASETS)}")
    recbole_python = None
    if args.no_recbole:
        log("RecBole: skipped (--no-recbole)")
    elif not Path(args.recbole_python).exists():
        log(f"RecBole: skipped ({args.recbole_python} does not exist; make a venv with torch and recbole==1.2.1 "
            f"and pass --recbole-python)")
    else:
        recbole_python = args.recbole_python

    info = machine_info()
    log(f"recbench vs peers (MF-BPR)  {info['date']}")
    log(f"machine: {info['nproc']} cpus ({info['cpu']}), {info['ram']} RAM; python {info['python']}, "
        f"numpy {info['numpy']}, jax {info['jax']} ({info['backend']})")
    log(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    log(f"loadavg at start: {loadavg()}")
    all_plans = plans(args)
    total_start = time.perf_counter()
    results = [bench_dataset(name, all_plans[name], args, recbole_python) for name in names]
    table, verdicts = summary(results)
    log("\n=== summary (ratios > 1: recbench faster) ===")
    log(table)
    log("\ntargets:")
    for line in verdicts:
        log("  " + line)
    log(f"\ntotal {time.perf_counter() - total_start:.0f} s; loadavg at end: {loadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": info, "argv": sys.argv, "results": [r.__dict__ for r in results]}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
