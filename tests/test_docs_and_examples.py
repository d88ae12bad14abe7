"""The Python blocks of the README and the guide pages each run on their own, as written; the
setup is what CI runs; the plain-JAX example trains (the Flax main job: tests/test_examples_flax.py);
every constructor documents its arguments."""

from __future__ import annotations

import dataclasses
import inspect
import pydoc
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jaxlr

ROOT = Path(__file__).resolve().parent.parent


# The README and the documentation pages its sections moved to, in reading order.
PAGES = ["README.md", "docs/training.md", "docs/adaptive.md", "docs/config.md"]


def python_blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), flags=re.DOTALL)


def readme_python_blocks() -> list[tuple[str, str]]:
    """(page, block) for every Python block of the README and of the pages in ``PAGES``."""
    return [(page, block) for page in PAGES for block in python_blocks(page)]


def run_alone(page_and_block: tuple[str, str], capsys) -> tuple[dict, list[str]]:
    """A block run on its own, in a fresh namespace: its names and its printed lines."""
    page, block = page_and_block
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(block, page, "exec"), namespace)
    return namespace, capsys.readouterr().out.splitlines()


def test_every_readme_block_runs_on_its_own_and_prints_what_it_says(capsys):
    blocks = readme_python_blocks()
    runs = [run_alone(block, capsys) for block in blocks]
    assert len(runs) == 8
    (quick, quick_out), (warmup, warmup_out), (plain, plain_out), (eqx, eqx_out), (finder, finder_out), \
        (adaptive, adaptive_out), (nnx_run, nnx_out), (config, config_out) = runs
    # the quick start
    assert quick_out[0] == "warmup_cosine(peak_value=0.001, warmup_steps=1000, total_steps=100000)"
    assert quick_out[1] == "0.0 0.001"
    assert quick_out[3] == "(3, 10)"
    assert float(quick["d_lr_d_warmup"]) < 0  # a longer warmup lowers the lr at step 500
    # the two warmup forms: drops 5 epochs late, or at the epochs written
    assert warmup_out == ["[0.1, 0.01]"]
    epoch = warmup["E"]
    assert [float(warmup["shifted"](e * epoch)) for e in (34, 35, 64, 65)] == pytest.approx([0.1, 0.01, 0.01, 1e-3])
    assert [float(warmup["absolute"](e * epoch)) for e in (29, 30, 59, 60)] == pytest.approx([0.1, 0.01, 0.01, 1e-3])
    assert float(warmup["same"](5_000)) == pytest.approx(float(warmup["joined"](5_000)), rel=1e-6)
    # the plain-JAX loop fits its regression, and so does the Equinox one (from 5.27)
    assert plain_out == ["[ 1.  -2.   0.5]"]
    np.testing.assert_allclose(np.asarray(plain["w"]), [1.0, -2.0, 0.5], atol=1e-4)
    assert float(eqx["mse"](eqx["model"])) < 0.01 and float(eqx_out[0]) < 0.01
    # the range test on a quadratic of curvature 4: divergence above 2/4, every suggestion below
    found = finder["found"]
    assert 0.5 < found.divergence_lr < 1.5 and found.suggestion < 0.5
    assert finder_out[0] == f"{found.suggestion:.3g}, diverged at {found.divergence_lr:.2g}"
    assert finder_out[1] == "['minimum', 'slide', 'steepest', 'valley']"
    # current_lr after the first update of the adaptive example
    assert adaptive_out == ["0.0001"]
    assert bool(adaptive["decision"].improved) and not bool(adaptive["decision"].stop)
    # the NNX update's rate, schedule(2), after three updates
    assert nnx_out == ["0.0002"]
    assert int(nnx_run["net_optimizer"].step[...]) == 3
    assert config["per_epoch"].milestones.tolist() == [11_700, 23_400]
    assert config_out == ["['clip', 'constant', 'cooldown'] noam(d_model=512, warmup_steps=4000)"]


def test_readme_setup_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    setup = re.search(r"## Set up.*?```bash\n(.*?)```", readme, flags=re.DOTALL).group(1).splitlines()
    assert setup[0] == 'pip install -e ".[examples]" && python examples/train_flax.py'
    assert (ROOT / "examples" / "train_flax.py").exists()
    extras = re.search(r'pip install -e "\.\[([a-z,]+)\]"', setup[1]).group(1).split(",")
    ci_extras = re.search(r'pip install --quiet -e "\.\[([a-z,]+)\]"', ci).group(1).split(",")
    # CI installs what the README says (and the docs extra, to build the site).
    assert "examples" in extras and set(extras) <= set(ci_extras) and set(ci_extras) - set(extras) <= {"docs"}
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


# ---------------------------------------------------------------------------------------
# Docstrings: every argument of every public constructor, and help() without dataclass internals.

CONSTRUCTORS = [*(jaxlr.REGISTRY[name] for name in jaxlr.names()), jaxlr.reduce_on_plateau, jaxlr.early_stopping,
                jaxlr.switch_optimizers]


@pytest.mark.parametrize("constructor", CONSTRUCTORS, ids=lambda c: c.__name__)
def test_every_constructor_documents_each_argument_in_order(constructor):
    doc = inspect.getdoc(constructor)
    assert "\nArgs:\n" in doc and "\nExample:\n" in doc and ">>> " in doc
    section = doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
    documented = re.findall(r"^    (\w+): \S", section, flags=re.MULTILINE)
    parameters = [name for name, p in inspect.signature(constructor).parameters.items()
                  if p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert documented == parameters


@pytest.mark.parametrize("name", jaxlr.names())
def test_help_shows_the_arguments_not_the_dataclass_machinery(name):
    text = pydoc.render_doc(jaxlr.REGISTRY[name], renderer=pydoc.plaintext)
    for internal in ("__dataclass_fields__", "__dataclass_params__", "__match_args__", "__annotations__",
                     "__setattr__", "__delattr__", "__post_init__", "Initialize self", "__weakref__"):
        assert internal not in text
    assert "Args:" in text and "``Scalar`` in the signature" in text  # what a Scalar may be
    assert "The learning rate at ``step``" in text  # __call__, documented
    assert dataclasses.fields(jaxlr.REGISTRY[name])  # hidden from help, not gone
