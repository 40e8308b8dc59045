"""The `unicycle` command line. Commands are thin: the work is in the library modules."""
import time
import traceback
from pathlib import Path

import click

from . import (__version__, boards as boards_mod, build as build_mod, buildsummary, clean as
               clean_mod, components, configure, debug as debug_mod, disks, doctor as doctor_mod,
               efisign, errors, flash, hostnet, image, imageexport, launch, monitor as monitor_mod,
               netboot, output, project, qemu, serve, signing, thirdparty, tools)


class Group(click.Group):
    """Turns library errors and click's usage errors into one line on stderr and the
    error's exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else ctx.command_path
            output.error(f"{e.format_message().rstrip('.')} (see `{where} --help`)")
            ctx.exit(e.exit_code)
        except errors.UnicycleError as e:
            if ctx.obj and ctx.obj.get("verbose"):
                traceback.print_exc()
            output.error(str(e))
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
def _complete_boards(ctx, param, incomplete):
    try:
        return [n for n in boards_mod.names() if n.startswith(incomplete)]
    except errors.UnicycleError:
        return []


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON on stdout instead of text.")
board_option = click.option("--board", "-b", default=None, shell_complete=_complete_boards,
                            help=f"Board (default: the manifest's app.board, else "
                                 f"{boards_mod.DEFAULT}).")
sign_efi_option = click.option(
    "--sign-efi", "sign_efi", nargs=2, type=click.Path(dir_okay=False), default=None,
    metavar="KEY CERT", help="Sign BOOTX64.EFI for UEFI Secure Boot with sbsign: PEM private "
    "key and certificate (overrides [secure-boot] in unicycle.toml). An encrypted key's "
    f"passphrase comes from ${efisign.PASSPHRASE_ENV}.")
sets_option = click.option("--set", "sets", multiple=True, metavar="SYM=VALUE",
                           help="Override a configuration symbol for this build "
                                "(highest precedence).")


class TemplateChoice(click.Choice):
    """The skeletons in templates/new/, listed when asked for rather than at import."""

    def __init__(self):
        super().__init__([])

    @property
    def choices(self):
        return project.templates()

    @choices.setter
    def choices(self, value):
        pass


class ParsedType(click.ParamType):
    """An option value turned into a library type by its parser; the parser's InputError
    becomes click's usage error (one line, exit 2). Values already parsed pass through."""

    def __init__(self, name: str, parse, parsed=tuple):
        self.name, self.parse, self.parsed = name, parse, parsed

    def convert(self, value, param, ctx):
        if isinstance(value, self.parsed):
            return value
        try:
            return self.parse(value)
        except errors.InputError as e:
            self.fail(str(e), param, ctx)


ForwardType = ParsedType("HOST:GUEST", qemu.parse_forward, tuple)
DiskType = ParsedType("FILE[,if=I][,size=N]", disks.parse, disks.DiskSpec)
NetType = ParsedType("user|tap[:IFNAME]", hostnet.parse, hostnet.Net)


def _shown(path: Path) -> str:
    cwd = Path.cwd()
    return str(path.relative_to(cwd) if path.is_relative_to(cwd) else path)


def _list_templates(ctx, param, value):
    if not value or ctx.resilient_parsing:
        return
    try:
        rows = [[name, project.description(name)] for name in project.templates()]
    except errors.UnicycleError as e:
        output.error(str(e))
        ctx.exit(e.exit_code)
    for line in output.table(rows):
        click.echo(line)
    ctx.exit(0)


@cli.command()
@click.argument("name")
@click.option("--template", "-t", type=TemplateChoice(), default=project.DEFAULT_TEMPLATE,
              show_default=True, help="Project skeleton (a folder of templates/new/).")
@click.option("--list-templates", is_flag=True, is_eager=True, expose_value=False,
              callback=_list_templates, help="List the templates with what each is, and exit.")
