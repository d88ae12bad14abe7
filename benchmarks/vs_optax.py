"""Each jaxlr family against the optax schedule it matches, over many steps in one jitted call.

jaxpr size (equations), compile time and evaluation time, the evaluations interleaved.
"""

from __future__ import annotations

import statistics

import jax
import jax.numpy as jnp

from benchmarks.schedules import PAIRS
from benchmarks.sizes import Sizes
from benchmarks.timing import compile_seconds, interleaved_medians, jaxpr_size


def measure(sizes: Sizes, results: dict) -> dict:
    steps = jnp.arange(sizes.n_steps, dtype=jnp.int32)
    rows = []
    for name, ours, theirs in PAIRS:
        # optax's piecewise_interpolate_schedule takes one step at a time, so optax runs
        # under jax.vmap (for the others this is the same elementwise program).
        theirs = jax.vmap(theirs)
        ours_fn, theirs_fn = jax.jit(lambda s, f=ours: f(s)), jax.jit(lambda s, f=theirs: f(s))
        t_ours, t_theirs = interleaved_medians(
            [lambda f=ours_fn: f(steps), lambda f=theirs_fn: f(steps)], sizes.repetitions
        )
        compile_ours = statistics.median(compile_seconds(ours, steps) for _ in range(sizes.compile_repetitions))
        compile_theirs = statistics.median(compile_seconds(theirs, steps)
                                          for _ in range(sizes.compile_repetitions))
        rows.append({
            "schedule": name,
            "jaxpr_eqns_jaxlr": jaxpr_size(ours, steps),
            "jaxpr_eqns_optax": jaxpr_size(theirs, steps),
            "compile_s_jaxlr": compile_ours,
            "compile_s_optax": compile_theirs,
            "eval_s_jaxlr": t_ours,
            "eval_s_optax": t_theirs,
            "eval_ratio": t_ours / t_theirs,
        })
        print(f"  vs optax  {name:22s} eval x{rows[-1]['eval_ratio']:.2f}  "
              f"jaxpr {rows[-1]['jaxpr_eqns_jaxlr']} vs {rows[-1]['jaxpr_eqns_optax']}", flush=True)
    return {"vs_optax_steps": sizes.n_steps, "vs_optax": rows}


def report(results: dict) -> list[str]:
    lines = [
        "",
        f"## Against optax: {results['vs_optax_steps']:,} steps in one jitted call",
        "",
        "| schedule | jaxpr eqns jaxlr / optax | compile ms jaxlr / optax | eval ms jaxlr / optax | eval ratio |",
        "|---|---|---|---|---|",
    ]
    for r in results["vs_optax"]:
        lines.append(
            f"| {r['schedule']} | {r['jaxpr_eqns_jaxlr']} / {r['jaxpr_eqns_optax']} | "
            f"{1e3 * r['compile_s_jaxlr']:.1f} / {1e3 * r['compile_s_optax']:.1f} | "
            f"{1e3 * r['eval_s_jaxlr']:.2f} / {1e3 * r['eval_s_optax']:.2f} | {r['eval_ratio']:.2f} |"
        )
    return lines
