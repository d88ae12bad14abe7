"""Does the range test's suggestion train as well as the best peak of a grid?

On the digits CNN of ``train_flax.py`` (its data, model, loss and default warmup + cosine
schedule), for each optimizer: run ``jaxlr.lr_find`` with its defaults (1e-7 to 10 over 100
steps), train the full run at a grid of peak learning rates and at every rule's suggestion,
and compare the final validation losses. Then measure how much averaging repeats in one
program steadies the suggestion: the spread of suggestions over independent range tests
(each its own initialisation and data order) with 1 repeat against ``--repeats``. And the
cost: the range test's wall time next to one epoch of training.

Every training is one jitted program (a ``lax.scan`` over epochs and steps) whose peak
learning rate is an argument, so the grid compiles once per optimizer.

    python examples/lr_find_grid.py                      # writes runs/lr_find_grid/results.{json,md}
    python examples/lr_find_grid.py --optimizers adamw --peaks 1e-3 1e-2 --epochs 5 --spread-runs 2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from train_flax import CNN, OPTIMIZERS, eval_batch, load_digits, make_schedule, train_loss

import jaxlr

WEIGHT_DECAY = 1e-4  # train_flax.py's default for adamw
NAMES = {"adamw": "adamw", "momentum": "SGD + momentum 0.9 (Nesterov)"}


def make_model(width: int, seed_or_key: Any) -> tuple[Any, Any, Any]:
    model = CNN((8, 8), width=width, rngs=nnx.Rngs(seed_or_key))
    graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(stats)


def epoch_orders(n: int, epochs: int, batch_size: int, seed: int) -> np.ndarray:
    """The example's data order: a permutation per epoch, whole batches only."""
    steps = n // batch_size
    return np.stack([np.random.default_rng([seed, e]).permutation(n)[: steps * batch_size].reshape(steps, batch_size)
                     for e in range(epochs)])


def make_train(graphdef: Any, data: Any, optimizer_name: str, epochs: int, batch_size: int, warmup_epochs: float):
    """``train(peak, params, stats, key, order) -> metrics``: the example's run, jitted once."""
    steps_per_epoch = len(data.y_train) // batch_size
    total, warmup = epochs * steps_per_epoch, round(warmup_epochs * steps_per_epoch)
    x_train, y_train, x_val, y_val, x_test, y_test = (jnp.asarray(a) for a in (
        data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test))

    def train(peak: jax.Array, params: Any, stats: Any, key: jax.Array, order: jax.Array) -> dict[str, jax.Array]:
        schedule = make_schedule(None, peak, warmup, total, steps_per_epoch)
        optimizer = OPTIMIZERS[optimizer_name](schedule, WEIGHT_DECAY)

        def step(carry: tuple, inputs: tuple) -> tuple[tuple, jax.Array]:
            params, stats, opt_state = carry
            rows, index = inputs
            (loss, (_, stats)), grads = jax.value_and_grad(train_loss, argnums=1, has_aux=True)(
                graphdef, params, stats, x_train[rows], y_train[rows], jax.random.fold_in(key, index))
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), stats, opt_state), loss

        carry = (params, stats, optimizer.init(params))
        indices = jnp.arange(total).reshape(epochs, steps_per_epoch)
        carry, losses = jax.lax.scan(lambda c, xs: jax.lax.scan(step, c, xs), carry, (order, indices))
        params, stats, _ = carry
        val_losses, _ = eval_batch(graphdef, params, stats, x_val, y_val)
        test_losses, correct = eval_batch(graphdef, params, stats, x_test, y_test)
        return {"val_loss": val_losses.mean(), "test_loss": test_losses.mean(), "test_accuracy": correct.mean(),
                "final_train_loss": losses[-1].mean()}

    return jax.jit(train)


