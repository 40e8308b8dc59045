"""The `unicycle` command line. Commands are thin: the work is in the library modules."""
import sys
import traceback
from pathlib import Path

import click

from . import __version__, boards as boards_mod, build as build_mod, errors, qemu, thirdparty


class Group(click.Group):
    """Turns library errors into one line on stderr and the error's exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except errors.UnicycleError as e:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            click.echo(f"error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="unicycle")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and full commands.")
@click.pass_context
def cli(ctx, verbose):
    """Build, run, flash and netboot Unicycle unikernels."""
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


project_option = click.option("-C", "project_dir", type=click.Path(file_okay=False),
                              default=".", show_default=True,
                              help="Project directory (holding unicycle.toml).")
board_option = click.option("--board", "-b", default=None,
                            help="Board (default: the manifest's app.board, else qemu-x86_64).")


@cli.command()
@click.argument("name")
@click.option("--template", "-t",
              type=click.Choice(["hello", "http-hello", "tcp-echo", "kv"]), default="hello",
              show_default=True, help="Project skeleton.")
def new(name, template):
    """Create a project directory NAME with a manifest and a hello app."""
    from . import project
    target = Path(name)
    files = project.create(target, template, name=target.name)
    click.echo(f"created {target}/ ({template}): " + ", ".join(
        str(f.relative_to(target)) for f in files))
    click.echo(f"next: cd {target} && unicycle build && unicycle run")


@cli.command()
@project_option
@board_option
@click.option("--set", "sets", multiple=True, metavar="SYM=VALUE",
              help="Override a configuration symbol for this build (highest precedence).")
@click.option("--regenerate-only", is_flag=True, hidden=True)
@click.pass_context
def build(ctx, project_dir, board, sets, regenerate_only):
    """Generate config.h and build.ninja, compile, link and package the image."""
    proj = build_mod.open_project(project_dir, board, sets)
    build_mod.generate(proj)
    if regenerate_only:
        return
    build_mod.run_ninja(proj, verbose=ctx.obj["verbose"])
    img = proj.build_dir / "unicycle.img"
    click.echo(f"built {img.relative_to(Path.cwd()) if img.is_relative_to(Path.cwd()) else img} "
               f"({img.stat().st_size // 1024} KiB) for {proj.board.name}")


@cli.command()
@project_option
@board_option
@click.option("--timeout", type=float, default=None, help="Stop QEMU after S seconds.")
@click.option("--qemu-arg", "qemu_args", multiple=True, help="Extra QEMU argument (repeatable).")
@click.option("--nic", type=click.Choice(sorted(qemu.NICS)), default=None,
              help="NIC model (default: the board's).")
@click.option("--forward", "forwards", multiple=True, metavar="HOST:GUEST",
              help="Forward 127.0.0.1:HOST to the guest's TCP port GUEST (default 8080:80 "
                   "for networked apps).")
@click.option("--smp", type=click.IntRange(1, 256), default=None, help="Number of CPUs.")
@click.option("--usb", is_flag=True, help="Attach the image as a USB stick instead of a disk.")
@click.option("--kvm", is_flag=True, help="Use KVM (real hardware virtualization only).")
@click.option("--no-build", is_flag=True, help="Boot the existing image without building.")
@click.option("--set", "sets", multiple=True, metavar="SYM=VALUE",
              help="Configuration override for the build before booting (as in build).")
@click.option("--fetch", "fetch_path", metavar="PATH", default=None,
              help="Networked apps: wait until the guest answers HTTP GET PATH through the "
                   "first forward, print the response (curl), then shut the guest down.")
@click.pass_context
def run(ctx, project_dir, board, timeout, qemu_args, nic, forwards, smp, usb, kvm, no_build,
        sets, fetch_path):
    """Boot the project's image in QEMU + OVMF; exit with the app's status."""
    proj = build_mod.open_project(project_dir, board, sets)
    if not proj.board.runnable:
        raise errors.RunError(f"board {proj.board.name} is real hardware: "
                              f"{proj.board.run.get('how', 'flash or netboot the image')}")
    fwd = []
    for f in forwards:  # checked before anything is built or started
        try:
            h, g = f.split(":")
            pair = (int(h), int(g))
        except ValueError:
            pair = None
        if pair is None or not all(1 <= port <= 65535 for port in pair):
            raise click.BadParameter(f"{f!r}: expected HOST:GUEST ports (1-65535)",
                                     param_hint="--forward")
        fwd.append(pair)
    if not fwd and proj.resolved.enabled("NET"):
        fwd = [(qemu.free_port() if fetch_path else 8080, 80)]
    if fetch_path and not fwd:
        raise click.UsageError("--fetch needs a networked app (CONFIG_NET) or --forward")
    if not no_build:
        build_mod.generate(proj)
        build_mod.run_ninja(proj, verbose=ctx.obj["verbose"])
    spec = qemu.spec_for_board(proj.board, proj.build_dir / "unicycle.img", proj.build_dir,
                               nic=qemu.NICS[nic] if nic else None, smp=smp, usb=usb, kvm=kvm,
                               forwards=fwd)
    spec.extra += list(qemu_args)
    if nic == "none":
        spec.nic = None
    if ctx.obj["verbose"]:
        click.echo(" ".join(qemu.command(spec)), err=True)
    if fwd:
        click.echo("unicycle: forwarding " + ", ".join(
            f"http://127.0.0.1:{h}/ -> guest:{g}" for h, g in fwd), err=True)
    sys.stdout.flush()
    if fetch_path:
        out, response = qemu.run_and_fetch(spec, fwd[0][0], fetch_path, timeout or 120)
        click.echo(f"\nunicycle: GET {fetch_path} answered after {out.seconds:.1f} s:")
        click.echo(response)
        click.echo("unicycle: guest shut down", err=True)
        return
    out = qemu.run(spec, timeout=timeout, elf=proj.build_dir / "app.elf")
    if out.timed_out:
        click.echo(f"unicycle: timed out after {timeout:g} s; QEMU stopped", err=True)
        ctx.exit(124)
    if out.app_status is None:
        click.echo(f"unicycle: the guest stopped without uc_exit() (QEMU exit "
                   f"{out.qemu_status})", err=True)
        ctx.exit(125)
    if out.app_status == 127:
        click.echo(f"unicycle: the app crashed (CPU exception or panic; see the report above) "
                   f"or exited with a status outside 0-126, after {out.seconds:.1f} s",
                   err=True)
    else:
        click.echo(f"unicycle: app exited with status {out.app_status} "
                   f"after {out.seconds:.1f} s", err=True)
    ctx.exit(out.app_status)


@cli.command("config")
@project_option
@board_option
@click.option("--set", "sets", multiple=True, metavar="SYM=VALUE",
              help="Save SYM=VALUE in the project's .config (repeatable).")
@click.option("--unset", "unsets", multiple=True, metavar="SYM",
              help="Drop SYM from .config: the board/manifest value applies again.")
@click.option("--show", "show", is_flag=False, flag_value="", default=None, metavar="[SYM]",
              help="Print every value and where it comes from, or one symbol in detail.")
@click.option("--diff", is_flag=True, help="Print what differs from the board's defaults.")
def config_cmd(project_dir, board, sets, unsets, show, diff):
    """Configure the project: menuconfig, or --set/--unset/--show/--diff without a UI."""
    from . import config as cfg, manifest as manifest_mod
    project_dir = Path(project_dir).resolve()
    has_project = (project_dir / manifest_mod.MANIFEST).is_file()
    if has_project:
        m = manifest_mod.load(manifest_mod.find(project_dir), boards_mod.names())
        b = boards_mod.load(board or m.board or "qemu-x86_64")
        dot = m.root / cfg.DOTCONFIG
        layers = [cfg.board_layer(b), cfg.manifest_layer(m), cfg.read_dotconfig(dot)]
    elif sets or unsets or (show is None and not diff):
        manifest_mod.find(project_dir)  # raises: no unicycle.toml here
    else:
        m, dot = None, None
        b = boards_mod.load(board or "qemu-x86_64")
        layers = [cfg.board_layer(b)]
    if sets or unsets:
        kept = {r.symbol: r for r in layers[2]}
        for name in unsets:
            name = name.removeprefix("CONFIG_")
            if kept.pop(name, None) is None:
                click.echo(f"note: {name} was not set in {dot}", err=True)
        for item in sets:
            req = cfg.parse_set(item)
            req.origin = f"command line (--set {item})"
            kept[req.symbol] = req
        resolved = cfg.resolve(layers[:2] + [list(kept.values())])  # refuses before writing
        cfg.write_dotconfig(dot, list(kept.values()), resolved.kconf)
        for req in kept.values():
            sym = resolved.kconf.syms[req.symbol]
            click.echo(f"CONFIG_{req.symbol}={cfg.format_value(sym, resolved.values[req.symbol])}")
        click.echo(f"saved {dot}")
        return
    resolved = cfg.resolve(layers)
    if show is not None:
        if show:
            click.echo(cfg.describe(resolved, show))
            return
        for sym in resolved.kconf.unique_defined_syms:
            value = cfg.format_value(sym, resolved.values[sym.name])
            click.echo(f"CONFIG_{sym.name}={value:<20} # {resolved.origin(sym.name)}")
        return
    if diff:
        base = cfg.resolve([cfg.board_layer(b)])
        changed = 0
        for sym in resolved.kconf.unique_defined_syms:
            old, new_ = base.values[sym.name], resolved.values[sym.name]
            if old != new_:
                changed += 1
                click.echo(f"CONFIG_{sym.name}: {cfg.format_value(sym, old)} -> "
                           f"{cfg.format_value(sym, new_)}   # {resolved.origin(sym.name)}")
        if not changed:
            click.echo(f"no differences from board {b.name}'s defaults")
        return
    _menuconfig(layers, dot)


def _menuconfig(layers, dot):
    """Run kconfiglib's menuconfig on the resolved values; keep only the changes."""
    import os
    import tempfile
    from . import config as cfg
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise errors.InputError("menuconfig needs a terminal; use --set/--unset/--show/--diff")
    import menuconfig
    base = cfg.resolve(layers[:2])
    current = cfg.resolve(layers)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "config"
        current.kconf.write_config(str(full), header="")
        os.environ["KCONFIG_CONFIG"] = str(full)
        kconf = cfg.load_kconfig()
        menuconfig.menuconfig(kconf)
        kconf.load_config(str(full))
    wanted = {s.name: cfg._value(s) for s in kconf.unique_defined_syms}
    reqs = cfg.minimal_requests(base, wanted, "menuconfig")
    cfg.resolve(layers[:2] + [reqs])
    cfg.write_dotconfig(dot, reqs, kconf)
    click.echo(f"saved {dot} ({len(reqs)} value(s) differ from board and manifest)")


