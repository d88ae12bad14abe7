"""What a jaxlr schedule costs, measured against optax and a constant learning rate.

    python -m benchmarks            # full sizes
    python -m benchmarks --quick    # CI-sized, seconds

Two measurements, each a ratio against a baseline timed in the same run, interleaved
(baseline and candidate alternate, so drift hits both), as the median of many repetitions
after warm-up:

1. ``vs_optax``: each jaxlr family against the optax schedule it corresponds to, evaluated
   over 1e6 steps at once in one jitted call: jaxpr size (equations), compile time and
   evaluation time.
2. ``train_step``: a jitted ``optax.adamw`` update of a small MLP's parameters with the
   schedule against the same update with a constant float learning rate.
3. ``composition``: ``jaxlr.join`` and ``jaxlr.piecewise_constant`` against
   ``optax.join_schedules`` and ``optax.piecewise_constant_schedule`` for K = 2 ... 10,000
   pieces: jaxpr size, compile time and evaluation time over the steps, with a log-log plot.
4. ``sweeps``: N models trained at once under N schedules with ``jax.vmap`` against the same
   N trainings run one after another (one compiled program each way), N = 1 ... 256, with a
   plot; and whether optax's own schedule survives the same ``vmap``.
5. ``torch``: the per-step cost of ``torch.optim.lr_scheduler``'s ``scheduler.step()`` (CPU
   wheel) against jaxlr's in-step cost (the train-step time with the schedule minus with a
   constant, from 2).
6. ``compile``: compile time of the jitted train step with each schedule against a constant.

Results go to ``benchmarks/results/<device>.json`` and ``<device>.md`` with the device and
the jax, jaxlib and optax versions.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import jaxlib
import optax

import jaxlr

RESULTS = Path(__file__).resolve().parent / "results"

# (name, jaxlr schedule, the optax schedule it matches)
PAIRS: list[tuple[str, Callable, Callable]] = [
    ("constant", jaxlr.constant(1e-3), optax.constant_schedule(1e-3)),
    ("linear", jaxlr.linear(1e-3, 1e-5, 10_000), optax.linear_schedule(1e-3, 1e-5, 10_000)),
    ("polynomial", jaxlr.polynomial(1e-3, 1e-5, 10_000, 2.0), optax.polynomial_schedule(1e-3, 1e-5, 2.0, 10_000)),
    ("exponential_decay", jaxlr.exponential_decay(1e-3, 0.5, 1000), optax.exponential_decay(1e-3, 1000, 0.5)),
    ("cosine_decay", jaxlr.cosine_decay(1e-3, 10_000), optax.cosine_decay_schedule(1e-3, 10_000)),
    (
        "piecewise_constant",
        jaxlr.piecewise_constant([1000, 5000, 9000], [1e-3, 5e-4, 1e-4, 1e-5]),
        optax.piecewise_constant_schedule(1e-3, {1000: 0.5, 5000: 0.2, 9000: 0.1}),
    ),
    (
        "piecewise_linear",
        jaxlr.piecewise_linear([0, 1000, 5000, 9000], [1e-3, 2e-3, 4e-4, 4e-5]),
        optax.piecewise_interpolate_schedule("linear", 1e-3, {1000: 2.0, 5000: 0.2, 9000: 0.1}),
    ),
    (
        "warmup_cosine",
        jaxlr.warmup_cosine(1e-3, 500, 10_000),
        optax.warmup_cosine_decay_schedule(0.0, 1e-3, 500, 10_000),
    ),
    (
        "warmup_exponential",
        jaxlr.warmup_exponential(1e-3, 500, 0.5, 1000),
        optax.warmup_exponential_decay_schedule(0.0, 1e-3, 500, 1000, 0.5),
    ),
]
# Families without an optax counterpart are timed in the train step only.
ONLY_JAXLR: list[tuple[str, Callable]] = [
    ("step_decay", jaxlr.step_decay(1e-3, 1000, 0.5)),
    ("multistep_decay", jaxlr.multistep_decay(1e-3, [1000, 5000, 9000])),
    ("inverse_time_decay", jaxlr.inverse_time_decay(1e-3, 0.5, 1000)),
    ("inverse_sqrt_decay", jaxlr.inverse_sqrt_decay(1e-3, 500)),
    ("warmup_linear", jaxlr.warmup_linear(1e-3, 500, 10_000)),
    ("warmup_then(cosine)", jaxlr.warmup_then(jaxlr.cosine_decay(1e-3, 9_500), 500)),
    ("periodic cosine", jaxlr.cosine_decay(1e-3, 1000, periodic=True)),
]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def interleaved_medians(fns: list[Callable[[], object]], repetitions: int, warmup: int = 3) -> list[float]:
    """Median seconds of each function, the functions run in turn within each repetition."""
    for fn in fns:
        for _ in range(warmup):
            jax.block_until_ready(fn())
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repetitions):
        for i, fn in enumerate(fns):
            samples[i].append(timed(fn))
    return [statistics.median(s) for s in samples]


def compile_seconds(fn: Callable, *args) -> float:
    """Lowering plus compilation of a fresh jit of ``fn``.

    JAX caches traces and executables per function object: a new wrapper each time makes
    every measurement a real trace, lowering and compilation.
    """
    start = time.perf_counter()
    jax.jit(lambda *a: fn(*a)).lower(*args).compile()
    return time.perf_counter() - start


def jaxpr_size(fn: Callable, *args) -> int:
    return len(jax.make_jaxpr(fn)(*args).eqns)


def bench_vs_optax(n_steps: int, repetitions: int) -> list[dict]:
    steps = jnp.arange(n_steps, dtype=jnp.int32)
    rows = []
    for name, ours, theirs in PAIRS:
        # optax's piecewise_interpolate_schedule takes one step at a time, so optax runs
        # under jax.vmap (for the others this is the same elementwise program).
        theirs = jax.vmap(theirs)
        ours_fn, theirs_fn = jax.jit(lambda s, f=ours: f(s)), jax.jit(lambda s, f=theirs: f(s))
        t_ours, t_theirs = interleaved_medians(
            [lambda f=ours_fn: f(steps), lambda f=theirs_fn: f(steps)], repetitions
        )
        compile_ours = statistics.median(compile_seconds(ours, steps) for _ in range(3))
        compile_theirs = statistics.median(compile_seconds(theirs, steps) for _ in range(3))
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
    return rows


def bench_train_step(width: int, repetitions: int, updates_per_call: int) -> list[dict]:
    """An adamw update of a 2-layer MLP's parameters, `updates_per_call` of them in a scan."""
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
    schedules = [(name, ours) for name, ours, _ in PAIRS] + ONLY_JAXLR
    rows = []
    for name, schedule in schedules:
        t_const, t_sched = interleaved_medians([baseline, runner(schedule)], repetitions)
        rows.append({
            "schedule": name,
            "step_us_constant": 1e6 * t_const / updates_per_call,
            "step_us_schedule": 1e6 * t_sched / updates_per_call,
            "ratio": t_sched / t_const,
        })
        print(f"  train step {name:22s} x{rows[-1]['ratio']:.3f}", flush=True)
    return rows


