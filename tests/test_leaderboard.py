from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from recbench.config import sweep_from_mapping
from recbench.manager import PluginHost
from recbench.results.leaderboard import boards, render
from recbench.results.record import RunRecord
from recbench.runner import Runner


def _record(model: str, seed: int, ndcg: float | None, status: str = "ok", message: str = "") -> RunRecord:
    return RunRecord(
        run_key=f"{model}-{seed}", status=status, seed=seed, message=message,
        dataset={"name": "d<&>", "fingerprint": "f"}, split={"protocol": "random_holdout", "protocol_version": "1",
                                                              "params": {"test_fraction": 0.2}, "split_id": f"s{seed}"},
        model={"name": model}, metrics={} if ndcg is None else {"ndcg@10": ndcg},
        evaluation={"protocol": "full_ranking"}, throughput={"train_examples_per_s": 1000.0 * (seed + 1)},
        environment={"device_kind": "cpu"},
    )


def test_compile_time_is_taken_from_the_runs_that_compiled() -> None:
    records = []
    for seed, (seconds, cached) in enumerate([(0.9, False), (0.05, True), (0.06, True)]):
        record = _record("a", seed, 0.3)
        record.throughput.update(train_compile_s=seconds, train_compile_cached=cached)
        records.append(record)
    (board,) = boards(records, ["ndcg@10"])
    assert board.table.set_index("model").loc["a", "train compile s"] == pytest.approx(0.9)  # not the median 0.06
    for record in records:  # records made before the cache existed: every run counts
        del record.throughput["train_compile_cached"]
    (board,) = boards(records, ["ndcg@10"])
    assert board.table.set_index("model").loc["a", "train compile s"] == pytest.approx(0.06)


def test_mean_std_rank_and_incomplete_rows_are_not_averaged() -> None:
    records = [_record("a", 0, 0.30), _record("a", 1, 0.32), _record("b", 0, 0.40), _record("b", 1, 0.0, "error", "boom"),
               _record("c", 0, 0.10), _record("c", 1, 0.20)]
    (board,) = boards(records, ["ndcg@10"])
    table = board.table.set_index("model")
    assert table.loc["a", "ndcg@10"] == pytest.approx(0.31) and table.loc["a", "ndcg@10 std"] == pytest.approx(np.std([0.30, 0.32], ddof=1))
    assert np.isnan(table.loc["b", "ndcg@10"])  # one of two seeds failed: missing, not 0.40
    assert "incomplete: 1/2 seeds ok" in table.loc["b", "notes"] and "error: boom" in table.loc["b", "notes"]
    assert list(board.table["model"]) == ["a", "c", "b"]
    assert table.loc["a", "train ex/s"] == pytest.approx(1500.0)
    md = render(records, ["ndcg@10"])
    assert "**0.3100 ± 0.0141**" in md and "| 1      | a " in md


def test_formats_escape_and_parse() -> None:
    hostile = "<script>alert(1)</script>&\"'"
    records = [_record(hostile, 0, 0.3), _record("x", 0, 0.2)]
    figures = _published(_figure(model=hostile, source="<img src=x onerror=alert(2)>", ours=None, note="</td><b>"))
    page = render(records, ["ndcg@10"], "html", published=figures, title="<t>")
    assert page.count("<script>") == 1 and page.count("</script>") == 1  # only the page's own sorter
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#x27;</td>" in page and "d&lt;&amp;&gt;" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "</td><b>" not in page and "&lt;/td&gt;&lt;b&gt;" in page and "<title>&lt;t&gt;</title>" in page
    assert not re.search(r"<[^>]*\b(src|href)\s*=|<link|@import|url\(", page)  # self-contained: nothing to fetch
    data = json.loads(render(records, ["ndcg@10"], "json"))
    assert data[0]["rows"][0]["model"] == hostile and data[0]["main_metric"] == "ndcg@10"
    csv = render(records, ["ndcg@10"], "csv")
    assert csv.splitlines()[0].startswith("model,n,trials,runs,ndcg@10")
    latex = render(records, ["ndcg@10"], "latex")
    assert "\\textbf{0.3000}" in latex and "\\begin{tabular}" in latex


