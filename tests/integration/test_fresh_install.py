"""``make install`` works in a clean copy with only system paths and Debian's own python3.

What a newcomer on Debian 12 runs (README, Quick start): no uv, no pip in the system Python
(PEP 668 refuses it), a PATH of system directories. The Makefile must bootstrap uv without
touching the system Python. The apt line itself is proven once in a debootstrapped Debian 12
(docs/fresh-install.md); this test keeps the Makefile's part of that proof from regressing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.stack import ROOT

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Build products and local state (see .gitignore): a clean clone has none of them.
TOP_LEVEL_STATE = {".git", ".venv", ".venv-tools", "data", ".env", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _not_in_a_clone(directory: str, names: list[str]) -> set[str]:
    ignored = set(ANYWHERE(directory, names))
    if Path(directory) == ROOT:
        ignored |= TOP_LEVEL_STATE & set(names)
    if Path(directory) == ROOT / "ui":
        ignored |= {"node_modules", "dist", "openapi.json"} & set(names)  # npm's and the build's (make ui)
    return ignored


def clean_copy(dest: Path) -> Path:
    """The checkout as a fresh clone would have it (uncommitted edits included: they are under test)."""
    shutil.copytree(ROOT, dest, ignore=_not_in_a_clone, symlinks=True)
    return dest


def system_env(home: Path) -> dict[str, str]:
    """`env -i HOME=... PATH=<system dirs>`, plus the caller's download caches (speed only)."""
    env = {"HOME": str(home), "PATH": SYSTEM_PATH}
    real_home = Path(os.environ.get("HOME", str(Path.home())))
    env["UV_CACHE_DIR"] = os.environ.get("UV_CACHE_DIR", str(real_home / ".cache" / "uv"))
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR", str(real_home / ".cache" / "pip"))
    return env


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_make_install_with_only_system_paths(tmp_path: Path) -> None:
    repo = clean_copy(tmp_path / "clone")
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(["/usr/bin/make", "install"], cwd=repo, env=system_env(home), capture_output=True,
                         text=True, timeout=880)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "externally-managed-environment" not in out.stderr
    # The project's venv is built on Debian's own interpreter, not a uv-managed or pyenv one.
    base = subprocess.run([str(repo / ".venv/bin/python"), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, check=True, env={"PATH": SYSTEM_PATH})
    assert base.stdout.strip() == "/usr"
    helped = subprocess.run([str(repo / ".venv/bin/mamcrawler"), "--help"], capture_output=True, text=True,
                            env={"PATH": SYSTEM_PATH, "HOME": str(home)}, cwd=repo)
    assert helped.returncode == 0 and "apikey" in helped.stdout, helped.stderr
    # A second run has nothing to do: the stamp and the bootstrapped uv are reused.
    again = subprocess.run(["/usr/bin/make", "install"], cwd=repo, env=system_env(home), capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout, again.stdout + again.stderr


def test_make_install_names_the_missing_apt_package(tmp_path: Path) -> None:
    """A python3 without ensurepip (Debian without python3-venv) is reported as such, before any download."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "ensurepip.py").write_text('raise ImportError("ensurepip is in python3-venv on Debian")\n')
    python = tmp_path / "python3"
    real = shutil.which("python3", path=SYSTEM_PATH)
    assert real is not None
    python.write_text(f'#!/bin/sh\nPYTHONPATH={shadow} exec {real} "$@"\n')
    python.chmod(0o755)
    repo = clean_copy(tmp_path / "clone")
    out = subprocess.run(["/usr/bin/make", "install", f"PYTHON={python}"], cwd=repo, capture_output=True,
                         text=True, timeout=60, env={"HOME": str(tmp_path), "PATH": SYSTEM_PATH})
    assert out.returncode != 0
    assert "apt install python3-venv" in out.stderr, out.stderr
    assert not (repo / ".venv-tools").exists()
    missing = subprocess.run(["/usr/bin/make", "install", "PYTHON="], cwd=repo, capture_output=True, text=True,
                             timeout=60, env={"HOME": str(tmp_path), "PATH": SYSTEM_PATH})
    assert missing.returncode != 0 and "apt install python3 python3-venv" in missing.stderr, missing.stderr


def test_one_uv_version_for_make_and_the_image() -> None:
    """The Makefile's bootstrap and deploy/Dockerfile resolve uv.lock with the same uv."""
    make = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    image = re.search(r"^ARG UV_VERSION=(\S+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.MULTILINE)
    assert make and image, "UV_VERSION is pinned in both the Makefile and deploy/Dockerfile"
    assert make.group(1) == image.group(1)
