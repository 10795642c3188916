"""Sweep configuration: TOML files, the embedded default, and command-line overrides. No jax here."""

from __future__ import annotations

import itertools
import math
import random
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recbench.errors import ConfigError
from recbench.evaluate.metric_names import parse_metric

DEFAULT_METRICS = ("ndcg@10", "recall@10", "precision@10", "hit@10")


COLD_START = ("include", "exclude")


@dataclass(frozen=True, slots=True)
class DatasetChoice:
    """One dataset of a sweep and how to prepare, split and evaluate it.

    Attributes:
        name: the dataset plugin.
        params: the loader's parameters.
        protocol: the splitter; None means the dataset's default protocol.
        protocol_params: the splitter's parameters (its defaults fill the rest).
        preprocess: preprocessing steps, in order (see recbench.data.preprocess).
        candidates: ``{negatives = 99, sampling = "uniform"}`` for sampled test evaluation.
        cold_start: ``include`` evaluates held-out rows of users/items unseen in training (they are
            counted in the record either way); ``exclude`` drops them from evaluation.
    """

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    protocol: str | None = None
    protocol_params: Mapping[str, Any] = field(default_factory=dict)
    preprocess: tuple[Mapping[str, Any], ...] = ()
    candidates: Mapping[str, Any] = field(default_factory=dict)
    cold_start: str = "include"

    def key(self) -> dict[str, Any]:
        """What identifies this choice in a run key."""
        return {"name": self.name, "params": dict(self.params), "protocol": self.protocol,
                "protocol_params": dict(self.protocol_params), "preprocess": [dict(s) if isinstance(s, Mapping)
                                                                             else s for s in self.preprocess],
                "candidates": dict(self.candidates), "cold_start": self.cold_start}


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One ``[[models]]`` entry (one trial of it when it has a ``search``).

    Attributes:
        name: the model plugin.
        config: model settings over the plugin's defaults.
        training: host training settings over the sweep's.
        label: the leaderboard row of this entry's runs, when one model appears in several
            configurations (e.g. ``"neumf (pre-trained)"``); without it the row is ``name`` and several
            configurations of one model are trials of one row. Never part of a run key.
    """

    name: str
    config: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None


@dataclass(frozen=True, slots=True)
class PublishedFigure:
    """A figure a paper or benchmark reported for a comparable protocol, shown beside ours.

    Written in a leaderboard's TOML as ``[[published]]``; never ranked, bolded or tested.

    Attributes:
        model: the model as the source names it, e.g. ``"BPR (Cornac)"``.
        source: where the figures come from (paper, benchmark, table), cited under the table.
        metrics: metric name -> reported value, e.g. ``{"ndcg@10" = 0.442}``.
        note: why ours differs (required in practice when it differs by more than the seed spread).
        protocol: the source's protocol in words, when it is not exactly ours.
        ours: the recbench model this figure is compared with, e.g. ``"mf_bpr"``.
        dataset: the sweep dataset whose table shows it (needed when the sweep has several).
    """

    model: str
    source: str
    metrics: Mapping[str, float]
    note: str = ""
    protocol: str = ""
    ours: str | None = None
    dataset: str | None = None


@dataclass(frozen=True, slots=True)
class SweepConfig:
    """datasets x models x seeds, evaluated with ``metrics``; records go to ``out``.

    ``published`` figures only change the rendered tables, never a run.
    """

    name: str
    datasets: tuple[DatasetChoice, ...]
    models: tuple[ModelChoice, ...]
    seeds: tuple[int, ...]
    metrics: tuple[str, ...] = DEFAULT_METRICS
    out: str = "recbench-results"
    training: Mapping[str, Any] = field(default_factory=dict)
    published: tuple[PublishedFigure, ...] = ()
    run_timeout_s: float | None = None  # a run past it is a ``timeout`` row (recbench.run_timeout)


#: ``recbench run`` with no arguments: offline, about a minute on a 2-core CPU.
DEFAULT_SWEEP: dict[str, Any] = {
    "name": "quickstart",
    "seeds": [0, 1, 2],
    "metrics": list(DEFAULT_METRICS),
    "datasets": [{"name": "synthetic"}],
    "models": [{"name": "pop"}, {"name": "mf_bpr"}],
}

_TOP_KEYS = {"name", "seeds", "metrics", "datasets", "models", "out", "training", "published", "run_timeout_s"}


def _table(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, Mapping) or "name" not in value:
        raise ConfigError(f"{where}: expected a name or a table with 'name', got {value!r}")
    return dict(value)


def _dataset(value: Any, where: str) -> DatasetChoice:
    t = _table(value, where)
    known = ("name", "params", "protocol", "protocol_params", "preprocess", "candidates", "cold_start")
    unknown = set(t) - set(known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(known)}")
    cold_start = str(t.get("cold_start", "include"))
    if cold_start not in COLD_START:
        raise ConfigError(f"{where}: cold_start={cold_start!r} must be one of {', '.join(COLD_START)}")
    steps = tuple(t.get("preprocess", ()))
    from recbench.data.preprocess import validate_steps

    validate_steps(steps, where)
    return DatasetChoice(str(t["name"]).lower(), dict(t.get("params", {})), t.get("protocol"),
                         dict(t.get("protocol_params", {})), steps, dict(t.get("candidates", {})), cold_start)


def _models(value: Any, where: str) -> list[ModelChoice]:
    """One model entry; with ``search`` it expands to one choice per trial (grid or random).

    ``search = { l2 = [1e-4, 1e-3], "training.learning_rate" = [1e-3, 1e-2] }`` searches model config
    keys and (prefixed ``training.``) host training settings; ``search_mode = "random"`` with
    ``trials = N`` samples N distinct combinations (seeded by ``search_seed``, default 0). The
    leaderboard selects each seed's trial by the validation value of the ranking metric.
    """
    t = _table(value, where)
    known = {"name", "config", "training", "label", "search", "search_mode", "trials", "search_seed"}
    unknown = set(t) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(sorted(known))}")
    label = t.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ConfigError(f"{where}: label = {label!r} must be a non-empty string naming the leaderboard row",
                          hint='e.g. label = "neumf (pre-trained)"')
    base = ModelChoice(str(t["name"]).lower(), dict(t.get("config", {})), dict(t.get("training", {})),
                       label.strip().lower() if label else None)
    space = t.get("search")
    if not space:
        return [base]
    if not isinstance(space, Mapping) or not all(isinstance(v, list) and v for v in space.values()):
        raise ConfigError(f"{where}: search must map parameters to non-empty lists, e.g. {{ l2 = [1e-4, 1e-3] }}")
    keys = sorted(space)
    combos = list(itertools.product(*(space[k] for k in keys)))
    mode = t.get("search_mode", "grid")
    if mode == "random":
        trials = int(t.get("trials", 10))
        rng = random.Random(int(t.get("search_seed", 0)))
        combos = rng.sample(combos, min(trials, len(combos)))
    elif mode != "grid":
        raise ConfigError(f"{where}: search_mode {mode!r} must be grid or random")
    out = []
    for combo in combos:
        config, training = dict(base.config), dict(base.training)
        for key, value in zip(keys, combo, strict=True):
            if key.startswith("training."):
                training[key.removeprefix("training.")] = value
            else:
                config[key] = value
        out.append(ModelChoice(base.name, config, training, base.label))
    return out


_PUBLISHED_KEYS = ("model", "source", "metrics", "note", "protocol", "ours", "dataset")
_PUBLISHED_EXAMPLE = ('[[published]] model = "BPR (Cornac)", source = "paper, table 2", '
                      'metrics = { "ndcg@10" = 0.442 }, ours = "mf_bpr", note = "why ours differs"')


def _published(value: Any, where: str, metrics: Sequence[str], models: Sequence[str],
               datasets: Sequence[str]) -> PublishedFigure:
    """One ``[[published]]`` entry, checked against the sweep's metrics, models and datasets."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table, got {value!r}", hint=_PUBLISHED_EXAMPLE)
    unknown = set(value) - set(_PUBLISHED_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(_PUBLISHED_KEYS)}")
    for key in ("model", "source"):
        if not isinstance(value.get(key), str) or not value[key].strip():
            raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value.get(key)!r}",
                              hint=_PUBLISHED_EXAMPLE)
    for key in ("note", "protocol", "ours", "dataset"):
        if key in value and not isinstance(value[key], str):
            raise ConfigError(f"{where}: '{key}' must be a string, got {value[key]!r}")
    figures = value.get("metrics")
    if not isinstance(figures, Mapping) or not figures:
        raise ConfigError(f"{where}: 'metrics' must be a non-empty table of metric = number, got {figures!r}",
                          hint=_PUBLISHED_EXAMPLE)
    parsed: dict[str, float] = {}
    for name, number in figures.items():
        try:
            metric = str(parse_metric(name))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if metric not in metrics:
            raise ConfigError(f"{where}: metric {name!r} is not among the sweep's metrics ({', '.join(metrics)}), "
                              "so no table would show it", hint="add it to 'metrics' or drop it here")
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise ConfigError(f"{where}: metrics.{name} = {number!r} must be a finite number")
        parsed[metric] = float(number)
    ours = value.get("ours")
    if ours is not None and ours.lower() not in models:
        raise ConfigError(f"{where}: ours = {ours!r} is not a model of this sweep; models: {', '.join(models)}")
    dataset = value.get("dataset")
    if dataset is not None and dataset.lower() not in datasets:
        raise ConfigError(f"{where}: dataset = {dataset!r} is not a dataset of this sweep; "
                          f"datasets: {', '.join(datasets)}")
    if dataset is None and len(set(datasets)) > 1:
        raise ConfigError(f"{where}: the sweep has several datasets ({', '.join(datasets)}); "
                          "say which table shows this figure with dataset = \"NAME\"")
    return PublishedFigure(value["model"].strip(), value["source"].strip(), parsed, value.get("note", "").strip(),
                           value.get("protocol", "").strip(), ours.lower() if ours else None,
                           dataset.lower() if dataset else None)


