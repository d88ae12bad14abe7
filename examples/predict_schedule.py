"""Does the multi-power law predict a schedule it has not seen, on a run made here?

A small character-level transformer (plain JAX and optax) learns to predict the next byte of
the Python standard library's own source (no download). It is trained under three schedules
(constant, cosine, and a step down at half way, as the paper's training runs), the law is
fitted to their loss curves, and it predicts the loss curve of a fourth schedule it has not
seen (WSD: stable, then a linear decay over the last 20%). That run is then trained, and the
prediction scored against it: R², MAE, PredE, WorstE and the error of the final loss.

    python examples/predict_schedule.py                 # about a minute on 2 CPU cores
    python examples/predict_schedule.py --steps 300 --context 16   # seconds

Each run is one jitted ``lax.scan``; the logged loss is the mean training loss of the
``--log-every`` steps ending at each logged step (a single batch's loss is too noisy at this
scale). Every run sees the same batches in the same order, from the same initialisation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxlr
from jaxlr.laws import fit_multi_power_law, prediction_metrics

STDLIB_FILES = ("argparse.py", "collections/__init__.py", "dataclasses.py", "functools.py", "inspect.py",
                "pathlib.py", "subprocess.py", "typing.py")


def stdlib_text(limit: int) -> np.ndarray:
    """Bytes of a few standard-library modules, as uint8, at most ``limit`` of them."""
    root = Path(os.__file__).resolve().parent
    data = b"".join((root / name).read_bytes() for name in STDLIB_FILES if (root / name).exists())
    if len(data) < 10_000:
        raise SystemExit(f"too little standard-library source found under {root}")
    return np.frombuffer(data[:limit], np.uint8)


def init_params(key: jax.Array, width: int, context: int, layers: int) -> dict[str, Any]:
    keys = iter(jax.random.split(key, 3 + 6 * layers))

    def dense(n_in: int, n_out: int) -> jax.Array:
        return jax.random.normal(next(keys), (n_in, n_out)) / math.sqrt(n_in)

    blocks = [{"qkv": dense(width, 3 * width), "out": dense(width, width), "up": dense(width, 4 * width),
               "down": dense(4 * width, width)} for _ in range(layers)]
    return {"embed": jax.random.normal(next(keys), (256, width)) * 0.02,
            "position": jax.random.normal(next(keys), (context, width)) * 0.02,
            "blocks": blocks, "head": dense(width, 256)}


def norm(x: jax.Array) -> jax.Array:
    return (x - x.mean(-1, keepdims=True)) / jnp.sqrt(x.var(-1, keepdims=True) + 1e-5)


def logits_of(params: dict[str, Any], tokens: jax.Array, heads: int) -> jax.Array:
    """A pre-norm causal transformer: ``tokens`` (batch, context) to next-byte logits."""
    x = params["embed"][tokens] + params["position"][: tokens.shape[1]]
    n, width = tokens.shape[1], x.shape[-1]
    mask = jnp.tril(jnp.ones((n, n), bool))
    for block in params["blocks"]:
        q, k, v = jnp.split(norm(x) @ block["qkv"], 3, axis=-1)
        split = lambda a: a.reshape(*a.shape[:2], heads, width // heads)  # noqa: E731
        scores = jnp.einsum("bqhd,bkhd->bhqk", split(q), split(k)) / math.sqrt(width // heads)
        attention = jax.nn.softmax(jnp.where(mask, scores, -1e9), axis=-1)
        mixed = jnp.einsum("bhqk,bkhd->bqhd", attention, split(v)).reshape(x.shape)
        x = x + mixed @ block["out"]
        x = x + jax.nn.gelu(norm(x) @ block["up"]) @ block["down"]
    return norm(x) @ params["head"]


def make_train(text: jax.Array, args: argparse.Namespace):
    """``train(lrs) -> logged losses``: the whole run, one jitted program of its rates."""
    starts = jax.random.randint(jax.random.key(args.seed + 1), (args.steps, args.batch), 0,
                                text.shape[0] - args.context - 1)
    params0 = init_params(jax.random.key(args.seed), args.width, args.context, args.layers)

    def loss_fn(params: dict[str, Any], rows: jax.Array) -> jax.Array:
        windows = jax.vmap(lambda s: jax.lax.dynamic_slice(text, (s,), (args.context + 1,)))(rows)
        logits = logits_of(params, windows[:, :-1], args.heads)
        return optax.softmax_cross_entropy_with_integer_labels(logits, windows[:, 1:]).mean()

    @jax.jit
    def train(lrs: jax.Array) -> jax.Array:
        optimizer = optax.adamw(lambda count: lrs[count], weight_decay=0.0)

        def step(carry: tuple, rows: jax.Array) -> tuple:
            params, state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, rows)
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), loss

        _, losses = jax.lax.scan(step, (params0, optimizer.init(params0)), starts)
        return losses.reshape(-1, args.log_every).mean(axis=1)

    return train


def schedules(args: argparse.Namespace) -> dict[str, jaxlr.Schedule]:
    total, warmup, peak, floor = args.steps, args.warmup, args.peak, args.peak / 10
    return {
        "constant": jaxlr.warmup_then(jaxlr.constant(peak), warmup),
        "cosine": jaxlr.warmup_cosine(peak, warmup, total, end_value=floor),
        "step down at half way": jaxlr.warmup_then(jaxlr.piecewise_constant([total // 2 - warmup],
                                                                             [peak, 0.3 * peak]), warmup),
        "wsd (held out)": jaxlr.wsd(peak, total, warmup, total // 5, end_value=floor),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1_500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--peak", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--context", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.steps % args.log_every or args.warmup >= args.steps // 2:
        parser.error("--steps must be a multiple of --log-every, and --warmup below half of it")
    text = jnp.asarray(stdlib_text(2_000_000).astype(np.int32))
    train = make_train(text, args)
    steps = np.arange(args.log_every - 1, args.steps, args.log_every)  # each logged mean ends here
    curves, timings = {}, {}
    for name, schedule in schedules(args).items():
        lrs = np.asarray(schedule(np.arange(args.steps)), np.float32)
        start = time.perf_counter()
        losses = np.asarray(train(jnp.asarray(lrs)), np.float64)
        timings[name] = time.perf_counter() - start
        curves[name] = (lrs.astype(np.float64), steps, losses)
        print(f"{name:>24}: final loss {losses[-1]:.4f} ({timings[name]:.1f} s)")
    seen = [curves[n] for n in ("constant", "cosine", "step down at half way")]
    keep = steps >= args.warmup  # the law is fitted after the warmup, as the paper's curves start
    law = fit_multi_power_law([(lrs, s[keep], loss[keep]) for lrs, s, loss in seen])
    lrs, _, measured = curves["wsd (held out)"]
    predicted = np.asarray(law.predict(lrs, steps[keep]), np.float64)
    metrics = prediction_metrics(predicted, measured[keep])
    final_error = abs(predicted[-1] - measured[-1]) / measured[-1]
    print(f"law fitted on 3 runs: {law}")
    print("held-out WSD run: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
          + f"; final loss predicted {predicted[-1]:.4f}, measured {measured[-1]:.4f} ({100 * final_error:.2f}% off)")
    # For scale: how far apart the schedules' final losses are (the law must tell them apart).
    finals = {n: float(c[2][-1]) for n, c in curves.items()}
    report = {"settings": vars(args) | {"out": None}, "finals": finals, "metrics": metrics,
              "final_predicted": float(predicted[-1]), "final_measured": float(measured[-1]),
              "final_error": float(final_error), "law": {k: float(getattr(law, k)) for k in
                                                        ("L0", "A", "alpha", "B", "C", "beta", "gamma")},
              "seconds_per_run": timings}
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
