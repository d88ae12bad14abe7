"""``keras.optimizers.schedules`` as jaxlr schedules, same arguments and defaults.

Each function accepts what Keras accepts and gives Keras' values at every step (a
``decay_rate``, ``power`` or ``m_mul`` of 0 included), with these exceptions, each of which
raises a ``ValueError`` naming the argument instead: negative rates, values, ``alpha`` or
``end_learning_rate`` (Keras gives negative, infinite or NaN learning rates), unsorted,
repeated or negative ``boundaries`` (Keras silently mixes the values), and ``t_mul < 1``
(Keras' periods shrink to a finite total, after which it gives NaN). Where Keras raises
(``decay_steps <= 0``), these raise too. ``name`` is accepted and ignored (it names Keras'
ops).

    >>> from jaxlr.compat import keras
    >>> s = keras.PiecewiseConstantDecay(boundaries=[10], values=[1.0, 0.5])   # inclusive
    >>> [float(s(t)) for t in (10, 11)]
    [1.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import jaxlr
from jaxlr._base import Schedule, check, check_flag, check_nonnegative, check_positive
from jaxlr.compat._checks import is_zero


def _check_name(name: str | None) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")


def ExponentialDecay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate * decay_rate ** (t / decay_steps)`` (exponent floored if staircase).

    ``decay_rate=0`` gives the initial rate at step 0 (and up to ``decay_steps`` with
    ``staircase``), then 0, as Keras.

    Example:
        >>> from jaxlr.compat import keras
        >>> [float(keras.ExponentialDecay(1.0, 2, 0.5, staircase=True)(t)) for t in range(4)]
        [1.0, 1.0, 0.5, 0.5]
    """
    check_positive("decay_steps", decay_steps)
    check_nonnegative("decay_rate", decay_rate)
    check_flag("staircase", staircase)
    _check_name(name)
    if is_zero(decay_rate):
        return jaxlr.piecewise_constant([decay_steps if staircase else 1], [initial_learning_rate, 0.0])
    return jaxlr.exponential_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


def PiecewiseConstantDecay(boundaries: Sequence[int], values: Sequence[float], name: str | None = None) -> Schedule:
    """``values[i]`` for ``boundaries[i-1] < t <= boundaries[i]``: Keras keeps ``values[i]`` up
    to and including ``boundaries[i]``. No boundaries at all is ``values[0]`` for ever (Keras
    raises an ``IndexError`` when called)."""
    _check_name(name)
    if len(boundaries) != len(values) - 1:
        raise ValueError(f"values must have one more entry than boundaries, got {len(values)} values for "
                         f"{len(boundaries)} boundaries")
    return jaxlr.piecewise_constant(boundaries, values, inclusive=True)


def PolynomialDecay(
    initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001, power: float = 1.0,
    cycle: bool = False, name: str | None = None,
) -> Schedule:
    """``(initial - end) * (1 - min(t, D) / D) ** power + end``; with ``cycle``, ``D`` grows to
    ``D * ceil(t / D)``. ``power=0`` holds the initial rate, as Keras (``0 ** 0 = 1``)."""
    check_positive("decay_steps", decay_steps)
    check_nonnegative("end_learning_rate", end_learning_rate)
    check_nonnegative("power", power)
    check_flag("cycle", cycle)
    _check_name(name)
    if is_zero(power):
        return jaxlr.constant(initial_learning_rate)
    return jaxlr.polynomial(initial_learning_rate, end_learning_rate, decay_steps, power, cycle=cycle)


def InverseTimeDecay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate / (1 + decay_rate * t / decay_steps)`` (floored if staircase).
    ``decay_rate=0`` holds the initial rate, as Keras."""
    check_positive("decay_steps", decay_steps)
    check_nonnegative("decay_rate", decay_rate)
    check_flag("staircase", staircase)
    _check_name(name)
    if is_zero(decay_rate):
        return jaxlr.constant(initial_learning_rate)
    return jaxlr.inverse_time_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


def CosineDecay(
    initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, name: str | None = None,
    warmup_target: float | None = None, warmup_steps: int = 0,
) -> Schedule:
    """Keras' ``CosineDecay``: ``lr * ((1 - alpha) * ½(1 + cos(π min(t, D) / D)) + alpha)``.

    With ``warmup_target``, a linear warmup from ``initial_learning_rate`` to it over
    ``warmup_steps``, then the cosine from the target over ``decay_steps`` counted after the
    warmup (unlike optax's). ``alpha`` must be >= 0 (above 1 the cosine rises, as in Keras).
    """
    check_positive("decay_steps", decay_steps)
    check_nonnegative("alpha", alpha)
    check_nonnegative("warmup_steps", warmup_steps)
    _check_name(name)
    if warmup_target is None:
        return jaxlr.cosine_decay(initial_learning_rate, decay_steps, end_value=alpha * initial_learning_rate)
    decay = jaxlr.cosine_decay(warmup_target, decay_steps, end_value=alpha * warmup_target)
    return jaxlr.warmup_then(decay, warmup_steps, init_value=initial_learning_rate)


def CosineDecayRestarts(
    initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0, m_mul: float = 1.0,
    alpha: float = 0.0, name: str | None = None,
) -> Schedule:
    """Keras' ``CosineDecayRestarts`` (SGDR): cosines of ``first_decay_steps * t_mul ** i``
    steps, the ``i``-th scaled by ``m_mul ** i``, over a floor ``alpha * lr`` that ``m_mul``
    does not scale.

    ``m_mul=0`` holds the floor after the first period, as Keras. ``t_mul`` must be >= 1.
    """
    check_positive("first_decay_steps", first_decay_steps)
    check("t_mul", t_mul, ">= 1", lambda v: v >= 1)
    check_nonnegative("m_mul", m_mul)
    check_nonnegative("alpha", alpha)
    _check_name(name)
    floor = alpha * initial_learning_rate
    if is_zero(m_mul):
        first = jaxlr.cosine_decay(initial_learning_rate, first_decay_steps, end_value=floor)
        return jaxlr.join([first, jaxlr.constant(floor)], [first_decay_steps])
    return jaxlr.cosine_restarts(initial_learning_rate, first_decay_steps, t_mul, m_mul, end_value=floor)
