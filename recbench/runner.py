"""Expand a sweep, split each dataset once per seed, train and evaluate every model in isolation."""

from __future__ import annotations

import dataclasses
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

import numpy as np

from recbench.config import DatasetChoice, ModelChoice, SweepConfig
from recbench.data.files import dataset_context
from recbench.data.interactions import Interactions
from recbench.data.split import Split
from recbench.errors import (
    ConfigError,
    DataError,
    DivergedError,
    PluginError,
    RecbenchError,
    RunTimeout,
    describe_exception,
)
from recbench.evaluate.metric_names import parse_metric
from recbench.manager import PluginHost
from recbench.results.environment import recbench_source
from recbench.results.record import RunRecord, stable_hash
from recbench.results.rows import RowNames
from recbench.results.store import ResultStore
from recbench.run_keys import effective_config, effective_training, row_names, run_key
from recbench.run_timeout import time_limit
from recbench.sweep_checks import check_metric, check_model_entries, early_stopping_metrics, training_config
from recbench.types import Registered

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RunSeeds:
    """Independent streams spawned from one run seed: the split's is shared by every model."""

    split: int
    init: int
    sampling: int

    @classmethod
    def spawn(cls, seed: int) -> RunSeeds:
        children = np.random.SeedSequence(seed).spawn(3)
        split, init, sampling = (int(c.generate_state(1, np.uint32)[0]) for c in children)
        return cls(split, init, sampling)


