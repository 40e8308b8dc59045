# Makefile: the entry points. `make demo`, `make test`, `make bench`.
# Each installs what it needs first (Debian packages, the Python package in
# .venv, third-party sources from Debian source packages); all idempotent.

SHELL      := /bin/bash
VENV       := .venv
UNICYCLE   := $(VENV)/bin/unicycle
PYTHON     := $(VENV)/bin/python
STAMPS     := .cache/stamps

APT_PACKAGES := gcc binutils make ninja-build gnu-efi qemu-system-x86 qemu-utils ovmf \
	mtools dosfstools gdisk fdisk python3 python3-venv python3-pip python3-setuptools \
	python3-wheel python3-click python3-jinja2 python3-kconfiglib python3-jsonschema \
	python3-pytest python3-pexpect dpkg-dev xz-utils curl wrk iproute2 iputils-ping \
	util-linux tmux file apache2-utils dnsmasq-base \
	clang libfuzzer-14-dev redis-tools redis-server gdb python3-serial openssl sbsigntool \
	python3-cryptography python3-scapy python3-matplotlib

.PHONY: all deps apt venv fetch demo test test-unit test-fuzz test-cli test-qemu bench bench-http \
	bench-profile bench-connrate bench-report bench-block bench-boot bench-kv soak clean

all: deps

deps: apt venv fetch

# Debian packages: install only what is missing (quick when all are there).
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The CLI, installed editable from pyproject.toml into a venv that sees
# Debian's Python modules (PyPI is not used: --no-deps --no-build-isolation).
venv: $(STAMPS)/venv
$(STAMPS)/venv: pyproject.toml | apt
	@[ -x $(VENV)/bin/python ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	PIP_NO_INDEX=1 $(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	@mkdir -p $(STAMPS) && touch $@

fetch: venv
	$(UNICYCLE) fetch

# Build examples/http-hello, boot it in QEMU, fetch / with curl, shut it down.
demo: deps
	$(UNICYCLE) build -C examples/http-hello
	$(UNICYCLE) run -C examples/http-hello --no-build --fetch / --timeout 120

test: deps
	$(MAKE) -C tests/unit
	$(MAKE) -C tests/fuzz
	$(PYTHON) -m pytest -q tests

test-unit: deps
	$(MAKE) -C tests/unit

# Each libFuzzer target (tests/fuzz: 7) for FUZZ_SECONDS (8 by default); one: make -C tests/fuzz run-http.
test-fuzz: deps
	$(MAKE) -C tests/fuzz

# Every benchmark, then the report: bench/results/latest.json, the pictures and the
# README's table (bench/report.py).
bench: bench-http bench-profile bench-connrate bench-block bench-boot bench-kv
	$(PYTHON) bench/report.py --readme README.md

# http-hello against the best Linux + nginx VM: every variant once, then the headline
# rounds with closed-loop, open-loop, new-connection load and memory (bench/run.py; root).
bench-http: deps
	$(PYTHON) bench/run.py $(BENCH_ARGS)
	$(PYTHON) bench/report.py

# Where a request's time goes: http-hello with CONFIG_PROFILE, and the TX doorbell cut
# before/after (CONFIG_NET_TX_BATCH=1 against the default), on a tap (bench/reqprofile.py; root).
bench-profile: deps
	$(PYTHON) bench/reqprofile.py $(PROFILE_ARGS)

# New connection per request, ab -c1 through hostfwd, one figure per boot (bench/connrate.py).
bench-connrate: deps
	$(PYTHON) bench/connrate.py $(CONNRATE_ARGS)

# latest.json, pictures and the README table from the results that are there.
bench-report: deps
	$(PYTHON) bench/report.py --readme README.md

# Disks: examples/blktest against fio in a Linux VM, per driver (bench/blk.py).
bench-block: deps
	$(PYTHON) bench/blk.py $(BLK_BENCH_ARGS)

# Boot time: http-hello through OVMF, direct on q35, direct on microvm (bench/boot.py).
bench-boot: deps
	$(PYTHON) bench/boot.py $(BOOT_BENCH_ARGS)

# Redis: examples/kv against redis-server in a Linux VM, redis-benchmark -P 1 and -P 16 (bench/kv.py).
bench-kv: deps
	$(PYTHON) bench/kv.py $(KV_BENCH_ARGS)

# Not part of `make test` or `make bench`: a million requests to http-hello over a tap, keep-alive
# and new connections at once; fails on any error or memory not given back (bench/soak.py, root).
# SOAK_ARGS: e.g. --requests 2000000 --minutes 30.
soak: deps
	$(PYTHON) bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf build examples/*/build tests/*/build
