"""A run's peak memory is its own: a later run of the same process never reports an earlier one's peak,
and a figure that may be the process's (cumulative) says so and is never read as a run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recbench.results import memory
from recbench.results.memory import PER_RUN_SOURCES, close_peak_window, open_peak_window, run_peak_bytes

MIB = 2**20


@pytest.fixture()
def no_device_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's resident set is the figure (as on JAX's CPU backend, which reports no memory stats)."""
    monkeypatch.setattr(memory, "_device_stats", dict)


def _run_allocating(n_bytes: int) -> dict:
    window = open_peak_window()
    if not window.rss_reset:
        pytest.skip("this platform refuses to reset the process's peak resident set (/proc/self/clear_refs)")
    block = np.ones(n_bytes // 8)  # written, so resident
    assert block.sum() == n_bytes // 8
    del block
    return close_peak_window(window)


def test_a_run_after_a_big_one_reports_its_own_smaller_peak(no_device_stats: None) -> None:
    big = _run_allocating(256 * MIB)
    small = _run_allocating(1 * MIB)
    assert big["memory_source"] == small["memory_source"] == "process_peak_rss_since_run_start"
    assert big["peak_memory_bytes"] - big["memory_at_start_bytes"] >= 250 * MIB
    assert small["peak_memory_bytes"] < big["peak_memory_bytes"] - 200 * MIB  # cumulative: >= big's


def test_without_a_reset_an_unrisen_peak_is_labelled_cumulative(no_device_stats: None, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "missing" / "clear_refs")  # the write is refused
    monkeypatch.setattr(memory, "_peak_rss_bytes", lambda: 900 * MIB)
    window = open_peak_window()
    assert not window.rss_reset
    figure = close_peak_window(window)
    assert figure["memory_source"] == "process_peak_rss_cumulative" and run_peak_bytes(figure) is None


def test_without_a_reset_a_peak_that_rose_during_the_run_is_the_runs(no_device_stats: None, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    peaks = iter([900 * MIB, 1200 * MIB])
    monkeypatch.setattr(memory, "_peak_rss_bytes", lambda: next(peaks))
    figure = close_peak_window(open_peak_window())
    assert figure["memory_source"] == "process_peak_rss_since_run_start"
    assert run_peak_bytes(figure) == 1200 * MIB


@pytest.mark.parametrize("peak_after, source", [(700, "device_peak_since_run_start"), (500, "device_peak_cumulative")])
def test_a_device_peak_is_the_runs_only_when_it_rose_during_the_run(monkeypatch: pytest.MonkeyPatch,
                                                                    peak_after: int, source: str) -> None:
    stats = iter([{"peak_bytes_in_use": 500, "bytes_in_use": 100}, {"peak_bytes_in_use": peak_after, "bytes_in_use": 90}])
    monkeypatch.setattr(memory, "_device_stats", lambda: next(stats))
    figure = close_peak_window(open_peak_window())
    assert figure == {"peak_memory_bytes": peak_after, "memory_source": source, "memory_at_start_bytes": 100}
    assert run_peak_bytes(figure) == (peak_after if source in PER_RUN_SOURCES else None)


@pytest.mark.parametrize("throughput", [
    {"peak_memory_bytes": 1536 * MIB, "memory_source": "process_peak_rss"},  # records made before per-run peaks
    {"peak_memory_bytes": 1536 * MIB, "memory_source": "device"},
    {"peak_memory_bytes": 1536 * MIB, "memory_source": "process_peak_rss_cumulative"},
    {},
])
def test_cumulative_and_old_figures_are_never_read_as_a_runs(throughput: dict) -> None:
    assert run_peak_bytes(throughput) is None


def test_a_sweeps_records_carry_each_runs_own_peak(tmp_path: Path) -> None:
    from recbench.config import sweep_from_mapping
    from recbench.manager import PluginHost
    from recbench.runner import Runner

    if not open_peak_window().rss_reset:
        pytest.skip("this platform refuses to reset the process's peak resident set (/proc/self/clear_refs)")
    sweep = sweep_from_mapping({"name": "t", "seeds": [0, 1], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
                                "datasets": [{"name": "synthetic", "params": {"n_users": 80, "n_items": 40}}],
                                "models": [{"name": "pop"}]})
    records = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    assert [r.throughput["memory_source"] for r in records] == ["process_peak_rss_since_run_start"] * 2
    assert all(run_peak_bytes(r.throughput) == r.throughput["peak_memory_bytes"] > 0 for r in records)
