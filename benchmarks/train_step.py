"""A jitted ``optax.adamw`` update of a small MLP's parameters with each schedule, against the
same update with a constant float learning rate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from benchmarks.schedules import every_schedule
from benchmarks.sizes import Sizes
from benchmarks.timing import interleaved_medians


def measure(sizes: Sizes, results: dict) -> dict:
    """An adamw update of a 2-layer MLP's parameters, ``updates_per_call`` of them in a scan."""
    width, updates_per_call = sizes.width, sizes.updates_per_call
    key = jax.random.key(0)
    params = {
        "w1": jax.random.normal(key, (width, width)), "b1": jnp.zeros(width),
        "w2": jax.random.normal(key, (width, width)), "b2": jnp.zeros(width),
    }
    grads = jax.tree.map(lambda p: p * 1e-3, params)

    def runner(learning_rate):
        optimizer = optax.adamw(learning_rate=learning_rate)

        @jax.jit
        def run(params, state):
            def body(carry, _):
                params, state = carry
                updates, state = optimizer.update(grads, state, params)
                return (optax.apply_updates(params, updates), state), None

            return jax.lax.scan(body, (params, state), None, length=updates_per_call)[0]

        state = optimizer.init(params)
        return lambda: run(params, state)

    baseline = runner(1e-3)
    rows = []
    for name, schedule in every_schedule():
        t_const, t_sched = interleaved_medians([baseline, runner(schedule)], sizes.repetitions)
        rows.append({
            "schedule": name,
            "step_us_constant": 1e6 * t_const / updates_per_call,
            "step_us_schedule": 1e6 * t_sched / updates_per_call,
            "ratio": t_sched / t_const,
        })
        print(f"  train step {name:22s} x{rows[-1]['ratio']:.3f}", flush=True)
    return {"train_step_width": width, "train_step": rows}


def report(results: dict) -> list[str]:
    width = results["train_step_width"]
    lines = [
        "",
        f"## Train step: adamw on a {width}x{width} MLP, schedule against a constant learning rate",
        "",
        "| schedule | µs/update constant | µs/update schedule | ratio |",
        "|---|---|---|---|",
    ]
    for r in results["train_step"]:
        lines.append(
            f"| {r['schedule']} | {r['step_us_constant']:.2f} | {r['step_us_schedule']:.2f} | {r['ratio']:.3f} |"
        )
    return lines
