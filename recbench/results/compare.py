"""``recbench compare``: two models on the same splits, per-metric deltas and paired p-values.

A side of the comparison is a model name, or ``name@variant`` where the variant is a prefix of the
hash of the run's effective settings (model version, config, training and the evaluation's
``cold_start`` setting). A name whose runs under the given directories have more than one setting must
be given with its variant: their values are never merged, and the error lists the variants and the
settings that tell them apart. Per-user values computed under different definitions are never paired:
two sides evaluated with different ``cold_start`` settings, or a compared metric recorded with more
than one version among their runs, are refused with the settings that differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tabulate import tabulate

from recbench.errors import ConfigError
from recbench.results.comparability import cold_start_of, metric_versions_seen
from recbench.results.record import RunRecord, stable_hash
from recbench.results.significance import align, paired_tests
from recbench.results.store import ResultStore

PairKey = tuple[str, str, int, int]  # (split_id, evaluation protocol, seed, user)


def settings_of(record: RunRecord) -> dict[str, dict]:
    """The run's effective settings: its model's version, config and training settings, and which rows
    its evaluation scored (``cold_start``)."""
    return {"model": {"version": record.model.get("version")}, "config": record.model.get("config", {}),
            "training": record.model.get("training", {}), "evaluation": {"cold_start": cold_start_of(record)}}


def variant_of(record: RunRecord) -> str:
    """Short hash of :func:`settings_of`: runs of one model with one variant share all their settings.

    The evaluation's default (``cold_start`` ``include``) is left out of the hash, so a variant named
    before that setting was part of it still names the same runs."""
    settings = settings_of(record)
    if settings["evaluation"] == {"cold_start": "include"}:
        del settings["evaluation"]
    return stable_hash(settings, 8)


def _differences(settings: Iterable[dict[str, dict]]) -> list[str]:
    """``part.key`` of every setting whose value is not the same in all of ``settings``."""
    settings = list(settings)
    keys = sorted({(part, key) for s in settings for part in s for key in s[part]})
    return [f"{part}.{key}" for part, key in keys if len({repr(s[part].get(key)) for s in settings}) > 1]


def _setting(settings: dict[str, dict], dotted: str) -> object:
    part, key = dotted.split(".", 1)
    return settings[part].get(key)


def _describe(variants: dict[str, dict[str, dict]]) -> str:
    """``@variant: part.key=value, ...`` for each variant, naming only the settings that differ."""
    differing = _differences(variants.values())
    return "; ".join(f"@{variant}" + (": " if differing else "") + ", ".join(f"{d}={_setting(settings, d)!r}"
                                                                          for d in differing)
                     for variant, settings in sorted(variants.items()))


def _pick_variant(side: str, name: str, prefix: str | None, variants: dict[str, dict[str, dict]], where: str) -> str:
    """The one variant of ``name`` this side means, or a ConfigError saying how to name it."""
    chosen = [v for v in variants if prefix is None or v.startswith(prefix)]
    if prefix is not None and not chosen:
        raise ConfigError(f"--models {side!r}: {name} has no runs with variant {prefix!r} under {where} "
                          f"(its variants: {_describe(variants)})")
    if len(chosen) > 1:
        raise ConfigError(f"--models {side!r}: {name} has runs with {len(chosen)} different settings under {where} "
                          f"({_describe({v: variants[v] for v in chosen})}); name one as {name}@VARIANT, "
                          f"e.g. {name}@{sorted(chosen)[0]}")
    return chosen[0]


def compare_models(roots: list[Path], models: str, metrics: str | None) -> str:
    """A table: mean of A, mean of B, B − A, p (t-test), p (Wilcoxon), paired users.

    Runs are paired by (split_id, evaluation protocol, seed, user): only splits both sides ran on,
    evaluated the same way, count; the seed keeps apart the runs of a split that every seed shares (a
    published split), which would otherwise overwrite each other's values. Each side is one model with one setting (see the module docstring).
    """
    sides = [m.strip() for m in models.split(",")]
    if len(sides) != 2 or not all(sides) or sides[0] == sides[1]:
        raise ConfigError(f"--models {models!r}: name exactly two different models, e.g. pop,mf_bpr "
                          f"(or two settings of one, e.g. neumf@1a2b,neumf@3c4d)")
    where = ", ".join(map(str, roots))
    runs: dict[str, list[tuple[ResultStore, RunRecord]]] = {}
    for root in roots:
        store = ResultStore(root)
        for record in store.records():
            if record.status == "ok":
                runs.setdefault(str(record.model.get("name")), []).append((store, record))
    chosen_runs = _side_runs(sides, runs, models, where)
    _refuse_other_cold_start(chosen_runs, models)
    values = {side: _per_user_values(side_runs) for side, side_runs in chosen_runs.items()}
    a_side, b_side = sides
    chosen = ([m.strip() for m in metrics.split(",")] if metrics
              else sorted(values[a_side].keys() & values[b_side].keys()))
    _refuse_other_metric_versions(chosen_runs, chosen)
    rows = []
    for metric in chosen:
        a, b = align(values[a_side].get(metric, {}), values[b_side].get(metric, {}))
        if a.size == 0:
            rows.append([metric, "—", "—", "—", "—", "—", 0])
            continue
        t_p, w_p = paired_tests(a, b)
        rows.append([metric, f"{a.mean():.4f}", f"{b.mean():.4f}", f"{b.mean() - a.mean():+.4f}",
                     f"{t_p:.2g}", f"{w_p:.2g}", int(a.size)])
    headers = ["metric", a_side, b_side, f"{b_side} − {a_side}", "p (t-test)", "p (Wilcoxon)", "paired users"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + (
        "\n" if rows else "") + (f"\nmean over {int(np.max([r[-1] for r in rows]))} (split, seed, user) pairs" if rows else "")


def _side_runs(sides: list[str], runs: dict[str, list[tuple[ResultStore, RunRecord]]], models: str,
               where: str) -> dict[str, list[tuple[ResultStore, RunRecord]]]:
    """Each side's runs: those of its model with the one variant it names (see the module docstring)."""
    out: dict[str, list[tuple[ResultStore, RunRecord]]] = {}
    picked: dict[tuple[str, str], str] = {}
    for side in sides:
        name, _, prefix = side.partition("@")
        if name not in runs:
            raise ConfigError(f"no completed runs of {name!r} under {where}")
        variants = {variant_of(r): settings_of(r) for _, r in runs[name]}
        variant = _pick_variant(side, name, prefix or None, variants, where)
        if (name, variant) in picked:
            raise ConfigError(f"--models {models!r}: {picked[name, variant]} and {side} name the same runs "
                              f"({name}@{variant}); name two different models or settings")
        picked[name, variant] = side
        out[side] = [(store, record) for store, record in runs[name] if variant_of(record) == variant]
    return out


