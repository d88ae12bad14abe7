"""Train a small CNN with Flax NNX, optax and a jaxlr schedule, on any device.

The default data are the handwritten digits that ship inside scikit-learn (1,797 real 8x8
images, no download), split 70/10/20 into train, validation and test with a fixed seed.
``--data-dir DIR`` trains on MNIST instead, from its standard IDX files
(``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``) or a
Keras-style ``mnist.npz`` (``x_train, y_train, x_test, y_test``) found in DIR; the last
10% of its training set (after a fixed shuffle) is the validation set.

The model is a CNN with batch normalization and dropout. The optimizer is any of sgd,
momentum, adam, adamw, rmsprop, adagrad or ranger (RAdam + lookahead) from optax, wrapped
in ``optax.inject_hyperparams`` so that the learning rate of every update can be read back
from the optimizer state (``jaxlr.current_lr``). The default schedule is a linear warmup
then a cosine decay, joined with ``optax.join_schedules``; ``--schedule`` takes any jaxlr
config string (``"wsd(peak_value=3e-3, total_steps='100%', warmup_steps=0.05,
decay_steps=0.2)"``: durations may be ``'N%'`` of the run or ``'Nep'`` epochs) or a bare
family name, whose learning rate and lengths are filled from ``--lr``, ``--warmup-epochs``
and the run's length.

``--plateau`` chains ``jaxlr.reduce_on_plateau`` on the validation loss after the
optimizer; ``--early-stopping PATIENCE`` stops on the validation loss with Keras' rules and
restores the best parameters before the test. Both take their decisions on the loss of
the whole validation set, reduced over every device, so all devices decide alike.

Output: a progress bar per epoch (loss, accuracy and the current learning rate), a
summary, and a run directory, printed: ``--out-dir/--run-name``, or by default
``--out-dir/flax-DATE-TIME`` (``-2``, ``-3``... appended when another run took that
second). A run directory is never reused: a ``--run-name`` that already holds files is
refused (continue its run with ``--resume``). It holds ``config.json``, ``metrics.csv``
(per step: lr, train loss and accuracy; per epoch: validation loss and accuracy),
TensorBoard event files (``tensorboard --logdir RUN_DIR``), ``curves.png`` and
``metrics.json`` (final test accuracy and loss, validation loss and accuracy of the tested
parameters, epochs run, wall time), plus an orbax checkpoint after every epoch, saved once
that epoch's logs are on disk.

Resume: ``--resume RUN_DIR`` continues a stopped or killed run from its last checkpoint
(from the start if it had none), with its saved configuration, and gives exactly the
learning rates and metrics of a run that was never stopped: data order and dropout keys
are functions of the seed, the epoch and the step, and everything else is in the
checkpoint. Log rows past the checkpoint (left by a kill between an epoch's logs and its
checkpoint) are dropped from ``metrics.csv`` and the event files, so each step is logged
once. A flag given with ``--resume`` must match the saved configuration, except:

- ``--epochs N``: the run continues to N epochs when the schedule at N epochs gives every
  step already trained the learning rate it had (a constant, a step decay, the default
  schedule still in its warmup), so that it is the run ``--epochs N`` would have been from
  the start. It is refused when those rates depend on the run's length (the default
  cosine past its warmup, ``'100%'`` lengths): stretching the schedule would change rates
  already used. Refused too after an early stop.
- ``--data-dir DIR``: where the run's data are now; refused for other data (config.json
  keeps the SHA-256 of the data).
- ``--stop-after``, ``--progress`` and ``--distributed``, which belong to one invocation.

Every flag is checked before anything is written: a bad value (NaN or infinite, out of
range), a flag that would be ignored, damaged data, or a damaged config.json or checkpoint
on ``--resume`` is a one-line error (exit status 2) naming the flag or the file.

Devices: whatever ``jax.devices()`` gives (CPU, GPU, TPU), with no code change. The
training is data-parallel over all of them: a ``jax.sharding.Mesh`` with one ``data``
axis, each batch sharded along it, parameters and optimizer state replicated; XLA inserts
the gradient all-reduce, and batch-norm statistics and losses are over the global batch,
so the numbers equal a one-device run's to float rounding: ~1e-7 relative with SGD. (Adam
divides by the root of tiny second moments and so magnifies rounding differences, to ~1e-3
in the validation loss after two epochs: the same drift as between two machines.) Try it
on one CPU with

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/train_flax.py

Several hosts (a TPU pod slice, GPU nodes): call ``jax.distributed.initialize()`` (with
``coordinator_address``, ``num_processes`` and ``process_id`` where the cluster does not
provide them) before anything else, e.g. with ``--distributed``. ``jax.devices()`` then
lists every device of every host, the mesh spans them, and each process feeds its own
slice of the global batch (``jax.make_array_from_process_local_data``); every process
runs the same command, with a ``--run-name``. Checkpoints are written by orbax from all processes to a shared
directory, and only process 0 writes logs and plots.

    pip install -e ".[examples]"
    python examples/train_flax.py                                    # ~97-99% on the digits
    python examples/train_flax.py --optimizer ranger --schedule "one_cycle(max_value=0.01, total_steps='100%')"
    python examples/train_flax.py --plateau --early-stopping 5 --epochs 60
    python examples/train_flax.py --data-dir ~/data/mnist --epochs 5 --batch-size 256
    python examples/train_flax.py --run-name long --schedule "constant(3e-3)" --epochs 10
    python examples/train_flax.py --resume runs/long --epochs 20     # a constant schedule extends
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import hashlib
import inspect
import io
import json
import math
import os
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxlr

NUM_CLASSES = 10

OPTIMIZERS: dict[str, Callable[..., optax.GradientTransformation]] = {
    "sgd": lambda learning_rate, weight_decay: optax.sgd(learning_rate),
    "momentum": lambda learning_rate, weight_decay: optax.sgd(learning_rate, momentum=0.9, nesterov=True),
    "adam": lambda learning_rate, weight_decay: optax.adam(learning_rate),
    "adamw": lambda learning_rate, weight_decay: optax.adamw(learning_rate, weight_decay=weight_decay),
    "rmsprop": lambda learning_rate, weight_decay: optax.rmsprop(learning_rate),
    "adagrad": lambda learning_rate, weight_decay: optax.adagrad(learning_rate),
    # Ranger: RAdam as the fast optimizer of lookahead (sync every 6 steps, halfway).
    "ranger": lambda learning_rate, weight_decay: optax.lookahead(
        optax.radam(learning_rate), sync_period=6, slow_step_size=0.5
    ),
}


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass
class Data:
    """Images (N, H, W, 1) float32 in [0, 1] and integer labels, split three ways."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def describe(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train, {len(self.y_val)} validation, {len(self.y_test)} test "
                f"images of {self.x_train.shape[1]}x{self.x_train.shape[2]}")

    def fingerprint(self) -> str:
        """SHA-256 of the six arrays (shapes, types and values): a resumed run checks that it
        trains on the data it started on."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()


def load_digits(seed: int = 0) -> Data:
    """scikit-learn's 8x8 digits, split 70/10/20 (train/validation/test) with a fixed seed."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val = round(0.7 * len(y)), round(0.1 * len(y))
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return Data("sklearn digits", x[train], y[train], x[val], y[val], x[test], y[test])


