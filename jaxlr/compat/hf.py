"""Hugging Face ``transformers`` schedules (``get_scheduler``) as jaxlr schedules.

HF schedules are ``LambdaLR`` factors of the optimizer's rate; here the rate is ``lr``.
``get_scheduler`` accepts what ``transformers.get_scheduler`` accepts and gives its values at
every step, past ``num_training_steps`` too and at the edges (no warmup, a warmup as long as
or longer than training, ``num_cycles=0``, ``num_stable_steps`` without
``num_training_steps``), with these exceptions, each a ``ValueError`` or ``TypeError``
naming the argument:

- ``scheduler_specific_kwargs`` the schedule does not take are a ``TypeError`` for every
  name (HF silently drops them for "constant" and "constant_with_warmup");
- negative step counts, ``num_cycles`` or ``min_lr_ratio`` / ``min_lr_rate`` outside [0, 1]
  raise (HF gives negative-length phases or clamps a negative rate to 0);
- "polynomial" with ``num_warmup_steps == num_training_steps`` raises (HF divides by zero at
  that step);
- "warmup_stable_decay" whose warmup and decay overrun ``num_training_steps`` raises (HF
  gives a negative stable phase and starts the decay part-way through), and its cosine
  decay takes only ``num_cycles=0.5``;
- "reduce_lr_on_plateau" and "greedy" adapt to a monitored value: they return optax
  transformations (:func:`jaxlr.reduce_on_plateau`, :func:`jaxlr.greedy_lr`) to chain after
  the optimizer, not schedules, and ignore a NaN value (HF counts it as a bad one).

    >>> from jaxlr.compat import hf
    >>> s = hf.get_scheduler("cosine", lr=1.0, num_warmup_steps=10, num_training_steps=110)
    >>> [round(float(s(t)), 4) for t in (5, 10, 60, 110, 160)]   # periodic past the end, as HF
    [0.5, 1.0, 0.5, 0.0, 0.5]
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, overload

import optax

import jaxlr
from jaxlr._base import Schedule, check_choice, check_nonnegative, is_concrete
from jaxlr.compat._checks import check_whole, is_zero
from jaxlr.compat.torch import ReduceLROnPlateau

__all__ = [
    "get_scheduler",
]

SCHEDULERS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
)
KWARGS = {
    "linear": (), "cosine": ("num_cycles",), "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"), "constant": (), "constant_with_warmup": (), "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"),
    "reduce_lr_on_plateau": ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"),
    "greedy": ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "warmup", "min_lr", "max_lr",
               "eps", "verbose", "smooth", "window_size", "reset_start"),
    "warmup_stable_decay": ("num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio",
                            "num_cycles"),
}
SHAPES = ("linear", "cosine", "1-sqrt")


@overload
def get_scheduler(  # type: ignore[overload-overlap]  # the Literal names come first, by design
    name: Literal["reduce_lr_on_plateau", "greedy"], lr: float, num_warmup_steps: int | None = None,
    num_training_steps: int | None = None, scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> optax.GradientTransformationExtraArgs: ...


@overload
def get_scheduler(
    name: str, lr: float, num_warmup_steps: int | None = None, num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> Schedule: ...


def get_scheduler(
    name: str, lr: float, num_warmup_steps: int | None = None, num_training_steps: int | None = None,
    scheduler_specific_kwargs: dict[str, Any] | None = None,
) -> Schedule | optax.GradientTransformationExtraArgs:
    """The schedule ``transformers.get_scheduler(name, optimizer, ...)`` gives, at rate ``lr``.

    With ``W = num_warmup_steps``, ``T = num_training_steps`` and ``p = (t - W) / max(1, T -
    W)`` (not clamped), every schedule but "constant" warms up linearly, ``lr * t / max(1,
    W)`` for ``t < W``, then:

    - "linear": ``lr * max(0, (T - t) / max(1, T - W))``;
    - "cosine": ``lr * max(0, ½(1 + cos(2π·num_cycles·p)))``, periodic past ``T``;
      "cosine_with_min_lr" the same over a floor ``m = min_lr_rate`` (or ``min_lr / lr``):
      ``lr * (m + (1 - m)·½(1 + cos(2π·num_cycles·p)))``;
    - "cosine_warmup_with_min_lr": "cosine_with_min_lr" one step ahead (a
      :class:`jaxlr.shift` by -1): ``lr·(t + 1) / max(1, W)`` for ``t < W``, then the cosine
      at ``p = (t - W + 1) / max(1, T - W)``; with ``warmup_lr_rate = r`` the warmup is ``lr·(r
      + (1 - r)·t / max(1, W - 1))`` instead;
    - "cosine_with_restarts": ``lr * ½(1 + cos(π·((num_cycles·p) mod 1)))``, 0 once ``p >= 1``;
    - "polynomial": ``(lr - lr_end)·(1 - p)**power + lr_end`` up to ``T``, ``lr_end`` after;
    - "constant_with_warmup": ``lr``; "inverse_sqrt": ``lr / sqrt((t - W + s) / s)``,
      ``s = timescale`` (default ``W``, or 10,000 for ``W = 0``);
    - "warmup_stable_decay": warmup from ``m·lr`` (``m = min_lr_ratio``), ``lr`` for
      ``num_stable_steps`` (default ``T - W - num_decay_steps``), a decay to ``m·lr`` over
      ``num_decay_steps``, then ``m·lr``;
    - "reduce_lr_on_plateau": torch's ``ReduceLROnPlateau`` with the kwargs given, as
      :func:`jaxlr.compat.torch.ReduceLROnPlateau` at the rate ``lr``; "greedy": HF's
      ``GreedyLR``, as :func:`jaxlr.greedy_lr` with ``base_lr=lr`` (``verbose`` is accepted
      and prints nothing). Both are optax transformations: chain them after the optimizer
      and pass the monitored value as ``value=``.

    Example:
        >>> from jaxlr.compat import hf
        >>> s = hf.get_scheduler("linear", lr=1.0, num_warmup_steps=4, num_training_steps=4)
        >>> [float(s(t)) for t in range(6)]   # a warmup as long as training: HF's 0 from step W
        [0.0, 0.25, 0.5, 0.75, 0.0, 0.0]
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    name = str(name.value if hasattr(name, "value") else name)  # transformers' SchedulerType is a str Enum
    if name not in SCHEDULERS:
        raise ValueError(f"name must be one of {', '.join(SCHEDULERS)}, got {name!r}")
    if scheduler_specific_kwargs is not None and not isinstance(scheduler_specific_kwargs, dict):
        raise TypeError(f"scheduler_specific_kwargs must be a dict, got {scheduler_specific_kwargs!r}")
    extra = dict(scheduler_specific_kwargs or {})
    unknown = sorted(set(extra) - set(KWARGS[name]))
    if unknown:
        accepted = ", ".join(KWARGS[name]) or "none"
        raise TypeError(f"scheduler_specific_kwargs for {name!r} got unexpected {', '.join(map(repr, unknown))} "
                        f"(it takes: {accepted})")
    if name == "constant":
        return jaxlr.constant(lr)
    if name == "reduce_lr_on_plateau":
        return ReduceLROnPlateau(lr, **extra)
    if name == "greedy":
        extra.pop("verbose", None)
        return jaxlr.greedy_lr(lr, **extra)
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires num_warmup_steps")
    check_whole("num_warmup_steps", num_warmup_steps)
    warmup = num_warmup_steps
    if name == "constant_with_warmup":
        return jaxlr.linear_warmup(lr, warmup)
    if name == "inverse_sqrt":
        return jaxlr.inverse_sqrt_decay(lr, warmup, extra.get("timescale"))
    if name == "warmup_stable_decay":
        return _warmup_stable_decay(lr, warmup, num_training_steps, **extra)
    if num_training_steps is None:
        raise ValueError(f"{name} requires num_training_steps")
    check_whole("num_training_steps", num_training_steps)
    total = num_training_steps
    # HF divides by max(1, T - W): with a warmup as long as training, or longer, the decay
    # (or the cosine's period) is one step long.
    length = max(1, total - warmup)
    if name == "linear":
        if total > warmup:
            return jaxlr.warmup_linear(lr, warmup, total)
        # (T - t) / 1 <= 0 from the warmup's end on
        if warmup == 0:
            return jaxlr.constant(0.0)
        return jaxlr.join([jaxlr.linear_warmup(lr, warmup), jaxlr.constant(0.0)], [warmup])
    if name in ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        cycles = extra.get("num_cycles", 0.5)
        check_nonnegative("num_cycles", cycles)
        floor = 0.0
        if name != "cosine":
            floor = lr * _min_lr_rate(lr, extra.get("min_lr"), extra.get("min_lr_rate"))
        decay: Schedule
        if is_zero(cycles):  # cos(0) = 1: the peak, for ever
            decay = jaxlr.constant(lr)
        else:
            decay = jaxlr.cosine_decay(lr, length / (2 * cycles), end_value=floor, periodic=True)
        warmed = jaxlr.linear_warmup(lr, warmup) if is_zero(cycles) else jaxlr.warmup_then(decay, warmup)
        if name != "cosine_warmup_with_min_lr":
            return warmed
        if extra.get("warmup_lr_rate") is None:
            return jaxlr.shift(warmed, -1)  # lr·(t + 1) / W, then the cosine at t - W + 1
        return _cosine_one_step_ahead(lr, warmup, decay, extra["warmup_lr_rate"])
    if name == "cosine_with_restarts":
        cycles = extra.get("num_cycles", 1)
        check_nonnegative("num_cycles", cycles)
        restarts: Schedule
        if is_zero(cycles):
            restarts = jaxlr.constant(lr)
        else:
            restarts = jaxlr.cosine_restarts(lr, length / cycles)
        return jaxlr.join([jaxlr.warmup_then(restarts, warmup), jaxlr.constant(0.0)], [warmup + length])
    return _polynomial(lr, warmup, total, extra.get("lr_end", 1e-7), extra.get("power", 1.0))