def new(name, template):
    """Create a project directory NAME with a manifest and a hello app."""
    target = Path(name)
    files = project.create(target, template, name=target.name)
    click.echo(f"created {target}/ ({template}): " + ", ".join(
        str(f.relative_to(target)) for f in files))
    click.echo(f"next: cd {target} && unicycle build && unicycle run")


@cli.command()
@project_option
@board_option
@sets_option
@click.option("--regenerate-only", is_flag=True, hidden=True)
@click.option("--direct", is_flag=True,
              help="Only what `unicycle run --direct` boots: app.elf and boot.cfg (no "
                   "bootloader, image or netboot payload; about half the time).")
@sign_efi_option
@json_option
@click.pass_context
def build(ctx, project_dir, board, sets, regenerate_only, direct, sign_efi, as_json):
    """Generate config.h and build.ninja, compile, link and package the image."""
    if regenerate_only:
        build_mod.build_project(project_dir, board, sets, regenerate_only=True, sign_efi=sign_efi)
        return
    # With --json, stdout holds only the JSON: ninja's lines go to stderr.
    summary = buildsummary.build(project_dir, board, sets, verbose=ctx.obj["verbose"],
                                 log=lambda line: click.echo(line, err=as_json), direct=direct,
                                 sign_efi=sign_efi)
    if as_json:
        output.echo_json(summary.as_dict())
    else:
        for line in summary.lines(shown=lambda p: _shown(p)):
            click.echo(line)


@cli.command()
@project_option
@board_option
@click.option("--timeout", type=float, default=None, help="Stop QEMU after S seconds.")
@click.option("--qemu-arg", "qemu_args", multiple=True, help="Extra QEMU argument (repeatable).")
@click.option("--nic", type=click.Choice(sorted(qemu.NICS)), default=None,
              help="NIC model (default: the board's).")
@click.option("--forward", "forwards", multiple=True, type=ForwardType,
              help="Forward 127.0.0.1:HOST to the guest's TCP port GUEST (default "
                   f"{launch.DEFAULT_FORWARD[0]}:{launch.DEFAULT_FORWARD[1]} for networked apps).")
@click.option("--smp", type=click.IntRange(1, 256), default=None, help="Number of CPUs.")
@click.option("--memory", type=click.IntRange(launch.MIN_MEMORY_MIB, launch.MAX_MEMORY_MIB),
              default=None, metavar="MIB", help="Guest RAM in MiB (default: the board's).")
@click.option("--net", type=NetType, default="user", show_default=True,
              help="user: QEMU's user network with --forward; tap[:IFNAME]: a host tap device "
                   f"(default {hostnet.DEFAULT_TAP}) made beforehand by root, see README.")
@click.option("--gdb", "gdb_port", type=click.IntRange(0, 65535), is_flag=False, flag_value=0,
              default=None, metavar="[PORT]",
              help="Open QEMU's gdbstub on 127.0.0.1:PORT (without PORT or 0: a free one) for gdb "
                   "to attach to later; the guest runs at once.")
@click.option("--disk", "disk_specs", multiple=True, type=DiskType,
              help="Attach a raw disk image (repeatable): if= one of "
                   f"{'|'.join(disks.INTERFACES)} (default: the board's first disk controller); "
                   "size=N (e.g. 64M) creates FILE when missing. The guest sees the file's "
                   "name as the disk's serial.")
@click.option("--usb", is_flag=True, help="Attach the image as a USB stick instead of a disk.")
@click.option("--direct", is_flag=True,
              help="Boot app.elf directly (PVH, QEMU -kernel): no firmware, no image; "
                   "boots in a fraction of a second.")
@click.option("--machine", type=click.Choice(qemu.MACHINES), default=None,
              help="QEMU machine (default: the board's first); microvm boots only directly.")
@click.option("--kvm", is_flag=True,
              help="Use KVM; checked first (/dev/kvm, its API version, a test boot).")
@click.option("--no-build", is_flag=True, help="Boot the existing image without building.")
@click.option("--set", "sets", multiple=True, metavar="SYM=VALUE",
              help="Configuration override for the build before booting (as in build).")