# What a truncated or damaged file raises while it is read: gzip (OSError, EOFError, zlib.error)
# and np.load (zipfile.BadZipFile, ValueError for a file that is not an .npz or .npy).
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile)


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (the MNIST format), plain or gzipped."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            raw = file.read()
    except READ_ERRORS as error:
        raise ValueError(f"{path}: cannot read it ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: the file ends inside its header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: header says {shape} ({math.prod(shape)} values), file holds {data.size}")
    return data.reshape(shape)


def read_npz(path: Path) -> tuple[np.ndarray, ...]:
    """``x_train, y_train, x_test, y_test`` from a Keras-style ``mnist.npz``."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if not hasattr(arrays, "files"):
                raise ValueError("it holds one array, not an .npz archive")
            missing = set(keys) - set(arrays.files)
            if missing:
                raise ValueError(f"it lacks {', '.join(sorted(missing))}")
            return tuple(arrays[key] for key in keys)
    except READ_ERRORS as error:
        raise ValueError(f"{path}: cannot read it ({error})") from None


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    return None


def load_mnist(directory: str | Path, seed: int = 0, val_fraction: float = 0.1) -> Data:
    """MNIST (or Fashion-MNIST, KMNIST...) from IDX files or ``mnist.npz`` in ``directory``."""
    directory = Path(directory).expanduser()
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    found = [_find(directory, stem) for stem in stems]
    npz = [p for p in (directory / "mnist.npz", *sorted(directory.glob("*.npz"))) if p.exists()]
    if all(found):
        x_train, y_train, x_test, y_test = (read_idx(path) for path in found)  # type: ignore[arg-type]
    elif npz:
        x_train, y_train, x_test, y_test = read_npz(npz[0])
    else:
        raise FileNotFoundError(f"no MNIST in {directory}: expected the four IDX files ({', '.join(stems)}, "
                                "optionally .gz) or mnist.npz")
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or labels.shape != (len(images),):
            raise ValueError(f"{directory}: {name} images {images.shape} and labels {labels.shape} do not match")
        if len(images) == 0 or min(images.shape[1:]) < 4:
            raise ValueError(f"{directory}: {name} images {images.shape}: expected at least one image of 4x4 or more")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise ValueError(f"{directory}: {name} labels must be integers in 0..{NUM_CLASSES - 1}, found "
                             f"{labels.dtype} in {labels.min()}..{labels.max()}")
        if not np.issubdtype(images.dtype, np.integer) and not np.all(np.isfinite(images)):
            raise ValueError(f"{directory}: {name} images hold NaN or infinite values")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{directory}: train images are {x_train.shape[1:]}, test images {x_test.shape[1:]}")
    scale = 255.0 if np.issubdtype(x_train.dtype, np.integer) else 1.0
    prepare = lambda images: (images.astype(np.float32) / scale)[..., None]  # noqa: E731
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = round(val_fraction * len(order))
    if not 0 < n_val < len(order):
        raise ValueError(f"{directory}: {len(order)} training images are too few to keep {val_fraction:.0%} "
                         "of them for validation")
    train, val = order[n_val:], order[:n_val]
    x_train, x_test = prepare(x_train), prepare(x_test)
    y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
    return Data(f"MNIST from {directory}", x_train[train], y_train[train], x_train[val], y_train[val], x_test, y_test)


# ----------------------------------------------------------------------------- model


class CNN(nnx.Module):
    """Two conv + batch norm + ReLU + 2x2 average-pool blocks, dropout, a dense layer, dropout, logits."""

    def __init__(self, image_size: tuple[int, int], num_classes: int = NUM_CLASSES, width: int = 32,
                 dropout: float = 0.2, *, rngs: nnx.Rngs) -> None:
        self.conv1 = nnx.Conv(1, width, (3, 3), rngs=rngs)
        self.norm1 = nnx.BatchNorm(width, momentum=0.9, rngs=rngs)
        self.conv2 = nnx.Conv(width, 2 * width, (3, 3), rngs=rngs)
        self.norm2 = nnx.BatchNorm(2 * width, momentum=0.9, rngs=rngs)
        features = 2 * width * (image_size[0] // 4) * (image_size[1] // 4)
        self.hidden = nnx.Linear(features, 128, rngs=rngs)
        self.out = nnx.Linear(128, num_classes, rngs=rngs)
        self.dropout = nnx.Dropout(dropout)

    def __call__(self, x: jax.Array, *, train: bool, key: jax.Array | None = None) -> jax.Array:
        keys = jax.random.split(key) if train else (None, None)
        for conv, norm in ((self.conv1, self.norm1), (self.conv2, self.norm2)):
            x = jax.nn.relu(norm(conv(x), use_running_average=not train))
            x = nnx.avg_pool(x, (2, 2), strides=(2, 2))
        x = self.dropout(x.reshape(x.shape[0], -1), deterministic=not train, rngs=keys[0])
        x = self.dropout(jax.nn.relu(self.hidden(x)), deterministic=not train, rngs=keys[1])
        return self.out(x)


def train_loss(graphdef: nnx.GraphDef, params: Any, stats: Any, x: jax.Array, y: jax.Array,
               key: jax.Array) -> tuple[jax.Array, tuple[jax.Array, Any]]:
    """Mean cross-entropy of a training batch (dropout on, batch statistics of the batch),
    with the logits and the updated running statistics: ``jax.value_and_grad(..., has_aux=True)``
    over ``params``."""
    model = nnx.merge(graphdef, params, stats)
    logits = model(x, train=True, key=key)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (logits, nnx.to_pure_dict(nnx.state(model, nnx.BatchStat)))


def eval_batch(graphdef: nnx.GraphDef, params: Any, stats: Any, x: jax.Array,
               y: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per-example cross-entropy and correctness, in evaluation mode (running statistics, no dropout)."""
    logits = nnx.merge(graphdef, params, stats)(x, train=False)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y), jnp.argmax(logits, axis=-1) == y


