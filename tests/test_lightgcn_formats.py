"""NGCF/LightGCN ``train.txt``/``test.txt`` loaders (yelp2018, amazon-book) on small generated files.

Their real files are not in ../shared/data (each train.txt is over 4 MiB); these tests write files
in the same format and check the parsing, the published-count check and the errors.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from recbench.builtin import public_formats as formats
from recbench.builtin.splitters import fixed
from recbench.data.files import dataset_context
from recbench.errors import DataError

PUBLISHED = {  # LightGCN paper Table 1 and the repository's logs: users, items, train, test
    "yelp2018-lightgcn": (31_668, 38_048, 1_237_259, 324_147),
    "amazon-book-lightgcn": (52_643, 91_599, 2_380_730, 603_378),
}


def _write_lines(path: Path, pairs: dict[int, list[int]]) -> None:
    path.write_text("".join(f"{u} {' '.join(map(str, items))}\n" for u, items in pairs.items()))


def _random_release(tmp_path: Path, name: str, seed: int = 0) -> tuple[Path, set, set]:
    """Writes DIR/name/{train,test}.txt with random histories; returns DIR and the true pair sets."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / name
    folder.mkdir(parents=True)
    train, test = {}, {}
    for user in range(30):
        items = rng.choice(50, size=int(rng.integers(3, 12)), replace=False).tolist()
        cut = max(1, len(items) * 4 // 5)
        train[user], test[user] = items[:cut], items[cut:] or [items[0] + 50]
    _write_lines(folder / "train.txt", train)
    _write_lines(folder / "test.txt", test)
    as_set = lambda d: {(u, i) for u, items in d.items() for i in items}  # noqa: E731
    return tmp_path, as_set(train), as_set(test)


def test_published_counts_are_the_papers() -> None:
    for name, counts in PUBLISHED.items():
        assert formats.LIGHTGCN_RELEASES[name].counts == counts
        assert counts[2] + counts[3] == {"yelp2018-lightgcn": 1_561_406, "amazon-book-lightgcn": 2_984_108}[name]
        assert formats.LIGHTGCN_RELEASES[name].pins is None


def test_generated_files_parse_exactly_into_a_fixed_split(tmp_path: Path) -> None:
    data_dir, train, test = _random_release(tmp_path, "yelp2018-lightgcn")
    users = {u for u, _ in train | test}
    items = {i for _, i in train | test}
    counts = (max(users) + 1, max(items) + 1, len(train), len(test))
    release = replace(formats.LIGHTGCN_RELEASES["yelp2018-lightgcn"], counts=counts)
    data = formats.load_lightgcn(release, dataset_context(data_dir=data_dir))
    assert (data.n_users, data.n_items, len(data)) == (counts[0], counts[1], len(train) + len(test))
    split = fixed(data, {}, 0)
    got_train = set(zip(split.train.user_idx.tolist(), split.train.item_idx.tolist(), strict=True))
    got_test = set(zip(split.test.user_idx.tolist(), split.test.item_idx.tolist(), strict=True))
    assert (got_train, got_test) == (train, test)
    split.validate()


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_count_mismatch_is_a_clear_error(tmp_path: Path, name: str) -> None:
    data_dir, train, _ = _random_release(tmp_path, name)
    loader = {"yelp2018-lightgcn": formats.load_yelp2018_lightgcn,
              "amazon-book-lightgcn": formats.load_amazon_book_lightgcn}[name]
    with pytest.raises(DataError) as info:
        loader(dataset_context(data_dir=data_dir))
    users, items, n_train, _ = PUBLISHED[name]
    message = str(info.value)
    assert f"do not match the published {name}" in message
    assert f"users 30 (published {users:,})" in message and f"train pairs {len(train)} (published {n_train:,})" in message
    assert "kuandeng/LightGCN" in info.value.hint and "verify=false" in info.value.hint
    data = loader(dataset_context({"verify": False}, data_dir=data_dir))  # a subset on purpose
    assert data.n_users == 30 and data.name == name


def test_missing_files_say_what_to_put_where_and_where_to_get_them(tmp_path: Path) -> None:
    (tmp_path / "amazon-book-lightgcn").mkdir()
    (tmp_path / "amazon-book-lightgcn" / "test.txt").write_text("0 1\n")
    with pytest.raises(DataError) as info:
        formats.load_amazon_book_lightgcn(dataset_context(data_dir=tmp_path))
    assert "train.txt (missing)" in str(info.value) and "test.txt (missing)" not in str(info.value)
    hint = info.value.hint
    assert str(tmp_path / "amazon-book-lightgcn") in hint and "train.txt, test.txt" in hint
    assert "Data/amazon-book/" in hint and "github.com/kuandeng/LightGCN" in hint
    assert "RECBENCH_OFFLINE" not in hint  # there is no download to enable


@pytest.mark.parametrize(("text", "line", "token"), [
    ("0 1 2\n1 3\n2 4 x5\n", 3, "x5"),
    ("0 1 2\n\n1 3 2.5\n", 3, "2.5"),
    ("0 1\n1 -3\n", 2, "-3"),
    ("0 1\r\n1 2\r\n2 3,4\r\n", 3, "3,4"),
])
def test_malformed_line_names_file_and_line(tmp_path: Path, text: str, line: int, token: str) -> None:
    folder = tmp_path / "yelp2018-lightgcn"
    folder.mkdir()
    (folder / "train.txt").write_text("0 1\n")
    (folder / "test.txt").write_text(text)
    with pytest.raises(DataError, match=rf"test\.txt:{line}: expected 'user item item \.\.\.' .*got {token!r}"):
        formats.load_yelp2018_lightgcn(dataset_context(data_dir=tmp_path))


def test_blank_lines_crlf_and_users_without_items_parse(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("0 4 2\r\n\r\n1\r\n2 7\r\n")
    users, items = formats._adjacency_lines(path)
    assert users.tolist() == [0, 0, 2] and items.tolist() == [4, 2, 7]
    path.write_text("")
    assert [a.size for a in formats._adjacency_lines(path)] == [0, 0]


def test_listed_as_datasets_with_the_fixed_protocol() -> None:
    from recbench.manager import PluginHost

    host = PluginHost(autoload=False)
    for name in PUBLISHED:
        spec = host.dataset(name).spec
        assert spec.default_protocol == "fixed" and "not sha-pinned" in spec.description
