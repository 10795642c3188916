"""``recbench run | list | plugins | info``. Errors print one line and a hint; ``--verbose`` adds the traceback."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from recbench.errors import ConfigError, RecbenchError
from recbench.manager import KINDS, PluginHost

if TYPE_CHECKING:  # pragma: no cover
    from recbench.config import DatasetChoice, SweepConfig

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, EXIT_PLUGIN_PROBLEM = 0, 1, 2, 3


def _add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """How a dataset entry is given on the command line, the same for ``run`` and ``data info``."""
    parser.add_argument("--columns", help="for your own file: user=COL,item=COL[,rating=COL,timestamp=COL]")
    parser.add_argument("--sep", help="for your own file: the field separator (default by extension)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    common.add_argument("--disable-plugin", action="append", default=[], metavar="NAME",
                        help="do not load this entry point or distribution (repeatable)")
    parser = argparse.ArgumentParser(prog="recbench", description=__doc__, parents=[common])
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", parents=[common], help="run a benchmark sweep (default: the quickstart)")
    run.add_argument("config", nargs="?", help="a sweep TOML file; without it, the embedded quickstart")
    run.add_argument("--datasets", help="comma-separated dataset names or paths to your own CSV/TSV/Parquet/.inter files")
    _add_dataset_options(run)
    run.add_argument("--models", help="comma-separated model names")
    run.add_argument("--metrics", help="comma-separated metrics, e.g. ndcg@10,recall@20")
    run.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2")
    run.add_argument("--out", help="result directory (default: recbench-results, or beside the config)")
    run.add_argument("--data-dir", help="data directory (default: $RECBENCH_DATA_DIR)")
    run.add_argument("--run-timeout", metavar="SECONDS",
                     help="a run past it becomes a 'timeout' row and the sweep goes on (default: the file's run_timeout_s)")
    run.add_argument("--rerun", action="store_true", help="run again even runs already completed in --out")
    run.add_argument("--shard", help="I/N: run only this machine's share of the sweep (join with `recbench merge`)")

    publish = sub.add_parser("publish", parents=[common], help="regenerate a leaderboard table from its records")
    publish.add_argument("configs", nargs="+", help="sweep TOML files (records live beside them)")

    merge = sub.add_parser("merge", parents=[common], help="join result directories (e.g. from --shard runs)")
    merge.add_argument("target", help="result directory to merge into")
    merge.add_argument("sources", nargs="+", help="result directories to merge from")

    compare = sub.add_parser("compare", parents=[common], help="two models: per-metric deltas and paired p-values")
    compare.add_argument("results", nargs="+", help="result directories")
    compare.add_argument("--models", required=True,
                         help="A,B: the two models to compare, each NAME or NAME@VARIANT (a model run with several settings)")
    compare.add_argument("--metrics", help="comma-separated metrics (default: all with per-user values)")

    listing = sub.add_parser("list", parents=[common], help="list installed plugins")
    listing.add_argument("kind", nargs="?", choices=list(KINDS), help="only this kind")

    sub.add_parser("plugins", parents=[common], help="list plugin packages and what of them was skipped")
    sub.add_parser("info", parents=[common], help="versions, backend and devices")

    data = sub.add_parser("data", parents=[common], help="inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    info = data_sub.add_parser("info", parents=[common], help="counts, distributions, cold start and split_id")
    info.add_argument("name", help="dataset name, or a path to your own CSV/TSV/Parquet/.inter file "
                      "(as run --datasets takes it)")
    _add_dataset_options(info)
    info.add_argument("--params", metavar="TABLE", help="dataset parameters as in a sweep file's "
                      "params = { ... }, e.g. 'n_users = 500, n_items = 200'")
    info.add_argument("--protocol", help="split protocol (default: the dataset's)")
    info.add_argument("--protocol-params", metavar="TABLE", help="the protocol's parameters as in a sweep "
                      "file's protocol_params = { ... }, e.g. 'test_fraction = 0.3'")
    info.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    info.add_argument("--data-dir", help="data directory (default: $RECBENCH_DATA_DIR)")

    board = sub.add_parser("leaderboard", parents=[common], help="render a leaderboard from result directories")
    board.add_argument("results", nargs="+", help="result directories (holding records/)")
    board.add_argument("--format", default="md", choices=["md", "csv", "json", "html", "latex"], help="output format")
    board.add_argument("--metrics", help="comma-separated metrics to show; the first ranks the models")
    board.add_argument("--config", help="a sweep TOML: its metrics (unless --metrics) and [[published]] figures")
    board.add_argument("--plot", metavar="FILE", help="also draw accuracy vs throughput with the Pareto front "
                       "(.png/.svg/.pdf; needs pip install 'recbench[plot]')")
    board.add_argument("--plot-x", default="train", choices=["train", "eval"],
                       help="plot throughput: train examples/s or eval users/s (default train)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except RecbenchError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"recbench: error: {' '.join(str(exc).split())}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("recbench: interrupted; completed runs are saved and will be skipped on the next run", file=sys.stderr)
        return 130


def _report_problems(host: PluginHost) -> int:
    """One warning line and a hint per skipped plugin or spec; exit status 3 when there are any."""
    for problem in host.problems:
        print(f"recbench: warning: {problem.message()}", file=sys.stderr)
        print(f"hint: {problem.hint()}", file=sys.stderr)
    return EXIT_PLUGIN_PROBLEM if host.problems else EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "run"
    host = PluginHost(disabled=getattr(args, "disable_plugin", []))
    if command == "list":
        _list(host, args.kind)
        return _report_problems(host)
    if command == "plugins":
        from tabulate import tabulate

        print(tabulate(_plugin_rows(host), headers=["plugin", "distribution", "version", "status"]))
        return _report_problems(host)
    if command == "info":
        from recbench.results.environment import environment

        for key, value in environment().items():
            print(f"{key}: {value}")
        return _report_problems(host)
    if command == "data":
        _data_info(host, args)
        return _report_problems(host)
    if command == "publish":
        from recbench.config import load_sweep
        from recbench.results.publish import PAGE_FILE, publish

        for config in args.configs:
            path = publish(load_sweep(config), host=host)
            print(f"wrote {path} and {path.with_name(PAGE_FILE)}")
        return EXIT_OK
    if command == "merge":
        from recbench.results.store import merge_stores

        copied, kept = merge_stores(Path(args.target), [Path(s) for s in args.sources])
        print(f"merged {copied} records into {args.target} ({kept} already there kept)")
        return EXIT_OK
    if command == "compare":
        from recbench.results.compare import compare_models

        print(compare_models([Path(r) for r in args.results], args.models, args.metrics))
        return EXIT_OK
    if command == "leaderboard":
        return _leaderboard(host, args)
    code = _run(host, args if args.command else _parser().parse_args(["run"]))
    return max(code, _report_problems(host))


def _plugin_rows(host: PluginHost) -> list[list[str]]:
    """Every plugin with what of it was skipped (the warnings say why), then those that failed to load."""
    problems = host.check_all()
    rows = []
    for name, dist, version in host.plugin_names():
        skipped = [p.skipped for p in problems if p.plugin == name]
        rows.append([name, dist, version, f"skipped: {', '.join(skipped)}" if skipped else "ok"])
    return rows + [[p.plugin, p.distribution, p.version, "skipped: all of it"] for p in problems if not p.skipped]


def _parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return (0, 1)
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/2 and 1/2")
    return (i, n)


def _list(host: PluginHost, kind: str | None) -> None:
    from tabulate import tabulate

    for name in [kind] if kind else list(KINDS):
        rows = []
        headers = ["name", "kind", "provided by", "description"] + (["paper"] if name == "models" else [])
        for reg in host.all(name).values():
            spec = reg.spec
            detail = getattr(spec, "family", None) or getattr(spec, "kind", None) or getattr(spec, "feedback", "")
            rows.append([spec.name, detail, f"{reg.distribution} {reg.dist_version}", spec.description]
                        + ([getattr(spec, "paper", "") or ""] if name == "models" else []))
        print(f"{name}:")
        print(tabulate(rows, headers=headers) if rows else "  (none)")
        print()


def _run(host: PluginHost, args: argparse.Namespace) -> int:
    from recbench.config import DEFAULT_SWEEP, apply_overrides, load_sweep, sweep_from_mapping

    sweep = load_sweep(args.config) if args.config else sweep_from_mapping(DEFAULT_SWEEP, "embedded default")
    sweep = apply_overrides(sweep, datasets=args.datasets, models=args.models, seeds=args.seeds,
                            metrics=args.metrics, out=args.out, columns=args.columns, sep=args.sep,
                            run_timeout=args.run_timeout)
    from recbench.results.leaderboard import render
    from recbench.runner import Runner

    runner = Runner(host, sweep, data_dir=args.data_dir, rerun=args.rerun, verbose=args.verbose,
                    shard=_parse_shard(args.shard))
    outcome = runner.run()
    keys = set(runner.leaderboard_rows.by_run_key)  # every run of the sweep
    records = [r for r in runner.store.records() if r.run_key in keys]
    table = render(records, list(sweep.metrics), per_user=lambda r: runner.store.load_per_user(r.run_key),
                   published=sweep.published, rows=runner.leaderboard_rows)
    if table:
        print(table)
        path = _publish(host, sweep, keys, args)
        print(f"records: {Path(sweep.out) / 'records'}" + (f"  table: {path}" if path else ""))
    if outcome.skipped:
        print(f"skipped {outcome.skipped} runs already completed in {sweep.out} (use --rerun to repeat them)")
    for error in outcome.errors:
        print(f"recbench: error: {error}", file=sys.stderr)
    failed = [r for r in records if r.status != "ok"]
    for record in failed:
        print(f"recbench: run {record.model['name']} on {record.dataset['name']} seed {record.seed} "
              f"{record.status}: {record.message}", file=sys.stderr)
    return EXIT_RUN_FAILED if outcome.errors or failed else EXIT_OK


def _publish(host: PluginHost, sweep: SweepConfig, keys: set[str], args: argparse.Namespace) -> Path | None:
    """Write the run's leaderboard into its result directory, except over a sweep file's own table.

    A sweep file's leaderboard is made from all its records; when flags changed what ran (or ran a
    ``--shard`` of it) and the records go beside the file, that table is left as it is (``recbench
    publish`` regenerates it).
    """
    from recbench.results.publish import publish

    # --shard runs a part of the sweep: its table beside the file would be partial until the merge
    changed = [flag for flag in ("--datasets", "--models", "--seeds", "--metrics", "--shard") if getattr(args, flag[2:])]
    if args.config and changed and not args.out:
        print(f"not republishing {Path(sweep.out) / 'leaderboard.md'}: {', '.join(changed)} changed the sweep "
              f"of {args.config}; `recbench publish {args.config}` regenerates it from all its records")
        return None
    return publish(sweep, keys if changed or not args.config else None, host)


def _data_info(host: PluginHost, args: argparse.Namespace) -> None:
    from recbench.data.files import dataset_context
    from recbench.data.info import dataset_info, split_info
    from recbench.runner import RunSeeds, one_line_errors, plugin_name

    choice = _data_info_choice(args)
    dataset = host.dataset(choice.name)
    splitter = host.splitter(choice.protocol or dataset.spec.default_protocol)
    # a plugin's own bug is one line naming the plugin, as in a sweep (--verbose shows the traceback)
    load = one_line_errors(dataset.spec.load, plugin_name("dataset", dataset))
    split_fn = one_line_errors(splitter.spec.split, plugin_name("splitter", splitter))
    data = load(dataset_context(choice.params, data_dir=args.data_dir))
    for key, value in dataset_info(data).items():
        print(f"{key}: {value}")
    split = split_fn(data, dict(choice.protocol_params), RunSeeds.spawn(args.seed).split)
    for key, value in split_info(split).items():
        print(f"split.{key}: {value}")


def _data_info_choice(args: argparse.Namespace) -> DatasetChoice:
    """The dataset entry ``data info`` describes: a name or a file, as ``run --datasets`` takes it."""
    from recbench.config import dataset_from_cli, parse_columns, parse_inline_table

    choice = dataset_from_cli(args.name, parse_columns(args.columns), args.sep)
    return replace(choice, params={**choice.params, **parse_inline_table(args.params, "--params")},
                   protocol=args.protocol,
                   protocol_params=parse_inline_table(args.protocol_params, "--protocol-params"))


def _leaderboard(host: PluginHost, args: argparse.Namespace) -> int:
    from recbench.results.leaderboard import boards, render_boards
    from recbench.results.rows import RowNames
    from recbench.results.store import ResultStore

    stores = {}
    for root in args.results:
        store = ResultStore(Path(root))
        for record in store.records():
            stores.setdefault(record.run_key, (store, record))
    if not stores:
        raise RecbenchError(f"no run records under {', '.join(args.results)}", hint="point at a directory holding records/")
    records = [record for _, record in stores.values()]
    chosen = [m.strip() for m in args.metrics.split(",")] if args.metrics else None
    published, rows, title = (), RowNames(), "recbench leaderboard"
    if args.config:
        from recbench.config import load_sweep
        from recbench.run_keys import row_names

        sweep = load_sweep(args.config)
        chosen = chosen or list(sweep.metrics)
        published, rows, title = sweep.published, row_names(host, sweep), f"recbench leaderboard: {sweep.name}"
    groups = boards(records, chosen, per_user=lambda r: stores[r.run_key][0].load_per_user(r.run_key),
                    published=published, rows=rows)
    if args.plot:
        from recbench.results.pareto import write_plot

        print(f"wrote {write_plot(groups, args.plot, args.plot_x)}", file=sys.stderr)
    print(render_boards(groups, args.format, title), end="")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
