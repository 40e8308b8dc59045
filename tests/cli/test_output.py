"""What every command prints: no colour off a terminal, JSON that parses, aligned
columns, shell completion scripts, `new --list-templates`, `fetch` progress."""
import io
import re
import json
import subprocess
import sys

import pytest

from test_thirdparty import make_tarball
from unicycle import boards, configure, output, project, thirdparty
from unicycle.cli import cli

ESC = "\x1b["


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ESC in output.styled("error:", Tty(), fg="red")
    assert output.styled("error:", io.StringIO(), fg="red") == "error:"
    monkeypatch.setenv("NO_COLOR", "1")
    assert output.styled("error:", Tty(), fg="red") == "error:"


def test_errors_are_one_line_without_colour_in_a_pipe(runner, tmp_path):
    # color=True: click would keep escape codes; ours must not write any to a pipe
    r = runner.invoke(cli, ["build", "-C", str(tmp_path)], color=True)
    assert r.exit_code == 2
    assert r.stderr.startswith("error: ") and ESC not in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_table_aligns_and_leaves_no_trailing_blanks():
    lines = output.table([["a", "bb", "x"], ["ccc", "d", ""]])
    assert lines == ["a    bb  x", "ccc  d"]


def test_boards_json_and_text(runner):
    r = runner.invoke(cli, ["boards", "--json"])
    assert r.exit_code == 0
    got = json.loads(r.stdout)
    assert [b["name"] for b in got] == boards.names()
    q = next(b for b in got if b["name"] == "qemu-x86_64")
    assert q["kind"] == "qemu" and "virtio-net" in q["hardware"]["nics"]
    r = runner.invoke(cli, ["boards"], color=True)
    assert ESC not in r.stdout
    columns = {line.index(b["description"]) for line, b in zip(r.stdout.splitlines(), got)}
    assert len(columns) == 1


def test_config_show_json_parses_with_sources(runner, project_from):
    proj = project_from("valid.toml")
    runner.invoke(cli, ["config", "-C", str(proj), "--set", "UART_BAUD=9600"])
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show", "--json"])
    assert r.exit_code == 0, r.stderr
    rows = {row["symbol"]: row for row in json.loads(r.stdout)}
    assert rows["UART_BAUD"]["value"] == 9600 and rows["UART_BAUD"]["source"] == ".config"
    assert rows["NET"]["value"] is True and rows["NET"]["source"] == "manifest"
    assert rows["BOARD_NAME"]["source"] == "board"
    assert rows["STACK_SIZE_KIB"]["source"] == configure.KCONFIG_DEFAULT
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show", "NET", "--json"])
    assert r.exit_code == 2 and "--json goes with --show alone" in r.stderr


def test_config_show_columns_name_each_layer(runner, project_from):
    proj = project_from("valid.toml")
    runner.invoke(cli, ["config", "-C", str(proj), "--set", "UART_BAUD=9600"])
    r = runner.invoke(cli, ["config", "-C", str(proj), "--show"])
    lines = r.stdout.splitlines()
    value_col = lines[0].index("VALUE")
    from_col = lines[0].index("FROM")
    by_sym = {ln.split()[0]: ln for ln in lines[1:]}
    for sym, source in (("CONFIG_UART_BAUD", ".config"), ("CONFIG_NET", "manifest"),
                        ("CONFIG_BOARD_NAME", "board"), ("CONFIG_PVH", "Kconfig default")):
        line = by_sym[sym]
        assert line[value_col - 1] == " " and line[value_col] != " ", line
        assert line[from_col:].startswith(source), line
    assert re.search(r"  \.config:\d+$", by_sym["CONFIG_UART_BAUD"])   # the project-relative file:line


def test_new_list_templates(runner):
    r = runner.invoke(cli, ["new", "--list-templates"])
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == project.templates()
    for ln, name in zip(lines, project.templates()):
        assert project.description(name) in ln
    assert len({ln.index(project.description(n)) for ln, n in zip(lines, project.templates())}) == 1


def test_template_info_is_not_copied(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["new", "p"]).exit_code == 0
    assert not (tmp_path / "p" / project.TEMPLATE_INFO).exists()


@pytest.mark.parametrize("shell,marker", [
    ("bash", "complete -o nosort -F _unicycle_completion unicycle"),
    ("zsh", "#compdef unicycle"),
    ("fish", "complete --no-files --command unicycle"),
])
def test_completion_scripts(runner, shell, marker):
    r = runner.invoke(cli, [], prog_name="unicycle", env={"_UNICYCLE_COMPLETE": f"{shell}_source"})
    assert r.exit_code == 0 and marker in r.stdout
    # the same through the real entry point, as the rc-file line runs it
    proc = subprocess.run([sys.executable, "-m", "unicycle"], capture_output=True, text=True,
                          env={"_UNICYCLE_COMPLETE": f"{shell}_source", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and marker in proc.stdout


def complete(runner, words: str) -> list[str]:
    env = {"_UNICYCLE_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    r = runner.invoke(cli, [], prog_name="unicycle", env=env)
    return [item.split(",", 1)[1] for item in r.stdout.split()]


def test_completion_of_commands_boards_and_templates(runner):
    assert "doctor" in complete(runner, "unicycle do")
    assert complete(runner, "unicycle build --board q") == ["q170m", "qemu-x86_64"]
    assert complete(runner, "unicycle new x --template t") == ["tcp-echo"]


def test_fetch_progress_per_source(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("UNICYCLE_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "tarballs"
    src.mkdir()
    tb = src / "x_1.orig.tar.gz"
    digest = make_tarball(tb, {"x-1/a.c": b"int a;", "x-1/b.h": b"int b;"})
    monkeypatch.setattr(thirdparty, "COMPONENTS",
                        (thirdparty.Component("x", "x", tb.name, digest, "x-1/"),))
    r = runner.invoke(cli, ["fetch", "--from-dir", str(src)])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"x: using {tb}", f"x: verified {tb.name} (SHA-256 {digest[:16]}...)",
        f"x: unpacked 2 files into {tmp_path / 'cache' / 'third_party' / 'x'}"]
    r = runner.invoke(cli, ["fetch", "--from-dir", str(src)])
    assert r.stdout.splitlines() == ["x: ready"]


@pytest.mark.parametrize("args,message", [
    (["biuld"], "error: No such command 'biuld' (see `unicycle --help`)"),
    (["run", "--smp", "0"], "error: Invalid value for '--smp': 0 is not in the range "
                            "1<=x<=256 (see `unicycle run --help`)"),
    (["new"], "error: Missing argument 'NAME' (see `unicycle new --help`)"),
])
def test_usage_errors_are_one_line(runner, args, message):
    r = runner.invoke(cli, args, color=True, prog_name="unicycle")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [message]
