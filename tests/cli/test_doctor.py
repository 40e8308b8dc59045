"""`unicycle doctor`: every check, the fix it prints, its exit status and its JSON."""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from unicycle import doctor, paths, pymodules, thirdparty, tools
from unicycle.cli import cli

ESC = "\x1b["


def apt_packages() -> set[str]:
    """The Makefile's APT_PACKAGES (what `make deps` installs on a fresh Debian 12)."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(r"^APT_PACKAGES\s*:=(.*)$", text, re.M)
    return set(m.group(1).split())


def path_without(tmp_path, missing: str) -> str:
    """A PATH holding every tool doctor checks but `missing` (symlinks to the real ones)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in doctor.TOOLS:
        real = shutil.which(tool) or tools.find(tool)
        if tool != missing and real:
            (bin_dir / tool).symlink_to(real)
    return str(bin_dir)


def test_every_fixing_package_is_installed_by_make_deps():
    known = apt_packages()
    wanted = {tools.PACKAGES[t] for t in doctor.TOOLS}
    wanted |= {tools.PACKAGES[p] for _, p in doctor.OVMF_FILES} | {doctor.GNU_EFI_PACKAGE}
    wanted |= {m.package for m in pymodules.MODULES}
    assert wanted <= known, wanted - known


def test_every_tool_the_library_needs_is_checked():
    src = ROOT / "unicycle-cli" / "unicycle"
    used = set()
    for f in src.glob("*.py"):
        used |= set(re.findall(r'tools\.(?:require|find)\("([^"]+)"\)', f.read_text()))
    assert used and used <= set(doctor.TOOLS), used - set(doctor.TOOLS)


def test_all_well_here_exits_0_with_one_aligned_line_per_check(runner):
    r = runner.invoke(cli, ["doctor"], color=True)
    assert r.exit_code == 0, r.stdout
    lines = r.stdout.splitlines()
    assert ESC not in r.stdout                      # not a terminal: no colour, even if allowed
    checks = lines[:-1]
    assert len(checks) == len(doctor.TOOLS) + len(pymodules.MODULES) + len(doctor.OVMF_FILES) + 1 + \
        len(thirdparty.COMPONENTS) + 2
    # the name column starts at the same place on every line
    starts = {len(re.match(r"^\S+\s+", ln).group(0)) for ln in checks}
    details = {len(re.match(r"^\S+\s+\S+(?: \S+)?\s+", ln).group(0)) for ln in checks}
    assert len(starts) == 1 and len(details) == 1, checks
    assert lines[-1].startswith(f"all {len(checks)} checks passed")
    assert any(ln.split()[:2] == ["ok", "gcc"] for ln in checks)


