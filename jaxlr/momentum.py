"""Momentum schedules: torch's cycled momentum, and a rate that carries its momentum.

torch's ``OneCycleLR`` and ``CyclicLR`` cycle the momentum (SGD's ``momentum``, Adam's
``beta1``) opposite to the rate by default, as fastai's one-cycle does. optax takes a
schedule for any numeric hyperparameter through ``optax.inject_hyperparams``::

    rate = jaxlr.one_cycle(0.1, total_steps=1000)
    momentum = jaxlr.one_cycle_momentum(total_steps=1000)
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=rate, momentum=momentum)
    adam = optax.inject_hyperparams(optax.adam)(learning_rate=rate, b1=momentum)

and :func:`jaxlr.current_hyperparam` reads the value an update used back from the state.
"""

from __future__ import annotations

import jax
from jax.typing import ArrayLike

from jaxlr._base import Scalar, Schedule, check, check_schedule, schedule_class, static_field
from jaxlr.cyclic import check_cycle, check_one_cycle, cyclic_value, one_cycle_value


def check_momentum(name: str, value: Scalar) -> None:
    """A momentum (SGD's ``momentum``, Adam's ``b1``) in [0, 1]."""
    check(name, value, "in [0, 1]", lambda v: (v >= 0) & (v <= 1))


@schedule_class
class one_cycle_momentum(Schedule):
    """The momentum of torch's ``OneCycleLR``: down while the rate goes up, and back.

    With ``T = total_steps`` and ``p = pct_start``, the phases end where :class:`jaxlr.one_cycle`'s
    do: from ``max_momentum`` down to ``base_momentum`` by step ``p·T - 1``, then up to
    ``max_momentum`` by ``T - 1``; with ``three_phase=True`` down by ``p·T - 1``, up by
    ``2·p·T - 2``, then ``max_momentum`` held through the third phase. Within a phase from
    ``a`` to ``b`` with fraction ``q`` done: ``b + (a - b)·½(1 + cos πq)`` (``anneal="cos"``) or
    ``a + (b - a)·q`` (``"linear"``). After ``T - 1``, ``max_momentum`` is held.

    Matches the momentum (SGD) or ``beta1`` (Adam) that torch ``OneCycleLR(total_steps,
    pct_start, anneal_strategy, cycle_momentum=True, base_momentum, max_momentum,
    three_phase)`` sets at every step it accepts (torch raises past ``total_steps``). Both
    momenta must be in [0, 1]; ``base_momentum`` above ``max_momentum`` moves with the rate,
    as in torch.

    Args:
        total_steps: ``T``, the steps of the whole cycle (> 0).
        base_momentum: the momentum at the rate's peak, in [0, 1].
        max_momentum: the momentum at the start and the end, in [0, 1].
        pct_start: the fraction of ``T`` spent while the rate rises, in (0, 1).
        anneal: "cos" (cosine phases) or "linear".
        three_phase: False for down then up to the end; True for down, back up, then held.

    Example:
        >>> import jaxlr
        >>> m = jaxlr.one_cycle_momentum(total_steps=11, pct_start=0.5, anneal="linear")
        >>> [round(float(m(t)), 4) for t in (0, 2, 4.5, 10, 20)]
        [0.95, 0.9056, 0.85, 0.95, 0.95]
    """

    total_steps: Scalar
    base_momentum: Scalar = 0.85
    max_momentum: Scalar = 0.95
    pct_start: Scalar = 0.3
    anneal: str = static_field(default="cos")
    three_phase: bool = static_field(default=False)

    def _check(self) -> None:
        check_momentum("base_momentum", self.base_momentum)
        check_momentum("max_momentum", self.max_momentum)
        check_one_cycle(self.total_steps, self.pct_start, self.anneal)

    def _value(self, step: jax.Array) -> ArrayLike:
        high, low = self.max_momentum, self.base_momentum
        return one_cycle_value(step, self.total_steps, self.pct_start, self.anneal, self.three_phase,
                               (high, low, high, high))


@schedule_class
class cyclic_momentum(Schedule):
    """The momentum of torch's ``CyclicLR``: from ``max_momentum`` down to ``base_momentum``
    while the rate rises, and back.

    With ``ramp`` the triangle of :class:`jaxlr.cyclic` (0 at a cycle's start, 1 after
    ``step_size_up`` steps, 0 again after ``step_size_down`` more) and ``g`` its amplitude
    scale (1, ``0.5**cycle`` for "triangular2", ``gamma**t`` for "exp_range")::

        momentum = max_momentum - (max_momentum - base_momentum) * ramp * g

    Matches the momentum (SGD) or ``beta1`` (Adam) that torch ``CyclicLR(step_size_up,
    step_size_down, mode, gamma, cycle_momentum=True, base_momentum, max_momentum)`` sets at
    every step. Both momenta must be in [0, 1]. torch's defaults are ``base_momentum=0.8``,
    ``max_momentum=0.9``.

    Args:
        base_momentum: the momentum at the rate's top, in [0, 1].
        max_momentum: the momentum at the rate's bottom, in [0, 1].
        step_size_up: the rate's rise's length in steps (> 0).
        step_size_down: the rate's fall's length in steps (> 0); None for ``step_size_up``.
        mode: "triangular", "triangular2" (amplitude halved each cycle) or "exp_range"
            (scaled by ``gamma ** t``), as the rate's.
        gamma: the amplitude's factor per step in "exp_range" mode (> 0).

    Example:
        >>> import jaxlr
        >>> m = jaxlr.cyclic_momentum(0.8, 0.9, step_size_up=4, mode="triangular2")
        >>> [round(float(m(t)), 4) for t in (0, 2, 4, 8, 12)]
        [0.9, 0.85, 0.8, 0.9, 0.85]
    """

    base_momentum: Scalar
    max_momentum: Scalar
    step_size_up: Scalar
    step_size_down: Scalar | None = None
    mode: str = static_field(default="triangular")
    gamma: Scalar = 1.0

    def _check(self) -> None:
        check_momentum("base_momentum", self.base_momentum)
        check_momentum("max_momentum", self.max_momentum)
        check_cycle(self.max_momentum, self.base_momentum, self.step_size_up, self.step_size_down, self.mode,
                    self.gamma)

    def _value(self, step: jax.Array) -> ArrayLike:
        return cyclic_value(step, self.max_momentum, self.base_momentum, self.step_size_up, self.step_size_down,
                            self.mode, self.gamma)


@schedule_class
class with_momentum(Schedule):
    """A learning-rate schedule that carries the momentum schedule that goes with it.

    Its value is ``schedule(t)``, the rate, so it is used wherever a rate is; ``.momentum``
    is the momentum (or Adam ``b1``) schedule of the same recipe, for
    ``optax.inject_hyperparams``. ``jaxlr.compat.torch``'s ``OneCycleLR`` and ``CyclicLR``
    return one, as torch's schedulers set both::

        s = jaxlr.compat.torch.OneCycleLR(0.1, total_steps=1000)
        optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=s, momentum=s.momentum)

    Args:
        schedule: the learning-rate schedule (its value is this schedule's value).
        momentum: the momentum schedule that goes with it, read as ``.momentum``.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.with_momentum(jaxlr.one_cycle(1.0, 100), jaxlr.one_cycle_momentum(100))
        >>> round(float(s(29)), 4), round(float(s.momentum(29)), 4)
        (1.0, 0.85)
    """

    schedule: Schedule
    momentum: Schedule

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_schedule("momentum", self.momentum)

    def _value(self, step: jax.Array) -> jax.Array:
        return self.schedule(step)
