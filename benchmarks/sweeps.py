"""N models trained at once under N schedules with ``jax.vmap``, against the same N trainings
run one after another (one compiled program each way), with a plot; and whether optax's own
schedule survives the same ``vmap``."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import optax

import jaxlr
from benchmarks.sizes import Sizes
from benchmarks.timing import interleaved_medians, pyplot


def _sweep_trainer(n_steps: int, width: int):
    """One MLP regression trained for ``n_steps`` adam updates under warmup_cosine(peak)."""
    key = jax.random.key(1)
    x = jax.random.normal(key, (256, 8))
    y = jnp.sin(x @ jnp.linspace(-1.0, 1.0, 8))[:, None]

    def train(peak, schedule_family="jaxlr"):
        if schedule_family == "jaxlr":
            schedule = jaxlr.warmup_cosine(peak, n_steps // 10, n_steps)
        else:
            schedule = optax.warmup_cosine_decay_schedule(0.0, peak, n_steps // 10, n_steps)
        optimizer = optax.adam(schedule)
        params = {"w1": jax.random.normal(key, (8, width)) * 0.3, "w2": jax.random.normal(key, (width, 1)) * 0.3}

        def loss_fn(p):
            return jnp.mean((jnp.tanh(x @ p["w1"]) @ p["w2"] - y) ** 2)

        def body(carry, _):
            p, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(p)
            updates, state = optimizer.update(grads, state, p)
            return (optax.apply_updates(p, updates), state), loss

        (_, _), losses = jax.lax.scan(body, (params, optimizer.init(params)), None, length=n_steps)
        return losses[-1]

    return train


def measure(sizes: Sizes, results: dict) -> dict:
    n_steps, width = sizes.sweep_steps, sizes.sweep_width
    train = _sweep_trainer(n_steps, width)
    one = jax.jit(train)
    many = jax.jit(jax.vmap(train))
    try:
        jax.vmap(lambda p: train(p, "optax"))(jnp.array([1e-3, 2e-3]))
        optax_vmap = "works"
    except Exception as error:
        optax_vmap = f"fails: {type(error).__name__}"
    rows = []
    for n in sizes.sweep_ns:
        peaks = jnp.geomspace(1e-4, 1e-1, n)
        host_peaks = [float(p) for p in peaks]

        def sequential(host_peaks=host_peaks):
            return [one(p) for p in host_peaks]

        t_vmap, t_seq = interleaved_medians([lambda peaks=peaks: many(peaks), sequential],
                                            sizes.sweep_repetitions, warmup=1)
        rows.append({"n": n, "vmap_s": t_vmap, "sequential_s": t_seq, "speedup": t_seq / t_vmap})
        print(f"  sweep N={n:4d} vmap {1e3 * t_vmap:9.1f} ms  sequential {1e3 * t_seq:9.1f} ms  "
              f"x{t_seq / t_vmap:.1f}", flush=True)
    return {"sweeps": {"steps": n_steps, "width": width, "optax_schedule_under_vmap": optax_vmap, "rows": rows}}


def report(results: dict) -> list[str]:
    sweeps = results["sweeps"]
    lines = [
        "",
        f"## Sweeps: N schedules, {sweeps['steps']} adam steps each (optax's own schedule under vmap: "
        f"{sweeps['optax_schedule_under_vmap']})",
        "",
        "| N | vmap ms | sequential ms | speed-up |",
        "|---|---|---|---|",
    ]
    for r in sweeps["rows"]:
        lines.append(f"| {r['n']} | {1e3 * r['vmap_s']:.1f} | {1e3 * r['sequential_s']:.1f} | {r['speedup']:.1f} |")
    return lines


def plot(results: dict, out: Path, device: str) -> bool:
    plt = pyplot()
    if plt is None:
        return False
    sweeps = results["sweeps"]
    rows = sweeps["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ns = [r["n"] for r in rows]
    axes[0].plot(ns, [r["vmap_s"] for r in rows], "-o", label="jax.vmap: N schedules in one program")
    axes[0].plot(ns, [r["sequential_s"] for r in rows], "--s", label="N jitted runs, one after another")
    axes[0].set_ylabel("seconds for N trainings")
    axes[1].plot(ns, [r["speedup"] for r in rows], "-o")
    axes[1].set_ylabel("speed-up of vmap")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("schedules N")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Sweeping warmup-cosine peaks: {sweeps['steps']} adam steps of an MLP per schedule")
    fig.tight_layout()
    fig.savefig(out / f"{device}-sweeps.png", dpi=110)
    plt.close(fig)
    return True
