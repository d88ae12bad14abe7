"""Running the peer libraries' schedulers, and comparing to them at float32 precision.

Each peer is imported through ``require``, which skips the calling test with the reason and
the install command when the library is missing (``pip install -e ".[parity]"``).
"""

from __future__ import annotations

import importlib
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

INSTALL = {
    "torch": 'pip install torch==2.13.0 (the CPU wheel), then pip install -e ".[parity]"',
    "keras": 'pip install -e ".[parity]" (keras 3, run with KERAS_BACKEND=jax)',
    "transformers": 'pip install -e ".[parity]"',
}


def require(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        pytest.skip(f"parity with {name} needs it installed ({error}); {INSTALL[name]}")


def torch_lrs(make_scheduler, steps: int, base_lr: float) -> np.ndarray:
    """The learning rate torch uses for updates 0 .. steps-1: read, step, scheduler.step()."""
    return torch_hyperparams(make_scheduler, steps, base_lr)[0]


def torch_hyperparams(make_scheduler, steps: int, base_lr: float, optimizer: str = "sgd") -> tuple[np.ndarray, ...]:
    """The learning rates and momenta torch uses for updates 0 .. steps-1, read from the
    parameter group before each update: SGD's ``momentum`` (``optimizer="sgd"``, with
    momentum 0.9 for the scheduler to cycle) or Adam's ``betas[0]`` (``"adam"``)."""
    torch = require("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    if optimizer == "sgd":
        opt = torch.optim.SGD([param], lr=base_lr, momentum=0.9)
    else:
        opt = torch.optim.Adam([param], lr=base_lr)
    scheduler = make_scheduler(opt)
    lrs, momenta = [], []
    for _ in range(steps):
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["momentum"] if optimizer == "sgd" else group["betas"][0])
        opt.step()
        scheduler.step()
    return np.asarray(lrs), np.asarray(momenta)


def keras_lrs(schedule_class_name: str, *args, steps: int, **kwargs) -> np.ndarray:
    """A Keras schedule's values, computed by Keras itself in float64.

    Keras evaluates in ``floatx`` (float32), and several of its formulas cancel (``1 - p``
    near the end of a decay), so its float32 output is itself a few thousand ulps off the
    formula at places. Running it in float64 compares jaxlr with the formula Keras means.
    """
    keras = require("keras")
    floatx = keras.config.floatx()
    with jax.enable_x64(True):
        keras.config.set_floatx("float64")
        try:
            schedule = getattr(keras.optimizers.schedules, schedule_class_name)(*args, **kwargs)
            # jax.vmap turns Keras' ops.cond (lax.cond on this backend) into a select.
            return np.asarray(jax.vmap(schedule)(jnp.arange(steps)), dtype=np.float64)
        finally:
            keras.config.set_floatx(floatx)


def optax_lrs(schedule, steps: int) -> np.ndarray:
    """An optax schedule's values, computed in float64 for the same reason as Keras'."""
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(schedule)(jnp.arange(steps, dtype=jnp.int64)), dtype=np.float64)


def assert_parity(ours, theirs, scale: float | None = None, rtol: float = 2e-6) -> None:
    """Equal to float32 precision: the peer's value rounded to float32, within a few ulps
    (2e-6 relative is 16 float32 ulps, for formulas evaluated in a different order), and
    within 1e-7 of the schedule's scale where values cancel towards zero."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float32).astype(np.float64)
    scale = float(np.max(np.abs(theirs))) if scale is None else scale
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-7 * scale)