@dataclass
class SweepOutcome:
    records: list[RunRecord] = field(default_factory=list)
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.records if r.status != "ok"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Runner:
    """Runs a :class:`SweepConfig` against a :class:`PluginHost`, writing to a :class:`ResultStore`."""

    def __init__(self, host: PluginHost, sweep: SweepConfig, *, data_dir: str | None = None,
                 progress: TextIO | None | Literal["stderr"] = "stderr", rerun: bool = False, verbose: bool = False,
                 shard: tuple[int, int] = (0, 1)) -> None:
        self.host = host
        self.sweep = sweep
        self.store = ResultStore(Path(sweep.out))
        self.data_dir = data_dir
        # sys.stderr as it is when the sweep runs, not when this module was imported (pytest swaps it)
        self.progress = sys.stderr if progress == "stderr" else progress
        self.rerun = rerun
        self.verbose = verbose
        self.shard = shard
        self.metric_refs = [parse_metric(m) for m in sweep.metrics]
        self._validate_names()
        check_model_entries(host, sweep)  # a bad setting fails the sweep here, not every run of the entry
        # evaluated on validation (early stopping) though not reported, when the sweep's metrics lack them
        self.stopping_refs = [r for r in early_stopping_metrics(host, sweep) if r not in self.metric_refs]
        # the leaderboard row of each run; two entries with the same runs fail here, before any run
        self.leaderboard_rows: RowNames = row_names(host, sweep, strict=True)
        # fingerprint the code now (cached per process), not at the first record: files edited while
        # the first run trains would be named as the code that ran
        recbench_source()
        self._environment: dict[str, Any] | None = None
        # keyed by the dataset entry (dataset_key): two entries of one dataset differ in params or steps
        self.splits_made: dict[tuple[str, int], Split] = {}
        self.preprocessing: dict[str, list[dict[str, Any]]] = {}

    # -- up-front validation: bad names fail before anything runs --------------------------------
    def _validate_names(self) -> None:
        for d in self.sweep.datasets:
            spec = self.host.dataset(d.name).spec
            self.host.splitter(d.protocol or spec.default_protocol)
        for m in self.sweep.models:
            self.host.model(m.name)
        for ref in self.metric_refs:
            check_metric(self.host, ref, f"metric {ref.name!r}")

    def _say(self, text: str) -> None:
        if self.progress is not None:
            print(text, file=self.progress, flush=True)

    # -- the sweep -----------------------------------------------------------------------------
    def run(self, on_record: Callable[[RunRecord], None] | None = None) -> SweepOutcome:
        outcome = SweepOutcome()
        total = len(self.sweep.datasets) * len(self.sweep.seeds) * len(self.sweep.models)
        done, started = 0, time.perf_counter()
        for choice in self.sweep.datasets:
            try:
                data = self._load(choice)
            except RecbenchError as exc:
                self._sweep_error(outcome, f"dataset {choice.name!r}", exc)
                self._say(f"dataset {choice.name!r} could not be loaded; its runs are skipped (error at the end)")
                done += len(self.sweep.seeds) * len(self.sweep.models)
                continue
            stale = self._stale_records(choice, data)
            if stale is not None:
                self._sweep_error(outcome, f"dataset {choice.name!r}", stale)
                self._say(f"dataset {choice.name!r} changed since its records were made; its runs are skipped "
                          "(error at the end)")
                done += len(self.sweep.seeds) * len(self.sweep.models)
                continue
            for seed in self.sweep.seeds:
                seeds = RunSeeds.spawn(seed)
                split: Split | None = None
                evaluator = None
                for model_choice in self.sweep.models:
                    done += 1
                    key = self.run_key(choice, model_choice, seed)
                    if not self.in_shard(key):
                        continue
                    label = f"[{done}/{total}] {_dataset_label(choice)} seed={seed} {model_choice.name}"
                    if not self.rerun and self.store.completed(key):
                        outcome.skipped += 1
                        self._say(f"{label}: already done, skipped")
                        continue
                    try:
                        if split is None:
                            split = self._split(choice, data, seeds.split, seed)
                            evaluator = self._evaluator(choice, split)
                    except RecbenchError as exc:
                        self._sweep_error(outcome, f"dataset {choice.name!r} seed {seed}", exc)
                        self._say(f"{label}: the split failed; this seed's runs are skipped (error at the end)")
                        break
                    record = self._run_one(key, choice, data, split, evaluator, model_choice, seed, seeds)
                    outcome.records.append(record)
                    for warning in self.host.notify_run_finished(record):
                        self._say(f"warning: {warning}")
                    if on_record:
                        on_record(record)
                    elapsed = time.perf_counter() - started
                    eta = elapsed / done * (total - done)
                    summary = ", ".join(f"{m}={record.metrics[m]:.4f}" for m in self.sweep.metrics[:2] if m in record.metrics)
                    status = record.status if record.status == "ok" else f"{record.status}: {record.message}"
                    self._say(f"{label}: {status} {summary} ({elapsed:.0f}s elapsed, ETA {eta:.0f}s)")
        return outcome

    def _stale_records(self, choice: DatasetChoice, data: Interactions) -> DataError | None:
        """Why the entry's completed runs cannot be skipped: they were made on other data (the file
        changed, or its preprocessing's outcome did). None when there is none, or with ``--rerun``.

        The run key names the data by its entry, not its content, so a record of a changed file would
        otherwise be taken as done and its stale figures kept."""
        if self.rerun:
            return None
        current = None
        for seed in self.sweep.seeds:
            for model_choice in self.sweep.models:
                made_on = self.store.completed_on(self.run_key(choice, model_choice, seed))
                if made_on is None:
                    continue
                current = current or _data_identity(data)
                changed = [k for k, v in made_on.items() if v is not None and v != current[k]]  # old records lack some
                if changed:
                    return DataError(
                        f"the data changed since its records in {self.store.root} were made ("
                        + "; ".join(f"{k} {made_on[k][:12]} there, {str(current[k])[:12]} now" for k in changed) + ")",
                        hint="re-run with --rerun to replace those records, or write to another --out")
        return None

    def _sweep_error(self, outcome: SweepOutcome, where: str, exc: RecbenchError) -> None:
        """A failure that skips several runs: one line for the end of the sweep (and the traceback if verbose)."""
        outcome.errors.append(f"{where}: {describe_exception(exc, with_hint=True)}")
        if self.verbose and exc.__traceback__ is not None:  # a refusal made here has no traceback to show
            traceback.print_exception(exc)

    def in_shard(self, run_key: str) -> bool:
        """``--shard i/n``: this machine runs the keys whose hash is i modulo n."""
        index, count = self.shard
        return int(run_key, 16) % count == index

    def run_key(self, choice: DatasetChoice, model: ModelChoice, seed: int) -> str:
        """The run's key (:func:`recbench.run_keys.run_key`): what defines it, never its label."""
        return run_key(self.host, self.sweep, choice, model, seed)

    # -- steps ---------------------------------------------------------------------------------
    def _load(self, choice: DatasetChoice) -> Interactions:
        from recbench.data.preprocess import describe_reports, preprocess

        dataset = self.host.dataset(choice.name)
        load = one_line_errors(dataset.spec.load, plugin_name("dataset", dataset))
        data = load(dataset_context(choice.params, self.data_dir))
        if not isinstance(data, Interactions):
            raise DataError(f"dataset plugin {choice.name!r} returned {type(data).__name__}, not Interactions")
        if len(data) == 0:
            raise DataError(f"dataset {choice.name!r} has no interactions")
        if choice.preprocess:
            data, reports = preprocess(data, choice.preprocess)
            self.preprocessing[dataset_key(choice)] = [r.as_dict() for r in reports]
            self._say(describe_reports(reports))
        duplicates = data.duplicate_pair_count()
        if duplicates:
            raise DataError(
                f"dataset {choice.name!r} has {duplicates} duplicate (user, item) rows; a split would leak them",
                hint="deduplicate the data (keep the latest row per pair) before benchmarking",
            )
        return data

    def _split(self, choice: DatasetChoice, data: Interactions, split_seed: int, seed: int) -> Split:
        from recbench.data.candidates import candidates_from_config
        from recbench.data.split_cache import cached_split

        spec = self.host.dataset(choice.name).spec
        protocol = self.host.splitter(choice.protocol or spec.default_protocol)
        split_fn = one_line_errors(protocol.spec.split, plugin_name("splitter", protocol))
        splitter = dataclasses.replace(protocol.spec, split=split_fn)
        split = cached_split(data, splitter, dict(choice.protocol_params), split_seed)
        if choice.candidates:
            if split.candidates is not None:
                raise ConfigError(
                    f"dataset {choice.name!r}: its split already has published candidates ({split.candidates.source})",
                    hint="remove 'candidates' from the configuration, or use another protocol",
                )
            split = candidates_from_config(split, choice.candidates, split_seed)
        self.splits_made[(dataset_key(choice), seed)] = split
        return split

    def _evaluator(self, choice: DatasetChoice, split: Split) -> Any:
        from recbench.evaluate.suite import EvaluationSuite

        valid, test = split.valid, split.test
        if choice.cold_start == "exclude":
            valid, test = (_without_cold_rows(part, split.train) for part in (valid, test))
            if len(split.test) and not len(test):
                raise DataError(f"cold_start = 'exclude' removed all {len(split.test):,} test rows of split "
                                f"{split.protocol} ({split.split_id}): its test users or items are all unseen in "
                                "training", hint="use cold_start = 'include' with this protocol")
        table = {ref: self.host.metric(ref.name).spec for ref in [*self.metric_refs, *self.stopping_refs]}
        return EvaluationSuite(split, table, valid, test, reported=self.metric_refs)

    def _environment_info(self) -> dict[str, Any]:
        if self._environment is None:
            from recbench.results.environment import environment

            self._environment = environment()
        return self._environment

    def _run_one(self, key: str, choice: DatasetChoice, data: Interactions, split: Split, evaluator: Any,
                 model_choice: ModelChoice, seed: int, seeds: RunSeeds) -> RunRecord:
        from recbench.results.memory import close_peak_window, open_peak_window
        from recbench.train.family import pretrain
        from recbench.train.loop import early_stopping_status, train

        started = _now()
        window = open_peak_window()  # the run's own peak memory, not the process's so far
        dataset_reg = self.host.dataset(choice.name)
        model_reg = self.host.model(model_choice.name)
        spec = model_reg.spec
        config = effective_config(spec, model_choice)
        training_values = effective_training(spec, self.sweep, model_choice)
        base = {
            "run_key": key,
            "seed": seed,
            "dataset": {**data.summary(), "name": _dataset_label(choice), "version": dataset_reg.spec.version,
                        "params": dict(choice.params), "fingerprint": split.dataset_fingerprint,
                        "candidates_digest": data.candidates_digest(),
                        "preprocessing": self.preprocessing.get(dataset_key(choice), [])},
            "split": split.describe(),
            "model": {"name": spec.name, "version": spec.version, "family": spec.family, "config": config,
                      "config_hash": stable_hash(config), "training": training_values},
            "plugins": {
                "dataset": [dataset_reg.distribution, dataset_reg.dist_version],
                "splitter": [self.host.splitter(split.protocol).distribution,
                             self.host.splitter(split.protocol).dist_version],
                "model": [model_reg.distribution, model_reg.dist_version],
                "metrics": {str(r): [self.host.metric(r.name).distribution, self.host.metric(r.name).dist_version,
                                     self.host.metric(r.name).spec.version] for r in self.metric_refs},
            },
            "started_at": started,
        }
        eval_compile_before = evaluator.compile_seconds
        try:
            cfg = training_config(spec, self.sweep, model_choice)
            with time_limit(self.sweep.run_timeout_s, f"run of {model_choice.name!r} on {_dataset_label(choice)} "
                                                      f"seed {seed}"):
                build_start = time.perf_counter()
                model = built_module(spec.build(_model_context(split.train, config, seeds.init)), model_reg)
                build_seconds = time.perf_counter() - build_start
                pretrained = pretrain(model, split, cfg, seeds.sampling,
                                      lambda module: evaluator.validator(cfg.early_stopping_metric, module))
                validate = evaluator.validator(cfg.early_stopping_metric, model)
                trained = train(model, spec.family, split, cfg, seeds.sampling, validate)
                valid_means = evaluator.evaluate(trained.model, "valid").means if evaluator.has_valid else {}
                result = evaluator.evaluate(trained.model, "test")
            means = result.means
            bad = [name for name, value in means.items() if not np.isfinite(value)]
            if bad:
                raise DivergedError(f"test metrics {bad} are not finite: the model produced NaN/Inf scores")
            record = RunRecord(
                status="ok",
                metrics=means,
                validation=valid_means,
                evaluation={"protocol": result.protocol, "n_users": result.n_users,
                            "higher_is_better": {str(r): self.host.metric(r.name).spec.higher_is_better
                                                 for r in self.metric_refs},
                            "n_users_without_targets": result.n_users_without_targets,
                            "masked": list(split.parts().keys() - {"test"}), "ties": "lower item index first",
                            "cold_start": choice.cold_start, **evaluator.cold_counts,
                            "per_user_file": f"per_user/{key}.npz"},
                training={"epochs": trained.epochs, "best_epoch": trained.best_epoch,
                          "stopped_by": trained.stopped_by, "losses": trained.losses,
                          "early_stopping": early_stopping_status(cfg, spec.family, evaluator.has_valid,
                                                                  validate is not None),
                          "validation_curve": trained.validation,
                          **({"pretraining": _pretraining_summary(pretrained)} if pretrained else {})},
                throughput={"build_s": build_seconds,
                            "validation_s": trained.validation_seconds,
                            "train_compile_s": trained.compile_seconds,
                            "train_compile_cached": trained.compile_cached,
                            "train_seconds": trained.train_seconds,
                            "train_examples": trained.examples,
                            "train_examples_per_s": trained.examples_per_second,
                            "eval_compile_s": evaluator.compile_seconds - eval_compile_before,
                            "eval_seconds": result.seconds,
                            "eval_users_per_s": result.n_users / result.seconds if result.seconds else None,
                            "rating_eval_seconds": result.rating_seconds,
                            **close_peak_window(window)},
                environment=self._environment_info(),
                finished_at=_now(),
                **base,
            )
            self.store.write(record, result.users, result.per_user)
            return record
        except Exception as exc:  # isolation: one run's failure is one status row
            status = ("diverged" if isinstance(exc, DivergedError) else "timeout" if isinstance(exc, RunTimeout)
                      else "error")
            message = describe_exception(exc, with_hint=True)
            if self.verbose:
                traceback.print_exc()
            # the evaluation setting it was to run under: a leaderboard puts the failure beside its comparable runs
            record = RunRecord(status=status, message=message, environment=self._environment_info(),
                               evaluation={"cold_start": choice.cold_start}, finished_at=_now(), **base)
            self.store.write(record)
            return record


