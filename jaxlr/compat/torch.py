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

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import jax
import numpy as np
import optax

import jaxlr
from jaxlr._base import (
    Schedule,
    _format,
    as_float,
    check,
    check_choice,
    check_flag,
    check_nonnegative,
    check_positive,
    check_schedule,
)
from jaxlr.compat._checks import check_whole, is_zero
from jaxlr.cyclic import CYCLIC_MODES, cycle_index, cycle_ramp
from jaxlr.momentum import check_momentum

__all__ = [
    "SWALR",
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


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


@dataclasses.dataclass(frozen=True)
class _CycleScale:
    """torch's ``CyclicLR`` with a ``scale_fn``: ``start + (peak - start) * ramp * scale_fn(x)``,
    ``x`` the 1-based cycle number (``scale_mode="cycle"``) or the step ("iterations").
    Equal for equal ``scale_fn`` and mode, so that equal schedules share a compiled program."""

    scale_fn: Callable
    scale_mode: str

    def __call__(self, step: Any, start: Any, peak: Any, step_size_up: Any, step_size_down: Any) -> jax.Array:
        if self.scale_mode == "cycle":
            x = cycle_index(step, step_size_up, step_size_down) + 1.0
        else:
            x = as_float(step)
        return start + (peak - start) * cycle_ramp(step, step_size_up, step_size_down) * self.scale_fn(x)

    def __repr__(self) -> str:
        return f"CyclicLR.scale_fn({_format(self.scale_fn)}, scale_mode={self.scale_mode!r})"


def CyclicLR(
    base_lr: float, max_lr: float, step_size_up: int = 2000, step_size_down: int | None = None,
    mode: str = "triangular", gamma: float = 1.0, scale_fn: Callable[[Any], Any] | None = None,
    scale_mode: str = "cycle", cycle_momentum: bool = True, base_momentum: float = 0.8, max_momentum: float = 0.9,
) -> Schedule:
    """torch's ``CyclicLR``: the rate, and with ``cycle_momentum`` (torch's default) the momentum.

    The rate is :class:`jaxlr.cyclic`. With ``cycle_momentum=True`` the result is a
    :class:`jaxlr.with_momentum`: its value is the rate, and its ``.momentum`` the
    :class:`jaxlr.cyclic_momentum` torch sets, from ``max_momentum`` down to ``base_momentum``
    while the rate rises (SGD's ``momentum``, Adam's ``b1``)::

        s = torch.CyclicLR(0.01, 0.1, step_size_up=2000)
        optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=s, momentum=s.momentum)

    ``scale_fn`` replaces ``mode``'s amplitude scale, as in torch: ``scale_fn(cycle)`` with the
    1-based cycle number (``scale_mode="cycle"``) or ``scale_fn(t)`` (``"iterations"``); it
    must be a JAX-traceable function (it gets a float array; torch passes a Python number),
    and the result is a :class:`jaxlr.from_fn`. ``gamma`` is used by ``mode="exp_range"``
    only, as in torch; ``gamma=0`` there holds ``base_lr`` (and ``max_momentum``).
    ``step_size_down=0`` raises: torch gives a sawtooth that never reaches ``max_lr``.
    ``scale_mode`` must be "cycle" or "iterations" (torch takes any other string for
    "iterations"), and both momenta must be in [0, 1].
    """
    check_flag("cycle_momentum", cycle_momentum)
    if scale_fn is not None:
        check_schedule("scale_fn", scale_fn)
        check_choice("scale_mode", scale_mode, ("cycle", "iterations"))
    else:
        check_choice("mode", mode, CYCLIC_MODES)
        if mode == "exp_range":
            check_nonnegative("gamma", gamma)
    gamma = gamma if mode == "exp_range" and scale_fn is None else 1.0
    jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down, "triangular")  # the checks, with torch's names

    def scaled_or_constant(start: float, peak: float) -> Schedule:
        if scale_fn is None:  # exp_range's 0**t: the start for ever (the ramp is 0 at t = 0)
            return jaxlr.constant(start)
        down = step_size_up if step_size_down is None else step_size_down
        return jaxlr.from_fn(_CycleScale(scale_fn, scale_mode), start=start, peak=peak, step_size_up=step_size_up,
                             step_size_down=down)

    plain = scale_fn is None and not is_zero(gamma)
    rate: Schedule
    momentum: Schedule
    if plain:
        rate = jaxlr.cyclic(base_lr, max_lr, step_size_up, step_size_down, mode, gamma)
    else:
        rate = scaled_or_constant(base_lr, max_lr)
    if not cycle_momentum:
        return rate
    check_momentum("base_momentum", base_momentum)
    check_momentum("max_momentum", max_momentum)
    if plain:
        momentum = jaxlr.cyclic_momentum(base_momentum, max_momentum, step_size_up, step_size_down, mode, gamma)
    else:
        momentum = scaled_or_constant(max_momentum, base_momentum)
    return jaxlr.with_momentum(rate, momentum)