def test_latex_escapes_model_names_and_keeps_its_own_markup() -> None:
    odd = "a&b%c#d$e{f}g~h^i\\j"
    records = [_record("mf_bpr", 0, 0.30), _record("mf_bpr", 1, 0.32), _record(odd, 0, 0.2)]
    latex = render(records, ["ndcg@10"], "latex")
    assert "mf\\_bpr" in latex and "\\textbf{0.3100 $\\pm$ 0.0141}" in latex
    assert ("a\\&b\\%c\\#d\\$e\\{f\\}g\\textasciitilde{}h\\textasciicircum{}i\\textbackslash{}j") in latex
    body = latex.split("\\begin{tabular}", 1)[1]
    for escape in ("\\_", "\\&", "\\%", "\\#", "\\$", "\\{", "\\}", "$\\pm$", "\\textasciitilde{}",
                   "\\textasciicircum{}", "\\textbackslash{}", "\\textbf{", "\\hline", "\\\\"):
        body = body.replace(escape, " ")
    body = re.sub(r"\\(end|begin)\{tabular\}(\{[lrc]*\})?", " ", body)
    assert not re.search(r"[_%#$^~\\]", body), body  # every special character left is escaped (& separates cells)


def test_significance_against_the_best_from_stored_per_user_values(tmp_path: Path) -> None:
    sweep = sweep_from_mapping({
        "name": "t", "seeds": [0, 1], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": {"n_users": 300, "n_items": 200, "mean_per_user": 25}}],
        "models": [{"name": "pop"}, {"name": "mf_bpr", "config": {"dim": 16},
                                     "training": {"epochs": 60, "learning_rate": 2e-2, "eval_every": 5}}],
    })
    runner = Runner(PluginHost(autoload=False), sweep, progress=None)
    records = runner.run().records
    (board,) = boards(records, ["ndcg@10"], per_user=lambda r: runner.store.load_per_user(r.run_key))
    table = board.table.set_index("model")
    assert board.table.loc[0, "model"] == "mf_bpr" and np.isnan(table.loc["mf_bpr", "p (t-test)"])
    assert table.loc["pop", "p (t-test)"] < 0.01 and table.loc["pop", "p (Wilcoxon)"] < 0.01


def test_search_expands_and_the_leaderboard_selects_on_validation(tmp_path: Path) -> None:
    from recbench.config import sweep_from_mapping as sweep_of

    sweep = sweep_of({
        "name": "t", "seeds": [0], "metrics": ["ndcg@10"], "out": str(tmp_path / "out"),
        "datasets": [{"name": "synthetic", "params": {"n_users": 300, "n_items": 200, "mean_per_user": 25}}],
        "models": [{"name": "mf_bpr", "config": {"dim": 16}, "training": {"epochs": 30, "eval_every": 5},
                    "search": {"l2": [1e-4, 5e-3], "training.learning_rate": [1e-4, 2e-2]}}],
    })
    assert len(sweep.models) == 4 and {m.training["learning_rate"] for m in sweep.models} == {1e-4, 2e-2}
    records = Runner(PluginHost(autoload=False), sweep, progress=None).run().records
    (board,) = boards(records, ["ndcg@10"])
    row = board.table.iloc[0]
    assert row["trials"] == 4 and row["n"] == 1
    chosen = max(records, key=lambda r: r.validation["ndcg@10"])
    assert row["ndcg@10"] == pytest.approx(chosen.metrics["ndcg@10"])  # the validation winner's test value
    random_sweep = sweep_of({"name": "t", "seeds": [0], "datasets": ["synthetic"], "models": [
        {"name": "mf_bpr", "search": {"l2": [1, 2, 3, 4, 5]}, "search_mode": "random", "trials": 3}]})
    assert len(random_sweep.models) == 3 and len({m.config["l2"] for m in random_sweep.models}) == 3


