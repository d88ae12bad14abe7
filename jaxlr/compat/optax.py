"""optax's schedules that jaxlr has no family for, by their optax names, as jaxlr schedules.

``piecewise_interpolate_schedule`` (linear or cosine), ``linear_onecycle_schedule`` (with
its ``pct_final``), ``cosine_onecycle_schedule`` and ``warmup_exponential_decay_schedule``
(with its ``transition_begin``) give optax's values at every step, built from jaxlr's
families (joins of linear or cosine pieces, ``warmup_then`` of an exponential decay), so
they are pytrees with configs and take hyperparameters optax cannot vmap over. Where optax
silently makes a constant of a zero or negative length, these raise a ``ValueError`` naming
it, as jaxlr does everywhere.

    >>> from jaxlr.compat import optax
    >>> s = optax.piecewise_interpolate_schedule("cosine", 1.0, {10: 0.5, 20: 0.0})
    >>> [round(float(s(t)), 4) for t in (0, 5, 10, 15, 20)]
    [1.0, 0.75, 0.5, 0.25, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

import jaxlr
from jaxlr._base import Schedule, check_choice, check_nonnegative, check_positive
from jaxlr.compat._checks import check_whole

__all__ = [
    "cosine_onecycle_schedule",
    "linear_onecycle_schedule",
    "piecewise_interpolate_schedule",
    "warmup_exponential_decay_schedule",
]


def piecewise_interpolate_schedule(
    interpolate_type: str, init_value: float, boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    """``optax.piecewise_interpolate_schedule``: the values ``init_value * s_1 * … * s_k``
    at the boundaries (optax multiplies the scales up), joined by linear pieces or by cosine
    ones ``end + (start - end)·½(1 + cos(π·p))``, and the last value after the last boundary.

    A :class:`jaxlr.join` of :class:`jaxlr.linear` or :class:`jaxlr.cosine_decay` pieces, one
    per interval (a linear one is also :class:`jaxlr.piecewise_linear` of the products).
    Boundaries must be whole steps >= 0, scales >= 0, as optax requires.
    """
    check_choice("interpolate_type", interpolate_type, ("linear", "cosine"))
    check_nonnegative("init_value", init_value)
    pairs = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in pairs:
        check_whole("boundaries_and_scales", boundary)
        check_nonnegative("boundaries_and_scales", scale)
    if not pairs:
        return jaxlr.constant(init_value)
    bounds = [0] + [int(b) for b, _ in pairs]
    values = list(np.cumprod([float(init_value)] + [float(s) for _, s in pairs]))
    pieces: list[Schedule] = []
    for start, end, first, then in zip(bounds[:-1], bounds[1:], values[:-1], values[1:], strict=True):
        length = max(end - start, 1)  # optax's interval of one step where two boundaries coincide
        if interpolate_type == "linear":
            pieces.append(jaxlr.linear(first, then, length))
        else:
            pieces.append(jaxlr.cosine_decay(first, length, end_value=then))
    pieces.append(jaxlr.constant(values[-1]))
    if bounds[1] == 0:  # the first interval, [0, 0), is empty
        pieces, bounds = pieces[1:], bounds[1:]
    return jaxlr.join(pieces, bounds[1:])


def linear_onecycle_schedule(
    transition_steps: int, peak_value: float, pct_start: float = 0.3, pct_final: float = 0.85,
    div_factor: float = 25.0, final_div_factor: float = 1e4,
) -> Schedule:
    """``optax.linear_onecycle_schedule``: linear from ``peak / div`` to ``peak`` by step
    ``⌊pct_start·T⌋``, back to ``peak / div`` by ``⌊pct_final·T⌋``, then to ``peak / div /
    final_div`` by ``T``, held after.

    torch's ``OneCycleLR(three_phase=True, anneal_strategy="linear")`` (:class:`jaxlr.one_cycle`)
    has its phases end at ``p·T - 1``, ``2·p·T - 2`` and ``T - 1`` instead: ``pct_final`` is
    optax's alone.

    Example:
        >>> from jaxlr.compat import optax
        >>> s = optax.linear_onecycle_schedule(100, 1.0, pct_start=0.2, pct_final=0.6, div_factor=10.0)
        >>> [round(float(s(t)), 4) for t in (0, 20, 40, 60, 100)]
        [0.1, 1.0, 0.55, 0.1, 0.0]
    """
    check_positive("transition_steps", transition_steps)
    check_positive("div_factor", div_factor)
    check_positive("final_div_factor", final_div_factor)
    scales = {int(pct_start * transition_steps): div_factor, int(pct_final * transition_steps): 1.0 / div_factor,
              transition_steps: 1.0 / final_div_factor}
    return piecewise_interpolate_schedule("linear", peak_value / div_factor, scales)


def cosine_onecycle_schedule(
    transition_steps: int, peak_value: float, pct_start: float = 0.3, div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """``optax.cosine_onecycle_schedule``: a cosine from ``peak / div`` to ``peak`` by step
    ``⌊pct_start·T⌋``, then to ``peak / div / final_div`` by ``T``, held after. Its peak is
    one step after torch's ``OneCycleLR`` (:class:`jaxlr.one_cycle`), at ``p·T`` not ``p·T - 1``.
    """
    check_positive("transition_steps", transition_steps)
    check_positive("div_factor", div_factor)
    check_positive("final_div_factor", final_div_factor)
    scales = {int(pct_start * transition_steps): div_factor,
              int(transition_steps): 1.0 / (div_factor * final_div_factor)}
    return piecewise_interpolate_schedule("cosine", peak_value / div_factor, scales)


def warmup_exponential_decay_schedule(
    init_value: float, peak_value: float, warmup_steps: int, transition_steps: int, decay_rate: float,
    transition_begin: int = 0, staircase: bool = False, end_value: float | None = None,
) -> Schedule:
    """``optax.warmup_exponential_decay_schedule``: linear from ``init_value`` to
    ``peak_value`` over ``warmup_steps``, ``peak_value`` for ``transition_begin`` more steps,
    then ``peak·decay_rate**((t - W - B) / transition_steps)`` (floored with ``staircase``),
    bounded by ``end_value``.

    :class:`jaxlr.warmup_then` of :class:`jaxlr.exponential_decay` with its
    ``transition_begin``: :class:`jaxlr.warmup_exponential` is this with ``transition_begin=0``.

    Example:
        >>> from jaxlr.compat import optax
        >>> s = optax.warmup_exponential_decay_schedule(0.0, 1.0, 10, 10, 0.5, transition_begin=5)
        >>> [round(float(s(t)), 4) for t in (5, 10, 15, 25)]
        [0.5, 1.0, 1.0, 0.5]
    """
    check_nonnegative("warmup_steps", warmup_steps)
    check_positive("transition_steps", transition_steps)  # the names optax's caller wrote
    check_nonnegative("transition_begin", transition_begin)
    decay = jaxlr.exponential_decay(peak_value, decay_rate, transition_steps, staircase, transition_begin, end_value)
    return jaxlr.warmup_then(decay, warmup_steps, init_value=init_value)
