"""The plugin host: built-ins first, then entry points of group ``recbench``; conflicts; lookups."""

from __future__ import annotations

import difflib
import importlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, get_args

import pluggy

from recbench import hookspecs
from recbench.errors import PluginError, describe_exception
from recbench.types import (
    FAMILIES,
    DatasetSpec,
    Feedback,
    MetricKind,
    MetricSpec,
    ModelSpec,
    Registered,
    SpecT,
    SplitterSpec,
)

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
_NAME_RULE = "names must be lowercase letters, digits, '_', '-' or '.', starting with a letter or digit, without '@'"


@dataclass(frozen=True, slots=True)
class PluginProblem:
    """A third-party plugin, or a part of it, that was skipped; everything else still works.

    Attributes:
        plugin: the entry point (or in-process) name of the plugin.
        distribution: the package that installed it.
        version: that package's version.
        skipped: what was skipped: ``""`` for the whole plugin, else e.g. ``model 'MyModel'`` or
            ``its recbench_models hook``.
        reason: what is wrong, in one line.
        kind: the plugin kind (``models``, ...) of what was skipped; ``""`` for the whole plugin.
        name: the name of the skipped spec, when it has one.
    """

    plugin: str
    distribution: str
    version: str
    skipped: str
    reason: str
    kind: str = ""
    name: str | None = None

    def subject(self) -> str:
        """``model 'MyModel' of plugin 'mine' (my-models 1.0)``, or the plugin alone."""
        source = " ".join(part for part in (self.distribution, self.version) if part)
        who = f"plugin {self.plugin!r} ({source})"
        return f"{self.skipped} of {who}" if self.skipped else who

    def message(self) -> str:
        return f"{self.subject()} was skipped: {self.reason}"

    def hint(self) -> str:
        return f"fix or uninstall {self.distribution}, or pass --disable-plugin {self.plugin}"


@dataclass(frozen=True, slots=True)
class _Kind(Generic[SpecT]):
    hook: str
    spec_type: type
    label: str
    #: the spec field whose value must be one of the given choices, e.g. a model's family
    choice_field: str | None = None
    choices: tuple[str, ...] = ()