def test_missing_per_user_values_leave_p_values_empty_not_a_crash(tmp_path: Path) -> None:
    from recbench.errors import DataError
    from recbench.results.store import ResultStore

    store = ResultStore(tmp_path)
    with pytest.raises(DataError, match="per-user values missing"):
        store.load_per_user("nope")
    records = [_record("a", 0, 0.3), _record("b", 0, 0.2)]
    (board,) = boards(records, ["ndcg@10"], per_user=lambda r: store.load_per_user(r.run_key))
    assert np.isnan(board.table.loc[1, "p (t-test)"])


# -- published figures beside ours ----------------------------------------------------------------

def _figure(**overrides: object) -> dict:
    entry = {"model": "A (paper)", "source": "Paper, table 2", "metrics": {"ndcg@10": 0.35}, "ours": "a"}
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}  # None: leave the key out, as TOML would


def _published(*entries: dict, datasets: tuple[str, ...] = ("synthetic",)) -> tuple:
    sweep = sweep_from_mapping({"name": "t", "metrics": ["ndcg@10", "hit@10"], "datasets": list(datasets),
                                "models": ["a", "b", "c"], "published": list(entries)})
    return sweep.published


def test_published_rows_are_marked_unranked_never_bold_and_outside_significance() -> None:
    from recbench.results.leaderboard import comparisons, unexplained_differences

    records = [_record("a", 0, 0.30), _record("a", 1, 0.32), _record("c", 0, 0.10), _record("c", 1, 0.20)]
    figures = _published(_figure(metrics={"ndcg@10": 0.95}, note="they tuned for a year"),
                         _figure(model="C (other)", source="Other paper", ours="c", metrics={"ndcg@10": 0.155}))
    (board,) = boards(records, ["ndcg@10"], published=figures)
    assert list(board.table["model"]) == ["a", "c"]  # published figures are not rows of the ranked table
    md = render(records, ["ndcg@10"], published=figures)
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert rows[-2].startswith("| —      | published: A (paper) [1]") and "| 0.95 " in rows[-2]
    assert rows[-1].startswith("| —      | published: C (other) [2]") and "| 0.155 " in rows[-1]
    assert "**0.3100 ± 0.0141**" in md and "**0.95" not in md  # the best is ours, though 0.95 is higher
    assert "- [1] Paper, table 2" in md and "- [2] Other paper" in md
    first, second = comparisons(board)
    # a: 0.31 ± 0.0141 vs 0.95 -> beyond; c: 0.15 ± 0.0707 vs 0.155 -> within
    assert first.beyond_spread and not first.unexplained and not second.beyond_spread
    assert "ndcg@10 0.3100 ± 0.0141 vs 0.95 (-0.6400); differs by more than the seed spread. Note: they tuned" in md
    assert "within the seed spread" in md
    assert unexplained_differences([board]) == []
    bare = _published(_figure(metrics={"ndcg@10": 0.95}))
    (unexplained,) = unexplained_differences(boards(records, ["ndcg@10"], published=bare))
    assert "No note says why" in unexplained
    data = json.loads(render(records, ["ndcg@10"], "json", published=figures))
    assert data[0]["published"][0]["beyond_seed_spread"] is True and data[0]["published"][1]["ref"] == 2
    assert len(data[0]["rows"]) == 2
    latex = render(records, ["ndcg@10"], "latex", published=figures)
    assert "published: A (paper) [1]" in latex and "\n% [1] Paper, table 2" in latex
    csv = render(records, ["ndcg@10"], "csv", published=figures).splitlines()
    assert csv[1].startswith("a,2,1,2/2 ok,") and csv[3].startswith("published: A (paper),,,,0.95,")
    assert "Paper, table 2" in csv[3]


