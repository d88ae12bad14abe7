"""Cyclic families: cosine with warm restarts, triangular cycles, one-cycle.

The position within a cycle is computed in integer arithmetic for integer steps (see
:func:`jaxlr._base.mod_steps`), so the phase at step ``2**30 + 5`` is exact: float32 steps
lose integers above ``2**24``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxlr._base import (
    Scalar,
    Schedule,
    _computed,
    _format,
    as_float,
    blend,
    check,
    check_choice,
    check_less_equal,
    check_nonnegative,
    check_positive,
    count_reached,
    fit,
    float_dtype,
    floor_div,
    int_limit,
    is_concrete,
    mod_steps,
    progress,
    remaining,
    scaled_power,
    schedule_class,
    static_field,
    sub_steps,
)
from jaxlr.decay import cosine_value


def _computed_gt_one(v: np.ndarray) -> np.ndarray:
    return (v > 1) & (_computed(v) > 1)


def _cycle_table(first: Scalar, mul: Scalar, most: int = 4096) -> tuple[np.ndarray, np.ndarray] | None:
    """For concrete growing periods: every cycle's start and length up to the largest
    integer step, in float64 (as torch and the reference sum them), or None.

    With the starts as exact integer thresholds, an integer step finds its cycle exactly;
    taken in float32, step ``2**31 - 2`` rounds up into the next cycle. More than ``most``
    cycles (a ``period_mul`` barely above 1) fall back to the logarithm.
    """
    if not is_concrete((first, mul)) or np.ndim(first) or np.ndim(mul):
        return None
    first, mul = float(np.asarray(first)), float(np.asarray(mul))
    if mul == 1:
        return None
    starts, lengths, start, length = [], [], 0.0, first
    while start <= int_limit():
        starts.append(start)
        lengths.append(length)
        if len(starts) > most:
            return None
        start, length = start + length, length * mul
    # The last cycle may be longer than float32 holds; past 2**60 steps its length only
    # says "longer than any step".
    return np.array(starts), np.minimum(np.array(lengths), 2.0**60)


def _cycle_of(step: jax.Array, first: Scalar, mul: Scalar) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Index, start-relative position and length of the cycle holding ``step``.

    Cycle ``i`` has length ``first * mul**i`` and starts at ``first * (mul**i - 1) / (mul - 1)``
    (``first * i`` when ``mul == 1``). The geometric index comes from a logarithm and is then
    corrected against the exact starts, so it never lands one cycle off at a boundary.
    """
    step = jnp.asarray(step)
    table = _cycle_table(first, mul)
    if table is not None:
        # The start split into its whole steps and its fraction: an integer step and the
        # same step as a float then give the same position.
        starts, lengths = table
        index = count_reached(starts[1:], step)
        whole = np.floor(starts)
        fraction = jnp.take(jnp.asarray(starts - whole, dtype=float_dtype()), index)
        if jnp.issubdtype(step.dtype, jnp.integer):
            base = jnp.take(jnp.asarray(np.minimum(whole, int_limit()).astype(np.int64)).astype(step.dtype), index)
            elapsed = (step - base).astype(float_dtype())
        else:
            elapsed = as_float(step) - jnp.take(jnp.asarray(whole, dtype=float_dtype()), index)
        return as_float(index), elapsed - fraction, jnp.take(jnp.asarray(lengths, dtype=float_dtype()), index)
    t = as_float(step)
    geometric = mul != 1
    # With equal periods, the geometric branch is still evaluated (with m = 2, where its
    # index stays below 32), so it is kept finite: it must not see the linear index.
    m = jnp.where(geometric, mul, 2.0)

    def start(i: ArrayLike) -> ArrayLike:
        return first * (m**i - 1.0) / (m - 1.0)

    geometric_index = jnp.floor(jnp.log1p(t / first * (m - 1.0)) / jnp.log(m))
    geometric_index = geometric_index - (t < start(geometric_index))
    geometric_index = geometric_index + (t >= start(geometric_index + 1))
    index = jnp.where(geometric, geometric_index, floor_div(step, first))
    # Equal periods: the exact integer position; growing periods are long where float32
    # steps are coarse, so their float position keeps the phase to a few 1e-7 of a cycle.
    position = jnp.where(geometric, t - start(geometric_index), mod_steps(step, first))
    return index, position, jnp.where(geometric, first * m**geometric_index, first)


