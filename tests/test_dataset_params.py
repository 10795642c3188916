"""Every built-in dataset refuses parameters it does not read and non-boolean booleans; ml-1m's
pinned files are verified like ml-100k's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recbench.builtin.movielens_family import RELEASES, load_movielens
from recbench.builtin.public_formats import LIGHTGCN_RELEASES, load_lightgcn
from recbench.data.files import dataset_context, verify_pinned
from recbench.errors import ConfigError, DataError
from recbench.manager import PluginHost

BUILTIN_DATASETS = sorted(PluginHost(autoload=False).all("datasets"))


def _load(name: str, params: dict, data_dir: Path | None = None):
    spec = PluginHost(autoload=False).dataset(name).spec
    return spec.load(dataset_context(params, data_dir))


def test_every_builtin_dataset_is_covered() -> None:
    assert {"file", "synthetic", "ml-100k", "ml-1m", "ml-32m", "gowalla-lightgcn"} <= set(BUILTIN_DATASETS)


@pytest.mark.parametrize("name", BUILTIN_DATASETS)
def test_unknown_parameters_are_refused_with_the_accepted_ones(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"dataset '{name}': unknown parameters \['min_rating', 'verfiy'\]; "
                                          r"it accepts (\[.*\]|none)") as info:
        _load(name, {"verfiy": False, "min_rating": 4}, tmp_path)  # refused before any file is looked for
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["ml-100k", "ml-1m", "ml-latest-small", "deepcf-lastfm", "yelp2018-lightgcn"])
@pytest.mark.parametrize("value", ["false", 0, "no"])
def test_verify_must_be_a_boolean(name: str, value: object, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"dataset '{name}': parameter verify={value!r} must be true or false"):
        _load(name, {"verify": value}, tmp_path)


def test_releases_without_pinned_files_do_not_accept_verify(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dataset 'ml-20m': unknown parameters \['verify'\]; it accepts none"):
        _load("ml-20m", {"verify": False}, tmp_path)


def test_verify_pinned_refuses_a_string_for_direct_callers(ml100k_copy: Path) -> None:
    ctx = dataset_context({"verify": "false"}, data_dir=ml100k_copy)
    with pytest.raises(ConfigError, match="verify='false' must be true or false"):
        verify_pinned(ml100k_copy / "ml-100k", {"u.data": "0" * 64}, ctx, "restore it")


def test_lightgcn_count_check_refuses_a_string_verify(tmp_path: Path) -> None:
    folder = tmp_path / "yelp2018-lightgcn"
    folder.mkdir()
    (folder / "train.txt").write_text("0 1 2\n")
    (folder / "test.txt").write_text("0 3\n")
    with pytest.raises(ConfigError, match="verify='off' must be true or false"):
        load_lightgcn(LIGHTGCN_RELEASES["yelp2018-lightgcn"], dataset_context({"verify": "off"}, tmp_path))
    assert len(load_lightgcn(LIGHTGCN_RELEASES["yelp2018-lightgcn"], dataset_context({"verify": False}, tmp_path))) == 3


def _ml1m_folder(tmp_path: Path, data_dir: Path) -> Path:
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    for name in ("movies.dat", "users.dat"):
        shutil.copy(data_dir / "ml-1m" / name, folder / name)
    (folder / "ratings.dat").write_text("1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    return folder


def test_ml1m_pins_the_files_the_data_readme_records(tmp_path: Path, data_dir: Path) -> None:
    pins = RELEASES["ml-1m"].file_sha256
    assert set(pins) == {"movies.dat", "users.dat"}
    assert RELEASES["ml-1m"].source.member_sha256 == pins  # downloads are checked alike
    folder = _ml1m_folder(tmp_path, data_dir)
    assert len(load_movielens(RELEASES["ml-1m"], dataset_context(data_dir=tmp_path))) == 3  # the real files pass
    with open(folder / "movies.dat", "a", encoding="latin-1") as fh:
        fh.write("9999::Made Up (2024)::Drama\n")
    with pytest.raises(DataError, match=r"movies\.dat: sha256 [0-9a-f]{64} differs from the pinned 0140fc23") as info:
        load_movielens(RELEASES["ml-1m"], dataset_context(data_dir=tmp_path))
    assert "verify=false" in info.value.hint
    data = load_movielens(RELEASES["ml-1m"], dataset_context({"verify": False}, data_dir=tmp_path))
    assert len(data) == 3
