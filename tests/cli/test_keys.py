"""`unicycle keys generate`, the signing policy (board and manifest), payload.cfg and
payload.sig as the build writes them, and the key header BOOTX64.EFI is built with."""
import hashlib
import os
import subprocess

import pytest

from unicycle import build, netboot, signing
from unicycle.cli import cli
from unicycle.errors import InputError


def test_keys_generate_writes_a_0600_key_outside_and_names_it(runner, project_from, tmp_path,
                                                              monkeypatch):
    proj = project_from("valid.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    r = runner.invoke(cli, ["keys", "generate", "-C", str(proj)])
    assert r.exit_code == 0, r.output
    key = tmp_path / "config" / "unicycle" / "keys" / "ok.pem"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600
    assert (key.parent.stat().st_mode & 0o777) == 0o700
    assert f'key = "{key}"' in (proj / "unicycle.toml").read_text()
    kid = signing.key_id(signing.public_point(key))
    assert f"key id {kid}" in r.output
    # Never a second key over the first, nor a second [signing] key line.
    r = runner.invoke(cli, ["keys", "generate", "-C", str(proj)])
    assert r.exit_code == 2 and "already names a key" in r.stderr
    assert (proj / "unicycle.toml").read_text().count("key = ") == 1


def test_keys_generate_refuses_build_and_existing_files(runner, project_from, tmp_path):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["keys", "generate", "-C", str(proj), "--out",
                            str(proj / "build" / "k.pem")])
    assert r.exit_code == 2 and "keep private keys out of build/" in r.stderr
    taken = tmp_path / "taken.pem"
    taken.write_text("not mine")
    r = runner.invoke(cli, ["keys", "generate", "-C", str(proj), "--out", str(taken)])
    assert r.exit_code == 2 and "not overwriting" in r.stderr
    assert taken.read_text() == "not mine" and "[signing]" not in (proj / "unicycle.toml").read_text()


def _with_signing(proj, text):
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text() + "\n[signing]\n" + text)


def test_policy_board_default_and_manifest_override(project_from, tmp_path):
    proj = project_from("valid.toml")
    with pytest.raises(InputError, match=r"board q170m requires signed payloads .* "
                                         r"`unicycle keys generate`"):
        build.generate(build.open_project(proj, "q170m"))
    assert signing.policy(build.open_project(proj, "qemu-x86_64")).require is False
    _with_signing(proj, "require-signature = false\n")
    pol = signing.policy(build.open_project(proj, "q170m"))
    assert (pol.require, pol.key) == (False, None) and "unicycle.toml:" in pol.origin


@pytest.mark.parametrize("content,match", [
    (None, "not found"),
    ("garbage\n", "not a readable PEM private key"),
    ("rsa", "not an ECDSA P-256 key"),
])
def test_bad_keys_are_named(project_from, tmp_path, content, match):
    proj = project_from("valid.toml")
    key = tmp_path / "bad.pem"
    if content == "rsa":
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:1024", "-out", str(key)], check=True,
                       capture_output=True)
    elif content is not None:
        key.write_text(content)
    _with_signing(proj, f'key = "{key}"\n')
    with pytest.raises(InputError, match=match) as e:
        build.generate(build.open_project(proj, "q170m"))
    assert str(key) in str(e.value)


def test_bootkey_header_and_a_signature_openssl_and_the_format_agree(project_from, tmp_path):
    proj = project_from("valid.toml")
    key = tmp_path / "k.pem"
    signing.generate_key(key)
    _with_signing(proj, f'key = "{key}"\n')
    p = build.open_project(proj, "q170m")
    build.generate(p)
    header = (proj / "build" / "q170m" / "gen" / "bootkey.h").read_text()
    point = signing.public_point(key)
    assert "#define BOOT_REQUIRE_SIGNATURE 1" in header and "#define BOOT_HAVE_KEY 1" in header
    assert f'#define BOOT_KEY_ID "{signing.key_id(point)}"' in header
    assert ", ".join(f"0x{b:02x}" for b in point) in header
    # payload.cfg + payload.sig as ninja's _payload step writes them
    elf, cfg, out = tmp_path / "app.elf", tmp_path / "boot.cfg", tmp_path / "payload.cfg"
    elf.write_bytes(b"\x7fELF" + b"x" * 100)
    cfg.write_text("cmdline = debug\n")
    signing.write_payload(elf, cfg, out, key)
    m = netboot.parse_manifest(out.read_text())
    assert m["sha256"] == hashlib.sha256(elf.read_bytes()).hexdigest()
    assert m["config-sha256"] == hashlib.sha256(cfg.read_bytes()).hexdigest()
    sig = netboot.parse_manifest((tmp_path / "payload.sig").read_text())
    assert sig["key-id"] == signing.key_id(point) and sig["scheme"] == "ecdsa-p256-sha256"
    (tmp_path / "sig.der").write_bytes(bytes.fromhex(sig["signature"]))
    pub = tmp_path / "pub.pem"
    pub.write_bytes(subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"],
                                   capture_output=True, check=True).stdout)
    ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature",
                         str(tmp_path / "sig.der"), str(out)], capture_output=True)
    assert ok.returncode == 0, ok.stderr
    # unsigned again: no stale payload.sig left behind
    signing.write_payload(elf, cfg, out, None)
    assert not (tmp_path / "payload.sig").exists()


def test_rollback_is_the_build_time_or_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert signing.rollback_now() == 1700000000
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert signing.rollback_now() > 1700000000
