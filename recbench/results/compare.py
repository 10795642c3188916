"""``recbench compare``: two models on the same splits, per-metric deltas and paired p-values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tabulate import tabulate

from recbench.errors import ConfigError
from recbench.results.significance import align, paired_tests
from recbench.results.store import ResultStore


def compare_models(roots: list[Path], models: str, metrics: str | None) -> str:
    """A table per comparable split protocol: mean of A, mean of B, B − A, p (t-test), p (Wilcoxon).

    Runs are paired by (split_id, user): only splits both models ran on count.
    """
    names = [m.strip() for m in models.split(",")]
    if len(names) != 2:
        raise ConfigError(f"--models {models!r}: name exactly two models, e.g. pop,mf_bpr")
    values: dict[str, dict[str, dict[tuple[str, int], float]]] = {names[0]: {}, names[1]: {}}
    for root in roots:
        store = ResultStore(root)
        for record in store.records():
            name = record.model.get("name")
            if name not in values or record.status != "ok":
                continue
            arrays = store.load_per_user(record.run_key)
            for metric, per_user in arrays.items():
                if metric == "users":
                    continue
                target = values[name].setdefault(metric, {})
                target.update({(record.split["split_id"], int(u)): float(v)
                               for u, v in zip(arrays["users"], per_user, strict=True)})
    missing = [n for n in names if not values[n]]
    if missing:
        raise ConfigError(f"no completed runs of {missing} under {', '.join(map(str, roots))}")
    chosen = [m.strip() for m in metrics.split(",")] if metrics else sorted(values[names[0]].keys() & values[names[1]].keys())
    rows = []
    for metric in chosen:
        a, b = align(values[names[0]].get(metric, {}), values[names[1]].get(metric, {}))
        if a.size == 0:
            rows.append([metric, "—", "—", "—", "—", "—", 0])
            continue
        t_p, w_p = paired_tests(a, b)
        rows.append([metric, f"{a.mean():.4f}", f"{b.mean():.4f}", f"{b.mean() - a.mean():+.4f}",
                     f"{t_p:.2g}", f"{w_p:.2g}", int(a.size)])
    headers = ["metric", names[0], names[1], f"{names[1]} − {names[0]}", "p (t-test)", "p (Wilcoxon)", "paired users"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + (
        "\n" if rows else "") + (f"\nmean over {int(np.max([r[-1] for r in rows]))} (split, user) pairs" if rows else "")