def _check_labels(models: Sequence[ModelChoice], where: str) -> None:
    """A label names one row: it is not another entry's model name, nor shared by two models."""
    names = {m.name for m in models}
    owner: dict[str, str] = {}
    for m in models:
        if m.label is None:
            continue
        if m.label in names and m.label != m.name:
            raise ConfigError(f"{where}: label = {m.label!r} of a {m.name} entry is the name of another model "
                              "of the sweep, so their rows would merge", hint="choose a distinct label")
        if owner.setdefault(m.label, m.name) != m.name:
            raise ConfigError(f"{where}: label = {m.label!r} is given to both {owner[m.label]} and {m.name}; "
                              "a label names one model's row", hint="choose a distinct label per model")


def _seeds(seeds: Any, where: str) -> tuple[int, ...]:
    """The distinct seeds, in order; anything but a non-empty list of non-negative integers is refused."""
    if not isinstance(seeds, Sequence) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ConfigError(f"{where}: seeds must be a non-empty list of non-negative integers, got {seeds!r}")
    return tuple(dict.fromkeys(seeds))


def sweep_from_mapping(data: Mapping[str, Any], where: str = "configuration") -> SweepConfig:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_TOP_KEYS)}")
    for key in ("datasets", "models"):
        if not data.get(key):
            raise ConfigError(f"{where}: '{key}' must list at least one entry")
    seeds = _seeds(data.get("seeds", [0]), where)
    metrics = _metrics(data.get("metrics", DEFAULT_METRICS), where)
    datasets = tuple(_dataset(d, f"{where}: datasets[{i}]") for i, d in enumerate(data["datasets"]))
    models = tuple(c for i, m in enumerate(data["models"]) for c in _models(m, f"{where}: models[{i}]"))
    published = data.get("published", [])
    if not isinstance(published, list):
        raise ConfigError(f"{where}: 'published' must be an array of tables ([[published]]), got {published!r}",
                          hint=_PUBLISHED_EXAMPLE)
    _check_labels(models, where)
    model_names = list(dict.fromkeys(m.label or m.name for m in models))
    dataset_names = list(dict.fromkeys(d.name for d in datasets))
    return SweepConfig(
        name=str(data.get("name", "sweep")),
        datasets=datasets,
        models=models,
        seeds=seeds,
        metrics=metrics,
        out=str(data.get("out", "recbench-results")),
        training=dict(data.get("training", {})),
        published=tuple(_published(p, f"{where}: published[{i}]", metrics, model_names, dataset_names)
                        for i, p in enumerate(published)),
        run_timeout_s=_run_timeout(data.get("run_timeout_s"), where),
    )


