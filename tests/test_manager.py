from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import recbench
from recbench.errors import PluginError
from recbench.manager import PluginHost


def _dataset_plugin(name: str):
    class Plugin:
        @recbench.hookimpl
        def recbench_datasets(self):
            yield recbench.DatasetSpec(name=name, version="1", description="x", load=lambda ctx: None)

    return Plugin()


def test_builtins_are_registered_with_their_distribution() -> None:
    host = PluginHost(autoload=False)
    assert {"synthetic", "ml-100k"} <= set(host.all("datasets"))
    assert {"pop", "mf_bpr"} <= set(host.all("models"))
    assert {"ndcg", "recall", "precision", "hit"} <= set(host.all("metrics"))
    reg = host.model("mf_bpr")
    assert (reg.distribution, reg.dist_version) == ("recbench", recbench.__version__)
    assert reg.spec.family == "pairwise"


def test_duplicate_name_is_skipped_and_its_lookup_names_every_provider() -> None:
    host = PluginHost(autoload=False, extra_plugins=[("first", _dataset_plugin("dup")), ("second", _dataset_plugin("dup"))])
    assert "dup" not in host.all("datasets") and "synthetic" in host.all("datasets")
    assert [p.plugin for p in host.problems] == ["first", "second"]
    with pytest.raises(PluginError) as info:
        host.dataset("dup")
    message = str(info.value)
    assert "'dup'" in message and "'first'" in message and "'second'" in message


def test_duplicate_of_a_builtin_is_skipped_and_the_builtin_kept() -> None:
    host = PluginHost(autoload=False, extra_plugins=[("mine", _dataset_plugin("ml-100k"))])
    assert host.dataset("ml-100k").distribution == "recbench"
    [problem] = host.problems
    assert problem.plugin == "mine"
    assert "recbench.builtin.datasets' (recbench 0" in problem.message() and "built-in one is kept" in problem.message()


def test_unknown_name_suggests_close_matches_and_lists_all() -> None:
    host = PluginHost(autoload=False)
    with pytest.raises(PluginError) as info:
        host.model("mf_bprr")
    assert "did you mean 'mf_bpr'" in str(info.value)
    assert "pop" in str(info.value)


def test_bad_spec_type_and_name_are_skipped_and_reported() -> None:
    class Wrong:
        @recbench.hookimpl
        def recbench_models(self):
            yield recbench.DatasetSpec(name="x", version="1", description="", load=lambda c: None)

    host = PluginHost(autoload=False, extra_plugins=[("wrong", Wrong()), ("upper", _dataset_plugin("Bad@Name"))])
    assert "pop" in host.all("models") and "synthetic" in host.all("datasets")
    messages = [p.message() for p in host.problems]
    assert "must yield recbench.ModelSpec, not DatasetSpec" in messages[0]
    assert "dataset 'Bad@Name' of plugin 'upper'" in messages[1] and "lowercase" in messages[1]


def test_example_plugin_is_found_through_its_entry_point() -> None:
    host = PluginHost()
    for kind, name in (("datasets", "example-blocks"), ("models", "example_biased_mf"), ("metrics", "example_rr")):
        reg = host.get(kind, name)
        assert reg.distribution == "recbench-example", "pip install ./plugins/recbench-example first"
        assert reg.plugin == "example"


def test_kill_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "example-blocks" not in PluginHost(disabled=["example"]).all("datasets")
    assert "example-blocks" not in PluginHost(disabled=["recbench-example"]).all("datasets")
    monkeypatch.setenv("RECBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "example-blocks" not in PluginHost().all("datasets")


def _fake_distribution(root: Path, dist: str, entry_point: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 9.9\n")
    (info / "entry_points.txt").write_text(f"[recbench]\n{entry_point} = {module}\n")


def _cli(args: list[str], pythonpath: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "PYTHONPATH": str(pythonpath), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "recbench.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_plugin_that_raises_on_import_is_reported_and_skipped(tmp_path: Path) -> None:
    _fake_distribution(tmp_path, "broken-plugin", "broken", "broken_mod", "raise RuntimeError('boom at import')\n")
    result = _cli(["list", "models"], tmp_path)
    assert result.returncode == 3
    assert "mf_bpr" in result.stdout  # the rest still works
    assert "plugin 'broken' (broken-plugin 9.9) was skipped: failed to load" in result.stderr
    assert "boom at import" in result.stderr and "--disable-plugin broken" in result.stderr
    assert "Traceback" not in result.stderr
    ok = _cli(["list", "models", "--disable-plugin", "broken"], tmp_path)
    assert ok.returncode == 0 and "failed to load" not in ok.stderr


def test_two_installed_plugins_with_one_name_are_skipped_with_both_named(tmp_path: Path) -> None:
    source = """
        import recbench
        @recbench.hookimpl
        def recbench_models():
            yield recbench.ModelSpec(name="twin", version="1", family="pairwise", description="", build=None)
    """
    _fake_distribution(tmp_path, "twin-a", "twin_a", "twin_a_mod", source)
    _fake_distribution(tmp_path, "twin-b", "twin_b", "twin_b_mod", source)
    result = _cli(["list", "models"], tmp_path)
    assert result.returncode == 3 and "mf_bpr" in result.stdout and "twin" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("recbench: warning:")]
    assert len(lines) == 2 and all("model name 'twin' is provided more than once" in line for line in lines)
    assert all("twin-a 9.9" in line and "twin-b 9.9" in line for line in lines)
    assert "Traceback" not in result.stderr


def test_list_does_not_import_jax() -> None:
    code = "import sys; from recbench.cli import main; main(['list']); assert 'jax' not in sys.modules, 'jax imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 3), result.stderr
    assert "example_biased_mf" in result.stdout


def test_list_models_shows_every_builtin_with_family_and_paper(capsys) -> None:
    from recbench.cli import main

    main(["list", "models"])
    out = capsys.readouterr().out
    host = PluginHost(autoload=False)
    specs = [reg.spec for reg in host.all("models").values()]
    assert len(specs) >= 24
    for spec in specs:
        assert spec.paper, f"{spec.name} cites no paper"
        line = next(row for row in out.splitlines() if row.startswith(spec.name + " "))
        assert spec.family in line and spec.paper in line, line
