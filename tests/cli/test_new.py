"""`unicycle new`: the skeleton, its manifest, and refusing to overwrite."""
from unicycle import manifest
from unicycle.cli import cli


def test_new_hello(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "myapp"])
    assert result.exit_code == 0, result.stderr
    proj = tmp_path / "myapp"
    for f in ("unicycle.toml", "src/main.c", ".gitignore", "README.md"):
        assert (proj / f).is_file(), f
    m = manifest.load(proj / "unicycle.toml")
    assert m.name == "myapp" and m.board == "qemu-x86_64"
    assert 'uc_printf("Hello from myapp\\n")' in (proj / "src/main.c").read_text()
    assert "build/" in (proj / ".gitignore").read_text()


def test_new_refuses_non_empty_dir(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = runner.invoke(cli, ["new", "taken"])
    assert result.exit_code == 2
    assert "not empty; refusing to overwrite" in result.stderr
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["keep.txt"]


def test_new_into_empty_dir_and_bad_names(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert runner.invoke(cli, ["new", "empty"]).exit_code == 0
    result = runner.invoke(cli, ["new", "bad name"])
    assert result.exit_code == 2 and "invalid project name" in result.stderr
    result = runner.invoke(cli, ["new", "x", "--template", "nope"])
    assert result.exit_code == 2


def test_new_kv_is_the_example(runner, tmp_path, monkeypatch):
    """--template kv: the kv example's code, a manifest that lists every
    source the example's manifest lists, and the same boot settings."""
    from pathlib import Path
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "mykv", "--template", "kv"])
    assert result.exit_code == 0, result.stderr
    proj = tmp_path / "mykv"
    example = Path(__file__).resolve().parents[2] / "examples" / "kv"
    for src in sorted((example / "src").iterdir()):
        assert (proj / "src" / src.name).read_text() == src.read_text(), src.name
    m = manifest.load(proj / "unicycle.toml")
    ex = manifest.load(example / "unicycle.toml")
    assert m.name == "mykv" and m.board == "qemu-x86_64"
    assert sorted(p.relative_to(proj) for p in m.sources) == \
        sorted(p.relative_to(example) for p in ex.sources)
    assert m.boot.get("cmdline") == ex.boot.get("cmdline")
    assert (proj / ".gitignore").is_file() and "redis-cli" in (proj / "README.md").read_text()


def test_new_tcp_echo(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["new", "echo", "--template", "tcp-echo"])
    assert result.exit_code == 0, result.stderr
    proj = tmp_path / "echo"
    m = manifest.load(proj / "unicycle.toml")
    assert m.name == "echo" and m.config == {"NET": True}
    main = (proj / "src/main.c").read_text()
    assert "#include <unicycle/tcp.h>" in main and "uc_tcp_listen(NULL, ECHO_PORT" in main
    assert "{{" not in main and "echo: idle" in main
    assert "unicycle run --forward 7007:7" in (proj / "README.md").read_text()
