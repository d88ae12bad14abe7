"""``keras.optimizers.schedules`` as jaxlr schedules, same arguments and defaults.

    >>> from jaxlr.compat import keras
    >>> s = keras.PiecewiseConstantDecay(boundaries=[10], values=[1.0, 0.5])   # inclusive
    >>> [float(s(t)) for t in (10, 11)]
    [1.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import jaxlr
from jaxlr._base import Schedule


def ExponentialDecay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> Schedule:
    return jaxlr.exponential_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


def PiecewiseConstantDecay(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """Keras keeps ``values[i]`` up to and including ``boundaries[i]``."""
    return jaxlr.piecewise_constant(boundaries, values, inclusive=True)


def PolynomialDecay(
    initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001, power: float = 1.0,
    cycle: bool = False,
) -> Schedule:
    return jaxlr.polynomial(initial_learning_rate, end_learning_rate, decay_steps, power, cycle=cycle)


def InverseTimeDecay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> Schedule:
    return jaxlr.inverse_time_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


def CosineDecay(
    initial_learning_rate: float, decay_steps: int, alpha: float = 0.0, warmup_target: float | None = None,
    warmup_steps: int = 0,
) -> Schedule:
    """With ``warmup_target``, ``decay_steps`` counts after the warmup (unlike optax's)."""
    if warmup_target is None:
        return jaxlr.cosine_decay(initial_learning_rate, decay_steps, end_value=alpha * initial_learning_rate)
    decay = jaxlr.cosine_decay(warmup_target, decay_steps, end_value=alpha * warmup_target)
    return jaxlr.warmup_then(decay, warmup_steps, init_value=initial_learning_rate)


def CosineDecayRestarts(
    initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0, m_mul: float = 1.0, alpha: float = 0.0
) -> Schedule:
    return jaxlr.cosine_restarts(
        initial_learning_rate, first_decay_steps, t_mul, m_mul, end_value=alpha * initial_learning_rate
    )
