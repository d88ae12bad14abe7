"""Train the same model under many schedules at once, as one compiled program.

A jaxlr schedule is a pytree whose hyperparameters are arrays, so a batch of schedules is
one schedule with array leaves: ``jaxlr.warmup_cosine(peak_value=jnp.array([1e-3, 3e-3,
...]), warmup_steps=jnp.array([0, 100, ...]), ...)``. This example builds such a batch
(peak learning rate x warmup length x cosine exponent, the numeric knob of the decay
shape), stacks one copy of the CNN of ``train_flax.py`` (same initial weights) per
schedule, trains each with the main job's train step (``flax_digits/``), and ``jax.vmap``s
the whole training (every epoch, every step, the validation after each epoch and the final
test, in ``lax.scan``) over schedules and model copies together. optax's own
schedules cannot do this: their Python control flow on the hyperparameters fails under
``vmap``, and PyTorch schedulers are host objects.

It prints a table (schedule, final validation loss, test accuracy), writes ``sweep.png``
(learning-rate and validation-loss curves) and ``sweep.json`` to ``--out-dir``, and
reports the wall time of the batched program against training the same configurations one
after another with one jitted program, measured in the same run, plus the largest
difference between the two runs' results. They compute the same thing, but the batched
convolutions sum in another order: with ``--optimizer momentum`` the two agree to float
rounding (~1e-6); Adam divides by the root of tiny second moments and so magnifies those
rounding differences, to ~1e-3 in the final losses after a few hundred steps.

``--shard`` also splits the schedule axis over every device of every process (``--distributed``
and its flags start several, as for ``train_flax.py``): each device trains its slice of the
sweep with no communication (``jax.shard_map`` of the vmapped training), the batch padded
to a multiple of the devices; it reports that program against the one-device batch, timed in
the same run, and the largest difference between their results.

    python examples/sweep_schedules.py                       # 12 schedules on the digits
    python examples/sweep_schedules.py --peaks 1e-3 3e-3 1e-2 3e-2 --warmups 0 50 200 --epochs 20
    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/sweep_schedules.py --shard
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from flax_digits import distributed
from flax_digits.cli import add_distributed_flags, check_distributed
from flax_digits.data import epoch_batches, load_digits
from flax_digits.model import CNN, eval_batch
from flax_digits.optim import OPTIMIZERS
from flax_digits.train import train_step
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxlr

# Of the main job's optimizers, those whose parameters are one plain pytree (not lookahead's pair).
SWEEP_OPTIMIZERS = ("adamw", "momentum")
WEIGHT_DECAY = 1e-4

def make_schedules(peaks: list[float], warmups: list[int], exponents: list[float], total_steps: int):
    """All combinations, as one warmup_cosine whose hyperparameters are arrays of shape (N,)."""
    grid = list(itertools.product(peaks, warmups, exponents))
    peak, warmup, exponent = (np.array(column) for column in zip(*grid, strict=True))
    schedules = jaxlr.warmup_cosine(peak_value=jnp.asarray(peak, jnp.float32), warmup_steps=jnp.asarray(warmup),
                                    total_steps=total_steps, end_value=jnp.asarray(peak / 100, jnp.float32),
                                    exponent=jnp.asarray(exponent, jnp.float32))
    # Every hyperparameter an array of length N (the shared ones repeated), so vmap maps them all.
    schedules = jax.tree.map(lambda leaf: jnp.broadcast_to(jnp.asarray(leaf), (len(grid),)), schedules)
    labels = [f"peak {p:g}, warmup {w}, exponent {e:g}" for p, w, e in grid]
    return schedules, labels


def make_train(graphdef: Any, x_train: jax.Array, y_train: jax.Array, x_val: jax.Array, y_val: jax.Array,
               x_test: jax.Array, y_test: jax.Array, batches: jax.Array, optimizer_name: str, seed: int):
    """``train(schedule, params, stats)``: a whole training run, a pure function of the schedule."""

    def evaluate(params: Any, stats: Any, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        losses, correct = eval_batch(graphdef, params, stats, x, y)
        return losses.mean(), correct.mean()

    def train(schedule: jaxlr.Schedule, params: Any, stats: Any) -> dict[str, jax.Array]:
        optimizer = OPTIMIZERS[optimizer_name](schedule, WEIGHT_DECAY)
        key = jax.random.key(seed + 1)

        def step(state, inputs):
            rows, index = inputs
            state, metrics = train_step(graphdef, optimizer, state, x_train[rows], y_train[rows],
                                        jax.random.fold_in(key, index))
            return state, metrics["loss"]

        def epoch(state, inputs):
            state, losses = jax.lax.scan(step, state, inputs)
            val_loss, _ = evaluate(state["params"], state["batch_stats"], x_val, y_val)
            return state, (losses, val_loss)

        epochs, steps_per_epoch = batches.shape[:2]
        indices = jnp.arange(epochs * steps_per_epoch).reshape(epochs, steps_per_epoch)
        state = {"params": params, "batch_stats": stats, "opt_state": optimizer.init(params)}
        state, (losses, val_losses) = jax.lax.scan(epoch, state, (batches, indices))
        test_loss, test_accuracy = evaluate(state["params"], state["batch_stats"], x_test, y_test)
        return {"train_loss": losses.reshape(-1), "val_loss": val_losses, "test_loss": test_loss,
                "test_accuracy": test_accuracy, "lr": jax.vmap(schedule)(jnp.arange(epochs * steps_per_epoch))}

    return train


def _timed(function, *args) -> tuple[Any, float]:
    start = time.perf_counter()
    result = jax.block_until_ready(function(*args))
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peaks", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    parser.add_argument("--warmups", type=int, nargs="+", default=[0, 100])
    parser.add_argument("--exponents", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16, help="channels of the first conv layer")
    parser.add_argument("--optimizer", choices=sorted(SWEEP_OPTIMIZERS), default="adamw")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="runs/sweep")
    parser.add_argument("--no-sequential", action="store_true", help="skip the one-after-another baseline")
    parser.add_argument("--shard", action="store_true",
                        help="also split the schedules over every device of every process (see above)")
    add_distributed_flags(parser.add_argument)
    args = parser.parse_args(argv)
    problem = check_distributed(args)
    if problem:
        parser.error(problem)
    if args.distributed:
        try:
            distributed.initialize(args)
        except ValueError as error:
            parser.error(str(error))
    lead = jax.process_index() == 0

    data = load_digits(args.seed)
    steps_per_epoch = len(data.y_train) // args.batch_size
    total_steps = args.epochs * steps_per_epoch
    schedules, labels = make_schedules(args.peaks, args.warmups, args.exponents, total_steps)
    n = len(labels)
    batches = jnp.asarray(np.stack([epoch_batches(len(data.y_train), args.batch_size, args.seed, e)
                                    for e in range(args.epochs)]))

    model = CNN(data.x_train.shape[1:3], width=args.width, rngs=nnx.Rngs(args.seed))
    graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    params, stats = nnx.to_pure_dict(params), nnx.to_pure_dict(stats)
    arrays = [jnp.asarray(a) for a in (data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test)]
    train = make_train(graphdef, *arrays, batches, args.optimizer, args.seed)
    copies = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf, (n, *leaf.shape)), (params, stats))
    say = print if lead else lambda *_: None
    say(f"{n} schedules x {total_steps} steps ({args.epochs} epochs of {steps_per_epoch}) on "
          f"{jax.devices()[0].platform}; one CNN copy per schedule, same initial weights")

    # All at once: one program, vmapped over the schedules and the model copies.
    start = time.perf_counter()
    batched = jax.jit(jax.vmap(train)).lower(schedules, *copies).compile()
    batched_compile = time.perf_counter() - start
    results, batched_run = _timed(batched, schedules, *copies)
    results = jax.device_get(results)

    report: dict[str, Any] = {
        "schedules": n, "steps": total_steps, "platform": jax.devices()[0].platform,
        "batched": {"compile_s": batched_compile, "run_s": batched_run},
    }
    if args.shard:
        sharded, report["sharded"] = run_sharded(train, schedules, copies)
        report["sharded_speedup_run"] = batched_run / report["sharded"]["run_s"]
        report["max_sharded_difference"] = max(
            float(np.max(np.abs(np.asarray(sharded[key], np.float64) - results[key])))
            for key in ("train_loss", "val_loss", "test_loss", "lr"))
    if not args.no_sequential:
        # One after another: one jitted program for one schedule (compiled once), run n times.
        one = lambda i: jax.tree.map(lambda leaf: leaf[i], schedules)  # noqa: E731
        start = time.perf_counter()
        single = jax.jit(train).lower(one(0), params, stats).compile()
        sequential_compile = time.perf_counter() - start
        runs = [_timed(single, one(i), params, stats) for i in range(n)]
        sequential_run = sum(seconds for _, seconds in runs)
        sequential = jax.device_get([result for result, _ in runs])
        difference = max(abs(float(results["val_loss"][i][-1]) - float(r["val_loss"][-1]))
                         for i, r in enumerate(sequential))
        report["sequential"] = {"compile_s": sequential_compile, "run_s": sequential_run}
        report["speedup_run"] = sequential_run / batched_run
        report["speedup_total"] = (sequential_compile + sequential_run) / (batched_compile + batched_run)
        report["max_val_loss_difference"] = difference

    rows = sorted(range(n), key=lambda i: float(results["val_loss"][i][-1]))
    width = max(len(label) for label in labels)
    say(f"\n{'schedule (warmup_cosine)':<{width}}  final val loss  test accuracy")
    for i in rows:
        val_loss, accuracy = float(results["val_loss"][i][-1]), float(results["test_accuracy"][i])
        say(f"{labels[i]:<{width}}  {val_loss:14.4f}  {accuracy:13.4f}")
    report["results"] = [{"schedule": labels[i], "final_val_loss": float(results["val_loss"][i][-1]),
                          "test_accuracy": float(results["test_accuracy"][i])} for i in rows]

    say(f"\nall {n} at once (vmap): compile {batched_compile:.2f} s, run {batched_run:.2f} s")
    if "sequential" in report:
        seq = report["sequential"]
        say(f"one after another:     compile {seq['compile_s']:.2f} s, run {seq['run_s']:.2f} s "
              f"({n} runs of one jitted program)")
        say(f"speed-up of the batched program: {report['speedup_run']:.2f}x (runs), "
              f"{report['speedup_total']:.2f}x (with compilation); largest difference in final validation "
              f"loss between the two: {report['max_val_loss_difference']:.2e}")

    if args.shard:
        shard = report["sharded"]
        say(f"split over {shard['devices']} devices ({shard['processes']} processes, batch padded to "
            f"{shard['padded_to']}): compile {shard['compile_s']:.2f} s, run {shard['run_s']:.2f} s, "
            f"{report['sharded_speedup_run']:.2f}x the one-device batch's speed; largest difference from it: "
            f"{report['max_sharded_difference']:.2e}")
    if not lead:  # process 0 writes the files
        return report
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(report, indent=2) + "\n")
    if _plot(out / "sweep.png", results, labels, steps_per_epoch):
        print(f"wrote {out}/sweep.json and {out}/sweep.png")
    else:
        print(f"wrote {out}/sweep.json (matplotlib is not installed: no plot)")
    return report


def run_sharded(train: Any, schedules: jaxlr.Schedule, copies: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The vmapped training with its schedule axis split over every device of every process: each
    device trains its slice, with no communication. The batch is padded to a multiple of the
    devices (with repeats of the first schedules, whose results are dropped); every process gets
    every result."""
    mesh = Mesh(np.array(jax.devices()), ("schedules",))
    n = len(jax.tree.leaves(schedules)[0])
    index = np.arange(-(-n // mesh.size) * mesh.size) % n
    sharding = NamedSharding(mesh, P("schedules"))
    inputs = jax.tree.map(lambda leaf: distributed.global_array(sharding, np.asarray(leaf)[index]),
                          (schedules, *copies))
    program = jax.jit(jax.shard_map(jax.vmap(train), mesh=mesh, in_specs=P("schedules"), out_specs=P("schedules")))
    start = time.perf_counter()
    compiled = program.lower(*inputs).compile()
    compile_s = time.perf_counter() - start
    results, run_s = _timed(compiled, *inputs)
    results = jax.tree.map(lambda leaf: np.asarray(leaf)[:n], distributed.gather(results))
    return results, {"devices": mesh.size, "processes": jax.process_count(), "padded_to": len(index),
                     "compile_s": compile_s, "run_s": run_s}


def _plot(path: Path, results: dict[str, np.ndarray], labels: list[str], steps_per_epoch: int) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax_lr, ax_val) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 0.95, len(labels)))
    epochs = np.arange(1, results["val_loss"].shape[1] + 1) * steps_per_epoch
    for i, label in enumerate(labels):
        ax_lr.plot(results["lr"][i], color=colors[i], lw=1.2, label=label)
        ax_val.plot(epochs, results["val_loss"][i], "o-", ms=2.5, color=colors[i], lw=1.0)
    ax_lr.set(xlabel="step", ylabel="learning rate", title="schedules (one vmapped batch)")
    ax_val.set(xlabel="step", ylabel="validation cross-entropy", yscale="log", title="validation loss per epoch")
    ax_lr.legend(fontsize=6, ncol=2, loc="upper right")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


if __name__ == "__main__":
    main()
