"""build --sign-efi / [secure-boot] and run --secure-boot without booting: every bad key or
certificate is one line naming the file, exit 2, before anything is written; the QEMU command
line for Secure Boot; the signing step leaves nothing half-written when sbsign fails."""
import datetime
import os
from pathlib import Path

import pytest

from unicycle import efisign, qemu, tools
from unicycle.cli import cli

PASS = efisign.PASSPHRASE_ENV


def _cert_for(key, name="test"):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime(2025, 1, 1)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))


def _pem(key, password=None) -> bytes:
    from cryptography.hazmat.primitives import serialization as s
    enc = s.BestAvailableEncryption(password) if password else s.NoEncryption()
    return key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, enc)


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(tmp_path, rsa_key):
    """A matching key.pem/cert.pem pair outside any project."""
    from cryptography.hazmat.primitives import serialization as s
    d = tmp_path / "keys"
    d.mkdir()
    (d / "key.pem").write_bytes(_pem(rsa_key))
    (d / "cert.pem").write_bytes(_cert_for(rsa_key).public_bytes(s.Encoding.PEM))
    return d


def _build(runner, proj, key, cert, *extra):
    return runner.invoke(cli, ["build", "-C", str(proj), "--sign-efi", str(key), str(cert),
                               *extra])


def _one_error(r) -> str:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_missing_key_or_cert_is_named(runner, project_from, keys):
    proj = project_from("valid.toml")
    line = _one_error(_build(runner, proj, keys / "nope.pem", keys / "cert.pem"))
    assert f"{keys / 'nope.pem'}: private key file not found (from --sign-efi)" in line
    line = _one_error(_build(runner, proj, keys / "key.pem", keys / "gone.pem"))
    assert f"{keys / 'gone.pem'}: certificate file not found" in line
    assert not (proj / "build").exists()


def test_not_pem_and_directories_are_refused(runner, project_from, keys):
    proj = project_from("valid.toml")
    (keys / "key.der").write_bytes(b"\x30\x82\x04\xa4" + os.urandom(64))
    line = _one_error(_build(runner, proj, keys / "key.der", keys / "cert.pem"))
    assert f"{keys / 'key.der'}: the private key is not PEM" in line and "-inform DER" in line
    line = _one_error(_build(runner, proj, keys / "key.pem", keys / "key.pem"))
    assert f"{keys / 'key.pem'}: not a PEM X.509 certificate" in line
    (keys / "bad.pem").write_text("-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n"
                                  "-----END PRIVATE KEY-----\n")
    line = _one_error(_build(runner, proj, keys / "bad.pem", keys / "cert.pem"))
    assert f"{keys / 'bad.pem'}: not a PEM private key" in line
    line = _one_error(_build(runner, proj, keys, keys / "cert.pem"))
    assert f"'{keys}' is a directory" in line
    with pytest.raises(efisign.InputError, match=f"{keys}: private key is a directory"):
        efisign.check(efisign.Signing(keys, keys / "cert.pem", "unicycle.toml:9"))
    assert not (proj / "build").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_key_is_named(runner, project_from, keys):
    proj = project_from("valid.toml")
    (keys / "key.pem").chmod(0)
    line = _one_error(_build(runner, proj, keys / "key.pem", keys / "cert.pem"))
    assert f"{keys / 'key.pem'}: cannot read the private key: Permission denied" in line


def test_key_inside_build_is_refused(runner, project_from, keys):
    proj = project_from("valid.toml")
    inside = proj / "build" / "secret"
    inside.mkdir(parents=True)
    (inside / "key.pem").write_bytes((keys / "key.pem").read_bytes())
    line = _one_error(_build(runner, proj, inside / "key.pem", keys / "cert.pem"))
    assert f"{inside / 'key.pem'}: the private key is inside {proj / 'build'}" in line
    assert sorted(p.name for p in (proj / "build").iterdir()) == ["secret"]


def test_key_of_another_certificate_is_refused(runner, project_from, keys):
    proj = project_from("valid.toml")
    line = _one_error(_build(runner, proj, keys / "key.pem", tools.SNAKEOIL_CERT))
    assert (f"{keys / 'key.pem'}: this private key does not belong to the certificate "
            f"{tools.SNAKEOIL_CERT} (subject O=SnakeOil") in line
    assert not (proj / "build").exists()


def test_non_rsa_key_is_refused(runner, project_from, keys):
    from cryptography.hazmat.primitives.asymmetric import ec
    proj = project_from("valid.toml")
    key = ec.generate_private_key(ec.SECP256R1())
    (keys / "ec.pem").write_bytes(_pem(key))
    line = _one_error(_build(runner, proj, keys / "ec.pem", keys / "cert.pem"))
    assert "Secure Boot needs an RSA key of at least 2048 bits" in line and "EllipticCurve" in line