def test_seed_spread_counts_the_rounding_of_the_published_figure() -> None:
    from recbench.results.leaderboard import comparisons

    records = [_record("a", 0, 0.4423), _record("a", 1, 0.4425)]  # mean 0.4424, std 0.00014
    (board,) = boards(records, ["ndcg@10"], published=_published(_figure(metrics={"ndcg@10": 0.442})))
    assert not comparisons(board)[0].beyond_spread  # 0.442 stands for [0.4415, 0.4425)
    (board,) = boards(records, ["ndcg@10"], published=_published(_figure(metrics={"ndcg@10": 0.4420})))
    assert not comparisons(board)[0].beyond_spread  # TOML keeps no trailing zero: 0.4420 reads as 0.442
    (board,) = boards(records, ["ndcg@10"], published=_published(_figure(metrics={"ndcg@10": 0.4412})))
    assert comparisons(board)[0].beyond_spread


def test_published_figures_join_only_their_dataset_and_metrics() -> None:
    figures = _published(_figure(dataset="ml-100k"), datasets=("synthetic", "ml-100k"))
    ours = _record("a", 0, 0.3)
    other = dataclasses.replace(ours, run_key="o", dataset={"name": "ml-100k", "fingerprint": "g"})
    shown = {b.dataset: len(b.published) for b in boards([ours, other], ["ndcg@10"], published=figures)}
    assert shown == {"d<&>": 0, "ml-100k": 1}
    hit_only = _published(_figure(metrics={"hit@10": 0.9}))
    (board,) = boards([ours], ["ndcg@10"], published=hit_only)  # the table has no hit@10 column
    assert board.published == [] and "published:" not in render([ours], ["ndcg@10"], published=hit_only)


@pytest.mark.parametrize(("entry", "message"), [
    ({"source": "s", "metrics": {"ndcg@10": 0.1}}, "'model' must be a non-empty string"),
    ({"model": "m", "metrics": {"ndcg@10": 0.1}}, "'source' must be a non-empty string"),
    ({"model": "m", "source": "s"}, "'metrics' must be a non-empty table"),
    ({"model": "m", "source": "s", "metrics": {}}, "'metrics' must be a non-empty table"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": "0.4"}}, "metrics.ndcg@10 = '0.4' must be a finite number"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": float("nan")}}, "must be a finite number"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": True}}, "must be a finite number"),
    ({"model": "m", "source": "s", "metrics": {"recall@20": 0.1}}, "'recall@20' is not among the sweep's metrics"),
    ({"model": "m", "source": "s", "metrics": {"nd cg": 0.1}}, "is not of the form NAME"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": 0.1}, "url": "x"}, "unknown keys ['url']"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": 0.1}, "ours": "bpr"}, "ours = 'bpr' is not a model of this sweep"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": 0.1}, "note": 3}, "'note' must be a string"),
    ({"model": "m", "source": "s", "metrics": {"ndcg@10": 0.1}, "dataset": "x"}, "dataset = 'x' is not a dataset"),
    ("BPR 0.44", "expected a table"),
])
def test_bad_published_entries_are_one_line_errors_naming_the_entry(entry: object, message: str) -> None:
    from recbench.errors import ConfigError

    with pytest.raises(ConfigError, match="published\\[0\\]") as info:
        sweep_from_mapping({"datasets": ["synthetic"], "models": ["a"], "metrics": ["ndcg@10"], "published": [entry]},
                           "x.toml")
    assert message in str(info.value) and str(info.value).startswith("x.toml: published[0]")


def test_published_must_be_an_array_and_name_its_dataset_when_there_are_several() -> None:
    from recbench.errors import ConfigError

    with pytest.raises(ConfigError, match="array of tables"):
        sweep_from_mapping({"datasets": ["synthetic"], "models": ["a"], "published": {"model": "m"}})
    with pytest.raises(ConfigError, match="several datasets .* dataset = \"NAME\""):
        _published(_figure(), datasets=("synthetic", "ml-100k"))


