"""Train a small MLP with optax and a jaxlr schedule, in plain JAX (no network library).

The data is a three-armed spiral, generated with a fixed seed (no download): 3,000 points
for training and 1,500 held out. The model is a 2-64-64-3 MLP trained with AdamW under
`jaxlr.warmup_cosine`; the whole update is one jitted function, and the learning rate of
each logged step is read from the schedule at optax's update count.

    python examples/train_optax.py                      # a few seconds on a laptop CPU
    python examples/train_optax.py --steps 500 --peak-lr 3e-3
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxlr


def spirals(n_per_class: int, seed: int, noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms in the plane, one class each."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.05, 1.0, n_per_class), 3)
    labels = np.repeat(np.arange(3), n_per_class)
    angle = radius * 6.0 + labels * (2 * np.pi / 3) + rng.normal(0.0, noise, radius.shape)
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    order = rng.permutation(len(labels))
    return points[order].astype(np.float32), labels[order]


def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    params = []
    for fan_in, fan_out, k in zip(sizes[:-1], sizes[1:], jax.random.split(key, len(sizes) - 1), strict=True):
        params.append({"w": jax.random.normal(k, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in), "b": jnp.zeros(fan_out)})
    return params


def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, y):
    logits = mlp(params, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def accuracy(params, x, y) -> float:
    return float(jnp.mean(jnp.argmax(mlp(params, x), axis=-1) == y))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="optimizer updates")
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--peak-lr", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=250)
    args = parser.parse_args(argv)

    x_train, y_train = spirals(1000, args.seed)
    x_test, y_test = spirals(500, args.seed + 1)

    schedule = jaxlr.warmup_cosine(
        peak_value=args.peak_lr, warmup_steps=args.warmup_steps, total_steps=args.steps, end_value=args.peak_lr / 100
    )
    print(f"schedule: {schedule!r}")
    optimizer = optax.adamw(learning_rate=schedule, weight_decay=1e-4)

    params = init_mlp(jax.random.key(args.seed), (2, 64, 64, 3))
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    for step in range(args.steps):
        batch = rng.integers(0, len(x_train), args.batch_size)
        params, opt_state, loss = train_step(params, opt_state, x_train[batch], y_train[batch])
        if step % args.log_every == 0 or step == args.steps - 1:
            # The update at count `step` used schedule(step), as in every optax optimizer.
            print(f"step {step:5d}  loss {float(loss):.4f}  lr {float(schedule(step)):.3e}")
    elapsed = time.perf_counter() - start

    metrics = {
        "train_accuracy": accuracy(params, x_train, y_train),
        "test_accuracy": accuracy(params, x_test, y_test),
        "seconds": elapsed,
    }
    print(
        f"done: {args.steps} steps in {elapsed:.1f} s, train accuracy {metrics['train_accuracy']:.3f}, "
        f"test accuracy {metrics['test_accuracy']:.3f}"
    )
    return metrics


if __name__ == "__main__":
    main()
