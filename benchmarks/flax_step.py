"""A Flax NNX train step (an MLP on a batch, adamw) with each schedule against a constant."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from benchmarks.schedules import ONLY_JAXLR, PAIRS
from benchmarks.sizes import Sizes
from benchmarks.timing import interleaved_medians


def measure(sizes: Sizes, results: dict) -> dict:
    try:
        from flax import nnx
    except ImportError:
        return {"flax_train_step": {"available": False,
                                    "reason": "flax is not installed (pip install -e '.[examples]')"}}

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.out = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.out(nnx.relu(self.hidden(x)))

    x = jax.random.normal(jax.random.key(0), (128, 64))
    y = jnp.arange(128) % 10
    steps_per_call = sizes.updates_per_call

    def loss_fn(model):
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    def runner(learning_rate):
        model = MLP(nnx.Rngs(0))
        optimizer = nnx.Optimizer(model, optax.adamw(learning_rate), wrt=nnx.Param)
        graphdef, state = nnx.split((model, optimizer))

        @jax.jit
        def train(state):
            def one(_, state):
                model, optimizer = nnx.merge(graphdef, state)
                optimizer.update(model, nnx.grad(loss_fn)(model))
                return nnx.state((model, optimizer))

            return jax.lax.fori_loop(0, steps_per_call, one, state)

        return lambda: train(state)

    baseline = runner(1e-3)
    rows = []
    for name, schedule in [(n, s) for n, s, _ in PAIRS if n != "constant"] + ONLY_JAXLR[:3]:
        t_const, t_sched = interleaved_medians([baseline, runner(schedule)], sizes.repetitions)
        rows.append({"schedule": name, "step_us_constant": 1e6 * t_const / steps_per_call,
                     "step_us_schedule": 1e6 * t_sched / steps_per_call, "ratio": t_sched / t_const})
    print(f"  flax nnx step: ratios {min(r['ratio'] for r in rows):.3f} ... {max(r['ratio'] for r in rows):.3f}",
          flush=True)
    return {"flax_train_step": {"available": True, "rows": rows}}


def report(results: dict) -> list[str]:
    flax_result = results["flax_train_step"]
    lines = ["", "## Flax NNX train step: an MLP with adamw, schedule against a constant", ""]
    if not flax_result["available"]:
        return [*lines, flax_result["reason"]]
    lines += ["| schedule | µs/update constant | µs/update schedule | ratio |", "|---|---|---|---|"]
    lines += [f"| {r['schedule']} | {r['step_us_constant']:.2f} | {r['step_us_schedule']:.2f} | "
              f"{r['ratio']:.3f} |" for r in flax_result["rows"]]
    return lines