def test_publish_refuses_an_unexplained_difference_and_writes_md_and_page(tmp_path: Path) -> None:
    from recbench.errors import ConfigError
    from recbench.results.publish import PAGE_FILE, publish
    from recbench.results.store import ResultStore

    store = ResultStore(tmp_path / "board")
    for record in (_record("a", 0, 0.30), _record("a", 1, 0.32)):
        store.write(record)
    base = {"name": "t", "out": str(tmp_path / "board"), "metrics": ["ndcg@10"], "datasets": ["synthetic"], "models": ["a"]}
    with pytest.raises(ConfigError, match="differs by more than the seed spread.*No note says why"):
        publish(sweep_from_mapping({**base, "published": [_figure()]}))
    assert not (tmp_path / "board" / "leaderboard.md").exists()
    path = publish(sweep_from_mapping({**base, "published": [_figure(note="a <b>reason</b>")]}))
    assert "Note: a <b>reason</b>" in path.read_text()
    page = (tmp_path / "board" / PAGE_FILE).read_text()
    assert page.startswith("<!DOCTYPE html>") and "a &lt;b&gt;reason&lt;/b&gt;" in page and "<b>" not in page


# -- two configurations of one model: labelled rows ------------------------------------------------

def _configured(model: str, seed: int, ndcg: float, config: dict) -> RunRecord:
    effective = {"dim": 8, "pretrain": False, **config}
    return dataclasses.replace(_record(model, seed, ndcg), run_key=f"{model}-{seed}-{json.dumps(config)}",
                               model={"name": model, "config": effective, "training": {"epochs": 20},
                                      "config_hash": json.dumps(effective, sort_keys=True)})


def _entry_run(runner: Runner, entry_index: int, seed: int, ndcg: float) -> RunRecord:
    """The record the runner would write for the sweep's ``[[models]]`` entry ``entry_index`` and ``seed``:
    its run key, and its effective config and training settings (the plugin's defaults merged in, as
    :meth:`Runner._run_one` records them; written out here, not taken from the code under test)."""
    entry, (dataset,) = runner.sweep.models[entry_index], runner.sweep.datasets
    spec = runner.host.model(entry.name).spec
    config = {**spec.default_config, **entry.config}
    training = {**spec.default_training, **runner.sweep.training, **entry.training}
    return dataclasses.replace(_record(entry.name, seed, ndcg), run_key=runner.run_key(dataset, entry, seed),
                               model={"name": entry.name, "config": config, "training": training,
                                      "config_hash": json.dumps(config, sort_keys=True)})


def _runner(tmp_path: Path, models: list) -> Runner:
    sweep = sweep_from_mapping({"name": "t", "seeds": [0, 1], "metrics": ["ndcg@10"], "datasets": ["synthetic"],
                                "models": models, "out": str(tmp_path / "board")})
    return Runner(PluginHost(autoload=False), sweep, progress=None)


def test_a_labelled_entry_gets_its_own_row_and_keeps_run_keys(tmp_path: Path) -> None:
    from recbench.results.leaderboard import comparisons

    entries = [{"name": "mf_bpr"}, {"name": "mf_bpr", "label": "MF-BPR (wide)", "config": {"dim": 128}}]
    sweep = sweep_from_mapping({"name": "t", "metrics": ["ndcg@10"], "datasets": ["synthetic"], "models": entries,
                                "published": [_figure(ours="mf-bpr (wide)", metrics={"ndcg@10": 0.5}, note="n")],
                                "seeds": [0, 1], "out": str(tmp_path / "board")})
    plain, wide = sweep.models
    assert plain.label is None and wide.label == "mf-bpr (wide)" and sweep.published[0].ours == "mf-bpr (wide)"
    runner = Runner(PluginHost(autoload=False), sweep, progress=None)
    (dataset,) = sweep.datasets
    unlabelled = dataclasses.replace(wide, label=None)
    assert runner.run_key(dataset, wide, 0) == runner.run_key(dataset, unlabelled, 0)  # a label is not part of a key
    assert runner.run_key(dataset, wide, 0) != runner.run_key(dataset, plain, 0)
    records = [_entry_run(runner, 0, s, v) for s, v in ((0, 0.30), (1, 0.32))]
    records += [_entry_run(runner, 1, s, v) for s, v in ((0, 0.40), (1, 0.44))]
    (board,) = boards(records, ["ndcg@10"], published=sweep.published, rows=runner.leaderboard_rows)
    table = board.table.set_index("model")
    assert list(board.table["model"]) == ["mf-bpr (wide)", "mf_bpr"] and set(table["trials"]) == {1}
    assert table.loc["mf-bpr (wide)", "ndcg@10"] == pytest.approx(0.42) and table.loc["mf_bpr", "ndcg@10"] == pytest.approx(0.31)
    assert comparisons(board)[0].values["ndcg@10"][0] == pytest.approx(0.42)
    # without the entries, the two configurations are trials of one row (no validation part: no selection)
    (merged,) = boards(records, ["ndcg@10"])
    assert list(merged.table["model"]) == ["mf_bpr"] and merged.table.loc[0, "trials"] == 2


