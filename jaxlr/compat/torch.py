"""``torch.optim.lr_scheduler``'s schedulers as jaxlr schedules.

torch schedulers scale an optimizer's base rate; here the base rate is the first argument,
``lr``. Step ``t`` is the number of ``scheduler.step()`` calls made before the update, as in
torch (stepped per epoch in many recipes: wrap in :func:`jaxlr.per_epoch`).

    >>> from jaxlr.compat import torch
    >>> s = torch.MultiStepLR(0.1, milestones=[30, 10, 30], gamma=0.5)   # unsorted, repeated
    >>> [round(float(s(t)), 4) for t in (0, 10, 30)]
    [0.1, 0.05, 0.0125]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import jaxlr
from jaxlr._base import Schedule


def StepLR(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    return jaxlr.step_decay(lr, step_size, gamma)


def MultiStepLR(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """torch sorts the milestones and a repeated milestone multiplies by ``gamma`` again."""
    counts = Counter(int(m) for m in milestones)
    boundaries = sorted(counts)
    values, value = [lr], lr
    for boundary in boundaries:
        value *= gamma ** counts[boundary]
        values.append(value)
    return jaxlr.piecewise_constant(boundaries, values)


def ConstantLR(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    return jaxlr.piecewise_constant([total_iters], [lr * factor, lr])


def LinearLR(lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5) -> Schedule:
    return jaxlr.linear(lr * start_factor, lr * end_factor, total_iters)


def ExponentialLR(lr: float, gamma: float) -> Schedule:
    return jaxlr.exponential_decay(lr, gamma)


def PolynomialLR(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    return jaxlr.polynomial(lr, 0.0, total_iters, power)


def CosineAnnealingLR(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """Periodic: after ``T_max`` the rate rises again, with period ``2 * T_max``."""
    return jaxlr.cosine_decay(lr, T_max, end_value=eta_min, periodic=True)


def CosineAnnealingWarmRestarts(lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    return jaxlr.cosine_restarts(lr, T_0, float(T_mult), end_value=eta_min)


def CyclicLR(
    base_lr: float, max_lr: float, step_size_up: int = 2000, step_size_down: int | None = None,
    mode: str = "triangular", gamma: float = 1.0,
) -> Schedule:
    return jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma)


def OneCycleLR(
    max_lr: float, total_steps: int | None = None, epochs: int | None = None, steps_per_epoch: int | None = None,
    pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0, final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        total_steps = epochs * steps_per_epoch
    return jaxlr.one_cycle(max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)


def LambdaLR(lr: float, lr_lambda: Callable) -> Schedule:
    """``lr * lr_lambda(t)``; ``lr_lambda`` must be a JAX-traceable function of the step."""
    return jaxlr.from_fn(lambda t, lr: lr * lr_lambda(t), lr=lr)


def SequentialLR(schedulers: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    return jaxlr.join(list(schedulers), list(milestones))