@click.option("--secure-boot", is_flag=True,
              help="Boot with UEFI Secure Boot on: Debian's Secure-Boot OVMF with its test key "
                   f"enrolled ({tools.SNAKEOIL_CERT}); only a loader signed with that key runs.")
@sign_efi_option
@click.option("--keep-nvram", is_flag=True,
              help="Keep the firmware's variables from the last run (build/<board>/OVMF_VARS*.fd), "
                   "as a board's NVRAM keeps them: boot order, the signed payloads' rollback floor.")
@click.option("--fetch", "fetch_path", metavar="PATH", default=None,
              help="Networked apps: wait until the guest answers HTTP GET PATH through the "
                   "first forward, print the response (curl), then shut the guest down.")
@click.pass_context
def run(ctx, project_dir, board, timeout, qemu_args, nic, forwards, smp, memory, net, gdb_port,
        disk_specs, usb, direct, machine, kvm, no_build, sets, secure_boot, sign_efi, keep_nvram,
        fetch_path):
    """Boot the project in QEMU (OVMF and the image, or app.elf directly); exit with the app's status."""
    opts = launch.Options(timeout=timeout, forwards=tuple(forwards), nic=nic, smp=smp,
                          memory=memory, net=net, gdb_port=gdb_port, usb=usb, direct=direct,
                          machine=machine, kvm=kvm, qemu_args=tuple(qemu_args),
                          build=not no_build, fetch=fetch_path, disks=tuple(disk_specs),
                          secure_boot=secure_boot, sign_efi=sign_efi, keep_nvram=keep_nvram,
                          verbose=ctx.obj["verbose"])
    out = launch.run(project_dir, board, sets, opts, log=lambda line: click.echo(line, err=True))
    if out.response is not None:
        click.echo(f"\nunicycle: GET {fetch_path} answered after {out.seconds:.1f} s:")
        click.echo(out.response)
    click.echo(out.summary(), err=True)
    ctx.exit(out.exit_code)


@cli.command("debug")
@project_option
@board_option
@sets_option
@click.option("--no-build", is_flag=True, help="Debug the existing app.elf without building.")
@click.option("--machine", type=click.Choice(qemu.MACHINES), default=None,
              help="QEMU machine (default: the board's first).")
@click.option("--ovmf", is_flag=True,
              help="Boot through OVMF and the image instead of directly: app.elf's symbols "
                   "apply once the runtime runs.")