@cli.command("flash")
@click.argument("device", required=False)
@project_option
@board_option
@click.option("--image", "image_path", type=click.Path(), default=None,
              help="Write this image instead of the project's build/<board>/unicycle.img.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask to type the device name.")
@click.option("--force", is_flag=True,
              help="Allow a non-removable disk (internal disk, loop device).")
def flash_cmd(device, project_dir, board, image_path, yes, force):
    """Write the image to a USB stick (Linux), then read it back and verify it."""
    from . import flash, imageexport
    image = (Path(image_path) if image_path else
             imageexport.built_image(build_mod.open_project(project_dir, board)))
    size = flash.check_image(image)
    if device and flash.regular_file_allowed() and Path(device).is_file():
        disk = flash.file_target(device)
    else:
        host = flash.host()
        disk = host.resolve(device or _choose_disk(host, size, force))
        host.check(disk, size, force)
    click.echo(f"image {image} ({flash.format_size(size)})")
    for line in flash.overwrite_summary(disk):
        click.echo(line)
    if not yes:
        typed = click.prompt(f"type {disk.name} to overwrite it", default="", show_default=False)
        if not flash.confirmed(disk, typed):
            raise errors.UnicycleError(f"aborted: typed {typed!r}, not {disk.name!r}; "
                                       f"nothing was written")
    result = flash.write_and_verify(image, disk)
    click.echo(f"verified: {disk.path} reads back sha256 {result.sha256} "
               f"({flash.format_size(result.size)}) in {result.seconds:.1f} s; "
               f"the stick is ready to boot")


