"""`unicycle build`: resolved configuration -> build/<board>/{config.h, build.ninja} -> ninja."""
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import __version__, boards, config, manifest as manifest_mod, paths, render, thirdparty
from .errors import BuildError, SetupError

EFI_INC = ["/usr/include/efi", "/usr/include/efi/x86_64"]
EFI_LDS = "/usr/lib/elf_x86_64_efi.lds"
EFI_CRT0 = "/usr/lib/crt0-efi-x86_64.o"
EFI_LIBDIR = "/usr/lib"


@dataclass
class Project:
    manifest: manifest_mod.Manifest
    board: boards.Board
    resolved: config.Resolved
    build_dir: Path
    sets: tuple = ()


def open_project(project_dir, board_name=None, sets=()) -> Project:
    project_dir = Path(project_dir or ".").resolve()
    known = boards.names()
    m = manifest_mod.load(manifest_mod.find(project_dir), known)
    board = boards.load(board_name or m.board or "qemu-x86_64")
    resolved = config.resolve(config.project_layers(m, board, sets))
    return Project(m, board, resolved, m.root / "build" / board.name, tuple(sets))


def _gcc_include() -> str:
    try:
        out = subprocess.run(["gcc", "-print-file-name=include"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise SetupError(f"gcc not usable: {e}; run `make deps`") from None
    return out


def load_components() -> list[dict]:
    path = paths.runtime_dir() / "sources.toml"
    with open(path, "rb") as f:
        return tomllib.load(f)["component"]


def component_sources(resolved: config.Resolved) -> tuple[list[tuple], list[str]]:
    """[(component, kind, root, source path)] for every enabled component."""
    out, needed_tp = [], []
    for comp in load_components():
        when = comp.get("when")
        if when and not resolved.enabled(when):
            continue
        tp = comp.get("third-party")
        root = (paths.third_party_dir() / tp) if tp else paths.runtime_dir()
        if tp:
            needed_tp.append(tp)
        excluded = set()
        for pattern in comp.get("exclude", []):
            excluded.update(root.glob(pattern))
        for pattern in comp["sources"]:
            matches = sorted(p for p in root.glob(pattern) if p not in excluded)
            if not matches and tp:
                raise SetupError(f"{root}: no {pattern} in third-party {tp}; run `unicycle fetch`")
            for p in matches:
                out.append((comp["name"], "tp" if tp else "rt", root, p))
    return out, needed_tp


def flags(project: Project, gen: Path) -> dict:
    home = paths.home()
    tp = paths.third_party_dir()
    gccinc = _gcc_include()
    net_includes = []
    if project.resolved.enabled("NET"):
        net_includes += [f"-I{home}/runtime/net/include", f"-I{tp}/lwip/src/include"]
    if project.resolved.enabled("HTTP"):
        net_includes.append(f"-I{tp}/http-parser")
    base = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-ffreestanding", "-nostdinc",
            "-isystem", gccinc, "-isystem", f"{home}/runtime/lib/include",
            f"-I{home}/runtime/include", f"-I{home}/runtime", f"-I{gen}", f"-I{tp}/libfdt",
            *net_includes,
            "-fno-pic", "-fno-pie", "-fno-stack-protector", "-mno-red-zone",
            "-mcmodel=small", "-fno-omit-frame-pointer", "-ffunction-sections",
            "-fdata-sections"]
    app_extra = [f"-I{p}" for p in project.manifest.include_dirs] + list(project.manifest.cflags)
    efi = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-fpic", "-ffreestanding",
           "-fno-stack-protector", "-fno-stack-check", "-fshort-wchar", "-mno-red-zone",
           "-maccumulate-outgoing-args", "-DGNU_EFI_USE_MS_ABI", "-nostdinc",
           "-isystem", gccinc, "-isystem", f"{home}/runtime/lib/include",
           f"-I{home}/runtime/include", *[f"-I{d}" for d in EFI_INC], f"-I{tp}/libfdt",
           f"-I{home}/bootloader"]
    esc = render.ninja_escape
    return {
        "kernel": [esc(shlex.quote(f)) for f in base],
        "runtime_extra": ["-Werror"] if os.environ.get("UNICYCLE_WERROR") else [],
        "third_party_extra": ["-w"],
        "app_extra": [esc(shlex.quote(f)) for f in app_extra],
        "efi": [esc(shlex.quote(f)) for f in efi],
    }


