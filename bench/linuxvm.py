"""The Linux comparison VM: a Debian cloud kernel + an initramfs running nginx, built from Debian packages.

Everything is cached under .cache/bench/linux/: the downloaded .deb files, the
extracted trees, and the result (vmlinuz + initrd.gz). The initramfs holds
busybox (busybox-static) as the shell, the virtio-net modules of the kernel
package, nginx (Debian's nginx package) with the shared libraries ldd finds on
this host, and an /init that configures 10.0.2.15/24 via 10.0.2.2 (QEMU user-net; the
kernel command line's bench.ip= and bench.gw= override them) and starts
nginx serving the same 48-byte page as examples/http-hello.
"""
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

PAGE = b"<html><body><h1>Hello, World!</h1></body></html>"
# The virtio PCI transport and the virtio-net driver (modules in the cloud kernel; deps added).
NET_MODULES = ["virtio_pci", "virtio_net"]
MEMINFO_MARK = "bench-meminfo:"
# The nginx VM's modules per NIC: /init loads the group bench.nic= names (virtio by default).
NIC_MODULES = {"virtio": NET_MODULES, "e1000e": ["e1000e"]}
NIC_DEVICES = {"virtio-net-pci": "virtio", "e1000e": "e1000e"}     # QEMU -device -> group
NIC_CONFIG = {"virtio": "VIRTIO_NET", "e1000e": "E1000E"}
# The nginx VM's kernels: the cloud one (virtio only) and the generic one (which has e1000e).
KERNELS = {"cloud": "linux-image-cloud-amd64", "generic": "linux-image-amd64"}
STATS_PORT = 8081           # busybox httpd in the nginx VM: GET /cgi-bin/stats
BASE_CMDLINE = "console=ttyS0 quiet panic=-1"

# nginx's settings that bench.nginx= may set, with their defaults (nginx's own, but
# worker_processes 1: one vCPU) and the values each accepts (as /init's nginx_conf does).
NGINX_DEFAULTS = {"worker_processes": "1", "multi_accept": "off", "reuseport": "off",
                  "accept_mutex": "off"}
NGINX_VALUES = {"worker_processes": r"auto|[1-9][0-9]?", "multi_accept": "on|off",
                "reuseport": "on|off", "accept_mutex": "on|off"}

# The variants of the nginx VM. All use the same initramfs and QEMU -accel tcg -cpu max
# -m 512 -smp 1; a key left out is the default's (VARIANT_DEFAULTS). settings() has them all.
LINUX_VARIANTS = {
    "default": {
        "why": "what bench/run.py has always measured: q35, virtio-net, Debian's cloud kernel "
               "as booted, nginx with one worker"},
    "pc": {
        "machine": "pc",
        "why": "QEMU's i440FX machine instead of q35: a plain PCI bus, no PCIe root ports"},
    "e1000e": {
        "nic": "e1000e", "kernel": "generic",
        "why": "an emulated Intel 82574L instead of virtio-net (the issue's second NIC "
               "profile); the cloud kernel has no e1000e driver, so Debian's generic kernel"},
    "generic-kernel": {
        "kernel": "generic",
        "why": "the generic kernel on virtio-net: separates the kernel's share of the "
               "e1000e variant from the NIC's"},
    "idle-poll": {
        "cmdline": ["idle=poll"],
        "why": "the idle loop spins instead of halting, as unicycle's POLL=y does: no "
               "halt and wake-up around every packet"},
    "mitigations-off": {
        "cmdline": ["mitigations=off"],
        "why": "no Spectre/Meltdown mitigations (retpolines, page-table isolation, "
               "buffer clearing on kernel exit): cheaper syscalls and interrupts"},
    "busy-poll": {
        "sysctl": {"net.core.busy_poll": "50", "net.core.busy_read": "50"},
        "why": "NAPI busy polling: a blocking read/poll/epoll spins on the NIC's queue for "
               "up to 50 us before sleeping, instead of waiting for the interrupt"},
    "nginx-tuned": {
        "nginx": {"multi_accept": "on", "reuseport": "on"},
        "why": "nginx's usual tuning: accept every pending connection per event, and a "
               "SO_REUSEPORT listen socket per worker"},
    "workers-2": {
        "nginx": {"worker_processes": "2"},
        "why": "two workers on one vCPU: one can run while the other waits"},
    "workers-auto": {
        "nginx": {"worker_processes": "auto"},
        "why": "Debian's packaged default (one worker per CPU, so one here): checks that the "
               "fixed 1 is no handicap"},
    "best": {
        "cmdline": ["idle=poll", "mitigations=off"],
        "nginx": {"multi_accept": "on", "reuseport": "on"},
        "why": "the variants above that helped, together"},
    "best-busy-poll": {
        "cmdline": ["idle=poll", "mitigations=off"],
        "nginx": {"multi_accept": "on", "reuseport": "on"},
        "sysctl": {"net.core.busy_poll": "50", "net.core.busy_read": "50"},
        "why": "best plus NAPI busy polling: the closest Linux gets to unicycle's polling "
               "loop"},
}
DEFAULT_VARIANT = "default"
VARIANT_DEFAULTS = {"machine": "q35", "nic": "virtio-net-pci", "kernel": "cloud",
                    "cmdline": [], "sysctl": {}, "nginx": {}}