def _cosine_one_step_ahead(lr: float, warmup: int, decay: Schedule, warmup_lr_rate: float) -> Schedule:
    """HF's "cosine_warmup_with_min_lr" with a ``warmup_lr_rate`` ``r``: from ``lr·r`` at step 0
    to ``lr`` at ``W - 1`` (``lr·r`` alone when ``W = 1``), then its cosine at ``t - W + 1``."""
    check_nonnegative("warmup_lr_rate", warmup_lr_rate)
    ahead = jaxlr.shift(decay, -1)
    if warmup == 0:
        return ahead
    ramp = jaxlr.constant(lr * warmup_lr_rate) if warmup == 1 else jaxlr.linear(lr * warmup_lr_rate, lr, warmup - 1)
    return jaxlr.join([ramp, ahead], [warmup])


def _min_lr_rate(lr: float, min_lr: float | None, min_lr_rate: float | None) -> float:
    if min_lr is not None and min_lr_rate is not None:
        raise ValueError("cosine_with_min_lr takes one of min_lr and min_lr_rate, got both")
    if min_lr is not None:
        check_nonnegative("min_lr", min_lr)
        return min_lr / lr
    if min_lr_rate is None:
        raise ValueError("cosine_with_min_lr needs min_lr or min_lr_rate in scheduler_specific_kwargs")
    check_nonnegative("min_lr_rate", min_lr_rate)
    return min_lr_rate


