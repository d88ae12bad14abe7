"""``--lr find``: the learning-rate range test (``jaxlr.lr_find``) before training.

It runs on the run's own starting model (the same seed), data order, loss (dropout and
batch statistics threaded as state) and optimizer, for 100 steps from 1e-7 to 10, and its
suggestion becomes the peak learning rate of the run: ``config.json`` records the number,
so ``--resume`` trains on with it. The curve is saved in the run directory as
``lr_find.png`` and ``lr_find.json``. The test runs on one device, before the mesh.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
import optax
from flax import nnx

import jaxlr
from flax_digits.data import Data, epoch_batches
from flax_digits.logs import replace_file
from flax_digits.model import CNN, train_loss
from flax_digits.optim import OPTIMIZERS

NUM_STEPS = 100


def range_test_batches(data: Data, batch_size: int, seed: int, num_steps: int = NUM_STEPS) -> dict[str, np.ndarray]:
    """The first ``num_steps`` batches of the run's own data order, epoch after epoch."""
    n = len(data.y_train)
    epochs = -(-num_steps // (n // batch_size))
    rows = np.concatenate([epoch_batches(n, batch_size, seed, epoch) for epoch in range(epochs)])[:num_steps]
    return {"x": data.x_train[rows], "y": data.y_train[rows]}


def range_test_loss(graphdef: nnx.GraphDef):
    """``lr_find``'s loss: the training loss, with the batch statistics and the dropout key as state."""

    def loss_fn(params: Any, state: tuple[Any, jax.Array], batch: dict[str, jax.Array]) -> tuple[jax.Array, tuple]:
        stats, key = state
        key, dropout_key = jax.random.split(key)
        loss, (_, stats) = train_loss(graphdef, params, stats, batch["x"], batch["y"], dropout_key)
        return loss, (stats, key)

    return loss_fn


def find_lr(args: argparse.Namespace, data: Data) -> jaxlr.LRFinderResult:
    """The range test of the run that ``args`` describe."""
    model = CNN(data.x_train.shape[1:3], width=args.width, dropout=args.dropout, rngs=nnx.Rngs(args.seed))
    graphdef, params, stats = nnx.split(model, nnx.Param, nnx.BatchStat)

    def optimizer(learning_rate: Any) -> optax.GradientTransformation:
        return OPTIMIZERS[args.optimizer](learning_rate, args.weight_decay)

    return jaxlr.lr_find(range_test_loss(graphdef), nnx.to_pure_dict(params), optimizer,
                         range_test_batches(data, args.batch_size, args.seed),
                         state=(nnx.to_pure_dict(stats), jax.random.key(args.seed + 1)))


def describe(result: jaxlr.LRFinderResult) -> str:
    stop = "no divergence" if result.divergence_step is None else \
        f"diverged at step {result.divergence_step} (lr {result.divergence_lr:.3g})"
    rules = ", ".join(f"{rule} {lr:.3g}" for rule, lr in result.suggestions.items())
    return f"range test: {len(result.losses)} of {result.num_steps} steps, {stop}; {rules}"


def save(result: jaxlr.LRFinderResult, run_dir: Path, title: str) -> list[str]:
    """``lr_find.json`` (the curves, the divergence, every rule's suggestion) and, with matplotlib,
    ``lr_find.png``; the names of the files written."""
    record = {"suggestion": result.suggestion, "rule": result.rule, "suggestions": result.suggestions,
              "divergence_step": result.divergence_step, "divergence_lr": result.divergence_lr,
              "learning_rates": result.learning_rates.tolist(), "losses": result.losses.tolist(),
              "smoothed_losses": result.smoothed_losses.tolist()}
    replace_file(run_dir / "lr_find.json", json.dumps(record, indent=2) + "\n")
    try:
        result.plot(run_dir / "lr_find.png", title=title)
    except ImportError:
        return ["lr_find.json"]
    return ["lr_find.json", "lr_find.png"]
