"""``jaxlr.join`` and ``jaxlr.piecewise_constant`` against ``optax.join_schedules`` and
``optax.piecewise_constant_schedule`` for K pieces: jaxpr size, compile and evaluation time,
with a log-log plot."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import jaxlr
from benchmarks.sizes import Sizes
from benchmarks.timing import compile_seconds, interleaved_medians, jaxpr_size, pyplot


def _compile_and_eval(fn: Callable, steps: jax.Array, reps: int, compiles: int) -> tuple[int, float, float]:
    """jaxpr equations, compile seconds (median of ``compiles``) and evaluation seconds (median)."""
    eqns = jaxpr_size(fn, steps)
    compiles = [compile_seconds(fn, steps) for _ in range(1 if reps <= 1 else compiles)]
    compiled = jax.jit(fn).lower(steps).compile()
    (evaluation,) = interleaved_medians([lambda: compiled(steps)], max(reps, 1), warmup=1)
    return eqns, statistics.median(compiles), evaluation


def measure(sizes: Sizes, results: dict) -> dict:
    """K cosine pieces of period 100 joined, and K boundaries of a piecewise constant."""
    ks, n_steps, reps = sizes.pieces, sizes.n_steps, max(3, sizes.repetitions // 3)
    steps = jnp.arange(n_steps, dtype=jnp.int32) * max(1, 100 * max(ks) // n_steps)
    rows = []
    for k in ks:
        boundaries = list(range(100, 100 * k, 100))
        peaks = [1e-3 * (1 + i % 7) for i in range(k)]
        scales = {b: 0.5 + (i % 3) * 0.25 for i, b in enumerate(boundaries)}
        values = [1e-3]
        for b in boundaries:
            values.append(values[-1] * scales[b])
        candidates = {
            "jaxlr.join": jaxlr.join([jaxlr.cosine_decay(p, 100) for p in peaks], boundaries),
            "optax.join_schedules": optax.join_schedules([optax.cosine_decay_schedule(p, 100) for p in peaks],
                                                         boundaries),
            "jaxlr.piecewise_constant": jaxlr.piecewise_constant(boundaries, values),
            "optax.piecewise_constant_schedule": optax.piecewise_constant_schedule(1e-3, scales),
        }
        for name, schedule in candidates.items():
            if name.startswith("optax") and k > sizes.optax_max_pieces:
                continue
            big = k >= 1000 and name.startswith("optax")
            eqns, compile_s, eval_s = _compile_and_eval(lambda s, f=schedule: f(s), steps, 1 if big else reps,
                                                      sizes.compile_repetitions)
            rows.append({"pieces": k, "schedule": name, "jaxpr_eqns": eqns, "compile_s": compile_s, "eval_s": eval_s})
            print(f"  composition K={k:6d} {name:34s} eqns {eqns:7d} compile {compile_s:7.2f}s "
                  f"eval {1e3 * eval_s:9.2f}ms", flush=True)
    return {"composition_steps": n_steps, "composition": rows}


def report(results: dict) -> list[str]:
    lines = [
        "",
        f"## Composition: K pieces, {results['composition_steps']:,} steps per evaluation",
        "",
        "| K | schedule | jaxpr eqns | compile s | eval ms |",
        "|---|---|---|---|---|",
    ]
    for r in results["composition"]:
        lines.append(
            f"| {r['pieces']} | {r['schedule']} | {r['jaxpr_eqns']} | {r['compile_s']:.3f} | {1e3 * r['eval_s']:.2f} |"
        )
    return lines


def plot(results: dict, out: Path, device: str) -> bool:
    """Log-log plot of compile time, evaluation time and jaxpr size against K."""
    plt = pyplot()
    if plt is None:
        print("  (matplotlib not installed: pip install -e '.[plot]' for the plot)")
        return False
    rows = results["composition"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name in dict.fromkeys(r["schedule"] for r in rows):
        series = [r for r in rows if r["schedule"] == name]
        style = "-o" if name.startswith("jaxlr") else "--s"
        for ax, key in zip(axes, ("compile_s", "eval_s", "jaxpr_eqns"), strict=True):
            ax.plot([r["pieces"] for r in series], [r[key] for r in series], style, label=name)
    for ax, title in zip(axes, ("compile time (s)", "evaluation time (s)", "jaxpr equations"), strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pieces K")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("jaxlr against optax: K pieces joined, and a piecewise constant with K pieces")
    fig.tight_layout()
    fig.savefig(out / f"{device}-composition.png", dpi=110)
    plt.close(fig)
    return True
