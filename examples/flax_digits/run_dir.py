"""The run directory: claimed once and never reused, an orbax checkpoint after every epoch,
and what a resumed run restores and may change."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from flax_digits.cli import fail


def claim_run_dir(out_dir: Path, run_name: str | None, config_text: str, stamp: str | None = None) -> Path:
    """A new run directory with its config.json. A run directory is never reused: a --run-name
    that already holds anything is refused, and a timestamp taken by a run started in the same
    second gets a suffix (-2, -3...). The claim is atomic (mkdir, then an exclusive create of
    config.json), so two runs started at once cannot share a directory."""
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out-dir: {out_dir} is not a directory")
    stamp = stamp or time.strftime("flax-%Y%m%d-%H%M%S")
    names = [run_name] if run_name else [stamp, *(f"{stamp}-{n}" for n in range(2, 1000))]
    for name in names:
        run_dir = out_dir / name
        try:
            run_dir.mkdir(parents=True, exist_ok=run_name is not None)
            if run_name and any(run_dir.iterdir()):
                raise FileExistsError
            with (run_dir / "config.json").open("x") as file:
                file.write(config_text)
            return run_dir
        except FileExistsError:
            if run_name:
                fail(f"--run-name: {run_dir} already exists and is not empty: continue its run with --resume "
                     f"{run_dir}, or choose another --run-name")
        except OSError as error:
            fail(f"--out-dir: cannot create {run_dir}: {error.strerror or error}")
    fail(f"--out-dir: every name {stamp}[-N] is taken in {out_dir}")


def checkpoint_manager(run_dir: Path, create: bool = True) -> Any:
    import orbax.checkpoint as ocp

    # create=False: one that only restores writes nothing (orbax's read_only mode logs warnings).
    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False, create=create)
    return ocp.CheckpointManager((run_dir / "checkpoints").absolute(), options=options)


def restore(run_dir: Path, state: dict, extra: dict, meta: dict) -> tuple[dict, dict, dict]:
    """The training state of the last checkpoint in ``run_dir``, read without writing; the fresh
    state given if the run stopped before its first checkpoint."""
    import orbax.checkpoint as ocp

    directory = run_dir / "checkpoints"
    if not directory.is_dir():
        return state, extra, meta
    manager = checkpoint_manager(run_dir, create=False)
    try:
        latest = manager.latest_step()
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"state": state, "extra": extra})
        restored = None if latest is None else manager.restore(latest, args=ocp.args.Composite(
            tree=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    except Exception as error:  # orbax and tensorstore raise many kinds of errors for a damaged checkpoint
        detail = (str(error).strip().splitlines() or [""])[0].split(" [tensorstore_spec")[0]
        fail(f"--resume: cannot restore the checkpoint in {directory}: {type(error).__name__}: {detail[:400]}")
    finally:
        manager.close()
    if restored is None:
        return state, extra, meta
    saved = restored.meta
    if not isinstance(saved, dict) or set(saved) != set(meta) or saved["epoch"] != latest:
        fail(f"--resume: {directory / str(latest)} does not hold this example's training state")
    return restored.tree["state"], restored.tree["extra"], saved


def check_new_length(args: argparse.Namespace, meta: dict, schedule: Callable[[Any], jax.Array],
                     original: Callable[[Any], jax.Array], steps_per_epoch: int) -> None:
    """A new --epochs on --resume is honoured when the continued run is the one that --epochs
    would have given from the start: the schedule at the new length gives every step already
    trained the learning rate it had."""
    trained, flag = meta["epoch"], f"--epochs {args.epochs}"
    if meta["stopped"]:
        fail(f"{flag}: this run stopped early after epoch {trained} (--early-stopping), so it has no epochs left")
    if args.epochs < trained:
        fail(f"{flag}: this run has already trained {trained} epochs")
    steps = np.arange(trained * steps_per_epoch)
    used, new = np.asarray(original(steps)), np.asarray(schedule(steps))
    changed = np.flatnonzero(used != new)
    if changed.size:
        first = changed[0]
        fail(f"{flag}: the run's schedule depends on its length: step {first + 1} trained at lr {used[first]:.6g}, "
             f"which {args.epochs} epochs would make {new[first]:.6g}. Keep --epochs {args.saved_epochs}, or start a "
             "new run (a schedule that does not depend on the length, such as constant or step_decay, extends)")




def save(manager: Any, epoch: int, state: dict, extra: dict, meta: dict) -> None:
    """Epoch ``epoch``'s checkpoint, committed when this returns: the arrays of the training
    state, and ``meta`` (epoch, history...) as JSON."""
    import orbax.checkpoint as ocp

    manager.save(epoch, args=ocp.args.Composite(
        tree=ocp.args.StandardSave({"state": state, "extra": extra}), meta=ocp.args.JsonSave(meta)))
    manager.wait_until_finished()