def _polynomial(lr: float, warmup: int, total: int, lr_end: float, power: float) -> Schedule:
    if is_concrete((lr, lr_end)) and not lr > lr_end:
        raise ValueError(f"lr_end must be < lr, got lr_end={lr_end} and lr={lr}")
    check_nonnegative("lr_end", lr_end)
    check_nonnegative("power", power)
    if total == warmup:
        raise ValueError(f"polynomial needs num_training_steps != num_warmup_steps, got both {total}: transformers "
                         "divides by zero at that step")
    if total < warmup or is_zero(power):
        # HF: after the warmup, lr_end past T (at once if T < W); power 0 holds lr up to T.
        return jaxlr.join([jaxlr.linear_warmup(lr, warmup), jaxlr.constant(lr_end)], [max(warmup, total + 1)])
    return jaxlr.warmup_then(jaxlr.polynomial(lr, lr_end, total - warmup, power), warmup)


def _warmup_stable_decay(
    lr: float, warmup: int, total: int | None, num_decay_steps: int | None = None,
    num_stable_steps: int | None = None, warmup_type: str = "linear", decay_type: str = "cosine",
    min_lr_ratio: float = 0.0, num_cycles: float = 0.5,
) -> Schedule:
    if num_decay_steps is None:
        raise ValueError("warmup_stable_decay needs num_decay_steps in scheduler_specific_kwargs")
    check_whole("num_decay_steps", num_decay_steps)
    check_choice("warmup_type", warmup_type, SHAPES)
    check_choice("decay_type", decay_type, SHAPES)
    check_nonnegative("min_lr_ratio", min_lr_ratio)
    if decay_type == "cosine" and num_cycles != 0.5:
        raise ValueError(f"warmup_stable_decay: only num_cycles=0.5 (one half cosine) is supported, got {num_cycles}")
    if num_stable_steps is None:
        if total is None:
            raise ValueError("warmup_stable_decay needs num_training_steps or num_stable_steps")
        check_whole("num_training_steps", total)
        stable = total - warmup - num_decay_steps
        if stable < 0:
            raise ValueError(
                f"num_warmup_steps + num_decay_steps must be <= num_training_steps, got {warmup} + {num_decay_steps} "
                f"and {total}: transformers gives a negative stable phase and starts the decay part-way through")
    else:
        if total is not None:
            warnings.warn("Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used.",
                          stacklevel=3)
        check_whole("num_stable_steps", num_stable_steps)
        stable = num_stable_steps
    end = warmup + stable + num_decay_steps
    floor = min_lr_ratio * lr
    if end == 0:
        return jaxlr.constant(floor)
    return jaxlr.wsd(lr, end, warmup, num_decay_steps, init_value=floor, end_value=floor,
                     decay_shape=decay_type, warmup_shape=warmup_type)