# Both VMs' /init start the same way: busybox, /proc, /sys, /dev.
INIT_START = """\
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
"""

# The redis VM's /init then loads the NIC's modules and sets the address.
INIT_NET = """\
for m in {modules}; do insmod /lib/modules/$m.ko || echo "bench: insmod $m failed"; done
addr=10.0.2.15/24 gw=10.0.2.2
for a in $(cat /proc/cmdline); do
    case "$a" in bench.ip=*) addr="${{a#bench.ip=}}";; bench.gw=*) gw="${{a#bench.gw=}}";; esac
done
ip link set lo up
ip link set eth0 up
ip addr add "$addr" dev eth0
ip route add default via "$gw"
"""

# ... and, after starting its server, prints the memory figures every 2 s.
INIT_MEMINFO = """\
while true; do
    echo "{mark} $(grep -E '^(MemTotal|MemFree|MemAvailable):' /proc/meminfo | tr -s ' \\n' ' ')"
    sleep 2
done
"""

# The nginx VM's /init functions (plain POSIX sh; the tests run them with /bin/sh).
#   bench_args CMDLINE     sets addr, gw, nic, nginx_opts, sysctls from its bench.* words
#   nginx_conf OPTS        nginx.conf on stdout, OPTS = comma-separated key=value
#   set_sysctls LIST ROOT  writes each key=value of LIST (dots -> slashes) under ROOT
INIT_FUNCS = r"""
bench_args() {
    addr=10.0.2.15/24 gw=10.0.2.2 nic=virtio nginx_opts= sysctls=
    for a in $1; do
        case "$a" in
        bench.ip=*) addr="${a#bench.ip=}";;
        bench.gw=*) gw="${a#bench.gw=}";;
        bench.nic=*) nic="${a#bench.nic=}";;
        bench.nginx=*) nginx_opts="${a#bench.nginx=}";;
        bench.sysctl=*) sysctls="${a#bench.sysctl=}";;
        esac
    done
}

nginx_conf() {
    wp=1 ma=off am=off rp=
    for o in $(echo "$1" | tr , ' '); do
        case "$o" in
        worker_processes=auto|worker_processes=[1-9]|worker_processes=[1-9][0-9])
            wp="${o#*=}";;
        multi_accept=on|multi_accept=off) ma="${o#*=}";;
        accept_mutex=on|accept_mutex=off) am="${o#*=}";;
        reuseport=on) rp=" reuseport";;
        reuseport=off) rp=;;
        *) echo "bench: bad bench.nginx option '$o' (ignored)" >&2;;
        esac
    done
    cat <<EOF
user root root;
worker_processes $wp;
daemon on;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log warn;
events { worker_connections 1024; multi_accept $ma; accept_mutex $am; }
http {
    types { text/html html; }
    default_type text/html;
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {
        listen 80 default_server backlog=1024$rp;
        root /srv/www;
        index index.html;
        location = / { try_files /index.html =404; }
    }
}
EOF
}

set_sysctls() {
    for s in $(echo "$1" | tr , ' '); do
        k="${s%%=*}" v="${s#*=}"
        f="$2/$(echo "$k" | tr . /)"
        case "$k" in
        *..*|*/*|.*|'') echo "bench: bad sysctl '$s' (ignored)"; continue;;
        esac
        if [ "$k" = "$s" ] || [ ! -f "$f" ]; then
            echo "bench: bad sysctl '$s' (ignored)"
        elif echo "$v" > "$f"; then
            echo "bench: sysctl $k = $(cat "$f")"
        else
            echo "bench: sysctl $k: cannot write '$v'"
        fi
    done
}
"""