# ----------------------------------------------------------------------------- schedule and optimizer

LR_ARGUMENTS = ("peak_value", "max_value", "init_value", "value")
LENGTH_ARGUMENTS = ("total_steps", "decay_steps", "transition_steps", "first_period")


def make_schedule(spec: str | None, lr: float, warmup_steps: int, total_steps: int,
                  steps_per_epoch: int) -> Callable[[Any], jax.Array]:
    """The run's schedule: the default warmup + cosine, a config string, or a family name."""
    if spec is None:
        # Warmup then cosine, composed the optax way. Pieces see steps counted from their start.
        decay = jaxlr.cosine_decay(lr, max(total_steps - warmup_steps, 1), end_value=lr / 100)
        if warmup_steps == 0:
            return decay
        return optax.join_schedules([jaxlr.linear_warmup(lr, warmup_steps), decay], [warmup_steps])
    text = spec.strip()
    if text.startswith("{") or "(" in text:
        config = json.loads(text) if text.startswith("{") else text
        return jaxlr.from_config(config, steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    name = text
    if name not in jaxlr.names():
        return jaxlr.from_config({"name": name})  # raises "unknown schedule ...; did you mean ..."
    return jaxlr.from_config(_fill(name, lr, warmup_steps, total_steps), total_steps=total_steps)


def _fill(name: str, lr: float, warmup_steps: int, total_steps: int) -> dict[str, Any]:
    """A config for a bare family name: its required arguments filled from the run."""
    parameters = inspect.signature(jaxlr.REGISTRY[name]).parameters
    required = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty]
    config: dict[str, Any] = {"name": name}
    for argument in required:
        if argument in LR_ARGUMENTS:
            config[argument] = lr
        elif argument == "warmup_steps":
            config[argument] = warmup_steps
        elif argument == "decay_steps" and "total_steps" in parameters:
            config[argument] = max(round(0.2 * total_steps), 1)  # the decay phase of wsd
        elif argument in LENGTH_ARGUMENTS:
            config[argument] = total_steps
        else:
            raise ValueError(f"--schedule {name}: its argument {argument!r} has no default here; give a config "
                             f"string, e.g. --schedule \"{name}({', '.join(f'{r}=...' for r in required)})\"")
    return config


def make_optimizer(name: str, schedule: Callable[[Any], jax.Array], weight_decay: float,
                   plateau: optax.GradientTransformationExtraArgs | None) -> optax.GradientTransformation:
    """``optax.inject_hyperparams`` around the named optimizer, with the plateau rule chained after it."""
    optimizer = optax.inject_hyperparams(OPTIMIZERS[name], static_args=("weight_decay",))(
        learning_rate=schedule, weight_decay=weight_decay
    )
    return optimizer if plateau is None else optax.chain(optimizer, plateau)


