"""Building jaxlr's sdist and wheel in a temporary folder, as a release would.

The source is copied first (the files git tracks, or every file of an unpacked sdist), so a
build never writes into the checkout, and two test workers can build at once. The build runs
without isolation (``python -m build --no-isolation``): with the setuptools of this
environment, so that it needs no download, and makes the wheel from the sdist, as ``python -m
build`` does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "runs",
)


def require_tool(module: str, extra: str = "test") -> None:
    """Skips the calling test when ``module`` (build, twine, mypy, pyright) is missing."""
    try:
        __import__(module)
    except ImportError:
        pytest.skip(f"needs {module}: pip install -e '.[{extra}]'")


def copy_source(dest: Path) -> Path:
    """The source tree at ``dest``: git's tracked and unignored files in a checkout, every
    file but caches and build output elsewhere (an unpacked sdist)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=ROOT,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():  # a file deleted but not yet committed is listed too
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest / name)
    else:
        shutil.copytree(ROOT, dest, ignore=IGNORED, dirs_exist_ok=True)
    return dest


def build(tmp: Path) -> tuple[Path, Path, str]:
    """The sdist and the wheel built from a copy of the source, and the build's output."""
    require_tool("build")
    source = copy_source(tmp / "source")
    out = tmp / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return sdist, wheel, result.stdout + result.stderr


def install_wheel(wheel: Path, site_packages: Path) -> None:
    """Installs a pure-Python wheel by unpacking it, which is what an installer does with
    its files (scripts and the INSTALLER record aside)."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site_packages)
