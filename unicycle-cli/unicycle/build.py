"""`unicycle build`: resolved configuration -> build/<board>/{config.h, build.ninja} -> ninja.

build.ninja is written from Python through ninjafile.Writer (not a template), so
every path and flag is escaped for the place it lands; config.h, lwipopts.h and
boot.cfg are rendered from templates/.
"""
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import (__version__, boards, components, config, efisign, manifest as manifest_mod,
               ninjafile, paths, render, schema, signing, thirdparty, tools)
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
    efi_signing: efisign.Signing | None = None   # sign BOOTX64.EFI for Secure Boot (efisign.py)
    ninja_output: list = field(default_factory=list)   # lines, when built with a log
    payload_policy: "signing.Policy | None" = None     # payload.sig policy, set by generate()

    @property
    def image(self) -> Path:
        return self.build_dir / "unicycle.img"

    @property
    def loader(self) -> Path:
        """The BOOTX64.EFI that goes into the image and netboot/: the signed one when signing."""
        return self.build_dir / (efisign.SIGNED_NAME if self.efi_signing else "BOOTX64.EFI")


def open_project(project_dir, board_name=None, sets=(), sign_efi=None) -> Project:
    """`sign_efi`: (KEY, CERT) from --sign-efi; it wins over the manifest's [secure-boot]."""
    project_dir = Path(project_dir or ".").resolve()
    known = boards.names()
    m = manifest_mod.load(manifest_mod.find(project_dir), known)
    board = boards.load(boards.pick(board_name, m.board))
    resolved = config.resolve(config.project_layers(m, board, sets))
    efi = efisign.from_option(sign_efi) or efisign.from_manifest(m)
    return Project(m, board, resolved, m.root / "build" / board.name, tuple(sets), efi)