def _refuse_other_cold_start(chosen_runs: dict[str, list[tuple[ResultStore, RunRecord]]], models: str) -> None:
    """A ConfigError when the sides' evaluations scored other rows (``cold_start`` differs)."""
    (a_side, a), (b_side, b) = ((side, cold_start_of(side_runs[0][1])) for side, side_runs in chosen_runs.items())
    if a != b:
        raise ConfigError(f"--models {models!r}: {a_side} was evaluated with cold_start={a!r}, {b_side} with "
                          f"cold_start={b!r}: per-user values over other rows are never paired",
                          hint="compare runs evaluated with one cold_start setting")


def _refuse_other_metric_versions(chosen_runs: dict[str, list[tuple[ResultStore, RunRecord]]],
                                  metrics: list[str]) -> None:
    """A ConfigError naming each of ``metrics`` recorded with more than one version among the sides' runs."""
    seen = {side: metric_versions_seen((record for _, record in side_runs), metrics)
            for side, side_runs in chosen_runs.items()}
    differing = [m for m in metrics if len(set().union(*(versions.get(m, set()) for versions in seen.values()))) > 1]
    if differing:
        said = ", ".join(f"{m} (" + "; ".join(f"{side}: version {' and '.join(sorted(versions.get(m, {'?'})))}"
                                              for side, versions in seen.items()) + ")" for m in differing)
        raise ConfigError(f"metric definitions differ: {said}; per-user values of different versions are never "
                          "paired", hint="leave the metric out with --metrics, or rerun the runs of its older version")


def _per_user_values(side_runs: list[tuple[ResultStore, RunRecord]]) -> dict[str, dict[PairKey, float]]:
    """``{metric: {(split_id, protocol, seed, user): value}}`` of a side's runs."""
    values: dict[str, dict[PairKey, float]] = {}
    for store, record in side_runs:
        arrays = store.load_per_user(record.run_key)
        pair = (str(record.split.get("split_id")), str(record.evaluation.get("protocol")), int(record.seed))
        for metric, per_user in arrays.items():
            if metric != "users":
                values.setdefault(metric, {}).update(
                    {(*pair, int(u)): float(v) for u, v in zip(arrays["users"], per_user, strict=True)})
    return values
