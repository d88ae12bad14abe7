"""Training: the train step, the data-parallel ``Trainer`` that jits it over a device mesh, and
one epoch of the loop.

The state of a run is a dict of plain pytrees, ``{"params", "batch_stats", "opt_state"}``,
so that it checkpoints, shards and ``jax.vmap``s (``examples/sweep_schedules.py``) as it is.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxlr
from flax_digits.data import Data, epoch_batches
from flax_digits.distributed import global_array
from flax_digits.logs import Progress
from flax_digits.model import CNN, eval_batch, train_loss


def train_step(graphdef: nnx.GraphDef, optimizer: optax.GradientTransformation, state: dict[str, Any],
               x: jax.Array, y: jax.Array, key: jax.Array, lookahead: bool = False,
               **extra_args: Any) -> tuple[dict[str, Any], dict[str, jax.Array]]:
    """One update on a batch: the new state, and the batch's loss and accuracy.

    ``extra_args`` go to ``optimizer.update`` (``value=``, the validation loss, for
    ``jaxlr.reduce_on_plateau``). With ``lookahead``, the gradient is taken at the fast weights.
    """
    params = state["params"]
    fast = params.fast if lookahead else params
    (loss, (logits, stats)), grads = jax.value_and_grad(train_loss, argnums=1, has_aux=True)(
        graphdef, fast, state["batch_stats"], x, y, key)
    updates, opt_state = optimizer.update(grads, state["opt_state"], params, **extra_args)
    new = {"params": optax.apply_updates(params, updates), "batch_stats": stats, "opt_state": opt_state}
    return new, {"loss": loss, "accuracy": jnp.mean(jnp.argmax(logits, axis=-1) == y)}


class Trainer:
    """The jitted, data-parallel train and evaluation steps over one device mesh."""

    def __init__(self, model: CNN, optimizer: optax.GradientTransformation, lookahead: bool) -> None:
        self.graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)
        self.params0, self.stats0 = nnx.to_pure_dict(params), nnx.to_pure_dict(stats)
        self.optimizer, self.lookahead = optimizer, lookahead
        self.mesh = Mesh(np.array(jax.devices()), ("data",))
        self.replicated = NamedSharding(self.mesh, P())
        self.batch_sharding = NamedSharding(self.mesh, P("data"))
        self.train_step = jax.jit(self._train_step, out_shardings=self.replicated)
        self.eval_step = jax.jit(self._eval_step, out_shardings=self.replicated)

    @property
    def devices(self) -> int:
        return self.mesh.size

    def init(self) -> dict[str, Any]:
        params = optax.LookaheadParams.init_synced(self.params0) if self.lookahead else self.params0
        state = {"params": params, "batch_stats": self.stats0, "opt_state": self.optimizer.init(params)}
        return jax.device_put(state, self.replicated)

    def eval_params(self, state: dict[str, Any]) -> Any:
        # Lookahead's slow weights are the ones to evaluate.
        return state["params"].slow if self.lookahead else state["params"]

    def replicate(self, tree: Any) -> Any:
        """A pytree of host values (the same in every process) as arrays replicated over the mesh."""
        return jax.tree.map(lambda leaf: global_array(self.replicated, np.asarray(leaf)), tree)

    def shard(self, array: np.ndarray) -> jax.Array:
        """A global batch, split along the data axis; each process passes the same global array
        and puts on its own devices the rows they hold (one process: all of them)."""
        return global_array(self.batch_sharding, array)

    def _train_step(self, state: dict[str, Any], x: jax.Array, y: jax.Array, key: jax.Array,
                    value: jax.Array) -> tuple[dict[str, Any], dict[str, jax.Array]]:
        state, metrics = train_step(self.graphdef, self.optimizer, state, x, y, key, self.lookahead, value=value)
        return state, {**metrics, "lr": jaxlr.current_lr(state["opt_state"])}

    def _eval_step(self, params: Any, stats: Any, x: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
        losses, correct = eval_batch(self.graphdef, params, stats, x, y)
        return jnp.stack([jnp.sum(losses * mask), jnp.sum(correct * mask)])

    def evaluate(self, params: Any, stats: Any, x: np.ndarray, y: np.ndarray, chunk: int = 1024) -> tuple[float, float]:
        """Mean loss and accuracy over a whole split (padded to whole chunks, padding masked out)."""
        chunk = min(chunk, len(y))
        chunk = -(-chunk // self.devices) * self.devices
        pad = -len(y) % chunk
        mask = np.concatenate([np.ones(len(y), np.float32), np.zeros(pad, np.float32)])
        x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
        y = np.concatenate([y, np.zeros(pad, y.dtype)])
        totals = sum(
            self.eval_step(params, stats, self.shard(x[i:i + chunk]), self.shard(y[i:i + chunk]),
                           self.shard(mask[i:i + chunk]))
            for i in range(0, len(y), chunk)
        )
        loss, correct = np.asarray(totals, np.float64)
        return float(loss / mask.sum()), float(correct / mask.sum())


class Epoch(NamedTuple):
    """What one epoch of training gives: the state after it, one row per step, the epoch's row
    (train and validation metrics), and the seconds its steps took (validation excluded)."""

    state: dict[str, Any]
    steps: list[dict[str, Any]]
    summary: dict[str, Any]
    train_seconds: float


def train_epoch(trainer: Trainer, state: dict[str, Any], data: Data, epoch: int, batch_size: int, seed: int,
                pending: jax.Array, progress: Progress, description: str) -> Epoch:
    """Epoch ``epoch`` (from 0): every batch of its order, then the validation set.

    The batch order and each step's dropout key are functions of the seed, the epoch and the
    step, so a resumed run trains on exactly what an uninterrupted one would. ``pending`` is
    the value the plateau rule observes at the epoch's first update (NaN: none).
    """
    start = time.perf_counter()
    batches = epoch_batches(len(data.y_train), batch_size, seed, epoch)
    steps_per_epoch = len(batches)
    base_key = jax.random.key(seed + 1)
    progress.start(description, steps_per_epoch)
    records, shown = [], 0
    no_value = trainer.replicate(np.float32(np.nan))
    for i, rows in enumerate(batches):
        step = epoch * steps_per_epoch + i
        value = pending if i == 0 else no_value
        state, metrics = trainer.train_step(state, trainer.shard(data.x_train[rows]), trainer.shard(data.y_train[rows]),
                                            jax.random.fold_in(base_key, step), value)
        records.append(metrics)
        if i % 5 == 4 or i == len(batches) - 1:
            m = jax.device_get(metrics)
            progress.update(i + 1 - shown, f"loss {m['loss']:.4f} acc {m['accuracy']:.3f} lr {m['lr']:.3g}")
            shown = i + 1
    records = jax.device_get(records)
    train_seconds = time.perf_counter() - start
    rows_out = [{"step": epoch * steps_per_epoch + i + 1, "epoch": epoch + 1, "lr": float(r["lr"]),
                 "loss": float(r["loss"]), "accuracy": float(r["accuracy"])} for i, r in enumerate(records)]
    val_loss, val_accuracy = trainer.evaluate(trainer.eval_params(state), state["batch_stats"], data.x_val, data.y_val)
    summary = {"epoch": epoch + 1, "step": rows_out[-1]["step"],
               "train_loss": float(np.mean([r["loss"] for r in rows_out])),
               "train_accuracy": float(np.mean([r["accuracy"] for r in rows_out])),
               "val_loss": val_loss, "val_accuracy": val_accuracy, "lr": rows_out[-1]["lr"],
               "seconds": time.perf_counter() - start}
    return Epoch(state, rows_out, summary, train_seconds)