# ----------------------------------------------------------------------------- training


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

    def shard(self, array: np.ndarray) -> jax.Array:
        """A global batch, split along the data axis; each process passes the same global array
        and contributes its own rows (one process: all of them)."""
        if jax.process_count() == 1:
            return jax.device_put(array, self.batch_sharding)
        rows = len(array) // jax.process_count()
        local = array[jax.process_index() * rows:(jax.process_index() + 1) * rows]
        return jax.make_array_from_process_local_data(self.batch_sharding, local, array.shape)

    def _train_step(self, state: dict[str, Any], x: jax.Array, y: jax.Array, key: jax.Array,
                    value: jax.Array) -> tuple[dict[str, Any], dict[str, jax.Array]]:
        params = state["params"]
        fast = params.fast if self.lookahead else params
        (loss, (logits, stats)), grads = jax.value_and_grad(train_loss, argnums=1, has_aux=True)(
            self.graphdef, fast, state["batch_stats"], x, y, key)
        updates, opt_state = self.optimizer.update(grads, state["opt_state"], params, value=value)
        new = {"params": optax.apply_updates(params, updates), "batch_stats": stats, "opt_state": opt_state}
        accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == y)
        return new, {"loss": loss, "accuracy": accuracy, "lr": jaxlr.current_lr(opt_state)}

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


# ----------------------------------------------------------------------------- output


class Progress:
    """A per-epoch progress bar: tqdm, rich, or one plain line per epoch."""

    def __init__(self, kind: str) -> None:
        if kind == "auto":
            kind = next((k for k in ("tqdm", "rich") if _importable(k)), "none")
        self.kind = kind

    def start(self, description: str, total: int) -> None:
        if self.kind == "tqdm":
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, unit="step", leave=True, file=sys.stdout)
        elif self.kind == "rich":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[postfix]}"), transient=True)
            self.description = description
            self.bar.start()
            self.task = self.bar.add_task(description, total=total, postfix="")

    def update(self, steps: int, postfix: str) -> None:
        if self.kind == "tqdm":
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.update(steps)
        elif self.kind == "rich":
            self.bar.update(self.task, advance=steps, postfix=postfix)

    def finish(self, line: str) -> None:
        if self.kind == "tqdm":
            self.bar.set_postfix_str(line, refresh=True)
            self.bar.close()
        elif self.kind == "rich":
            self.bar.stop()
            self.bar.console.print(f"{self.description}: {line}", highlight=False)
        else:
            print(line, flush=True)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


CSV_FIELDS = ("step", "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")


def replace_file(path: Path, content: str | bytes) -> None:
    """Writes ``path`` whole or not at all: a kill leaves the old file or the new one, never a
    part of one (the new content goes to a hidden sibling, then ``os.replace``)."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as file:
        file.write(content.encode() if isinstance(content, str) else content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def write_csv(path: Path, history: dict[str, list]) -> None:
    """One row per step; the validation columns are filled on each epoch's last step."""
    validation = {row["step"]: row for row in history["epochs"]}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(CSV_FIELDS)
    for row in history["steps"]:
        val = validation.get(row["step"], {})
        writer.writerow([row["step"], row["epoch"], repr(row["lr"]), repr(row["loss"]), repr(row["accuracy"]),
                         repr(val["val_loss"]) if val else "", repr(val["val_accuracy"]) if val else ""])
    replace_file(path, text.getvalue())


class EventLog:
    """This invocation's TensorBoard event file, written synchronously.

    tensorboardX's ``SummaryWriter`` hands events to a background thread, and its ``flush()``
    does not wait for that queue: a kill just after it can lose events. Here an epoch's events
    are on disk (flushed and fsynced) when ``write`` returns, before its checkpoint is saved."""

    def __init__(self, directory: Path, purge_step: int | None) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        directory.mkdir(parents=True, exist_ok=True)
        # Event files are named by the second they are opened, then the host; readers load them
        # in name order, and the count keeps two files opened within one second apart and in order.
        count = len(list(directory.glob("events.out.tfevents.*")))
        self.writer = EventsWriter(str(directory / "events"), f".{count:04d}")
        if purge_step is not None:
            # A TensorBoard already running drops what it has loaded at and past this step, as it
            # does after any restart; the files themselves no longer hold it (drop_events_after).
            self.writer.write_event(Event(wall_time=time.time(), step=purge_step,
                                          session_log=SessionLog(status=SessionLog.START)))
        self.writer.flush()

    def write(self, steps: list[dict], epoch: dict) -> None:
        """One epoch's scalars: per step the lr, train loss and accuracy; the validation ones."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import scalar

        now = time.time()
        scalars = [(row["step"], tag, row[key]) for row in steps
                   for tag, key in (("lr", "lr"), ("train/loss", "loss"), ("train/accuracy", "accuracy"))]
        scalars += [(epoch["step"], "val/loss", epoch["val_loss"]),
                    (epoch["step"], "val/accuracy", epoch["val_accuracy"])]
        for step, tag, value in scalars:
            self.writer.write_event(Event(wall_time=now, step=step, summary=scalar(tag, value)))
        self.writer.flush()  # flushes and fsyncs

    def close(self) -> None:
        self.writer.close()


def event_log(directory: Path, purge_step: int | None) -> EventLog | None:
    """The TensorBoard event log of this invocation, or None without tensorboardX."""
    return EventLog(directory, purge_step) if _importable("tensorboardX") else None


def read_event_file(path: Path) -> tuple[list[Any], bool]:
    """The events of a TensorBoard event file (TFRecords: length, its CRC, an ``Event`` proto,
    its CRC), and whether the file ends cleanly: a kill while writing cuts the last record short."""
    from google.protobuf.message import DecodeError
    from tensorboardX.proto.event_pb2 import Event

    raw, offset, events = path.read_bytes(), 0, []
    while offset + 12 <= len(raw):
        end = offset + 12 + int.from_bytes(raw[offset:offset + 8], "little") + 4
        if end > len(raw):
            break
        try:
            events.append(Event.FromString(raw[offset + 12:end - 4]))
        except DecodeError:
            break
        offset = end
    return events, offset == len(raw)


def drop_events_after(directory: Path, step: int) -> None:
    """Rewrites the event files without their events past ``step``, the checkpoint's: a kill
    between an epoch's logs and its checkpoint leaves events that the resumed run writes again."""
    if not _importable("tensorboardX"):
        return
    from tensorboardX.record_writer import RecordWriter

    for path in sorted(directory.glob("events.out.tfevents.*")):
        events, complete = read_event_file(path)
        kept = [event for event in events if event.step <= step]
        if complete and len(kept) == len(events):
            continue
        # The partial file's name lacks "tfevents", so no reader takes it for an event file.
        partial = directory / ".rewrite.partial"
        writer = RecordWriter(str(partial))
        for event in kept:
            writer.write(event.SerializeToString())
        writer.flush()  # flushes and fsyncs
        writer.close()
        os.replace(partial, path)


