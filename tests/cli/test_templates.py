"""Template rendering: StrictUndefined, escaping, and the generated files' content."""
import pytest

from unicycle import build, ninjafile, render
from unicycle.errors import BuildError


def test_missing_value_is_an_error(tmp_path):
    (tmp_path / "t.j2").write_text("x = {{ nothing }}\n")
    with pytest.raises(BuildError, match="'nothing' is undefined"):
        render.render("t.j2", {}, tmp_path)


def test_ninja_escape():
    assert ninjafile.escape_path("a b:c$d") == "a$ b$:c$$d"
    with pytest.raises(BuildError):
        ninjafile.escape_path("a\nb")


def test_write_if_changed_keeps_mtime(tmp_path):
    f = tmp_path / "x.h"
    assert render.write_if_changed(f, "one")
    before = f.stat().st_mtime_ns
    assert not render.write_if_changed(f, "one")
    assert f.stat().st_mtime_ns == before
    assert render.write_if_changed(f, "two") and f.read_text() == "two"


def _signed(proj):
    """q170m requires signed payloads: give the project a key (outside it)."""
    from unicycle import signing
    signing.keys_generate(proj, proj.parent / "keys" / "ok.pem")
    return proj


def test_generated_files(project_from):
    proj = _signed(project_from("valid.toml"))
    p = build.open_project(proj, "q170m")
    build.generate(p)
    out = proj / "build" / "q170m"
    cfg = (out / "gen" / "config.h").read_text()
    assert '#define CONFIG_BOARD_NAME "q170m"' in cfg
    assert "#define CONFIG_E1000E 1" in cfg
    assert "CONFIG_VIRTIO_NET" not in cfg
    assert "CONFIG_EXIT_ISA_DEBUG" not in cfg
    ninja = (out / "build.ninja").read_text()
    assert "drivers/virtio" not in ninja
    assert "lwip/src/core/tcp.c" in ninja
    boot = (out / "boot.cfg").read_text()
    assert "cmdline = debug" in boot
    assert "net = static" in boot and "address = 10.0.0.2/24" in boot
    assert "gateway = 10.0.0.1" in boot


def test_dns_servers_reach_boot_cfg(project_from):
    proj = project_from("valid.toml")
    _signed(proj)
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace('gateway = "10.0.0.1"',
                                             'gateway = "10.0.0.1"\ndns = ["10.0.0.53", "9.9.9.9"]'))
    p = build.open_project(proj, "q170m")
    build.generate(p)
    boot = (proj / "build" / "q170m" / "boot.cfg").read_text()
    assert "\ndns = 10.0.0.53 9.9.9.9\n" in boot
    toml.write_text(toml.read_text().replace('dns = ["10.0.0.53", "9.9.9.9"]', ""))
    build.generate(build.open_project(proj, "q170m"))
    assert "dns" not in (proj / "build" / "q170m" / "boot.cfg").read_text()


def test_net_off_leaves_lwip_and_drivers_out(project_from):
    proj = project_from("valid.toml")
    (proj / "unicycle.toml").write_text('[app]\nname = "x"\nsources = ["main.c"]\n')
    p = build.open_project(proj, "qemu-x86_64")
    build.generate(p)
    ninja = (proj / "build" / "qemu-x86_64" / "build.ninja").read_text()
    assert "lwip/src/core" not in ninja and "http_parser.c" not in ninja
    assert "drivers/virtio" not in ninja and "drivers/e1000e" not in ninja
    assert not (proj / "build" / "qemu-x86_64" / "gen" / "lwipopts.h").exists()


def test_ninja_writer_escapes_each_context():
    w = ninjafile.Writer()
    w.variable("python", ["/opt/a b/$HOME,x/python3"])
    w.variable("flags", [ninjafile.Ref("$base"), "-I/x y", "-DQ='1'"])
    w.build("obj/a b:c$d.o", "cc", ["/src/we$(ird) one.c"], implicit=["/l d/linker.ld"],
            variables={"cflags": ninjafile.Ref("$flags"), "desc": "app: we$(ird) one.c"})
    assert w.lines == [
        "python = '/opt/a b/$$HOME,x/python3'",
        "flags = $base '-I/x y' '-DQ='\"'\"'1'\"'\"''",
        "build obj/a$ b$:c$$d.o: cc /src/we$$(ird)$ one.c | /l$ d/linker.ld",
        "  cflags = $flags",
        "  desc = app: we$$(ird) one.c",
    ]
    with pytest.raises(BuildError, match="'|' in a path"):
        ninjafile.escape_path("a|b")
    with pytest.raises(BuildError, match="newline"):
        w.variable("desc", "a\nb")


