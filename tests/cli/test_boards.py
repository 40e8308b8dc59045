"""Board files: the shipped ones validate, `unicycle boards` lists them, bad ones are refused."""
import shutil

import pytest

from unicycle import boards
from unicycle.cli import cli
from unicycle.errors import BoardError


def test_boards_lists_each_with_description(runner):
    result = runner.invoke(cli, ["boards"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    names = [l.split()[0] for l in lines]
    assert names == ["q170m", "qemu-x86_64"]
    assert "I219" in lines[0] and "OVMF" in lines[1]


def test_shipped_boards_validate():
    q = boards.load("q170m")
    assert q.config["E1000E"] is True and q.config["VIRTIO_NET"] is False
    assert not q.runnable
    v = boards.load("qemu-x86_64")
    assert v.runnable and v.run["exit-device"].startswith("isa-debug-exit")


def test_unknown_board_on_command_line(runner, project_from):
    proj = project_from("valid.toml")
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj), "--board", "vax"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: unknown board 'vax' (known: q170m, qemu-x86_64)")


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace('arch = "x86_64"', 'arch = "arm64"'), "board.arch"),
    (lambda t: t.replace("cpus = 1\n", "cpus = 0\n"), "hardware.cpus"),
    (lambda t: t.replace('kind = "qemu"', 'kind = "qemu"\nturbo = true'), "unknown key 'turbo'"),
    (lambda t: t.replace('name = "qemu-x86_64"', 'name = "other"'), "does not match"),
])
def test_invalid_board_file_is_refused(tmp_path, edit, fragment):
    from unicycle import paths
    src = paths.boards_dir()
    shutil.copy(src / "schema.json", tmp_path / "schema.json")
    (tmp_path / "qemu-x86_64.toml").write_text(edit((src / "qemu-x86_64.toml").read_text()))
    with pytest.raises(BoardError) as e:
        boards.load("qemu-x86_64", tmp_path)
    assert fragment in str(e.value)
    assert "qemu-x86_64.toml" in str(e.value)