@schedule_class
class cosine_restarts(Schedule):
    """Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Cycle ``i`` lasts ``first_period * period_mul**i`` steps. Within it, with ``p`` the
    fraction of the cycle done::

        lr = end + (init - end) * value_mul**i * ½ (1 + cos(π p))

    Options: ``warmup_steps`` re-warms each cycle linearly from ``end_value`` to its peak
    before the cosine (Levanter's re-warmup); ``cycles`` holds ``end_value`` after that many
    cycles (timm's ``cycle_limit``).

    Matches Keras ``CosineDecayRestarts(initial, first_decay_steps, t_mul, m_mul, alpha)``
    with ``end_value = alpha * initial`` (Keras does not scale the floor by ``m_mul``,
    neither does jaxlr), and torch ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)``
    (``period_mul`` an integer there, ``value_mul = 1``). timm's ``cycle_decay`` scales the
    peak alone, ``end + (init * value_mul**i - end) * ...``: equal to jaxlr's when
    ``end_value = 0``. optax's ``sgdr_schedule`` is a join of warmup-cosine pieces: see
    :func:`jaxlr.join`.

    Args:
        init_value: the first cycle's peak (>= 0).
        first_period: the first cycle's length in steps (> 0).
        period_mul: how much longer each cycle is than the one before (>= 1; torch's
            ``T_mult``, Keras' ``t_mul``).
        value_mul: how much each cycle's cosine part is scaled from the one before (> 0;
            Keras' ``m_mul``, timm's ``cycle_decay``).
        end_value: the floor every cycle decays to (>= 0; Keras' ``alpha * initial``).
        warmup_steps: steps at the start of every cycle that ramp linearly from
            ``end_value`` up to the cycle's peak (>= 0, <= ``first_period``).
        cycles: how many cycles to run before holding ``end_value`` (> 0); None to restart
            for ever.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.cosine_restarts(1.0, first_period=10, period_mul=2.0, value_mul=0.5)
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 20, 30, 70)]
        [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    """

    init_value: Scalar
    first_period: Scalar
    period_mul: Scalar = 1.0
    value_mul: Scalar = 1.0
    end_value: Scalar = 0.0
    warmup_steps: Scalar = 0
    cycles: Scalar | None = None

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("first_period", self.first_period)
        # A period_mul just above 1 that rounds to 1 in float32 would divide by log(1) = 0.
        check("period_mul", self.period_mul, ">= 1", lambda v: v >= 1)
        check("period_mul", self.period_mul, "1, or > 1 after rounding to float32 (1.0000001 or more)",
              lambda v: (v == 1) | _computed_gt_one(v))
        check_positive("value_mul", self.value_mul)
        check_nonnegative("end_value", self.end_value)
        # Cycle i peaks at end + (init - end) * value_mul**i, negative for growing cycles
        # below a floor above the start.
        self._check_growth()
        if is_concrete((self.value_mul, self.init_value, self.end_value)):
            growing = np.asarray(self.value_mul, np.float64) > 1
            if np.any(growing & (np.asarray(self.end_value, np.float64) > np.asarray(self.init_value, np.float64))):
                raise ValueError(
                    f"end_value must be <= init_value when value_mul > 1 (the cycles' peaks end + (init - end) * "
                    f"value_mul**i would turn negative), got init_value={_format(self.init_value)}, "
                    f"end_value={_format(self.end_value)}, value_mul={_format(self.value_mul)}"
                )
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_less_equal("warmup_steps", self.warmup_steps, "first_period", self.first_period)
        if self.cycles is not None:
            check_positive("cycles", self.cycles)

    def _check_growth(self) -> None:
        """Growing peaks (``value_mul > 1``) must stay below the float max in every cycle
        an int32 step reaches: a saturated peak times the cosine is no learning rate."""
        fields = (self.init_value, self.first_period, self.period_mul, self.value_mul, self.end_value, self.cycles)
        if not is_concrete(fields) or any(np.ndim(x) for x in fields if x is not None):
            return
        value_mul = float(np.asarray(self.value_mul))
        if value_mul <= 1:
            return
        first, period_mul = float(np.asarray(self.first_period)), float(np.asarray(self.period_mul))
        table = _cycle_table(first, period_mul)
        last = (len(table[0]) - 1) if table is not None else int_limit() // max(int(first), 1)
        if self.cycles is not None:
            last = min(last, int(np.ceil(float(np.asarray(self.cycles)))) - 1)
        init, end = float(np.asarray(self.init_value)), float(np.asarray(self.end_value))
        peak_log = np.log(max(init - end, 1e-300)) + last * np.log(value_mul)
        if peak_log > np.log(float(jnp.finfo(float_dtype()).max)) - 1e-6:
            raise ValueError(
                f"value_mul={_format(self.value_mul)} grows the peak past the {float_dtype().name} max by cycle "
                f"{last} (init_value * value_mul**{last}): set cycles to stop the restarts earlier, or a smaller "
                "value_mul"
            )

    def _value(self, step: jax.Array) -> jax.Array:
        index, position, length = _cycle_of(step, self.first_period, self.period_mul)
        peak = self.end_value + (self.init_value - self.end_value) * scaled_power(1.0, self.value_mul, index)
        warmup = self.warmup_steps
        after = jnp.maximum(position - warmup, 0.0)
        span = length - warmup
        decay = cosine_value(peak, self.end_value, remaining(after, span), progress(after, span), 1)
        ramp = blend(self.end_value, peak, remaining(position, warmup), progress(position, warmup))
        value = jnp.where(position < warmup, ramp, decay)
        if self.cycles is not None:
            value = jnp.where(index >= self.cycles, self.end_value, value)
        return value


CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


def check_cycle(start: Scalar, peak: Scalar, step_size_up: Scalar, step_size_down: Scalar | None, mode: str,
                gamma: Scalar) -> None:
    """The checks :class:`cyclic` and :class:`jaxlr.cyclic_momentum` share: the lengths, the
    mode, and an ``exp_range`` amplitude that stays finite at every int32 step."""
    check_positive("step_size_up", step_size_up)
    if step_size_down is not None:
        check_positive("step_size_down", step_size_down)
    check_choice("mode", mode, CYCLIC_MODES)
    check_positive("gamma", gamma)
    # exp_range scales the amplitude by gamma**t: a gamma > 1 must keep it finite up to
    # the largest int32 step, or the values past the float max are no rates.
    if mode == "exp_range" and is_concrete((gamma, start, peak)):
        gamma = np.asarray(gamma, np.float64)
        span = np.abs(np.asarray(peak, np.float64) - np.asarray(start, np.float64))
        with np.errstate(divide="ignore"):
            top = np.log(np.maximum(span, 1e-300)) + int_limit() * np.log(gamma)
        if np.any((gamma > 1) & (top > np.log(float(jnp.finfo(float_dtype()).max)) - 1e-6)):
            raise ValueError(
                f"gamma must keep the exp_range amplitude |peak - start| * gamma**t finite up to "
                f"step {int_limit()}: at most about 1 + 4e-8, got {_format(gamma)}"
            )


def cycle_ramp(step: jax.Array, step_size_up: Scalar, step_size_down: Scalar | None) -> jax.Array:
    """The triangle of a cycle: 0 at its start, 1 after ``step_size_up`` steps, 0 again after
    ``step_size_down`` more (torch's ``scale_factor``), with the phase exact at any step."""
    up = step_size_up
    down = up if step_size_down is None else step_size_down
    position = mod_steps(step, fit(up + down))
    rising = position <= up
    return jnp.where(rising, progress(position, up), remaining(jnp.maximum(position - up, 0.0), down))


def cycle_index(step: jax.Array, step_size_up: Scalar, step_size_down: Scalar | None) -> jax.Array:
    """The 0-based index of the cycle holding ``step`` (torch's ``cycle - 1``), exact."""
    down = step_size_up if step_size_down is None else step_size_down
    return floor_div(step, fit(step_size_up + down))


