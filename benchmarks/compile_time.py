"""Compile time of the jitted adamw train step with each schedule against a constant."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import jax
import optax

from benchmarks.schedules import every_schedule
from benchmarks.sizes import Sizes
from benchmarks.timing import compile_seconds


def mlp(width: int) -> tuple[dict, dict]:
    """A two-layer MLP's parameters, and fixed gradients for them."""
    key = jax.random.key(0)
    params = {"w1": jax.random.normal(key, (width, width)), "w2": jax.random.normal(key, (width, width))}
    return params, jax.tree.map(lambda p: p * 1e-3, params)


def adamw_step(learning_rate: Any, params: dict, grads: dict) -> tuple[Callable, Any]:
    """An adamw update of ``params`` by ``grads`` with ``learning_rate`` closed over, and its
    first optimizer state."""
    optimizer = optax.adamw(learning_rate)

    def step(params, state):
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return step, optimizer.init(params)


def measure(sizes: Sizes, results: dict) -> dict:
    params, grads = mlp(sizes.width)

    def step_with(learning_rate):
        return adamw_step(learning_rate, params, grads)

    rows = []
    constant_step, constant_state = step_with(1e-3)
    for name, schedule in every_schedule():
        step, state = step_with(schedule)
        times = range(sizes.compile_repetitions)
        const = statistics.median(compile_seconds(constant_step, params, constant_state) for _ in times)
        sched = statistics.median(compile_seconds(step, params, state) for _ in times)
        rows.append({"schedule": name, "compile_s_constant": const, "compile_s_schedule": sched,
                     "ratio": sched / const})
    print(f"  compile: schedule/constant ratios {min(r['ratio'] for r in rows):.2f} ... "
          f"{max(r['ratio'] for r in rows):.2f}", flush=True)
    return {"compile": rows}


def report(results: dict) -> list[str]:
    lines = ["", "## Compile time of the train step: schedule against constant", "",
             "| schedule | compile ms constant | compile ms schedule | ratio |", "|---|---|---|---|"]
    for r in results["compile"]:
        lines.append(f"| {r['schedule']} | {1e3 * r['compile_s_constant']:.1f} | "
                     f"{1e3 * r['compile_s_schedule']:.1f} | {r['ratio']:.2f} |")
    return lines
