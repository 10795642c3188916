"""Benchmark recbench's host data pipeline (load a CSV, k-core, split) against a plain pandas.read_csv.

What is measured, on a synthetic CSV of ML-20M's shape (138,493 users, 26,744 items, ~20M rows,
columns ``userId,movieId,rating,timestamp`` like ML-20M's ``ratings.csv``):

1. **floor**: ``pandas.read_csv(path)`` of the same file with default arguments, the least any
   CSV loader built on pandas can cost.
2. **load**: the ``file`` dataset, ``load_user_file(dataset_context({"path": ..., "user": "userId",
   "item": "movieId", "rating": "rating", "timestamp": "timestamp"}))``: reading through
   ``recbench.data.readers.read_delimited``, then ``Interactions.from_raw`` (dense indices).
3. **kcore**: ``preprocess(data, [{"step": "kcore", "users": 5, "items": 5}])``.
4. **split**: ``random_holdout(data, {}, seed)`` (0.2 test / 0.1 valid per user, validated).

Time. All stages run one after the other in one fresh Python process (as a run does it), each
timed with ``time.perf_counter``; the floor runs in its own fresh process. The figures are the best
(minimum) of ``--repeats`` runs, which alternate floor and pipeline: each stage's best, and the best
whole pipeline run (so the stages' rows need not add up to the pipeline's). Reported: seconds, input rows/s
and the ratio to the floor; also each process's CPU time (``time.process_time``), which other
processes on a shared machine disturb less than wall time. The issue's target: load + kcore + split <= 3x the floor.

Memory. Peak resident memory (RSS), which sees everything, including the pandas C parser's buffers
that ``tracemalloc`` would miss (it only tracks allocations made through Python's allocator, and
numpy's). Each stage also runs alone in a fresh process (its input read from ``.npy`` files that the
previous stage's process wrote, and turned into an ``Interactions`` before measuring). Just before
the stage, the process resets its kernel high-water mark (``echo 5 > /proc/self/clear_refs``) and
reads its RSS. After the stage it reads ``VmHWM``. The stage's peak is VmHWM - that RSS: the
memory the stage adds on top of its input and the interpreter. The whole pipeline's peak is the
highest VmHWM any of its stages reached in the pipeline process, minus that process's RSS after
imports. (Not the process's ``ru_maxrss``: each reset also resets the value ``ru_maxrss`` reports,
so it only sees the last stage; it is still recorded, as ``ru_maxrss``.) Each peak is divided
by the bytes of the ``Interactions`` arrays the stage produces. These
are user_idx, item_idx, rating, timestamp and the vocabularies. For the split they are the three
parts plus the uint8 assignment. The issue's target: the pipeline's peak < 3x the bytes it produces.

Huge pages. numpy asks the kernel for transparent huge pages on every large array
(``madvise(MADV_HUGEPAGE)``, on by default on Linux), and with the kernel's THP ``defrag`` set to
``madvise`` the first touch of such memory may compact memory synchronously. On the 2-core VM of
benchmarks/RESULTS.md this made fresh arrays cost 2-10x more to fill than reused ones, and it falls
on every stage that allocates new arrays. ``--numpy-hugepage off`` sets ``NUMPY_MADVISE_HUGEPAGE=0``
for every child (floor and pipeline alike) to measure that; the kernel's THP settings are printed.

The CSV is generated once with numpy (a few seconds) and cached at
``/tmp/recbench-bench/ml20m-shape[-ROWS].csv``; delete it to regenerate. User activity is 20 + a
lognormal share (sigma 1.2), as in ML-20M every user has >= 20 rows. Item popularity follows a
broken power law: weight 1/(rank+50) up to rank 6,000, then falling as rank^-4. Most tail items get
fewer than 5 rows, so the 5-core removes some. Duplicate pairs are removed by sort + neighbour
comparison and topped up twice.

Run (from the repository root)::

    python benchmarks/bench_data.py                     # full size (~20M rows), ~5 min on 2 cores
    python benchmarks/bench_data.py --rows 2000000      # quick check at 1/10 scale
    python benchmarks/bench_data.py --repeats 3 --json /tmp/bench/data.json
    python benchmarks/bench_data.py --profile           # also cProfile the pipeline (top functions)
    python benchmarks/bench_data.py --numpy-hugepage off  # both sides without numpy's huge-page advice
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ML20M_USERS, ML20M_ITEMS, ML20M_ROWS = 138_493, 26_744, 20_000_263
ML20M_MAX_MOVIE_ID = 131_262
CACHE_DIR = Path("/tmp/recbench-bench")
KCORE = {"step": "kcore", "users": 5, "items": 5}
TIME_TARGET, MEMORY_TARGET = 3.0, 3.0
REPO = Path(__file__).resolve().parents[1]


# -- output --------------------------------------------------------------------------------------
def log(msg: str = "") -> None:
    print(msg, flush=True)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def machine_info() -> dict[str, Any]:
    import pandas as pd

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
        mem = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "unknown"
    thp = {}
    for setting in ("enabled", "defrag"):
        try:
            text = Path(f"/sys/kernel/mm/transparent_hugepage/{setting}").read_text()
            thp[setting] = text[text.index("[") + 1:text.index("]")]
        except (OSError, ValueError):
            thp[setting] = "unknown"
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "nproc": os.cpu_count(),
            "cpu": cpu, "ram": mem, "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "thp": thp}


# -- data ----------------------------------------------------------------------------------------
def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique`` by sort + neighbour comparison (numpy 2.4's np.unique hashes: ~20x slower here)."""
    keys = np.sort(keys)
    keep = np.empty(keys.shape, bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def generate(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Raw columns of ML-20M's shape scaled to ``rows`` (users scale with rows, items do not)."""
    rng = np.random.default_rng(seed)
    scale = rows / ML20M_ROWS
    n_users = max(100, round(ML20M_USERS * scale))
    n_items = ML20M_ITEMS
    share = rng.lognormal(mean=0.0, sigma=1.2, size=n_users)
    counts = 20 + np.floor(share / share.sum() * max(rows - 20 * n_users, 0)).astype(np.int64)
    counts = np.minimum(counts, 9_254)  # ML-20M's most active user
    rank = np.arange(n_items, dtype=np.float64)
    knee = 6_000.0
    weight = np.where(rank < knee, 1.0 / (rank + 50.0), 1.0 / (knee + 50.0) * (np.maximum(rank, knee) / knee) ** -4.0)
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]
    item_of_rank = rng.permutation(n_items).astype(np.int64)

    def draw(users: np.ndarray) -> np.ndarray:
        ranks = np.minimum(np.searchsorted(cdf, rng.random(users.shape[0])), n_items - 1)
        return users * n_items + item_of_rank[ranks]

    keys = sorted_unique(draw(np.repeat(np.arange(n_users, dtype=np.int64), counts)))
    for _ in range(2):  # top up what deduplication removed
        deficit = np.maximum(counts - np.bincount(keys // n_items, minlength=n_users), 0)
        if not deficit.any():
            break
        keys = sorted_unique(np.concatenate([keys, draw(np.repeat(np.arange(n_users, dtype=np.int64), deficit))]))
    movie_ids = np.sort(rng.choice(np.arange(1, ML20M_MAX_MOVIE_ID + 1), n_items, replace=False))
    half_stars = rng.choice(np.arange(1, 11), keys.shape[0],  # ML-20M's rating histogram, 0.5..5.0 stars
                            p=np.array([1.1, 3.3, 1.4, 7.2, 4.4, 21.3, 11.0, 27.8, 7.7, 14.8]) / 100.0)
    return {
        "userId": keys // n_items + 1,
        "movieId": movie_ids[keys % n_items],  # rows sorted by userId then movieId, as in ML-20M
        "half_stars": half_stars,
        "timestamp": rng.integers(789_652_009, 1_427_784_003, keys.shape[0]),
    }


def _digits(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """ASCII digits of non-negative ints, right-aligned in ``width`` columns, and which columns to keep."""
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    chars = ((x[:, None] // pow10) % 10 + 48).astype(np.uint8)
    n_digits = np.maximum((x[:, None] >= pow10).sum(axis=1), 1)
    return chars, np.arange(width) >= width - n_digits[:, None]


def write_csv(path: Path, cols: dict[str, np.ndarray], chunk: int = 2_000_000) -> None:
    """Vectorised CSV writer (pandas.to_csv takes ~1 min for 20M rows; this a few seconds)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(b"userId,movieId,rating,timestamp\n")
        for s in range(0, cols["userId"].shape[0], chunk):
            part = {k: v[s:s + chunk] for k, v in cols.items()}
            n = part["userId"].shape[0]

            def const(c: str) -> tuple[np.ndarray, np.ndarray]:
                return np.full((n, 1), ord(c), np.uint8), np.ones((n, 1), bool)

            hs = part["half_stars"]
            rating = np.stack([hs // 2 + 48, np.full(n, ord(".")), (hs % 2) * 5 + 48], axis=1).astype(np.uint8)
            pieces = [_digits(part["userId"], 6), const(","), _digits(part["movieId"], 6), const(","),
                      (rating, np.ones((n, 3), bool)), const(","), _digits(part["timestamp"], 10), const("\n")]
            chars = np.concatenate([p[0] for p in pieces], axis=1)
            keep = np.concatenate([p[1] for p in pieces], axis=1)
            fh.write(chars[keep].tobytes())
    tmp.replace(path)


def csv_path(rows: int) -> Path:
    return CACHE_DIR / ("ml20m-shape.csv" if rows == ML20M_ROWS else f"ml20m-shape-{rows}.csv")


def ensure_csv(rows: int, seed: int) -> Path:
    path = csv_path(rows)
    if path.is_file():
        log(f"data: reusing {path} ({mib(path.stat().st_size)})")
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cols = generate(rows, seed)
    gen_s = time.perf_counter() - start
    write_csv(path, cols)
    log(f"data: generated {cols['userId'].shape[0]:,} rows in {gen_s:.1f} s, wrote {path} "
        f"({mib(path.stat().st_size)}) in {time.perf_counter() - start - gen_s:.1f} s")
    return path


# -- child processes: one stage (or the whole pipeline) each -------------------------------------
def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); returns that RSS in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def _peak_since_reset() -> int:
    return _status_kib("VmHWM") * 1024


def _arrays_bytes(data: Any, vocab: bool = True) -> int:
    total = sum(a.nbytes for a in (data.user_idx, data.item_idx, data.rating, data.timestamp) if a is not None)
    if vocab:
        total += sum(v.raw_ids.nbytes for v in (data.users, data.items) if v is not None)
    return total


def _split_bytes(split: Any) -> int:
    parts = list(split.parts().values())
    return (_arrays_bytes(parts[0]) + sum(_arrays_bytes(p, vocab=False) for p in parts[1:])
            + (split.assignment.nbytes if split.assignment is not None else 0))


def _save(data: Any, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("user_idx", "item_idx", "rating", "timestamp"):
        np.save(folder / f"{name}.npy", getattr(data, name))
    np.save(folder / "users.npy", data.users.raw_ids)
    np.save(folder / "items.npy", data.items.raw_ids)


def _restore(folder: Path, name: str) -> Any:
    from recbench.data.interactions import Interactions, Vocabulary

    cols = {n: np.load(folder / f"{n}.npy") for n in ("user_idx", "item_idx", "rating", "timestamp")}
    users, items = np.load(folder / "users.npy"), np.load(folder / "items.npy")
    data = Interactions(**cols, n_users=len(users), n_items=len(items), users=Vocabulary(users),
                        items=Vocabulary(items), name=name)
    del cols
    return data


def run_child(stage: str, path: Path, work: Path, seed: int, profile: bool) -> dict[str, Any]:
    """Runs in a fresh process; returns the figures (the parent adds ru_maxrss)."""
    import pandas as pd

    from recbench.builtin.splitters import random_holdout
    from recbench.builtin.user_files import load_user_file
    from recbench.data.files import dataset_context
    from recbench.data.preprocess import preprocess

    params = {"path": str(path), "user": "userId", "item": "movieId", "rating": "rating", "timestamp": "timestamp"}
    out: dict[str, Any] = {"stage": stage, "rss_after_imports": _status_kib("VmRSS") * 1024}

    def measure(name: str, fn: Any, rows_in: int | None = None) -> Any:
        base = _reset_peak()
        cpu_start, start = time.process_time(), time.perf_counter()
        result = fn()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        hwm = _peak_since_reset()
        out[name] = {"seconds": seconds, "cpu_seconds": cpu_seconds, "rss_before": base, "peak_delta": hwm - base,
                     "hwm_after": hwm, "rows_in": rows_in}
        return result

    if stage == "floor":
        frame = measure("floor", lambda: pd.read_csv(path))
        out["floor"].update(rows_in=len(frame), rows_out=len(frame),
                            bytes_out=int(frame.memory_usage(index=False, deep=True).sum()))
    elif stage == "pipeline":
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        data = measure("load", lambda: load_user_file(dataset_context(params)))
        n_loaded = len(data)
        out["load"].update(rows_in=n_loaded, rows_out=n_loaded, bytes_out=_arrays_bytes(data))
        data, reports = measure("kcore", lambda: preprocess(data, [KCORE]), len(data))
        out["kcore"].update(rows_out=len(data), bytes_out=_arrays_bytes(data), report=reports[0].describe())
        split = measure("split", lambda: random_holdout(data, {}, seed), len(data))
        out["split"].update(rows_out=len(split.train) + len(split.valid) + len(split.test),
                            bytes_out=_split_bytes(split), sizes=split.describe()["sizes"])
        if profiler is not None:
            import io
            import pstats

            profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
            out["profile"] = text.getvalue()
    elif stage == "load":
        data = measure("load", lambda: load_user_file(dataset_context(params)))
        out["load"].update(rows_in=len(data), rows_out=len(data), bytes_out=_arrays_bytes(data))
        _save(data, work / "loaded")
    elif stage == "kcore":
        data = _restore(work / "loaded", path.stem)
        data, _ = measure("kcore", lambda: preprocess(data, [KCORE]), len(data))
        out["kcore"].update(rows_out=len(data), bytes_out=_arrays_bytes(data))
        _save(data, work / "kcored")
    elif stage == "split":
        data = _restore(work / "kcored", path.stem)
        split = measure("split", lambda: random_holdout(data, {}, seed), len(data))
        out["split"].update(rows_out=len(split.train) + len(split.valid) + len(split.test),
                            bytes_out=_split_bytes(split))
    else:
        raise ValueError(stage)
    return out


#: Extra environment for every child process (``--numpy-hugepage`` sets ``NUMPY_MADVISE_HUGEPAGE``).
CHILD_ENV: dict[str, str] = {}


def spawn(stage: str, path: Path, work: Path, seed: int, profile: bool = False) -> dict[str, Any]:
    """Run one child; its own peak RSS comes from os.wait4 (ru_maxrss, KiB on Linux)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, "--path", str(path),
           "--work", str(work), "--seed", str(seed)] + (["--profile"] if profile else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, **CHILD_ENV,
                                 "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {stage} failed with exit code {proc.returncode}")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    result["ru_maxrss"] = usage.ru_maxrss * 1024
    result["loadavg_after"] = loadavg()
    return result


# -- report --------------------------------------------------------------------------------------
def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=ML20M_ROWS, help="target rows (default: ML-20M's 20,000,263)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of floor and pipeline (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true", help="skip the per-stage memory processes")
    parser.add_argument("--profile", action="store_true", help="also run the pipeline once under cProfile")
    parser.add_argument("--json", help="also write all figures to this JSON file")
    parser.add_argument("--numpy-hugepage", choices=("on", "off"),
                        help="set NUMPY_MADVISE_HUGEPAGE=1/0 for every child (default: inherit the environment)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child, Path(args.path), Path(args.work), args.seed, args.profile)))
        return 0

    if args.numpy_hugepage:
        CHILD_ENV["NUMPY_MADVISE_HUGEPAGE"] = "1" if args.numpy_hugepage == "on" else "0"
    info = machine_info()
    info["numpy_madvise_hugepage"] = CHILD_ENV.get("NUMPY_MADVISE_HUGEPAGE",
                                                   os.environ.get("NUMPY_MADVISE_HUGEPAGE", "numpy default"))
    log(f"recbench data pipeline benchmark  {info['date']}")
    log(f"machine: {info['nproc']} cpus ({info['cpu']}), {info['ram']} RAM; python {info['python']}, "
        f"numpy {info['numpy']}, pandas {info['pandas']}; loadavg {loadavg()}")
    log(f"huge pages: kernel THP enabled={info['thp']['enabled']}, defrag={info['thp']['defrag']}; "
        f"NUMPY_MADVISE_HUGEPAGE in the children: {info['numpy_madvise_hugepage']}")
    log(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    log("note: absolute times depend on machine load; compare the ratios (both sides measured in this run)")
    total_start = time.perf_counter()
    path = ensure_csv(args.rows, args.seed)
    work = CACHE_DIR / f"work-{path.stem}"
    with open(path, "rb") as fh:  # warm the page cache so that no measured run pays for the disk
        while fh.read(1 << 24):
            pass

    floors, pipelines = [], []
    for r in range(args.repeats):
        floors.append(spawn("floor", path, work, args.seed))
        f = floors[-1]["floor"]
        log(f"[{r + 1}/{args.repeats}] floor pandas.read_csv: {f['seconds']:.2f} s  [load {floors[-1]['loadavg_after']}]")
        pipelines.append(spawn("pipeline", path, work, args.seed))
        p = pipelines[-1]
        log(f"[{r + 1}/{args.repeats}] pipeline: load {p['load']['seconds']:.2f} s, kcore {p['kcore']['seconds']:.2f} s, "
            f"split {p['split']['seconds']:.2f} s  [load {p['loadavg_after']}]")
    floor = min(floors, key=lambda x: x["floor"]["seconds"])["floor"]
    best = {s: min((p[s] for p in pipelines), key=lambda x: x["seconds"]) for s in ("load", "kcore", "split")}
    first = pipelines[0]
    log(f"data: {first['load']['rows_out']:,} rows loaded; {first['kcore']['report']}; "
        f"split sizes {first['split']['sizes']}")

    memory: dict[str, Any] = {}
    if not args.no_memory:
        for stage in ("load", "kcore", "split"):
            memory[stage] = spawn(stage, path, work, args.seed)
            m = memory[stage][stage]
            log(f"memory {stage} (own process): +{mib(m['peak_delta'])} peak over {mib(m['rss_before'])} RSS, "
                f"produces {mib(m['bytes_out'])}  [load {memory[stage]['loadavg_after']}]")
    profile = spawn("pipeline", path, work, args.seed, profile=True) if args.profile else None

    # -- summary
    floor_s = floor["seconds"]
    total_s = min(sum(p[s]["seconds"] for s in best) for p in pipelines)  # the best whole run
    rows = [("stage", "seconds", "rows/s", "x floor time", "peak mem (own process)", "produces",
             "peak / produced")]
    rows.append(("floor: pandas.read_csv", f"{floor_s:.2f}", rate(floor["rows_in"] / floor_s), "1.00",
                 "+" + mib(floor["peak_delta"]), mib(floor["bytes_out"]) + " (DataFrame)",
                 f"{floor['peak_delta'] / floor['bytes_out']:.2f}"))
    for s in ("load", "kcore", "split"):
        b, m = best[s], memory.get(s, {}).get(s)
        rows.append((s, f"{b['seconds']:.2f}", rate(b["rows_in"] / b["seconds"]), f"{b['seconds'] / floor_s:.2f}",
                     "+" + mib(m["peak_delta"]) if m else "-", mib(m["bytes_out"]) if m else "-",
                     f"{m['peak_delta'] / m['bytes_out']:.2f}" if m else "-"))
    pipe_peak = [max(p[s]["hwm_after"] for s in best) - p["rss_after_imports"] for p in pipelines]
    produced = first["split"]["bytes_out"]
    rows.append(("pipeline (load+kcore+split)", f"{total_s:.2f}", rate(first["load"]["rows_in"] / total_s),
                 f"{total_s / floor_s:.2f}", "+" + mib(max(pipe_peak)) + " (one process)", mib(produced) + " (split)",
                 f"{max(pipe_peak) / produced:.2f}"))
    time_ok = total_s / floor_s <= TIME_TARGET
    mem_ok = max(pipe_peak) / produced < MEMORY_TARGET
    log(f"\n=== summary (best of {args.repeats}: each stage's best, the pipeline's best whole run; peak memory = "
        "RSS high-water mark above the stage's starting RSS) ===")
    log(table(rows))
    log(f"target time:   pipeline <= {TIME_TARGET:g}x floor: {total_s / floor_s:.2f}x -> {'MET' if time_ok else 'MISSED'}")
    log(f"target memory: pipeline peak < {MEMORY_TARGET:g}x produced arrays: {max(pipe_peak) / produced:.2f}x -> "
        f"{'MET' if mem_ok else 'MISSED'} (pipeline VmHWM {mib(max(pipe_peak) + first['rss_after_imports'])}, "
        f"RSS after imports {mib(first['rss_after_imports'])}; per stage in the pipeline: "
        + ", ".join(f"{s} {mib(max(p[s]['hwm_after'] for p in pipelines))}" for s in best) + ")")
    floor_cpu = min(f["floor"]["cpu_seconds"] for f in floors)
    pipe_cpu = min(sum(p[s]["cpu_seconds"] for s in best) for p in pipelines)
    cpu_stages = ", ".join(f"{s} {min(p[s]['cpu_seconds'] for p in pipelines):.2f} s" for s in best)
    log(f"cpu time (process_time, best; less sensitive to other processes than wall time): floor {floor_cpu:.2f} s, "
        f"pipeline {pipe_cpu:.2f} s = {pipe_cpu / floor_cpu:.2f}x ({cpu_stages})")
    if profile is not None:
        log("\n=== cProfile of one pipeline run (cumulative) ===")
        log(profile["profile"])
    log(f"total {time.perf_counter() - total_start:.0f} s; loadavg {loadavg()}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"machine": info, "argv": sys.argv, "csv": str(path), "floors": floors,
                                               "pipelines": pipelines, "memory": memory,
                                               "profile": profile and profile.get("profile")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
