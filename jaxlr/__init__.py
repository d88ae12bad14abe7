"""jaxlr: learning-rate schedules for JAX and optax.

Every schedule is a jit-compilable pure function of the step count that plugs into any
optax optimizer (``optax.adamw(learning_rate=jaxlr.warmup_cosine(...))``), and a JAX pytree
whose numeric hyperparameters are leaves: sweep them with ``jax.vmap``, differentiate with
``jax.grad``, change them without recompiling.
"""

from jaxlr._base import REGISTRY, Schedule
from jaxlr.adaptive import (
    Decision,
    GreedyState,
    PlateauState,
    StoppingState,
    SwitchState,
    current_hyperparam,
    current_lr,
    early_stopping,
    greedy_lr,
    reduce_on_plateau,
    switch_optimizers,
)
from jaxlr.compose import clip, cooldown, from_fn, join, multiply, per_epoch, repeat, scale, shift
from jaxlr.config import from_config, get, names, parse, to_config
from jaxlr.cyclic import cosine_restarts, cyclic, one_cycle
from jaxlr.decay import (
    constant,
    cosine_decay,
    exponential_decay,
    inverse_sqrt_decay,
    inverse_time_decay,
    linear,
    multistep_decay,
    piecewise_constant,
    piecewise_linear,
    polynomial,
    step_decay,
)
from jaxlr.finder import LRFinderResult, lr_find
from jaxlr.llm import noam, rex_decay, tanh_decay, wsd
from jaxlr.momentum import cyclic_momentum, one_cycle_momentum, with_momentum
from jaxlr.warmup import (
    exponential_warmup,
    linear_warmup,
    warmup_cosine,
    warmup_exponential,
    warmup_linear,
    warmup_then,
)

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Decision",
    "GreedyState",
    "LRFinderResult",
    "PlateauState",
    "Schedule",
    "StoppingState",
    "SwitchState",
    "clip",
    "constant",
    "cooldown",
    "cosine_decay",
    "cosine_restarts",
    "current_hyperparam",
    "current_lr",
    "cyclic",
    "cyclic_momentum",
    "early_stopping",
    "exponential_decay",
    "exponential_warmup",
    "from_config",
    "from_fn",
    "get",
    "greedy_lr",
    "inverse_sqrt_decay",
    "inverse_time_decay",
    "join",
    "linear",
    "linear_warmup",
    "lr_find",
    "multiply",
    "multistep_decay",
    "names",
    "noam",
    "one_cycle",
    "one_cycle_momentum",
    "parse",
    "per_epoch",
    "piecewise_constant",
    "piecewise_linear",
    "polynomial",
    "reduce_on_plateau",
    "repeat",
    "rex_decay",
    "scale",
    "shift",
    "step_decay",
    "switch_optimizers",
    "tanh_decay",
    "to_config",
    "warmup_cosine",
    "warmup_exponential",
    "warmup_linear",
    "warmup_then",
    "with_momentum",
    "wsd",
]

from jaxlr import laws as laws  # the loss laws (jaxlr.laws.fit_multi_power_law, ...)
