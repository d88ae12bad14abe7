"""The README's Python blocks run as written, its setup is what CI runs, and the plain-JAX example trains
(the Flax main job: tests/test_examples_flax.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)


def test_readme_quick_start_runs_and_prints_what_it_says(capsys):
    blocks = readme_python_blocks()
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "warmup_cosine(peak_value=0.001, warmup_steps=1000, total_steps=100000)"
    assert printed[1] == "0.0 0.001"
    assert printed[3] == "(3, 10)"
    assert float(namespace["d_lr_d_warmup"]) < 0  # a longer warmup lowers the lr at step 500
    assert float(namespace["same"](5_000)) == pytest.approx(float(namespace["joined"](5_000)), rel=1e-6)
    assert namespace["per_epoch"].milestones.tolist() == [11_700, 23_400]
    assert "0.0001" in printed  # current_lr after the first update of the adaptive example
    assert "['clip', 'constant', 'cooldown'] noam(d_model=512, warmup_steps=4000)" in printed
    assert bool(namespace["decision"].improved) and not bool(namespace["decision"].stop)
    assert "0.0002" in printed  # the NNX update's rate, schedule(2)
    assert int(namespace["net_optimizer"].step[...]) == 3
    assert "[ 1.  -2.   0.5]" in printed  # the plain-JAX loop fits its regression
    assert float(namespace["mse"](namespace["model"])) < 0.01  # and the Equinox one, from 5.27
    np.testing.assert_allclose(np.asarray(namespace["w"]), [1.0, -2.0, 0.5], atol=1e-4)


def test_readme_setup_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    setup = re.search(r"## Set up.*?```bash\n(.*?)```", readme, flags=re.DOTALL).group(1).splitlines()
    assert setup[0] == 'pip install -e ".[examples]" && python examples/train_flax.py'
    assert (ROOT / "examples" / "train_flax.py").exists()
    extras = re.search(r'pip install -e "(\.\[[a-z,]+\])"', setup[1]).group(1)
    assert f'-e "{extras}"' in ci and "examples" in extras  # CI installs what the README says
    test_command = setup[1].rsplit("&& ", 1)[1]
    assert test_command == "python -m pytest"
    assert f'\n{test_command} "$@"' in ci or f"\n{test_command}\n" in ci


def test_plain_jax_example_trains_to_a_held_out_accuracy():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import train_optax
    finally:
        sys.path.pop(0)
    metrics = train_optax.main(["--steps", "300", "--warmup-steps", "30", "--log-every", "100"])
    # A chance-level model scores 0.33 on three balanced classes; 300 steps reach 0.95 here.
    assert metrics["test_accuracy"] >= 0.93


def test_plain_jax_example_runs_as_a_script():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_optax.py"), "--steps", "50", "--warmup-steps", "5"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    assert out.stdout.startswith("schedule: warmup_cosine(peak_value=0.01, warmup_steps=5, total_steps=50")
    assert "test accuracy" in out.stdout.splitlines()[-1]
