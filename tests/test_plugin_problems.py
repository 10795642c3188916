"""A bad third-party plugin or spec is reported and skipped; built-ins and other plugins keep working."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import recbench
from recbench.errors import PluginError
from recbench.manager import PluginHost
from tests.test_manager import _cli, _fake_distribution


def _model(name: str, family: str = "pairwise") -> recbench.ModelSpec:
    return recbench.ModelSpec(name=name, version="1", family=family, description="", build=lambda ctx: None)


class _Models:
    def __init__(self, *specs: recbench.ModelSpec) -> None:
        self.specs = specs

    @recbench.hookimpl
    def recbench_models(self):
        yield from self.specs


def test_a_bad_name_skips_that_spec_only() -> None:
    host = PluginHost(autoload=False, extra_plugins=[("mine", _Models(_model("MyModel"), _model("good_one")))])
    assert {"pop", "mf_bpr", "good_one"} <= set(host.all("models"))
    assert host.model("pop").distribution == "recbench"
    [problem] = host.problems
    assert problem.message().startswith("model 'MyModel' of plugin 'mine' (<in-process>) was skipped: ")
    assert "lowercase" in problem.message() and "--disable-plugin mine" in problem.hint()


def test_asking_for_a_skipped_spec_says_why() -> None:
    host = PluginHost(autoload=False, extra_plugins=[("mine", _Models(_model("MyModel")))])
    with pytest.raises(PluginError) as info:
        host.model("mymodel")  # sweep files lowercase names
    assert str(info.value).startswith("model 'mymodel' is not available: model 'MyModel' of plugin 'mine'")
    assert "lowercase" in str(info.value)


@pytest.mark.parametrize(("hook", "spec", "message"), [
    ("recbench_models", _model("graphy", family="graph"),
     "model 'graphy' of plugin 'odd' (<in-process>) was skipped: family 'graph' is not one of rating, pointwise"),
    ("recbench_metrics", recbench.MetricSpec(name="odd_metric", version="1", description="", fn=lambda b, k: 0,
                                             kind="accuracy"),
     "metric 'odd_metric' of plugin 'odd' (<in-process>) was skipped: kind 'accuracy' is not one of ranking, rating"),
    ("recbench_datasets", recbench.DatasetSpec(name="odd_data", version="1", description="", load=lambda c: None,
                                               feedback="implicitly"),
     "dataset 'odd_data' of plugin 'odd' (<in-process>) was skipped: feedback 'implicitly' is not one of implicit"),
])
def test_unknown_family_kind_or_feedback_is_skipped(hook: str, spec: object, message: str) -> None:
    plugin = type("Odd", (), {hook: staticmethod(recbench.hookimpl(lambda: iter([spec])))})()
    host = PluginHost(autoload=False, extra_plugins=[("odd", plugin)])
    kind = hook.removeprefix("recbench_")
    assert spec.name not in host.all(kind) and len(host.all(kind)) > 3
    assert host.problems[0].message().startswith(message)


def test_a_hook_that_raises_skips_that_hook_and_lookups_mention_it() -> None:
    class HalfBroken:
        @recbench.hookimpl
        def recbench_models(self):
            raise ValueError("no models today")

        @recbench.hookimpl
        def recbench_datasets(self):
            yield recbench.DatasetSpec(name="half_data", version="1", description="", load=lambda c: None)

    host = PluginHost(autoload=False, extra_plugins=[("half", HalfBroken())])
    assert "half_data" in host.all("datasets") and "pop" in host.all("models")
    assert host.problems[0].message() == ("its recbench_models hook of plugin 'half' (<in-process>) was skipped: "
                                          "it raised ValueError: no models today")
    with pytest.raises(PluginError, match="skipped, so it may be theirs: its recbench_models hook of plugin 'half'"):
        host.model("half_model")


def test_builtin_spec_errors_stay_loud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad_builtin.py").write_text(textwrap.dedent("""
        import recbench

        @recbench.hookimpl
        def recbench_models():
            yield recbench.ModelSpec(name="Shouty", version="1", family="pairwise", description="", build=None)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("recbench.manager.BUILTIN_MODULES", ("recbench.builtin.models", "bad_builtin"))
    host = PluginHost(autoload=False)
    with pytest.raises(PluginError, match=r"^model 'Shouty' of plugin 'bad_builtin' \(recbench 0.*\): .*lowercase"):
        host.all("models")


def test_builtin_duplicates_stay_loud() -> None:
    host = PluginHost(autoload=False)
    host._register(_Models(_model("pop")), "recbench.builtin.more_models", ("recbench", recbench.__version__))
    with pytest.raises(PluginError, match="model name 'pop' is provided more than once"):
        host.all("models")


_BAD_NAME_PLUGIN = """
    import recbench

    @recbench.hookimpl
    def recbench_models():
        yield recbench.ModelSpec(name="MyModel", version="1", family="pairwise", description="", build=None)
"""


def test_installed_plugin_with_a_bad_name_leaves_every_other_model_working(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "my-models", "mine", "my_models_mod", _BAD_NAME_PLUGIN)
    listing = _cli(["list", "models"], tmp_path)
    assert listing.returncode == 3 and "mf_bpr" in listing.stdout and "example_biased_mf" in listing.stdout
    assert ("recbench: warning: model 'MyModel' of plugin 'mine' (my-models 9.9) was skipped: model name "
            "'MyModel': names must be lowercase") in listing.stderr
    assert "hint: fix or uninstall my-models, or pass --disable-plugin mine" in listing.stderr
    assert "Traceback" not in listing.stderr


def test_plugins_command_shows_what_was_skipped(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "my-models", "mine", "my_models_mod", _BAD_NAME_PLUGIN)
    _fake_distribution(tmp_path, "broken-plugin", "broken", "broken_mod", "raise RuntimeError('boom at import')\n")
    result = _cli(["plugins"], tmp_path)
    assert result.returncode == 3
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert rows["mine"].endswith("skipped: model 'MyModel'") and "my-models" in rows["mine"]
    assert rows["broken"].endswith("skipped: all of it") and "broken-plugin" in rows["broken"]
    assert rows["example"].endswith("ok") and rows["recbench.builtin.models"].endswith("ok")
    assert "failed to load: RuntimeError: boom at import" in result.stderr


def test_a_sweep_asking_for_the_skipped_model_says_why(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "my-models", "mine", "my_models_mod", _BAD_NAME_PLUGIN)
    result = _cli(["run", "--models", "MyModel", "--seeds", "0", "--out", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("recbench: error: model 'mymodel' is not available: model 'MyModel' of plugin 'mine' "
                            "(my-models 9.9) was skipped: model name 'MyModel': names must be lowercase"), first