def test_a_run_matching_two_labelled_entries_by_settings_is_placed_by_its_run_key(tmp_path: Path) -> None:
    """dim 8 is neumf's default, so a run of entry b also has dim 8: its settings match a and b equally
    (which used to raise after the sweep had run); its run key says it is b's."""
    from recbench.results.publish import leaderboard_boards, leaderboard_markdown
    from recbench.results.rows import row_by_settings
    from recbench.results.store import ResultStore

    runner = _runner(tmp_path, [{"name": "neumf", "config": {"dim": 8}, "label": "a"},
                                {"name": "neumf", "config": {"pretrain": True}, "label": "b"}])
    assert runner.host.model("neumf").spec.default_config["dim"] == 8
    records = [_entry_run(runner, 0, 0, 0.30), _entry_run(runner, 0, 1, 0.32),
               _entry_run(runner, 1, 0, 0.20), _entry_run(runner, 1, 1, 0.24)]
    assert row_by_settings(records[2], runner.sweep.models) is None  # the settings alone cannot tell
    (board,) = boards(records, ["ndcg@10"], rows=runner.leaderboard_rows)
    table = board.table.set_index("model")
    assert list(board.table["model"]) == ["a", "b"] and list(table["n"]) == [2, 2] and set(table["trials"]) == {1}
    assert table.loc["a", "ndcg@10"] == pytest.approx(0.31) and table.loc["b", "ndcg@10"] == pytest.approx(0.22)
    # the same through the published leaderboard, which computes the run keys from the configuration
    for record in records:
        runner.store.write(record)
    (published,) = leaderboard_boards(runner.sweep, host=PluginHost(autoload=False))
    assert published.table[["model", "n"]].values.tolist() == [["a", 2], ["b", 2]]
    markdown = leaderboard_markdown(runner.sweep, host=runner.host)
    assert "| 1      | a " in markdown and "| 2      | b " in markdown and "| neumf" not in markdown
    assert len(list(ResultStore(tmp_path / "board").records())) == 4
    # a record of neither entry (say, of an older configuration) that matches both: the model's name
    stray = dataclasses.replace(records[2], run_key="not-of-this-sweep")
    assert runner.leaderboard_rows.row(stray) == "neumf"