def plot_curves(path: Path, history: dict[str, list], title: str) -> bool:
    """The learning-rate curve and the loss curves, side by side (matplotlib, if installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps = [row["step"] for row in history["steps"]]
    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    ax_lr.plot(steps, [row["lr"] for row in history["steps"]], color="tab:blue")
    ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate (read from the optimizer state)")
    ax_loss.plot(steps, [row["loss"] for row in history["steps"]], color="tab:gray", alpha=0.6, lw=0.8,
                 label="train (per step)")
    ax_loss.plot([row["step"] for row in history["epochs"]], [row["val_loss"] for row in history["epochs"]],
                 "o-", color="tab:orange", label="validation (per epoch)")
    ax_loss.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="loss")
    ax_loss.legend()
    fig.suptitle(title, fontsize=9)
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=110)
    plt.close(fig)
    replace_file(path, image.getvalue())
    return True


# ----------------------------------------------------------------------------- command line

PROG = "train_flax.py"
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3, "adagrad": 0.05,
              "ranger": 3e-3}
# Flags of one invocation rather than of the run: not saved, and free to change on --resume.
PER_INVOCATION = ("resume", "stop_after", "progress", "distributed")
# Saved flags that --resume honours when they change (see the module docstring); it refuses the others.
RESUMABLE = ("epochs", "data_dir")


def fail(message: object) -> NoReturn:
    """Exits with argparse's status for bad usage, 2, and one line on stderr."""
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), prefixed by where the values came
    from: the command line, or a resumed run's config.json."""

    context = ""

    def error(self, message: str) -> NoReturn:
        fail(self.context + message)