def _compile_and_eval(fn: Callable, steps: jax.Array, reps: int) -> tuple[int, float, float]:
    """jaxpr equations, compile seconds (median of up to 3) and evaluation seconds (median)."""
    eqns = jaxpr_size(fn, steps)
    compiles = [compile_seconds(fn, steps) for _ in range(1 if reps <= 1 else 3)]
    compiled = jax.jit(fn).lower(steps).compile()
    (evaluation,) = interleaved_medians([lambda: compiled(steps)], max(reps, 1), warmup=1)
    return eqns, statistics.median(compiles), evaluation


def bench_composition(ks: list[int], n_steps: int, reps: int, optax_max_pieces: int) -> list[dict]:
    """K cosine pieces of period 100 joined, and K boundaries of a piecewise constant."""
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
            if name.startswith("optax") and k > optax_max_pieces:
                continue
            big = k >= 1000 and name.startswith("optax")
            eqns, compile_s, eval_s = _compile_and_eval(lambda s, f=schedule: f(s), steps, 1 if big else reps)
            rows.append({"pieces": k, "schedule": name, "jaxpr_eqns": eqns, "compile_s": compile_s, "eval_s": eval_s})
            print(f"  composition K={k:6d} {name:34s} eqns {eqns:7d} compile {compile_s:7.2f}s "
                  f"eval {1e3 * eval_s:9.2f}ms", flush=True)
    return rows