def test_each_entry_runs_land_in_their_own_row_where_settings_would_mislead(tmp_path: Path) -> None:
    """A run of "wide" (dim 16) also has the defaults "defaults" spells out, and "defaults" has more
    settings: by settings it would be put in the "defaults" row; by its run key it is "wide"'s."""
    from recbench.results.rows import row_by_settings

    runner = _runner(tmp_path, [{"name": "neumf", "config": {"dim": 16}, "label": "wide"},
                                {"name": "neumf", "config": {"l2": 0.0, "negatives": 4}, "label": "defaults"},
                                {"name": "neumf", "config": {"pretrain": True}, "label": "pre"},
                                {"name": "pop"}])
    values = {0: (0.10, 0.12), 1: (0.20, 0.22), 2: (0.30, 0.32), 3: (0.05, 0.07)}
    records = [_entry_run(runner, i, seed, v[seed]) for i, v in values.items() for seed in (0, 1)]
    assert row_by_settings(records[0], runner.sweep.models) == "defaults"  # the guess would be wrong
    (board,) = boards(records, ["ndcg@10"], rows=runner.leaderboard_rows)
    table = board.table.set_index("model")
    assert list(board.table["model"]) == ["pre", "defaults", "wide", "pop"]
    for name, (first, second) in zip(["wide", "defaults", "pre", "pop"], values.values(), strict=True):
        assert table.loc[name, "n"] == 2 and table.loc[name, "trials"] == 1
        assert table.loc[name, "ndcg@10"] == pytest.approx((first + second) / 2)
    assert set(runner.leaderboard_rows.by_run_key.values()) == {"wide", "defaults", "pre", "pop"}
    assert len(runner.leaderboard_rows.by_run_key) == 4 * 2  # one key per entry and seed


def test_two_entries_of_different_rows_with_the_same_runs_fail_before_the_sweep(tmp_path: Path) -> None:
    from recbench.errors import ConfigError

    with pytest.raises(ConfigError, match=r"entries of rows \['neumf', 'x'\] define the same runs of neumf") as info:
        _runner(tmp_path, [{"name": "neumf"}, {"name": "neumf", "config": {"dim": 8}, "label": "x"}])
    assert info.value.hint and "\n" not in str(info.value)
    assert not (tmp_path / "board" / "records").exists() or not any((tmp_path / "board" / "records").iterdir())
    _runner(tmp_path, [{"name": "neumf"}, {"name": "neumf", "config": {"dim": 8}}])  # one row: only a duplicate


def test_records_no_entry_produced_fall_back_to_settings_then_the_model_name() -> None:
    from recbench.results.rows import RowNames

    models = sweep_from_mapping({"datasets": ["synthetic"], "models": [
        {"name": "neumf", "label": "any neumf"}, {"name": "neumf", "config": {"dim": 8}},
        {"name": "neumf", "label": "pre-trained", "config": {"pretrain": True}}]}).models
    old = _configured("neumf", 0, 0.1, {"dim": 16})
    rows = RowNames({"k": "pre-trained", old.run_key + "x": "neumf"}, models)  # none of these records' keys
    assert rows.row(_configured("neumf", 0, 0.1, {})) == "neumf"  # dim=8 is more specific than {}
    assert rows.row(old) == "any neumf"
    assert rows.row(_configured("neumf", 0, 0.1, {"dim": 16, "pretrain": True})) == "pre-trained"
    assert rows.row(_configured("gmf", 0, 0.1, {})) == "gmf"
    assert rows.row(_configured("neumf", 0, 0.1, {"pretrain": True})) == "neumf"  # two rows match equally: no label
    assert RowNames({old.run_key: "pre-trained"}, models).row(old) == "pre-trained"  # the run key decides first
    assert RowNames().row(old) == "neumf"


@pytest.mark.parametrize(("models", "message"), [
    ([{"name": "a", "label": ""}], "label = '' must be a non-empty string"),
    ([{"name": "a", "label": 3}], "label = 3 must be a non-empty string"),
    ([{"name": "a", "label": "b"}, {"name": "b"}], "label = 'b' of a a entry is the name of another model"),
    ([{"name": "a", "label": "x"}, {"name": "b", "label": "X"}], "label = 'x' is given to both a and b"),
])
def test_bad_labels_are_one_line_errors(models: list, message: str) -> None:
    from recbench.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        sweep_from_mapping({"datasets": ["synthetic"], "models": models}, "x.toml")
    assert message in str(info.value) and str(info.value).startswith("x.toml:") and "\n" not in str(info.value)
