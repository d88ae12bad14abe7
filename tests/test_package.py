"""The distributions a release uploads (issues 15 and 19), built once in a temporary folder.

The wheel holds the package and its py.typed marker and nothing else; the sdist holds the
whole source, and the tests in it are importable from it; the metadata carries the SPDX
license, the license file, the one version; the build warns of nothing deprecated; and
``twine check`` passes on both.
"""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import jaxlr
from tests.distributions import ROOT, build, require_tool

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    return build(tmp_path_factory.mktemp("package"))


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        top = f"jaxlr-{jaxlr.__version__}/"
        return {m.name.removeprefix(top) for m in archive.getmembers() if m.isfile()}


def test_wheel_holds_the_package_with_its_marker_and_nothing_else(built):
    _, wheel, _ = built
    assert wheel.name == f"jaxlr-{jaxlr.__version__}-py3-none-any.whl"
    names = wheel_names(wheel)
    info = f"jaxlr-{jaxlr.__version__}.dist-info/"
    package = {n for n in names if not n.startswith(info)}
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "jaxlr").rglob("*.py")}
    assert package == modules | {"jaxlr/py.typed"}
    assert {n.removeprefix(info) for n in names - package} == {
        "METADATA",
        "WHEEL",
        "RECORD",
        "entry_points.txt",
        "top_level.txt",
        "licenses/LICENSE",
    }


def test_metadata_license_version_and_classifiers(built):
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.message_from_bytes(archive.read(f"jaxlr-{jaxlr.__version__}.dist-info/METADATA"))
        license_text = archive.read(f"jaxlr-{jaxlr.__version__}.dist-info/licenses/LICENSE").decode()
    assert metadata["Version"] == jaxlr.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License"] is None  # the deprecated free-text field
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in license_text
    assert "END OF TERMS AND CONDITIONS" in license_text
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and not any("License ::" in c for c in classifiers)
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# jaxlr")
    assert {"jax>=0.4.30", "jaxlib>=0.4.30", "optax>=0.2.3"} <= set(metadata.get_all("Requires-Dist"))
    assert "tensorboard" in metadata.get_all("Provides-Extra")


def test_the_version_comes_from_one_place():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "jaxlr.__version__"}
    written = [p for p in (ROOT / "jaxlr").rglob("*.py") if re.search(r"^__version__\s*=", p.read_text(), re.M)]
    assert written == [ROOT / "jaxlr" / "__init__.py"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{jaxlr.__version__}]" in changelog


def test_build_warns_of_nothing_deprecated(built):
    *_, output = built
    assert not re.search(r"deprecat", output, flags=re.IGNORECASE), output


def test_twine_check_passes(built):
    require_tool("twine")
    sdist, wheel, _ = built
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_sdist_holds_the_tests_with_their_helpers_and_what_they_read(built):
    sdist, _, _ = built
    names = sdist_names(sdist)
    tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("*.py")}
    helpers = {"tests/__init__.py", "tests/catalogue.py", "tests/peers.py", "tests/reference.py"}
    assert helpers <= tests <= names
    examples = {p.relative_to(ROOT).as_posix() for p in (ROOT / "examples").rglob("*.py")}
    assert examples <= names
    assert {
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "CONTRIBUTING.md",
        "pyproject.toml",
        ".ci/run",
        ".pre-commit-config.yaml",
        "jaxlr/py.typed",
    } <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith("runs/") for n in names)


def test_tests_in_the_sdist_are_importable_from_it(built, tmp_path):
    """Every test module, collected from the unpacked sdist (which imports it and its helpers),
    with the sdist's jaxlr: the sdist is enough to run the suite."""
    sdist, _, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    unpacked = tmp_path / f"jaxlr-{jaxlr.__version__}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [sys.executable, "-c", "import jaxlr; print(jaxlr.__file__)"],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where == str(unpacked / "jaxlr" / "__init__.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-rs", "-n", "0"],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    # A module that skips itself where an extra is missing (the Flax example without flax)
    # was imported as far as its skip: it is reported, with its reason.
    skipped = set(re.findall(r"^SKIPPED \[\d+\] (tests/test_\w+\.py):", result.stdout, flags=re.MULTILINE))
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("test_*.py")}
    assert expected <= collected | skipped, result.stdout[-3000:]


def test_pre_commit_hooks_run_the_checks_ci_runs():
    hooks = re.findall(r"^\s+entry: (.+)$", (ROOT / ".pre-commit-config.yaml").read_text(), flags=re.MULTILINE)
    assert hooks == ["ruff check --force-exclude", "ruff format --check --force-exclude", "mypy"]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "ruff check ." in ci and any(line.split("#")[0].strip() == "mypy" for line in ci)
