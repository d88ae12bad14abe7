"""The main job, ``python examples/train_flax.py`` (see ``--help``): the flags, then the data,
schedule, optimizer and model, then epoch after epoch of training, each logged and then
checkpointed, and last the test of the final (or, with early stopping, the best) parameters."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

import jaxlr
from flax_digits import distributed, find_lr
from flax_digits.cli import PER_INVOCATION, build_parser, fail, parse_args
from flax_digits.data import Data, load_digits, load_mnist
from flax_digits.logs import Progress, drop_events_after, event_log, plot_curves, replace_file, write_csv
from flax_digits.model import CNN
from flax_digits.optim import describe, make_optimizer, make_schedule
from flax_digits.run_dir import check_new_length, checkpoint_manager, claim_run_dir, restore, save
from flax_digits.train import Trainer, train_epoch


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.distributed:
        try:
            distributed.initialize(args)
        except ValueError as error:
            fail(error)
    start = time.perf_counter()
    lead = jax.process_index() == 0
    data, fingerprint = load_data(args)
    steps_per_epoch = batches_per_epoch(args, data)
    found = None
    if args.lr == "find":
        found = find_lr.find_lr(args, data)
        try:
            args.lr = found.suggestion  # config.json records the number: --resume trains on with it
        except ValueError as error:
            fail(f"--lr find: {error}")
        if lead:
            print(f"{find_lr.describe(found)}: training at the {found.rule} suggestion, lr {args.lr:.3g}")
    schedule = build_schedule(args, steps_per_epoch, args.epochs)
    plateau = jaxlr.reduce_on_plateau(factor=args.plateau_factor, patience=args.plateau_patience,
                                      threshold=args.plateau_threshold) if args.plateau else None
    stopper = jaxlr.early_stopping(min_delta=args.early_stopping_min_delta, patience=args.early_stopping) \
        if args.early_stopping is not None else None
    optimizer = make_optimizer(args.optimizer, schedule, args.weight_decay, plateau)
    model = CNN(data.x_train.shape[1:3], width=args.width, dropout=args.dropout, rngs=nnx.Rngs(args.seed))
    trainer = Trainer(model, optimizer, lookahead=args.optimizer == "ranger")

    state = trainer.init()
    # Replicated like the state, so that orbax saves and restores them alike from every process.
    extra = trainer.replicate({"best": {"params": trainer.eval_params(state), "batch_stats": state["batch_stats"]},
                               "stopping": (stopper or jaxlr.early_stopping()).init(), "pending": np.float32(np.nan)})
    meta: dict[str, Any] = {"epoch": 0, "stopped": False, "best_epoch": 0, "seconds": 0.0,
                            "history": {"steps": [], "epochs": []}}
    if args.resume:
        state, extra, meta = restore(Path(args.resume), state, extra, meta)
        if args.epochs != args.saved_epochs:
            check_new_length(args, meta, schedule, build_schedule(args, steps_per_epoch, args.saved_epochs),
                             steps_per_epoch)
    if args.stop_after is not None and args.stop_after <= meta["epoch"]:
        fail(f"--stop-after {args.stop_after}: this run has already trained {meta['epoch']} epochs")
    continuing = meta["epoch"] < args.epochs and not meta["stopped"]

    # Everything is checked: from here on, the run directory is written.
    trained_steps = meta["epoch"] * steps_per_epoch
    # Process 0 claims (or trims) the run directory; the others wait, and stop if it refuses.
    run_dir = distributed.lead_first(
        lambda: open_run_dir(args, fingerprint, meta["history"], trained_steps, continuing),
        lambda: Path(args.resume or Path(args.out_dir) / args.run_name))
    manager = checkpoint_manager(run_dir)
    if lead and found is not None:
        written = find_lr.save(found, run_dir, f"range test: {args.optimizer}, {data.name}")
        print(f"range test saved: {', '.join(written)}")
    if lead:
        print(f"data: {data.describe()}")
        print(f"devices: {trainer.devices} x {jax.devices()[0].platform} (mesh {dict(trainer.mesh.shape)}"
              f"{f', {jax.process_count()} processes' if jax.process_count() > 1 else ''}), "
              f"global batch {args.batch_size}, {steps_per_epoch} steps per epoch, "
              f"{args.epochs * steps_per_epoch} steps")
        print(f"optimizer: {args.optimizer}, schedule: {describe(schedule, args.schedule)}")
        print(f"run directory: {run_dir}" + (f" (resumed after epoch {meta['epoch']})" if args.resume else ""))

    earlier_seconds = meta["seconds"]  # of the run's earlier invocations, when resumed
    progress = Progress(args.progress if lead else "none")
    events = event_log(run_dir / "tensorboard", trained_steps + 1 if args.resume else None) \
        if lead and continuing else None
    history = meta["history"]
    epoch = first_epoch = meta["epoch"]
    while epoch < args.epochs and not meta["stopped"]:
        done = train_epoch(trainer, state, data, epoch, args.batch_size, args.seed, extra["pending"], progress,
                           f"epoch {epoch + 1}/{args.epochs}")
        state, summary = done.state, done.summary
        history["steps"].extend(done.steps)
        history["epochs"].append(summary)
        line = (f"train loss {summary['train_loss']:.4f} acc {summary['train_accuracy']:.3f} | val loss "
                f"{summary['val_loss']:.4f} acc {summary['val_accuracy']:.3f} | lr {summary['lr']:.3g} | "
                f"{len(done.steps) / done.train_seconds:.3g} steps/s")
        if epoch == first_epoch:  # its first call of the train step traced and compiled it
            line += ", including compilation"
        if stopper is not None:
            stopping, decision = stopper.update(extra["stopping"], summary["val_loss"])
            extra["stopping"] = stopping
            if bool(decision.improved):
                extra["best"] = {"params": trainer.eval_params(state), "batch_stats": state["batch_stats"]}
                meta["best_epoch"] = epoch + 1
            if bool(decision.stop):
                meta["stopped"] = True
                line += f" | early stop (best epoch {meta['best_epoch']})"
        if plateau is not None:
            # observed by the plateau rule at the next update
            extra["pending"] = trainer.replicate(np.float32(summary["val_loss"]))
        if lead:
            progress.finish(line if progress.kind != "none" else f"epoch {epoch + 1}/{args.epochs}: {line}")
        epoch += 1
        meta["epoch"] = epoch
        meta["seconds"] = earlier_seconds + time.perf_counter() - start
        # The epoch's logs are on disk before its checkpoint commits: a kill in between leaves
        # rows past the checkpoint, which a resume drops, and never a checkpoint without its rows.
        _kill_point("before-logs", epoch)
        if lead:
            if events is not None:
                events.write(done.steps, summary)
            _kill_point("after-tensorboard", epoch)
            write_csv(run_dir / "metrics.csv", history)
        _kill_point("after-logs", epoch)
        save(manager, epoch, state, extra, meta)
        _kill_point("after-checkpoint", epoch)
        if args.stop_after is not None and epoch >= args.stop_after and epoch < args.epochs and not meta["stopped"]:
            manager.close()
            if events is not None:
                events.close()
            if lead:
                print(f"stopped after epoch {epoch}; continue with: --resume {run_dir}")
            return {"run_dir": str(run_dir), "epochs_run": epoch, "stopped_early": False, "interrupted": True}
    manager.close()
    if events is not None:
        events.close()

    params, stats = trainer.eval_params(state), state["batch_stats"]
    if stopper is not None:
        params, stats = extra["best"]["params"], extra["best"]["batch_stats"]
    val_loss, val_accuracy = trainer.evaluate(params, stats, data.x_val, data.y_val)
    test_loss, test_accuracy = trainer.evaluate(params, stats, data.x_test, data.y_test)
    metrics = {
        "test_accuracy": test_accuracy, "test_loss": test_loss, "val_accuracy": val_accuracy, "val_loss": val_loss,
        "epochs_run": epoch, "stopped_early": bool(meta["stopped"]),
        "best_epoch": meta["best_epoch"] if stopper else epoch, "final_lr": history["steps"][-1]["lr"],
        "wall_seconds": earlier_seconds + time.perf_counter() - start, "devices": trainer.devices,
        "processes": jax.process_count(), "platform": jax.devices()[0].platform, "data": data.name,
        "run_dir": str(run_dir),
    }
    if lead:
        replace_file(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        plotted = plot_curves(run_dir / "curves.png", history, f"{args.optimizer}, {describe(schedule, args.schedule)}")
        restored_note = f" (parameters of epoch {metrics['best_epoch']})" if stopper else ""
        print(f"test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}{restored_note}; {epoch} epochs "
              f"in {metrics['wall_seconds']:.1f} s")
        print(f"wrote {run_dir}/: metrics.json, metrics.csv, tensorboard/, checkpoints/"
              + (", curves.png" if plotted else ""))
    return metrics


def load_data(args: argparse.Namespace) -> tuple[Data, str]:
    """The run's data and their SHA-256; on --resume, refused unless they are the run's own."""
    try:
        data = load_mnist(args.data_dir, args.seed) if args.data_dir else load_digits(args.seed)
    except (OSError, ValueError) as error:
        fail(f"--data-dir: {error}" + (" (the run's saved --data-dir: give --data-dir where its data are now)"
                                       if args.resume and args.data_dir == args.saved_data_dir else ""))
    fingerprint = data.fingerprint()
    if args.data_sha256 is not None and fingerprint != args.data_sha256:
        fail(f"--data-dir: {data.name} are not the data that run {args.resume} was trained on (their SHA-256 "
             "differ)")
    return data, fingerprint


def batches_per_epoch(args: argparse.Namespace, data: Data) -> int:
    """Whole global batches per epoch, each split evenly over the devices."""
    devices = len(jax.devices())
    if args.batch_size % devices:
        fail(f"--batch-size {args.batch_size} is not a multiple of the {devices} devices")
    steps_per_epoch = len(data.y_train) // args.batch_size
    if steps_per_epoch == 0:
        fail(f"--batch-size {args.batch_size} is larger than the {len(data.y_train)} training images")
    return steps_per_epoch


def build_schedule(args: argparse.Namespace, steps_per_epoch: int, epochs: int) -> Callable[[Any], jax.Array]:
    """The schedule of a run of ``epochs`` epochs (a resumed run compares two lengths)."""
    warmup_steps = round(args.warmup_epochs * steps_per_epoch)
    try:
        return make_schedule(args.schedule, args.lr, warmup_steps, epochs * steps_per_epoch, steps_per_epoch)
    except (ValueError, TypeError) as error:
        fail(f"--schedule: {error}")


def open_run_dir(args: argparse.Namespace, fingerprint: str, history: dict[str, list], trained_steps: int,
                 continuing: bool) -> Path:
    """A new run's directory, claimed with its config.json; or the resumed run's, with the logs
    trimmed back to its checkpoint. Process 0 alone calls this (``distributed.lead_first``)."""
    keys = [key for key in vars(build_parser().parse_args([])) if key not in PER_INVOCATION]
    config = {**{key: getattr(args, key) for key in keys}, "data_sha256": fingerprint}
    config_text = json.dumps(config, indent=2) + "\n"
    if not args.resume:
        return claim_run_dir(Path(args.out_dir), args.run_name, config_text)
    run_dir = Path(args.resume)
    if (args.epochs, args.data_dir) != (args.saved_epochs, args.saved_data_dir):
        replace_file(run_dir / "config.json", config_text)
    # A kill between an epoch's logs and its checkpoint leaves that epoch's rows; the
    # resumed run writes them again, so drop them (and a record cut short by the kill).
    write_csv(run_dir / "metrics.csv", history)
    drop_events_after(run_dir / "tensorboard", trained_steps)
    if continuing:  # they describe the end of an earlier, shorter run
        for name in ("metrics.json", "curves.png"):
            (run_dir / name).unlink(missing_ok=True)
    return run_dir


def _kill_point(point: str, epoch: int) -> None:
    """Where a kill would leave the run's files in a state of their own (before an epoch's logs,
    between the TensorBoard events and the CSV, before or after its checkpoint). A no-op: the
    tests replace it with one that raises, and resume from each."""