def cyclic_value(step: jax.Array, start: Scalar, peak: Scalar, step_size_up: Scalar, step_size_down: Scalar | None,
                 mode: str, gamma: Scalar) -> ArrayLike:
    """``start + (peak - start) * ramp * g``: the cyclic rate (``start = base_lr``) or, with
    the ends swapped, torch's momentum (``start = max_momentum``, ``peak = base_momentum``)."""
    ramp = cycle_ramp(step, step_size_up, step_size_down)
    scale: ArrayLike
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = scaled_power(1.0, 0.5, cycle_index(step, step_size_up, step_size_down))
    else:
        scale = scaled_power(1.0, gamma, step)
    return start + (peak - start) * ramp * scale


@schedule_class
class cyclic(Schedule):
    """Cyclical learning rate (Smith 2017): up from ``base_value`` to ``max_value``, and down.

    Each cycle rises linearly over ``step_size_up`` steps and falls over ``step_size_down``
    (default: the same). The amplitude is scaled by ``g``::

        lr = base + (max - base) * ramp * g
        g = 1                        mode="triangular"
        g = 0.5 ** cycle             mode="triangular2"  (cycle = 0, 1, ...)
        g = gamma ** t               mode="exp_range"

    Matches torch ``CyclicLR(base_lr, max_lr, step_size_up, step_size_down, mode, gamma)``.

    Args:
        base_value: the value at the bottom of every cycle (>= 0).
        max_value: the value at the top of the first cycle (>= 0).
        step_size_up: the rise's length in steps (> 0).
        step_size_down: the fall's length in steps (> 0); None for ``step_size_up``.
        mode: "triangular" (the same amplitude every cycle), "triangular2" (halved each
            cycle) or "exp_range" (scaled by ``gamma ** t``).
        gamma: the amplitude's factor per step in "exp_range" mode (> 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.cyclic(0.1, 1.0, step_size_up=4, mode="triangular2")
        >>> [round(float(s(t)), 4) for t in (0, 2, 4, 6, 8, 12)]
        [0.1, 0.55, 1.0, 0.55, 0.1, 0.55]
    """

    base_value: Scalar
    max_value: Scalar
    step_size_up: Scalar
    step_size_down: Scalar | None = None
    mode: str = static_field(default="triangular")
    gamma: Scalar = 1.0

    def _check(self) -> None:
        check_nonnegative("base_value", self.base_value)
        check_nonnegative("max_value", self.max_value)
        check_cycle(self.base_value, self.max_value, self.step_size_up, self.step_size_down, self.mode, self.gamma)

    def _value(self, step: jax.Array) -> ArrayLike:
        return cyclic_value(step, self.base_value, self.max_value, self.step_size_up, self.step_size_down, self.mode,
                            self.gamma)


@schedule_class
class one_cycle(Schedule):
    """The one-cycle policy (Smith & Topin 2018), with PyTorch's exact phase ends.

    From ``initial = max_value / div_factor`` up to ``max_value``, then down to
    ``initial / final_div_factor``. With ``T = total_steps`` and ``p = pct_start``, the phases
    end at steps ``p·T - 1`` and ``T - 1``; with ``three_phase=True`` at ``p·T - 1`` (up),
    ``2·p·T - 2`` (back to ``initial``) and ``T - 1`` (down to the minimum). Within a phase
    from ``a`` to ``b`` with fraction ``q`` done: ``b + (a - b)·½(1 + cos πq)`` (``anneal="cos"``)
    or ``a + (b - a)·q`` (``"linear"``). After ``T - 1`` the minimum is held.

    Matches torch ``OneCycleLR(max_lr, total_steps, pct_start, anneal_strategy, div_factor,
    final_div_factor, three_phase)`` at every step it accepts (torch raises past
    ``total_steps``). optax's ``cosine_onecycle_schedule`` ends its phases one step later, at
    ``p·T`` and ``T``; ``join([cosine_decay(initial, p·T, end_value=max_value),
    cosine_decay(max_value, T - p·T, end_value=minimum)], [p·T])`` is optax's version.

    Args:
        max_value: the peak (>= 0).
        total_steps: ``T``, the steps of the whole cycle (> 0).
        pct_start: the fraction of ``T`` spent rising, in (0, 1).
        anneal: "cos" (cosine phases) or "linear".
        div_factor: the start is ``max_value / div_factor`` (> 0).
        final_div_factor: the end is ``max_value / div_factor / final_div_factor`` (> 0).
        three_phase: False for up then down to the end; True for up, back down to the
            start, then down to the end.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.one_cycle(1.0, total_steps=11, pct_start=0.5, anneal="linear", div_factor=10.0)
        >>> [round(float(s(t)), 4) for t in (0, 2, 4.5, 10)]
        [0.1, 0.5, 1.0, 0.0]
    """

    max_value: Scalar
    total_steps: Scalar
    pct_start: Scalar = 0.3
    anneal: str = static_field(default="cos")
    div_factor: Scalar = 25.0
    final_div_factor: Scalar = 1e4
    three_phase: bool = static_field(default=False)

    def _check(self) -> None:
        check_nonnegative("max_value", self.max_value)
        check_one_cycle(self.total_steps, self.pct_start, self.anneal)
        check_positive("div_factor", self.div_factor)
        check_positive("final_div_factor", self.final_div_factor)

    def _value(self, step: jax.Array) -> ArrayLike:
        initial = self.max_value / self.div_factor
        minimum = initial / self.final_div_factor
        return one_cycle_value(step, self.total_steps, self.pct_start, self.anneal, self.three_phase,
                               (initial, self.max_value, initial, minimum))