def _objects(project: Project, out: Path, comps: list[tuple]) -> dict:
    home = paths.home()
    kernel = []
    for comp, kind, root, src in comps:
        rel = src.relative_to(root)
        sub = f"rt/{rel}" if kind == "rt" else f"tp/{comp}/{rel}"
        kernel.append({"src": src, "obj": out / "obj" / f"{sub}.o",
                       "flags": "rt_cflags" if kind == "rt" else "tp_cflags",
                       "desc": f"{comp}: {rel}"})
    app = []
    for src in project.manifest.sources:
        try:
            rel = src.relative_to(project.manifest.root)
        except ValueError:
            rel = Path(src.name)
        app.append({"src": src, "obj": out / "obj" / "app" / f"{rel}.o", "desc": f"app: {rel}"})
    boot = []
    boot_srcs = sorted((home / "bootloader").glob("*.c")) + sorted((home / "bootloader").glob("*.S"))
    boot_srcs.append(home / "runtime" / "lib" / "string.c")
    tp = paths.third_party_dir() / "libfdt"
    boot_srcs += [tp / n for n in ("fdt.c", "fdt_ro.c", "fdt_rw.c", "fdt_sw.c", "fdt_wip.c",
                                    "fdt_strerror.c", "fdt_addresses.c")]
    for src in boot_srcs:
        name = src.relative_to(home) if src.is_relative_to(home) else Path("tp") / src.name
        if src.is_relative_to(paths.third_party_dir()):
            name = Path("tp") / src.relative_to(paths.third_party_dir())
        boot.append({"src": src, "obj": out / "obj" / "boot" / f"{name}.o",
                     "desc": f"boot: {name}"})
    return {"kernel": kernel, "app": app, "boot": boot}


def _regen_inputs(project: Project) -> list[Path]:
    home = paths.home()
    inputs = [project.manifest.path, project.board.path, home / "boards" / "schema.json",
              home / "runtime" / "sources.toml"]
    inputs += sorted(home.joinpath("runtime").rglob("Kconfig"))
    inputs += sorted(home.joinpath("templates").glob("*.j2"))
    dot = project.manifest.root / config.DOTCONFIG
    if dot.is_file():
        inputs.append(dot)
    return inputs


def context(project: Project, comps: list[tuple]) -> dict:
    out = project.build_dir
    gen = out / "gen"
    m = project.manifest
    regen = [sys.executable, "-m", "unicycle", "build", "--regenerate-only",
             "-C", str(m.root), "--board", project.board.name]
    for s in project.sets:
        regen += ["--set", s]
    boot = {"cmdline": m.boot.get("cmdline", "")}
    return {
        "version": __version__,
        "app": {"name": m.name, "version": m.version},
        "board": {"name": project.board.name, "description": project.board.description},
        "config": project.resolved.values,
        "defines": project.resolved.defines(),
        "network": {"mode": m.network.get("mode"), "address": m.network.get("address"),
                    "gateway": m.network.get("gateway"), "dns": m.network.get("dns", [])},
        "boot": boot,
        "tools": {"cc": "gcc", "ld": "ld", "objcopy": "objcopy", "python": sys.executable,
                  "efi_lds": EFI_LDS, "efi_crt0": EFI_CRT0, "efi_libdir": EFI_LIBDIR},
        "flags": flags(project, gen),
        "paths": {"ldscript": paths.runtime_dir() / "arch" / "x86_64" / "linker.ld"},
        "objects": _objects(project, out, comps),
        "regen_command": " ".join(render.ninja_escape(shlex.quote(a)) for a in regen),
        "regen_inputs": _regen_inputs(project),
    }


def generate(project: Project) -> dict:
    """Render every generated file into build/<board>/; returns the context."""
    comps, needed = component_sources(project.resolved)
    thirdparty.require(set(needed) | {"libfdt"})
    ctx = context(project, comps)
    out = project.build_dir
    gen = out / "gen"
    render.write_if_changed(gen / "config.h", render.render("config.h.j2", ctx))
    if project.resolved.enabled("NET"):
        render.write_if_changed(gen / "lwipopts.h", render.render("lwipopts.h.j2", ctx))
    render.write_if_changed(out / "boot.cfg", render.render("boot.cfg.j2", ctx))
    ninja_file = out / "build.ninja"
    render.write_if_changed(ninja_file, render.render("build.ninja.j2", ctx))
    os.utime(ninja_file)  # newer than its inputs: ninja must not regenerate again
    return ctx


def run_ninja(project: Project, verbose=False, targets=()) -> None:
    ninja = shutil.which("ninja")
    if not ninja:
        raise SetupError("ninja not found; run `make deps` (Debian package ninja-build)")
    cmd = [ninja, "-C", str(project.build_dir)]
    if verbose:
        cmd.append("-v")
    cmd += list(targets)
    proc = subprocess.run(cmd)
    if proc.returncode != 0:
        raise BuildError(f"build failed for {project.manifest.name} on {project.board.name} "
                         f"(ninja exit {proc.returncode}; the compiler's messages are above)")
