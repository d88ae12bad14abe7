"""Decay families: constant, piecewise, step, exponential, polynomial, cosine, inverse.

Every class here is a builder: ``jaxlr.cosine_decay(0.1, 1000)`` returns a schedule, a
pytree that maps a step to a learning rate (see :class:`jaxlr.Schedule`). Step ``t`` is the
optax update count: ``t = 0`` for the first update, as in every peer library.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxlr._base import (
    Numbers,
    Scalar,
    Schedule,
    _before_end,
    as_float,
    blend,
    check_increasing,
    check_nonnegative,
    check_positive,
    check_sequence,
    count_reached,
    exact_div,
    fit,
    floor_div,
    int_limit,
    integer_of,
    linear_ramp,
    mod_steps,
    progress,
    remaining,
    scaled_power,
    schedule_class,
    static_field,
    steps_left,
    sub_steps,
)

# ---------------------------------------------------------------------------------------
# The formulas, shared with the warmup-then-decay families.


def polynomial_value(init: Scalar, end: Scalar, t: jax.Array, length: Scalar, power: Scalar) -> jax.Array:
    """``(init - end) * (1 - min(t, length) / length) ** power + end``."""
    return blend(init, end, remaining(t, length), progress(t, length), power)


def exponential_value(
    init: Scalar, rate: Scalar, t: jax.Array, length: Scalar, staircase: bool, end: Scalar | None
) -> jax.Array:
    """``init * rate ** (t / length)``, floored exponent if staircase, bounded by ``end``."""
    exponent = floor_div(t, length) if staircase else exact_div(as_float(t), length)
    value = scaled_power(init, rate, exponent)
    if end is not None:
        value = jnp.where(rate < 1, jnp.maximum(value, end), jnp.minimum(value, end))
    return value


def cosine_value(init: Scalar, end: Scalar, left: ArrayLike, done: ArrayLike, exponent: Scalar) -> jax.Array:
    """``end + (init - end) * (½(1 + cos(π·done))) ** exponent``, ``left = 1 - done``.

    ``½(1 + cos πp)`` is written ``sin²(π·left/2)`` and its complement ``sin²(π·done/2)``:
    the same numbers without the cancellation of ``1 + cos`` near the end of the decay,
    where float32 would keep three digits.
    """
    weight = jnp.sin(0.5 * jnp.pi * left) ** 2
    complement = jnp.sin(0.5 * jnp.pi * done) ** 2
    return blend(init, end, weight, complement, exponent)


DECAY_SHAPES = ("linear", "cosine", "1-sqrt")


def decay_weights(shape: str, left: jax.Array, done: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The weight of the start value in a decay, and its complement, each accurate.

    With ``q`` the fraction done: linear ``1 - q``; cosine ``½(1 + cos πq)`` (as
    ``sin²(π·left/2)``); 1-sqrt ``1 - sqrt(q)`` (as ``left / (1 + sqrt(q))``, whose complement
    is exactly ``sqrt(q)``), the cooldown of Hägele et al. 2024.
    """
    if shape == "linear":
        return left, done
    if shape == "cosine":
        return jnp.sin(0.5 * jnp.pi * left) ** 2, jnp.sin(0.5 * jnp.pi * done) ** 2
    positive = done > 0
    root = jnp.where(positive, jnp.sqrt(jnp.where(positive, done, 1.0)), 0.0)
    return left / (1.0 + root), root


# ---------------------------------------------------------------------------------------


@schedule_class
class constant(Schedule):
    """The same value at every step.

    Formula: ``lr(t) = value``. Matches ``optax.constant_schedule``.

    Args:
        value: the learning rate at every step (>= 0).

    Example:
        >>> import jaxlr
        >>> float(jaxlr.constant(0.1)(1000))
        0.10000000149011612
    """

    _argument_fields = ("value",)
    _step_independent = True

    value: Scalar

    def _check(self) -> None:
        check_nonnegative("value", self.value)

    def _value(self, step: jax.Array) -> jax.Array:
        return as_float(self.value)


