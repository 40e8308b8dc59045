"""gen_lwipopts.py: renders templates/lwipopts.h.j2 for the host lwIP fuzz target (fuzz_lwip.c).

The options are the runtime's own: board qemu-x86_64 with every network
feature on (DHCP, DNS, IPv6, statistics), resolved by the CLI's Kconfig code
exactly as `unicycle build` would, so the fuzzed stack is the one that boots.
Usage: python gen_lwipopts.py OUT.h
"""
import sys
from pathlib import Path

from unicycle import boards, config, render

FEATURES = {"NET": True, "NET_DHCP": True, "NET_DNS": True, "NET_IPV6": True, "NET_STATS": True}


def main(out: str) -> None:
    board = boards.load("qemu-x86_64")
    layers = [config.board_layer(board),
              [config.Request("APP_NAME", "fuzz-lwip", "tests/fuzz/gen_lwipopts.py")] +
              [config.Request(k, v, "tests/fuzz/gen_lwipopts.py") for k, v in FEATURES.items()]]
    resolved = config.resolve(layers)
    ctx = {"app": {"name": "fuzz-lwip", "version": "0"},
           "board": {"name": board.name, "description": board.description},
           "config": resolved.values}
    Path(out).write_text(render.render("lwipopts.h.j2", ctx))


if __name__ == "__main__":
    main(sys.argv[1])
