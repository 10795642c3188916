"""Resuming a sweep never keeps a record made on other data: a changed file is refused in one line, its
records stay as they were, and --rerun replaces them."""

from __future__ import annotations

import json
from pathlib import Path

from recbench.config import sweep_from_mapping
from recbench.manager import PluginHost
from recbench.runner import Runner


def _write(path: Path, users: int) -> None:
    path.write_text("user,item\n" + "".join(f"{u},{(u * 7 + k) % 40}\n" for u in range(users) for k in range(8)))


def _run(tmp_path: Path, csv: Path, rerun: bool = False):
    sweep = sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
                                "datasets": [{"name": "file", "params": {"path": str(csv)}}],
                                "models": [{"name": "pop"}]})
    return Runner(PluginHost(autoload=False), sweep, progress=None, rerun=rerun).run()


def test_a_changed_data_file_is_not_taken_as_done(tmp_path: Path) -> None:
    csv = tmp_path / "clicks.csv"
    _write(csv, 60)
    (first,) = _run(tmp_path, csv).records
    assert _run(tmp_path, csv).skipped == 1  # the same file: done

    _write(csv, 30)  # the user edits the file
    again = _run(tmp_path, csv)
    assert again.records == [] and again.skipped == 0
    (error,) = again.errors
    assert error.startswith("dataset 'file': the data changed since its records in ") and "--rerun" in error
    stored = json.loads((tmp_path / "out" / "records" / f"{first.run_key}.json").read_text())
    assert stored["dataset"]["fingerprint"] == first.dataset["fingerprint"]  # kept, not overwritten

    (replaced,) = _run(tmp_path, csv, rerun=True).records
    assert replaced.run_key == first.run_key and replaced.dataset["fingerprint"] != first.dataset["fingerprint"]
    assert replaced.dataset["n_users"] == 30


def test_changed_published_candidates_are_not_taken_as_done(tmp_path: Path, monkeypatch) -> None:
    from recbench.data.interactions import Interactions

    csv = tmp_path / "clicks.csv"
    _write(csv, 60)
    (first,) = _run(tmp_path, csv).records
    assert _run(tmp_path, csv).skipped == 1
    # the same rows with other published candidates (as an edited test.negative would give)
    monkeypatch.setattr(Interactions, "candidates_digest", lambda self: "0" * 64)
    stored = json.loads((tmp_path / "out" / "records" / f"{first.run_key}.json").read_text())
    stored["dataset"]["candidates_digest"] = "f" * 64  # as made on data with candidates
    (tmp_path / "out" / "records" / f"{first.run_key}.json").write_text(json.dumps(stored))
    again = _run(tmp_path, csv)
    (error,) = again.errors
    assert "candidates_digest ffffffffffff there, 000000000000 now" in error and again.records == []