def OneCycleLR(
    max_lr: float, total_steps: int | None = None, epochs: int | None = None, steps_per_epoch: int | None = None,
    pct_start: float = 0.3, anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
    max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
) -> Schedule:
    """torch's ``OneCycleLR``: the rate, and with ``cycle_momentum`` (torch's default) the momentum.

    The rate is :class:`jaxlr.one_cycle` (see it for the formula). With
    ``cycle_momentum=True`` the result is a :class:`jaxlr.with_momentum`: its value is the
    rate, and its ``.momentum`` the :class:`jaxlr.one_cycle_momentum` torch sets, from
    ``max_momentum`` down to ``base_momentum`` while the rate rises, and back (SGD's
    ``momentum``, Adam's ``b1``)::

        s = torch.OneCycleLR(0.1, total_steps=1000)
        optimizer = optax.inject_hyperparams(optax.adam)(learning_rate=s, b1=s.momentum)

    The arguments are torch's, in torch's order. ``total_steps``, or ``epochs *
    steps_per_epoch``, whole numbers >= 1 as torch requires. Differences: ``pct_start`` must
    be in (0, 1) (torch accepts 0 and 1, whose first or last phase is empty); past
    ``total_steps - 1`` the minimum (and ``max_momentum``) is held, where torch extrapolates
    its last phase for one more step and then raises; with a first phase of zero length
    (``pct_start * total_steps == 1``) torch divides by zero, this starts at ``max_lr``; both
    momenta must be in [0, 1].
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
    check_flag("cycle_momentum", cycle_momentum)
    rate = jaxlr.one_cycle(max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)
    if not cycle_momentum:
        return rate
    momentum = jaxlr.one_cycle_momentum(total_steps, base_momentum, max_momentum, pct_start, anneal_strategy,
                                        three_phase)
    return jaxlr.with_momentum(rate, momentum)


@dataclasses.dataclass(frozen=True, repr=False)
class _Scaled:
    """``lr * lr_lambda(t)``, equal to another for the same ``lr_lambda``: LambdaLRs built
    with one function then have one pytree structure, and share one compiled evaluation
    (under ``jit`` with the schedule as an argument, and for eager calls) whatever ``lr``."""

    lr_lambda: Callable

    def __call__(self, t: Any, lr: Any) -> Any:
        return lr * self.lr_lambda(t)

    def __repr__(self) -> str:  # what from_fn's repr shows
        return f"lr * {getattr(self.lr_lambda, '__qualname__', repr(self.lr_lambda))}"


def LambdaLR(lr: float, lr_lambda: Callable) -> Schedule:
    """``lr * lr_lambda(t)``; ``lr_lambda`` must be a JAX-traceable function of the step.

    Schedules built with the same ``lr_lambda`` object share their compiled evaluation: a
    new ``lr`` does not compile again.

    Example:
        >>> from jaxlr.compat import torch
        >>> s = torch.LambdaLR(0.1, lambda t: 0.5 ** (t // 10))
        >>> [round(float(s(t)), 4) for t in (0, 10, 25)]
        [0.1, 0.05, 0.025]
    """
    check_schedule("lr_lambda", lr_lambda)
    return jaxlr.from_fn(_Scaled(lr_lambda), lr=lr)


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


def ChainedScheduler(schedulers: Sequence[Schedule], lr: float) -> Schedule:
    """torch's ``ChainedScheduler``: every scheduler's factor applied at every step.

    torch's schedulers share one optimizer, so here each is built with the same rate ``lr``
    (which takes the optimizer's place, as ``lr`` does in every function here); the result
    is ``lr * prod(s(t) / lr)``, a :class:`jaxlr.multiply` of them. It equals torch for the
    schedulers whose step multiplies the current rate by a factor of the step alone (the
    chainable ones): ``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``,
    ``ExponentialLR``, ``PolynomialLR``, ``MultiplicativeLR``. torch chains the others in
    other ways, which a product does not follow: ``LambdaLR`` and ``OneCycleLR`` set the rate
    outright, and ``CosineAnnealingLR`` multiplies only up to ``T_max`` (with ``eta_min=0``),
    then adds a step of its base rate at each minimum.

    Example:
        >>> from jaxlr.compat import torch
        >>> s = torch.ChainedScheduler([torch.ConstantLR(0.1, 0.5, 2), torch.ExponentialLR(0.1, 0.5)], lr=0.1)
        >>> [round(float(s(t)), 4) for t in range(4)]
        [0.05, 0.025, 0.025, 0.0125]
    """
    if isinstance(schedulers, str) or not isinstance(schedulers, Sequence) or not schedulers:
        raise TypeError(f"schedulers must be a non-empty list of schedules, got {schedulers!r}")
    for scheduler in schedulers:
        check_schedule("schedulers", scheduler)
    check_positive("lr", lr)
    chained = schedulers[0]
    for scheduler in schedulers[1:]:
        chained = jaxlr.multiply(chained, jaxlr.scale(scheduler, 1.0 / lr))
    return chained


def MultiplicativeLR(lr: float, lr_lambda: Callable[[int], float], total_steps: int | None = None) -> Schedule:
    """torch's ``MultiplicativeLR``: ``lr * lr_lambda(1) * … * lr_lambda(t)``, ``lr`` at ``t = 0``.

    A factor that does not depend on the epoch (``lambda epoch: 0.95``, found by calling
    ``lr_lambda`` on a traced epoch) is the closed form ``lr * factor**t``, exact at every
    step (:func:`ExponentialLR`). Any other ``lr_lambda`` is called as torch calls it, with
    the Python ints ``1 .. total_steps - 1`` (so Python control flow in it is fine), and the
    running product, taken in float64 as torch does, is tabulated for steps ``0 ..
    total_steps - 1`` as a :class:`jaxlr.piecewise_constant`; after that, its last value is
    held (torch goes on multiplying), and ``total_steps`` is required for it. Rates below
    float32's smallest normal number (about 1.2e-38) are 0, as XLA flushes them. A negative
    or non-finite factor raises, naming the epoch.

    Example:
        >>> from jaxlr.compat import torch
        >>> s = torch.MultiplicativeLR(1.0, lambda epoch: 0.5 if epoch % 2 else 1.0, total_steps=6)
        >>> [float(s(t)) for t in range(8)]
        [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.125]
        >>> torch.MultiplicativeLR(1.0, lambda epoch: 0.9)
        exponential_decay(init_value=1.0, decay_rate=0.9)
    """
    if not callable(lr_lambda):
        raise TypeError(f"lr_lambda must be a function of the epoch, got {lr_lambda!r}")
    factor = _constant_factor(lr_lambda)
    if factor is not None:
        return ExponentialLR(lr, factor)
    if total_steps is None:
        raise ValueError("MultiplicativeLR needs total_steps to tabulate an lr_lambda that depends on the epoch "
                         "(a constant factor needs none)")
    check_whole("total_steps", total_steps, minimum=1)
    check_nonnegative("lr", lr)
    values, value = [float(lr)], float(lr)
    for epoch in range(1, int(total_steps)):
        factor = lr_lambda(epoch)
        check_nonnegative(f"lr_lambda({epoch})", factor)
        value = value * float(factor)
        values.append(value)
    tiny = float(np.finfo(np.float32).tiny)
    values = [v if v >= tiny else 0.0 for v in values]
    if len(values) == 1:
        return jaxlr.constant(values[0])
    return jaxlr.piecewise_constant(list(range(1, len(values))), values)


def _constant_factor(lr_lambda: Callable) -> float | None:
    """``lr_lambda``'s value if it does not depend on its argument, else None: called on a
    traced epoch, a function of the epoch returns a tracer or fails (Python control flow on
    it, ``math`` functions), a constant returns its number."""
    seen: list[Any] = []

    def probe(epoch: jax.Array) -> jax.Array:
        seen.append(lr_lambda(epoch))
        return epoch

    try:
        jax.eval_shape(probe, jax.ShapeDtypeStruct((), np.int32))
    except Exception:  # whatever a function of a Python int raises on a tracer
        return None
    value = seen[0] if seen else None
    if isinstance(value, bool) or isinstance(value, jax.core.Tracer) or not isinstance(
            value, int | float | np.number | np.ndarray | jax.Array) or np.ndim(value) != 0:
        return None
    return float(value)


def SWALR(lr: float, swa_lr: float, anneal_epochs: int = 10, anneal_strategy: str = "cos") -> Schedule:
    """torch's ``SWALR`` (``torch.optim.swa_utils``): from ``lr`` to ``swa_lr`` over
    ``anneal_epochs`` steps, then ``swa_lr``.

    ``lr`` is the rate when SWALR starts (the optimizer's, or what the schedule before it
    left). torch's step is recursive: it recovers the start from the current rate,
    ``(lr_prev - α_prev·swa_lr) / (1 - α_prev)``, and gives ``swa_lr·α + start·(1 - α)`` with
    ``α = anneal(min(t / anneal_epochs, 1))``; its closed form is ``lr + (swa_lr - lr)·α``:
    with ``anneal_strategy="cos"``, ``α = (1 - cos(π·q)) / 2``, a :class:`jaxlr.cosine_decay`
    from ``lr`` to ``swa_lr``; with "linear", ``α = q``, a :class:`jaxlr.linear`.
    ``anneal_epochs=0`` is ``swa_lr`` from the first step, as torch.

    SWA after another schedule, as in torch's example (``if epoch > swa_start:
    swa_scheduler.step() else: scheduler.step()``): the epoch ``swa_start + 1`` still has the
    other schedule's rate, and is SWALR's step 0, so the rate of each epoch is
    ``join([schedule, SWALR(schedule(swa_start + 1), swa_lr, ...)], [swa_start + 1])``
    (tested). That holds for ``anneal_epochs >= 1``: with 0, torch's SWALR sets ``swa_lr``
    when it is built, under the other schedule too.

    Example:
        >>> from jaxlr.compat import torch
        >>> s = torch.SWALR(1.0, swa_lr=0.5, anneal_epochs=4, anneal_strategy="linear")
        >>> [float(s(t)) for t in range(6)]
        [1.0, 0.875, 0.75, 0.625, 0.5, 0.5]
    """
    check_nonnegative("lr", lr)
    check_nonnegative("swa_lr", swa_lr)
    check_whole("anneal_epochs", anneal_epochs)
    check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    if is_zero(anneal_epochs):
        return jaxlr.constant(swa_lr)
    if anneal_strategy == "cos":
        return jaxlr.cosine_decay(lr, anneal_epochs, end_value=swa_lr)
    return jaxlr.linear(lr, swa_lr, anneal_epochs)


def ReduceLROnPlateau(
    lr: float, mode: str = "min", factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
    threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8,
) -> optax.GradientTransformationExtraArgs:
    """torch's ``ReduceLROnPlateau`` as :func:`jaxlr.reduce_on_plateau`, at the rate ``lr``.

    An optax transformation, not a schedule: chain it after the optimizer whose rate is
    ``lr`` and pass the monitored value (``scheduler.step(metric)``) as ``value=``::

        optimizer = optax.chain(optax.sgd(0.1), torch.ReduceLROnPlateau(0.1, patience=5))
        updates, state = optimizer.update(grads, state, params, value=val_loss)

    It is ``reduce_on_plateau(factor, patience, threshold, threshold_mode, mode, cooldown,
    min_scale=min_lr / lr, eps, base_lr=lr)``: torch's decisions and rates at every
    observation (``jaxlr.current_lr`` reads the rate back). Differences: ``factor`` must be in
    (0, 1) (torch takes 0 too), ``min_lr`` is one number (torch also takes one per group),
    a NaN value is ignored (torch counts it as bad), and the relative threshold is taken of
    ``|best|`` (the same for positive values; see :func:`jaxlr.reduce_on_plateau`).
    """
    check_positive("lr", lr)
    check_nonnegative("min_lr", min_lr)
    return jaxlr.reduce_on_plateau(factor, patience, threshold, threshold_mode, mode, cooldown, min_lr / lr, eps,
                                   base_lr=lr)
