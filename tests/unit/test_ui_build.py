"""``make up`` and ``make ui`` say clearly when Node.js or npm is missing (ui/build.sh)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "ui" / "build.sh"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"  # a PATH with the shell's helpers and no node, no npm
    bin_dir.mkdir(exist_ok=True)
    for tool in ("dirname",):
        target = shutil.which(tool)
        assert target is not None
        if not (bin_dir / tool).exists():
            os.symlink(target, bin_dir / tool)
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run([bash, str(BUILD), *args], env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=30)


def test_make_ui_fails_and_names_node_20(tmp_path: Path) -> None:
    out = _run(tmp_path)
    assert out.returncode == 1
    assert "needs Node.js 20.19 or later with npm (node is not installed)" in out.stderr
    assert "make ui" in out.stderr


def test_make_up_goes_on_without_the_ui(tmp_path: Path) -> None:
    out = _run(tmp_path, "--optional")
    assert out.returncode == 0
    assert "node is not installed" in out.stderr and "the API works" in out.stderr