def number(kind: type, rule: str, accept: Callable[[Any], bool]) -> Callable[[str], Any]:
    """An argparse type: an int, or a finite float, that satisfies ``rule``."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return convert


POSITIVE_INT = number(int, "> 0", lambda value: value > 0)
NONNEGATIVE_INT = number(int, ">= 0", lambda value: value >= 0)
POSITIVE = number(float, "> 0", lambda value: value > 0)
NONNEGATIVE = number(float, ">= 0", lambda value: value >= 0)
FACTOR = number(float, "in (0, 1)", lambda value: 0 < value < 1)
DROPOUT = number(float, "in [0, 1)", lambda value: 0 <= value < 1)
# jax.random.key keeps 32 bits of a seed: a larger --seed would repeat a smaller one's dropout.
SEED = number(int, "in [0, 2**32 - 2]", lambda value: 0 <= value <= 2**32 - 2)


def directory_name(text: str) -> str:
    """An argparse type: one directory name, not a path."""
    if text in ("", ".", "..") or os.sep in text or "/" in text or (os.altsep is not None and os.altsep in text):
        raise argparse.ArgumentTypeError(f"must be a directory name, not a path (--out-dir says where), got {text!r}")
    return text


def build_parser(only_given: bool = False) -> Parser:
    """The flags; with ``only_given``, the namespace holds only those on the command line."""
    parser = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)

    def add(*names: str, default: Any = None, **options: Any) -> None:
        parser.add_argument(*names, default=argparse.SUPPRESS if only_given else default, **options)

    add("--epochs", type=POSITIVE_INT, default=30, help="length of the run (with --resume, see Resume above)")
    add("--batch-size", type=POSITIVE_INT, default=64, help="global batch, split over the devices")
    add("--optimizer", choices=sorted(OPTIMIZERS), default="adamw")
    add("--lr", type=POSITIVE, default=None,
        help="peak learning rate of the default schedule or a bare family name (default: 3e-3 for the adam "
             "family, 0.1 sgd, 0.05 momentum...)")
    add("--warmup-epochs", type=NONNEGATIVE, default=2.0,
        help="linear warmup of the default schedule or a bare family name")
    add("--weight-decay", type=NONNEGATIVE, default=1e-4, help="adamw only")
    add("--schedule", default=None,
        help="a jaxlr config string or JSON dict, or a family name (default: warmup then cosine)")
    add("--plateau", action="store_true", default=False,
        help="reduce the lr on a validation-loss plateau (torch's rule)")
    add("--plateau-factor", type=FACTOR, default=0.5, help="multiply the lr by this on a plateau, in (0, 1)")
    add("--plateau-patience", type=NONNEGATIVE_INT, default=3, help="epochs without improvement before a cut")
    add("--plateau-threshold", type=NONNEGATIVE, default=1e-4,
        help="relative improvement of the best validation loss that counts (torch's threshold)")
    add("--early-stopping", type=NONNEGATIVE_INT, default=None, metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE epochs; test the best")
    add("--early-stopping-min-delta", type=NONNEGATIVE, default=0.0,
        help="decrease of the validation loss that counts as an improvement (Keras' min_delta)")
    add("--width", type=POSITIVE_INT, default=32, help="channels of the first conv layer")
    add("--dropout", type=DROPOUT, default=0.2, help="in [0, 1)")
    add("--data-dir", default=None, help="a directory with MNIST IDX files or mnist.npz")
    add("--out-dir", default="runs", help="where the run directory is made")
    add("--run-name", type=directory_name, default=None,
        help="the run directory's name (default: flax-DATE-TIME); a name that already holds a run is refused")
    add("--resume", default=None, metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, with its configuration (see Resume above)")
    add("--stop-after", type=POSITIVE_INT, default=None, metavar="EPOCH",
        help="stop after this epoch, as a preemption would (then --resume)")
    add("--seed", type=SEED, default=0)
    add("--progress", choices=("auto", "tqdm", "rich", "none"), default="auto")
    add("--distributed", action="store_true", default=False, help="call jax.distributed.initialize() first")
    return parser


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _is_config_string(spec: str | None) -> bool:
    return spec is not None and (spec.strip().startswith("{") or "(" in spec)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The run's settings: a new run's flags, or a resumed run's saved configuration with the
    flags it honours. Every error is one line with exit status 2, and comes before anything
    is written."""
    defaults = vars(build_parser().parse_args([]))
    given = vars(build_parser(only_given=True).parse_args(argv))
    if "resume" in given:
        return resumed_args(Path(given["resume"]), given, defaults)
    args = argparse.Namespace(**{**defaults, **given}, saved_epochs=None, saved_data_dir=None, data_sha256=None)
    needs = {"plateau_factor": "plateau", "plateau_patience": "plateau", "plateau_threshold": "plateau",
             "early_stopping_min_delta": "early_stopping"}
    for key, needed in needs.items():
        if key in given and getattr(args, needed) in (None, False):
            fail(f"{_flag(key)} has no effect without {_flag(needed)}")
    if "weight_decay" in given and args.optimizer != "adamw":
        fail(f"--weight-decay applies to --optimizer adamw only, not {args.optimizer}")
    unused = [_flag(key) for key in ("lr", "warmup_epochs") if key in given]
    if unused and _is_config_string(args.schedule):
        fail(f"{' and '.join(unused)} fill the default schedule and bare family names; the config string of "
             "--schedule sets its own values")
    if "warmup_epochs" in given and args.warmup_epochs > args.epochs:
        fail(f"--warmup-epochs {args.warmup_epochs:g} is longer than the run (--epochs {args.epochs})")
    if args.distributed and args.run_name is None:
        fail("--distributed needs --run-name, so that every process names the same run directory")
    check_settings(args, "")
    return args


def resumed_args(run_dir: Path, given: dict[str, Any], defaults: dict[str, Any]) -> argparse.Namespace:
    """A resumed run's saved configuration, checked as flags are, with the flags it honours."""
    path = run_dir / "config.json"
    if not path.is_file():
        fail(f"--resume: {run_dir} is not a run directory (it has no config.json)")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # ValueError: not UTF-8, or not JSON
        fail(f"--resume: {path}: cannot read it: {error}")
    if not isinstance(saved, dict):
        fail(f"--resume: {path}: not a run's configuration (a JSON object)")
    fingerprint = saved.pop("data_sha256", None)
    unknown = sorted(set(saved) - set(defaults) | set(saved) & set(PER_INVOCATION))
    if unknown or not isinstance(fingerprint, str | None):
        fail(f"--resume: {path}: holds settings this example does not know: {', '.join(unknown) or 'data_sha256'}")
    # The saved values pass the checks of the flags; a setting that an older run lacks takes its default.
    flags = []
    for key, value in saved.items():
        if defaults[key] is False and isinstance(value, bool):  # a switch
            flags += [_flag(key)] if value else []
        elif value is None and defaults[key] is None:
            continue
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            flags.append(f"{_flag(key)}={value}")
        else:
            fail(f"--resume: {path}: {_flag(key)}: unexpected value {value!r}")
    parser = build_parser()
    parser.context = f"--resume: {path}: "
    args = parser.parse_args(flags)

    conflicts = [key for key, value in given.items()
                 if key not in PER_INVOCATION + RESUMABLE and value != getattr(args, key)]
    if conflicts:
        def show(key: str, value: Any) -> str:
            return _flag(key) if value is True else f"no {_flag(key)}" if value in (None, False) else \
                f"{_flag(key)} {value}"

        fail(f"--resume: {', '.join(show(key, given[key]) for key in conflicts)} "
             f"{'conflicts' if len(conflicts) == 1 else 'conflict'} with the run's saved configuration "
             f"({', '.join(show(key, getattr(args, key)) for key in conflicts)}); a resumed run keeps its "
             f"configuration: drop {'it' if len(conflicts) == 1 else 'them'}, or start a new run")
    args.saved_epochs, args.saved_data_dir, args.data_sha256 = args.epochs, args.data_dir, fingerprint
    for key in RESUMABLE:
        if key in given:
            setattr(args, key, given[key])
    for key in PER_INVOCATION:
        setattr(args, key, given.get(key, defaults[key]))
    check_settings(args, parser.context)
    return args


