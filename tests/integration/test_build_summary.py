"""`unicycle build`'s summary after a real build: text and --json agree with the files."""
import json
import re

from helpers import new_project, unicycle
from unicycle import buildsummary

ESC = "\x1b["


def test_build_summary_text_and_json(tmp_path):
    proj = new_project(tmp_path)
    first = unicycle("build", "-C", proj, check=True)
    out = first.stdout.splitlines()
    head = next(i for i, ln in enumerate(out) if ln.startswith("built demoapp for qemu-x86_64"))
    summary = out[head:]
    assert len(summary) == 4 and ESC not in first.stdout and ESC not in first.stderr
    cc = len(re.findall(r"^\[\d+/\d+\] CC ", first.stdout, re.M))
    assert re.match(rf"  compiled  {cc} object\(s\): app 1, runtime \d+, "
                    r"third-party \d+, bootloader \d+$",
                    summary[1]), summary
    elf = proj / "build" / "qemu-x86_64" / "app.elf"
    sizes = buildsummary.section_sizes(elf)
    assert sizes["text"] > 10_000 and sizes["bss"] > 0
    assert summary[2].startswith("  app.elf   text ") and "bss" in summary[2]

    again = unicycle("build", "-C", proj, "--json", check=True)
    doc = json.loads(again.stdout)                     # only JSON on stdout
    assert "no work to do" in again.stderr              # ninja's lines went to stderr
    assert doc["up_to_date"] is True and doc["objects_compiled"] == 0
    assert doc["sections"] == sizes
    image = proj / "build" / "qemu-x86_64" / "unicycle.img"
    assert doc["image"] == str(image) and doc["image_size"] == image.stat().st_size
    assert doc["board"] == "qemu-x86_64" and doc["app"] == "demoapp" and doc["seconds"] >= 0

    (proj / "src" / "main.c").touch()
    third = json.loads(unicycle("build", "-C", proj, "--json", check=True).stdout)
    assert third["compiled"] == {"app": 1} and third["up_to_date"] is False
