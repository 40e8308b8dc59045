"""Shared pytest fixtures: the repo root, a CliRunner, fresh project folders; wait_until."""
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "manifests"


def wait_until(predicate, timeout=20, step=0.05) -> bool:
    """Poll predicate() until it is true (True) or `timeout` seconds pass (its last value)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


@pytest.fixture
def runner():
    return CliRunner(mix_stderr=False)


@pytest.fixture
def project_from(tmp_path):
    """Copy a manifest fixture into a fresh project as unicycle.toml."""

    def make(fixture: str) -> Path:
        proj = tmp_path / "proj"
        proj.mkdir()
        shutil.copy(FIXTURES / fixture, proj / "unicycle.toml")
        shutil.copy(FIXTURES / "main.c", proj / "main.c")
        return proj

    return make


def pytest_collection_modifyitems(config, items):
    if os.environ.get("UNICYCLE_SKIP_QEMU"):
        skip = pytest.mark.skip(reason="UNICYCLE_SKIP_QEMU is set")
        for item in items:
            if "qemu" in item.keywords:
                item.add_marker(skip)