def finder_loss(graphdef: Any):
    """``lr_find``'s loss: the example's training loss, with batch statistics and the dropout key as state."""

    def loss_fn(params: Any, state: tuple, batch: dict[str, jax.Array]) -> tuple[jax.Array, tuple]:
        stats, key = state
        key, dropout_key = jax.random.split(key)
        loss, (_, stats) = train_loss(graphdef, params, stats, batch["x"], batch["y"], dropout_key)
        return loss, (stats, key)

    return loss_fn


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = jax.block_until_ready(function(*args, **kwargs))
    return result, time.perf_counter() - start


def spread(values: list[float]) -> dict[str, float]:
    logs = np.log10(values)
    return {"median": float(10 ** np.median(logs)), "std_log10": float(np.std(logs)),
            "max_over_min": float(np.max(values) / np.min(values))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--optimizers", nargs="+", choices=sorted(NAMES), default=["adamw", "momentum"])
    parser.add_argument("--peaks", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=4, help="repeats per range test in the spread measurement")
    parser.add_argument("--spread-runs", type=int, default=8, help="independent range tests per setting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default="runs/lr_find_grid")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)

    data = load_digits(args.seed)
    graphdef, params, stats = make_model(args.width, args.seed)
    order = jnp.asarray(epoch_orders(len(data.y_train), args.epochs, args.batch_size, args.seed))
    steps_per_epoch = order.shape[1]
    # The range test's 100 batches: the example's data order, epoch after epoch.
    rows = epoch_orders(len(data.y_train), -(-100 // steps_per_epoch), args.batch_size, args.seed)
    rows = rows.reshape(-1, args.batch_size)[:100]
    batches = {"x": jnp.asarray(data.x_train[rows]), "y": jnp.asarray(data.y_train[rows])}
    loss_fn = finder_loss(graphdef)
    key = jax.random.key(args.seed + 1)
    report: dict[str, Any] = {"settings": vars(args), "platform": jax.devices()[0].platform,
                              "steps_per_epoch": steps_per_epoch, "optimizers": {}}

    for name in args.optimizers:
        def optimizer(lr: Any, name: str = name) -> optax.GradientTransformation:
            return OPTIMIZERS[name](lr, WEIGHT_DECAY)

        found, first_s = timed(jaxlr.lr_find, loss_fn, params, optimizer, batches, state=(stats, key))
        found, again_s = timed(jaxlr.lr_find, loss_fn, params, optimizer, batches, state=(stats, key))
        found.plot(out / f"lr_find-{name}.png", title=f"range test: digits CNN, {NAMES[name]}")
        suggestions = found.suggestions
        print(f"\n{NAMES[name]}: range test {len(found.losses)} of 100 steps, diverged at "
              f"{found.divergence_lr if found.divergence_lr is None else f'{found.divergence_lr:.3g}'}; "
              + ", ".join(f"{rule} {lr:.3g}" for rule, lr in suggestions.items()))

        train = make_train(graphdef, data, name, args.epochs, args.batch_size, args.warmup_epochs)
        start = time.perf_counter()
        compiled = train.lower(jnp.float32(1e-3), params, stats, key, order).compile()
        compile_s = time.perf_counter() - start
        rows_out, run_times = [], []
        for label, peak in [*((f"{p:g}", p) for p in args.peaks), *((f"{r} ({lr:.3g})", lr) for r, lr in
                                                                    suggestions.items())]:
            metrics, seconds = timed(compiled, jnp.float32(peak), params, stats, key, order)
            run_times.append(seconds)
            row = {"peak": float(peak), "label": label, **{k: float(v) for k, v in metrics.items()}}
            rows_out.append(row)
            print(f"  peak {label:>22}: val loss {row['val_loss']:.4f}, test accuracy {row['test_accuracy']:.4f}")
        grid = [r for r in rows_out[: len(args.peaks)] if np.isfinite(r["val_loss"])]
        best = min(grid, key=lambda r: r["val_loss"])
        by_rule = {}
        for row, rule in zip(rows_out[len(args.peaks):], suggestions, strict=True):
            by_rule[rule] = {"lr": row["peak"], "val_loss": row["val_loss"], "test_accuracy": row["test_accuracy"],
                             "over_best": row["val_loss"] / best["val_loss"] - 1}

        # Spread of the suggestion over independent range tests: each its own initialisation and data order.
        def init_params(k: jax.Array) -> Any:
            return make_model(args.width, k)[1]

        def init_state(k: jax.Array) -> tuple:
            return make_model(args.width, k)[2], jax.random.fold_in(k, 1)

        keys = jax.random.split(jax.random.key(args.seed + 100), args.spread_runs * args.repeats)
        alone = [jaxlr.lr_find(loss_fn, init_params, optimizer, batches, state=init_state, key=k, shuffle=True)
                 for k in keys[: args.spread_runs]]
        start = time.perf_counter()
        together = [jaxlr.lr_find(loss_fn, init_params, optimizer, batches, state=init_state,
                                  key=keys[i * args.repeats:(i + 1) * args.repeats])
                    for i in range(args.spread_runs)]
        repeats_s = (time.perf_counter() - start) / args.spread_runs
        spreads = {rule: {"1": spread([r.suggest(rule) for r in alone]),
                          str(args.repeats): spread([r.suggest(rule) for r in together])}
                   for rule in jaxlr.finder.RULES}
        report["optimizers"][name] = {
            "range_test": {"steps": len(found.losses), "divergence_step": found.divergence_step,
                           "divergence_lr": found.divergence_lr, "suggestions": suggestions,
                           "first_call_s": first_s, "second_call_s": again_s,
                           f"with_{args.repeats}_repeats_s": repeats_s},
            "training": {"compile_s": compile_s, "run_s_median": float(np.median(run_times)),
                         "epoch_s": float(np.median(run_times)) / args.epochs},
            "grid": rows_out[: len(args.peaks)], "best": best, "rules": by_rule, "spread": spreads,
        }
        print(f"  best of the grid: {best['label']} ({best['val_loss']:.4f}); range test {first_s:.1f} s first "
              f"call, {again_s:.2f} s compiled; one epoch of training {np.median(run_times) / args.epochs:.3f} s")
        for rule, values in spreads.items():
            print(f"  spread of {rule}: std of log10 {values['1']['std_log10']:.3f} (1 repeat) -> "
                  f"{values[str(args.repeats)]['std_log10']:.3f} ({args.repeats} repeats)")

    (out / "results.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / "results.md").write_text(markdown(report, args))
    print(f"\nwrote {out / 'results.json'} and {out / 'results.md'}")
    return report


def markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"# lr_find against a grid of peak rates (digits CNN, {args.epochs} epochs, warmup + cosine)", ""]
    for name, result in report["optimizers"].items():
        test = result["range_test"]
        lines += [f"## {NAMES[name]}", "", "| peak lr | final val loss | test accuracy |", "|---|---|---|"]
        for row in result["grid"]:
            mark = " (best)" if row["label"] == result["best"]["label"] else ""
            lines.append(f"| {row['label']}{mark} | {row['val_loss']:.4f} | {row['test_accuracy']:.4f} |")
        for rule, row in result["rules"].items():
            lines.append(f"| {rule}: {row['lr']:.3g} | {row['val_loss']:.4f} ({100 * row['over_best']:+.0f}% of best) "
                         f"| {row['test_accuracy']:.4f} |")
        lines += ["", f"Range test: {test['steps']} of 100 steps (diverged at lr {test['divergence_lr']}), "
                  f"{test['first_call_s']:.1f} s first call (compiling), {test['second_call_s']:.2f} s compiled; "
                  f"one epoch of training {result['training']['epoch_s']:.3f} s.", "",
                  f"| rule | suggestion spread, 1 repeat: std log10 (max/min) | {args.repeats} repeats |",
                  "|---|---|---|"]
        for rule, values in result["spread"].items():
            one, many = values["1"], values[str(args.repeats)]
            lines.append(f"| {rule} | {one['std_log10']:.3f} ({one['max_over_min']:.2f}x) | "
                         f"{many['std_log10']:.3f} ({many['max_over_min']:.2f}x) |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