def plot_composition(rows: list[dict], path: Path) -> bool:
    """Log-log plot of compile time, evaluation time and jaxpr size against K."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (matplotlib not installed: pip install -e '.[plot]' for the plot)")
        return False
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


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


def bench_flax_step(repetitions: int, steps_per_call: int) -> dict:
    """A Flax NNX train step (an MLP on a batch, adamw) with a schedule against a constant."""
    try:
        from flax import nnx
    except ImportError:
        return {"available": False, "reason": "flax is not installed (pip install -e '.[examples]')"}

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            self.hidden = nnx.Linear(64, 128, rngs=rngs)
            self.out = nnx.Linear(128, 10, rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.out(nnx.relu(self.hidden(x)))

    x = jax.random.normal(jax.random.key(0), (128, 64))
    y = jnp.arange(128) % 10

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
        t_const, t_sched = interleaved_medians([baseline, runner(schedule)], repetitions)
        rows.append({"schedule": name, "step_us_constant": 1e6 * t_const / steps_per_call,
                     "step_us_schedule": 1e6 * t_sched / steps_per_call, "ratio": t_sched / t_const})
    print(f"  flax nnx step: ratios {min(r['ratio'] for r in rows):.3f} ... {max(r['ratio'] for r in rows):.3f}",
          flush=True)
    return {"available": True, "rows": rows}


def bench_sweeps(ns: list[int], n_steps: int, width: int, reps: int) -> dict:
    train = _sweep_trainer(n_steps, width)
    one = jax.jit(train)
    many = jax.jit(jax.vmap(train))
    try:
        jax.vmap(lambda p: train(p, "optax"))(jnp.array([1e-3, 2e-3]))
        optax_vmap = "works"
    except Exception as error:
        optax_vmap = f"fails: {type(error).__name__}"
    rows = []
    for n in ns:
        peaks = jnp.geomspace(1e-4, 1e-1, n)
        host_peaks = [float(p) for p in peaks]

        def sequential(host_peaks=host_peaks):
            return [one(p) for p in host_peaks]

        t_vmap, t_seq = interleaved_medians([lambda peaks=peaks: many(peaks), sequential], reps, warmup=1)
        rows.append({"n": n, "vmap_s": t_vmap, "sequential_s": t_seq, "speedup": t_seq / t_vmap})
        print(f"  sweep N={n:4d} vmap {1e3 * t_vmap:9.1f} ms  sequential {1e3 * t_seq:9.1f} ms  "
              f"x{t_seq / t_vmap:.1f}", flush=True)
    return {"steps": n_steps, "width": width, "optax_schedule_under_vmap": optax_vmap, "rows": rows}


TORCH_SCHEDULERS = {
    "StepLR": lambda sched, opt: sched.StepLR(opt, 1000, 0.5),
    "CosineAnnealingLR": lambda sched, opt: sched.CosineAnnealingLR(opt, 10_000),
    "OneCycleLR": lambda sched, opt: sched.OneCycleLR(opt, 0.1, total_steps=1_000_000),
    "CyclicLR": lambda sched, opt: sched.CyclicLR(opt, 0.01, 0.1, 500, cycle_momentum=False),
    "LambdaLR": lambda sched, opt: sched.LambdaLR(opt, lambda t: 0.999**t),
}


def bench_torch(train_rows: list[dict], calls: int) -> dict:
    """torch's scheduler.step() cost per call, beside jaxlr's in-step overhead."""
    try:
        import torch
    except ImportError:
        return {"available": False, "reason": "torch is not installed (pip install torch==2.13.0)"}
    param = torch.nn.Parameter(torch.zeros(1))
    rows = []
    for name, make in TORCH_SCHEDULERS.items():
        optimizer = torch.optim.SGD([param], lr=0.1)
        optimizer.step()  # torch warns when a scheduler steps before its optimizer ever has
        scheduler = make(torch.optim.lr_scheduler, optimizer)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(calls):
                scheduler.step()
            samples.append((time.perf_counter() - start) / calls)
        rows.append({"scheduler": name, "torch_us_per_step": 1e6 * statistics.median(samples)})
    overhead = [r["step_us_schedule"] - r["step_us_constant"] for r in train_rows if r["schedule"] != "constant"]
    return {
        "available": True,
        "torch": torch.__version__,
        "rows": rows,
        "jaxlr_in_step_overhead_us_median": statistics.median(overhead),
        "jaxlr_in_step_overhead_us_range": [min(overhead), max(overhead)],
    }


def bench_compile(width: int) -> list[dict]:
    """Compile seconds of the jitted adamw step with each schedule against a constant."""
    key = jax.random.key(0)
    params = {"w1": jax.random.normal(key, (width, width)), "w2": jax.random.normal(key, (width, width))}
    grads = jax.tree.map(lambda p: p * 1e-3, params)

    def step_with(learning_rate):
        optimizer = optax.adamw(learning_rate)

        def step(params, state):
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        return step, optimizer.init(params)

    rows = []
    constant_step, constant_state = step_with(1e-3)
    schedules = [(name, ours) for name, ours, _ in PAIRS] + ONLY_JAXLR
    for name, schedule in schedules:
        step, state = step_with(schedule)
        const = statistics.median(compile_seconds(constant_step, params, constant_state) for _ in range(3))
        sched = statistics.median(compile_seconds(step, params, state) for _ in range(3))
        rows.append({"schedule": name, "compile_s_constant": const, "compile_s_schedule": sched,
                     "ratio": sched / const})
    print(f"  compile: schedule/constant ratios {min(r['ratio'] for r in rows):.2f} ... "
          f"{max(r['ratio'] for r in rows):.2f}", flush=True)
    return rows


def plot_sweeps(sweeps: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _version(package: str) -> str:
    try:
        return __import__(package).__version__
    except ImportError:
        return "not installed"


def device_name() -> str:
    device = jax.devices()[0]
    kind = device.device_kind.lower().replace(" ", "-")
    return device.platform if device.platform == "cpu" else f"{device.platform}-{kind}"


def markdown(result: dict) -> str:
    env = result["environment"]
    lines = [
        f"# jaxlr benchmarks on {env['device']}",
        "",
        f"jax {env['jax']}, jaxlib {env['jaxlib']}, optax {env['optax']}, torch {env['torch']}, "
        f"flax {env['flax']}, Python {env['python']}, "
        f"{env['machine']}; {'quick' if result['quick'] else 'full'} run.",
        "",
        f"## Against optax: {result['vs_optax_steps']:,} steps in one jitted call",
        "",
        "| schedule | jaxpr eqns jaxlr / optax | compile ms jaxlr / optax | eval ms jaxlr / optax | eval ratio |",
        "|---|---|---|---|---|",
    ]
    for r in result["vs_optax"]:
        lines.append(
            f"| {r['schedule']} | {r['jaxpr_eqns_jaxlr']} / {r['jaxpr_eqns_optax']} | "
            f"{1e3 * r['compile_s_jaxlr']:.1f} / {1e3 * r['compile_s_optax']:.1f} | "
            f"{1e3 * r['eval_s_jaxlr']:.2f} / {1e3 * r['eval_s_optax']:.2f} | {r['eval_ratio']:.2f} |"
        )
    lines += [
        "",
        f"## Train step: adamw on a {result['train_step_width']}x{result['train_step_width']} MLP, "
        "schedule against a constant learning rate",
        "",
        "| schedule | µs/update constant | µs/update schedule | ratio |",
        "|---|---|---|---|",
    ]
    for r in result["train_step"]:
        lines.append(
            f"| {r['schedule']} | {r['step_us_constant']:.2f} | {r['step_us_schedule']:.2f} | {r['ratio']:.3f} |"
        )
    lines += [
        "",
        f"## Composition: K pieces, {result['composition_steps']:,} steps per evaluation",
        "",
        "| K | schedule | jaxpr eqns | compile s | eval ms |",
        "|---|---|---|---|---|",
    ]
    for r in result["composition"]:
        lines.append(
            f"| {r['pieces']} | {r['schedule']} | {r['jaxpr_eqns']} | {r['compile_s']:.3f} | {1e3 * r['eval_s']:.2f} |"
        )
    flax_result = result["flax_train_step"]
    lines += ["", "## Flax NNX train step: an MLP with adamw, schedule against a constant", ""]
    if flax_result["available"]:
        lines += ["| schedule | µs/update constant | µs/update schedule | ratio |", "|---|---|---|---|"]
        lines += [f"| {r['schedule']} | {r['step_us_constant']:.2f} | {r['step_us_schedule']:.2f} | "
                  f"{r['ratio']:.3f} |" for r in flax_result["rows"]]
    else:
        lines.append(flax_result["reason"])
    sweeps = result["sweeps"]
    lines += [
        "",
        f"## Sweeps: N schedules, {sweeps['steps']} adam steps each (optax's own schedule under vmap: "
        f"{sweeps['optax_schedule_under_vmap']})",
        "",
        "| N | vmap ms | sequential ms | speed-up |",
        "|---|---|---|---|",
    ]
    for r in sweeps["rows"]:
        lines.append(f"| {r['n']} | {1e3 * r['vmap_s']:.1f} | {1e3 * r['sequential_s']:.1f} | {r['speedup']:.1f} |")
    torch_result = result["torch"]
    lines += ["", "## Against PyTorch: the cost of stepping a scheduler", ""]
    if torch_result["available"]:
        lines += [
            f"torch {torch_result['torch']}: `scheduler.step()` per call. jaxlr's schedule runs inside the "
            f"compiled step: its in-step cost (train step with schedule minus with a constant, section 2) has "
            f"median {torch_result['jaxlr_in_step_overhead_us_median']:.2f} µs per update "
            f"(range {torch_result['jaxlr_in_step_overhead_us_range'][0]:.2f} to "
            f"{torch_result['jaxlr_in_step_overhead_us_range'][1]:.2f} across families).",
            "",
            "| scheduler | torch µs per step() |",
            "|---|---|",
        ]
        lines += [f"| {r['scheduler']} | {r['torch_us_per_step']:.2f} |" for r in torch_result["rows"]]
    else:
        lines.append(torch_result["reason"])
    lines += ["", "## Compile time of the train step: schedule against constant", "",
              "| schedule | compile ms constant | compile ms schedule | ratio |", "|---|---|---|---|"]
    for r in result["compile"]:
        lines.append(f"| {r['schedule']} | {1e3 * r['compile_s_constant']:.1f} | "
                     f"{1e3 * r['compile_s_schedule']:.1f} | {r['ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="jaxlr benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions (CI)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for <device>.json and .md")
    parser.add_argument("--optax-max-pieces", type=int, default=10_000,
                        help="largest K to compile optax at (its compile time grows superlinearly)")
    args = parser.parse_args(argv)

    n_steps, reps, width, scan = (10_000, 5, 16, 10) if args.quick else (1_000_000, 30, 256, 100)
    ks = [2, 16] if args.quick else [2, 10, 100, 1000, 3000, 10_000]
    sweep_ns, sweep_steps = ([1, 4], 20) if args.quick else ([1, 4, 16, 64, 256], 200)
    print(f"jaxlr benchmarks on {device_name()} ({'quick' if args.quick else 'full'})", flush=True)
    result = {
        "environment": {
            "device": device_name(),
            "device_kind": jax.devices()[0].device_kind,
            "jax": jax.__version__,
            "jaxlib": jaxlib.__version__,
            "optax": optax.__version__,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {jax.local_device_count()} device(s)",
            "torch": _version("torch"),
            "flax": _version("flax"),
        },
        "quick": args.quick,
        "vs_optax_steps": n_steps,
        "train_step_width": width,
        "vs_optax": bench_vs_optax(n_steps, reps),
        "train_step": bench_train_step(width, reps, scan),
        "composition_steps": n_steps,
        "composition": bench_composition(ks, n_steps, max(3, reps // 3), args.optax_max_pieces),
        "flax_train_step": bench_flax_step(reps, scan),
        "sweeps": bench_sweeps(sweep_ns, sweep_steps, 32, 3 if args.quick else 5),
        "compile": bench_compile(width),
    }
    result["torch"] = bench_torch(result["train_step"], 200 if args.quick else 20_000)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / device_name()
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    plotted = plot_composition(result["composition"], args.out / f"{device_name()}-composition.png")
    plotted = plot_sweeps(result["sweeps"], args.out / f"{device_name()}-sweeps.png") and plotted
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}" + (" and the plot" if plotted else ""))
    return result


if __name__ == "__main__":
    main()
