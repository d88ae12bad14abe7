"""Combinators: schedules built from other schedules."""

from __future__ import annotations

import jax

from jaxlr._base import (
    Scalar,
    Schedule,
    as_float,
    check_positive,
    check_schedule,
    floor_div,
    schedule_class,
    static_field,
)


@schedule_class
class per_epoch(Schedule):
    """Evaluates an epoch-based schedule at optimizer steps.

    Formula, with ``E = steps_per_epoch``::

        lr(t) = schedule(floor(t / E))       if staircase (the default)
        lr(t) = schedule(t / E)              otherwise

    Most tutorials (and torch code that calls ``scheduler.step()`` once per epoch) give
    step sizes, milestones and decay lengths in epochs. Write the schedule in epochs and
    wrap it: ``per_epoch(step_decay(0.1, step_size=30), steps_per_epoch=390)`` is torch's
    ``StepLR(step_size=30)`` stepped at the end of each epoch, evaluated at the optax update
    count. With ``staircase=False`` the epoch is fractional, so the decay is smooth within
    an epoch.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.per_epoch(jaxlr.multistep_decay(1.0, milestones=[2], gamma=0.1), steps_per_epoch=100)
        >>> [round(float(s(t)), 4) for t in (0, 199, 200)]
        [1.0, 1.0, 0.1]
    """

    schedule: Schedule
    steps_per_epoch: Scalar
    staircase: bool = static_field(True)

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_positive("steps_per_epoch", self.steps_per_epoch)

    def _value(self, step: jax.Array) -> jax.Array:
        if self.staircase:
            epoch = floor_div(step, self.steps_per_epoch)
        else:
            epoch = as_float(step) / self.steps_per_epoch
        return self.schedule(epoch)