def _choose_disk(host, image_size, force) -> str:
    """Ask which disk to write when none was given; list them when we cannot ask."""
    from . import flash
    disks = host.candidates(include_fixed=force)
    kind = "disks" if force else "removable disks"
    why = {d.name: host.refusal(d, image_size, force) for d in disks}
    safe = [d for d in disks if not why[d.name]]
    if not disks:
        raise errors.InputError(f"no {kind} found; plug in the USB stick "
                                f"(or name the device)")
    if not flash.stdin_is_terminal():
        raise errors.InputError(f"no device given and no terminal to ask; {kind}: " + "; ".join(
            f"{d.path} ({d.description}, {flash.format_size(d.size)}"
            + (f"; cannot: {why[d.name]})" if why[d.name] else ")") for d in disks))
    click.echo(f"{kind}:")
    for d, line in zip(disks, flash.table(disks, why)):
        mark = f"[{safe.index(d) + 1}]" if d in safe else "[-]"
        click.echo(f"  {mark:<4} {line}")
    if not safe:
        raise errors.InputError(f"none of the {kind} can be written (reasons above)")
    choices = [str(i) for i in range(1, len(safe) + 1)] + [d.name for d in safe] + \
        [d.path for d in safe]
    picked = click.prompt("write to which disk (number or name)", type=click.Choice(choices),
                          show_choices=False)
    return safe[int(picked) - 1].path if picked.isdigit() else picked


