"""``torch.optim.lr_scheduler``'s schedulers as jaxlr schedules.

torch schedulers scale an optimizer's base rate; here the base rate is the first argument,
``lr``. Step ``t`` is the number of ``scheduler.step()`` calls made before the update, as in
torch (stepped per epoch in many recipes: wrap in :func:`jaxlr.per_epoch`).

Each function accepts what torch accepts and gives torch's values at every step, edge
values included (a length of 0, a factor of 0 or 1), with these exceptions, each of which
raises a ``ValueError`` naming the argument instead: negative factors, rates and
milestones (torch gives negative or never-reached values), fractional step counts (torch's
recursive form then follows neither its formula nor its documentation), and the arguments
at which torch itself divides by zero. Where torch raises, these raise too, with torch's
limits.

    >>> from jaxlr.compat import torch
    >>> s = torch.MultiStepLR(0.1, milestones=[30, 10, 30], gamma=0.5)   # unsorted, repeated
    >>> [round(float(s(t)), 4) for t in (0, 10, 30)]
    [0.1, 0.05, 0.0125]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np

import jaxlr
from jaxlr._base import Schedule, check, check_choice, check_flag, check_nonnegative, check_positive, check_schedule
from jaxlr.compat._checks import check_whole, is_zero


def StepLR(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (t // step_size)``: torch's ``StepLR(optimizer, step_size, gamma)``.

    ``gamma=0`` gives ``lr``, then 0 from ``step_size`` on, as torch.

    Example:
        >>> from jaxlr.compat import torch
        >>> [round(float(torch.StepLR(1.0, 2, 0.5)(t)), 4) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    check_whole("step_size", step_size, minimum=1)
    check_nonnegative("gamma", gamma)
    if is_zero(gamma):
        return jaxlr.piecewise_constant([step_size], [lr, 0.0])
    return jaxlr.step_decay(lr, step_size, gamma)


def MultiStepLR(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """``lr * gamma ** (number of milestones <= t)``: torch's ``MultiStepLR``.

    torch sorts the milestones and a repeated milestone multiplies by ``gamma`` again. A
    milestone at 0 applies from the first step, as in torch. Milestones must be whole
    numbers >= 0 (torch ignores a negative or fractional one: no step count equals it).
    """
    if isinstance(milestones, str) or not isinstance(milestones, Sequence | np.ndarray):
        raise TypeError(f"milestones must be a list of whole numbers, got {milestones!r}")
    for milestone in milestones:
        check_whole("milestones", milestone)
    check_nonnegative("gamma", gamma)
    counts = Counter(int(m) for m in milestones)
    boundaries = sorted(counts)
    values, value = [lr], lr
    for boundary in boundaries:
        value = value * gamma ** counts[boundary]
        values.append(value)
    return jaxlr.piecewise_constant(boundaries, values)


def ConstantLR(lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> Schedule:
    """``lr * factor`` for ``t < total_iters``, then ``lr``: torch's ``ConstantLR``.

    ``factor`` must be in [0, 1], as torch requires. ``total_iters=0`` gives ``lr * factor``
    for ever, as torch (whose first step applies the factor and whose undoing step, at
    ``t == total_iters``, never comes). With ``factor=0`` torch divides by zero at step
    ``total_iters``; this gives ``lr`` there, torch's own closed form.

    Example:
        >>> from jaxlr.compat import torch
        >>> [float(torch.ConstantLR(1.0, 0.5, total_iters=2)(t)) for t in range(4)]
        [0.5, 0.5, 1.0, 1.0]
    """
    check("factor", factor, "in [0, 1]", lambda v: (v >= 0) & (v <= 1))
    check_whole("total_iters", total_iters)
    if is_zero(total_iters):
        return jaxlr.constant(lr * factor)
    return jaxlr.piecewise_constant([total_iters], [lr * factor, lr])


def LinearLR(lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5) -> Schedule:
    """``lr * (s + (e - s) * min(t, T) / T)``: torch's ``LinearLR``.

    torch's limits: ``start_factor`` in (0, 1], ``end_factor`` in [0, 1]. ``total_iters=0``
    gives ``lr * start_factor`` for ever, as torch (its recursive form stops updating once
    ``t > total_iters``).

    Example:
        >>> from jaxlr.compat import torch
        >>> [round(float(torch.LinearLR(1.0, 0.5, 1.0, total_iters=2)(t)), 4) for t in range(4)]
        [0.5, 0.75, 1.0, 1.0]
    """
    check("start_factor", start_factor, "in (0, 1]", lambda v: (v > 0) & (v <= 1))
    check("end_factor", end_factor, "in [0, 1]", lambda v: (v >= 0) & (v <= 1))
    check_whole("total_iters", total_iters)
    if is_zero(total_iters):
        return jaxlr.constant(lr * start_factor)
    return jaxlr.linear(lr * start_factor, lr * end_factor, total_iters)


def ExponentialLR(lr: float, gamma: float) -> Schedule:
    """``lr * gamma ** t``: torch's ``ExponentialLR``. ``gamma=0`` gives ``lr``, then 0."""
    check_nonnegative("gamma", gamma)
    if is_zero(gamma):
        return jaxlr.piecewise_constant([1], [lr, 0.0])
    return jaxlr.exponential_decay(lr, gamma)


