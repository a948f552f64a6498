"""The import boundaries in pyproject.toml's [tool.importlinter] are enforced, not just written.

`make lint` runs `lint-imports` on the checkout; these tests show the contracts actually bite: a copy
of the tree with one forbidden import added fails the named contract, and the unmodified copy passes
(so a failure cannot come from the copying itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _tree(tmp_path: Path) -> Path:
    for package in ("api", "workers", "shared"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_unmodified_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("api/_violation.py", "import workers.app\n", "the gateway never imports the workers"),
        ("shared/engine/_violation.py", "from workers.base import job_task\n", "shared never imports api or workers"),
        ("shared/wanted/_violation.py", "import api.app\n", "shared never imports api or workers"),
        ("workers/_violation.py", "from shared.devstack import supervisor\n",
         "product code never imports the CLI or the dev stack"),
        ("shared/infra/_violation.py", "import shared.cli\n", "product code never imports the CLI or the dev stack"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, source: str, contract: str) -> None:
    tree = _tree(tmp_path)
    (tree / module).write_text(source)
    result = _lint(tree)
    assert result.returncode == 1, result.stdout
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(line.startswith(contract) for line in broken), result.stdout
