"""bench/linuxvm.py's nginx VM without booting: each variant's QEMU command line, the /init
shell functions that turn the kernel command line into nginx.conf and sysctls (run with
/bin/sh, and busybox sh when the bench cache has it), and the stats endpoint's parser."""
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))
import linuxvm  # noqa: E402

VM = {"kernel": Path("/k/vmlinuz-cloud"), "initrd": Path("/k/initrd.gz"),
      "kernels": {"cloud": Path("/k/vmlinuz-cloud"), "generic": Path("/k/vmlinuz-generic")}}
REDIS_VM = {"kernel": Path("/r/vmlinuz"), "initrd": Path("/r/initrd.gz")}

SHELLS = [["/bin/sh"]]
_busybox = REPO / ".cache/bench/linux/trees/busybox-static/bin/busybox"
if _busybox.is_file():
    SHELLS.append([str(_busybox), "sh"])


def sh(shell, script: str, *args) -> subprocess.CompletedProcess:
    """INIT_FUNCS then script, run by shell with args as $1..."""
    return subprocess.run([*shell, "-c", linuxvm.INIT_FUNCS + script, "sh", *args],
                          capture_output=True, text=True, timeout=10)


def arg(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


# ---- QEMU command lines ------------------------------------------------------

@pytest.mark.parametrize("name", list(linuxvm.LINUX_VARIANTS))
def test_every_variant_gets_its_machine_nic_kernel_and_command_line(name):
    s = linuxvm.settings(name)
    cmd = linuxvm.variant_command(VM, name, "user,id=net0", Path("/tmp/s.log"))
    assert arg(cmd, "-machine") == s["machine"]
    assert arg(cmd, "-device") == f"{s['nic']},netdev=net0"
    assert arg(cmd, "-kernel") == str(VM["kernels"][s["kernel"]])
    assert arg(cmd, "-initrd") == str(VM["initrd"])                # one initramfs for all
    assert (arg(cmd, "-m"), arg(cmd, "-smp"), arg(cmd, "-accel")) == ("512", "1", "tcg")
    append = arg(cmd, "-append").split()
    assert append[:3] == ["console=ttyS0", "quiet", "panic=-1"]
    for word in s["cmdline_extra"]:
        assert word in append
    nginx = ",".join(f"{k}={v}" for k, v in s["nginx"].items())
    assert f"bench.nginx={nginx}" in append
    sysctl = [w for w in append if w.startswith("bench.sysctl=")]
    assert sysctl == ([f"bench.sysctl={','.join(f'{k}={v}' for k, v in s['sysctl'].items())}"]
                      if s["sysctl"] else [])
    assert s["why"]


def test_the_variants_differ_where_they_say():
    cmd = {n: linuxvm.variant_command(VM, n, "user,id=net0", Path("s"))
           for n in ("default", "pc", "e1000e", "idle-poll", "mitigations-off", "busy-poll")}
    assert arg(cmd["default"], "-machine") == "q35" and arg(cmd["pc"], "-machine") == "pc"
    assert arg(cmd["e1000e"], "-device") == "e1000e,netdev=net0"
    assert arg(cmd["e1000e"], "-kernel") == str(VM["kernels"]["generic"])
    assert "bench.nic=e1000e" in arg(cmd["e1000e"], "-append").split()
    assert "idle=poll" in arg(cmd["idle-poll"], "-append").split()
    assert "idle=poll" not in arg(cmd["default"], "-append")
    assert "mitigations=off" in arg(cmd["mitigations-off"], "-append").split()
    assert "bench.sysctl=net.core.busy_poll=50,net.core.busy_read=50" in \
        arg(cmd["busy-poll"], "-append").split()
    best = linuxvm.settings("best-busy-poll")
    assert {"idle=poll", "mitigations=off"} <= set(best["cmdline_extra"])
    assert best["sysctl"] and best["nginx"]["reuseport"] == "on"


def test_command_is_the_default_variant_and_still_boots_the_redis_vm():
    args = ("user,id=net0,hostfwd=tcp:127.0.0.1:5000-:80", Path("/tmp/s.log"))
    assert linuxvm.command(VM, *args) == linuxvm.variant_command(VM, "default", *args)
    cmd = linuxvm.command(REDIS_VM, *args, address="10.0.9.3/24", gateway="10.0.9.1")
    assert arg(cmd, "-kernel") == "/r/vmlinuz" and arg(cmd, "-machine") == "q35"
    assert arg(cmd, "-device") == "virtio-net-pci,netdev=net0"
    assert arg(cmd, "-netdev") == args[0]
    assert {"bench.ip=10.0.9.3/24", "bench.gw=10.0.9.1"} <= set(arg(cmd, "-append").split())


def test_a_variant_needing_the_generic_kernel_on_a_vm_without_it_is_an_error():
    with pytest.raises(ValueError, match="e1000e.*generic kernel"):
        linuxvm.variant_command(REDIS_VM, "e1000e", "user,id=net0", Path("s"))


@pytest.mark.parametrize("call", [
    lambda: linuxvm.settings("fastest"),
    lambda: linuxvm.variant_command(VM, "fastest", "user,id=net0", Path("s")),
])
def test_an_unknown_variant_is_a_clear_error(call):
    with pytest.raises(ValueError, match=r"unknown Linux variant 'fastest' \(known: default, pc"):
        call()


def test_a_bad_setting_in_the_table_is_caught(monkeypatch):
    monkeypatch.setitem(linuxvm.LINUX_VARIANTS, "typo",
                        {"nginx": {"worker_processes": "al"}, "why": "x"})
    with pytest.raises(ValueError, match="'typo': bad nginx setting worker_processes=al"):
        linuxvm.settings("typo")


def test_user_netdev_and_stats_url():
    assert linuxvm.user_netdev(5000) == "user,id=net0,hostfwd=tcp:127.0.0.1:5000-:80"
    assert linuxvm.user_netdev(5000, 5001) == ("user,id=net0,hostfwd=tcp:127.0.0.1:5000-:80,"
                                               "hostfwd=tcp:127.0.0.1:5001-:8081")
    assert linuxvm.stats_url("10.0.9.3") == "http://10.0.9.3:8081/cgi-bin/stats"
    assert linuxvm.stats_url("127.0.0.1", 5001) == "http://127.0.0.1:5001/cgi-bin/stats"


# ---- /init: kernel command line -> nginx.conf and sysctls --------------------

def conf_lines(text: str) -> list[str]:
    return [l.strip() for l in text.splitlines()]


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_no_options_render_the_old_single_worker_config(shell):
    r = sh(shell, 'nginx_conf ""')
    lines = conf_lines(r.stdout)
    assert r.returncode == 0 and r.stderr == ""
    assert "worker_processes 1;" in lines
    assert "events { worker_connections 1024; multi_accept off; accept_mutex off; }" in lines
    assert "listen 80 default_server backlog=1024;" in lines
    assert "location = / { try_files /index.html =404; }" in lines


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_options_render_into_nginx_conf(shell):
    r = sh(shell, 'nginx_conf "$1"',
           "worker_processes=auto,multi_accept=on,reuseport=on,accept_mutex=on")
    lines = conf_lines(r.stdout)
    assert "worker_processes auto;" in lines
    assert "events { worker_connections 1024; multi_accept on; accept_mutex on; }" in lines
    assert "listen 80 default_server backlog=1024 reuseport;" in lines


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_a_bad_option_is_reported_and_ignored(shell):
    r = sh(shell, 'nginx_conf "$1"', "worker_processes=lots,multi_accept=on,sendfile=off")
    lines = conf_lines(r.stdout)
    assert "worker_processes 1;" in lines
    assert "events { worker_connections 1024; multi_accept on; accept_mutex off; }" in lines
    assert "bad bench.nginx option 'worker_processes=lots'" in r.stderr
    assert "bad bench.nginx option 'sendfile=off'" in r.stderr


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
@pytest.mark.parametrize("name", list(linuxvm.LINUX_VARIANTS))
def test_each_variants_command_line_gives_its_nginx_conf(shell, name, tmp_path):
    """What /init does: /proc/cmdline (here a file) -> bench_args -> nginx_conf."""
    s = linuxvm.settings(name)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text(s["kernel_cmdline"] + " bench.ip=10.0.9.3/24 bench.gw=10.0.9.1\n")
    r = sh(shell, 'bench_args "$(cat "$1")"; echo "$addr $gw $nic $sysctls"; '
                  'nginx_conf "$nginx_opts"', str(cmdline))
    first, *conf = r.stdout.splitlines()
    sysctls = ",".join(f"{k}={v}" for k, v in s["sysctl"].items())
    assert first.split(" ") == ["10.0.9.3/24", "10.0.9.1", linuxvm.NIC_DEVICES[s["nic"]],
                                sysctls]
    lines = conf_lines("\n".join(conf))
    n = s["nginx"]
    assert f"worker_processes {n['worker_processes']};" in lines
    assert (f"events {{ worker_connections 1024; multi_accept {n['multi_accept']}; "
            f"accept_mutex {n['accept_mutex']}; }}") in lines
    reuse = " reuseport" if n["reuseport"] == "on" else ""
    assert f"listen 80 default_server backlog=1024{reuse};" in lines
    assert r.stderr == ""


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_bench_args_defaults_to_user_net_and_virtio(shell):
    r = sh(shell, 'bench_args "$1"; echo "$addr|$gw|$nic|$nginx_opts|$sysctls"',
           "console=ttyS0 quiet")
    assert r.stdout.strip() == "10.0.2.15/24|10.0.2.2|virtio||"


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_sysctls_are_written_under_proc_sys(shell, tmp_path):
    core = tmp_path / "net" / "core"
    core.mkdir(parents=True)
    for f in ("busy_poll", "busy_read"):
        (core / f).write_text("0\n")
    r = sh(shell, 'set_sysctls "$1" "$2"',
           "net.core.busy_poll=50,net.core.busy_read=60,net.core.nope=1,noequals,"
           "net..core=1", str(tmp_path))
    assert (core / "busy_poll").read_text() == "50\n"
    assert (core / "busy_read").read_text() == "60\n"
    assert not (core / "nope").exists()
    out = r.stdout.splitlines()
    assert "bench: sysctl net.core.busy_poll = 50" in out
    assert "bench: sysctl net.core.busy_read = 60" in out
    assert "bench: bad sysctl 'net.core.nope=1' (ignored)" in out
    assert "bench: bad sysctl 'noequals' (ignored)" in out
    assert "bench: bad sysctl 'net..core=1' (ignored)" in out


# ---- the stats endpoint --------------------------------------------------------

SAMPLE = """\
MemTotal: 480280
MemFree: 438572
MemAvailable: 438412
Uptime: 3.93
Tcp.ActiveOpens: 0
Tcp.PassiveOpens: 53
Tcp.RetransSegs: 2
Tcp.MaxConn: -1
TcpExt.ListenOverflows: 7
"""


def test_parse_stats():
    assert linuxvm.parse_stats("Content-Type: text/plain\n\n" + SAMPLE + "junk line\n") == {
        "MemTotal": 480280, "MemFree": 438572, "MemAvailable": 438412, "Uptime": 3.93,
        "Tcp.ActiveOpens": 0, "Tcp.PassiveOpens": 53, "Tcp.RetransSegs": 2, "Tcp.MaxConn": -1,
        "TcpExt.ListenOverflows": 7}
    assert linuxvm.parse_stats("MemTotal:  480280 kB\n") == {"MemTotal": 480280}
    assert linuxvm.parse_stats("") == {}


def test_the_stats_cgi_reports_this_hosts_proc():
    """The CGI script the guest runs, run here on the host's /proc by /bin/sh and awk."""
    if not shutil.which("awk"):
        pytest.skip("no awk")
    r = subprocess.run(["/bin/sh", "-c", linuxvm.STATS_CGI], capture_output=True, text=True,
                       timeout=10)
    head, _, body = r.stdout.partition("\n\n")
    assert head == "Content-Type: text/plain"
    stats = linuxvm.parse_stats(body)
    meminfo = linuxvm.parse_stats(Path("/proc/meminfo").read_text())
    assert stats["MemTotal"] == meminfo["MemTotal"]
    assert 0 < stats["MemAvailable"] <= stats["MemTotal"]
    for key in ("Tcp.ActiveOpens", "Tcp.PassiveOpens", "Tcp.RetransSegs", "Tcp.CurrEstab",
                "TcpExt.ListenOverflows"):
        assert isinstance(stats[key], int)


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.skipif(not shutil.which("curl"), reason="no curl")
def test_fetch_stats(server):
    _Handler.body = SAMPLE.encode()
    url = linuxvm.stats_url("127.0.0.1", server.server_address[1])
    assert linuxvm.fetch_stats(url)["TcpExt.ListenOverflows"] == 7
    _Handler.body = b"<html>not stats</html>"
    with pytest.raises(linuxvm.StatsError, match="no memory figures"):
        linuxvm.fetch_stats(url)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(linuxvm.StatsError, match=f"127.0.0.1:{port}/cgi-bin/stats"):
        linuxvm.fetch_stats(url, timeout=2)


def test_the_readme_table_has_a_row_per_variant():
    rows = linuxvm.variants_table().splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == [f"`{n}`" for n in linuxvm.LINUX_VARIANTS]
    assert "`idle=poll` `mitigations=off`" in rows[list(linuxvm.LINUX_VARIANTS).index("best")]
