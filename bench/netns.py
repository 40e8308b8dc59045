"""`bench/run.py --tap`: a network namespace with a bridge and one tap device per guest.

QEMU's user-net hostfwd listens with a backlog of 1, which stalls loads that
open many connections; a tap device has no such limit. Everything lives in the
namespace `ucbench` (or the name given; created here, deleted on exit): the
bridge br0 at 10.0.9.1/24, the taps, the QEMU processes, curl and wrk. Nothing
touches the host's own network.
"""
import subprocess

NAME = "ucbench"
BRIDGE_ADDR = "10.0.9.1"
PREFIX = 24
GUESTS = {"unicycle": ("tapuc", "10.0.9.2"), "linux": ("taplx", "10.0.9.3")}


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


class Netns:
    """Context manager: the namespace, its bridge and taps; wrap() runs a command inside."""

    def __init__(self, name: str = NAME):
        self.name = name

    def __enter__(self):
        _ip("netns", "del", self.name, check=False)    # a leftover from an interrupted run
        _ip("netns", "add", self.name)
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self):
        n = ["-n", self.name]
        _ip(*n, "link", "set", "lo", "up")
        _ip(*n, "link", "add", "br0", "type", "bridge")
        _ip(*n, "addr", "add", f"{BRIDGE_ADDR}/{PREFIX}", "dev", "br0")
        _ip(*n, "link", "set", "br0", "up")
        for tap, _ in GUESTS.values():
            _ip(*n, "tuntap", "add", "dev", tap, "mode", "tap")
            _ip(*n, "link", "set", tap, "master", "br0")
            _ip(*n, "link", "set", tap, "up")

    def __exit__(self, *exc):
        _ip("netns", "del", self.name, check=False)
        return False

    def wrap(self, cmd: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *cmd]

    @staticmethod
    def netdev(side: str) -> str:
        return f"tap,id=net0,ifname={GUESTS[side][0]},script=no,downscript=no"

    @staticmethod
    def address(side: str) -> str:
        return GUESTS[side][1]
