"""Benchmark MF-BPR training and full-ranking evaluation in recbench, against plain-numpy references.

What is measured, per data size (each against a reference measured in the same process, because the
machine is noisy: the *ratios* are the evidence, absolute seconds are not):

1. Training: the real host loop, ``recbench.train.loop.train`` on a ``random_holdout`` split, with
   ``TrainConfig(epochs=N, eval_every=0, ...)``, once with ``sgd`` (the same update math as the
   reference) and once with ``adam`` (recbench's default for mf_bpr). Reported: compile seconds
   (``TrainOutcome.compile_seconds``), steady-state examples/s (``TrainOutcome.examples_per_second``)
   and the "Python overhead" = wall time of the whole ``train()`` call - compile - train_seconds,
   as a fraction of one epoch (``to_device``, the host-side CSR build, is timed separately too).
   Reference: a straightforward numpy BPR minibatch SGD step (uniform rows with replacement, uniform
   negatives with the same 2 rounds of positive-rejection, gather rows, sigmoid gradients of the
   same loss incl. the l2 term, ``np.add.at`` scatter), for a fixed number of steps on the same
   training part. The script first checks that its gradients equal ``jax.grad`` of ``MFBPR.loss``.
   Diagnostic (not recbench code): the same SGD epoch written in JAX with row scatter-adds
   (``P.at[u].add(...)``) instead of dense gradients + optax. Note: XLA:CPU does *not* do that scatter
   in place when the update depends on rows gathered from the same table; it copies the table each
   step (two ``copy`` ops of f32[n_users, dim] in the optimised HLO), so this is not the O(batch)
   update one might expect, and it is only modestly faster than the dense one.
2. Evaluation: ``plan_ranking`` + ``RankingEvaluator`` (ndcg@10, recall@10 on the test part, train
   and valid items masked, as ``recbench.runner`` does) on the adam-trained model. Reported: compile
   seconds (``evaluator.compile_seconds``), users/s from ``RankingResult.seconds``, and host-side plan
   time. Reference: numpy per batch of 1024 users: ``U[b] @ V.T``, masked items to -inf,
   ``np.argpartition`` top-k, sort the k (score desc, item asc), ndcg@10/recall@10. The per-user
   ndcg@10 of both are compared on the same users (they should agree to ~1e-4).

Sizes: ``ml-100k`` is the real MovieLens 100K (from ``--data-dir``, default /work/shared/data);
``ml-20m-shape`` is synthetic data with ML-20M's shape (138,493 users, 26,744 items, ~20M
interactions; lognormal user activity, power-law item popularity), generated directly in numpy. At
that size training runs 2 epochs and the numpy evaluation reference times a random subset of users
(``--numpy-eval-users``, default 10,000) and extrapolates users/s.

Run (from the repository root)::

    python benchmarks/bench_mf_bpr.py                        # both sizes, ~10 min on 2 cores
    python benchmarks/bench_mf_bpr.py --sizes ml-100k        # one size
    python benchmarks/bench_mf_bpr.py --quick                # smoke run: fewer steps, ML-20M shape at 1/50
    python benchmarks/bench_mf_bpr.py --json results.json    # also write the figures as JSON
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SIZES = ("ml-100k", "ml-20m-shape")
ML20M_USERS, ML20M_ITEMS, ML20M_INTERACTIONS = 138_493, 26_744, 20_000_263
K = 10
EVAL_BATCH = 1024


@dataclass
class SizePlan:
    """How much work to do at one size."""

    batch_size: int
    epochs: int
    numpy_steps: int
    eval_repeats: int
    numpy_eval_users: int | None  # None: all users
    scale: float = 1.0


def size_plans(args: argparse.Namespace) -> dict[str, SizePlan]:
    if args.quick:
        return {
            "ml-100k": SizePlan(batch_size=2048, epochs=3, numpy_steps=30, eval_repeats=2, numpy_eval_users=None),
            "ml-20m-shape": SizePlan(batch_size=8192, epochs=2, numpy_steps=20, eval_repeats=1,
                                     numpy_eval_users=1000, scale=0.02),
        }
    return {
        "ml-100k": SizePlan(batch_size=2048, epochs=50, numpy_steps=500, eval_repeats=20, numpy_eval_users=None),
        "ml-20m-shape": SizePlan(batch_size=8192, epochs=2, numpy_steps=300, eval_repeats=2,
                                 numpy_eval_users=args.numpy_eval_users),
    }


# -- output --------------------------------------------------------------------------------------
def log(msg: str = "") -> None:
    print(msg, flush=True)


def load1() -> str:
    """The 1-minute load average, printed after each measurement (other processes share the cores)."""
    return f" [load {loadavg().split()[0]}]"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.{digits}g}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.{digits}g}k"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def machine_info() -> dict[str, Any]:
    import jax

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": mem,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
    }


# -- data ----------------------------------------------------------------------------------------
def load_ml100k_data(data_dir: str) -> Any:
    from recbench.builtin.movielens import load_ml100k
    from recbench.data.files import dataset_context

    return load_ml100k(dataset_context(data_dir=data_dir))


def unique_sorted(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)`` by sort + neighbour mask: numpy 2.4's np.unique takes a hash-table path that
    is ~20x slower than this on 20M distinct int64 keys (measured ~29 s vs ~1.5 s on this machine)."""
    keys = np.sort(keys)
    keep = np.empty(keys.shape, bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def make_ml20m_shape(scale: float = 1.0, seed: int = 0) -> Any:
    """Synthetic interactions of ML-20M's shape, built directly with numpy (a few seconds).

    Users: at least 20 interactions each (as in ML-20M) plus a lognormal share of the rest.
    Items: popularity p_r ~ 1 / (r + 50) by popularity rank r (top item ~0.3% of all events, as in
    ML-20M), item ids shuffled. Duplicates are removed per user by deduplicating int64 pair keys
    (user * n_items + item) and topped up twice, so the total is ~20M.
    """
    from recbench.data.interactions import Interactions

    rng = np.random.default_rng(seed)
    n_users = max(100, int(round(ML20M_USERS * scale)))
    n_items = ML20M_ITEMS
    target = int(round(ML20M_INTERACTIONS * scale))
    share = rng.lognormal(mean=0.0, sigma=1.2, size=n_users)
    counts = 20 + np.floor(share / share.sum() * max(target - 20 * n_users, 0)).astype(np.int64)
    counts = np.minimum(counts, 9_254)  # ML-20M's most active user
    rank_weight = 1.0 / (np.arange(n_items, dtype=np.float64) + 50.0)
    cdf = np.cumsum(rank_weight)
    cdf /= cdf[-1]
    item_of_rank = rng.permutation(n_items).astype(np.int64)

    def draw(users: np.ndarray) -> np.ndarray:
        ranks = np.minimum(np.searchsorted(cdf, rng.random(users.shape[0])), n_items - 1)
        return users * n_items + item_of_rank[ranks]

    keys = unique_sorted(draw(np.repeat(np.arange(n_users, dtype=np.int64), counts)))
    for _ in range(2):  # top up what deduplication removed
        have = np.bincount(keys // n_items, minlength=n_users)
        deficit = counts - have
        if deficit.sum() == 0:
            break
        extra = draw(np.repeat(np.arange(n_users, dtype=np.int64), np.maximum(deficit, 0)))
        keys = unique_sorted(np.concatenate([keys, extra]))
    return Interactions.from_indices(
        (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32),
        n_users=n_users, n_items=n_items, name="ml-20m-shape",
    )


# -- numpy references ----------------------------------------------------------------------------
def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


class NumpyBPR:
    """Plain numpy minibatch BPR SGD with exactly MFBPR's loss (mean BPR + l2 * mean row norms)."""

    def __init__(self, P: np.ndarray, Q: np.ndarray, users: np.ndarray, items: np.ndarray, *,
                 l2: float, lr: float, batch_size: int, negative_rounds: int = 2, seed: int = 0) -> None:
        self.P, self.Q = P.astype(np.float32, copy=True), Q.astype(np.float32, copy=True)
        self.users, self.items = users.astype(np.int64), items.astype(np.int64)
        self.n_items = Q.shape[0]
        self.keys_sorted = np.sort(self.users * self.n_items + self.items)
        self.l2, self.lr, self.B, self.rounds = np.float32(l2), np.float32(lr), batch_size, negative_rounds
        self.rng = np.random.default_rng(seed)

    def is_positive(self, u: np.ndarray, j: np.ndarray) -> np.ndarray:
        k = u * self.n_items + j
        pos = np.minimum(np.searchsorted(self.keys_sorted, k), self.keys_sorted.shape[0] - 1)
        return self.keys_sorted[pos] == k

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self.rng.integers(0, self.users.shape[0], self.B)
        u, i = self.users[rows], self.items[rows]
        j = self.rng.integers(0, self.n_items, self.B)
        for _ in range(self.rounds):
            redraw = self.rng.integers(0, self.n_items, self.B)
            j = np.where(self.is_positive(u, j), redraw, j)
        return u, i, j

    def grads(self, u: np.ndarray, i: np.ndarray, j: np.ndarray):
        """Per-example gradient rows of the batch loss (and the loss)."""
        pu, qi, qj = self.P[u], self.Q[i], self.Q[j]
        d = qi - qj
        x = np.einsum("bd,bd->b", pu, d)
        B = np.float32(u.shape[0])
        reg = np.einsum("bd,bd->b", pu, pu) + np.einsum("bd,bd->b", qi, qi) + np.einsum("bd,bd->b", qj, qj)
        loss = float(-log_sigmoid(x).mean() + self.l2 * reg.mean())
        g = (-np.exp(log_sigmoid(-x)) / B).astype(np.float32)[:, None]  # d loss / d x_b = -sigmoid(-x)/B
        c = np.float32(2.0) * self.l2 / B
        gu = g * d + c * pu
        gi = g * pu + c * qi
        gj = -g * pu + c * qj
        return gu, gi, gj, loss

    def dense_grads(self, u, i, j):
        gu, gi, gj, loss = self.grads(u, i, j)
        dP, dQ = np.zeros_like(self.P), np.zeros_like(self.Q)
        np.add.at(dP, u, gu)
        np.add.at(dQ, i, gi)
        np.add.at(dQ, j, gj)
        return dP, dQ, loss

    def step(self) -> float:
        u, i, j = self.sample()
        gu, gi, gj, loss = self.grads(u, i, j)
        np.add.at(self.P, u, -self.lr * gu)
        np.add.at(self.Q, i, -self.lr * gi)
        np.add.at(self.Q, j, -self.lr * gj)
        return loss


def csr(users: np.ndarray, items: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(users, kind="stable")
    indptr = np.zeros(n_users + 1, np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    return indptr, items[order].astype(np.int64)


def csr_rows(indptr: np.ndarray, values: np.ndarray, batch_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row within batch, value) of every CSR entry of ``batch_users``, vectorised."""
    starts, ends = indptr[batch_users], indptr[batch_users + 1]
    counts = ends - starts
    rows = np.repeat(np.arange(batch_users.shape[0]), counts)
    offsets = np.arange(rows.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, values[np.repeat(starts, counts) + offsets]


def numpy_ranking(P: np.ndarray, Q: np.ndarray, users: np.ndarray, ex_csr, tg_csr, k: int = K,
                  batch: int = EVAL_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Per-user ndcg@k and recall@k, full ranking with masked items, ties to the lower item index."""
    n_items = Q.shape[0]
    discount = (1.0 / np.log2(np.arange(k) + 2.0)).astype(np.float32)
    ideal = np.cumsum(discount)
    QT = np.ascontiguousarray(Q.T)
    ndcg_out = np.empty(users.shape[0], np.float32)
    recall_out = np.empty(users.shape[0], np.float32)
    for s in range(0, users.shape[0], batch):
        ub = users[s:s + batch]
        scores = P[ub] @ QT
        rows, cols = csr_rows(*ex_csr, ub)
        scores[rows, cols] = -np.inf
        top = np.argpartition(scores, n_items - k, axis=1)[:, n_items - k:]
        top.sort(axis=1)  # item ascending, so the stable sort below breaks ties to the lower index
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        rel = np.zeros(scores.shape, bool)
        trows, tcols = csr_rows(*tg_csr, ub)
        rel[trows, tcols] = True
        rel_k = np.take_along_axis(rel, top, axis=1).astype(np.float32)
        n_rel = (tg_csr[0][ub + 1] - tg_csr[0][ub]).astype(np.float32)
        hits = rel_k.sum(axis=1)
        ndcg_out[s:s + batch] = (rel_k @ discount) / ideal[np.clip(n_rel, 1, k).astype(np.int64) - 1]
        recall_out[s:s + batch] = hits / np.maximum(n_rel, 1)
    return ndcg_out, recall_out


# -- diagnostic: the same epoch with sparse row updates ------------------------------------------
def make_sparse_sgd_epoch(n_steps: int, batch_size: int, n_items: int, depth: int, l2: float, lr: float):
    """MF-BPR SGD epoch in JAX with scatter-add row updates (XLA:CPU still copies the tables per step)."""
    import jax
    import jax.numpy as jnp

    from recbench.train.sampling import sample_negatives

    def epoch(P, Q, key, data):
        def step(carry, step_key):
            P, Q = carry
            row_key, neg_key = jax.random.split(step_key)
            rows = jax.random.randint(row_key, (batch_size,), 0, data.users_N.shape[0])
            u, i = data.users_N[rows], data.items_N[rows]
            j = sample_negatives(neg_key, data, u, n_items, depth, 2)
            pu, qi, qj = P[u], Q[i], Q[j]
            d = qi - qj
            x = (pu * d).sum(-1)
            reg = (pu**2).sum(-1) + (qi**2).sum(-1) + (qj**2).sum(-1)
            loss = -jax.nn.log_sigmoid(x).mean() + l2 * reg.mean()
            g = (-jax.nn.sigmoid(-x) / batch_size)[:, None]
            c = 2.0 * l2 / batch_size
            P = P.at[u].add(-lr * (g * d + c * pu))
            Q = Q.at[i].add(-lr * (g * pu + c * qi)).at[j].add(-lr * (-g * pu + c * qj))
            return (P, Q), loss

        (P, Q), losses = jax.lax.scan(step, (P, Q), jax.random.split(key, n_steps))
        return P, Q, losses.mean()

    return jax.jit(epoch, donate_argnums=(0, 1))


# -- one size ------------------------------------------------------------------------------------
@dataclass
class SizeResult:
    name: str
    shape: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


def bench_size(name: str, plan: SizePlan, args: argparse.Namespace) -> SizeResult:
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from recbench.builtin.metrics import ndcg, recall
    from recbench.builtin.models.mf_bpr import MFBPR
    from recbench.builtin.splitters import random_holdout
    from recbench.evaluate.metric_names import MetricRef
    from recbench.evaluate.ranking import RankingEvaluator, batch_width, plan_ranking
    from recbench.train.config import TrainConfig
    from recbench.train.loop import train
    from recbench.train.pairwise import PairwiseBatch
    from recbench.train.sampling import to_device

    out = SizeResult(name)
    f = out.figures
    log(f"\n=== {name}" + (f" (scale {plan.scale})" if plan.scale != 1.0 else "") + f" === (loadavg {loadavg()})")

    start = time.perf_counter()
    data = load_ml100k_data(args.data_dir) if name == "ml-100k" else make_ml20m_shape(plan.scale, args.seed)
    f["data_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    split = random_holdout(data, {}, seed=args.seed)
    f["split_seconds"] = time.perf_counter() - start
    tr = split.train
    out.shape = {"n_users": data.n_users, "n_items": data.n_items, "n_interactions": len(data),
                 "train": len(tr), "valid": len(split.valid), "test": len(split.test)}
    log(f"data: {data.n_users:,} users x {data.n_items:,} items, {len(data):,} interactions "
        f"(train {len(tr):,} / valid {len(split.valid):,} / test {len(split.test):,}); "
        f"built in {f['data_seconds']:.1f} s, split in {f['split_seconds']:.1f} s")
    del data

    B, dim, l2, seed = plan.batch_size, args.dim, args.l2, args.seed
    n_steps = math.ceil(len(tr) / B)
    sgd_lr = args.sgd_lr * B  # the loss is a batch mean
    log(f"training: batch {B}, {n_steps} steps/epoch, {plan.epochs} epochs, dim {dim}, l2 {l2}; "
        f"sgd lr {sgd_lr:g} (= {args.sgd_lr:g} per example x batch), adam lr {args.adam_lr:g}")

    # -- gradient check: the numpy reference computes jax.grad of MFBPR.loss ---------------------
    model = MFBPR(tr.n_users, tr.n_items, dim=dim, l2=l2, seed=seed)
    P0 = np.asarray(model.user_factors[...])
    Q0 = np.asarray(model.item_factors[...])
    ref = NumpyBPR(P0, Q0, tr.user_idx, tr.item_idx, l2=l2, lr=sgd_lr, batch_size=256, seed=seed)
    u, i, j = ref.sample()
    dP, dQ, np_loss = ref.dense_grads(u, i, j)
    batch = PairwiseBatch(jnp.asarray(u, jnp.int32), jnp.asarray(i, jnp.int32), jnp.asarray(j, jnp.int32))
    jax_loss, grads = nnx.value_and_grad(lambda m: m.loss(batch))(model)
    scale_g = max(float(np.abs(dP).max()), float(np.abs(dQ).max()))
    grad_P, grad_Q = np.split(np.asarray(grads.factors[...]), [tr.n_users])  # factors = [P; Q]
    grad_err = max(float(np.abs(grad_P - dP).max()), float(np.abs(grad_Q - dQ).max())) / scale_g
    f["grad_check_rel_err"] = grad_err
    f["grad_check_loss_diff"] = abs(float(jax_loss) - np_loss)
    log(f"gradient check (numpy reference vs jax.grad of MFBPR.loss): max rel err {grad_err:.1e}, "
        f"loss diff {f['grad_check_loss_diff']:.1e}")
    if grad_err > 1e-3:
        log("WARNING: the numpy reference does not compute the same gradients")
    del model, ref, dP, dQ, grads

    # -- host-side CSR build, timed on its own (it is part of train()'s Python overhead) -----------
    start = time.perf_counter()
    d_data, depth = to_device(tr.user_idx, tr.item_idx, tr.n_users, tr.n_items)
    jax.block_until_ready(d_data)
    f["to_device_seconds"] = time.perf_counter() - start

    # -- JAX host loop ------------------------------------------------------------------------------
    trained = {}
    for opt, lr in (("sgd", sgd_lr), ("adam", args.adam_lr)):
        model = MFBPR(tr.n_users, tr.n_items, dim=dim, l2=l2, seed=seed)
        cfg = TrainConfig(epochs=plan.epochs, eval_every=0, batch_size=B, optimizer=opt, learning_rate=lr)
        start = time.perf_counter()
        res = train(model, "pairwise", split, cfg, seed)
        wall = time.perf_counter() - start
        epoch_s = res.train_seconds / res.epochs
        overhead = wall - res.compile_seconds - res.train_seconds
        f[f"jax_{opt}"] = {
            "compile_s": res.compile_seconds, "train_s": res.train_seconds, "epochs": res.epochs,
            "epoch_s": epoch_s, "examples_per_s": res.examples_per_second, "wall_s": wall,
            "overhead_s": overhead, "overhead_epochs": overhead / epoch_s,
            "loss_first": res.losses[0], "loss_last": res.losses[-1],
        }
        trained[opt] = res.model
        log(f"jax {opt:4s}: compile {res.compile_seconds:.2f} s; {res.epochs} epochs in {res.train_seconds:.2f} s "
            f"({epoch_s:.3f} s/epoch, {fmt(res.examples_per_second)} examples/s); "
            f"python overhead {overhead:.2f} s = {overhead / epoch_s:.2f} epoch "
            f"(to_device alone {f['to_device_seconds']:.2f} s); loss {res.losses[0]:.4f} -> {res.losses[-1]:.4f}"
            + load1())

    # -- numpy reference training ---------------------------------------------------------------
    ref = NumpyBPR(P0, Q0, tr.user_idx, tr.item_idx, l2=l2, lr=sgd_lr, batch_size=B, seed=seed)
    for _ in range(3):
        ref.step()  # warm-up
    losses = []
    start = time.perf_counter()
    for _ in range(plan.numpy_steps):
        losses.append(ref.step())
    np_seconds = time.perf_counter() - start
    np_eps = plan.numpy_steps * B / np_seconds
    f["numpy_sgd"] = {"steps": plan.numpy_steps, "seconds": np_seconds, "examples_per_s": np_eps,
                      "epoch_s_extrapolated": n_steps * B / np_eps}
    for opt in ("sgd", "adam"):
        f[f"ratio_train_jax_{opt}_vs_numpy"] = f[f"jax_{opt}"]["examples_per_s"] / np_eps
    log(f"numpy sgd: {plan.numpy_steps} steps in {np_seconds:.2f} s ({fmt(np_eps)} examples/s, "
        f"{n_steps * B / np_eps:.2f} s/epoch extrapolated); loss {losses[0]:.4f} -> {losses[-1]:.4f}" + load1())
    log(f"RATIO train examples/s  jax-sgd / numpy-sgd = {f['ratio_train_jax_sgd_vs_numpy']:.2f}x   "
        f"jax-adam / numpy-sgd = {f['ratio_train_jax_adam_vs_numpy']:.2f}x")
    del ref

    # -- diagnostic: JAX with sparse row updates ------------------------------------------------
    if not args.no_diagnostic:
        epoch_fn = make_sparse_sgd_epoch(n_steps, B, tr.n_items, depth, l2, sgd_lr)
        P, Q = jnp.asarray(P0), jnp.asarray(Q0)
        key = jax.random.key(seed)
        start = time.perf_counter()
        compiled = epoch_fn.lower(P, Q, key, d_data).compile()
        c_s = time.perf_counter() - start
        times = []
        for e in range(max(1, min(plan.epochs, 3))):
            start = time.perf_counter()
            P, Q, loss = compiled(P, Q, jax.random.fold_in(key, e), d_data)
            float(loss)
            times.append(time.perf_counter() - start)
        e_s = statistics.median(times)
        f["jax_sparse_sgd_diagnostic"] = {"compile_s": c_s, "epoch_s": e_s, "examples_per_s": n_steps * B / e_s,
                                          "loss_last": float(loss)}
        f["ratio_train_sparse_vs_recbench_sgd"] = (n_steps * B / e_s) / f["jax_sgd"]["examples_per_s"]
        log(f"diagnostic jax scatter-add sgd (not recbench code): compile {c_s:.2f} s; {e_s:.3f} s/epoch "
            f"({fmt(n_steps * B / e_s)} examples/s) = {f['ratio_train_sparse_vs_recbench_sgd']:.2f}x recbench's "
            f"jax-sgd epoch" + load1())
        del P, Q, compiled
    del d_data

    # -- evaluation: recbench on the device -----------------------------------------------------
    model = trained["adam"]
    del trained
    start = time.perf_counter()
    width = batch_width([split.test], EVAL_BATCH)
    rplan = plan_ranking(split.test, [split.train, split.valid], width)
    metrics = {MetricRef("ndcg", K): ndcg, MetricRef("recall", K): recall}
    evaluator = RankingEvaluator({"test": rplan}, tr.n_items, metrics)
    plan_s = time.perf_counter() - start
    runs = [evaluator.evaluate(model, "test") for _ in range(plan.eval_repeats)]
    eval_s = statistics.median(r.seconds for r in runs)
    result = runs[-1]
    n_eval = int(result.users.shape[0])
    jax_ups = n_eval / eval_s
    means = result.means()
    f["jax_eval"] = {"plan_s": plan_s, "compile_s": evaluator.compile_seconds, "seconds": eval_s,
                     "all_seconds": [r.seconds for r in runs], "users": n_eval, "users_per_s": jax_ups,
                     "ndcg@10": means[f"ndcg@{K}"], "recall@10": means[f"recall@{K}"]}
    log(f"jax eval: {n_eval:,} users; plan {plan_s:.2f} s, compile {evaluator.compile_seconds:.2f} s, "
        f"run {eval_s:.3f} s (median of {plan.eval_repeats}) = {fmt(jax_ups)} users/s; "
        f"ndcg@10 {means[f'ndcg@{K}']:.5f}, recall@10 {means[f'recall@{K}']:.5f}" + load1())

    # -- evaluation: numpy reference ------------------------------------------------------------
    P = np.asarray(model.user_factors[...], np.float32)
    Q = np.asarray(model.item_factors[...], np.float32)
    start = time.perf_counter()
    ex_csr = csr(np.concatenate([split.train.user_idx, split.valid.user_idx]),
                 np.concatenate([split.train.item_idx, split.valid.item_idx]), tr.n_users)
    tg_csr = csr(split.test.user_idx, split.test.item_idx, tr.n_users)
    np_prep = time.perf_counter() - start
    users = result.users.astype(np.int64)
    subset = plan.numpy_eval_users is not None and plan.numpy_eval_users < n_eval
    if subset:
        pick = np.sort(np.random.default_rng(seed).choice(n_eval, plan.numpy_eval_users, replace=False))
    else:
        pick = np.arange(n_eval)
    np_times = []
    for _ in range(1 if subset else plan.eval_repeats):
        start = time.perf_counter()
        np_ndcg, np_recall = numpy_ranking(P, Q, users[pick], ex_csr, tg_csr)
        np_times.append(time.perf_counter() - start)
    np_eval_s = statistics.median(np_times)
    np_ups = pick.shape[0] / np_eval_s
    jax_ndcg = result.per_user[f"ndcg@{K}"][pick]
    jax_recall = result.per_user[f"recall@{K}"][pick]
    diff_mean = abs(float(np_ndcg.mean()) - float(jax_ndcg.mean()))
    n_differ = int((np.abs(np_ndcg - jax_ndcg) > 1e-5).sum())
    f["numpy_eval"] = {"prep_s": np_prep, "users_timed": int(pick.shape[0]), "seconds": np_eval_s,
                       "users_per_s": np_ups, "extrapolated": bool(subset),
                       "seconds_all_users_extrapolated": n_eval / np_ups,
                       "ndcg@10": float(np_ndcg.mean()), "recall@10": float(np_recall.mean()),
                       "jax_ndcg@10_same_users": float(jax_ndcg.mean())}
    f["ndcg_mean_abs_diff"] = diff_mean
    f["recall_mean_abs_diff"] = abs(float(np_recall.mean()) - float(jax_recall.mean()))
    f["users_ndcg_differ"] = n_differ
    f["ratio_eval_jax_vs_numpy"] = jax_ups / np_ups
    what = (f"{pick.shape[0]:,} random users timed, users/s extrapolated to all {n_eval:,} "
            f"({n_eval / np_ups:.1f} s)" if subset else f"all {n_eval:,} users")
    log(f"numpy eval: {what}; prep {np_prep:.2f} s, run {np_eval_s:.3f} s = {fmt(np_ups)} users/s; "
        f"ndcg@10 {np_ndcg.mean():.5f}, recall@10 {np_recall.mean():.5f}" + load1())
    log(f"check: |mean ndcg@10 numpy - jax| = {diff_mean:.2e} on the same users "
        f"({'OK' if diff_mean < 1e-4 else 'LARGER THAN 1e-4'}); users whose ndcg@10 differs: {n_differ}")
    log(f"RATIO eval users/s  jax / numpy = {f['ratio_eval_jax_vs_numpy']:.2f}x")
    return out


def summary(results: list[SizeResult]) -> str:
    rows = [("size", "what", "recbench (jax)", "numpy reference", "ratio jax/numpy")]
    for r in results:
        f = r.figures
        s, a, n = f["jax_sgd"], f["jax_adam"], f["numpy_sgd"]
        rows.append((r.name, "train examples/s, sgd", fmt(s["examples_per_s"]), fmt(n["examples_per_s"]),
                     f"{f['ratio_train_jax_sgd_vs_numpy']:.2f}x"))
        rows.append((r.name, "train examples/s, adam (default)", fmt(a["examples_per_s"]), "(sgd) " + fmt(n["examples_per_s"]),
                     f"{f['ratio_train_jax_adam_vs_numpy']:.2f}x"))
        rows.append((r.name, "train s/epoch sgd | adam", f"{s['epoch_s']:.3g} | {a['epoch_s']:.3g}",
                     f"{n['epoch_s_extrapolated']:.3g} (extrap.)", ""))
        rows.append((r.name, "train compile s sgd | adam", f"{s['compile_s']:.2f} | {a['compile_s']:.2f}", "-", ""))
        rows.append((r.name, "python overhead, epochs sgd | adam",
                     f"{s['overhead_epochs']:.2f} | {a['overhead_epochs']:.2f}", "-", ""))
        if "jax_sparse_sgd_diagnostic" in f:
            d = f["jax_sparse_sgd_diagnostic"]
            rows.append((r.name, "diag: jax scatter-add sgd ex/s", fmt(d["examples_per_s"]), "",
                         f"{d['examples_per_s'] / n['examples_per_s']:.2f}x "
                         f"({f['ratio_train_sparse_vs_recbench_sgd']:.2f}x recbench sgd)"))
        je, ne = f["jax_eval"], f["numpy_eval"]
        rows.append((r.name, "eval users/s" + (" (numpy extrap.)" if ne["extrapolated"] else ""),
                     fmt(je["users_per_s"]), fmt(ne["users_per_s"]), f"{f['ratio_eval_jax_vs_numpy']:.2f}x"))
        rows.append((r.name, "eval compile s | plan s", f"{je['compile_s']:.2f} | {je['plan_s']:.2f}",
                     f"- | {ne['prep_s']:.2f}", ""))
        rows.append((r.name, "ndcg@10 mean (same users)", f"{ne['jax_ndcg@10_same_users']:.5f}", f"{ne['ndcg@10']:.5f}",
                     f"|diff| {f['ndcg_mean_abs_diff']:.1e}"))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--quick", action="store_true", help="small smoke run (ML-20M shape at 1/50 scale)")
    parser.add_argument("--data-dir", default="/work/shared/data", help="folder holding ml-100k/")
    parser.add_argument("--numpy-eval-users", type=int, default=10_000,
                        help="ML-20M shape: users timed in the numpy evaluation reference (users/s extrapolated)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--sgd-lr", type=float, default=0.025,
                        help="sgd step per example: the learning rate on the batch-mean loss is this x batch "
                             "size (the same in jax and numpy)")
    parser.add_argument("--adam-lr", type=float, default=5e-3, help="adam learning rate (mf_bpr's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-diagnostic", action="store_true", help="skip the sparse-update JAX diagnostic")
    parser.add_argument("--json", help="also write all figures to this JSON file")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        parser.error(f"unknown sizes {bad}; choose from {', '.join(SIZES)}")

    info = machine_info()
    log(f"recbench MF-BPR benchmark  {info['date']}")
    log(f"machine: {info['nproc']} cpus ({info['cpu']}), {info['ram']} RAM; python {info['python']}, "
        f"numpy {info['numpy']}, jax {info['jax']} ({info['backend']}: {', '.join(info['devices'])})")
    log(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    log("note: absolute times depend on machine load; compare the ratios (both sides measured in this run)")
    plans = size_plans(args)
    total_start = time.perf_counter()
    results = []
    for name in sizes:
        start = time.perf_counter()
        results.append(bench_size(name, plans[name], args))
        results[-1].figures["size_wall_s"] = time.perf_counter() - start
        results[-1].figures["loadavg_after"] = loadavg()
        log(f"[{name} done in {results[-1].figures['size_wall_s']:.0f} s; loadavg {loadavg()}]")
    log("\n=== summary (ratios > 1: recbench faster) ===")
    log(summary(results))
    log(f"\ntotal {time.perf_counter() - total_start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": info, "argv": sys.argv, "results": [r.__dict__ for r in results]}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