def check_one_cycle(total_steps: Scalar, pct_start: Scalar, anneal: str) -> None:
    """The checks :class:`one_cycle` and :class:`jaxlr.one_cycle_momentum` share."""
    check_positive("total_steps", total_steps)
    check("pct_start", pct_start, "in (0, 1)", lambda v: (v > 0) & (v < 1))
    check_choice("anneal", anneal, ("cos", "linear"))


def one_cycle_value(step: jax.Array, total_steps: Scalar, pct_start: Scalar, anneal: str, three_phase: bool,
                    values: tuple[Scalar, Scalar, Scalar, Scalar]) -> ArrayLike:
    """torch's one-cycle phases through ``values = (a, b, c, d)``: from ``a`` to ``b`` by step
    ``p·T - 1``, then to ``d`` by ``T - 1`` (three phases: to ``c`` by ``2·p·T - 2``, then to
    ``d``), ``d`` after. The rate takes ``(initial, max, initial, minimum)``, the momentum
    ``(max_momentum, base_momentum, max_momentum, max_momentum)``.

    With concrete ``total_steps`` and ``pct_start`` the phase ends are taken in float64, as
    torch does, and the steps into a phase as whole steps less the fraction of its start: a
    phase end such as 41.63 is not held exactly by float32, and a short phase would show it.
    """
    a, b, c, d = values
    if is_concrete((total_steps, pct_start)) and np.ndim(total_steps) == 0 and np.ndim(pct_start) == 0:
        total_steps, pct_start = float(np.asarray(total_steps)), float(np.asarray(pct_start))
    up_end = pct_start * total_steps - 1.0
    last = total_steps - 1.0
    if three_phase:
        bounds, targets = [0.0, up_end, 2.0 * up_end, last], [a, b, c, d]
    else:
        bounds, targets = [0.0, up_end, last], [a, b, d]
    value = d
    for i in reversed(range(len(bounds) - 1)):
        start, end = bounds[i], bounds[i + 1]
        done_steps = _steps_since(step, start)
        left, done = remaining(done_steps, end - start), progress(done_steps, end - start)
        if anneal == "cos":
            phase_value = cosine_value(targets[i], targets[i + 1], left, done, 1)
        else:
            phase_value = blend(targets[i], targets[i + 1], left, done)
        value = jnp.where(_at_most(step, end), phase_value, value)
    return value


def _steps_since(step: jax.Array, start: Any) -> jax.Array:
    """``max(step - start, 0)`` as a float; for a Python-number start, whole steps (exact)
    less the start's fraction."""
    if not isinstance(start, float):
        return jnp.maximum(as_float(step) - start, 0.0)
    whole = math.floor(start)
    return jnp.maximum(as_float(sub_steps(step, fit(whole))) - (start - whole), 0.0)


def _at_most(step: jax.Array, end: Any) -> jax.Array:
    """``step <= end``, decided in integers for an integer step and a Python-number end."""
    step = jnp.asarray(step)
    if isinstance(end, float) and jnp.issubdtype(step.dtype, jnp.integer):
        return step <= min(math.floor(end), int_limit()) if end >= 0 else jnp.zeros(step.shape, bool)
    return as_float(step) <= end