def _metrics(names: Any, where: str) -> tuple[str, ...]:
    """The metrics, normalised (``NDCG@10`` is ``ndcg@10``); an empty list is refused."""
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise ConfigError(f"{where}: metrics must be a non-empty list of metric names, got {names!r}",
                          hint='e.g. metrics = ["ndcg@10", "recall@10"]')
    return tuple(str(parse_metric(m)) for m in names)


def _run_timeout(value: Any, where: str) -> float | None:
    """A positive number of seconds, or None (no limit)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"{where}: run_timeout_s must be a positive number of seconds, got {value!r}",
                          hint="e.g. run_timeout_s = 600, or leave it out for no limit")
    return float(value)


def load_sweep(path: str | Path) -> SweepConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint="check the line it names") from exc
    sweep = sweep_from_mapping(data, str(path))
    if "out" not in data:  # records live beside their configuration by default
        sweep = replace(sweep, out=str(path.with_suffix("")))
    return sweep


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


_FILE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".inter")


def _is_path(entry: str) -> bool:
    return "/" in entry or entry.lower().endswith(_FILE_SUFFIXES)


def dataset_from_cli(entry: str, columns: Mapping[str, str] | None = None, sep: str | None = None) -> DatasetChoice:
    """A dataset name, or a path to the user's own file (then the ``file`` dataset reads it)."""
    if _is_path(entry):
        params: dict[str, Any] = {"path": str(Path(entry).expanduser().resolve()), **(columns or {})}
        if sep:
            params["sep"] = sep
        return DatasetChoice("file", params)
    return DatasetChoice(entry.lower())


