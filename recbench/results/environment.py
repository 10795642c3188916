"""Provenance: package versions, recbench's own source, backend, device kind and host (memory: ``memory.py``)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: The installed recbench package (its ``*.py`` files are what :func:`source_fingerprint` hashes).
PACKAGE_DIR = Path(__file__).resolve().parents[1]

PACKAGES = ("recbench", "jax", "jaxlib", "flax", "optax", "numpy", "pandas", "pluggy", "tabulate")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def source_fingerprint(root: Path = PACKAGE_DIR) -> str:
    """sha256 (first 16 hex digits) of every ``*.py`` file under ``root``, paths and contents.

    The version string stays ``0.1.0`` across commits; two records with the same fingerprint were
    made by byte-identical recbench code, however it was installed.
    """
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def git_revision(root: Path = PACKAGE_DIR) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` when ``root``'s files are tracked by a git work tree (a checkout, an
    editable install), else None: a copy installed somewhere inside *another* repository (a
    ``.venv`` in a project) is not that repository's code. ``dirty``: tracked files under ``root``
    differ from the commit."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()

    try:
        if not git("ls-files", "--", "."):
            return None
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "."))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


@functools.cache
def recbench_source() -> dict[str, Any]:
    """This process's recbench code: :func:`source_fingerprint` and, from a checkout, :func:`git_revision`."""
    return {"fingerprint": source_fingerprint(), "git": git_revision()}


def environment() -> dict[str, Any]:
    """Where a run happened. Imports jax (the backend and device are part of a result)."""
    import jax

    devices = jax.devices()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": platform.node(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "recbench_source": recbench_source(),
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
    }
