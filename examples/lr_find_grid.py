"""Does the range test's suggestion train as well as the best peak of a grid?

On the digits CNN of ``train_flax.py`` (``flax_digits``: its data, model, train step, default
warmup + cosine schedule, and the range test of ``--lr find``), for each optimizer: run
``jaxlr.lr_find`` with its defaults (1e-7 to 10 over 100 steps), train the full run at a grid
of peak learning rates and at every rule's suggestion, and compare the final validation
losses (the best grid peaks and the suggestions averaged over ``--seeds`` seeds). Then
measure how much averaging repeats in one program steadies the suggestion: the spread of
suggestions over independent range tests (each its own initialisation and data order) with 1
repeat against ``--repeats``. And the cost: the range test's wall time next to one epoch of
training.

Every training is one jitted program (a ``lax.scan`` over epochs and steps) whose peak
learning rate is an argument, so the grid compiles once per optimizer.

    python examples/lr_find_grid.py                      # writes runs/lr_find_grid/results.{json,md}
    python examples/lr_find_grid.py --optimizers adamw --peaks 1e-3 1e-2 --epochs 5 --spread-runs 2
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from flax_digits.data import epoch_batches, load_digits
from flax_digits.find_lr import range_test_batches, range_test_loss
from flax_digits.model import CNN, eval_batch
from flax_digits.optim import OPTIMIZERS, make_schedule
from flax_digits.train import train_step

import jaxlr

WEIGHT_DECAY = 1e-4  # train_flax.py's default for adamw
METRICS = ("val_loss", "test_loss", "test_accuracy", "final_train_loss")
NAMES = {"adamw": "adamw", "momentum": "SGD + momentum 0.9 (Nesterov)"}


def make_model(width: int, seed_or_key: Any) -> tuple[Any, Any, Any]:
    model = CNN((8, 8), width=width, rngs=nnx.Rngs(seed_or_key))
    graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
    return graphdef, nnx.to_pure_dict(params), nnx.to_pure_dict(stats)


def epoch_orders(n: int, epochs: int, batch_size: int, seed: int) -> np.ndarray:
    """The example's data order, ``(epochs, steps, batch_size)``."""
    return np.stack([epoch_batches(n, batch_size, seed, epoch) for epoch in range(epochs)])


def make_train(graphdef: Any, data: Any, optimizer_name: str, epochs: int, batch_size: int, warmup_epochs: float):
    """``train(peak, params, stats, key, order) -> metrics``: the example's run (its train step,
    schedule and optimizer) as one jitted program of the peak learning rate."""
    steps_per_epoch = len(data.y_train) // batch_size
    total, warmup = epochs * steps_per_epoch, round(warmup_epochs * steps_per_epoch)
    x_train, y_train, x_val, y_val, x_test, y_test = (jnp.asarray(a) for a in (
        data.x_train, data.y_train, data.x_val, data.y_val, data.x_test, data.y_test))

    def train(peak: jax.Array, params: Any, stats: Any, key: jax.Array, order: jax.Array) -> dict[str, jax.Array]:
        optimizer = OPTIMIZERS[optimizer_name](make_schedule(None, peak, warmup, total, steps_per_epoch), WEIGHT_DECAY)

        def step(state: dict, inputs: tuple) -> tuple[dict, jax.Array]:
            rows, index = inputs
            state, metrics = train_step(graphdef, optimizer, state, x_train[rows], y_train[rows],
                                        jax.random.fold_in(key, index))
            return state, metrics["loss"]

        state = {"params": params, "batch_stats": stats, "opt_state": optimizer.init(params)}
        indices = jnp.arange(total).reshape(epochs, steps_per_epoch)
        state, losses = jax.lax.scan(lambda s, xs: jax.lax.scan(step, s, xs), state, (order, indices))
        val_losses, _ = eval_batch(graphdef, state["params"], state["batch_stats"], x_val, y_val)
        test_losses, correct = eval_batch(graphdef, state["params"], state["batch_stats"], x_test, y_test)
        return {"val_loss": val_losses.mean(), "test_loss": test_losses.mean(), "test_accuracy": correct.mean(),
                "final_train_loss": losses[-1].mean()}

    return jax.jit(train)


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = jax.block_until_ready(function(*args, **kwargs))
    return result, time.perf_counter() - start