def check_settings(args: argparse.Namespace, context: str) -> None:
    """The rules between settings, for a new run's flags and a saved configuration alike."""
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    if args.plateau and args.optimizer == "ranger":
        fail(f"{context}--plateau scales the updates after the optimizer, which would break lookahead's "
             "synchronisation of the fast and slow weights: use it with another --optimizer")


# ----------------------------------------------------------------------------- the run directory


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


def _kill_point(point: str, epoch: int) -> None:
    """Where a kill would leave the run's files in a state of their own (before an epoch's logs,
    between the TensorBoard events and the CSV, before or after its checkpoint). A no-op: the
    tests replace it with one that raises, and resume from each."""


# ----------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.distributed:
        jax.distributed.initialize()
    import orbax.checkpoint as ocp

    start = time.perf_counter()
    lead = jax.process_index() == 0
    try:
        data = load_mnist(args.data_dir, args.seed) if args.data_dir else load_digits(args.seed)
    except (OSError, ValueError) as error:
        fail(f"--data-dir: {error}" + (" (the run's saved --data-dir: give --data-dir where its data are now)"
                                       if args.resume and args.data_dir == args.saved_data_dir else ""))
    fingerprint = data.fingerprint()
    if args.data_sha256 is not None and fingerprint != args.data_sha256:
        fail(f"--data-dir: {data.name} are not the data that run {args.resume} was trained on (their SHA-256 "
             "differ)")
    devices = len(jax.devices())
    if args.batch_size % devices:
        fail(f"--batch-size {args.batch_size} is not a multiple of the {devices} devices")
    steps_per_epoch = len(data.y_train) // args.batch_size
    if steps_per_epoch == 0:
        fail(f"--batch-size {args.batch_size} is larger than the {len(data.y_train)} training images")
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = round(args.warmup_epochs * steps_per_epoch)

    def build_schedule(epochs: int) -> Callable[[Any], jax.Array]:
        try:
            return make_schedule(args.schedule, args.lr, warmup_steps, epochs * steps_per_epoch, steps_per_epoch)
        except (ValueError, TypeError) as error:
            fail(f"--schedule: {error}")

    schedule = build_schedule(args.epochs)

    plateau = jaxlr.reduce_on_plateau(factor=args.plateau_factor, patience=args.plateau_patience,
                                      threshold=args.plateau_threshold) if args.plateau else None
    stopper = jaxlr.early_stopping(min_delta=args.early_stopping_min_delta, patience=args.early_stopping) \
        if args.early_stopping is not None else None
    optimizer = make_optimizer(args.optimizer, schedule, args.weight_decay, plateau)
    model = CNN(data.x_train.shape[1:3], width=args.width, dropout=args.dropout, rngs=nnx.Rngs(args.seed))
    trainer = Trainer(model, optimizer, lookahead=args.optimizer == "ranger")

    state = trainer.init()
    extra = {"best": {"params": trainer.eval_params(state), "batch_stats": state["batch_stats"]},
             "stopping": (stopper or jaxlr.early_stopping()).init(), "pending": jnp.float32(jnp.nan)}
    meta: dict[str, Any] = {"epoch": 0, "stopped": False, "best_epoch": 0, "seconds": 0.0,
                            "history": {"steps": [], "epochs": []}}
    if args.resume:
        state, extra, meta = restore(Path(args.resume), state, extra, meta)
        if args.epochs != args.saved_epochs:
            check_new_length(args, meta, schedule, build_schedule(args.saved_epochs), steps_per_epoch)
    if args.stop_after is not None and args.stop_after <= meta["epoch"]:
        fail(f"--stop-after {args.stop_after}: this run has already trained {meta['epoch']} epochs")
    continuing = meta["epoch"] < args.epochs and not meta["stopped"]

    # Everything is checked: from here on, the run directory is written.
    keys = [key for key in vars(build_parser().parse_args([])) if key not in PER_INVOCATION]
    config = {**{key: getattr(args, key) for key in keys}, "data_sha256": fingerprint}
    config_text = json.dumps(config, indent=2) + "\n"
    trained_steps = meta["epoch"] * steps_per_epoch
    if args.resume:
        run_dir = Path(args.resume)
        if lead:
            if (args.epochs, args.data_dir) != (args.saved_epochs, args.saved_data_dir):
                replace_file(run_dir / "config.json", config_text)
            # A kill between an epoch's logs and its checkpoint leaves that epoch's rows; the
            # resumed run writes them again, so drop them (and a record cut short by the kill).
            write_csv(run_dir / "metrics.csv", meta["history"])
            drop_events_after(run_dir / "tensorboard", trained_steps)
            if continuing:  # they describe the end of an earlier, shorter run
                for name in ("metrics.json", "curves.png"):
                    (run_dir / name).unlink(missing_ok=True)
    elif lead:
        run_dir = claim_run_dir(Path(args.out_dir), args.run_name, config_text)
    else:
        run_dir = Path(args.out_dir) / args.run_name
    manager = checkpoint_manager(run_dir)

    if lead:
        print(f"data: {data.describe()}")
        print(f"devices: {devices} x {jax.devices()[0].platform} (mesh {dict(trainer.mesh.shape)}), "
              f"global batch {args.batch_size}, {steps_per_epoch} steps per epoch, {total_steps} steps")
        print(f"optimizer: {args.optimizer}, schedule: {_describe(schedule, args.schedule)}")
        print(f"run directory: {run_dir}" + (f" (resumed after epoch {meta['epoch']})" if args.resume else ""))

    earlier_seconds = meta["seconds"]  # of the run's earlier invocations, when resumed
    progress = Progress(args.progress if lead else "none")
    events = event_log(run_dir / "tensorboard", trained_steps + 1 if args.resume else None) \
        if lead and continuing else None
    history = meta["history"]
    base_key = jax.random.key(args.seed + 1)
    epoch = meta["epoch"]
    while epoch < args.epochs and not meta["stopped"]:
        epoch_start = time.perf_counter()
        order = np.random.default_rng([args.seed, epoch]).permutation(len(data.y_train))
        batches = order[:steps_per_epoch * args.batch_size].reshape(steps_per_epoch, args.batch_size)
        progress.start(f"epoch {epoch + 1}/{args.epochs}", steps_per_epoch)
        records, shown = [], 0
        for i, rows in enumerate(batches):
            step = epoch * steps_per_epoch + i
            value = extra["pending"] if i == 0 else jnp.float32(jnp.nan)
            state, metrics = trainer.train_step(state, trainer.shard(data.x_train[rows]),
                                                trainer.shard(data.y_train[rows]), jax.random.fold_in(base_key, step),
                                                value)
            records.append(metrics)
            if i % 5 == 4 or i == len(batches) - 1:
                m = jax.device_get(metrics)
                progress.update(i + 1 - shown, f"loss {m['loss']:.4f} acc {m['accuracy']:.3f} lr {m['lr']:.3g}")
                shown = i + 1
        records = jax.device_get(records)
        rows_out = [{"step": epoch * steps_per_epoch + i + 1, "epoch": epoch + 1, "lr": float(r["lr"]),
                     "loss": float(r["loss"]), "accuracy": float(r["accuracy"])} for i, r in enumerate(records)]
        val_loss, val_accuracy = trainer.evaluate(trainer.eval_params(state), state["batch_stats"],
                                                  data.x_val, data.y_val)
        train_loss = float(np.mean([r["loss"] for r in rows_out]))
        train_accuracy = float(np.mean([r["accuracy"] for r in rows_out]))
        epoch_row = {"epoch": epoch + 1, "step": rows_out[-1]["step"], "train_loss": train_loss,
                     "train_accuracy": train_accuracy, "val_loss": val_loss, "val_accuracy": val_accuracy,
                     "lr": rows_out[-1]["lr"], "seconds": time.perf_counter() - epoch_start}
        history["steps"].extend(rows_out)
        history["epochs"].append(epoch_row)
        line = (f"train loss {train_loss:.4f} acc {train_accuracy:.3f} | val loss {val_loss:.4f} "
                f"acc {val_accuracy:.3f} | lr {epoch_row['lr']:.3g}")
        if stopper is not None:
            stopping, decision = stopper.update(extra["stopping"], val_loss)
            extra["stopping"] = stopping
            if bool(decision.improved):
                extra["best"] = {"params": trainer.eval_params(state), "batch_stats": state["batch_stats"]}
                meta["best_epoch"] = epoch + 1
            if bool(decision.stop):
                meta["stopped"] = True
                line += f" | early stop (best epoch {meta['best_epoch']})"
        if plateau is not None:
            extra["pending"] = jnp.float32(val_loss)  # observed by the plateau rule at the next update
        progress.finish(line if progress.kind != "none" else f"epoch {epoch + 1}/{args.epochs}: {line}")
        epoch += 1
        meta["epoch"] = epoch
        meta["seconds"] = earlier_seconds + time.perf_counter() - start
        # The epoch's logs are on disk before its checkpoint commits: a kill in between leaves
        # rows past the checkpoint, which a resume drops, and never a checkpoint without its rows.
        _kill_point("before-logs", epoch)
        if lead:
            if events is not None:
                events.write(rows_out, epoch_row)
            _kill_point("after-tensorboard", epoch)
            write_csv(run_dir / "metrics.csv", history)
        _kill_point("after-logs", epoch)
        manager.save(epoch, args=ocp.args.Composite(
            tree=ocp.args.StandardSave({"state": state, "extra": extra}), meta=ocp.args.JsonSave(meta)))
        manager.wait_until_finished()
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
        "wall_seconds": earlier_seconds + time.perf_counter() - start, "devices": devices,
        "platform": jax.devices()[0].platform, "data": data.name, "run_dir": str(run_dir),
    }
    if lead:
        replace_file(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        title = f"{args.optimizer}, {_describe(schedule, args.schedule)}"
        plotted = plot_curves(run_dir / "curves.png", history, title)
        restored_note = f" (parameters of epoch {metrics['best_epoch']})" if stopper else ""
        print(f"test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}{restored_note}; {epoch} epochs "
              f"in {metrics['wall_seconds']:.1f} s")
        print(f"wrote {run_dir}/: metrics.json, metrics.csv, tensorboard/, checkpoints/"
              + (", curves.png" if plotted else ""))
    return metrics


def _describe(schedule: Any, spec: str | None) -> str:
    if spec is None:
        return "linear warmup then cosine (optax.join_schedules)"
    return repr(schedule)


if __name__ == "__main__":
    main()
