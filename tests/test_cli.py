"""The jaxlr command, run as a user would: in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jaxlr


def run(*args, check=True):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-m", "jaxlr", *args], capture_output=True, text=True, timeout=120, env=env)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_list_shows_every_schedule_with_a_description():
    lines = run("list").stdout.splitlines()
    assert [line.split()[0] for line in lines] == jaxlr.names()
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_eval_prints_a_table_of_values():
    out = run("eval", "warmup_cosine(1.0, warmup_steps='10%', total_steps=1000)", "--at", "0,50,100,550,1000").stdout
    lines = out.splitlines()
    assert lines[0] == "warmup_cosine(peak_value=1.0, warmup_steps=100, total_steps=1000)"
    values = [float(line.split()[1]) for line in lines[2:]]
    assert values == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0], abs=1e-6)


def test_eval_takes_json_and_epochs():
    out = run("eval", '{"name": "step_decay", "init_value": 1.0, "step_size": "2ep"}', "--at", "0,199,200",
              "--steps-per-epoch", "100").stdout
    assert [float(line.split()[1]) for line in out.splitlines()[2:]] == pytest.approx([1.0, 1.0, 0.1])


def test_show_draws_in_the_terminal():
    out = run("show", "linear(1.0, 0.0, 100)", "--steps", "100", "--width", "20", "--height", "5").stdout
    chart = out.splitlines()[1:6]
    top_label, top_row = chart[0].split("│")
    bottom_label, bottom_row = chart[-1].split("│")
    # 1.0 at step 0 in the top row's first column; 0.01 at step 99 in the bottom row's last
    assert (top_label.strip(), bottom_label.strip()) == ("1", "0.01")
    assert top_row.startswith("•") and bottom_row.endswith("•") and len(top_row) == 20
    assert "step 99" in out


def test_plot_writes_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib", reason="jaxlr plot needs matplotlib: pip install -e '.[plot]'")
    png, svg = tmp_path / "lr.png", tmp_path / "lr.svg"
    run("plot", "cosine_decay(1.0, 1000)", "one_cycle(1.0, 1000)", "--steps", "1200", "--out", str(png), "--log")
    run("plot", "rex_decay(1.0, 1000)", "--steps", "1000", "--out", str(svg))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert b"<svg" in svg.read_bytes()[:500]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "cosine_dcay(1.0, 10)", "--at", "0"), "unknown schedule 'cosine_dcay'; did you mean 'cosine_decay'"),
        (("show", "cosine_decay(1.0, decay_steps=0)", "--steps", "10"), "decay_steps must be > 0, got 0"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "a,b"), "--at takes whole steps"),
        (("plot", "cosine_decay(1.0, 10)", "--steps", "10", "--out", "lr.gif"), "--out must end in .png or .svg"),
        (("eval", "os.system('true')", "--at", "0"), "not a schedule call"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(args, message):
    out = run(*args, check=False)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("jaxlr: error: ") and message in out.stderr


def test_console_script_is_installed():
    script = shutil.which("jaxlr") or str(Path(sys.executable).parent / "jaxlr")
    if not Path(script).exists():
        pytest.skip("the jaxlr console script is installed by pip install -e .")
    out = subprocess.run([script, "eval", "constant(0.5)", "--at", "3"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.splitlines()[-1].split() == ["3", "0.5"]