def spread(values: list[float]) -> dict[str, float]:
    logs = np.log10(values)
    return {"median": float(10 ** np.median(logs)), "std_log10": float(np.std(logs)),
            "max_over_min": float(np.max(values) / np.min(values))}


class Experiment:
    """The data, the starting model, the range test's batches and loss, shared by both optimizers."""

    def __init__(self, args: argparse.Namespace, reused: dict[str, Any]) -> None:
        self.args, self.reused = args, reused
        self.data = load_digits(args.seed)
        self.graphdef, self.params, self.stats = make_model(args.width, args.seed)
        self.order = jnp.asarray(epoch_orders(len(self.data.y_train), args.epochs, args.batch_size, args.seed))
        self.steps_per_epoch = self.order.shape[1]
        # The range test of --lr find: the example's data order, loss, batch statistics and dropout key.
        self.batches = range_test_batches(self.data, args.batch_size, args.seed)
        self.loss_fn = range_test_loss(self.graphdef)
        self.key = jax.random.key(args.seed + 1)

    def init_params(self, key: jax.Array) -> Any:
        return make_model(self.args.width, key)[1]

    def init_state(self, key: jax.Array) -> tuple:
        return make_model(self.args.width, key)[2], jax.random.fold_in(key, 1)

    def run(self, name: str, out: Path) -> dict[str, Any]:
        args, previous = self.args, self.reused.get(name, {})

        def optimizer(lr: Any) -> optax.GradientTransformation:
            return OPTIMIZERS[name](lr, WEIGHT_DECAY)

        found, first_s = timed(jaxlr.lr_find, self.loss_fn, self.params, optimizer, self.batches,
                               state=(self.stats, self.key))
        found, again_s = timed(jaxlr.lr_find, self.loss_fn, self.params, optimizer, self.batches,
                               state=(self.stats, self.key))
        found.plot(out / f"lr_find-{name}.png", title=f"range test: digits CNN, {NAMES[name]}")
        suggestions = found.suggestions
        diverged = "no divergence" if found.divergence_lr is None else f"diverged at {found.divergence_lr:.3g}"
        print(f"\n{NAMES[name]}: range test {len(found.losses)} of 100 steps, {diverged}; "
              + ", ".join(f"{rule} {lr:.3g}" for rule, lr in suggestions.items()))

        train = make_train(self.graphdef, self.data, name, args.epochs, args.batch_size, args.warmup_epochs)
        start = time.perf_counter()
        compiled = train.lower(jnp.float32(1e-3), self.params, self.stats, self.key, self.order).compile()
        compile_s = time.perf_counter() - start

        def train_at(peak: float, seed: int) -> dict[str, float]:
            """Final metrics of the run at ``peak`` whose initialisation, data order and dropout come
            from ``seed`` (a run of an earlier results file is reused)."""
            for row in previous.get("grid", []) + list(previous.get("rules", {}).values()):
                # (A file from before --seeds holds one seed's metrics in the row itself.)
                seeds = row.get("seeds", {str(args.seed): {k: row[k] for k in METRICS if k in row}})
                if math.isclose(row.get("peak", row.get("lr")), peak, rel_tol=1e-6) and str(seed) in seeds:
                    return seeds[str(seed)]
            _, params, stats = make_model(args.width, seed)
            order = jnp.asarray(epoch_orders(len(self.data.y_train), args.epochs, args.batch_size, seed))
            metrics, _ = timed(compiled, jnp.float32(peak), params, stats, jax.random.key(seed + 1), order)
            return {k: float(v) for k, v in metrics.items()}

        rows = []
        for label, peak in [*((f"{p:g}", p) for p in args.peaks),
                            *((f"{rule} ({lr:.3g})", lr) for rule, lr in suggestions.items())]:
            first = train_at(peak, args.seed)
            rows.append({"peak": float(peak), "label": label, "seeds": {str(args.seed): first}})
            print(f"  peak {label:>22}: val loss {first['val_loss']:.4f}, test accuracy {first['test_accuracy']:.4f}")
        grid_rows, rule_rows = rows[: len(args.peaks)], rows[len(args.peaks):]
        # The validation set is small (180 images): near the best, the final loss moves by tens of percent
        # from seed to seed. The best grid peaks and the suggestions are trained with more seeds, averaged.
        finite = [r for r in grid_rows if np.isfinite(r["seeds"][str(args.seed)]["val_loss"])]
        close = sorted(finite, key=lambda r: r["seeds"][str(args.seed)]["val_loss"])[: args.top]
        for row in close + rule_rows:
            for seed in range(args.seed + 1, args.seed + args.seeds):
                row["seeds"][str(seed)] = train_at(row["peak"], seed)
        for row in rows:
            val_losses = [m["val_loss"] for m in row["seeds"].values()]
            row.update(val_loss=float(np.mean(val_losses)), val_loss_std=float(np.std(val_losses)),
                       test_accuracy=float(np.mean([m["test_accuracy"] for m in row["seeds"].values()])))
        best = min(close, key=lambda r: r["val_loss"])
        by_rule = {rule: {**row, "lr": row["peak"], "over_best": row["val_loss"] / best["val_loss"] - 1}
                   for row, rule in zip(rule_rows, suggestions, strict=True)}
        for rule, row in by_rule.items():
            print(f"  {rule} ({row['lr']:.3g}): mean val loss over {len(row['seeds'])} seeds {row['val_loss']:.4f} "
                  f"({100 * row['over_best']:+.0f}% of the best grid peak {best['label']}, {best['val_loss']:.4f})")

        earlier = previous.get("range_test", {})
        cost = self.cost(name, optimizer)
        spreads = previous.get("spread")
        repeats_s = earlier.get("repeats_s", earlier.get(f"with_{args.repeats}_repeats_s"))
        if spreads is None:
            spreads, repeats_s = self.spread(optimizer)
        print(f"  range test {first_s:.1f} s first call; compiled, {cost['range_test_s']:.2f} s against "
              f"{cost['epoch_s']:.2f} s for one epoch of training ({cost['ratio']:.2f} epochs)")
        for rule, values in spreads.items():
            print(f"  spread of {rule}: std of log10 {values['1']['std_log10']:.3f} (1 repeat) -> "
                  f"{values[str(args.repeats)]['std_log10']:.3f} ({args.repeats} repeats)")
        return {
            "range_test": {"steps": len(found.losses), "divergence_step": found.divergence_step,
                           "divergence_lr": found.divergence_lr, "suggestions": suggestions,
                           "first_call_s": first_s, "second_call_s": again_s, "repeats_s": repeats_s},
            "training": {"compile_s": compile_s}, "cost": cost,
            "grid": grid_rows, "best": best, "rules": by_rule, "spread": spreads,
        }

    def cost(self, name: str, optimizer: Any, repetitions: int = 3) -> dict[str, float]:
        """The compiled range test's wall time against one epoch of training (the same program as
        the runs, one epoch long), alternated, the median of each."""
        args = self.args
        one_epoch = make_train(self.graphdef, self.data, name, 1, args.batch_size, args.warmup_epochs)
        inputs = (jnp.float32(1e-3), self.params, self.stats, self.key, self.order[:1])
        timed(one_epoch, *inputs)  # compiles
        tests, epochs = [], []
        for _ in range(repetitions):
            tests.append(timed(jaxlr.lr_find, self.loss_fn, self.params, optimizer, self.batches,
                               state=(self.stats, self.key))[1])
            epochs.append(timed(one_epoch, *inputs)[1])
        test_s, epoch_s = float(np.median(tests)), float(np.median(epochs))
        return {"range_test_s": test_s, "epoch_s": epoch_s, "ratio": test_s / epoch_s,
                "steps_per_epoch": self.steps_per_epoch, "repetitions": repetitions}

    def spread(self, optimizer: Any) -> tuple[dict[str, Any], float]:
        """The spread of each rule's suggestion over independent range tests (each its own
        initialisation and data order), with 1 repeat and with ``--repeats``; and the time of one
        test with repeats."""
        args = self.args
        keys = jax.random.split(jax.random.key(args.seed + 100), args.spread_runs * args.repeats)
        alone = [jaxlr.lr_find(self.loss_fn, self.init_params, optimizer, self.batches, state=self.init_state,
                               key=k, shuffle=True) for k in keys[: args.spread_runs]]
        timed_runs = [timed(jaxlr.lr_find, self.loss_fn, self.init_params, optimizer, self.batches,
                            state=self.init_state, key=keys[i * args.repeats:(i + 1) * args.repeats])
                      for i in range(args.spread_runs)]
        together = [result for result, _ in timed_runs]
        repeats_s = float(np.median([seconds for _, seconds in timed_runs[1:] or timed_runs]))  # compiled
        spreads = {rule: {"1": spread([r.suggest(rule) for r in alone]),
                          str(args.repeats): spread([r.suggest(rule) for r in together])}
                   for rule in jaxlr.finder.RULES}
        return spreads, repeats_s


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
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds (initialisation, data order, dropout) averaged for the best peaks and the rules")
    parser.add_argument("--top", type=int, default=3, help="how many of the best grid peaks get --seeds seeds")
    parser.add_argument("--reuse", default=None, metavar="RESULTS_JSON",
                        help="take the runs and the spread of an earlier results.json instead of running them again")
    parser.add_argument("--out-dir", default="runs/lr_find_grid")
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reused = json.loads(Path(args.reuse).read_text())["optimizers"] if args.reuse else {}
    experiment = Experiment(args, reused)
    report: dict[str, Any] = {"settings": vars(args), "platform": jax.devices()[0].platform,
                              "steps_per_epoch": experiment.steps_per_epoch,
                              "optimizers": {name: experiment.run(name, out) for name in args.optimizers}}
    (out / "results.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / "results.md").write_text(markdown(report, args))
    print(f"\nwrote {out / 'results.json'} and {out / 'results.md'}")
    return report


def markdown(report: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"# lr_find against a grid of peak rates (digits CNN, {args.epochs} epochs, warmup + cosine)", ""]
    for name, result in report["optimizers"].items():
        test = result["range_test"]
        lines += [f"## {NAMES[name]}", "", "| peak lr | seeds | final val loss (mean ± std) | test accuracy |",
                  "|---|---|---|---|"]
        for row in result["grid"]:
            mark = " (best)" if row["label"] == result["best"]["label"] else ""
            lines.append(f"| {row['label']}{mark} | {len(row['seeds'])} | {row['val_loss']:.4f} ± "
                         f"{row['val_loss_std']:.4f} | {row['test_accuracy']:.4f} |")
        for rule, row in result["rules"].items():
            lines.append(f"| {rule}: {row['lr']:.3g} | {len(row['seeds'])} | {row['val_loss']:.4f} ± "
                         f"{row['val_loss_std']:.4f} ({100 * row['over_best']:+.0f}% of best) | "
                         f"{row['test_accuracy']:.4f} |")
        lines += ["", f"Range test: {test['steps']} of 100 steps (diverged at lr {test['divergence_lr']:.3g}), "
                  f"{test['first_call_s']:.1f} s first call (compiling); compiled, "
                  f"{result['cost']['range_test_s']:.2f} s against {result['cost']['epoch_s']:.2f} s for one epoch "
                  f"of training ({result['cost']['steps_per_epoch']} steps): {result['cost']['ratio']:.2f} epochs "
                  f"(medians of {result['cost']['repetitions']}, alternated). One range test with {args.repeats} "
                  f"repeats: {test['repeats_s']:.1f} s.", "",
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
