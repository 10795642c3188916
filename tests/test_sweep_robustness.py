"""kill -9 in the middle of a sweep, resume, sharding and merging, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SWEEP = textwrap.dedent("""
    name = "robust"
    seeds = [0, 1, 2, 3]
    metrics = ["ndcg@10", "hit@10"]

    [[datasets]]
    name = "synthetic"
    params = { n_users = 300, n_items = 200, mean_per_user = 25 }

    [[models]]
    name = "pop"

    [[models]]
    name = "mf_bpr"
    config = { dim = 16 }
    training = { epochs = 30, learning_rate = 0.02, eval_every = 5 }
""")


def _recbench(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "RECBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"})


def _records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]


def test_kill_9_mid_sweep_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    config = tmp_path / "robust.toml"
    config.write_text(SWEEP)
    out = tmp_path / "robust"
    proc = subprocess.Popen([sys.executable, "-m", "recbench.cli", "run", str(config)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "RECBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"})
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "records").glob("*.json"))) < 3:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _records(out)  # every file that exists parses: writes are atomic
    assert 3 <= len(before) < 8, "the sweep finished before it could be killed"
    result = _recbench(["run", str(config)], tmp_path)
    assert result.returncode == 0, result.stderr
    after = _records(out)
    assert len(after) == 8 and len({r["run_key"] for r in after}) == 8
    assert all(r["status"] == "ok" for r in after)
    assert f"skipped {len(before)} runs already completed" in result.stdout
    kept = {r["run_key"]: r["finished_at"] for r in before}
    assert all(r["finished_at"] == kept[r["run_key"]] for r in after if r["run_key"] in kept)  # not redone


def test_shards_partition_the_sweep_and_merge_joins_them(tmp_path: Path) -> None:
    config = tmp_path / "robust.toml"
    config.write_text(SWEEP.replace("seeds = [0, 1, 2, 3]", "seeds = [0, 1]"))
    for i in (0, 1):
        result = _recbench(["run", str(config), "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}")], tmp_path)
        assert result.returncode == 0, result.stderr
    shard_keys = [{r["run_key"] for r in _records(tmp_path / f"s{i}")} for i in (0, 1)]
    assert not (shard_keys[0] & shard_keys[1]) and len(shard_keys[0] | shard_keys[1]) == 4
    merged = _recbench(["merge", str(tmp_path / "all"), str(tmp_path / "s0"), str(tmp_path / "s1")], tmp_path)
    assert merged.returncode == 0 and "merged 4 records" in merged.stdout
    again = _recbench(["merge", str(tmp_path / "all"), str(tmp_path / "s0")], tmp_path)
    assert "merged 0 records" in again.stdout
    board = _recbench(["leaderboard", str(tmp_path / "all"), "--metrics", "ndcg@10"], tmp_path)
    assert "| 1      | mf_bpr" in board.stdout and "2/2 ok" in board.stdout
    compare = _recbench(["compare", str(tmp_path / "all"), "--models", "pop,mf_bpr", "--metrics", "ndcg@10"], tmp_path)
    assert compare.returncode == 0, compare.stderr
    row = next(line for line in compare.stdout.splitlines() if line.startswith("| ndcg@10"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[3]) > 0 and float(cells[4]) < 0.01  # mf_bpr - pop > 0, significant
    bad = _recbench(["run", str(config), "--shard", "2/2"], tmp_path)
    assert bad.returncode == 2 and "expected I/N" in bad.stderr