@schedule_class
class polynomial(Schedule):
    """Polynomial decay from ``init_value`` to ``end_value`` over ``transition_steps``.

    Formula, with ``t' = max(t - transition_begin, 0)`` and ``T = transition_steps``::

        lr(t) = (init - end) * (1 - min(t', T) / T) ** power + end

    With ``cycle=True`` the decay restarts as in Keras ``PolynomialDecay(cycle=True)``:
    ``T`` is replaced by ``T * ceil(t' / T)`` (and by ``T`` at ``t' = 0``), so each cycle
    is longer and starts lower than the last.

    Matches ``optax.polynomial_schedule`` (same arguments) and Keras ``PolynomialDecay``
    (``initial_learning_rate, decay_steps, end_learning_rate, power, cycle``). Unlike optax,
    ``transition_steps <= 0`` is an error, not a silent constant. torch's
    ``PolynomialLR(total_iters, power)`` is ``polynomial(lr, 0.0, total_iters, power)``.

    Args:
        init_value: the value until the decay starts (>= 0).
        end_value: the value at the decay's end and after it (>= 0).
        transition_steps: ``T``, the decay's length in steps (> 0).
        power: the exponent of the decay (> 0): 1 is linear, 2 falls fast then flattens, 0.5
            holds high then drops.
        transition_begin: steps to hold ``init_value`` before the decay starts (>= 0).
        cycle: False to hold ``end_value`` after ``T``; True to decay again over a longer
            span each time ``T`` is reached, as Keras' ``cycle`` does.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.polynomial(1.0, 0.0, transition_steps=10, power=2.0)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 20)]
        [1.0, 0.25, 0.0, 0.0]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    end_value: Scalar
    transition_steps: Scalar
    power: Scalar = 1.0
    transition_begin: Scalar = 0
    cycle: bool = static_field(default=False)

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_nonnegative("end_value", self.end_value)
        check_positive("transition_steps", self.transition_steps)
        check_positive("power", self.power)
        check_nonnegative("transition_begin", self.transition_begin)

    def _value(self, step: jax.Array) -> jax.Array:
        t = sub_steps(step, self.transition_begin)  # integer when exact: the end is exact near 2**31
        if not self.cycle:
            return polynomial_value(self.init_value, self.end_value, t, self.transition_steps, self.power)
        # Keras: the decay length grows to the first multiple of T at or past t', so the
        # fraction left is (T * ceil(t'/T) - t') / (T * ceil(t'/T)). The numerator is taken
        # from the exact position in the cycle: float32 steps lose it above 2**24.
        length = self.transition_steps
        position = mod_steps(step, length, self.transition_begin)
        # ceil(t' / T) from the exact quotient and position (t' rounded to float32 near
        # 2**31 would count one cycle too many).
        cycles = jnp.where(t == 0, 1.0, floor_div(sub_steps(step, self.transition_begin), length) + (position > 0))
        left = length - position
        integer = jnp.issubdtype(step.dtype, jnp.integer)
        whole = integer_of(length, step.dtype) if integer else None
        if whole is not None and integer_of(self.transition_begin, step.dtype) is not None:
            # T - position in integers: both near 2**31 round alike in float32, to 0.
            elapsed = sub_steps(step, self.transition_begin)
            left = jnp.where(elapsed % whole == 0, whole, whole - elapsed % whole).astype(t.dtype)
        elif integer and integer_of(self.transition_begin, step.dtype) is not None:
            # A cycle longer than every step: T - t' with the exact steps left.
            exact = _before_end(sub_steps(step, self.transition_begin), length)
            left = left if exact is None else exact
        left = jnp.where((position == 0) & (t > 0), 0.0, left)
        span = length * cycles
        weight = jnp.where(t == 0, 1.0, left / span)
        complement = jnp.where(t == 0, 0.0, (span - left) / span)
        return blend(self.init_value, self.end_value, weight, complement, self.power)


@schedule_class
class linear(Schedule):
    """Linear ramp from ``init_value`` to ``end_value`` over ``transition_steps``, then flat.

    Formula, with ``t' = clip(t - transition_begin, 0, T)`` and ``T = transition_steps``::

        lr(t) = init + (end - init) * t' / T

    Matches ``optax.linear_schedule``; ``end_value`` may be above ``init_value`` (a ramp
    up). torch's ``LinearLR(start_factor, end_factor, total_iters)`` on a base rate ``b``
    is ``linear(b * start_factor, b * end_factor, total_iters)``.

    Args:
        init_value: the value until the ramp starts (>= 0).
        end_value: the value at the ramp's end and after it (>= 0); above ``init_value`` for
            a ramp up.
        transition_steps: ``T``, the ramp's length in steps (> 0).
        transition_begin: steps to hold ``init_value`` before the ramp starts (>= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.linear(1.0, 0.0, transition_steps=4)
        >>> [float(s(t)) for t in (0, 1, 4, 100)]
        [1.0, 0.75, 0.0, 0.0]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    end_value: Scalar
    transition_steps: Scalar
    transition_begin: Scalar = 0

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_nonnegative("end_value", self.end_value)
        check_positive("transition_steps", self.transition_steps)
        check_nonnegative("transition_begin", self.transition_begin)

    def _value(self, step: jax.Array) -> jax.Array:
        t = sub_steps(step, self.transition_begin)  # integer when exact: the end is exact near 2**31
        return polynomial_value(self.init_value, self.end_value, t, self.transition_steps, 1.0)


@schedule_class
class step_decay(Schedule):
    """Multiplies the value by ``gamma`` every ``step_size`` steps.

    Formula: ``lr(t) = init * gamma ** floor(t / step_size)``.

    Matches torch ``StepLR(step_size, gamma)``. torch steps its schedulers once per epoch
    in most recipes: wrap in :func:`jaxlr.per_epoch` to count in epochs, or pass
    ``step_size=epochs * steps_per_epoch``.

    Args:
        init_value: the value at step 0 (>= 0).
        step_size: the steps between two multiplications by ``gamma`` (> 0).
        gamma: the factor applied every ``step_size`` steps (> 0; above 1, a growth).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.step_decay(1.0, step_size=10, gamma=0.5)
        >>> [float(s(t)) for t in (0, 9, 10, 25)]
        [1.0, 1.0, 0.5, 0.25]
    """

    _argument_fields = ("init_value",)

    init_value: Scalar
    step_size: Scalar
    gamma: Scalar = 0.1

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("step_size", self.step_size)
        check_positive("gamma", self.gamma)

    def _value(self, step: jax.Array) -> jax.Array:
        return scaled_power(self.init_value, self.gamma, floor_div(step, self.step_size))


@schedule_class
class multistep_decay(Schedule):
    """Multiplies the value by ``gamma`` at each milestone reached.

    Formula: ``lr(t) = init * gamma ** (number of milestones <= t)``, found by binary
    search (O(log K) for K milestones).

    Matches torch ``MultiStepLR(milestones, gamma)``. torch sorts its milestones and lets a
    repeated milestone compound; jaxlr asks for strictly increasing milestones, since a
    repeat is almost always a typo (use :func:`piecewise_constant` for arbitrary drops).

    Args:
        init_value: the value before the first milestone (>= 0).
        milestones: the steps at which ``gamma`` is applied, strictly increasing (a list or
            an array).
        gamma: the factor applied at each milestone (> 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.multistep_decay(1.0, milestones=[3, 6], gamma=0.1)
        >>> [round(float(s(t)), 4) for t in (0, 2, 3, 6)]
        [1.0, 1.0, 0.1, 0.01]
    """

    _argument_fields = ("init_value",)

    init_value: Scalar
    milestones: Numbers
    gamma: Scalar = 0.1

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_sequence("milestones", self.milestones)
        check_nonnegative("milestones", self.milestones)
        check_increasing("milestones", self.milestones)
        check_positive("gamma", self.gamma)

    def _value(self, step: jax.Array) -> jax.Array:
        return scaled_power(self.init_value, self.gamma, count_reached(self.milestones, step))


@schedule_class
class piecewise_constant(Schedule):
    """``values[i]`` between consecutive ``boundaries``.

    Formula: ``lr(t) = values[i]`` with ``i`` the number of boundaries ``b <= t`` (the value
    switches at ``t >= boundary``), found by binary search (O(log K)).
    ``len(values) == len(boundaries) + 1``.

    Matches optax's switch at ``t >= boundary`` (optax's ``piecewise_constant_schedule``
    takes multiplicative scales instead of values). Keras ``PiecewiseConstantDecay`` keeps
    ``values[i]`` up to and including ``boundaries[i]`` (it switches one step later): pass
    ``inclusive=True`` to match it. torch's ``ConstantLR(factor, total_iters)`` on a base
    rate ``b`` is ``piecewise_constant([total_iters], [b * factor, b])``.

    Args:
        boundaries: the steps where the value changes, strictly increasing.
        values: the value before the first boundary, then after each one: one more entry
            than ``boundaries`` (each >= 0).
        inclusive: False to switch at ``t >= boundary`` (optax, torch); True to keep
            ``values[i]`` up to and including ``boundaries[i]`` (Keras).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.piecewise_constant(boundaries=[10, 20], values=[1.0, 0.5, 0.1])
        >>> [float(s(t)) for t in (9, 10, 20)]
        [1.0, 0.5, 0.10000000149011612]
        >>> k = jaxlr.piecewise_constant([10, 20], [1.0, 0.5, 0.1], inclusive=True)
        >>> [float(k(t)) for t in (10, 11)]
        [1.0, 0.5]
    """

    _argument_fields = ("values",)

    boundaries: Numbers
    values: Numbers
    inclusive: bool = static_field(default=False)

    def _check(self) -> None:
        check_sequence("boundaries", self.boundaries)
        check_nonnegative("boundaries", self.boundaries)
        check_increasing("boundaries", self.boundaries)
        check_sequence("values", self.values, min_length=1)
        check_nonnegative("values", self.values)
        n_boundaries, n_values = np.shape(self.boundaries)[-1], np.shape(self.values)[-1]
        if n_values != n_boundaries + 1:
            raise ValueError(
                f"values must have one more entry than boundaries, got {n_values} values "
                f"for {n_boundaries} boundaries"
            )

    def _value(self, step: jax.Array) -> jax.Array:
        index = count_reached(self.boundaries, step, inclusive=self.inclusive)
        return as_float(jnp.asarray(self.values)[index])


@schedule_class
class piecewise_linear(Schedule):
    """Linear interpolation through the knots ``(steps[i], values[i])``, flat outside.

    Formula: for ``steps[i-1] <= t <= steps[i]``,
    ``lr(t) = values[i-1] + (values[i] - values[i-1]) * (t - steps[i-1]) / (steps[i] - steps[i-1])``;
    ``values[0]`` before the first knot and ``values[-1]`` after the last. The segment is
    found by binary search (O(log K)).

    Like ``optax.piecewise_interpolate_schedule('linear', ...)``, which takes
    multiplicative scales instead of values.

    Args:
        steps: the knots' steps, strictly increasing.
        values: the value at each knot, as many as ``steps`` (each >= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.piecewise_linear(steps=[0, 10, 30], values=[0.0, 1.0, 0.0])
        >>> [float(s(t)) for t in (5, 10, 20, 40)]
        [0.5, 1.0, 0.5, 0.0]
    """

    _argument_fields = ("values",)

    steps: Numbers
    values: Numbers

    def _check(self) -> None:
        check_sequence("steps", self.steps, min_length=1)
        check_nonnegative("steps", self.steps)
        check_increasing("steps", self.steps)
        check_sequence("values", self.values, min_length=1)
        check_nonnegative("values", self.values)
        n_steps, n_values = np.shape(self.steps)[-1], np.shape(self.values)[-1]
        if n_steps != n_values:
            raise ValueError(f"steps and values must have the same length, got {n_steps} and {n_values}")

    def _value(self, step: jax.Array) -> jax.Array:
        knots, values = as_float(self.steps), as_float(self.values)
        n = knots.shape[-1]
        if n == 1:
            return values[0]
        i = jnp.clip(count_reached(self.steps, step), 1, n - 1)
        x0, x1, y0, y1 = knots[i - 1], knots[i], values[i - 1], values[i]
        return linear_ramp(y0, y1, jnp.maximum(as_float(step) - x0, 0.0), x1 - x0)


@schedule_class
class exponential_decay(Schedule):
    """Exponential decay by ``decay_rate`` every ``decay_steps`` steps.

    Formula, with ``t' = max(t - transition_begin, 0)``::

        lr(t) = init * decay_rate ** (t' / decay_steps)      # floor(t' / decay_steps) if staircase

    bounded below by ``end_value`` when ``decay_rate < 1`` (above when ``> 1``).

    Matches Keras ``ExponentialDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase)``, torch ``ExponentialLR(gamma)`` (``decay_rate=gamma``, ``decay_steps=1``)
    and ``optax.exponential_decay`` (which calls ``decay_steps`` ``transition_steps``).
    A growth rate (``decay_rate > 1``, as in a learning-rate range test) saturates at the
    largest finite float instead of overflowing to inf.

    Args:
        init_value: the value at step 0, held until ``transition_begin`` (>= 0).
        decay_rate: the factor per ``decay_steps`` steps (> 0; below 1 a decay, above 1 a
            growth).
        decay_steps: the steps over which the value is multiplied by ``decay_rate`` (> 0).
        staircase: False for a smooth curve; True to multiply once per whole
            ``decay_steps`` (the exponent is ``floor(t' / decay_steps)``), a staircase.
        transition_begin: steps to hold ``init_value`` before the decay starts (>= 0).
        end_value: a bound the value does not pass, a floor for a decay and a ceiling for a
            growth (>= 0); None for none.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.exponential_decay(1.0, decay_rate=0.5, decay_steps=10)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 20)]
        [1.0, 0.7071, 0.5, 0.25]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    decay_rate: Scalar
    decay_steps: Scalar = 1
    staircase: bool = static_field(default=False)
    transition_begin: Scalar = 0
    end_value: Scalar | None = None

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("decay_rate", self.decay_rate)
        check_positive("decay_steps", self.decay_steps)
        check_nonnegative("transition_begin", self.transition_begin)
        if self.end_value is not None:
            check_nonnegative("end_value", self.end_value)

    def _value(self, step: jax.Array) -> jax.Array:
        t = sub_steps(step, self.transition_begin)  # an integer step stays one: exact staircases
        return exponential_value(
            self.init_value, self.decay_rate, t, self.decay_steps, self.staircase, self.end_value
        )


@schedule_class
class inverse_time_decay(Schedule):
    """Inverse-time decay.

    Formula: ``lr(t) = init / (1 + decay_rate * t / decay_steps)`` (``floor(t /
    decay_steps)`` if staircase).

    Matches Keras ``InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase)``. The legacy Keras optimizer argument ``decay=d`` (``lr / (1 + d * t)``) is
    ``inverse_time_decay(lr, decay_rate=d)``.

    Args:
        init_value: the value at step 0 (>= 0).
        decay_rate: how fast the value falls (> 0): it halves at ``decay_steps / decay_rate``.
        decay_steps: the unit in which ``t`` is counted (> 0).
        staircase: False for a smooth curve; True to count whole units of ``decay_steps``
            (``floor(t / decay_steps)``), a staircase.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.inverse_time_decay(1.0, decay_rate=1.0, decay_steps=10)
        >>> [float(s(t)) for t in (0, 10, 30)]
        [1.0, 0.5, 0.25]
    """

    _argument_fields = ("init_value",)

    init_value: Scalar
    decay_rate: Scalar
    decay_steps: Scalar = 1
    staircase: bool = static_field(default=False)

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("decay_rate", self.decay_rate)
        check_positive("decay_steps", self.decay_steps)

    def _value(self, step: jax.Array) -> ArrayLike:
        progress = floor_div(step, self.decay_steps) if self.staircase else exact_div(as_float(step), self.decay_steps)
        return self.init_value / (1.0 + self.decay_rate * progress)


@schedule_class
class inverse_sqrt_decay(Schedule):
    """Linear warmup from 0, then inverse-square-root decay.

    Formula, with ``W = warmup_steps`` and ``s = timescale`` (default ``W``, or 10,000 when
    there is no warmup)::

        lr(t) = init * t / W                       for t < W
        lr(t) = init / sqrt((t + s - W) / s)       for t >= W     (= init * sqrt(W / t) when s = W)

    Matches Hugging Face ``get_inverse_sqrt_schedule(num_warmup_steps, timescale)`` and
    fairseq's ``inverse_sqrt`` (with ``warmup_init_lr=0``).

    Args:
        init_value: the peak, reached at the end of the warmup (>= 0).
        warmup_steps: ``W``, the linear warmup from 0 (>= 0; 0 for none).
        timescale: ``s``, the steps after the warmup at which the value is
            ``init_value / sqrt(2)`` (> 0); None for ``W``, or 10,000 when there is no
            warmup (Hugging Face's default).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.inverse_sqrt_decay(1.0, warmup_steps=4)
        >>> [float(s(t)) for t in (0, 2, 4, 16)]
        [0.0, 0.5, 1.0, 0.5]
    """

    _argument_fields = ("init_value",)

    init_value: Scalar
    warmup_steps: Scalar = 0
    timescale: Scalar | None = None

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_nonnegative("warmup_steps", self.warmup_steps)
        if self.timescale is not None:
            check_positive("timescale", self.timescale)

    def _value(self, step: jax.Array) -> jax.Array:
        t = as_float(step)
        warmup = self.warmup_steps
        timescale: ArrayLike
        if self.timescale is None:
            timescale = jnp.where(warmup > 0, warmup, 10_000.0)
        else:
            timescale = self.timescale
        ramp = self.init_value * (t / jnp.maximum(warmup, 1.0))  # divided first: no overflow near float max
        # The steps since the warmup, exact for integers (t + s - W in float32 cancels to 0
        # near 2**31), and 0 in the warmup, so the unselected branch stays finite.
        elapsed = as_float(sub_steps(step, warmup))
        decay = self.init_value * jax.lax.rsqrt((elapsed + timescale) / timescale)
        return jnp.where(t < warmup, ramp, decay)


@schedule_class
class cosine_decay(Schedule):
    """Half-cosine decay from ``init_value`` to ``end_value`` over ``decay_steps``, then flat.

    Formula, with ``D = decay_steps``::

        lr(t) = end + (init - end) * (½ (1 + cos(π min(t, D) / D))) ** exponent

    Matches ``optax.cosine_decay_schedule(init_value, decay_steps, alpha, exponent)`` with
    ``alpha = end_value / init_value``, and Keras ``CosineDecay`` without warmup (for its
    warmup, see :func:`jaxlr.warmup_then`). With ``periodic=True`` the value is not held
    after ``D`` but rises again with period ``2 D``, as torch ``CosineAnnealingLR(T_max=D,
    eta_min=end_value)`` does; the phase is computed in integer arithmetic, so it stays
    exact at any step.

    Args:
        init_value: the value at step 0 (>= 0).
        decay_steps: ``D``, the decay's length in steps (> 0).
        end_value: the value at ``D`` and after it (>= 0; optax's ``alpha * init_value``).
        exponent: the power of the half-cosine weight (> 0, optax's ``exponent``): above 1
            the value falls faster early on, below 1 it stays near ``init_value`` longer.
        periodic: False to hold ``end_value`` after ``D``; True to rise again, with period
            ``2 D``, as torch's ``CosineAnnealingLR``.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.cosine_decay(1.0, decay_steps=10)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 15)]
        [1.0, 0.5, 0.0, 0.0]
        >>> p = jaxlr.cosine_decay(1.0, decay_steps=10, periodic=True)
        >>> [round(float(p(t)), 4) for t in (10, 15, 20)]
        [0.0, 0.5, 1.0]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    decay_steps: Scalar
    end_value: Scalar = 0.0
    exponent: Scalar = 1.0
    periodic: bool = static_field(default=False)

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("decay_steps", self.decay_steps)
        check_nonnegative("end_value", self.end_value)
        check_positive("exponent", self.exponent)

    def _value(self, step: jax.Array) -> jax.Array:
        length = self.decay_steps
        if self.periodic:
            position = mod_steps(step, fit(2 * length))
            left, done = (length - position) / length, position / length
            # length - position in integers where it is exact: near 2**31 float32 rounds both
            # alike. A period past every step leaves the step itself as the position.
            exact = None
            integer = jnp.issubdtype(step.dtype, jnp.integer)
            if integer and isinstance(length, int | float) and float(length).is_integer():
                within = 2 * length <= int_limit()
                exact = steps_left(jnp.remainder(step, int(2 * length)) if within else step, length)
            if exact is not None:
                left = exact / length
        else:
            left, done = remaining(step, length), progress(step, length)
        return cosine_value(self.init_value, self.end_value, left, done, self.exponent)