@cli.command("image")
@project_option
@board_option
@click.option("--format", "fmt", type=click.Choice(["raw", "qcow2", "vmdk"]), required=True,
              help="Disk image format to export to.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: build/<board>/unicycle.<format>).")
def image_cmd(project_dir, board, fmt, output):
    """Export the built image as raw, qcow2 or vmdk (qemu-img convert)."""
    from . import imageexport
    src = imageexport.built_image(build_mod.open_project(project_dir, board))
    out = imageexport.export(src, fmt, Path(output) if output else
                             imageexport.default_output(src, fmt))
    click.echo(f"wrote {out} ({fmt}, {out.stat().st_size // 1024} KiB)")


@cli.command("serve")
@project_option
@board_option
@click.option("--interface", "-i", default=None,
              help="Network interface to serve PXE/TFTP on (required; without it the "
                   "interfaces are listed).")
@click.option("--watch", is_flag=True, help="Rebuild when the app's sources change.")
@click.pass_context
def serve_cmd(ctx, project_dir, board, interface, watch):
    """Netboot server: proxy DHCP + PXE + TFTP (dnsmasq) for build/<board>/netboot/."""
    import time
    from . import serve
    if not interface:
        for line in serve.interface_table(serve.interfaces()):
            click.echo(line, err=True)
        raise click.UsageError("name the interface to serve on with --interface "
                               "(never answering DHCP on an unnamed network); see the list above")
    proj = build_mod.open_project(project_dir, board)

    def rebuild():
        build_mod.generate(proj)
        build_mod.run_ninja(proj, verbose=ctx.obj["verbose"])

    def log(line):
        click.echo(f"{time.strftime('%H:%M:%S')} {line}")

    serve.serve(proj, interface, watch, rebuild, log)


@cli.command("boards")
def boards_cmd():
    """List the boards with a one-line description."""
    for b in boards_mod.load_all():
        click.echo(f"{b.name:<14} {b.description}")


@cli.command()
@click.option("--from-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Use .orig tarballs from this folder instead of apt-get source.")
def fetch(from_dir):
    """Fetch third-party sources (lwIP, libfdt, http-parser) from Debian, verified."""
    thirdparty.fetch_all(log=click.echo, tarball_dir=Path(from_dir) if from_dir else None)


@cli.command("_package", hidden=True)
@click.option("--efi", required=True, type=click.Path())
@click.option("--elf", required=True, type=click.Path())
@click.option("--cfg", required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path())
def package_cmd(efi, elf, cfg, out):
    """(internal, run by ninja) Package the bootloader and app into a disk image."""
    from . import image
    image.package(Path(efi), Path(elf), Path(cfg), Path(out))


@cli.command("_netboot", hidden=True)
@click.option("--efi", required=True, type=click.Path())
@click.option("--elf", required=True, type=click.Path())
@click.option("--cfg", required=True, type=click.Path())
@click.option("--build-dir", required=True, type=click.Path(file_okay=False))
def netboot_cmd(efi, elf, cfg, build_dir):
    """(internal, run by ninja) Write build/<board>/netboot/ for a TFTP server."""
    from . import netboot
    netboot.package(Path(efi), Path(elf), Path(cfg), Path(build_dir))


def main():
    cli(prog_name="unicycle")
