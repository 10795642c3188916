"""The README's set-up commands, CI and the hookspec examples stay true."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np

from recbench import hookspecs

REPO = Path(__file__).resolve().parents[1]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text()
    marked = re.findall(r"<!-- (\w+-command) -->\n```sh\n(.+)\n```", readme)
    assert [name for name, _ in marked] == ["main-command", "test-command"]
    main, test = (cmd for _, cmd in marked)
    assert main.endswith("recbench run")
    assert "pytest" in test and "./plugins/recbench-example" in test
    ci = (REPO / ".ci" / "run").read_text()
    run_lines = [line for line in ci.splitlines() if "pytest" in line and not line.lstrip().startswith(("#", "echo"))]
    assert run_lines == [test], "CI must run exactly the README's test command"
    assert "python3 -m venv" in ci and '"$rc" -eq 5' in ci


def _example(hook: str) -> str:
    doc = getattr(hookspecs, hook).__doc__
    block = doc.split("Example::", 1)[1]
    return textwrap.dedent(block)


def test_hookspec_examples_run(tmp_path: Path) -> None:
    """The examples in the hook docstrings are complete plugins: exec them and use them."""
    import recbench
    from recbench.data import Interactions
    from recbench.manager import PluginHost

    namespaces = {}
    for hook in ("recbench_datasets", "recbench_splitters", "recbench_metrics"):
        ns: dict = {}
        exec(compile(_example(hook), f"<{hook} example>", "exec"), ns)  # noqa: S102 - our own docstring
        namespaces[hook] = type(hook, (), {hook: staticmethod(ns[hook])})()
    host = PluginHost(autoload=False, extra_plugins=list(namespaces.items()))
    tiny = host.dataset("tiny").spec.load(None)
    assert isinstance(tiny, Interactions) and len(tiny) == 4
    data = Interactions.from_indices(np.arange(6) % 3, np.arange(6), n_users=3, n_items=6)
    split = host.splitter("odd_users").spec.split(data, {}, 0)
    assert set(split.test.user_idx.tolist()) == {1} and len(split.split_id) == 16
    assert host.metric("top1").spec.needs_cutoff is False
    assert recbench.__version__