def test_missing_tool_fails_with_its_package(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", path_without(tmp_path, "ninja"))
    r = runner.invoke(cli, ["doctor"])
    assert r.exit_code == 1
    line = next(ln for ln in r.stdout.splitlines() if ln.split()[1:2] == ["ninja"])
    assert line.startswith("FAIL") and "not found on PATH" in line
    assert line.endswith("-> fix: apt-get install -y --no-install-recommends ninja-build") \
        or line.endswith("-> fix: sudo apt-get install -y --no-install-recommends ninja-build")
    assert "1 problem(s); to fix them run:" in r.stdout
    r = runner.invoke(cli, ["doctor", "--json"])
    assert r.exit_code == 1
    checks = json.loads(r.stdout)
    ninja = next(c for c in checks if c["name"] == "ninja")
    assert ninja["status"] == "FAIL" and ninja["package"] == "ninja-build"
    assert "ninja-build" in ninja["fix"]
    assert all(c["status"] in ("ok", "warn") for c in checks if c["name"] != "ninja")


def test_sudo_in_the_fix_only_when_not_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert doctor.apt_install(["gdisk", "curl"]) == \
        "sudo apt-get install -y --no-install-recommends curl gdisk"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert doctor.apt_install(["gdisk"]) == "apt-get install -y --no-install-recommends gdisk"


def fake_tree(tmp_path, comp, stamp: str | None):
    root = tmp_path / "cache" / "third_party"
    (root / comp.name).mkdir(parents=True)
    if stamp is not None:
        (root / comp.name / thirdparty.STAMP).write_text(stamp + "\n")
    return root


def test_corrupted_third_party_checksum(runner, tmp_path, monkeypatch):
    """A source unpacked from a tarball whose SHA-256 is not the pinned one fails."""
    monkeypatch.setenv("UNICYCLE_CACHE", str(tmp_path / "cache"))
    comp = thirdparty.COMPONENTS[0]
    root = fake_tree(tmp_path, comp, "f" * 64)
    for other in thirdparty.COMPONENTS[1:]:
        (root / other.name).mkdir()
        (root / other.name / thirdparty.STAMP).write_text(other.sha256 + "\n")
    r = runner.invoke(cli, ["doctor", "--json"])
    assert r.exit_code == 1
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    bad = checks[f"source {comp.name}"]
    assert bad["status"] == "FAIL" and "f" * 64 in bad["detail"] and comp.sha256 in bad["detail"]
    assert bad["fix"] == "unicycle fetch"
    assert all(checks[f"source {o.name}"]["status"] == "ok" for o in thirdparty.COMPONENTS[1:])


def test_cached_tarball_hashed_again(tmp_path, monkeypatch):
    monkeypatch.setenv("UNICYCLE_CACHE", str(tmp_path / "cache"))
    comp = thirdparty.COMPONENTS[2]
    fake_tree(tmp_path, comp, comp.sha256)
    tarball = doctor.cached_tarball(comp)
    tarball.parent.mkdir(parents=True)
    tarball.write_bytes(b"not the real tarball")
    c = doctor.check_component(comp)
    assert c.status == doctor.FAIL and f"rm {tarball} && unicycle fetch" == c.fix


def test_missing_and_unstamped_sources(tmp_path, monkeypatch):
    monkeypatch.setenv("UNICYCLE_CACHE", str(tmp_path / "cache"))
    comp = thirdparty.COMPONENTS[1]
    c = doctor.check_component(comp)
    assert (c.status, c.fix) == (doctor.FAIL, "unicycle fetch") and "not fetched" in c.detail
    fake_tree(tmp_path, comp, None)
    c = doctor.check_component(comp)
    assert c.status == doctor.FAIL and thirdparty.STAMP in c.detail
    assert paths.third_party_dir() == tmp_path / "cache" / "third_party"


def test_missing_files(monkeypatch, tmp_path):
    c = doctor.check_gnu_efi([str(tmp_path / "libgnuefi.a")])
    assert c.status == doctor.FAIL and "gnu-efi" in c.fix and "libgnuefi.a" in c.detail
    monkeypatch.setattr(tools, "find", lambda name: None)
    c = doctor.check_file("ovmf-code", tools.OVMF_CODE)
    assert c.status == doctor.FAIL and c.fix.endswith("install -y --no-install-recommends ovmf")


def test_kvm_missing_device_is_a_warning_with_modprobe(tmp_path):
    c = doctor.check_kvm(str(tmp_path / "kvm"))
    assert c.status == doctor.WARN and "modprobe kvm_" in c.fix


@pytest.mark.skipif(not os.path.exists(doctor.KVM_DEVICE), reason="no /dev/kvm here")
def test_kvm_here_says_why_the_test_boot_failed(monkeypatch):
    from unicycle import kvm
    monkeypatch.setattr(doctor, "_in_vm", lambda: True)
    monkeypatch.setattr(kvm, "test_boot", lambda accel="kvm": "a test boot failed: boom")
    c = doctor.check_kvm()
    if "permission denied" in c.detail:
        pytest.skip("/dev/kvm not openable by this user")
    assert c.status == doctor.WARN and "API 12" in c.detail, c.detail
    assert "a test boot failed: boom (this host is itself a VM)" in c.detail, c.detail
    monkeypatch.setattr(kvm, "test_boot", lambda accel="kvm": None)
    assert doctor.check_kvm().status == doctor.OK


def test_flash_permissions(monkeypatch):
    class Group:
        gr_gid, gr_mem = 6, ["alice"]
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(doctor.grp, "getgrnam", lambda name: Group)
    monkeypatch.setenv("USER", "bob")
    monkeypatch.setattr(os, "getgroups", lambda: [1000])
    c = doctor.check_flash()
    assert c.status == doctor.WARN and c.fix.startswith("sudo usermod -aG disk $USER")
    monkeypatch.setenv("USER", "alice")            # added, but not in this session yet
    assert "newgrp disk" in doctor.check_flash().fix
    monkeypatch.setattr(os, "getgroups", lambda: [1000, 6])
    assert doctor.check_flash().status == doctor.OK
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert doctor.check_flash().detail.startswith("root")


def test_fix_all_joins_packages_in_one_apt_line():
    checks = [doctor.Check("ninja", doctor.FAIL, "", "x", "ninja-build"),
              doctor.Check("sgdisk", doctor.FAIL, "", "y", "gdisk"),
              doctor.Check("source lwip", doctor.FAIL, "", "unicycle fetch"),
              doctor.Check("source libfdt", doctor.FAIL, "", "unicycle fetch"),
              doctor.Check("kvm", doctor.WARN, "", "modprobe kvm_intel")]
    fixes = doctor.fix_all(checks)
    assert fixes[0].endswith("apt-get install -y --no-install-recommends gdisk ninja-build")
    assert fixes[1:] == ["unicycle fetch"]
    assert not doctor.healthy(checks) and doctor.healthy(checks[-1:])


def test_version_is_the_first_line_and_never_a_complaint(tmp_path):
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho 'tool 1.2 (2021)'\necho 'unrecognized option' >&2\nexit 1\n")
    tool.chmod(0o755)
    assert doctor._version(str(tool)) == "tool 1.2 (2021)"
    tool.write_text("#!/bin/sh\necho 'Option \"-version\" is unknown' >&2\nexit 255\n")
    assert doctor._version(str(tool)) == ""
    tool.write_text("#!/bin/sh\necho; echo '  ' ; echo 'v9 ' >&2\n")
    assert doctor._version(str(tool)) == "v9"
    tool.write_text("#!/bin/sh\necho " + "x" * 100 + "\n")
    assert doctor._version(str(tool)) == "x" * (doctor.VERSION_WIDTH - 3) + "..."


def test_report_colours_status_on_a_terminal_without_breaking_columns(monkeypatch):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    checks = [doctor.Check("gcc", doctor.OK, "/usr/bin/gcc"),
              doctor.Check("ninja", doctor.FAIL, "not found on PATH", "apt-get install x", "x")]
    plain = doctor.report(checks, io.StringIO())
    coloured = doctor.report(checks, Tty())
    assert ESC not in "".join(plain) and ESC in coloured[0] and ESC in coloured[1]
    assert [re.sub(r"\x1b\[[0-9;]*m", "", ln) for ln in coloured] == plain
    assert plain[:2] == ["ok    gcc    /usr/bin/gcc",
                         "FAIL  ninja  not found on PATH  -> fix: apt-get install x"]


def test_every_third_party_module_the_cli_imports_is_checked():
    src = ROOT / "unicycle-cli" / "unicycle"
    used = set()
    for f in src.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                used |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                used.add(node.module.split(".")[0])
    # menuconfig is kconfiglib's own menu (same Debian package, python3-kconfiglib)
    third_party = used - set(sys.stdlib_module_names) - {"unicycle", "menuconfig"}
    assert third_party and third_party <= set(pymodules.BY_NAME), third_party


@pytest.mark.parametrize("name,status", [("jinja2", "FAIL"), ("serial", "warn")])
def test_missing_python_module(runner, monkeypatch, name, status):
    """A module's absence names its Debian package; only pyserial (monitor) is optional."""
    real = pymodules.present
    monkeypatch.setattr(pymodules, "present", lambda m: m.name != name and real(m))
    r = runner.invoke(cli, ["doctor", "--json"])
    assert r.exit_code == (1 if status == "FAIL" else 0), r.stdout
    check = next(c for c in json.loads(r.stdout) if c["name"] == f"python3 {name}")
    package = pymodules.BY_NAME[name].package
    assert check["status"] == status and check["package"] == package
    assert check["fix"].endswith(f"apt-get install -y --no-install-recommends {package}")
    assert pymodules.BY_NAME[name].needed_by in check["detail"]


def test_cli_without_a_module_says_which_package_in_one_line():
    """The CLI imports jinja2 at start; without it `unicycle` (any command) prints one line."""
    code = ("import sys; sys.modules['jinja2'] = None; sys.argv = ['unicycle', 'doctor']; "
            "from unicycle.entry import main; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "Python module jinja2 is missing" in r.stderr and "python3-jinja2" in r.stderr
