"""Run records name the recbench code that made them: a fingerprint of its source, and its git commit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recbench.results.environment import PACKAGE_DIR, environment, git_revision, source_fingerprint


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "a.py").write_text("x = 1\n")
    (root / "sub" / "b.py").write_text("y = 2\n")
    return root


def test_fingerprint_follows_the_python_sources_only(tmp_path: Path) -> None:
    root = _package(tmp_path)
    first = source_fingerprint(root)
    assert re.fullmatch(r"[0-9a-f]{16}", first) and source_fingerprint(root) == first
    (root / "notes.txt").write_text("not code")
    (root / "sub" / "b.cpython-311.pyc").write_bytes(b"\0\1")
    assert source_fingerprint(root) == first
    (root / "sub" / "b.py").write_text("y = 3\n")
    assert source_fingerprint(root) != first
    (root / "sub" / "b.py").write_text("y = 2\n")
    assert source_fingerprint(root) == first
    (root / "sub" / "b.py").rename(root / "sub" / "c.py")  # same bytes, another module
    assert source_fingerprint(root) != first


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_revision_of_a_checkout_and_none_elsewhere(tmp_path: Path) -> None:
    root = _package(tmp_path)
    assert git_revision(root) is None  # not a work tree
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert git_revision(root) == {"commit": head, "dirty": False}
    (root / "untracked.py").write_text("z = 0\n")
    assert git_revision(root) == {"commit": head, "dirty": False}  # only tracked files count
    (root / "a.py").write_text("x = 5\n")
    assert git_revision(root) == {"commit": head, "dirty": True}
    ignored = root / "venv" / "site-packages" / "pkg"  # an install inside another project's work tree
    ignored.mkdir(parents=True)
    (root / ".gitignore").write_text("venv/\n")
    (ignored / "a.py").write_text("x = 1\n")
    assert git_revision(ignored) is None


def test_every_record_environment_names_the_source() -> None:
    """The running recbench: its fingerprint, and HEAD when it runs from this checkout (an editable
    install), None when it is an installed copy (CI's ``pip install .``)."""
    source = environment()["recbench_source"]
    assert source["fingerprint"] == source_fingerprint()
    listed = ["git", "-C", str(PACKAGE_DIR), "ls-files", "--error-unmatch", "__init__.py"]
    tracked = shutil.which("git") is not None and subprocess.run(listed, capture_output=True).returncode == 0
    if tracked:
        head = subprocess.run(["git", "-C", str(PACKAGE_DIR), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        assert source["git"]["commit"] == head
    else:
        assert source["git"] is None


def test_a_runner_fingerprints_the_code_when_the_sweep_starts(tmp_path: Path) -> None:
    from recbench.config import sweep_from_mapping
    from recbench.manager import PluginHost
    from recbench.results.environment import recbench_source
    from recbench.runner import Runner

    recbench_source.cache_clear()
    sweep = sweep_from_mapping({"name": "t", "seeds": [0], "metrics": ["ndcg@10"], "datasets": ["synthetic"],
                                "models": ["pop"], "out": str(tmp_path / "out")})
    Runner(PluginHost(autoload=False), sweep, progress=None)  # no run yet
    assert recbench_source.cache_info().currsize == 1
    assert recbench_source()["fingerprint"] == source_fingerprint()