def _data_identity(data: Interactions) -> dict[str, str | None]:
    """What a record says about the data it was made on (``dataset.fingerprint`` and
    ``dataset.candidates_digest``), for the comparison on resume."""
    return {"fingerprint": data.fingerprint(), "candidates_digest": data.candidates_digest()}


def dataset_key(choice: DatasetChoice) -> str:
    """One dataset entry of the sweep (its name, params, protocol, preprocessing, ...), for per-entry state."""
    return stable_hash(choice.key())


def plugin_name(kind: str, registered: Registered[Any]) -> str:
    provider = " ".join(str(part) for part in (registered.distribution, registered.dist_version) if part)
    return f"{kind} plugin {registered.name!r} ({provider})"


def built_module(model: Any, registered: Registered[Any]) -> Any:
    """``model`` if a model plugin's builder returned a Flax NNX module, else a one-line PluginError."""
    from flax import nnx

    if not isinstance(model, nnx.Module):
        kind = type(model).__name__
        shown = ("None" if model is None else f"{model!r} ({kind})" if isinstance(model, (int, float, str))
                 else f"a {kind}")
        raise PluginError(f"{plugin_name('model', registered)} built {shown}, not a flax.nnx.Module",
                          hint="its build(ctx) must return the model, an instance of a flax.nnx.Module subclass")
    return model