@click.option("--gdb-batch", "batch", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Run gdb without a terminal: -batch -x FILE.")
@click.option("--gdb-arg", "gdb_args", multiple=True, metavar="ARG",
              help="Extra gdb argument (repeatable), after `target remote`.")
@click.pass_context
def debug_cmd(ctx, project_dir, board, sets, no_build, machine, ovmf, batch, gdb_args):
    """Start the guest halted under QEMU's gdbstub and gdb with app.elf's symbols."""
    opts = debug_mod.Options(build=not no_build, machine=machine, ovmf=ovmf,
                             batch=Path(batch) if batch else None, gdb_args=tuple(gdb_args),
                             verbose=ctx.obj["verbose"])
    res = debug_mod.debug(project_dir, board, sets, opts, log=lambda l: click.echo(l, err=True))
    click.echo(res.summary, err=True)
    ctx.exit(res.exit_code)


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
@click.option("--json", "as_json", is_flag=True,
              help="With --show: every symbol as JSON (value, source, origin).")
def config_cmd(project_dir, board, sets, unsets, show, diff, as_json):
    """Configure the project: menuconfig, or --set/--unset/--show/--diff without a UI."""
    if sets or unsets:
        saved = configure.edit(project_dir, board, sets, unsets)
        for note in saved.notes:
            click.echo(note, err=True)
        for line in saved.lines:
            click.echo(line)
        click.echo(f"saved {saved.path}")
    elif as_json and show == "":
        output.echo_json([r.as_dict() for r in configure.rows(project_dir, board)])
    elif as_json:
        raise click.UsageError("--json goes with --show alone (all symbols)")
    elif show is not None:
        for line in configure.show(project_dir, board, show or None):
            click.echo(line)
    elif diff:
        for line in configure.diff(project_dir, board):
            click.echo(line)
    else:
        saved = configure.menuconfig(project_dir, board)
        click.echo(f"saved {saved.path} ({saved.kept} value(s) differ from board and manifest)")


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
    disk, result = flash.flash(imageexport.image_for(project_dir, board, image_path), device,
                               force, yes, choose=_choose_disk, confirm=_confirm, log=click.echo)
    click.echo(f"verified: {disk.path} reads back sha256 {result.sha256} "
               f"({flash.format_size(result.size)}) in {result.seconds:.1f} s; "
               f"the stick is ready to boot")


def _choose_disk(menu):
    """Show the disks and ask which one to write; None when none can be."""
    click.echo(f"{menu.kind}:")
    for mark, line in menu.rows():
        click.echo(f"  {mark:<4} {line}")
    if not menu.safe:
        return None
    return click.prompt("write to which disk (number or name)",
                        type=click.Choice(menu.answers()), show_choices=False)


def _confirm(disk) -> str:
    return click.prompt(f"type {disk.name} to overwrite it", default="", show_default=False)


@cli.command("image")
@project_option
@board_option
@click.option("--format", "fmt", type=click.Choice(list(imageexport.FORMATS)), required=True,
              help="Disk image format to export to.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: build/<board>/unicycle.<format>).")
def image_cmd(project_dir, board, fmt, output):
    """Export the built image as raw, qcow2 or vmdk (qemu-img convert)."""
    out = imageexport.export_project(project_dir, board, fmt, output)
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
    if not interface:
        for line in serve.interface_table(serve.interfaces()):
            click.echo(line, err=True)
        raise click.UsageError("name the interface to serve on with --interface "
                               "(never answering DHCP on an unnamed network); see the list above")
    serve.serve_project(project_dir, board, interface, watch, verbose=ctx.obj["verbose"],
                        log=lambda line: click.echo(f"{time.strftime('%H:%M:%S')} {line}"))


@cli.command("monitor")
@click.option("--port", "-p", default=monitor_mod.DEFAULT_PORT, show_default=True,
              help="Serial port of the board (USB adapters: /dev/ttyUSB*, /dev/ttyACM*).")
@click.option("--baud", type=int, default=monitor_mod.DEFAULT_BAUD, show_default=True,
              help="Baud rate (the runtime's console runs at 115200).")
@click.option("--log", "log_file", type=click.Path(dir_okay=False), default=None,
              help="Append the console (symbolized) to this file too.")
@project_option
@board_option
@click.pass_context
def monitor_cmd(ctx, port, baud, log_file, project_dir, board):
    """A real board's serial console, panic backtraces symbolized; Ctrl-] exits."""
    say = lambda line: click.echo(line, err=True)
    monitor_mod.check_baud(baud)
    opts = monitor_mod.Options(port=port, baud=baud, log=Path(log_file) if log_file else None,
                               elf=monitor_mod.elf_for(project_dir, board, say))
    ctx.exit(monitor_mod.monitor(opts, log=say))


@cli.command("boards")
@json_option
def boards_cmd(as_json):
    """List the boards with a one-line description."""
    found = boards_mod.load_all()
    if as_json:
        output.echo_json([{"name": b.name, "kind": b.kind, "description": b.description,
                           "path": str(b.path), "hardware": b.hardware} for b in found])
        return
    for line in output.table([[b.name, b.description] for b in found]):
        click.echo(line)


@cli.command("doctor")
@json_option
@click.pass_context
def doctor_cmd(ctx, as_json):
    """Check the host tools, files and permissions the workflow needs; say how to fix each."""
    checks = doctor_mod.run_checks()
    if as_json:
        output.echo_json([c.as_dict() for c in checks])
    else:
        stream = click.get_text_stream("stdout")
        for line in doctor_mod.report(checks, stream):
            click.echo(line, color=output.colour_on(stream))
    ctx.exit(0 if doctor_mod.healthy(checks) else 1)


@cli.command("clean")
@project_option
@click.option("--all", "everything", is_flag=True,
              help="Also the Unicycle tree's caches: unpacked third-party sources and the "
                   "benchmarks' caches (asks first).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing caches.")
def clean_cmd(project_dir, everything, yes):
    """Remove the project's build/ (every board); --all also the tree's caches."""
    targets = clean_mod.plan(project_dir, everything)
    if not targets:
        click.echo("nothing to remove: no build/ here" + (" and no caches" if everything else ""))
        return
    for t in targets:
        click.echo(f"{'removing' if not everything or yes else 'will remove'} {_shown(t.path)}/ "
                   f"({output.size(t.size)}): {t.what}; `{t.restore}` makes it again")
    if everything and not yes:
        click.confirm("remove all of the above?", abort=True)
    freed = clean_mod.remove(targets)
    click.echo(f"removed {len(targets)} folder(s), {output.size(freed)}")


@cli.group("keys")
def keys_group():
    """Signing keys for payloads (see README "Signed payloads")."""


@keys_group.command("generate")
@project_option
@click.option("--out", type=click.Path(dir_okay=False),
              help="Where to write the private key (default: "
                   "~/.config/unicycle/keys/<app>.pem; never inside build/).")
def keys_generate_cmd(project_dir, out):
    """Make an ECDSA P-256 key pair and name it in unicycle.toml's [signing]."""
    path, kid = signing.keys_generate(project_dir, Path(out) if out else None)
    click.echo(f"wrote {path} (mode 0600), key id {kid}; unicycle.toml's [signing] key names "
               f"it.\nThe next build compiles the public key into BOOTX64.EFI and signs "
               f"payload.cfg. Back the key up; never commit it.")


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
@click.option("--payload", required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path())
def package_cmd(efi, elf, cfg, payload, out):
    """(internal, run by ninja) Package the bootloader and app into a disk image."""
    image.package(Path(efi), Path(elf), Path(cfg), Path(out),
                  extra=netboot.payload_files(Path(payload)))


@cli.command("_netboot", hidden=True)
@click.option("--efi", required=True, type=click.Path())
@click.option("--elf", required=True, type=click.Path())
@click.option("--cfg", required=True, type=click.Path())
@click.option("--payload", required=True, type=click.Path())
@click.option("--build-dir", required=True, type=click.Path(file_okay=False))
def netboot_cmd(efi, elf, cfg, payload, build_dir):
    """(internal, run by ninja) Write build/<board>/netboot/ for a TFTP server."""
    netboot.package(Path(efi), Path(elf), Path(cfg), Path(payload), Path(build_dir))


@cli.command("_payload", hidden=True)
@click.option("--elf", required=True, type=click.Path())
@click.option("--cfg", required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path())
@click.option("--key", type=click.Path())
def payload_cmd(elf, cfg, out, key):
    """(internal, run by ninja) Write payload.cfg, and payload.sig with a key."""
    signing.write_payload(Path(elf), Path(cfg), Path(out), Path(key) if key else None)


@cli.command("_sign-efi", hidden=True)
@click.option("--key", required=True, type=click.Path())
@click.option("--cert", required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path())
@click.argument("efi", type=click.Path())
def sign_efi_cmd(key, cert, out, efi):
    """(internal, run by ninja) Sign BOOTX64.EFI with sbsign and check it with sbverify."""
    efisign.sign(efisign.from_option((key, cert)), Path(efi), Path(out))


@cli.command("_sources", hidden=True)
@click.option("--make", "as_make", is_flag=True, required=True,
              help="Print make variables COMPONENT_<name> and COMPONENT_<name>_INCLUDES.")
def sources_cmd(as_make):
    """(internal, run by tests/unit/Makefile) runtime/sources.toml's files for make."""
    click.echo(components.make_fragment(), nl=False)


def main():
    cli(prog_name="unicycle")
