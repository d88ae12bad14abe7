"""Warmup families: ramps to a peak, and warmup followed by a decay.

The ``t < warmup_steps`` switch has the semantics of ``optax.join_schedules``: the decay
sees ``t - warmup_steps`` and takes over at ``t >= warmup_steps``. Every branch is
evaluated at every step (that is how ``jnp.where`` works under ``jit``), so each is kept
finite, with finite gradients, where it is not selected.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxlr._base import (
    Scalar,
    Schedule,
    as_float,
    blend,
    check_choice,
    check_less,
    check_nonnegative,
    check_positive,
    check_schedule,
    linear_ramp,
    log_of,
    progress,
    remaining,
    schedule_class,
    static_field,
    step_reached,
    sub_steps,
)
from jaxlr.decay import cosine_value, exponential_value

WARMUP_SHAPES = ("linear", "cosine", "1-sqrt", "exponential")


def warmup_value(init: Scalar, peak: Scalar, t: jax.Array, length: Scalar, shape: str) -> jax.Array:
    """The warmup from ``init`` to ``peak`` over ``length`` steps, in one of WARMUP_SHAPES.

    With ``q = min(t, length) / length``: linear ``q``; cosine ``½(1 - cos πq)``; 1-sqrt
    ``1 - sqrt(1 - q)`` (Hugging Face's warmup shapes); exponential
    ``init * (peak / init) ** q`` (geometric, needs ``init > 0``).
    """
    if shape == "linear":
        return linear_ramp(init, peak, t, length)
    q = progress(t, length)
    if shape == "exponential":
        # Through logarithms: the ratio peak / init can overflow float32 (or flush to 0)
        # where both values are fine.
        target = jnp.where(peak > 0, peak, init)
        log_init = log_of(init)
        value = jnp.exp(log_init + q * (jnp.log(target) - log_init))
        return jnp.where(q >= 1, target, jnp.where(q <= 0, init, value))
    r = remaining(t, length)
    if shape == "cosine":
        # ½(1 - cos πq) and its complement, without cancellation at either end.
        return blend(peak, init, jnp.sin(0.5 * jnp.pi * q) ** 2, jnp.sin(0.5 * jnp.pi * r) ** 2)
    # 1 - sqrt(1 - q) = q / (1 + sqrt(r)), whose complement is exactly sqrt(r).
    root = jnp.sqrt(r)
    return blend(peak, init, q / (1.0 + root), root)


@schedule_class
class linear_warmup(Schedule):
    """Linear ramp from ``init_value`` to ``peak_value`` over ``warmup_steps``, then hold.

    Formula: ``lr(t) = init + (peak - init) * min(t, W) / W`` (``peak`` when ``W = 0``).

    Matches Hugging Face ``get_constant_schedule_with_warmup`` (with ``init_value=0``) and
    ``optax.linear_schedule(init_value, peak_value, warmup_steps)``.

    Args:
        peak_value: the value at the end of the warmup, held after it (>= 0).
        warmup_steps: ``W``, the ramp's length in steps (>= 0; 0 starts at the peak).
        init_value: the value at step 0 (>= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.linear_warmup(1.0, warmup_steps=4)
        >>> [float(s(t)) for t in (0, 1, 4, 9)]
        [0.0, 0.25, 1.0, 1.0]
    """

    _argument_fields = ("peak_value", "init_value")

    peak_value: Scalar
    warmup_steps: Scalar
    init_value: Scalar = 0.0

    def _check(self) -> None:
        check_nonnegative("peak_value", self.peak_value)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_nonnegative("init_value", self.init_value)

    def _value(self, step: jax.Array) -> jax.Array:
        return linear_ramp(self.init_value, self.peak_value, step, self.warmup_steps)


@schedule_class
class exponential_warmup(Schedule):
    """Geometric ramp from ``init_value`` to ``peak_value`` over ``warmup_steps``, then hold.

    Formula: ``lr(t) = init * (peak / init) ** (min(t, W) / W)``; both values must be > 0.

    Args:
        peak_value: the value at the end of the warmup, held after it (> 0).
        warmup_steps: ``W``, the ramp's length in steps (>= 0).
        init_value: the value at step 0 (> 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.exponential_warmup(1.0, warmup_steps=2, init_value=0.01)
        >>> [round(float(s(t)), 4) for t in (0, 1, 2, 5)]
        [0.01, 0.1, 1.0, 1.0]
    """

    _argument_fields = ("peak_value",)

    peak_value: Scalar
    warmup_steps: Scalar
    init_value: Scalar

    def _check(self) -> None:
        check_positive("peak_value", self.peak_value)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_positive("init_value", self.init_value)

    def _value(self, step: jax.Array) -> jax.Array:
        return warmup_value(self.init_value, self.peak_value, step, self.warmup_steps, "exponential")


@schedule_class
class warmup_then(Schedule):
    """A warmup from ``init_value``, then ``schedule``: started after the warmup (the
    default), or on its own clock from step 0 (``shift=False``).

    Formula, with ``W = warmup_steps`` and ``q = t / W``::

        shift=True:   lr(t) = warmup(init, schedule(0), q)   for t < W
                      lr(t) = schedule(t - W)                 for t >= W
        shift=False:  lr(t) = warmup(init, schedule(t), q)   for t < W
                      lr(t) = schedule(t)                     for t >= W

    ``shift=True`` delays the schedule by ``W`` (as :func:`jaxlr.shift` does): its
    milestones, decay length and cycles count from the end of the warmup. It equals
    ``optax.join_schedules([linear_warmup(schedule(0), W, init_value), schedule], [W])`` and
    torch's ``SequentialLR([LinearLR, scheduler], milestones=[W])``. ``shift=False`` keeps
    the schedule's steps absolute: ``multistep_decay(lr, [30 * E, 60 * E, 90 * E])`` drops
    at epochs 30, 60 and 90 after a 5-epoch warmup, where ``shift=True`` moves the drops to
    epochs 35, 65 and 95. The warmup then ramps to the schedule's value at the current
    step, so the two meet at ``W`` for any schedule. It is torch's
    ``ChainedScheduler([LinearLR(start_factor=s, total_iters=W), MultiStepLR(milestones)])``
    with ``init_value = s * lr`` (exactly, whenever the schedule holds its value through the
    warmup, as a multistep decay with milestones after it does; with ``init_value=0`` and
    a linear warmup, for any schedule: ``schedule(t) * t / W``, torch's product of
    factors), and timm's ``warmup_prefix=False``.

    Args:
        schedule: the schedule after the warmup. Pass a jaxlr schedule to keep the result a
            pytree (passable to a jitted function); a plain function of the step also works,
            closed over.
        warmup_steps: ``W``, the warmup's length in steps (0: no warmup).
        init_value: the value at step 0 (>= 0; > 0 for the exponential shape).
        shape: the warmup's curve: "linear" (``q``), "cosine" (``½(1 - cos πq)``), "1-sqrt"
            (``1 - sqrt(1 - q)``) or "exponential" (geometric from ``init_value``).
        shift: True to start ``schedule`` at the warmup's end (it sees ``t - W``), False to
            run it from step 0 (it sees ``t``; its milestones stay at absolute steps).

    Keras' ``CosineDecay(initial, decay_steps, alpha, warmup_target=peak, warmup_steps=W)``
    is ``warmup_then(cosine_decay(peak, decay_steps, alpha * peak), W, initial)``: Keras'
    ``decay_steps`` excludes the warmup.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.warmup_then(jaxlr.cosine_decay(1.0, decay_steps=10), warmup_steps=5)
        >>> [round(float(s(t)), 4) for t in (0, 1, 5, 10, 15)]
        [0.0, 0.2, 1.0, 0.5, 0.0]
        >>> drops = jaxlr.multistep_decay(1.0, milestones=[30, 60])
        >>> shifted = jaxlr.warmup_then(drops, warmup_steps=5)
        >>> absolute = jaxlr.warmup_then(drops, warmup_steps=5, shift=False)
        >>> [round(float(shifted(t)), 4) for t in (0, 29, 30, 35, 60, 65)]
        [0.0, 1.0, 1.0, 0.1, 0.1, 0.01]
        >>> [round(float(absolute(t)), 4) for t in (0, 29, 30, 35, 60, 65)]
        [0.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    schedule: Schedule | Callable[[jax.Array], jax.Array]
    warmup_steps: Scalar
    init_value: Scalar = 0.0
    shape: str = static_field(default="linear")
    shift: bool = static_field(default=True)

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_choice("shape", self.shape, WARMUP_SHAPES)
        if self.shape == "exponential":
            check_positive("init_value", self.init_value)
        else:
            check_nonnegative("init_value", self.init_value)

    def _value(self, step: jax.Array) -> jax.Array:
        if self.shift:
            peak = self.schedule(jnp.zeros((), jnp.int32))
            after = self.schedule(sub_steps(step, self.warmup_steps))  # integer, so a periodic phase stays exact
        else:
            peak = after = self.schedule(step)
        warmup = warmup_value(self.init_value, peak, step, self.warmup_steps, self.shape)
        return jnp.where(step_reached(step, self.warmup_steps), after, warmup)


@schedule_class
class _warmup_decay(Schedule):
    """Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``, then a
    decay from ``peak_value`` to ``end_value`` at ``total_steps`` (which includes the
    warmup); subclasses give the decay's shape."""

    _argument_fields = ("peak_value", "init_value", "end_value")

    peak_value: Scalar
    warmup_steps: Scalar
    total_steps: Scalar
    init_value: Scalar = 0.0
    end_value: Scalar = 0.0

    def _check(self) -> None:
        check_nonnegative("peak_value", self.peak_value)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_positive("total_steps", self.total_steps)
        # A warmup that ends at the total never reaches its peak (the decay has no steps
        # left): optax raises for it too.
        check_less("warmup_steps", self.warmup_steps, "total_steps", self.total_steps)
        check_nonnegative("init_value", self.init_value)
        check_nonnegative("end_value", self.end_value)

    def _decay(self, left: jax.Array, done: jax.Array) -> jax.Array:
        """The decay, given the fractions of it left and done (1 and 0 at the warmup's end)."""
        raise NotImplementedError

    def _value(self, step: jax.Array) -> jax.Array:
        warmup = linear_ramp(self.init_value, self.peak_value, step, self.warmup_steps)
        after = jnp.maximum(as_float(step) - self.warmup_steps, 0.0)
        length = self.total_steps - self.warmup_steps
        decay = self._decay(remaining(after, length), progress(after, length))
        return jnp.where(as_float(step) < self.warmup_steps, warmup, decay)


@schedule_class
class warmup_cosine(_warmup_decay):
    """Linear warmup to ``peak_value``, then cosine decay to ``end_value`` at ``total_steps``.

    Formula, with ``W = warmup_steps``, ``T = total_steps``, ``p = clip(t - W, 0, T - W) / (T - W)``::

        lr(t) = init + (peak - init) * t / W                               for t < W
        lr(t) = end + (peak - end) * (½ (1 + cos(π p))) ** exponent        for t >= W

    ``total_steps`` includes the warmup, as in ``optax.warmup_cosine_decay_schedule``
    (whose ``decay_steps`` is jaxlr's ``total_steps``), which this matches. Hugging Face's
    ``get_cosine_schedule_with_warmup`` agrees up to ``T`` but rises again after it (its
    cosine is not clamped). Keras' ``CosineDecay`` counts ``decay_steps`` after the warmup:
    see :func:`jaxlr.warmup_then`.

    Args:
        peak_value: the value at the end of the warmup, where the decay starts (>= 0).
        warmup_steps: ``W``, the linear warmup's length in steps (>= 0, < ``total_steps``).
        total_steps: ``T``, the step at which the decay ends, the warmup included (> 0).
        init_value: the value at step 0 (>= 0).
        end_value: the value at ``T`` and after it (>= 0).
        exponent: the power of the half-cosine weight (> 0): above 1 the value falls faster
            after the peak, below 1 it stays near the peak longer.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.warmup_cosine(1.0, warmup_steps=10, total_steps=110)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 60, 110, 500)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """

    exponent: Scalar = 1.0

    def _check(self) -> None:
        super()._check()
        check_positive("exponent", self.exponent)

    def _decay(self, left: jax.Array, done: jax.Array) -> jax.Array:
        return cosine_value(self.peak_value, self.end_value, left, done, self.exponent)


@schedule_class
class warmup_linear(_warmup_decay):
    """Linear warmup to ``peak_value``, then linear decay to ``end_value`` at ``total_steps``.

    Formula, with ``W = warmup_steps``, ``T = total_steps``::

        lr(t) = init + (peak - init) * t / W                         for t < W
        lr(t) = end + (peak - end) * max(0, (T - t) / (T - W))        for t >= W

    Matches Hugging Face ``get_linear_schedule_with_warmup(num_warmup_steps=W,
    num_training_steps=T)`` (with ``init_value = end_value = 0``), the recipe of most
    fine-tuning scripts.

    Args:
        peak_value: the value at the end of the warmup, where the decay starts (>= 0).
        warmup_steps: ``W``, the linear warmup's length in steps (>= 0, < ``total_steps``).
        total_steps: ``T``, the step at which the decay ends, the warmup included (> 0).
        init_value: the value at step 0 (>= 0).
        end_value: the value at ``T`` and after it (>= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.warmup_linear(1.0, warmup_steps=10, total_steps=110)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 60, 110, 500)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """


    def _decay(self, left: jax.Array, done: jax.Array) -> jax.Array:
        return blend(self.peak_value, self.end_value, left, done)


@schedule_class
class warmup_exponential(Schedule):
    """Linear warmup to ``peak_value``, then exponential decay.

    Formula, with ``W = warmup_steps`` and ``t' = t - W``::

        lr(t) = init + (peak - init) * t / W                   for t < W
        lr(t) = peak * decay_rate ** (t' / decay_steps)        for t >= W  (floored if staircase)

    bounded by ``end_value`` as in :func:`jaxlr.exponential_decay`. Matches
    ``optax.warmup_exponential_decay_schedule`` (its ``transition_steps`` is
    ``decay_steps``).

    Args:
        peak_value: the value at the end of the warmup, where the decay starts (>= 0).
        warmup_steps: ``W``, the linear warmup's length in steps (>= 0).
        decay_rate: the factor per ``decay_steps`` steps after the warmup (> 0).
        decay_steps: the steps over which the value is multiplied by ``decay_rate`` (> 0).
        init_value: the value at step 0 (>= 0).
        staircase: False for a smooth decay; True to multiply once per whole
            ``decay_steps``, a staircase.
        end_value: a bound the value does not pass (a floor for a decay); None for none.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.warmup_exponential(1.0, warmup_steps=10, decay_rate=0.5, decay_steps=10)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 20, 30)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """

    _argument_fields = ("peak_value", "init_value", "end_value")

    peak_value: Scalar
    warmup_steps: Scalar
    decay_rate: Scalar
    decay_steps: Scalar = 1
    init_value: Scalar = 0.0
    staircase: bool = static_field(default=False)
    end_value: Scalar | None = None

    def _check(self) -> None:
        check_nonnegative("peak_value", self.peak_value)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_positive("decay_rate", self.decay_rate)
        check_positive("decay_steps", self.decay_steps)
        check_nonnegative("init_value", self.init_value)
        if self.end_value is not None:
            check_nonnegative("end_value", self.end_value)

    def _value(self, step: jax.Array) -> jax.Array:
        t = as_float(step)
        warmup = linear_ramp(self.init_value, self.peak_value, t, self.warmup_steps)
        after = sub_steps(step, self.warmup_steps)  # an integer step stays one: exact staircases
        decay = exponential_value(
            self.peak_value, self.decay_rate, after, self.decay_steps, self.staircase, self.end_value
        )
        return jnp.where(t < self.warmup_steps, warmup, decay)