def one_line_errors(call: Callable[..., T], who: str) -> Callable[..., T]:
    """``call``, with any exception but a RecbenchError turned into a one-line DataError naming ``who``:
    a plugin's bug then skips its own runs (an error line at the end), never the rest of the sweep."""

    def guarded(*args: Any) -> T:
        try:
            return call(*args)
        except RecbenchError:
            raise
        except Exception as exc:
            raise DataError(f"{who} raised {describe_exception(exc)}",
                            hint="a bug in the plugin or a parameter it did not check; --verbose shows the traceback",
                            ) from exc

    return guarded


def _pretraining_summary(outcomes: dict[str, Any]) -> dict[str, Any]:
    """What pre-training did per component, for the record (its seconds are not in the model's own)."""
    return {name: {"epochs": o.epochs, "best_epoch": o.best_epoch, "stopped_by": o.stopped_by, "losses": o.losses,
                   "compile_seconds": o.compile_seconds, "train_seconds": o.train_seconds}
            for name, o in outcomes.items()}


def _dataset_label(choice: DatasetChoice) -> str:
    """The dataset's name in records; the user's own file is named by its file name."""
    if choice.name == "file" and "path" in choice.params:
        return f"file:{Path(str(choice.params['path'])).name}"
    return choice.name


def _without_cold_rows(part: Interactions, train: Interactions) -> Interactions:
    """Rows whose user and item both occur in training."""
    known_user = train.user_counts() > 0
    known_item = train.item_counts() > 0
    return part.take(known_user[part.user_idx] & known_item[part.item_idx])


def _model_context(train: Interactions, config: dict[str, Any], init_seed: int) -> Any:
    """What the builder gets: sizes, config, seed and the side features (vocabulary-wide, no rows)."""
    from recbench.types import ModelContext

    return ModelContext(n_users=train.n_users, n_items=train.n_items, config=config, seed=init_seed,
                        user_features=dict(train.user_features), item_features=dict(train.item_features))
