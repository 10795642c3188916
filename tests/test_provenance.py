"""Run records name the recbench code that made them: a fingerprint of its source, and its git commit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from recbench.results.environment import environment, git_revision, source_fingerprint


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


def test_every_record_environment_names_the_source() -> None:
    source = environment()["recbench_source"]
    assert source["fingerprint"] == source_fingerprint()
    assert source["git"] is None or re.fullmatch(r"[0-9a-f]{40}", source["git"]["commit"])
