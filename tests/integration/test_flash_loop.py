"""What `unicycle flash` is for, end to end: the image boots under OVMF as a USB
mass-storage stick, and flashing a real block device (a loop device we create)
writes and verifies it."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu


def test_boots_as_usb_stick(tmp_path):
    proj = new_project(tmp_path, "usbstick")
    r = unicycle("run", "-C", proj, "--usb", "--timeout", "120", timeout=400)
    assert "Hello from usbstick" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
