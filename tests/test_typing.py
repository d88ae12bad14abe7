"""jaxlr as the type checkers see it once installed from its wheel (issue 19).

A user script built from the README's snippets (tests/typecheck/user_script.py) must pass
pyright in strict mode and mypy in strict mode with zero errors, and the wrong calls of
tests/typecheck/user_errors.py must be flagged, each on its line. Both check jaxlr as a wheel
installs it, py.typed marker included: in a virtual environment holding the unpacked wheel,
which sees this environment's other packages (jax, optax, numpy) but not its own jaxlr. Each
checker runs once over both files. Skipped when a checker is not installed (the test extra
installs both; pyright comes with Node.js as a wheel, so it needs no download).
"""

from __future__ import annotations

import ast
import json
import os
import re
import site
import subprocess
import sys
from pathlib import Path

import pytest

import jaxlr
from tests.distributions import ROOT, build, install_wheel, require_tool

SCRIPTS = ROOT / "tests" / "typecheck"
GOOD, BAD = SCRIPTS / "user_script.py", SCRIPTS / "user_errors.py"


def environment() -> dict[str, str]:
    """This process's environment without PYTHONPATH, which would put a source tree's jaxlr
    before the installed one."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def marked_lines(path: Path) -> set[int]:
    """The lines of ``path`` that end in a ``# error: why`` comment: those a checker must flag."""
    return {n for n, line in enumerate(path.read_text().splitlines(), 1) if "  # error: " in line}


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a virtual environment where jaxlr is installed from its wheel."""
    tmp = tmp_path_factory.mktemp("typing")
    _, wheel, _ = build(tmp)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    interpreter = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = subprocess.run(
        [str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    install_wheel(wheel, Path(purelib))
    # This environment's packages as plain paths: its own (editable) jaxlr is installed by an
    # import hook in a .pth file, which a plain path does not run.
    (Path(purelib) / "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    found = subprocess.run(
        [str(interpreter), "-c", "import jaxlr, optax; print(jaxlr.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
        cwd=tmp,
    ).stdout.strip()
    assert found == str(Path(purelib) / "jaxlr" / "__init__.py")
    return interpreter


def copies(tmp_path: Path) -> tuple[Path, Path]:
    """The two scripts, copied away from the checkout: a checker run in it (or beside its
    jaxlr/ folder) would find the source tree's jaxlr instead of the installed one."""
    good, bad = tmp_path / GOOD.name, tmp_path / BAD.name
    good.write_text(GOOD.read_text())
    bad.write_text(BAD.read_text())
    return good, bad


@pytest.mark.slow
def test_readme_user_script_and_errors_under_pyright_strict(python: Path, tmp_path: Path) -> None:
    require_tool("pyright")
    good_copy, bad_copy = copies(tmp_path)
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--project",
            str(config),
            "--pythonpath",
            str(python),
            str(good_copy),
            str(bad_copy),
        ],
        # No look-up of a newer pyright on PyPI: the bundled one is the one the test extra pins.
        capture_output=True,
        text=True,
        timeout=600,
        env={**environment(), "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["filesAnalyzed"] == 2, result.stdout
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    good = [f"{d['range']['start']['line'] + 1}: {d['message']}" for d in errors if Path(d["file"]) == good_copy]
    assert good == []
    flagged = {d["range"]["start"]["line"] + 1 for d in errors if Path(d["file"]) == bad_copy}
    assert flagged == marked_lines(BAD), [d["message"] for d in errors]


@pytest.mark.slow
def test_readme_user_script_and_errors_under_mypy_strict(python: Path, tmp_path: Path) -> None:
    require_tool("mypy")
    good_copy, bad_copy = copies(tmp_path)
    config = tmp_path / "mypy.ini"
    # optax ships no py.typed marker: read its annotated sources, as a user's configuration
    # must (docs/typing.md).
    config.write_text("[mypy]\nstrict = True\npython_version = 3.11\n\n[mypy-optax.*]\nfollow_untyped_imports = True\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--python-executable",
            str(python),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--show-error-codes",
            "--no-pretty",
            good_copy.name,
            bad_copy.name,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=environment(),
    )
    lines = [re.match(r"(.+?):(\d+): error: (.*)", line) for line in result.stdout.splitlines()]
    errors = [(m[1], int(m[2]), m[3]) for m in lines if m]
    assert [f"{n}: {message}" for name, n, message in errors if name == good_copy.name] == [], result.stdout
    assert {n for name, n, _ in errors if name == bad_copy.name} == marked_lines(BAD), result.stdout
    assert {name for name, _, _ in errors} == {bad_copy.name}, result.stdout


def test_the_user_script_calls_every_family_by_keyword():
    """A new family is type-checked as users call it once it is added to the script."""
    calls = [
        node
        for node in ast.walk(ast.parse(GOOD.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "jaxlr"
        and node.func.attr in jaxlr.REGISTRY
    ]
    assert {call.func.attr for call in calls} == set(jaxlr.REGISTRY)
    by_keyword = {call.func.attr for call in calls if not call.args and call.keywords}
    assert by_keyword == set(jaxlr.REGISTRY)