# The nginx VM's /init after INIT_START + INIT_FUNCS. PID 1 must not exit, so it sleeps;
# nothing else runs in the guest between requests (no console sampler).
INIT_NGINX = r"""
bench_args "$(cat /proc/cmdline)"
kver=$(uname -r)
if [ -f "/lib/modules/$kver/$nic.list" ]; then
    for m in $(cat "/lib/modules/$kver/$nic.list"); do
        insmod "/lib/modules/$kver/$m.ko" || echo "bench: insmod $m failed"
    done
else
    echo "bench: kernel $kver has no $nic driver in this initramfs"
fi
ip link set lo up
ip link set eth0 up
ip addr add "$addr" dev eth0
ip route add default via "$gw"
set_sysctls "$sysctls" /proc/sys
nginx_conf "$nginx_opts" > /etc/nginx/nginx.conf
echo "bench: kernel $kver nic $nic nginx $nginx_opts"
/usr/sbin/nginx -c /etc/nginx/nginx.conf || echo "bench: nginx failed to start"
echo "bench: nginx started"
httpd -p __STATS_PORT__ -h /srv/stats || echo "bench: stats httpd failed to start"
while true; do sleep 3600; done
"""

INIT = INIT_START + INIT_FUNCS + INIT_NGINX.replace("__STATS_PORT__", str(STATS_PORT))

# GET /cgi-bin/stats (busybox httpd, on demand: nothing runs between requests):
# "Key: value" lines; memory in kB as /proc/meminfo has it, /proc/uptime's seconds, every
# Tcp: counter of /proc/net/snmp and every TcpExt: one of /proc/net/netstat.
STATS_CGI = r"""#!/bin/sh
echo "Content-Type: text/plain"
echo
awk '/^(MemTotal|MemFree|MemAvailable):/ { print $1 " " $2 }' /proc/meminfo
awk '{ print "Uptime: " $1 }' /proc/uptime
awk '$1 == "Tcp:" || $1 == "TcpExt:" {
    p = substr($1, 1, length($1) - 1)
    if (!(p in head)) { head[p] = $0; next }
    n = split(head[p], k, " ")
    for (i = 2; i <= n; i++) print p "." k[i] ": " $i
}' /proc/net/snmp /proc/net/netstat
"""


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _download(pkg: str, dest: Path) -> Path:
    """apt-get download PKG into dest (once); returns the .deb path."""
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob(f"{pkg}_*.deb"))
    if found:
        return found[-1]
    try:
        _run(["apt-get", "download", pkg], cwd=dest)
    except subprocess.CalledProcessError:
        _run(["apt-get", "update", "-q"])
        _run(["apt-get", "download", pkg], cwd=dest)
    return sorted(dest.glob(f"{pkg}_*.deb"))[-1]


def _kernel_package(debs: Path, meta_package: str = "linux-image-cloud-amd64") -> str:
    """The versioned kernel package that `meta_package` depends on."""
    meta = _download(meta_package, debs)
    depends = _run(["dpkg-deb", "-f", str(meta), "Depends"]).stdout
    m = re.search(r"(linux-image-[0-9][^\s,(]*-amd64)", depends)
    if not m:
        raise RuntimeError(f"cannot find the kernel in {meta.name}'s Depends: {depends!r}")
    return m.group(1)


def _extract(deb: Path, into: Path) -> Path:
    if not into.exists():
        tmp = into.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _run(["dpkg-deb", "-x", str(deb), str(tmp)])
        tmp.rename(into)
    return into


def _module_deps(ko: Path) -> list[str]:
    """The depends= field of a kernel module's .modinfo section."""
    m = re.search(rb"\x00depends=([^\x00]*)\x00", b"\x00" + ko.read_bytes())
    return [d for d in (m.group(1).decode().split(",") if m else []) if d]


def _module_order(moddir: Path, wanted: list[str]) -> list[tuple[str, Path]]:
    """Modules in load order (dependencies first), found under moddir."""
    index = {p.stem: p for p in moddir.rglob("*.ko")}
    order: list[tuple[str, Path]] = []

    def visit(name):
        if name in (n for n, _ in order):
            return
        if name not in index:
            raise RuntimeError(f"module {name} not found in the kernel package")
        for dep in _module_deps(index[name]):
            visit(dep)
        order.append((name, index[name]))

    for w in wanted:
        visit(w)
    return order


def _builtin(config: Path, option: str) -> bool:
    return f"CONFIG_{option}=y\n" in config.read_text()


def _libraries(binary: Path) -> list[Path]:
    """Shared libraries of binary as ldd resolves them on this host (plus the loader)."""
    out = _run(["ldd", str(binary)]).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m:
            libs.append(Path(m.group(1)))
    return libs