KINDS: dict[str, _Kind[Any]] = {
    "datasets": _Kind("recbench_datasets", DatasetSpec, "dataset", "feedback", get_args(Feedback)),
    "splitters": _Kind("recbench_splitters", SplitterSpec, "splitter"),
    "models": _Kind("recbench_models", ModelSpec, "model", "family", FAMILIES),
    "metrics": _Kind("recbench_metrics", MetricSpec, "metric", "kind", get_args(MetricKind)),
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
        #: third-party plugins and specs that were skipped, in the order found
        self.problems: list[PluginProblem] = []
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
                reason = f"failed to load: {describe_exception(exc)}"
                self.problems.append(PluginProblem(ep.name, dist, version, "", reason))
                continue
            if self._pm.is_registered(plugin):
                continue
            self._register(plugin, ep.name, (dist, version))

    def plugin_names(self) -> list[tuple[str, str, str]]:
        """(plugin name, distribution, version) of every registered plugin."""
        return [(name, *self._origin[name]) for name, _ in self._pm.list_name_plugin()]

    def check_all(self) -> list[PluginProblem]:
        """Collect every kind now, so :attr:`problems` holds every skipped plugin and spec."""
        for kind in KINDS:
            self.all(kind)
        return self.problems

    # -- problems -----------------------------------------------------------------------------
    def _skip(self, kind: str, origin: tuple[str, str, str], skipped: str, reason: str,
              name: str | None = None) -> None:
        """Record a skipped third-party plugin or spec (``origin``: plugin, distribution, version).

        A built-in's problem is our bug: it raises.
        """
        problem = PluginProblem(*origin, skipped, reason, kind, name)
        if problem.distribution == BUILTIN_DISTRIBUTION:
            raise PluginError(f"{problem.subject()}: {reason}")
        self.problems.append(problem)

    # -- collection ---------------------------------------------------------------------------
    def _collect(self, kind: str) -> dict[str, Registered[Any]]:
        if kind in self._index:
            return self._index[kind]
        providers: dict[str, list[Registered[Any]]] = {}
        for impl in getattr(self._pm.hook, KINDS[kind].hook).get_hookimpls():
            for entry in self._specs_of(kind, impl):
                providers.setdefault(entry.name, []).append(entry)
        kept = {name: self._one_provider(kind, entries) for name, entries in sorted(providers.items())}
        self._index[kind] = {name: entry for name, entry in kept.items() if entry is not None}
        return self._index[kind]

    def _specs_of(self, kind: str, impl: Any) -> list[Registered[Any]]:
        """The valid specs one plugin's hook yields; a hook that raises or a bad spec is skipped."""
        info, origin = KINDS[kind], (impl.plugin_name, *self._origin[impl.plugin_name])
        try:
            specs = list(impl.function() or ())
        except Exception as exc:
            if origin[1] == BUILTIN_DISTRIBUTION:
                raise
            self._skip(kind, origin, f"its {info.hook} hook", f"it raised {describe_exception(exc)}")
            return []
        out = []
        for spec in specs:
            problem = _spec_problem(spec, info)
            if problem is None:
                out.append(Registered(spec, *origin))
                continue
            name = getattr(spec, "name", None)
            name = name if isinstance(name, str) else None
            what = f"{info.label} {name!r}" if name is not None else f"a {type(spec).__name__} from {info.hook}"
            self._skip(kind, origin, what, problem, name)
        return out

    def _one_provider(self, kind: str, entries: list[Registered[Any]]) -> Registered[Any] | None:
        """The provider of a name: the only one; with several, the built-in is kept and the others skipped."""
        if len(entries) == 1:
            return entries[0]
        label = KINDS[kind].label
        who = "; ".join(f"plugin {e.plugin!r} ({e.distribution} {e.dist_version})" for e in entries)
        builtins = [e for e in entries if e.distribution == BUILTIN_DISTRIBUTION]
        kept = builtins[0] if len(builtins) == 1 else None
        reason = f"{label} name {entries[0].name!r} is provided more than once: {who}"
        for entry in entries:
            if entry is not kept:
                self._skip(kind, (entry.plugin, entry.distribution, entry.dist_version), f"{label} {entry.name!r}",
                           reason + ("; the built-in one is kept" if kept else ""), entry.name)
        return kept

    def all(self, kind: str) -> dict[str, Registered[Any]]:
        """Every registered spec of ``kind`` (datasets, splitters, models, metrics), by name."""
        if kind not in KINDS:
            raise PluginError(_unknown("plugin kind", kind, list(KINDS)))
        return self._collect(kind)

    def get(self, kind: str, name: str) -> Registered[Any]:
        """Look up one spec by name; a skipped one says why, an unknown one gets "did you mean" and the list."""
        specs = self.all(kind)
        if name in specs:
            return specs[name]
        label = KINDS[kind].label
        skipped = [p for p in self.problems if p.kind == kind and (p.name or "").lower() == name.lower()]
        if skipped:
            raise PluginError(f"{label} {name!r} is not available: {skipped[0].message()}", hint=skipped[0].hint())
        unnamed = [p.subject() for p in self.problems if p.kind in ("", kind) and p.name is None]
        maybe = f"; skipped, so it may be theirs: {', '.join(unnamed)}" if unnamed else ""
        raise PluginError(
            _unknown(label, name, list(specs)) + maybe,
            hint=f"run `recbench list {kind}` to see what is installed"
            + (", and `recbench plugins` to see why some were skipped" if unnamed else ""),
        )

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


def _spec_problem(spec: Any, info: _Kind[Any]) -> str | None:
    """What is wrong with a yielded spec, in one line; None when it can be registered."""
    if not isinstance(spec, info.spec_type):
        return f"{info.hook} must yield recbench.{info.spec_type.__name__}, not {type(spec).__name__}"
    if not isinstance(spec.name, str) or not _NAME_RE.match(spec.name):
        return f"{info.label} name {spec.name!r}: {_NAME_RULE}"
    if info.choice_field is not None and getattr(spec, info.choice_field) not in info.choices:
        return f"{info.choice_field} {getattr(spec, info.choice_field)!r} is not one of {', '.join(info.choices)}"
    return None


def _unknown(label: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    guess = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {label} {name!r}{guess} Known: {', '.join(known) or '(none)'}"
