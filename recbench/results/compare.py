"""``recbench compare``: two models on the same splits, per-metric deltas and paired p-values.

A side of the comparison is a model name, or ``name@variant`` where the variant is a prefix of the
hash of the run's effective settings (config and training). A name whose runs under the given
directories have more than one setting must be given with its variant: their values are never
merged, and the error lists the variants and the settings that tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tabulate import tabulate

from recbench.errors import ConfigError
from recbench.results.record import RunRecord, stable_hash
from recbench.results.significance import align, paired_tests
from recbench.results.store import ResultStore

PairKey = tuple[str, str, int]  # (split_id, evaluation protocol, user)


def settings_of(record: RunRecord) -> dict[str, dict]:
    """The run's effective settings: its model's version, config and training settings."""
    return {"model": {"version": record.model.get("version")}, "config": record.model.get("config", {}),
            "training": record.model.get("training", {})}


def variant_of(record: RunRecord) -> str:
    """Short hash of :func:`settings_of`: runs of one model with one variant share all their settings."""
    return stable_hash(settings_of(record), 8)


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

    Runs are paired by (split_id, evaluation protocol, user): only splits both sides ran on, evaluated
    the same way, count. Each side is one model with one setting (see the module docstring).
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
    values: dict[str, dict[str, dict[PairKey, float]]] = {}
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
        values[side] = {}
        for store, record in runs[name]:
            if variant_of(record) != variant:
                continue
            arrays = store.load_per_user(record.run_key)
            pair = (str(record.split.get("split_id")), str(record.evaluation.get("protocol")))
            for metric, per_user in arrays.items():
                if metric != "users":
                    values[side].setdefault(metric, {}).update(
                        {(*pair, int(u)): float(v) for u, v in zip(arrays["users"], per_user, strict=True)})
    a_side, b_side = sides
    chosen = ([m.strip() for m in metrics.split(",")] if metrics
              else sorted(values[a_side].keys() & values[b_side].keys()))
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
        "\n" if rows else "") + (f"\nmean over {int(np.max([r[-1] for r in rows]))} (split, user) pairs" if rows else "")
