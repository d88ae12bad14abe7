"""The jaxlr command, run as a user would (in a subprocess) and through ``main([...])``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jaxlr
from jaxlr import cli


def run(*args, check=True, x64=False):
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "1" if x64 else "0"}
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


def test_a_reader_that_stops_early_is_not_a_crash():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    process = subprocess.Popen([sys.executable, "-m", "jaxlr", "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # as `jaxlr list | head -0` does, long before the command prints
    _, err = process.communicate(timeout=120)
    assert err == b"" and process.returncode == 1


def test_console_script_is_installed():
    script = shutil.which("jaxlr") or str(Path(sys.executable).parent / "jaxlr")
    if not Path(script).exists():
        pytest.skip("the jaxlr console script is installed by pip install -e .")
    out = subprocess.run([script, "eval", "constant(0.5)", "--at", "3"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.splitlines()[-1].split() == ["3", "0.5"]


def main(capsys, *args):
    """``jaxlr ARGS`` in this process: (exit status, stdout, stderr)."""
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_main_runs_in_process(capsys):
    status, out, err = main(capsys, "eval", "step_decay(1.0, 1_000, gamma=0.5)", "--at", "0, 999,1_000,3000")
    assert (status, err) == (0, "")
    assert out.splitlines() == ["step_decay(init_value=1.0, step_size=1000, gamma=0.5)", "step  value",
                                "   0  1", " 999  1", "1000  0.5", "3000  0.125"]


def test_the_last_32_bit_step_is_evaluated_exactly(capsys):
    status, out, _ = main(capsys, "eval", "linear(0.0, 1.0, 2147483647)", "--at", "1073741824,2147483646,2147483647")
    assert status == 0
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["0.5", "1", "1"]


def _nan_schedule(monkeypatch):
    """constant() made to return NaN: no family does (that is a rule), so plotting one needs a
    broken one. The eager calls' compiled plans are forgotten before and after: a plan traced
    with the broken method would otherwise serve every later constant of the same structure
    (undoing the patch does not recompile what was compiled with it)."""
    from jaxlr import _eager

    _eager.clear()
    monkeypatch.setattr(jaxlr.constant, "_value", lambda self, step: np.float32("nan") * step)
    monkeypatch.setattr(_eager, "_plans", type(_eager._plans)())  # a scratch cache, dropped with the patch
    monkeypatch.setattr(_eager, "_memo", {})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # --at: malformed lists and steps out of range
        (("eval", "cosine_decay(1.0, 10)", "--at", ""), "--at takes whole steps separated by commas"),
        (("eval", "cosine_decay(1.0, 10)", "--at", ","), "--at takes whole steps separated by commas"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "1,,2"), "--at takes whole steps separated by commas, such as "
                                                            "0,100,1000; an empty entry in '1,,2' is not a whole step"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "1,2,"), "an empty entry in '1,2,'"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "0;10"), "'0;10' in '0;10' is not a whole step"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "1.5"), "'1.5' in '1.5' is not a whole step"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "1e3"), "'1e3' in '1e3' is not a whole step"),
        (("eval", "cosine_decay(1.0, 10)", "--at=-1"), "--at takes steps >= 0, got -1"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "4294967295"),
         "--at 4294967295 is past 2**31 - 1, the largest step without 64-bit JAX (set JAX_ENABLE_X64=1"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "0,2147483648"), "--at 2147483648 is past 2**31 - 1"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "1" + "0" * 5000), "--at takes whole steps"),
        (("eval", "cosine_decay(1.0, 10)"), "the following arguments are required: --at"),
        # --steps, --width, --height, --steps-per-epoch
        (("show", "cosine_decay(1.0, 10)", "--steps", "3000000000"),
         "--steps 3000000000 reaches step 2999999999, past 2**31 - 1"),
        (("show", "cosine_decay(1.0, 10)", "--steps", "2147483649"), "reaches step 2147483648, past 2**31 - 1"),
        (("plot", "cosine_decay(1.0, 3_000_000_000)", "--steps", "3_000_000_000"), "--steps 3000000000 reaches"),
        (("show", "cosine_decay(1.0, 10)", "--steps", "1e400"),
         "argument --steps: must be a whole number, got '1e400'"),
        (("show", "cosine_decay(1.0, 10)", "--steps", "0"), "argument --steps: must be >= 1, got 0"),
        (("show", "cosine_decay(1.0, 10)", "--steps", "10", "--width", "3"), "argument --width: must be in [8, 1000]"),
        (("show", "cosine_decay(1.0, 10)", "--steps", "10", "--height", "10**9"), "argument --height: must be a whole"),
        (("eval", "step_decay(1.0, '3ep')", "--at", "0", "--steps-per-epoch", "0"),
         "argument --steps-per-epoch: must be in [1, 2**53], got 0"),
        (("eval", "step_decay(1.0, '3ep')", "--at", "0", "--steps-per-epoch", "2.5"),
         "argument --steps-per-epoch: must be a whole number, got '2.5'"),
        # specs: overflowing numbers, options, deep nesting
        (("eval", "cosine_decay(1e400, 10)", "--at", "0"), "bad schedule 'cosine_decay(1e400, 10)': init_value"),
        (("eval", "cosine_decay(1.0, 1e400)", "--at", "0"), "decay_steps must be a finite number of steps"),
        (("eval", "cosine_decay(1.0, '1e400%', )", "--at", "0"), "decay_steps='1e400%' is a percentage"),
        (("eval", "step_decay(1.0, '1e400ep')", "--at", "0", "--steps-per-epoch", "10"), "step_size='1e400ep'"),
        (("eval", "cosine_decay(1.0, 10, periodic='false')", "--at", "0"), "periodic must be True or False"),
        (("eval", "cosine_decay(1.0, 10, periodic=false)", "--at", "0"), "periodic=false is JSON, not Python"),
        (("eval", '{"name": "cosine_decay", "init_value": 1.0, "decay_steps": 10, "periodic": 0}', "--at", "0"),
         "periodic must be True or False, got 0"),
        (("eval", '{"name": "cosine_decay", "init_value": 1.0', "--at", "0"), "not a JSON config"),
        (("eval", "scale(" * 5000 + "constant(1.0)" + ", 2.0)" * 5000, "--at", "0"), "nested more than 32 levels"),
        (("eval", "[" * 100_000, "--at", "0"), "nested more than 32 levels"),
        # plot: output paths and values there is nothing to draw for
        (("plot", "cosine_decay(1.0, 10)", "--steps", "10", "--out", "lr.gif"), "--out must end in .png or .svg"),
        (("plot", "constant(0.0)", "--steps", "10", "--out", "{tmp}/lr.png", "--log"), "--log needs values > 0"),
        (("plot", "cosine_decay(1.0, 10)", "--steps", "10", "--out", "{tmp}/a-file/lr.png"),
         "--out '{tmp}/a-file/lr.png' cannot be written"),
        (("plot", "cosine_decay(1.0, 10)", "--steps", "10", "--out", "{tmp}/a-folder.png"),
         "--out '{tmp}/a-folder.png' cannot be written"),
        # the command itself
        ((), "the following arguments are required: command"),
        (("bogus",), "argument command: invalid choice: 'bogus'"),
        (("eval", "cosine_decay(1.0, 10)", "--at", "0", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(capsys, tmp_path, args, message):
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "a-folder.png").mkdir()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    status, out, err = main(capsys, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("jaxlr: error: ") and "Traceback" not in err
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert len(err) < 700  # a 100,000-character spec is not echoed back whole


@pytest.mark.parametrize("command", [("eval", "constant(1.0)", "--at", "0,5"),
                                     ("show", "constant(1.0)", "--steps", "9"),
                                     ("plot", "constant(1.0)", "--steps", "9", "--out", "{tmp}/nan.png")])
def test_a_schedule_that_is_nan_is_an_error_not_a_picture(capsys, monkeypatch, tmp_path, command):
    _nan_schedule(monkeypatch)
    status, out, err = main(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in command])
    assert status == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("jaxlr: error: constant(value=1.0) is nan at step 0: there is nothing to show for it")
    assert not (tmp_path / "nan.png").exists()


def test_plot_samples_a_long_run_instead_of_evaluating_every_step():
    steps = cli._plot_steps(3_000_000_000)
    assert len(steps) == cli.MAX_POINTS and steps[0] == 0 and steps[-1] == 2_999_999_999
    assert np.all(np.diff(steps) > 0)
    np.testing.assert_array_equal(cli._plot_steps(7), np.arange(7))


def test_steps_past_32_bits_need_x64_and_then_evaluate_exactly():
    # 4294967295 is -1 as an int32: without the range check it printed the value at step 0.
    out = run("eval", "linear(0.0, 1.0, 4294967296)", "--at", "4294967295", check=False)
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1
    assert out.stderr.startswith("jaxlr: error: --at 4294967295 is past 2**31 - 1") and "JAX_ENABLE_X64=1" in out.stderr
    lines = run("eval", "linear(0.0, 1.0, 4294967296)", "--at", "0,2147483648,4294967295", x64=True).stdout.splitlines()
    assert [line.split() for line in lines[2:]] == [["0", "0"], ["2147483648", "0.5"], ["4294967295", "1"]]


def test_plot_of_three_billion_steps_with_x64(tmp_path):
    pytest.importorskip("matplotlib", reason="jaxlr plot needs matplotlib: pip install -e '.[plot]'")
    png = tmp_path / "long.png"
    out = run("plot", "cosine_decay(1.0, 3_000_000_000)", "--steps", "3_000_000_000", "--out", str(png), x64=True)
    assert out.stdout == f"wrote {png}\n" and out.stderr == ""
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_in_a_subprocess_is_one_line_and_status_2(tmp_path):
    for args in (("eval", "cosine_decay(1.0, 10)", "--at", "4294967295"),
                 ("eval", "cosine_decay(1.0, 10, staircase='no')", "--at", "1"),
                 ("show", "cosine_decay(1.0, 10)", "--steps", "1e400"),
                 ("eval", "[" * 100_000, "--at", "0"),
                 ("plot", "cosine_decay(1.0, 10)", "--steps", "10", "--out", str(tmp_path / "x.png" / "y.png"))):
        if args[0] == "plot":
            (tmp_path / "x.png").write_text("a file where a folder is needed")
        out = run(*args, check=False)
        assert out.returncode == 2 and out.stdout == "", out.stderr
        assert out.stderr.count("\n") == 1 and out.stderr.startswith("jaxlr: error: "), out.stderr


# ---------------------------------------------------------------------------------------
# Without --steps: the schedule's own length, and a quarter of it past the end.

LENGTHS = [
    ("warmup_cosine(1e-3, 100, 1000)", 1000),  # total_steps
    ("warmup_linear(1e-3, 100, 1000)", 1000),
    ("cosine_decay(1.0, 400)", 400),  # decay_steps
    ("cosine_decay(1.0, 400, periodic=True)", 3 * 800),  # three periods of 2 * decay_steps
    ("linear(1.0, 0.0, transition_steps=300, transition_begin=50)", 350),
    ("polynomial(1.0, 0.0, 300, power=2.0)", 300),
    ("multistep_decay(0.1, [30, 60, 90])", 90),  # the last milestone
    ("piecewise_constant([10, 20], [1.0, 0.5, 0.1])", 20),
    ("piecewise_linear([0, 10, 30], [0.0, 1.0, 0.0])", 30),
    ("exponential_decay(1.0, 0.5, decay_steps=10, end_value=0.125)", 30),  # 1.0 * 0.5 ** (t / 10) = 0.125
    ("linear_warmup(1.0, 40)", 40),
    ("exponential_warmup(1.0, 40, 0.01)", 40),
    ("warmup_exponential(1.0, 100, 0.5, decay_steps=10, end_value=0.25)", 100 + 20),  # 0.5 ** (20 / 10) = 0.25
    ("warmup_then(cosine_decay(1.0, 900), 100)", 1000),  # the decay starts after the warmup
    ("warmup_then(multistep_decay(1.0, [300, 600]), 100, shift=False)", 600),  # absolute milestones
    ("warmup_then(constant(1.0), 100)", 100),
    ("cosine_restarts(1.0, 10, period_mul=2.0, cycles=3)", 10 + 20 + 40),
    ("cosine_restarts(1.0, 10)", 3 * 10),  # restarts for ever: three periods
    ("cyclic(0.1, 1.0, 20, 30)", 3 * 50),
    ("one_cycle(1.0, 500)", 500),
    ("one_cycle_momentum(500)", 500),
    ("cyclic_momentum(0.8, 0.9, 10, 20)", 3 * 30),  # three periods, as cyclic
    ("with_momentum(one_cycle(1.0, 400), one_cycle_momentum(400))", 400),  # the rate's
    ("wsd(1.0, 500, 0.1, 0.2)", 500),
    ("rex_decay(1.0, 500)", 500),
    ("tanh_decay(1.0, 500)", 500),
    ("per_epoch(multistep_decay(1.0, [2, 5]), 10)", 50),  # epochs times steps per epoch
    ("join([linear_warmup(1.0, 100), cosine_decay(1.0, 900)], [100])", 1000),  # last boundary + last piece
    ("join([cosine_decay(1.0, 100), constant(0.1)], [100])", 100),
    ("scale(cosine_decay(1.0, 100), 0.5)", 100),
    ("clip(cosine_decay(1.0, 100), min_value=0.1)", 100),
    ("multiply(constant(0.1), linear_warmup(1.0, 70))", 70),
    ("shift(cosine_decay(1.0, 100), 25)", 125),
    ("repeat(cosine_decay(1.0, 100), 40)", 3 * 40),
    ("cooldown(constant(1.0), 300, 60)", 300),
]
ENDLESS = [
    "constant(1.0)", "step_decay(1.0, 30)", "exponential_decay(1.0, 0.5)", "inverse_time_decay(1.0, 0.5)",
    "warmup_exponential(1.0, 100, 0.5)", "inverse_sqrt_decay(1.0, 100)", "noam(512, 4000)",
    "multiply(linear_warmup(1.0, 70), step_decay(1.0, 9))", "warmup_then(step_decay(1.0, 30), 100)",
    "join([constant(1.0), step_decay(1.0, 30)], [100])",
]


@pytest.mark.parametrize(("spec", "length"), LENGTHS)
def test_a_schedule_has_its_own_length(spec, length):
    schedule = jaxlr.from_config(spec)
    assert cli.schedule_length(schedule) == pytest.approx(length, rel=1e-12)
    assert cli.default_steps([schedule]) == max(int(np.ceil(1.25 * length)), int(np.floor(length)) + 2)


@pytest.mark.parametrize("spec", ENDLESS)
def test_a_schedule_without_an_end_has_no_length(spec):
    assert cli.schedule_length(jaxlr.from_config(spec)) is None


def test_every_family_says_what_its_length_is():
    assert set(cli._LENGTHS) == set(jaxlr.REGISTRY)
    assert {spec.split("(")[0] for spec, _ in LENGTHS} | {spec.split("(")[0] for spec in ENDLESS} == set(
        jaxlr.REGISTRY) - {"from_fn"}


def test_default_steps_stay_in_the_range_jax_counts():
    assert cli.default_steps([jaxlr.cosine_decay(1.0, 10_000_000_000)]) == 2**31
    # several schedules: the longest one's length
    several = [jaxlr.cosine_decay(1.0, 100), jaxlr.step_decay(1.0, 10), jaxlr.rex_decay(1.0, 400)]
    assert cli.default_steps(several) == 500


def test_show_without_steps_covers_the_schedule_and_past_its_end(capsys):
    status, out, err = main(capsys, "show", "warmup_cosine(1e-3, 100, 1000)", "--width", "20", "--height", "4")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "warmup_cosine(peak_value=0.001, warmup_steps=100, total_steps=1000)"
    assert lines[1] == "steps 0 to 1249: the schedule's length, 1000, and past its end (--steps to choose)"
    assert lines[-1].endswith("step 1249")
    # the last 4 of 20 columns (steps 1053 to 1249) are past the end, at the end value 0: the bottom row
    assert lines[5].split("│")[1].endswith("•" * 4)


def test_show_or_plot_of_a_schedule_without_an_end_asks_for_steps(capsys, tmp_path):
    for args in (("show", "step_decay(0.1, 30)"), ("plot", "constant(0.1)", "noam(512, 4000)", "--out",
                                                     str(tmp_path / "lr.png"))):
        status, out, err = main(capsys, *args)
        assert status == 2 and out == "" and err.count("\n") == 1
        assert "no length of its own" in err and err.rstrip().endswith("give --steps")
    assert not (tmp_path / "lr.png").exists()


def test_plot_without_steps_titles_the_figure_with_the_specs(capsys, monkeypatch, tmp_path):
    pytest.importorskip("matplotlib", reason="jaxlr plot needs matplotlib: pip install -e '.[plot]'")
    import matplotlib.axes

    titles, ranges = [], []
    set_title, plot = matplotlib.axes.Axes.set_title, matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title",
                        lambda self, label, *a, **k: titles.append(label) or set_title(self, label, *a, **k))
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, x, *a, **k: ranges.append((x[0], x[-1])) or plot(self, x, *a, **k))
    png = tmp_path / "lr.png"
    specs = ["warmup_then(multistep_decay(1e-3, [300, 600]), 50, shift=False)",
             "warmup_then(multistep_decay(1e-3, [300, 600]), 50)"]
    status, out, _ = main(capsys, "plot", *specs, "--out", str(png))
    assert status == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert titles == ["\n".join(specs)]  # not "2 schedules"
    assert ranges == [(0, 812), (0, 812)]  # the longer, shifted one ends at 650: 1.25 * 650 steps
    assert out.splitlines() == [
        "steps 0 to 812: the longest schedule's length, 650, and past its end (--steps to choose)", f"wrote {png}"]


def test_a_long_spec_is_wrapped_in_the_title():
    spec = "join([" + ", ".join(f"constant({i}.0)" for i in range(1, 30)) + "], " + str(list(range(10, 290, 10))) + ")"
    lines = cli.title([spec], width=100).splitlines()
    assert len(lines) > 1 and all(len(line) <= 100 for line in lines) and " ".join(lines) == spec
