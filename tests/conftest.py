"""Shared fixtures. Tests run on the CPU, offline, on the real files in ../shared/data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    configured = os.environ.get("RECBENCH_DATA_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    return path.resolve()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("RECBENCH_OFFLINE", "1")
    monkeypatch.setenv("RECBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not (path / "ml-100k" / "u.data").is_file():
        pytest.fail(f"the real datasets are missing: set RECBENCH_DATA_DIR to the shared data folder (tried {path})")
    return path


@pytest.fixture()
def ml100k_copy(tmp_path: Path, data_dir: Path) -> Path:
    """A writable copy of ml-100k's three files; returns the data directory holding ``ml-100k/``."""
    folder = tmp_path / "data" / "ml-100k"
    folder.mkdir(parents=True)
    for name in ("u.data", "u.item", "u.user"):
        shutil.copy(data_dir / "ml-100k" / name, folder / name)
    return folder.parent


@pytest.fixture(scope="session")
def ml100k(data_dir: Path):
    from recbench.builtin.movielens import load_ml100k
    from recbench.data.files import dataset_context

    return load_ml100k(dataset_context(data_dir=data_dir))


@pytest.fixture(scope="session")
def small_synthetic():
    from recbench.builtin.synthetic import synthetic_interactions

    return synthetic_interactions({"n_users": 300, "n_items": 200, "mean_per_user": 25})
