"""Manifest validation: every kind of bad input ends in one clear line, exit 2."""
import pytest

from unicycle import manifest
from unicycle.cli import cli
from unicycle.errors import ManifestError

# fixture -> fragments the one-line error must contain (besides the file name)
CASES = {
    "invalid_syntax.toml": ["TOML syntax error", "line 2"],
    "invalid_unknown_key.toml": [":4:", "app.colour", "unknown key 'colour'"],
    "invalid_wrong_type.toml": [":3:", "app.sources", "expected array"],
    "invalid_unknown_board.toml": [":4:", "app.board", "unknown board 'pdp11'", "qemu-x86_64"],
    "invalid_missing_source.toml": [":3:", "app.sources[1]", "'missing.c' does not exist"],
    "invalid_missing_name.toml": ["app", "'name' is required"],
    "invalid_static_without_address.toml": [":6:", "network.address", "required"],
    "invalid_bad_address.toml": [":7:", "network.address", "not a valid"],
    "invalid_bad_dns.toml": [":6:", "network.dns[1]", "'10.0.0.256' is not a valid"],
    "invalid_version.toml": [":1:", "manifest-version", "version 1"],
    "invalid_unknown_symbol.toml": [":6:", "unknown configuration symbol 'NOT_A_SYMBOL'"],
    "invalid_config_deps.toml": [":6:", "HTTP=y needs NET", "off"],
    "invalid_config_type.toml": [":6:", "UART_BAUD", "expected an integer"],
    "invalid_config_range.toml": [":6:", "NR_CPUS", "range 1..256"],
    "invalid_name.toml": [":2:", "app.name", "'bad name!'"],
    "invalid_boot_type.toml": [":6:", "boot.cmdline", "expected string"],
    "invalid_boot_cmdline.toml": [":6:", "boot.cmdline", "no '#'"],
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_invalid_manifest_is_one_line_exit_2(runner, project_from, fixture):
    proj = project_from(fixture)
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj)])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert "Traceback" not in result.stderr
    if fixture not in ("invalid_unknown_symbol.toml",):
        assert "unicycle.toml" in line
    for fragment in CASES[fixture]:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert not (proj / "build").exists(), "nothing may be written for a bad manifest"


def test_every_invalid_fixture_is_covered():
    from conftest import FIXTURES
    assert {p.name for p in FIXTURES.glob("invalid_*.toml")} == set(CASES)


def test_valid_manifest_loads(project_from):
    proj = project_from("valid.toml")
    m = manifest.load(proj / "unicycle.toml", known_boards={"q170m", "qemu-x86_64"})
    assert m.name == "ok"
    assert m.board == "q170m"
    assert m.sources == [proj / "main.c"]
    assert m.network == {"mode": "static", "address": "10.0.0.2/24", "gateway": "10.0.0.1"}
    assert m.boot["cmdline"] == "debug"
    assert m.config == {"NET": True}


def test_missing_manifest_names_the_fix(runner, tmp_path):
    result = runner.invoke(cli, ["build", "-C", str(tmp_path)])
    assert result.exit_code == 2
    assert "no unicycle.toml here" in result.stderr
    assert "unicycle new" in result.stderr


def test_library_raises_typed_error(project_from):
    proj = project_from("invalid_unknown_key.toml")
    with pytest.raises(ManifestError):
        manifest.load(proj / "unicycle.toml")


def test_verbose_shows_traceback(runner, project_from):
    proj = project_from("invalid_unknown_key.toml")
    result = runner.invoke(cli, ["-v", "build", "--regenerate-only", "-C", str(proj)])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