def parse_columns(text: str | None) -> dict[str, str]:
    """``user=userId,item=movieId`` -> mapping; roles: user, item, rating, timestamp."""
    if not text:
        return {}
    out = {}
    for part in _split_list(text):
        role, _, column = part.partition("=")
        if role not in ("user", "item", "rating", "timestamp") or not column:
            raise ConfigError(f"--columns {text!r}: expected ROLE=COLUMN pairs with ROLE in user, item, rating, timestamp")
        out[role] = column
    return out


def parse_inline_table(text: str | None, flag: str) -> dict[str, Any]:
    """``--params 'n_users = 500, n_items = 200'``: what a sweep file writes inside ``params = { ... }``."""
    if not text:
        return {}
    body = text.strip()
    body = body if body.startswith("{") else "{ " + body + " }"
    try:
        return dict(tomllib.loads(f"value = {body}")["value"])
    except tomllib.TOMLDecodeError as exc:
        example = f"{flag} 'size = 500, kind = \"x\"'"
        problem = str(exc).split(" (at line", 1)[0]  # its position is in our wrapper, not in the text given
        raise ConfigError(f"{flag} {text!r}: not a TOML inline table ({problem})",
                          hint=f"write it as inside a sweep file's {{ }}, e.g. {example}") from exc


def _select(entries: Sequence[Any], text: str, flag: str, matches: Callable[[Any, str], bool],
            default: Callable[[str], Any]) -> tuple[Any, ...]:
    """The entries a comma-separated flag names, in its order: every entry of the file that a name
    matches, with all its settings (search trials and labelled variants included), else ``default(name)``."""
    names = list(dict.fromkeys(_split_list(text)))
    if not names:
        raise ConfigError(f"{flag} {text!r}: name at least one, comma-separated")
    chosen: dict[int, Any] = {}
    for name in names:
        for entry in [e for e in entries if matches(e, name)] or [default(name)]:
            chosen.setdefault(id(entry), entry)
    return tuple(chosen.values())


def _converted(text: str, convert: Callable[[str], Any]) -> Any:
    """``convert(text)``, or ``text`` itself when it does not convert (the check then names it)."""
    try:
        return convert(text)
    except ValueError:
        return text


def apply_overrides(sweep: SweepConfig, *, datasets: str | None = None, models: str | None = None,
                    seeds: str | None = None, metrics: str | None = None, out: str | None = None,
                    columns: str | None = None, sep: str | None = None,
                    run_timeout: str | None = None) -> SweepConfig:
    """Command-line flags choose among the configuration's entries (comma-separated).

    ``--datasets`` and ``--models`` keep every entry of the file with a name given (a model also by
    its ``label``) with all its settings; a name the file lacks runs with the plugin's defaults, and
    a dataset given as a path reads the user's file (``--columns``, ``--sep``). ``--seeds`` and
    ``--metrics`` replace the file's lists; seeds are checked as the file's are. ``--run-timeout``
    replaces ``run_timeout_s`` (it does not change which runs there are, nor their keys).
    """
    if datasets:
        mapping = parse_columns(columns)
        sweep = replace(sweep, datasets=_select(
            sweep.datasets, datasets, "--datasets", lambda d, n: not _is_path(n) and d.name == n.lower(),
            lambda n: dataset_from_cli(n, mapping, sep)))
    if models:
        sweep = replace(sweep, models=_select(
            sweep.models, models, "--models", lambda m, n: n.lower() in (m.name, m.label),
            lambda n: ModelChoice(n.lower())))
    if seeds:
        sweep = replace(sweep, seeds=_seeds([_converted(s, int) for s in _split_list(seeds)], "--seeds"))
    if metrics:
        sweep = replace(sweep, metrics=_metrics(_split_list(metrics), "--metrics"))
    if out:
        sweep = replace(sweep, out=out)
    if run_timeout:
        sweep = replace(sweep, run_timeout_s=_run_timeout(_converted(run_timeout, float), "--run-timeout"))
    return sweep

