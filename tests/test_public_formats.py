"""Published formats on the real files in ../shared/data: the counts their data README documents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recbench.builtin import public_formats as formats
from recbench.builtin.splitters import fixed, random_holdout
from recbench.data.files import dataset_context, file_digest
from recbench.errors import ConfigError, DataError

CASES = {
    # name: (loader, pins, interactions, users, items, parts or None)
    "ml-latest-small": (formats.load_ml_latest_small, formats.ML_LATEST_SMALL, 100_836, 610, 9_724, None),
    "lastfm-hetrec2011": (formats.load_lastfm_hetrec, formats.LASTFM_HETREC, 92_834, 1_892, 17_632, None),
    "amazon-video-sasrec": (formats.load_amazon_video_sasrec, formats.AMAZON_VIDEO, 287_107, 31_013, 23_715, None),
    "ml-1m-afcfm": (formats.load_ml1m_afcfm, formats.ML1M_AFCFM, 1_000_209, 6_040, 3_706, (994_169, 6_040)),
    "gowalla-lightgcn": (formats.load_gowalla_lightgcn, formats.GOWALLA, 1_027_370, 29_858, 40_981, (810_128, 217_242)),
    "deepcf-lastfm": (formats.load_deepcf_lastfm, formats.DEEPCF_LASTFM, 69_149, 1_741, 2_665, (67_408, 1_741)),
    "deepcf-amusic": (formats.load_deepcf_amusic, formats.DEEPCF_AMUSIC, 46_087, 1_776, 12_929, (44_311, 1_776)),
    "ml-1m-diffrec": (formats.load_ml1m_diffrec, formats.ML1M_DIFFREC, 571_531, 5_949, 2_810, (403_277, 57_532)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_documented_counts_and_checksums(name: str, data_dir: Path) -> None:
    loader, pins, n_rows, n_users, n_items, parts = CASES[name]
    for file, digest in pins.items():
        assert file_digest(data_dir / name / file) == digest
    data = loader(dataset_context(data_dir=data_dir))
    assert (len(data), data.n_users, data.n_items) == (n_rows, n_users, n_items)
    assert data.duplicate_pair_count() == 0
    if parts is None:
        assert data.fixed_part is None
    else:
        split = fixed(data, {}, 0)
        assert (len(split.train), len(split.test)) == parts
        split.validate()
        if data.fixed_candidates is not None:
            assert split.candidates.items_UxC.shape == (split.test.user_counts().astype(bool).sum(), 99)


def test_ml_latest_small_keeps_half_stars_and_raw_ids(data_dir: Path) -> None:
    data = formats.load_ml_latest_small(dataset_context(data_dir=data_dir))
    assert set(np.unique(data.rating)) == {x / 2 for x in range(1, 11)}
    assert data.items.raw_ids[0] == 1 and data.users.raw_ids[-1] == 610


def test_sasrec_positions_order_each_history(data_dir: Path) -> None:
    data = formats.load_amazon_video_sasrec(dataset_context(data_dir=data_dir))
    first = np.flatnonzero(data.user_idx == data.user_idx[0])
    assert np.all(np.diff(data.timestamp[first]) > 0)


def test_afcfm_test_has_one_item_per_user(data_dir: Path) -> None:
    split = fixed(formats.load_ml1m_afcfm(dataset_context(data_dir=data_dir)), {}, 0)
    assert np.all(split.test.user_counts() == 1)


def test_adjacency_lines_are_parsed_exactly(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text("0 5 7\n1 2\n2 9 3 4\n3\n")  # user 3 has no items
    users, items = formats._adjacency_lines(path)
    assert users.tolist() == [0, 0, 1, 2, 2, 2] and items.tolist() == [5, 7, 2, 9, 3, 4]
    path.write_text("0 5 x\n")
    with pytest.raises(DataError, match="integer ids"):
        formats._adjacency_lines(path)


def test_fixed_protocol_needs_a_published_split(ml100k) -> None:
    with pytest.raises(ConfigError, match="publishes no split"):
        fixed(ml100k, {}, 0)
    assert random_holdout(ml100k, {}, 0).split_id


def test_data_info_cli_prints_counts_and_split_id(data_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "recbench.cli", "data", "info", "ml-1m-afcfm",
                             "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert (out["n_users"], out["n_items"], out["n_interactions"]) == ("6040", "3706", "1000209")
    assert out["split.protocol"] == "fixed" and len(out["split.split_id"]) == 16
    assert out["split.test_cold_users"] == "0"


def test_published_negatives_that_are_known_items_are_counted(data_dir: Path) -> None:
    """DeepCF's test.negative files list some of a user's own items as negatives (86 / 18 of them the
    test item itself). recbench masks known items, so those users rank among fewer negatives; the
    counts are pinned here and documented in docs/datasets.md."""
    expected = {"deepcf-lastfm": (2520, 1303, 86), "deepcf-amusic": (366, 290, 18)}
    for loader in (formats.load_deepcf_lastfm, formats.load_deepcf_amusic):
        data = loader(dataset_context(data_dir=data_dir))
        users_U, items_UxC = data.fixed_candidates
        keys = users_U[:, None].astype(np.int64) * data.n_items + items_UxC
        known = np.isin(keys, data.pair_keys())
        test_keys = data.take(data.fixed_part == 2).pair_keys()
        assert (int(known.sum()), int(known.any(axis=1).sum()), int(np.isin(keys, test_keys).sum())) == expected[data.name]


def test_diffrec_has_a_valid_part(data_dir: Path) -> None:
    split = fixed(formats.load_ml1m_diffrec(dataset_context(data_dir=data_dir)), {}, 0)
    assert len(split.valid) == 110_722


def test_ncf_negatives_file_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "x.test.negative"
    path.write_text("(0,5)\t1\t2\n0,6\t3\t4\n")
    with pytest.raises(DataError, match=r"x\.test\.negative:2: expected '\(user,item\)' first"):
        formats.read_ncf_negatives(path, "fix it")