def PolynomialLR(lr: float, total_iters: int = 5, power: float = 1.0) -> Schedule:
    """``lr * (1 - min(t, T) / T) ** power``: torch's ``PolynomialLR``.

    ``total_iters=0`` and ``power=0`` give ``lr`` for ever, as torch. A negative ``power``
    raises (torch divides by zero at step ``total_iters``).
    """
    check_whole("total_iters", total_iters)
    check_nonnegative("power", power)
    if is_zero(total_iters) or is_zero(power):
        return jaxlr.constant(lr)
    return jaxlr.polynomial(lr, 0.0, total_iters, power)


def CosineAnnealingLR(lr: float, T_max: int, eta_min: float = 0.0) -> Schedule:
    """``eta_min + (lr - eta_min) * (1 + cos(π t / T_max)) / 2``: torch's ``CosineAnnealingLR``.

    Periodic: after ``T_max`` the rate rises again, with period ``2 * T_max``. ``T_max``
    must be > 0 (torch divides by zero at step 1 for 0), ``eta_min`` >= 0; ``eta_min`` above
    ``lr`` is a cosine rising to it, as in torch.
    """
    check_positive("T_max", T_max)
    check_nonnegative("eta_min", eta_min)
    return jaxlr.cosine_decay(lr, T_max, end_value=eta_min, periodic=True)


def CosineAnnealingWarmRestarts(lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> Schedule:
    """torch's ``CosineAnnealingWarmRestarts``: cosines of ``T_0``, ``T_0 * T_mult``, ... steps.

    torch's limits: ``T_0`` a whole number >= 1, ``T_mult`` a whole number >= 1 (a
    fractional ``T_mult`` such as 1.5 raises, as in torch).
    """
    check_whole("T_0", T_0, minimum=1)
    check_whole("T_mult", T_mult, minimum=1)
    check_nonnegative("eta_min", eta_min)
    return jaxlr.cosine_restarts(lr, T_0, float(T_mult), end_value=eta_min)


CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def CyclicLR(
    base_lr: float, max_lr: float, step_size_up: int = 2000, step_size_down: int | None = None,
    mode: str = "triangular", gamma: float = 1.0,
) -> Schedule:
    """torch's ``CyclicLR`` (the learning rate; momentum cycling is the optimizer's business).

    ``gamma`` is used by ``mode="exp_range"`` only, as in torch; ``gamma=0`` there holds
    ``base_lr``. ``step_size_down=0`` raises: torch gives a sawtooth that never reaches
    ``max_lr``.
    """
    check_choice("mode", mode, CYCLIC_MODES)
    if mode != "exp_range":
        return jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down, mode)
    check_nonnegative("gamma", gamma)
    if is_zero(gamma):
        jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down)  # the same checks on the rest
        return jaxlr.constant(base_lr)
    return jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma)


def OneCycleLR(
    max_lr: float, total_steps: int | None = None, epochs: int | None = None, steps_per_epoch: int | None = None,
    pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0, final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> Schedule:
    """torch's ``OneCycleLR`` (see :class:`jaxlr.one_cycle` for the formula).

    ``total_steps``, or ``epochs * steps_per_epoch``, whole numbers >= 1 as torch requires.
    Differences: ``pct_start`` must be in (0, 1) (torch accepts 0 and 1, whose first or last
    phase is empty); past ``total_steps - 1`` the minimum is held, where torch extrapolates
    its last phase for one more step and then raises; with a first phase of zero length
    (``pct_start * total_steps == 1``) torch divides by zero, this starts at ``max_lr``.
    """
    if total_steps is None:
        if epochs is None or steps_per_epoch is None:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        check_whole("epochs", epochs, minimum=1)
        check_whole("steps_per_epoch", steps_per_epoch, minimum=1)
        total_steps = epochs * steps_per_epoch
    check_whole("total_steps", total_steps, minimum=1)
    check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    check_flag("three_phase", three_phase)
    return jaxlr.one_cycle(max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)


def LambdaLR(lr: float, lr_lambda: Callable) -> Schedule:
    """``lr * lr_lambda(t)``; ``lr_lambda`` must be a JAX-traceable function of the step."""
    check_schedule("lr_lambda", lr_lambda)
    return jaxlr.from_fn(lambda t, lr: lr * lr_lambda(t), lr=lr)


def SequentialLR(schedulers: Sequence[Schedule], milestones: Sequence[int]) -> Schedule:
    """torch's ``SequentialLR``: scheduler ``k`` from ``milestones[k-1]`` on, counting from 0.

    One milestone fewer than schedulers, as torch requires; the milestones must be whole,
    strictly increasing and >= 0 (torch takes unsorted ones and gives a mix).
    """
    if isinstance(milestones, str) or not isinstance(milestones, Sequence | np.ndarray):
        raise TypeError(f"milestones must be a list of whole numbers, got {milestones!r}")
    if len(milestones) != len(schedulers) - 1:
        raise ValueError(f"milestones must have one entry fewer than schedulers, got {len(milestones)} milestones "
                         f"for {len(schedulers)} schedulers")
    for milestone in milestones:
        check_whole("milestones", milestone)
    if any(b <= a for a, b in pairwise(milestones)):
        raise ValueError(f"milestones must be strictly increasing, got {list(milestones)}")
    return jaxlr.join(list(schedulers), list(milestones))
