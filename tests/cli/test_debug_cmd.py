"""`unicycle debug` without booting: options are checked before anything is built, gdb's
command line, the gdbstub wait, and how the session's end becomes the exit status."""
import pytest

from unicycle import debug, qemu
from unicycle.cli import cli


def test_ovmf_on_microvm_is_refused_before_building(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["debug", "-C", str(proj), "-b", "qemu-x86_64", "--ovmf",
                            "--machine", "microvm"])
    assert r.exit_code == 2, r.stderr
    assert r.stderr.startswith("error: --ovmf boots through the firmware, which the microvm")
    assert not (proj / "build").exists()


def test_missing_batch_file_is_one_line(runner, project_from, tmp_path):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["debug", "-C", str(proj), "--gdb-batch", str(tmp_path / "nope.gdb")])
    assert r.exit_code == 2
    assert r.stderr.strip() == f"error: --gdb-batch {tmp_path / 'nope.gdb'}: no such file"
    assert not (proj / "build").exists()


def test_missing_gdb_names_its_package(runner, project_from, monkeypatch, tmp_path):
    proj = project_from("valid.toml")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("unicycle.tools._SBIN", ())
    r = runner.invoke(cli, ["debug", "-C", str(proj)])
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: gdb not found: install the Debian package gdb (make deps)"


def test_gdb_command_connects_first_then_runs_the_batch_file(tmp_path):
    elf = tmp_path / "app.elf"
    batch = tmp_path / "steps.gdb"
    assert debug.gdb_command("gdb", elf, 4321, debug.Options()) == [
        "gdb", "-q", str(elf), "-ex", "target remote 127.0.0.1:4321"]
    assert debug.gdb_command("gdb", elf, 4321, debug.Options(batch=batch, gdb_args=("-ex", "bt"))) \
        == ["gdb", "-q", "-nx", "-batch", str(elf), "-ex", "target remote 127.0.0.1:4321",
            "-x", str(batch), "-ex", "bt"]


def test_spec_is_halted_with_the_gdbstub(project_from):
    from unicycle import build
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    spec = qemu.spec_for(proj, boot="direct", gdb_port=4321, halted=True)
    (proj.build_dir).mkdir(parents=True)
    for f in ("app.elf", "boot.cfg"):
        (proj.build_dir / f).write_bytes(b"x")
    cmd = qemu.command(spec)
    assert cmd[-3:] == ["-gdb", "tcp:127.0.0.1:4321", "-S"]
    assert "-kernel" in cmd


TCP_TABLE = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 0100007F:10E1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 0100007F:10E2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0
   2: 00000000:10E3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
"""


def test_listening_reads_proc_net_tcp(tmp_path):
    table = tmp_path / "tcp"
    table.write_text(TCP_TABLE)
    assert debug._listening(0x10E1, table)           # 127.0.0.1:4321 LISTEN
    assert not debug._listening(0x10E2, table)       # connected, not listening
    assert not debug._listening(0x10E3, table)       # 0.0.0.0, not loopback
    assert not debug._listening(0x10E1, tmp_path / "missing")


@pytest.mark.parametrize("outcome, gdb, stderr, code, line", [
    (qemu.Outcome(7, 3, False, 1.0), 1, "", 3, "unicycle: app exited with status 3 after 1.0 s"),
    (qemu.Outcome(None, None, True, 2.0, 2.0), 0, "", 0,
     "unicycle: gdb exited (status 0) with the guest still running; QEMU stopped"),
    (qemu.Outcome(0, None, False, 1.0), 0, "qemu-system-x86_64: QEMU: Terminated via GDBstub\n",
     0, "unicycle: gdb killed the guest"),
    (qemu.Outcome(255, 127, False, 1.0), 1, "", 127, "unicycle: the app crashed (CPU exception "
     "or panic; see the report above) or exited with a status outside 0-126, after 1.0 s"),
])
def test_result(outcome, gdb, stderr, code, line):
    res = debug.result(outcome, gdb, stderr)
    assert (res.exit_code, res.summary) == (code, line)
