"""Third-party sources: checksum verification and unpacking only what is used."""
import hashlib
import io
import tarfile

import pytest

from unicycle import thirdparty
from unicycle.errors import SetupError


def make_tarball(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_mismatch_is_refused_with_both_hashes(tmp_path):
    tb = tmp_path / "x.orig.tar.gz"
    real = make_tarball(tb, {"x-1/a.c": b"int a;"})
    comp = thirdparty.Component("x", "x", tb.name, "0" * 64, "x-1/")
    with pytest.raises(SetupError) as e:
        thirdparty.verify(comp, tb)
    assert "SHA-256 mismatch" in str(e.value) and real in str(e.value) and "0" * 64 in str(e.value)


def test_unpack_keeps_only_selected(tmp_path):
    tb = tmp_path / "x.orig.tar.gz"
    digest = make_tarball(tb, {"x-1/src/a.c": b"int a;", "x-1/test/t.c": b"t",
                               "other/z.c": b"z"})
    comp = thirdparty.Component("x", "x", tb.name, digest, "x-1/", ("src",))
    thirdparty.verify(comp, tb)
    root = tmp_path / "tp"
    thirdparty.unpack(comp, tb, root)
    assert (root / "x" / "src" / "a.c").read_bytes() == b"int a;"
    assert not (root / "x" / "test").exists()
    assert thirdparty.is_ready(comp, root)
    assert not thirdparty.is_ready(thirdparty.Component("x", "x", tb.name, "1" * 64, "x-1/"), root)


def test_pinned_checksums_match_design():
    pins = {c.name: c.sha256 for c in thirdparty.COMPONENTS}
    assert pins["lwip"].startswith("0a8276d0") and pins["libfdt"].startswith("e75da6f0")
    assert pins["http-parser"].startswith("467b9e30")
