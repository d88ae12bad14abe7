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
summary, and a run directory (printed; under ``--out-dir``) holding ``config.json``,
``metrics.csv`` (per step: lr, train loss and accuracy; per epoch: validation loss and
accuracy), TensorBoard event files (``tensorboard --logdir RUN_DIR``), ``curves.png`` and
``metrics.json`` (final test accuracy and loss, epochs run, wall time), plus an orbax
checkpoint after every epoch. ``--resume RUN_DIR`` continues a stopped run from its last
checkpoint, with the same configuration, and gives exactly the learning rates and metrics
of a run that was never stopped: data order and dropout keys are functions of the seed,
the epoch and the step, and everything else is in the checkpoint.

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
runs the same command. Checkpoints are written by orbax from all processes to a shared
directory, and only process 0 writes logs and plots.

    pip install -e ".[examples]"
    python examples/train_flax.py                                    # ~97-99% on the digits
    python examples/train_flax.py --optimizer ranger --schedule "one_cycle(max_value=0.01, total_steps='100%')"
    python examples/train_flax.py --plateau --early-stopping 5 --epochs 60
    python examples/train_flax.py --data-dir ~/data/mnist --epochs 5 --batch-size 256
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import gzip
import inspect
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxlr

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


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (the MNIST format), plain or gzipped."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: header says {shape} ({math.prod(shape)} values), file holds {data.size}")
    return data.reshape(shape)


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
        with np.load(npz[0]) as arrays:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays.files)
            if missing:
                raise ValueError(f"{npz[0]} lacks {', '.join(sorted(missing))}")
            x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    else:
        raise FileNotFoundError(f"no MNIST in {directory}: expected the four IDX files ({', '.join(stems)}, "
                                "optionally .gz) or mnist.npz")
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or labels.shape != (len(images),):
            raise ValueError(f"{directory}: {name} images {images.shape} and labels {labels.shape} do not match")
    scale = 255.0 if np.issubdtype(x_train.dtype, np.integer) else 1.0
    prepare = lambda images: (images.astype(np.float32) / scale)[..., None]  # noqa: E731
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = round(val_fraction * len(order))
    train, val = order[n_val:], order[:n_val]
    x_train, x_test = prepare(x_train), prepare(x_test)
    y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
    return Data(f"MNIST from {directory}", x_train[train], y_train[train], x_train[val], y_train[val], x_test, y_test)


# ----------------------------------------------------------------------------- model


class CNN(nnx.Module):
    """Two conv + batch norm + ReLU + 2x2 average-pool blocks, dropout, a dense layer, dropout, logits."""

    def __init__(self, image_size: tuple[int, int], num_classes: int = 10, width: int = 32, dropout: float = 0.2,
                 *, rngs: nnx.Rngs) -> None:
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


def write_csv(path: Path, history: dict[str, list]) -> None:
    """One row per step; the validation columns are filled on each epoch's last step."""
    validation = {row["step"]: row for row in history["epochs"]}
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_FIELDS)
        for row in history["steps"]:
            val = validation.get(row["step"], {})
            writer.writerow([row["step"], row["epoch"], repr(row["lr"]), repr(row["loss"]), repr(row["accuracy"]),
                             repr(val["val_loss"]) if val else "", repr(val["val_accuracy"]) if val else ""])


def tensorboard_writer(run_dir: Path, first_epoch: int) -> Any:
    """A TensorBoard event writer (tensorboardX) for this invocation, or None without it.

    One writer per invocation: event files are named by the second they are opened, and two
    writers opened within one second would overwrite each other's file."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tensorboard"), filename_suffix=f".from-epoch-{first_epoch}")


def write_tensorboard(writer: Any, steps: list[dict], epoch: dict) -> None:
    """One epoch's scalars: per step the lr, train loss and accuracy; the validation ones."""
    if writer is None:
        return
    for row in steps:
        writer.add_scalar("lr", row["lr"], row["step"])
        writer.add_scalar("train/loss", row["loss"], row["step"])
        writer.add_scalar("train/accuracy", row["accuracy"], row["step"])
    writer.add_scalar("val/loss", epoch["val_loss"], epoch["step"])
    writer.add_scalar("val/accuracy", epoch["val_accuracy"], epoch["step"])
    writer.flush()


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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------- the run

DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3, "adagrad": 0.05,
              "ranger": 3e-3}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split over the devices")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adamw")
    parser.add_argument("--lr", type=float, default=None,
                        help="peak learning rate (default: 3e-3 for the adam family, 0.1 sgd, 0.05 momentum...)")
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="adamw only")
    parser.add_argument("--schedule", default=None,
                        help="a jaxlr config string or JSON dict, or a family name (default: warmup then cosine)")
    parser.add_argument("--plateau", action="store_true", help="reduce the lr on a validation-loss plateau")
    parser.add_argument("--plateau-factor", type=float, default=0.5)
    parser.add_argument("--plateau-patience", type=int, default=3)
    parser.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                        help="stop when the validation loss has not improved for PATIENCE epochs; test the best")
    parser.add_argument("--width", type=int, default=32, help="channels of the first conv layer")
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--data-dir", default=None, help="a directory with MNIST IDX files or mnist.npz")
    parser.add_argument("--out-dir", default="runs", help="where the run directory is made")
    parser.add_argument("--run-name", default=None, help="the run directory's name (default: a timestamp)")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR",
                        help="continue the run in RUN_DIR from its last checkpoint, with its configuration")
    parser.add_argument("--stop-after", type=int, default=None, metavar="EPOCH",
                        help="stop after this epoch, as a preemption would (then --resume)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", choices=("auto", "tqdm", "rich", "none"), default="auto")
    parser.add_argument("--distributed", action="store_true", help="call jax.distributed.initialize() first")
    args = parser.parse_args(argv)
    if args.resume:
        if not (Path(args.resume) / "config.json").exists():
            parser.error(f"--resume: {args.resume} is not a run directory (it has no config.json)")
        config = json.loads((Path(args.resume) / "config.json").read_text())
        kept = {"resume": args.resume, "stop_after": args.stop_after, "progress": args.progress,
                "distributed": args.distributed}
        args = argparse.Namespace(**{**config, **kept})
    for name in ("epochs", "batch_size"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    if args.plateau and args.optimizer == "ranger":
        parser.error("--plateau scales the updates after the optimizer, which would break lookahead's "
                     "synchronisation of the fast and slow weights: use it with another --optimizer")
    if args.warmup_epochs < 0:
        parser.error(f"--warmup-epochs must be >= 0, got {args.warmup_epochs}")
    return args


def checkpoint_manager(run_dir: Path) -> Any:
    import orbax.checkpoint as ocp

    options = ocp.CheckpointManagerOptions(max_to_keep=2, enable_async_checkpointing=False)
    return ocp.CheckpointManager((run_dir / "checkpoints").absolute(), options=options)


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
        raise SystemExit(f"--data-dir: {error}") from None
    devices = len(jax.devices())
    if args.batch_size % devices:
        raise SystemExit(f"--batch-size {args.batch_size} is not a multiple of the {devices} devices")
    steps_per_epoch = len(data.y_train) // args.batch_size
    if steps_per_epoch == 0:
        raise SystemExit(f"--batch-size {args.batch_size} is larger than the {len(data.y_train)} training images")
    total_steps = args.epochs * steps_per_epoch
    warmup_steps = round(args.warmup_epochs * steps_per_epoch)
    try:
        schedule = make_schedule(args.schedule, args.lr, warmup_steps, total_steps, steps_per_epoch)
    except ValueError as error:
        raise SystemExit(f"--schedule: {error}") from None

    plateau = jaxlr.reduce_on_plateau(factor=args.plateau_factor, patience=args.plateau_patience) if args.plateau \
        else None
    stopper = jaxlr.early_stopping(patience=args.early_stopping) if args.early_stopping is not None else None
    optimizer = make_optimizer(args.optimizer, schedule, args.weight_decay, plateau)
    model = CNN(data.x_train.shape[1:3], width=args.width, dropout=args.dropout, rngs=nnx.Rngs(args.seed))
    trainer = Trainer(model, optimizer, lookahead=args.optimizer == "ranger")

    run_dir = Path(args.resume) if args.resume else \
        Path(args.out_dir) / (args.run_name or time.strftime("flax-%Y%m%d-%H%M%S"))
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {k: v for k, v in vars(args).items() if k not in ("resume", "stop_after", "progress", "distributed")}
    if lead and not args.resume:
        (run_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    state = trainer.init()
    extra = {"best": {"params": trainer.eval_params(state), "batch_stats": state["batch_stats"]},
             "stopping": (stopper or jaxlr.early_stopping()).init(), "pending": jnp.float32(jnp.nan)}
    meta: dict[str, Any] = {"epoch": 0, "stopped": False, "best_epoch": 0, "seconds": 0.0,
                            "history": {"steps": [], "epochs": []}}
    manager = checkpoint_manager(run_dir)
    if args.resume:
        latest = manager.latest_step()
        if latest is None:
            raise SystemExit(f"--resume: no checkpoint in {run_dir / 'checkpoints'}")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, {"state": state, "extra": extra})
        restored = manager.restore(latest, args=ocp.args.Composite(
            tree=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
        state, extra, meta = restored.tree["state"], restored.tree["extra"], restored.meta

    if lead:
        print(f"data: {data.describe()}")
        print(f"devices: {devices} x {jax.devices()[0].platform} (mesh {dict(trainer.mesh.shape)}), "
              f"global batch {args.batch_size}, {steps_per_epoch} steps per epoch, {total_steps} steps")
        print(f"optimizer: {args.optimizer}, schedule: {_describe(schedule, args.schedule)}")
        print(f"run directory: {run_dir}" + (f" (resumed after epoch {meta['epoch']})" if args.resume else ""))

    earlier_seconds = meta["seconds"]  # of the run's earlier invocations, when resumed
    progress = Progress(args.progress if lead else "none")
    writer = tensorboard_writer(run_dir, meta["epoch"] + 1) if lead else None
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
        manager.save(epoch, args=ocp.args.Composite(
            tree=ocp.args.StandardSave({"state": state, "extra": extra}), meta=ocp.args.JsonSave(meta)))
        if lead:
            write_tensorboard(writer, rows_out, epoch_row)
            write_csv(run_dir / "metrics.csv", history)
        if args.stop_after is not None and epoch >= args.stop_after and epoch < args.epochs and not meta["stopped"]:
            manager.wait_until_finished()
            if writer is not None:
                writer.close()
            if lead:
                print(f"stopped after epoch {epoch}; continue with: --resume {run_dir}")
            return {"run_dir": str(run_dir), "epochs_run": epoch, "stopped_early": False, "interrupted": True}
    manager.wait_until_finished()
    if writer is not None:
        writer.close()

    params, stats = trainer.eval_params(state), state["batch_stats"]
    if stopper is not None:
        params, stats = extra["best"]["params"], extra["best"]["batch_stats"]
    test_loss, test_accuracy = trainer.evaluate(params, stats, data.x_test, data.y_test)
    metrics = {
        "test_accuracy": test_accuracy, "test_loss": test_loss, "epochs_run": epoch,
        "stopped_early": bool(meta["stopped"]), "best_epoch": meta["best_epoch"] if stopper else epoch,
        "final_lr": history["steps"][-1]["lr"], "wall_seconds": earlier_seconds + time.perf_counter() - start,
        "devices": devices, "platform": jax.devices()[0].platform, "data": data.name, "run_dir": str(run_dir),
    }
    if lead:
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
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
