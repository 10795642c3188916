"""Declarative, reported preprocessing: a list of steps a run configuration names per dataset.

Example (TOML, one dataset of a sweep)::

    preprocess = [
        {step = "drop_missing"},
        {step = "deduplicate", keep = "latest"},
        {step = "rating_range", min = 1, max = 5},
        {step = "implicit", threshold = 4},
        {step = "kcore", users = 5, items = 5},
        {step = "features", user = ["age", "gender", "occupation"], item = ["genres"],
         bins = {age = [18, 25, 35, 45, 50, 56]}},
        {step = "compact"},
    ]

:func:`preprocess` validates *every* step before it runs any (a typo in the last step costs no
time), applies them in order and returns one :class:`StepReport` per step with the rows it removed.

Steps only remove rows; the vocabularies, ``n_users``/``n_items`` and the per-user / per-item side
features stay indexed as loaded, so a user or item may be left with no rows. Only the ``compact``
step re-indexes users and items (vocabularies, side features and published candidate sets follow):
``kcore`` and ``implicit`` never compact implicitly, so that indices stay comparable with the raw
data until a configuration asks for it. ``features`` removes no rows: it keeps the named side
features and encodes them (see :func:`_features`). Every step is vectorised with numpy; none loops over rows, users or items
(``kcore`` loops over rounds until a fixpoint).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from recbench.data.interactions import Interactions, Vocabulary
from recbench.errors import ConfigError, DataError

_REQUIRED: Any = object()


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one preprocessing step did.

    Attributes:
        step: the step's name, e.g. ``kcore``.
        params: the step's parameters with defaults filled in (what actually ran).
        rows_before: rows entering the step.
        rows_after: rows leaving the step.
        users_after: users with at least one row after the step (not the vocabulary size, which
            only ``compact`` changes).
        items_after: items with at least one row after the step.
        rounds: for ``kcore``, the number of passes that removed rows until the fixpoint
            (0: the data already was a core); None for other steps.
        features: for ``features``, what each kept feature became, keyed ``user.NAME`` /
            ``item.NAME`` (``kind``, ``cardinality``, and ``missing`` where some values were
            missing), plus ``dropped``; None for other steps.
    """

    step: str
    params: dict[str, Any]
    rows_before: int
    rows_after: int
    users_after: int
    items_after: int
    rounds: int | None = None
    features: dict[str, Any] | None = None

    @property
    def removed(self) -> int:
        """Rows this step removed."""
        return self.rows_before - self.rows_after

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, for run records."""
        out = {**asdict(self), "removed": self.removed}
        if self.features is None:
            del out["features"]  # records of the other steps keep their shape
        return out

    def describe(self) -> str:
        """One line, e.g. ``kcore(users=5, items=5): 100000 -> 99287 rows (-713), 943 users, 1349 items``."""
        line = (
            f"{_call(self.step, self.params)}: {self.rows_before} -> {self.rows_after} rows (-{self.removed}), "
            f"{self.users_after} users, {self.items_after} items"
        )
        if self.rounds is not None:
            line += f", {self.rounds} round{'s' if self.rounds != 1 else ''}"
        if self.features is not None:
            kept = [f"{name} ({info['kind']}, {info['cardinality']})" for name, info in self.features.items()
                    if name != "dropped"]
            line += f"; kept {', '.join(kept) or 'no features'}"
            if self.features.get("dropped"):
                line += f"; dropped {', '.join(self.features['dropped'])}"
        return line


def describe_reports(reports: Sequence[StepReport]) -> str:
    """One line per step (see :meth:`StepReport.describe`); empty string for no steps."""
    return "\n".join(report.describe() for report in reports)


# -- step definitions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Param:
    """One step parameter: its kind (``int``, ``number``, ``choice``, ``names`` or ``bins``), default and
    constraint."""

    kind: str
    default: Any = _REQUIRED
    minimum: int | None = None
    choices: tuple[str, ...] = ()
    example: str = ""

    def expectation(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(json.dumps(c) for c in self.choices)
        if self.kind == "int":
            return "an integer" + (f" >= {self.minimum}" if self.minimum is not None else "")
        if self.kind == "names":
            return "a list of distinct feature names"
        if self.kind == "bins":
            return "a table of feature name = [increasing finite numbers]"
        return "a finite number"


@dataclass(frozen=True, slots=True)
class _Result:
    """A step's outcome: a row mask to keep, or replacement data (``compact``), and kcore's rounds."""

    keep: np.ndarray | None = None
    data: Interactions | None = None
    rounds: int | None = None
    features: dict[str, Any] | None = None


_StepFn = Callable[[Interactions, Mapping[str, Any], "_Where"], _Result]


@dataclass(frozen=True, slots=True)
class _Step:
    name: str
    run: _StepFn
    params: Mapping[str, _Param] = field(default_factory=dict)
    needs_rating: bool = False
    loosen: str = "remove the step"  # the fix quoted when the step leaves no rows
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    check_data: Callable[[Interactions, Mapping[str, Any]], str | None] | None = None  # before any step runs


@dataclass(frozen=True, slots=True)
class _Where:
    """Where a step sits, for messages: the dataset, its position in the list and the original rows."""

    dataset: str
    position: int
    origin: np.ndarray  # original row number (in the loaded data) of every current row

    def label(self, step: str, params: Mapping[str, Any]) -> str:
        return f"dataset {self.dataset}: preprocess[{self.position}] {_call(step, params)}"


def _nan_rows(column: np.ndarray | None) -> np.ndarray | bool:
    if column is None or not np.issubdtype(column.dtype, np.floating):
        return False
    return np.isnan(column)


def _drop_missing(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    missing = np.zeros(len(data), dtype=bool) | _nan_rows(data.rating) | _nan_rows(data.timestamp)
    return _Result(keep=~missing)


def _deduplicate(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    keys = data.pair_keys()
    n = len(data)
    keep_mode = params["keep"]
    if keep_mode == "first":
        _, chosen = np.unique(keys, return_index=True)
    elif keep_mode == "last" or data.timestamp is None:
        _, from_end = np.unique(keys[::-1], return_index=True)
        chosen = n - 1 - from_end
    else:  # latest: largest timestamp, ties -> the later row
        order = np.lexsort((np.arange(n), data.timestamp, keys))
        sorted_keys = keys[order]
        last_of_group = np.append(sorted_keys[1:] != sorted_keys[:-1], True)
        chosen = order[last_of_group]
    keep = np.zeros(n, dtype=bool)
    keep[chosen] = True
    return _Result(keep=keep)


def _rating_range(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    rating = data.rating
    assert rating is not None  # checked before any step runs
    inside = np.ones(len(data), dtype=bool)  # NaN ratings are outside every range
    if "min" in params:
        inside &= rating >= params["min"]
    if "max" in params:
        inside &= rating <= params["max"]
    if params["action"] == "error" and not inside.all():
        bad = np.flatnonzero(~inside)
        row = int(bad[0])
        bounds = f"[{params.get('min', '-inf')}, {params.get('max', 'inf')}]"
        raise DataError(
            f"{where.label('rating_range', params)}: row {int(where.origin[row])} of the loaded data has rating "
            f"{float(rating[row])!r}, outside {bounds} ({bad.size} rows are outside); fix the data, widen "
            'min/max, or set action = "drop" to drop such rows',
        )
    return _Result(keep=inside)


def _implicit(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    assert data.rating is not None  # checked before any step runs
    return _Result(keep=data.rating >= params["threshold"])


def kcore_mask(user_idx: np.ndarray, item_idx: np.ndarray, min_user: int, min_item: int) -> tuple[np.ndarray, int]:
    """Rows of the (``min_user``, ``min_item``)-core, and the number of passes that removed rows.

    Each pass counts every user's and item's remaining rows and drops the rows of users with fewer
    than ``min_user`` or items with fewer than ``min_item``; passes repeat until none removes a row.
    The result is the unique largest subset in which every remaining user and item meets its bound.

    The counts are kept up to date by subtracting the dropped rows (usually few) instead of
    recounting, and each pass touches only boolean per-row arrays: no row-index or int64 per-row
    temporaries.
    """
    from recbench.data.keys import count_per_index

    keep = np.ones(user_idx.shape[0], dtype=bool)
    user_count = count_per_index(user_idx)
    item_count = count_per_index(item_idx)
    rounds = 0
    while True:
        drop = (user_count < min_user)[user_idx]
        drop |= (item_count < min_item)[item_idx]
        drop &= keep
        dropped = np.flatnonzero(drop)
        if not dropped.size:
            return keep, rounds
        rounds += 1
        keep[dropped] = False
        user_count -= np.bincount(user_idx[dropped], minlength=user_count.shape[0])
        item_count -= np.bincount(item_idx[dropped], minlength=item_count.shape[0])
        if not keep.any():
            return keep, rounds


def _kcore(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    keep, rounds = kcore_mask(data.user_idx, data.item_idx, params["users"], params["items"])
    return _Result(keep=keep, rounds=rounds)


def _slice_features(features: Mapping[str, np.ndarray], present: np.ndarray) -> dict[str, np.ndarray]:
    return {name: np.asarray(values)[present] for name, values in features.items()}


def _new_index(present: np.ndarray, size: int) -> np.ndarray:
    """Old index -> new index after compaction; -1 for indices that are dropped."""
    lookup = np.full(size, -1, dtype=np.int64)
    lookup[present] = np.arange(present.size)
    return lookup


def _compact_candidates(data: Interactions, users: np.ndarray, items: np.ndarray, where: _Where) -> dict[str, Any]:
    """Published candidate sets (``fixed_candidates``, if the data has them) re-indexed like the rows."""
    candidates = getattr(data, "fixed_candidates", None)
    if candidates is None:
        return {}
    users_U = _new_index(users, data.n_users)[candidates[0]]
    items_UxC = _new_index(items, data.n_items)[candidates[1]]
    lost_users, lost_items = int((users_U < 0).sum()), int(np.unique(candidates[1][items_UxC < 0]).size)
    if lost_users or lost_items:
        raise DataError(
            f"{where.label('compact', {})} would drop {lost_users} users and {lost_items} items that the published "
            "candidate sets reference; remove compact (and the filtering steps) for this dataset"
        )
    return {"fixed_candidates": (users_U.astype(np.int32), items_UxC.astype(np.int32))}


def _compact(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    users, user_idx = np.unique(data.user_idx, return_inverse=True)
    items, item_idx = np.unique(data.item_idx, return_inverse=True)
    compacted = replace(
        data,
        user_idx=user_idx.reshape(-1),
        item_idx=item_idx.reshape(-1),
        n_users=int(users.size),
        n_items=int(items.size),
        users=None if data.users is None else Vocabulary(data.users.raw_ids[users]),
        items=None if data.items is None else Vocabulary(data.items.raw_ids[items]),
        user_features=_slice_features(data.user_features, users),
        item_features=_slice_features(data.item_features, items),
        **_compact_candidates(data, users, items, where),
    )
    return _Result(data=compacted)


def is_multi_hot(values: np.ndarray) -> bool:
    """A 2-D matrix holding only 0 and 1 (booleans or integers), e.g. genres."""
    return values.ndim == 2 and (values.dtype == bool or (values.dtype.kind in "iu" and not (
        np.count_nonzero(values) - np.count_nonzero(values == 1))))


def missing_categories(values: np.ndarray) -> np.ndarray:
    """Where a 1-D categorical feature is missing: negative integers (the RecBole reader's -1), None,
    NaN or empty strings."""
    if values.dtype.kind in "iu":
        return values < 0
    if values.dtype.kind == "b":
        return np.zeros(values.shape, bool)
    if values.dtype.kind == "f":
        return np.isnan(values)
    return np.asarray(pd.isna(values) | (pd.Series(values) == "").to_numpy(), bool)


def _encode_feature(values: np.ndarray, edges: Sequence[float] | None) -> tuple[np.ndarray, dict[str, Any]]:
    """One side feature -> (encoded array, report entry).

    - 2-D 0/1 matrices (multi-hot, e.g. genres) stay as int8; other 2-D arrays stay as float32.
    - With ``edges`` (the ``bins`` option): a numeric feature becomes bucket codes ``0..len(edges)``;
      bucket ``k`` holds ``edges[k-1] <= x < edges[k]``; NaN gets its own last code.
    - Floats without ``edges`` stay numeric (float32).
    - Anything else (integers, booleans, strings) is categorical: dense int32 codes ``0..C-1`` over
      the distinct values in sorted order; missing values (negative integers, as the RecBole reader
      writes them, or None / empty strings) share one extra last code.
    """
    if values.ndim == 2:
        if is_multi_hot(values):
            return values.astype(np.int8), {"kind": "multi-hot", "cardinality": int(values.shape[1])}
        return values.astype(np.float32), {"kind": "matrix", "cardinality": int(values.shape[1])}
    if edges is not None:
        numeric = values.astype(np.float64)
        missing = np.isnan(numeric)
        codes = np.searchsorted(np.asarray(edges, np.float64), numeric, side="right").astype(np.int32)
        codes[missing] = len(edges) + 1
        entry = {"kind": "bucketised", "cardinality": len(edges) + 1 + int(missing.any()), "bins": list(edges)}
        return codes, {**entry, **({"missing": int(missing.sum())} if missing.any() else {})}
    if values.dtype.kind == "f":
        finite = values[~np.isnan(values)]
        return values.astype(np.float32), {"kind": "numeric", "cardinality": int(np.unique(finite).size)}
    missing = missing_categories(values)
    distinct, codes = np.unique(values[~missing], return_inverse=True)
    out = np.full(values.shape, distinct.size, np.int32)
    out[~missing] = codes.reshape(-1)
    entry: dict[str, Any] = {"kind": "categorical", "cardinality": int(distinct.size + missing.any())}
    if missing.any():
        entry["missing"] = int(missing.sum())
    return out, entry


def _feature_problem(data: Interactions, params: Mapping[str, Any]) -> str | None:
    """Names that are not features of the data, and bins on features that cannot be bucketised."""
    for side in ("user", "item"):
        available = getattr(data, f"{side}_features")
        for name in params.get(side, ()):
            if name not in available:
                return (f"{_unknown(side + ' feature', name, sorted(available))}"
                        if available else f"{side} feature {name!r}: the data has no {side} features")
            edges = params.get("bins", {}).get(name)
            values = np.asarray(available[name])
            if edges is not None and (values.ndim != 1 or values.dtype.kind not in "iuf"):
                return (f"bins for {side} feature {name!r}: it is not a numeric column "
                        f"({values.dtype}, shape {values.shape}); remove its bins")
    return None


def _features(data: Interactions, params: Mapping[str, Any], where: _Where) -> _Result:
    """Keep the named side features, encoded (see :func:`_encode_feature`); rows are untouched."""
    problem = _feature_problem(data, params)  # checked before any step ran; an earlier features step may drop some
    if problem:
        raise ConfigError(f"{where.label('features', params)}: {problem}")
    report: dict[str, Any] = {}
    kept: dict[str, dict[str, np.ndarray]] = {}
    dropped: list[str] = []
    for side in ("user", "item"):
        available = getattr(data, f"{side}_features")
        kept[side] = {}
        for name in params.get(side, ()):
            encoded, entry = _encode_feature(np.asarray(available[name]), params.get("bins", {}).get(name))
            kept[side][name] = encoded
            report[f"{side}.{name}"] = entry
        dropped += [f"{side}.{name}" for name in available if name not in kept[side]]
    report["dropped"] = dropped
    return _Result(data=replace(data, user_features=kept["user"], item_features=kept["item"]), features=report)


def _check_features(params: Mapping[str, Any]) -> str | None:
    if not params.get("user") and not params.get("item"):
        return 'name the features to keep, e.g. user = ["age", "gender"], item = ["genres"]'
    named = set(params.get("user", ())) | set(params.get("item", ()))
    stray = [name for name in params.get("bins", {}) if name not in named]
    if stray:
        return f"bins for {', '.join(repr(n) for n in stray)}, which is not in user or item; add it there or remove its bins"
    return None


def _check_range(params: Mapping[str, Any]) -> str | None:
    if "min" not in params and "max" not in params:
        return "needs min, max or both, e.g. min = 1, max = 5"
    if "min" in params and "max" in params and params["min"] > params["max"]:
        return f"min = {params['min']!r} is greater than max = {params['max']!r}; swap them"
    return None


_STEPS: dict[str, _Step] = {
    step.name: step
    for step in (
        _Step("drop_missing", _drop_missing, loosen="every rating or timestamp is missing: check the data's files"),
        _Step(
            "deduplicate", _deduplicate,
            {"keep": _Param("choice", "latest", choices=("latest", "first", "last"), example='keep = "latest"')},
        ),
        _Step(
            "rating_range", _rating_range,
            {
                "min": _Param("number", None, example="min = 1"),
                "max": _Param("number", None, example="max = 5"),
                "action": _Param("choice", "drop", choices=("drop", "error"), example='action = "drop"'),
            },
            needs_rating=True, check=_check_range,
            loosen="use a looser setting: widen min/max to the data's rating scale",
        ),
        _Step(
            "implicit", _implicit, {"threshold": _Param("number", example="threshold = 4")},
            needs_rating=True, loosen="use a looser setting: a lower threshold",
        ),
        _Step(
            "kcore", _kcore,
            {
                "users": _Param("int", 5, minimum=1, example="users = 5"),
                "items": _Param("int", 5, minimum=1, example="items = 5"),
            },
            loosen="use a looser setting: lower users and/or items (1 disables a side)",
        ),
        _Step(
            "features", _features,
            {
                "user": _Param("names", None, example='user = ["age", "gender", "occupation"]'),
                "item": _Param("names", None, example='item = ["genres"]'),
                "bins": _Param("bins", None, example="bins = {age = [18, 25, 35, 45, 50, 56]}"),
            },
            check=_check_features, check_data=_feature_problem,
        ),
        _Step("compact", _compact),
    )
}

#: Names of the known preprocessing steps, in the order they usually run.
STEP_NAMES: tuple[str, ...] = tuple(_STEPS)


# -- validation -----------------------------------------------------------------------------------


def _call(step: str, params: Mapping[str, Any]) -> str:
    """``kcore(users=5, items=5)``; strings in TOML's double quotes."""
    args = ", ".join(f"{k}={json.dumps(v) if isinstance(v, str | list | tuple | dict) else repr(v)}"
                     for k, v in params.items())
    return f"{step}({args})"


def _unknown(kind: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    guess = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "."
    return f"unknown {kind} {name!r}{guess} Known: {', '.join(known) or '(none)'}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _value_ok(spec: _Param, value: Any) -> bool:
    if spec.kind == "choice":
        return isinstance(value, str) and value in spec.choices
    if spec.kind == "names":
        return (isinstance(value, Sequence) and not isinstance(value, str)
                and all(isinstance(v, str) and v for v in value) and len(set(value)) == len(value))
    if spec.kind == "bins":
        return isinstance(value, Mapping) and all(
            isinstance(edges, Sequence) and not isinstance(edges, str) and len(edges) > 0
            and all(_finite(e) for e in edges) and all(a < b for a, b in zip(edges, edges[1:]))
            for edges in value.values()
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if spec.kind == "int":
        return isinstance(value, int) and (spec.minimum is None or value >= spec.minimum)
    return math.isfinite(value)


def _resolve(entry: Any, where: str) -> tuple[str, dict[str, Any]]:
    """One step entry (a table with ``step``, or a bare name) -> (name, params with defaults)."""
    if isinstance(entry, str):
        entry = {"step": entry}
    if not isinstance(entry, Mapping) or not isinstance(entry.get("step"), str):
        raise ConfigError(
            f"{where}: expected a table with a 'step' name, e.g. {{step = \"kcore\", users = 5}}, got {entry!r}"
        )
    name = entry["step"].lower()
    if name not in _STEPS:
        raise ConfigError(f"{where}: {_unknown('preprocessing step', name, STEP_NAMES)}")
    step = _STEPS[name]
    given = {k: v for k, v in entry.items() if k != "step"}
    for key, value in given.items():
        if key not in step.params:
            known = list(step.params) or ["(none: this step takes no parameters)"]
            raise ConfigError(f"{where} ({name}): {_unknown('parameter', key, known)}; got {key} = {value!r}")
        spec = step.params[key]
        if not _value_ok(spec, value):
            raise ConfigError(
                f"{where} ({name}): {key} = {value!r} is invalid: expected {spec.expectation()}, e.g. {spec.example}"
            )
    params: dict[str, Any] = {}
    for key, spec in step.params.items():
        value = given.get(key, spec.default)
        if value is _REQUIRED:
            raise ConfigError(
                f"{where} ({name}): missing parameter {key!r} ({spec.expectation()}), e.g. {spec.example}"
            )
        if value is not None:
            params[key] = value
    problem = step.check(params) if step.check else None
    if problem:
        raise ConfigError(f"{where} ({name}): {problem}")
    return name, params


def validate_steps(steps: Sequence[Any], where: str = "preprocess") -> list[tuple[str, dict[str, Any]]]:
    """Check a step list without data; returns ``(name, params with defaults)`` per step.

    Args:
        steps: the configured list, each a mapping with ``step`` and the step's parameters (a bare
            string is shorthand for a step without parameters).
        where: prefix for messages, e.g. ``"sweep.toml: datasets[0].preprocess"``.

    Raises:
        ConfigError: naming the step, the parameter, the bad value and the fix.
    """
    if isinstance(steps, str | Mapping) or not isinstance(steps, Sequence):
        raise ConfigError(f"{where}: expected a list of steps, e.g. [{{step = \"kcore\"}}], got {steps!r}")
    return [_resolve(entry, f"{where}[{i}]") for i, entry in enumerate(steps)]


def _check_columns(data: Interactions, plan: Sequence[tuple[str, dict[str, Any]]]) -> None:
    if data.rating is not None:
        return
    for i, (name, _) in enumerate(plan):
        if _STEPS[name].needs_rating:
            raise ConfigError(
                f"dataset {data.name}: preprocess[{i}] ({name}) needs ratings, but the data has no rating column",
                hint=f"remove the {name} step for this dataset",
            )


# -- running --------------------------------------------------------------------------------------


def _active(column: np.ndarray, size: int) -> int:
    from recbench.data.keys import count_per_index  # np.bincount copies int32 indices to int64 first

    return int(np.count_nonzero(count_per_index(column, size)))


def preprocess(data: Interactions, steps: Sequence[Mapping[str, Any]]) -> tuple[Interactions, list[StepReport]]:
    """Validate every step, then apply them in order.

    Args:
        data: the loaded dataset.
        steps: the configured step list (see the module docstring and :func:`validate_steps`).

    Returns:
        The preprocessed data and one :class:`StepReport` per step.

    Raises:
        ConfigError: an unknown step, a bad parameter, a step that needs a column the data lacks, or
            a ``features`` step naming a feature the data lacks; raised before any step runs.
        DataError: a step left no rows (naming the dataset, the step and its parameters), or
            ``rating_range`` with ``action = "error"`` found a rating outside the range.
    """
    plan = validate_steps(steps, f"dataset {data.name}: preprocess")
    _check_columns(data, plan)
    for i, (name, params) in enumerate(plan):
        problem = _STEPS[name].check_data(data, params) if _STEPS[name].check_data else None
        if problem:
            raise ConfigError(f"dataset {data.name}: preprocess[{i}] ({name}): {problem}")
    if plan and not len(data):
        raise DataError(f"dataset {data.name}: has no rows to preprocess", hint="check the dataset's files")
    origin = np.arange(len(data))
    reports: list[StepReport] = []
    for position, (name, params) in enumerate(plan):
        where = _Where(data.name, position, origin)
        rows_before = len(data)
        result = _STEPS[name].run(data, params, where)
        if result.keep is not None:
            origin = origin[result.keep]
            where = _Where(data.name, position, origin)  # drops the old origin before the new columns exist
            data = data.take(result.keep)
        elif result.data is not None:
            data = result.data
        if not len(data):
            raise DataError(
                f"{where.label(name, params)} removed all {rows_before} remaining rows; {_STEPS[name].loosen}",
            )
        reports.append(StepReport(
            step=name, params=dict(params), rows_before=rows_before, rows_after=len(data),
            users_after=_active(data.user_idx, data.n_users), items_after=_active(data.item_idx, data.n_items),
            rounds=result.rounds, features=result.features,
        ))
    return data, reports