def test_encrypted_key_needs_its_passphrase(runner, project_from, keys, rsa_key, monkeypatch):
    proj = project_from("valid.toml")
    (keys / "enc.pem").write_bytes(_pem(rsa_key, b"right"))
    monkeypatch.delenv(PASS, raising=False)
    line = _one_error(_build(runner, proj, keys / "enc.pem", keys / "cert.pem"))
    assert f"{keys / 'enc.pem'}: the private key is encrypted" in line and PASS in line
    monkeypatch.setenv(PASS, "wrong")
    line = _one_error(_build(runner, proj, keys / "enc.pem", keys / "cert.pem"))
    assert "cannot decrypt the private key" in line and "wrong passphrase" in line
    monkeypatch.setenv(PASS, "right")
    assert efisign.check(efisign.from_option((keys / "enc.pem", keys / "cert.pem"))) == \
        _pem(rsa_key)                       # decrypted in memory, for sbsign's pipe
    assert not (proj / "build").exists()


def test_manifest_secure_boot_paths_are_relative_to_the_project(runner, project_from, keys):
    proj = project_from("valid.toml")
    with open(proj / "unicycle.toml", "a") as f:
        f.write(f'\n[secure-boot]\nkey = "keys/missing.pem"\ncert = "{keys / "cert.pem"}"\n')
    r = runner.invoke(cli, ["build", "-C", str(proj), "-b", "qemu-x86_64"])
    line = _one_error(r)
    assert f"{proj / 'keys' / 'missing.pem'}: private key file not found (from " \
           f"{proj / 'unicycle.toml'}:" in line
    assert not (proj / "build").exists()


def test_manifest_secure_boot_needs_both_paths(runner, project_from):
    proj = project_from("valid.toml")
    with open(proj / "unicycle.toml", "a") as f:
        f.write('\n[secure-boot]\nkey = "k.pem"\n')
    line = _one_error(runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj)]))
    assert "secure-boot" in line and "'cert' is required" in line


def test_build_ninja_signs_with_paths_only(runner, project_from, keys):
    """The sign step, the image and netboot/ take the signed loader; the key's path (never
    its bytes) is in build.ninja, and --sign-efi survives regeneration."""
    from unicycle import build
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64",
                              sign_efi=(keys / "key.pem", keys / "cert.pem"))
    build.generate(proj)
    text = (proj.build_dir / "build.ninja").read_text()
    assert "build BOOTX64.signed.efi: sign_efi BOOTX64.EFI | " \
           f"{keys / 'key.pem'} {keys / 'cert.pem'}" in text
    assert "build unicycle.img: package BOOTX64.signed.efi app.elf boot.cfg" in text
    assert "build netboot/unicycle/payload.cfg: netboot BOOTX64.signed.efi" in text
    assert f"--sign-efi {keys / 'key.pem'} {keys / 'cert.pem'}" in text
    assert "PRIVATE KEY" not in text
    unsigned = build.open_project(proj.manifest.root, "qemu-x86_64")
    build.generate(unsigned)
    text = (proj.build_dir / "build.ninja").read_text()
    assert "sign_efi" not in text and "build unicycle.img: package BOOTX64.EFI" in text


def test_failed_sbsign_leaves_no_output(runner, tmp_path, keys):
    not_pe = tmp_path / "BOOTX64.EFI"
    not_pe.write_bytes(b"not a PE file")
    out = tmp_path / "BOOTX64.signed.efi"
    r = runner.invoke(cli, ["_sign-efi", "--key", str(keys / "key.pem"), "--cert",
                            str(keys / "cert.pem"), "--out", str(out), str(not_pe)])
    assert r.exit_code == 1, r.stderr
    assert "error: sbsign" in r.stderr and "failed" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BOOTX64.EFI", "keys"]


def test_secure_boot_command_line(project_from, tmp_path):
    from unicycle import build
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    proj.image.parent.mkdir(parents=True)
    proj.image.write_bytes(b"\0" * 512)
    cmd = qemu.command(qemu.spec_for(proj, workdir=tmp_path, secure_boot=True))
    assert cmd[cmd.index("-machine") + 1] == "q35,smm=on"
    assert "driver=cfi.pflash01,property=secure,value=on" in cmd
    assert f"if=pflash,format=raw,readonly=on,file={tools.OVMF_CODE_SECBOOT}" in cmd
    vars_copy = tmp_path / Path(tools.OVMF_VARS_SNAKEOIL).name
    assert f"if=pflash,format=raw,file={vars_copy}" in cmd
    assert vars_copy.read_bytes() == Path(tools.OVMF_VARS_SNAKEOIL).read_bytes()
    plain = qemu.command(qemu.spec_for(proj, workdir=tmp_path))
    assert plain[plain.index("-machine") + 1] == "q35"
    assert not any("property=secure" in a for a in plain)


