"""The schedule and the optimizer of a run: the default warmup then cosine, any jaxlr config
string or bare family name, and the optax optimizers of ``--optimizer``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import jax
import optax

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

# The default peak learning rate of each optimizer (--lr).
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3, "adagrad": 0.05,
              "ranger": 3e-3}

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



def describe(schedule: Any, spec: str | None) -> str:
    """The schedule as the run's output names it."""
    if spec is None:
        return "linear warmup then cosine (optax.join_schedules)"
    return repr(schedule)
