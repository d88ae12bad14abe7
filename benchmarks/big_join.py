"""A join of many pieces in a jitted adamw step, closed over (``optax.adamw(learning_rate=s)``)
or passed to the step as an argument: compile time, and evaluation over many steps, for a
small and a big number of pieces K, with the ratio big / small measured in the same run.

The pieces are ``cosine_decay`` of period 100 with peaks in a 7-cycle, as in ``composition``;
the compilations of the two sizes alternate, so drift on a shared machine hits both.
"""

from __future__ import annotations

import statistics

import jax
import jax.numpy as jnp
import optax

import jaxlr
from benchmarks.compile_time import adamw_step, mlp
from benchmarks.sizes import Sizes
from benchmarks.timing import compile_seconds, interleaved_medians


def big_join(k: int) -> jaxlr.join:
    return jaxlr.join([jaxlr.cosine_decay(1e-3 * (1 + i % 7), 100) for i in range(k)],
                      list(range(100, 100 * k, 100)))


def measure(sizes: Sizes, results: dict) -> dict:
    params, grads = mlp(sizes.width)

    def as_argument(params, state, schedule):
        updates, state = optax.adamw(schedule).update(grads, state, params)
        return optax.apply_updates(params, updates), state

    ks = sizes.big_join
    schedules = {k: big_join(k) for k in ks}
    steps = jnp.arange(sizes.n_steps, dtype=jnp.int32) * max(1, 100 * max(ks) // sizes.n_steps)
    compiles: dict[tuple[int, str], list[float]] = {(k, how): [] for k in ks for how in ("closed", "argument")}
    for _ in range(sizes.compile_repetitions):
        for k in ks:
            step, state = adamw_step(schedules[k], params, grads)
            compiles[(k, "closed")].append(compile_seconds(step, params, state))
            compiles[(k, "argument")].append(compile_seconds(as_argument, params, state, schedules[k]))
    evaluations = [jax.jit(lambda t, s=schedules[k]: s(t)) for k in ks]
    evals = interleaved_medians([lambda f=f: f(steps) for f in evaluations], max(3, sizes.repetitions // 3))
    rows = [{"pieces": k, "compile_s_closed_over": statistics.median(compiles[(k, "closed")]),
             "compile_s_argument": statistics.median(compiles[(k, "argument")]), "eval_s": e}
            for k, e in zip(ks, evals, strict=True)]
    small, big = rows
    ratios = {name: big[name] / small[name] for name in ("compile_s_closed_over", "compile_s_argument", "eval_s")}
    print(f"  big join K={ks[1]} / K={ks[0]}: compile closed over x{ratios['compile_s_closed_over']:.2f}, "
          f"as argument x{ratios['compile_s_argument']:.2f}, eval x{ratios['eval_s']:.2f}", flush=True)
    return {"big_join": {"steps": sizes.n_steps, "width": sizes.width, "rows": rows, "ratios": ratios}}


def report(results: dict) -> list[str]:
    big_join = results["big_join"]
    small, big = big_join["rows"]
    ratios = big_join["ratios"]
    return [
        "",
        f"## A big join in a jitted adamw step ({big_join['width']}x{big_join['width']} MLP)",
        "",
        f"Compile time of the step with a join of K cosine pieces closed over (`optax.adamw(learning_rate=join)`) "
        f"and passed as an argument, and the join alone evaluated over {big_join['steps']:,} steps.",
        "",
        "| K | compile ms, closed over | compile ms, argument | eval ms |",
        "|---|---|---|---|",
        *[f"| {r['pieces']:,} | {1e3 * r['compile_s_closed_over']:.1f} | {1e3 * r['compile_s_argument']:.1f} | "
          f"{1e3 * r['eval_s']:.2f} |" for r in (small, big)],
        f"| ratio {big['pieces']:,} / {small['pieces']:,} | {ratios['compile_s_closed_over']:.2f} | "
        f"{ratios['compile_s_argument']:.2f} | {ratios['eval_s']:.2f} |",
    ]