def test_secure_boot_with_direct_is_refused(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["run", "-C", str(proj), "-b", "qemu-x86_64", "--secure-boot",
                            "--direct", "--no-build"])
    assert "give one of --secure-boot and --direct" in _one_error(r)


def _pe(cert_table_size: int) -> bytes:
    """A PE32+ header whose Certificate Table (data directory 4) has this size."""
    import struct
    head = bytearray(0x200)
    head[:2] = b"MZ"
    struct.pack_into("<I", head, efisign.PE_LFANEW, 0x80)
    head[0x80:0x84] = efisign.PE_SIGNATURE
    opt = 0x80 + 4 + efisign.COFF_HEADER_SIZE
    struct.pack_into("<H", head, opt, efisign.PE32PLUS_MAGIC)
    struct.pack_into("<II", head, opt + efisign.PE32PLUS_DIRECTORIES + 4 * 8, 0x1f0,
                     cert_table_size)
    return bytes(head)


def test_has_signature_reads_the_certificate_table(tmp_path):
    f = tmp_path / "x.efi"
    for data, signed in ((_pe(0x100), True), (_pe(0), False), (b"MZ", False),
                         (_pe(0x100).replace(b"PE\0\0", b"PX\0\0"), False)):
        f.write_bytes(data)
        assert efisign.has_signature(f) is signed


@pytest.mark.parametrize("build_first, signing, loader, warned", [
    (False, False, _pe(0), True),            # --no-build: the last build's loader decides
    (False, False, _pe(0x100), False),
    (True, False, _pe(0x100), True),         # building: whether this build signs decides
    (True, True, _pe(0), False),
], ids=["last-build-unsigned", "last-build-signed", "build-unsigned", "build-signed"])
def test_secure_boot_warns_when_the_loader_is_unsigned(runner, project_from, keys, monkeypatch,
                                                       build_first, signing, loader, warned):
    from unicycle import build
    proj = project_from("valid.toml")
    tree = proj / "build" / "qemu-x86_64" / "netboot"
    tree.mkdir(parents=True)
    (tree / "BOOTX64.EFI").write_bytes(loader)
    seen = {}
    monkeypatch.setattr(qemu, "run", lambda spec, timeout=None, elf=None:
                        seen.setdefault("spec", spec) and qemu.Outcome(1, 0, False, 1.0))
    monkeypatch.setattr(build, "build", lambda *a, **k: None)
    args = ["run", "-C", str(proj), "-b", "qemu-x86_64", "--secure-boot"]
    args += [] if build_first else ["--no-build"]
    args += ["--sign-efi", str(keys / "key.pem"), str(keys / "cert.pem")] if signing else []
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.stderr
    assert ("BOOTX64.EFI is not signed" in r.stderr) is warned, r.stderr
    assert seen["spec"].secure_boot


REFUSAL = (b'BdsDxe: failed to load Boot0002 "UEFI QEMU HARDDISK QM00001 " from '
           b'PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0): Access Denied\r\n')


def test_refusal_watch_finds_the_line_across_chunks():
    w = qemu.RefusalWatch()
    console = (b'BdsDxe: failed to load Boot0001 "UEFI QEMU DVD-ROM QM00005 " from '
               b'PciRoot(0x0): Not Found\r\n' + REFUSAL + b"BdsDxe: loading Boot0003\r\n")
    hits = [w.feed(console[i:i + 7]) for i in range(0, len(console), 7)]
    assert hits.count(True) == 1
    assert w.line.startswith("BdsDxe: failed to load Boot0002") and w.line.endswith("Access Denied")
    other = qemu.RefusalWatch()
    assert not other.feed(b"BdsDxe: failed to load Boot0001 x: Not Found\r\nAccess Denied\r\n")


def test_refused_outcome_says_so_and_is_not_an_app_status():
    out = qemu.Outcome(0, None, False, 9.0, 60.0, refused=REFUSAL.decode().strip())
    assert out.exit_code == qemu.EXIT_NO_STATUS
    assert out.summary() == ("unicycle: the firmware refused BOOTX64.EFI under Secure Boot (not "
                             "signed by a key in its db, or changed after signing); QEMU stopped")