def _gcc_include() -> str:
    try:
        out = subprocess.run([tools.require("gcc"), "-print-file-name=include"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise SetupError(f"gcc not usable: {e}; run `make deps`") from None
    return out


# Call frame information in .debug_frame (not loaded) instead of .eh_frame, which
# --gc-sections drops from app.elf: without it gdb guesses frames from the prologue and
# puts locals at the wrong address (`unicycle debug` printed 0 for a variable holding 42).
UNWIND_INFO = ["-fno-asynchronous-unwind-tables", "-fno-unwind-tables"]

# The sanitizers (runtime/sanitize/Kconfig). KASAN is outline: every access calls
# __asan_{load,store}N_noabort in sanitize/kasan.c, which finds the shadow at run time (it is
# carved from the memory map at boot, so its place is not a constant GCC could inline). Global
# variables get redzones (each file registers them from a constructor); stack redzones are
# off: GCC writes their shadow inline at a compile-time offset.
KASAN_CFLAGS = ["-fsanitize=kernel-address", "--param", "asan-instrumentation-with-call-threshold=0",
                "--param", "asan-stack=0", "--param", "asan-globals=1"]
# Every check is on (vptr and return are C++ only); the first report stops the app.
UBSAN_CFLAGS = ["-fsanitize=undefined", "-fno-sanitize-recover=undefined"]


def sanitizer_cflags(resolved) -> list[str]:
    """The compiler flags of the sanitizers this configuration turns on."""
    return ((KASAN_CFLAGS if resolved.enabled("KASAN") else []) +
            (UBSAN_CFLAGS if resolved.enabled("UBSAN") else []))


def _cflags(project: Project, gen: Path, comps: list) -> dict:
    """Compiler flags per kind of object; -I folders come from the enabled components."""
    home = paths.home()
    gccinc = _gcc_include()
    includes = {b: [f"-I{d}" for c in comps if c.binary == b for d in c.includes()]
                for b in components.BINARIES}
    kernel = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-ffreestanding", "-nostdinc",
              "-isystem", gccinc, "-isystem", f"{home}/runtime/lib/include",
              f"-I{home}/runtime/include", f"-I{home}/runtime", f"-I{gen}",
              *includes["runtime"],
              "-fno-pic", "-fno-pie", "-fno-stack-protector", "-mno-red-zone",
              "-mcmodel=small", "-fno-omit-frame-pointer", "-ffunction-sections",
              "-fdata-sections", *UNWIND_INFO]
    efi = ["-std=gnu11", "-O2", "-g", "-Wall", "-Wextra", "-fpic", "-ffreestanding",
           "-fno-stack-protector", "-fno-stack-check", "-fshort-wchar", "-mno-red-zone",
           "-maccumulate-outgoing-args", "-DGNU_EFI_USE_MS_ABI", "-nostdinc",
           "-isystem", gccinc, "-isystem", f"{home}/runtime/lib/include",
           f"-I{home}/runtime/include", *[f"-I{d}" for d in EFI_INC], *includes["bootloader"],
           f"-I{gen}"]
    werror = ["-Werror"] if os.environ.get("UNICYCLE_WERROR") else []
    R = ninjafile.Ref
    return {
        "kernel_cflags": kernel,
        "san_cflags": sanitizer_cflags(project.resolved),
        "rt_cflags": [R("$kernel_cflags"), R("$san_cflags"), *werror],
        "tp_cflags": [R("$kernel_cflags"), R("$san_cflags"), "-w"],
        # sources.toml's `unsanitized` files
        "rt_plain_cflags": [R("$kernel_cflags"), *werror],
        "tp_plain_cflags": [R("$kernel_cflags"), "-w"],
        "app_cflags": [R("$kernel_cflags"), R("$san_cflags"),
                       *[f"-I{p}" for p in project.manifest.include_dirs],
                       *project.manifest.cflags],
        "efi_cflags": efi,
    }


@dataclass
class Object:
    src: Path
    obj: Path          # relative to the build directory
    cflags: str        # the cflags variable it compiles with
    desc: str          # what ninja prints: "component: file"


def _objects(project: Project, comps: list) -> dict:
    """binary -> its objects: obj/<component>/<file>.o, the app's in obj/app/."""
    out = {b: [] for b in components.BINARIES}
    for c in comps:
        for src in c.files():
            rel = src.relative_to(c.root)
            flags = ("efi_cflags" if c.binary == "bootloader" else
                     ("tp" if c.third_party else "rt") +
                     ("_cflags" if c.sanitized(src) else "_plain_cflags"))
            out[c.binary].append(Object(src, Path("obj") / c.name / f"{rel}.o", flags,
                                        f"{c.name}: {rel}"))
    for src in project.manifest.sources:
        try:
            rel = src.relative_to(project.manifest.root)
        except ValueError:
            rel = Path(src.name)
        out["runtime"].append(Object(src, Path("obj") / "app" / f"{rel}.o", "app_cflags",
                                     f"app: {rel}"))
    return out


def _regen_inputs(project: Project) -> list[Path]:
    home = paths.home()
    inputs = [project.manifest.path, project.board.path, schema.path_of(boards.SCHEMA),
              components.sources_file()]
    inputs += sorted(home.joinpath("runtime").rglob("Kconfig"))
    inputs += sorted(home.joinpath("templates").glob("*.j2"))
    inputs += sorted(Path(__file__).parent.glob("*.py"))   # the generator itself
    dot = project.manifest.root / config.DOTCONFIG
    if dot.is_file():
        inputs.append(dot)
    return inputs


def context(project: Project) -> dict:
    """What the templates (config.h, lwipopts.h, boot.cfg) see."""
    m = project.manifest
    return {
        "version": __version__,
        "app": {"name": m.name, "version": m.version},
        "board": {"name": project.board.name, "description": project.board.description},
        "config": project.resolved.values,
        "defines": project.resolved.defines(),
        "network": {"mode": m.network.get("mode"), "address": m.network.get("address"),
                    "gateway": m.network.get("gateway"), "dns": m.network.get("dns", [])},
        "boot": {"cmdline": m.boot.get("cmdline", "")},
    }


def ninja_text(project: Project, comps: list) -> str:
    """build.ninja, every value escaped by ninjafile.Writer."""
    m, w = project.manifest, ninjafile.Writer()
    R = ninjafile.Ref
    w.comment(f"build.ninja for {m.name} on board {project.board.name}.\n"
              f"Generated by unicycle {__version__} (unicycle/build.py): do not edit;\n"
              f"change unicycle.toml, the board file or the configuration instead.")
    w.variable("ninja_required_version", "1.10")
    w.newline()
    w.variable("cc", ["gcc"])
    w.variable("ld", ["ld"])
    w.variable("objcopy", ["objcopy"])
    w.variable("python", [sys.executable])
    ldscript = paths.runtime_dir() / "arch" / "x86_64" / "linker.ld"
    w.variable("ldscript", [ldscript])
    w.variable("efi_lds", [EFI_LDS])
    w.variable("efi_crt0", [EFI_CRT0])
    w.variable("efi_libdir", [f"-L{EFI_LIBDIR}"])
    w.comment("The runtime, lwIP and the app share one set of freestanding flags.")
    for key, words in _cflags(project, project.build_dir / "gen", comps).items():
        w.variable(key, words)
    w.newline()
    w.rule("cc", "$cc -MD -MF $out.d $cflags -c $in -o $out", "CC $desc",
           depfile="$out.d", deps="gcc")
    w.rule("link_elf", "$cc -nostdlib -static -no-pie -Wl,--gc-sections -T $ldscript "
           "-Wl,-Map,$out.map -Wl,--build-id=none -o $out $in -lgcc", "LINK $out")
    w.rule("link_efi", "$ld -shared -Bsymbolic -nostdlib -T $efi_lds $efi_crt0 $in -o $out.so "
           "$efi_libdir -lgnuefi -lefi && { ! nm -u $out.so | grep . >&2 || { echo \"$out: "
           "undefined symbols above (ld -shared does not refuse them)\" >&2; exit 1; }; } && "
           "$objcopy -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym -j .rel "
           "-j .rela -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 --subsystem=10 "
           "$out.so $out", "EFI $out")
    pol = project.payload_policy               # set by generate(), which writes this file
    payload = ["payload.cfg"] + (["payload.sig"] if pol.key else [])
    w.variable("signing_key", ["--key", str(pol.key)] if pol.key else [])
    w.rule("payload", "$python -m unicycle _payload --elf app.elf --cfg boot.cfg "
           "--out payload.cfg $signing_key", "SIGN payload.cfg" if pol.key else "PAYLOAD payload.cfg")
    efi_signing, loader = project.efi_signing, project.loader.name
    w.variable("loader", [loader])
    w.rule("package", "$python -m unicycle _package --efi $loader --elf app.elf "
           "--cfg boot.cfg --payload payload.cfg --out $out", "IMAGE $out")
    w.rule("netboot", "$python -m unicycle _netboot --efi $loader --elf app.elf "
           "--cfg boot.cfg --payload payload.cfg --build-dir .", "NETBOOT netboot/")
    if efi_signing:
        # Only the key's path is written here: the key itself never enters build/.
        w.variable("efi_key", [efi_signing.key])
        w.variable("efi_cert", [efi_signing.cert])
        w.rule("sign_efi", "$python -m unicycle _sign-efi --key $efi_key --cert $efi_cert "
               "--out $out $in", "SIGN $out")
    regen = [sys.executable, "-m", "unicycle", "build", "--regenerate-only",
             "-C", str(m.root), "--board", project.board.name]
    for s in project.sets:
        regen += ["--set", s]
    if efi_signing and efi_signing.origin == "--sign-efi":
        regen += ["--sign-efi", str(efi_signing.key), str(efi_signing.cert)]
    w.variable("regen_command", regen)
    w.rule("regen", "$regen_command", "REGEN build.ninja", generator=1)
    w.build("build.ninja", "regen", implicit=_regen_inputs(project))
    objects = _objects(project, comps)
    for binary, target, link, implicit in (("runtime", "app.elf", "link_elf", [ldscript]),
                                           ("bootloader", "BOOTX64.EFI", "link_efi", [])):
        w.newline()
        w.comment(f"--- {target}: {len(objects[binary])} objects ---")
        for o in objects[binary]:
            w.build(o.obj, "cc", [o.src], variables={"cflags": R(f"${o.cflags}"),
                                                      "desc": o.desc})
        w.build(target, link, [o.obj for o in objects[binary]], implicit=implicit)
    if efi_signing:
        w.build(loader, "sign_efi", ["BOOTX64.EFI"], implicit=[efi_signing.key, efi_signing.cert])
    w.newline()
    w.comment("payload.cfg names app.elf and boot.cfg; payload.sig signs it (unicycle/signing.py)")
    w.build(payload, "payload", ["app.elf", "boot.cfg"],
            implicit=[pol.key] if pol.key else [])
    w.build("unicycle.img", "package", [loader, "app.elf", "boot.cfg", *payload])
    w.default("unicycle.img")
    w.comment("netboot/ -> netboot.<n>/, switched atomically (unicycle/netboot.py)")
    w.build("netboot/unicycle/payload.cfg", "netboot", [loader, "app.elf", "boot.cfg", *payload])
    w.default("netboot/unicycle/payload.cfg")
    return w.text()


def generate(project: Project) -> dict:
    """Write every generated file into build/<board>/; returns the template context."""
    comps = components.enabled(project.resolved)
    thirdparty.require({c.third_party for c in comps if c.third_party})
    ctx = context(project)
    out = project.build_dir
    gen = out / "gen"
    render.write_if_changed(gen / "config.h", render.render("config.h.j2", ctx))
    if project.resolved.enabled("NET"):
        render.write_if_changed(gen / "lwipopts.h", render.render("lwipopts.h.j2", ctx))
    render.write_if_changed(out / "boot.cfg", render.render("boot.cfg.j2", ctx))
    project.payload_policy = signing.policy(project)
    render.write_if_changed(gen / "bootkey.h", signing.bootkey_header(project.payload_policy))
    ninja_file = out / "build.ninja"
    render.write_if_changed(ninja_file, ninja_text(project, comps))
    os.utime(ninja_file)  # newer than its inputs: ninja must not regenerate again
    return ctx


def run_ninja(project: Project, verbose=False, targets=(), log=None) -> list[str]:
    """Run ninja in build/<board>/. With `log`, ninja's output (and the compiler's)
    goes line by line to log(line) and is returned; without, it goes to the terminal."""
    ninja = tools.require("ninja")
    cmd = [ninja, "-C", str(project.build_dir)]
    if verbose:
        cmd.append("-v")
    cmd += list(targets)
    lines = []
    if log is None:
        proc = subprocess.run(cmd)
    else:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace") as proc:
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                log(lines[-1])
    if proc.returncode != 0:
        raise BuildError(f"build failed for {project.manifest.name} on {project.board.name} "
                         f"(ninja exit {proc.returncode}; the compiler's messages are above)")
    return lines


# What direct boot (`unicycle run --direct`) needs: app.elf, and boot.cfg, which generate()
# writes. No BOOTX64.EFI, image or netboot payload: about half of a cold build.
DIRECT_TARGETS = ("app.elf",)


def build(project: Project, verbose=False, log=None, direct=False) -> Path:
    """Generate, compile, link and package; returns the image (with `direct`, only what
    direct boot needs, and returns app.elf). With `log`, ninja's output also lands in
    project.ninja_output. Signing keys are checked before anything is written."""
    if project.efi_signing and not direct:
        efisign.check(project.efi_signing, project.manifest.root / "build")
    generate(project)
    project.ninja_output = run_ninja(project, verbose=verbose, log=log,
                                     targets=DIRECT_TARGETS if direct else ())
    return project.build_dir / "app.elf" if direct else project.image


def build_project(project_dir, board_name=None, sets=(), verbose=False,
                  regenerate_only=False, log=None, direct=False, sign_efi=None) -> Project:
    """`unicycle build`: open the project and build it (or only regenerate build.ninja)."""
    project = open_project(project_dir, board_name, sets, sign_efi)
    if regenerate_only:
        generate(project)
    else:
        build(project, verbose, log, direct=direct)
    return project
