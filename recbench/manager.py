"""The plugin host: built-ins first, then entry points of group ``recbench``; conflicts; lookups."""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic

import pluggy

from recbench import hookspecs
from recbench.errors import PluginError, describe_exception
from recbench.types import DatasetSpec, MetricSpec, ModelSpec, Registered, SpecT, SplitterSpec

ENTRY_POINT_GROUP = "recbench"
AUTOLOAD_ENV = "RECBENCH_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_DISTRIBUTION = "recbench"
BUILTIN_MODULES: tuple[str, ...] = (
    "recbench.builtin.datasets",
    "recbench.builtin.splitters",
    "recbench.builtin.models",
    "recbench.builtin.metrics",
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A third-party plugin that could not be loaded; it was skipped."""

    plugin: str
    distribution: str
    version: str
    error: str

    def message(self) -> str:
        return (
            f"plugin {self.plugin!r} from {self.distribution} {self.version} failed to load and was "
            f"skipped: {self.error}"
        )

    def hint(self) -> str:
        return f"fix or uninstall {self.distribution}, or pass --disable-plugin {self.plugin}"


@dataclass(frozen=True, slots=True)
class _Kind(Generic[SpecT]):
    hook: str
    spec_type: type
    label: str


KINDS: dict[str, _Kind[Any]] = {
    "datasets": _Kind("recbench_datasets", DatasetSpec, "dataset"),
    "splitters": _Kind("recbench_splitters", SplitterSpec, "splitter"),
    "models": _Kind("recbench_models", ModelSpec, "model"),
    "metrics": _Kind("recbench_metrics", MetricSpec, "metric"),
}


def _autoload_disabled() -> bool:
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() in {"1", "true", "yes"}


class PluginHost:
    """Discovers and indexes plugins.

    Args:
        disabled: entry-point or distribution names not to load (``--disable-plugin``).
        autoload: load third-party entry points; defaults to not ``RECBENCH_DISABLE_PLUGIN_AUTOLOAD``.
        extra_plugins: objects to register after the built-ins (tests and embedding applications).
    """

    def __init__(
        self,
        disabled: Iterable[str] = (),
        autoload: bool | None = None,
        extra_plugins: Iterable[tuple[str, Any]] = (),
    ) -> None:
        self._pm = pluggy.PluginManager("recbench")
        self._pm.add_hookspecs(hookspecs)
        self._origin: dict[str, tuple[str, str]] = {}
        self.load_failures: list[LoadFailure] = []
        self.disabled = frozenset(disabled)
        self._index: dict[str, dict[str, Registered[Any]]] = {}
        self._register_builtins()
        for name, plugin in extra_plugins:
            self._register(plugin, name, ("<in-process>", ""))
        if autoload if autoload is not None else not _autoload_disabled():
            self._load_entry_points()

    # -- registration -------------------------------------------------------------------------
    def _register(self, plugin: Any, name: str, origin: tuple[str, str]) -> None:
        self._pm.register(plugin, name=name)
        self._origin[name] = origin

    def _register_builtins(self) -> None:
        from recbench import __version__

        for module_name in BUILTIN_MODULES:
            module = importlib.import_module(module_name)  # a broken built-in is an error: let it raise
            self._register(module, module_name, (BUILTIN_DISTRIBUTION, __version__))

    def _load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist, version = _dist_of(ep)
            if ep.name in self.disabled or dist in self.disabled:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a third party's bug must not take the host down
                self.load_failures.append(LoadFailure(ep.name, dist, version, describe_exception(exc)))
                continue
            if self._pm.is_registered(plugin):
                continue
            self._register(plugin, ep.name, (dist, version))

    def plugin_names(self) -> list[tuple[str, str, str]]:
        """(plugin name, distribution, version) of every registered plugin."""
        return [(name, *self._origin[name]) for name, _ in self._pm.list_name_plugin()]

    # -- collection ---------------------------------------------------------------------------
    def _collect(self, kind: str) -> dict[str, Registered[Any]]:
        if kind in self._index:
            return self._index[kind]
        info = KINDS[kind]
        providers: dict[str, list[Registered[Any]]] = {}
        for impl in getattr(self._pm.hook, info.hook).get_hookimpls():
            dist, version = self._origin[impl.plugin_name]
            try:
                specs = list(impl.function() or ())
            except Exception as exc:
                if dist == BUILTIN_DISTRIBUTION:
                    raise
                self.load_failures.append(LoadFailure(impl.plugin_name, dist, version, describe_exception(exc)))
                continue
            for spec in specs:
                _check_spec(spec, info, impl.plugin_name, dist)
                entry = Registered(spec, impl.plugin_name, dist, version)
                providers.setdefault(spec.name, []).append(entry)
        for name, entries in providers.items():
            if len(entries) > 1:
                who = "; ".join(f"plugin {e.plugin!r} ({e.distribution} {e.dist_version})" for e in entries)
                raise PluginError(
                    f"{info.label} name {name!r} is provided more than once: {who}",
                    hint="uninstall one distribution or pass --disable-plugin NAME for one of them",
                )
        self._index[kind] = {name: entries[0] for name, entries in sorted(providers.items())}
        return self._index[kind]

    def all(self, kind: str) -> dict[str, Registered[Any]]:
        """Every registered spec of ``kind`` (datasets, splitters, models, metrics), by name."""
        if kind not in KINDS:
            raise PluginError(_unknown("plugin kind", kind, list(KINDS)))
        return self._collect(kind)

    def get(self, kind: str, name: str) -> Registered[Any]:
        """Look up one spec by name; an unknown name gets "did you mean" and the list."""
        specs = self.all(kind)
        if name not in specs:
            raise PluginError(
                _unknown(KINDS[kind].label, name, list(specs)),
                hint=f"run `recbench list {kind}` to see what is installed",
            )
        return specs[name]

    def dataset(self, name: str) -> Registered[DatasetSpec]:
        return self.get("datasets", name)

    def splitter(self, name: str) -> Registered[SplitterSpec]:
        return self.get("splitters", name)

    def model(self, name: str) -> Registered[ModelSpec]:
        return self.get("models", name)

    def metric(self, name: str) -> Registered[MetricSpec]:
        return self.get("metrics", name)

    # -- events -------------------------------------------------------------------------------
    def notify_run_finished(self, record: Any) -> list[str]:
        """Call every ``recbench_run_finished`` hook; returns one warning per hook that raised."""
        warnings = []
        for impl in self._pm.hook.recbench_run_finished.get_hookimpls():
            try:
                impl.function(record=record)
            except Exception as exc:
                warnings.append(f"recbench_run_finished of plugin {impl.plugin_name!r} raised: {describe_exception(exc)}")
        return warnings


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return ("<unknown distribution>", "")
    return (dist.metadata["Name"] or dist.name, dist.version)


def _check_spec(spec: Any, info: _Kind[Any], plugin: str, dist: str) -> None:
    if not isinstance(spec, info.spec_type):
        raise PluginError(
            f"plugin {plugin!r} ({dist}) yielded {type(spec).__name__} from {info.hook}; "
            f"expected recbench.{info.spec_type.__name__}"
        )
    if not _NAME_RE.match(spec.name):
        raise PluginError(
            f"plugin {plugin!r} ({dist}) registers {info.label} name {spec.name!r}: names must be lowercase "
            "letters, digits, '_', '-' or '.', without '@'"
        )


def _unknown(label: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    guess = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {label} {name!r}{guess} Known: {', '.join(known) or '(none)'}"
