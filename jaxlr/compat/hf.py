"""Hugging Face ``transformers`` schedules (``get_scheduler``) as jaxlr schedules.

HF schedules are ``LambdaLR`` factors of the optimizer's rate; here the rate is ``lr``.

    >>> from jaxlr.compat import hf
    >>> s = hf.get_scheduler("cosine", lr=1.0, num_warmup_steps=10, num_training_steps=110)
    >>> [round(float(s(t)), 4) for t in (5, 10, 60, 110, 160)]   # periodic past the end, as HF
    [0.5, 1.0, 0.5, 0.0, 0.5]
"""

from __future__ import annotations

from typing import Any

import jaxlr
from jaxlr._base import Schedule

SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "cosine_with_min_lr", "warmup_stable_decay",
)


def get_scheduler(
    name: str, lr: float, num_warmup_steps: int | None = None, num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> Schedule:
    """The schedule ``transformers.get_scheduler(name, ...)`` gives, at rate ``lr``."""
    if name not in SCHEDULERS:
        raise ValueError(f"name must be one of {', '.join(SCHEDULERS)}, got {name!r}")
    extra = dict(scheduler_specific_kwargs or {})
    warmup = num_warmup_steps or 0
    if name == "constant":
        return jaxlr.constant(lr)
    if name == "constant_with_warmup":
        return jaxlr.linear_warmup(lr, warmup)
    if name == "inverse_sqrt":
        return jaxlr.inverse_sqrt_decay(lr, warmup, extra.get("timescale"))
    if num_training_steps is None:
        raise ValueError(f"{name} requires num_training_steps")
    total = num_training_steps
    if name == "linear":
        return jaxlr.warmup_linear(lr, warmup, total)
    if name in ("cosine", "cosine_with_min_lr"):
        # HF's cosine is periodic: 0.5 * (1 + cos(2π·num_cycles·p)) with p unclamped.
        cycles = extra.get("num_cycles", 0.5)
        floor = extra.get("min_lr", lr * extra.get("min_lr_rate", 0.0)) if name == "cosine_with_min_lr" else 0.0
        decay = jaxlr.cosine_decay(lr, (total - warmup) / (2 * cycles), end_value=floor, periodic=True)
        return jaxlr.warmup_then(decay, warmup)
    if name == "cosine_with_restarts":
        cycles = extra.get("num_cycles", 1)
        restarts = jaxlr.cosine_restarts(lr, (total - warmup) / cycles)
        return jaxlr.join([jaxlr.warmup_then(restarts, warmup), jaxlr.constant(0.0)], [total])
    if name == "polynomial":
        decay = jaxlr.polynomial(lr, extra.get("lr_end", 1e-7), total - warmup, extra.get("power", 1.0))
        return jaxlr.warmup_then(decay, warmup)
    ratio = extra.get("min_lr_ratio", 0.0)
    if extra.get("num_cycles", 0.5) != 0.5:
        raise ValueError("warmup_stable_decay: only num_cycles=0.5 (one half cosine) is supported")
    decay_steps = extra["num_decay_steps"]
    stable = extra.get("num_stable_steps")
    total = total if stable is None else warmup + stable + decay_steps
    return jaxlr.wsd(lr, total, warmup, decay_steps, init_value=ratio * lr, end_value=ratio * lr,
                     decay_shape=extra.get("decay_type", "cosine"), warmup_shape=extra.get("warmup_type", "linear"))
