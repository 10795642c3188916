"""``recbench data info`` takes a dataset entry as ``run`` does: parameters, protocol parameters, own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from recbench.cli import main

SMALL = "n_users = 150, n_items = 80, mean_per_user = 10"


def _info(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str], str]:
    code = main(["data", "info", *args])
    captured = capsys.readouterr()
    lines = dict(line.split(": ", 1) for line in captured.out.splitlines() if ": " in line)
    return code, lines, captured.err


def test_dataset_params_reach_the_loader(capsys) -> None:
    code, lines, _ = _info(capsys, "synthetic", "--params", SMALL)
    assert code == 0 and lines["n_users"] == "150" and lines["n_items"] == "80"


def test_protocol_params_reach_the_splitter(capsys) -> None:
    _, default, _ = _info(capsys, "synthetic", "--params", SMALL)
    _, half, _ = _info(capsys, "synthetic", "--params", f"{{ {SMALL} }}", "--protocol", "random_holdout",
                       "--protocol-params", "test_fraction = 0.5")
    assert "'test_fraction': 0.5" in half["split.params"] and "'test_fraction': 0.5" not in default["split.params"]
    assert half["split.split_id"] != default["split.split_id"]


def test_own_file_with_columns_and_sep_as_run_takes_them(capsys, tmp_path: Path) -> None:
    own = tmp_path / "mine.csv"
    own.write_text("uid;iid\n" + "".join(f"u{u};i{(u * 7 + k) % 30}\n" for u in range(40) for k in range(6)))
    code, lines, err = _info(capsys, str(own), "--columns", "user=uid,item=iid", "--sep", ";")
    assert code == 0, err
    assert lines["n_users"] == "40" and lines["n_interactions"] == "240"


def test_missing_column_hint_names_an_option_data_info_has(capsys, tmp_path: Path) -> None:
    own = tmp_path / "mine.csv"
    own.write_text("a,b\n1,2\n")
    code, _, err = _info(capsys, str(own))
    assert code == 2 and "hint: pass the column mapping, e.g. --columns user=<column>" in err
    assert main(["data", "info", str(own), "--columns", "user=a,item=b"]) == 0


@pytest.mark.parametrize(("flag", "value"), [("--params", "n_users = "), ("--protocol-params", "test_fraction 0.5")])
def test_a_malformed_table_is_one_line_naming_the_flag(capsys, flag: str, value: str) -> None:
    code, _, err = _info(capsys, "synthetic", flag, value)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith(f"recbench: error: {flag} {value!r}: not a TOML inline table")
    assert lines[1].startswith(f"hint: write it as inside a sweep file's {{ }}, e.g. {flag} ")


def test_a_plugin_that_raises_is_one_line_naming_it(capsys, monkeypatch) -> None:
    import recbench.cli
    from recbench.manager import PluginHost
    from tests.test_runner_checks import BrokenPlugins

    monkeypatch.setattr(recbench.cli, "PluginHost", lambda disabled: PluginHost(
        disabled=disabled, extra_plugins=[("broken", BrokenPlugins())]))
    code, _, err = _info(capsys, "broken_data")
    assert code != 0 and "Traceback" not in err
    assert "dataset plugin 'broken_data'" in err and "raised ValueError: could not convert" in err
    code, _, err = _info(capsys, "synthetic", "--params", SMALL, "--protocol", "broken_split")
    assert code != 0 and "splitter plugin 'broken_split'" in err and "raised KeyError" in err
