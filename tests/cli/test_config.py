"""Configuration precedence: Kconfig < board < manifest < .config < --set, and refusals."""
import pytest

from unicycle import boards, build, config
from unicycle.cli import cli
from unicycle.errors import ConfigError


def resolved(proj, board="qemu-x86_64", sets=()):
    return build.open_project(proj, board, sets).resolved


def test_kconfig_default_then_board(project_from):
    proj = project_from("valid.toml")
    r = resolved(proj, "qemu-x86_64")
    assert r.values["UART_BAUD"] == 115200            # Kconfig default
    assert r.origin("UART_BAUD") == "Kconfig default"
    assert r.values["EXIT_ISA_DEBUG"] is True           # board qemu-x86_64
    assert "board qemu-x86_64" in r.origin("EXIT_ISA_DEBUG")
    q = resolved(proj, "q170m")
    assert q.values["EXIT_ISA_DEBUG"] is False
    assert q.values["VIRTIO_NET"] is False and q.values["E1000E"] is True
    assert q.values["BOARD_NAME"] == "q170m"


def test_board_defaults_yield_to_dependencies(project_from):
    # The board asks for VIRTIO_NET, but without NET it stays off, silently.
    proj = project_from("valid.toml")
    (proj / "unicycle.toml").write_text('[app]\nname = "x"\nsources = ["main.c"]\n')
    r = resolved(proj)
    assert r.values["NET"] is False and r.values["VIRTIO_NET"] is False


def test_manifest_over_board_dotconfig_over_manifest_set_over_all(project_from):
    proj = project_from("valid.toml")
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace("NET = true\n", "NET = true\nUART_BAUD = 9600\nPOLL = false\n"))
    r = resolved(proj)
    assert r.values["UART_BAUD"] == 9600 and r.values["POLL"] is False
    assert r.origin("UART_BAUD").endswith("unicycle.toml:9")
    (proj / ".config").write_text("CONFIG_UART_BAUD=38400\n# CONFIG_NET_DHCP is not set\n")
    r = resolved(proj)
    assert r.values["UART_BAUD"] == 38400 and r.values["NET_DHCP"] is False
    assert r.origin("UART_BAUD").endswith(".config:1")
    assert r.values["POLL"] is False                     # manifest still applies
    r = resolved(proj, sets=("UART_BAUD=57600", "CONFIG_POLL=y"))
    assert r.values["UART_BAUD"] == 57600 and r.values["POLL"] is True
    assert "command line" in r.origin("UART_BAUD")


def test_dotconfig_errors_name_the_line(project_from):
    proj = project_from("valid.toml")
    (proj / ".config").write_text("CONFIG_UART_BAUD=115200\nCONFIG_NOPE=y\n")
    with pytest.raises(ConfigError, match=r"\.config:2: unknown configuration symbol 'NOPE'"):
        resolved(proj)
    (proj / ".config").write_text("garbage line\n")
    with pytest.raises(ConfigError, match=r"\.config:1: expected CONFIG_NAME=value"):
        resolved(proj)


def test_set_refusals_name_the_command_line(runner, project_from):
    proj = project_from("valid.toml")
    (proj / "unicycle.toml").write_text('[app]\nname = "x"\nsources = ["main.c"]\n')
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj),
                                 "--set", "HTTP=y"])
    assert result.exit_code == 2
    assert "command line (--set HTTP=y): HTTP=y needs NET" in result.stderr
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj),
                                 "--set", "UART_BASE=zz"])
    assert result.exit_code == 2 and "expected a hex number" in result.stderr
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj), "--set", "NET"])
    assert result.exit_code == 2 and "expected SYMBOL=VALUE" in result.stderr


def test_config_h_defines(project_from):
    proj = project_from("valid.toml")
    r = resolved(proj, "qemu-x86_64")
    defs = dict(r.defines())
    assert defs["UART_BASE"] == "0x3f8"
    assert defs["NET"] == "1"
    assert defs["APP_NAME"] == '"ok"'
    assert "SMP" not in defs                   # off bools are absent, Linux style
    assert config.c_string('a"b\\') == '"a\\"b\\\\"'