def _copy(src: Path, root: Path, dest: str | None = None, mode: int | None = None):
    target = root / (dest or str(src).lstrip("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src.resolve(), target)
    os.chmod(target, mode if mode is not None else (src.stat().st_mode & 0o777))


def _write(root: Path, rel: str, text, mode=0o644):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    os.chmod(p, mode)


def _newc_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    nb = name.encode() + b"\x00"
    hdr = "070701" + "".join(f"{v:08x}" for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
    out = hdr.encode() + nb
    out += b"\x00" * (-len(out) % 4)
    out += data + b"\x00" * (-len(data) % 4)
    return out


def write_cpio(root: Path, out: Path):
    """root as a gzip'd cpio archive in the newc format (what the kernel unpacks)."""
    chunks = []
    ino = 1
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in [*sorted(dirnames), *sorted(filenames)]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                data = os.readlink(p).encode()
            elif stat.S_ISREG(st.st_mode):
                data = p.read_bytes()
            else:
                data = b""
            chunks.append(_newc_entry(rel, st.st_mode, data, ino))
            ino += 1
    chunks.append(_newc_entry("TRAILER!!!", 0, b"", 0))
    with gzip.open(out, "wb", compresslevel=6) as f:
        f.write(b"".join(chunks))


def _nic_modules(kernel_tree: Path) -> dict[str, list[tuple[str, Path]]]:
    """{NIC group: modules in load order} for one kernel; [] when the driver is built in,
    and no entry when the kernel lacks the driver (the cloud kernel has no e1000e)."""
    config = next((kernel_tree / "boot").glob("config-*")).read_text()
    out = {}
    for group, wanted in NIC_MODULES.items():
        if f"CONFIG_{NIC_CONFIG[group]}=y\n" in config:
            out[group] = []
        elif f"CONFIG_{NIC_CONFIG[group]}=m\n" in config:
            out[group] = _module_order(kernel_tree / "lib/modules", wanted)
    return out


def _rootfs(root: Path, kernel_trees: dict[str, Path], nginx_tree: Path, busybox_tree: Path):
    """The nginx VM's initramfs: for each kernel, /lib/modules/<release>/<group>.list and
    the .ko files it names; nginx, its libraries, the page, the stats CGI and /init."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _copy(busybox_tree / "bin/busybox", root, "bin/busybox", 0o755)
    for ktree in kernel_trees.values():
        release = next((ktree / "lib/modules").iterdir()).name
        for group, modules in _nic_modules(ktree).items():
            for name, ko in modules:
                _copy(ko, root, f"lib/modules/{release}/{name}.ko", 0o644)
            _write(root, f"lib/modules/{release}/{group}.list",
                   "".join(f"{name}\n" for name, _ in modules))
    nginx = nginx_tree / "usr/sbin/nginx"
    _copy(nginx, root, "usr/sbin/nginx", 0o755)
    for lib in _libraries(nginx):
        _copy(lib, root, None, 0o755)
    _write(root, "srv/www/index.html", PAGE)
    _write(root, "srv/stats/cgi-bin/stats", STATS_CGI, 0o755)
    _write(root, "etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
    _write(root, "etc/group", "root:x:0:\n")
    for d in ("etc/nginx", "var/log/nginx", "var/lib/nginx", "run", "tmp", "proc", "sys", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    _write(root, "init", INIT, 0o755)


def _assemble(cache: Path, kernel_meta: str, name: str, recipe: bytes, packages: list[str],
              rootfs, log) -> dict:
    """A VM kernel + initramfs under cache/<name-prefix><kernel>-<recipe hash>/ (reused when
    there): the kernel package `kernel_meta` depends on, the Debian `packages` extracted,
    and rootfs(root, kernel_tree, {package: tree}) filling the initramfs."""
    debs, trees = cache / "debs", cache / "trees"
    kpkg = _kernel_package(debs, kernel_meta)
    out = cache / f"{name}{kpkg}-{hashlib.sha256(recipe).hexdigest()[:12]}"  # a changed recipe rebuilds
    kernel, initrd = out / "vmlinuz", out / "initrd.gz"
    if kernel.is_file() and initrd.is_file():
        return {"kernel": kernel, "initrd": initrd, "version": kpkg}
    log(f"bench: building the Linux VM ({kpkg} + {' + '.join(packages)}) in {out}")
    trees.mkdir(parents=True, exist_ok=True)
    ktree = _extract(_download(kpkg, debs), trees / kpkg)
    ptrees = {p: _extract(_download(p, debs), trees / p) for p in packages}
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(next((ktree / "boot").glob("vmlinuz-*")), kernel)
    root = cache / f"rootfs{'-' + name.rstrip('-') if name else ''}"
    rootfs(root, ktree, ptrees)
    write_cpio(root, initrd.with_suffix(".tmp"))
    initrd.with_suffix(".tmp").rename(initrd)
    return {"kernel": kernel, "initrd": initrd, "version": kpkg}


def build(cache: Path, log=print) -> dict:
    """Builds (or reuses) the nginx VM: both kernels of KERNELS and one initramfs.
    Returns {'kernel': the cloud vmlinuz, 'initrd', 'version': the cloud kernel package,
    'kernels': {flavour: vmlinuz}, 'versions': {flavour: kernel package}}."""
    debs, trees = cache / "debs", cache / "trees"
    kpkgs = {flavour: _kernel_package(debs, meta) for flavour, meta in KERNELS.items()}
    recipe = (INIT + STATS_CGI + repr(NIC_MODULES) + repr(sorted(kpkgs.items()))).encode() + PAGE
    out = cache / f"nginx-{kpkgs['cloud']}-{hashlib.sha256(recipe).hexdigest()[:12]}"
    kernels = {flavour: out / f"vmlinuz-{flavour}" for flavour in KERNELS}
    initrd = out / "initrd.gz"
    vm = {"kernel": kernels["cloud"], "initrd": initrd, "version": kpkgs["cloud"],
          "kernels": kernels, "versions": kpkgs}
    if initrd.is_file() and all(k.is_file() for k in kernels.values()):
        return vm
    log(f"bench: building the Linux VM ({' + '.join(kpkgs.values())} + nginx + "
        f"busybox-static) in {out}")
    trees.mkdir(parents=True, exist_ok=True)
    ktrees = {f: _extract(_download(p, debs), trees / p) for f, p in kpkgs.items()}
    ptrees = {p: _extract(_download(p, debs), trees / p) for p in ("nginx", "busybox-static")}
    out.mkdir(parents=True, exist_ok=True)
    for flavour, ktree in ktrees.items():
        shutil.copyfile(next((ktree / "boot").glob("vmlinuz-*")), kernels[flavour])
    root = cache / "rootfs-nginx"
    _rootfs(root, ktrees, ptrees["nginx"], ptrees["busybox-static"])
    write_cpio(root, initrd.with_suffix(".tmp"))
    initrd.with_suffix(".tmp").rename(initrd)
    return vm


# ---- the nginx VM's variants -------------------------------------------------

def _check_variant(name: str):
    if name not in LINUX_VARIANTS:
        raise ValueError(f"unknown Linux variant {name!r} (known: {', '.join(LINUX_VARIANTS)})")


def _option_list(pairs: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in pairs.items())


def settings(name: str) -> dict:
    """Everything variant `name` sets, for the report: {'name', 'why', 'machine', 'nic'
    (QEMU -device), 'kernel' ('cloud'|'generic'), 'cmdline_extra' (list), 'sysctl' (dict),
    'nginx' (all of NGINX_DEFAULTS' keys), 'kernel_cmdline' (the -append, without
    bench.ip/bench.gw)}. ValueError for an unknown name."""
    _check_variant(name)
    v = {**VARIANT_DEFAULTS, **LINUX_VARIANTS[name]}
    nginx = {**NGINX_DEFAULTS, **v["nginx"]}
    for key, value in nginx.items():
        if key not in NGINX_VALUES or not re.fullmatch(NGINX_VALUES[key], value):
            raise ValueError(f"Linux variant {name!r}: bad nginx setting {key}={value}")
    for key, value in v["sysctl"].items():
        if not re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", key) or not re.fullmatch(r"[^\s,]+", value):
            raise ValueError(f"Linux variant {name!r}: bad sysctl {key}={value}")
    if v["nic"] not in NIC_DEVICES:
        raise ValueError(f"Linux variant {name!r}: unknown NIC {v['nic']!r}")
    if v["kernel"] not in KERNELS:
        raise ValueError(f"Linux variant {name!r}: unknown kernel {v['kernel']!r}")
    words = [BASE_CMDLINE, *v["cmdline"], f"bench.nic={NIC_DEVICES[v['nic']]}",
             f"bench.nginx={_option_list(nginx)}"]
    if v["sysctl"]:
        words.append(f"bench.sysctl={_option_list(v['sysctl'])}")
    return {"name": name, "why": v["why"], "machine": v["machine"], "nic": v["nic"],
            "kernel": v["kernel"], "cmdline_extra": list(v["cmdline"]),
            "sysctl": dict(v["sysctl"]), "nginx": nginx, "kernel_cmdline": " ".join(words)}


def variant_command(vm: dict, name: str, netdev: str, serial_log: Path,
                    address: str | None = None, gateway: str | None = None,
                    memory_mib=512, cpu="max") -> list[str]:
    """QEMU command line for variant `name` of the nginx VM (ValueError if unknown): the
    unikernel's CPU count, CPU model and memory; the variant's machine, NIC, kernel and
    kernel command line. netdev is QEMU's -netdev value with id=net0 (see user_netdev)."""
    s = settings(name)
    append = s["kernel_cmdline"]
    if address:
        append += f" bench.ip={address}"
    if gateway:
        append += f" bench.gw={gateway}"
    kernel = vm.get("kernels", {}).get(s["kernel"]) or \
        (vm["kernel"] if s["kernel"] == "cloud" else None)
    if kernel is None:
        raise ValueError(f"Linux variant {name!r} needs the {s['kernel']} kernel, which this "
                         "VM was not built with")
    return ["qemu-system-x86_64", "-accel", "tcg", "-machine", s["machine"], "-cpu", cpu,
            "-m", str(memory_mib), "-smp", "1", "-kernel", str(kernel),
            "-initrd", str(vm["initrd"]), "-append", append,
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", f"file:{serial_log}",
            "-netdev", netdev, "-device", f"{s['nic']},netdev=net0"]


def command(vm: dict, netdev: str, serial_log: Path, memory_mib=512, cpu="max",
            address: str | None = None, gateway: str | None = None) -> list[str]:
    """QEMU command line for the default variant: the same machine, CPU, memory and NIC
    as the unikernel. Also boots the redis VM (its /init ignores the bench.nginx= words)."""
    return variant_command(vm, DEFAULT_VARIANT, netdev, serial_log, address, gateway,
                           memory_mib=memory_mib, cpu=cpu)


def user_netdev(port: int, stats_port: int | None = None, guest_port: int = 80) -> str:
    """QEMU user-net with 127.0.0.1:port -> the guest's guest_port, and, if stats_port,
    127.0.0.1:stats_port -> the stats endpoint (STATS_PORT)."""
    netdev = f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:{guest_port}"
    if stats_port:
        netdev += f",hostfwd=tcp:127.0.0.1:{stats_port}-:{STATS_PORT}"
    return netdev


# ---- the nginx VM's stats endpoint -------------------------------------------

class StatsError(RuntimeError):
    """The stats endpoint did not answer, or not with stats."""


def stats_url(host: str, port: int = STATS_PORT) -> str:
    """The nginx VM's stats endpoint: host/port as the load generator reaches the guest
    (127.0.0.1 and the hostfwd port on user-net; the guest's address and STATS_PORT on tap)."""
    return f"http://{host}:{port}/cgi-bin/stats"


def parse_stats(text: str) -> dict:
    """The stats endpoint's "Key: value" lines as {key: int or float}: 'MemTotal',
    'MemFree', 'MemAvailable' (kB), 'Uptime' (s), 'Tcp.ActiveOpens', 'Tcp.PassiveOpens',
    'Tcp.RetransSegs', ..., 'TcpExt.ListenOverflows', .... Other lines are skipped."""
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r"\s*([A-Za-z][\w.]*):\s*(-?\d+(?:\.\d+)?)(?:\s*kB)?\s*", line)
        if m:
            out[m.group(1)] = float(m.group(2)) if "." in m.group(2) else int(m.group(2))
    return out


def fetch_stats(url: str, wrap=lambda cmd: cmd, timeout: float = 5) -> dict:
    """GET url with curl (wrap(cmd) may run it in a network namespace); parse_stats of the
    answer. StatsError if it does not come or holds no memory figures."""
    r = subprocess.run(wrap(["curl", "-sS", "--max-time", str(timeout), url]),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise StatsError(f"{url}: {r.stderr.strip() or f'curl exit status {r.returncode}'}")
    stats = parse_stats(r.stdout)
    if "MemTotal" not in stats or "MemAvailable" not in stats:
        raise StatsError(f"{url}: no memory figures in the answer {r.stdout[:200]!r}")
    return stats


def parse_meminfo(serial_text: str) -> dict | None:
    """The last meminfo sample the redis VM's /init printed: {'MemTotal': kB, ...}."""
    lines = [l for l in serial_text.splitlines() if l.startswith(MEMINFO_MARK)]
    if not lines:
        return None
    return {k: int(v) for k, v in re.findall(r"(\w+):\s*(\d+)\s*kB", lines[-1])}


# ---- the fio VM (bench/blk.py) ---------------------------------------------
# Debian's generic kernel: the cloud one has no AHCI. Block drivers are modules
# (deps added); the ones built in are skipped.
FIO_KERNEL_META = "linux-image-amd64"
BLOCK_MODULES = ["virtio_pci", "virtio_blk", "nvme", "ahci", "sd_mod"]
FIO_MARK = "bench-fio:"
FIO_JOBS = [("randread", 1), ("randread", 32), ("randwrite", 1), ("randwrite", 32)]

FIO_INIT = INIT_START + """\
for m in {modules}; do insmod /lib/modules/$m.ko || echo "{mark} insmod $m failed"; done
secs=5 ramp=1
for a in $(cat /proc/cmdline); do
    case "$a" in bench.secs=*) secs="${{a#bench.secs=}}";; bench.ramp=*) ramp="${{a#bench.ramp=}}";; esac
done
dev=
for i in 1 2 3 4 5 6 7 8 9 10; do
    for d in /dev/vda /dev/nvme0n1 /dev/sda; do [ -b $d ] && dev=$d && break 2; done
    sleep 1
done
[ -n "$dev" ] || {{ echo "{mark} no disk"; poweroff -f; }}
echo "{mark} device $dev"
for job in {jobs}; do
    rw=${{job%:*}} qd=${{job#*:}}
    /usr/bin/fio --name=$rw-qd$qd --filename=$dev --direct=1 --ioengine=libaio --thread \\
        --bs=4k --rw=$rw --iodepth=$qd --runtime=$secs --ramp_time=$ramp --time_based \\
        --lat_percentiles=1 --output-format=json > /tmp/out.json 2> /tmp/err \\
        || echo "{mark} fio failed: $(cat /tmp/err)"
    echo "{mark} job $rw $qd $(tr -d '\\n' < /tmp/out.json)"
done
echo "{mark} done"
poweroff -f
"""


def _fio_rootfs(root: Path, kernel_tree: Path, busybox_tree: Path, fio: Path):
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _copy(busybox_tree / "bin/busybox", root, "bin/busybox", 0o755)
    moddir = kernel_tree / "lib/modules"
    present = {p.stem for p in moddir.rglob("*.ko")}
    modules = _module_order(moddir, [m for m in BLOCK_MODULES if m in present])
    for name, ko in modules:
        _copy(ko, root, f"lib/modules/{name}.ko", 0o644)
    _copy(fio, root, "usr/bin/fio", 0o755)
    for lib in _libraries(fio):
        _copy(lib, root, None, 0o755)
    _write(root, "etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
    for d in ("run", "tmp", "proc", "sys", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    jobs = " ".join(f"{rw}:{qd}" for rw, qd in FIO_JOBS)
    _write(root, "init", FIO_INIT.format(modules=" ".join(n for n, _ in modules),
                                         mark=FIO_MARK, jobs=jobs), 0o755)


def build_fio(cache: Path, fio: Path, log=print) -> dict:
    """Builds (or reuses) the fio VM: the generic kernel, busybox, the host's fio
    (`fio`, with the libraries ldd finds). Returns {'kernel', 'initrd', 'version'}."""
    recipe = (FIO_INIT + repr(BLOCK_MODULES) + repr(FIO_JOBS)).encode() + fio.read_bytes()
    return _assemble(cache, FIO_KERNEL_META, "fio-", recipe, ["busybox-static"],
                     lambda root, ktree, t: _fio_rootfs(root, ktree, t["busybox-static"], fio),
                     log)


def fio_command(vm: dict, disk_args: list[str], serial_log: Path, seconds: int, ramp: int,
                memory_mib=512, cpu="max") -> list[str]:
    """QEMU command line for the fio VM: the unikernel's machine, no NIC, the given disk."""
    append = f"console=ttyS0 quiet panic=-1 bench.secs={seconds} bench.ramp={ramp}"
    return ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-cpu", cpu,
            "-m", str(memory_mib), "-smp", "1", "-kernel", str(vm["kernel"]),
            "-initrd", str(vm["initrd"]), "-append", append,
            "-display", "none", "-monitor", "none", "-no-reboot", "-nic", "none",
            "-serial", f"file:{serial_log}", *disk_args]


def parse_fio(serial_text: str) -> dict:
    """{(rw, qd): fio's JSON for that job} from the fio VM's console."""
    import json
    out = {}
    for m in re.finditer(rf"^{re.escape(FIO_MARK)} job (\w+) (\d+) (\{{.*\}})\s*$",
                         serial_text, re.M):
        try:
            out[(m.group(1), int(m.group(2)))] = json.loads(m.group(3))
        except ValueError:
            pass
    return out


# ---- the redis-server VM (bench/kv.py) --------------------------------------
# Debian's redis-server package holds /usr/bin/redis-server as a symlink to
# redis-check-rdb, which redis-tools ships: one binary that acts on the name it is
# run as. The initramfs gets that binary under the name redis-server.
REDIS_PORT = 6379
REDIS_PACKAGES = ["redis-server", "redis-tools", "busybox-static"]
# No snapshots, no append-only file (data in memory only, as kv's appendonly=no), no
# protected mode (it refuses clients from other hosts without a password), all addresses.
REDIS_ARGS = ["--port", str(REDIS_PORT), "--bind", "0.0.0.0", "--protected-mode", "no",
              "--save", '""', "--appendonly", "no", "--dir", "/tmp", "--daemonize", "yes",
              "--logfile", "/dev/console"]

# vm.overcommit_memory=1: what redis-server asks for at start (it warns otherwise).
REDIS_INIT = INIT_START + INIT_NET + """\
echo 1 > /proc/sys/vm/overcommit_memory
/usr/bin/redis-server {args} || echo "bench: redis-server failed to start"
echo "bench: redis-server started"
""" + INIT_MEMINFO


def _redis_binary(server_tree: Path, tools_tree: Path) -> Path:
    """The file /usr/bin/redis-server of the redis-server package stands for."""
    link = server_tree / "usr/bin/redis-server"
    if not link.is_symlink() and link.is_file():
        return link
    if not link.is_symlink():
        raise RuntimeError(f"{link}: not in the redis-server package")
    target = Path(os.readlink(link))
    rel = (Path("/usr/bin") / target).resolve().relative_to("/") if not target.is_absolute() \
        else target.relative_to("/")
    for tree in (server_tree, tools_tree):
        if (tree / rel).is_file():
            return tree / rel
    raise RuntimeError(f"redis-server points to /{rel}, which neither redis-server nor "
                       "redis-tools holds")


def _redis_rootfs(root: Path, kernel_tree: Path, trees: dict):
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    _copy(trees["busybox-static"] / "bin/busybox", root, "bin/busybox", 0o755)
    config = next((kernel_tree / "boot").glob("config-*"))
    modules = [] if _builtin(config, "VIRTIO_NET") else \
        _module_order(kernel_tree / "lib/modules", NET_MODULES)
    for name, ko in modules:
        _copy(ko, root, f"lib/modules/{name}.ko", 0o644)
    redis = _redis_binary(trees["redis-server"], trees["redis-tools"])
    _copy(redis, root, "usr/bin/redis-server", 0o755)
    for lib in _libraries(redis):
        _copy(lib, root, None, 0o755)
    _write(root, "etc/passwd", "root:x:0:0:root:/:/bin/sh\n")
    _write(root, "etc/group", "root:x:0:\n")
    for d in ("run", "tmp", "proc", "sys", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    _write(root, "init", REDIS_INIT.format(modules=" ".join(n for n, _ in modules),
                                           mark=MEMINFO_MARK, args=" ".join(REDIS_ARGS)), 0o755)


def build_redis(cache: Path, log=print) -> dict:
    """Builds (or reuses) the redis-server VM: the cloud kernel (as the nginx VM), busybox,
    Debian's redis-server. Returns {'kernel', 'initrd', 'version'}."""
    recipe = (REDIS_INIT + repr(REDIS_ARGS) + repr(NET_MODULES) + repr(REDIS_PACKAGES)).encode()
    return _assemble(cache, "linux-image-cloud-amd64", "redis-", recipe, REDIS_PACKAGES,
                     _redis_rootfs, log)


def _deb_version(vm: dict, package: str) -> str | None:
    """The version of a Debian package the VM was built from (its .deb in the cache)."""
    debs = sorted((Path(vm["initrd"]).parent.parent / "debs").glob(f"{package}_*.deb"))
    if not debs:
        return None
    return _run(["dpkg-deb", "-f", str(debs[-1]), "Version"]).stdout.strip()


def nginx_version(vm: dict) -> str | None:
    return _deb_version(vm, "nginx")


def redis_version(vm: dict) -> str | None:
    """The redis-server package's version, from the .deb the VM was built from."""
    return _deb_version(vm, "redis-server")


def variants_table() -> str:
    """LINUX_VARIANTS as a Markdown table (bench/README.md's), from settings()."""
    rows = ["| variant | machine | NIC | kernel | kernel command line extras | sysctl | nginx | why |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in LINUX_VARIANTS:
        s = settings(name)
        nginx = ", ".join(f"{k} {v}" for k, v in s["nginx"].items()
                          if v != NGINX_DEFAULTS[k]) or "defaults"
        sysctl = ", ".join(f"`{k}={v}`" for k, v in s["sysctl"].items()) or "-"
        extra = " ".join(f"`{w}`" for w in s["cmdline_extra"]) or "-"
        rows.append(f"| `{name}` | {s['machine']} | {s['nic']} | {s['kernel']} | {extra} | "
                    f"{sysctl} | {nginx} | {s['why']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(variants_table())
