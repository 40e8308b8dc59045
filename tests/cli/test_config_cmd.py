"""`unicycle config` without a terminal UI: --set, --unset, --show, --diff."""
import re

from unicycle.cli import cli


def show_rows(text: str) -> dict:
    """`config --show`'s columns: CONFIG_X -> [value, source, where]."""
    lines = text.splitlines()
    assert lines[0].split() == ["SYMBOL", "VALUE", "FROM", "WHERE"]
    return {cells[0]: cells[1:] for cells in (re.split(r"\s{2,}", ln) for ln in lines[1:])}


def test_set_writes_only_the_choice_and_build_uses_it(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["config", "-C", str(proj), "--set", "UART_BAUD=9600",
                            "--set", "NET_TCP_PCBS=64"])
    assert r.exit_code == 0, r.stderr
    text = (proj / ".config").read_text()
    assert "CONFIG_UART_BAUD=9600" in text and "CONFIG_NET_TCP_PCBS=64" in text
    assert "CONFIG_NET=" not in text           # unchanged values are not frozen in
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show", "UART_BAUD"])
    assert r.exit_code == 0
    assert "CONFIG_UART_BAUD=9600" in r.stdout and ".config:3" in r.stdout
    assert "range:   300..115200" in r.stdout


def test_refused_set_writes_nothing(runner, project_from):
    proj = project_from("valid.toml")
    (proj / "unicycle.toml").write_text('[app]\nname = "x"\nsources = ["main.c"]\n')
    r = runner.invoke(cli, ["config", "-C", str(proj), "--set", "HTTP=y"])
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: command line (--set HTTP=y): HTTP=y needs NET, which is off"
    assert not (proj / ".config").exists()
    r = runner.invoke(cli, ["config", "-C", str(proj), "--set", "BOGUS=1"])
    assert r.exit_code == 2 and "unknown configuration symbol 'BOGUS'" in r.stderr


def test_unset_returns_to_manifest_value(runner, project_from):
    proj = project_from("valid.toml")
    runner.invoke(cli, ["config", "-C", str(proj), "--set", "NET=n"])
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show", "NET"])
    assert "CONFIG_NET=n" in r.stdout
    r = runner.invoke(cli, ["config", "-C", str(proj), "--unset", "NET"])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show", "NET"])
    assert "CONFIG_NET=y" in r.stdout and "unicycle.toml:8" in r.stdout


def test_diff_against_board_defaults(runner, project_from):
    proj = project_from("valid.toml")
    runner.invoke(cli, ["config", "-C", str(proj), "--set", "UART_BAUD=38400"])
    r = runner.invoke(cli, ["config", "-C", str(proj), "--diff"])
    assert r.exit_code == 0
    assert "CONFIG_UART_BAUD: 115200 -> 38400" in r.stdout
    assert "CONFIG_NET: n -> y" in r.stdout
    assert "CONFIG_EXIT_ISA_DEBUG" not in r.stdout     # same as the board's


def test_board_defaults_without_a_project(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["config", "--board", "q170m", "--show"])
    assert r.exit_code == 0, r.stderr
    rows = show_rows(r.stdout)
    assert rows["CONFIG_BOARD_NAME"][:2] == ['"q170m"', "board"]
    assert rows["CONFIG_EXIT_ISA_DEBUG"][:2] == ["n", "board"]
    assert "boards/q170m.toml" in rows["CONFIG_EXIT_ISA_DEBUG"][2]
    assert rows["CONFIG_E1000E"][0] == "n" and "asks y; held back by NET" in rows["CONFIG_E1000E"][2]
    r = runner.invoke(cli, ["config", "--set", "NET=y"])
    assert r.exit_code == 2 and "no unicycle.toml here" in r.stderr


def test_menuconfig_needs_a_terminal(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["config", "-C", str(proj)])
    assert r.exit_code == 2 and "menuconfig needs a terminal" in r.stderr