def test_sources_toml_lists_every_component_once(project_from):
    from unicycle import components
    comps = {c.name: c for c in components.load()}
    assert comps["bootloader"].binary == "bootloader" and comps["kernel"].binary == "runtime"
    boot_fdt = [f.name for f in comps["bootloader-libfdt"].files()]
    assert "fdt_sw.c" in boot_fdt and "fdt_sw.c" not in [f.name for f in comps["libfdt"].files()]
    frag = components.make_fragment()
    assert f"COMPONENT_bootloader-libfdt := {comps['bootloader-libfdt'].root}/fdt.c " in frag
    assert f"COMPONENT_http-parser_INCLUDES := -I{comps['http-parser'].root}" in frag
    # build.ninja compiles exactly the listed files, bootloader included.
    p = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    build.generate(p)
    ninja = (p.build_dir / "build.ninja").read_text()
    for name in ("bootloader", "bootloader-lib", "bootloader-libfdt", "libfdt", "kernel"):
        for f in comps[name].files():
            assert f" cc {f}\n" in ninja, f


def test_sources_toml_with_a_component_twice_is_refused(tmp_path):
    from unicycle import components, paths
    text = (paths.runtime_dir() / "sources.toml").read_text()
    bad = tmp_path / "sources.toml"
    bad.write_text(text + '\n[[component]]\nname = "kernel"\nsources = ["x.c"]\n')
    with pytest.raises(BuildError) as e:
        components.load(bad)
    line = len(text.splitlines()) + 3
    first = text.splitlines().index('name = "kernel"') + 1
    assert str(e.value) == (f"{bad}:{line}: component.name: 'kernel' is listed twice "
                            f"(first at line {first})")


def _object_flags(ninja: str) -> dict:
    """build.ninja's app.elf sources -> the cflags variable each compiles with ("rt_cflags", ...)."""
    out, src = {}, None
    for line in ninja.splitlines():
        if line.startswith("build obj/") and ": cc " in line:
            src = line.split(": cc ", 1)[1].split(" | ")[0]
        elif src and line.startswith("  cflags = $"):
            if line != "  cflags = $efi_cflags":   # BOOTX64.EFI's
                out[src] = line.split("$", 1)[1]
            src = None
    return out


@pytest.mark.parametrize("san,flag", [("KASAN", "-fsanitize=kernel-address"),
                                      ("UBSAN", "-fsanitize=undefined")])
def test_sanitizers_instrument_all_but_unsanitized_files(project_from, san, flag):
    proj = project_from("valid.toml")
    p = build.open_project(proj, "qemu-x86_64", sets=[f"{san}=y"])
    build.generate(p)
    ninja = (p.build_dir / "build.ninja").read_text()
    san_line = next(line for line in ninja.splitlines() if line.startswith("san_cflags = "))
    assert flag in san_line
    flags = _object_flags(ninja)
    plain = {s for s, v in flags.items() if v.endswith("_plain_cflags")}
    home = str(build.paths.runtime_dir())
    checker = "kasan.c" if san == "KASAN" else "ubsan.c"
    assert plain == {f"{home}/kernel/buddy.c", f"{home}/lib/heap.c", f"{home}/sanitize/{checker}"}
    assert flags[f"{home}/lib/string.c"] == "rt_cflags"
    assert any(v == "tp_cflags" and "lwip/src/core/tcp.c" in s for s, v in flags.items())
    assert any(v == "app_cflags" for v in flags.values())
    # Off (the default): no sanitizer flags, no checker compiled.
    p = build.open_project(proj, "qemu-x86_64")
    build.generate(p)
    ninja = (p.build_dir / "build.ninja").read_text()
    assert "-fsanitize" not in ninja
    assert f" cc {home}/sanitize/" not in ninja
