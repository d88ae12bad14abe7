"""The model: a small CNN in Flax NNX, and its loss as pure functions of the parameters and the
batch-norm statistics (what ``jax.value_and_grad`` differentiates and ``jax.vmap`` batches)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from flax_digits.data import NUM_CLASSES


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
