"""`unicycle clean [--all] [--yes]`: what it removes, what it keeps, when it asks."""
import pytest

from unicycle import clean, paths
from unicycle.cli import cli


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Third-party and bench caches in tmp (never the real tree's)."""
    monkeypatch.setenv("UNICYCLE_CACHE", str(tmp_path / "cache"))
    bench = tmp_path / "tree-cache" / "bench"
    monkeypatch.setattr(clean, "bench_cache_dir", lambda: bench)
    tp = paths.third_party_dir()
    (tp / "lwip").mkdir(parents=True)
    (tp / "lwip" / "a.c").write_bytes(b"x" * 3000)
    (bench / "linux").mkdir(parents=True)
    (bench / "linux" / "vmlinuz").write_bytes(b"k" * 5000)
    apt = tmp_path / "cache" / "apt-src" / "out"
    apt.mkdir(parents=True)
    (apt / "lwip.orig.tar.xz").write_bytes(b"t")
    return tp, bench, apt


def built(project_from):
    proj = project_from("valid.toml")
    for board in ("qemu-x86_64", "q170m"):
        (proj / "build" / board).mkdir(parents=True)
        (proj / "build" / board / "app.elf").write_bytes(b"e" * 2048)
    (proj / ".config").write_text("CONFIG_UART_BAUD=9600\n")
    return proj


def test_clean_removes_build_only(runner, project_from, caches):
    proj = built(project_from)
    r = runner.invoke(cli, ["clean", "-C", str(proj)])
    assert r.exit_code == 0, r.stderr
    assert not (proj / "build").exists()
    assert (proj / ".config").is_file() and (proj / "unicycle.toml").is_file()
    assert "removing" in r.stdout and "q170m, qemu-x86_64" in r.stdout
    assert r.stdout.splitlines()[-1].startswith("removed 1 folder(s), ")
    tp, bench, apt = caches
    assert tp.is_dir() and bench.is_dir()                 # caches only with --all
    r = runner.invoke(cli, ["clean", "-C", str(proj)])
    assert r.exit_code == 0 and r.stdout.startswith("nothing to remove")


def test_clean_all_asks_and_says_what(runner, project_from, caches):
    proj = built(project_from)
    tp, bench, apt = caches
    r = runner.invoke(cli, ["clean", "-C", str(proj), "--all"], input="n\n")
    assert r.exit_code == 1 and "Aborted" in r.stderr
    assert (proj / "build").is_dir() and tp.is_dir() and bench.is_dir()  # said no: all kept
    for path in (tp, bench, proj / "build"):
        assert f"will remove {path}/" in r.stdout
    assert "`unicycle fetch` makes it again" in r.stdout
    r = runner.invoke(cli, ["clean", "-C", str(proj), "--all"], input="y\n")
    assert r.exit_code == 0, r.stderr
    assert not (proj / "build").exists() and not tp.exists() and not bench.exists()
    assert (apt / "lwip.orig.tar.xz").is_file()          # downloads kept: fetch works offline
    assert (proj / ".config").is_file()
    assert "removed 3 folder(s), " in r.stdout


def test_clean_all_yes_does_not_ask(runner, project_from, caches):
    proj = built(project_from)
    r = runner.invoke(cli, ["clean", "-C", str(proj), "--all", "--yes"])
    assert r.exit_code == 0, r.stderr
    assert "remove all of the above?" not in r.stdout
    assert not caches[0].exists() and not caches[1].exists()


def test_clean_sizes(project_from, caches):
    proj = built(project_from)
    sizes = {t.path.name: t.size for t in clean.plan(proj, everything=True)}
    assert sizes["third_party"] >= 3000 and sizes["bench"] >= 5000 and sizes["build"] >= 4096


def test_clean_outside_a_project(runner, tmp_path, caches):
    other = tmp_path / "not-a-project"
    (other / "build").mkdir(parents=True)
    for args in (["clean", "-C", str(other)], ["clean", "-C", str(other), "--all", "--yes"]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 2
        assert r.stderr.startswith("error: ") and "no unicycle.toml here" in r.stderr
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert (other / "build").is_dir() and caches[0].is_dir()
