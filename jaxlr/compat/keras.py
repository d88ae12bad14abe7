"""``keras.optimizers.schedules`` as jaxlr schedules, same arguments and defaults.

Each function accepts what Keras accepts and gives Keras' values at every step (a
``decay_rate``, ``power`` or ``m_mul`` of 0 included), with these exceptions, each of which
raises a ``ValueError`` naming the argument instead: negative rates, values, ``alpha`` or
``end_learning_rate`` (Keras gives negative, infinite or NaN learning rates), unsorted,
repeated or negative ``boundaries`` (Keras silently mixes the values), and ``t_mul < 1``
(Keras' periods shrink to a finite total, after which it gives NaN). Where Keras raises
(``decay_steps <= 0``), these raise too. ``name`` must be a string or None; it names Keras'
ops, here the Keras object :func:`to_keras` makes of the schedule (kept as the schedule's
``keras_name``).

:func:`to_keras` turns any jaxlr schedule into a Keras ``LearningRateSchedule`` (JAX
backend) that Keras' own ``serialize``/``deserialize``, ``get_config``/``from_config`` and
model saving round-trip: its config is the schedule's :meth:`jaxlr.Schedule.to_config`.

    >>> from jaxlr.compat import keras
    >>> s = keras.PiecewiseConstantDecay(boundaries=[10], values=[1.0, 0.5])   # inclusive
    >>> [float(s(t)) for t in (10, 11)]
    [1.0, 0.5]
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jaxlr
from jaxlr._base import Schedule, check, check_flag, check_nonnegative, check_positive
from jaxlr.compat._checks import is_zero

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "to_keras",
]


def _check_name(name: str | None) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")


def _keeps_name(constructor: Callable[..., Schedule]) -> Callable[..., Schedule]:
    """A Keras-named constructor whose ``name`` is checked and kept on the schedule it
    builds, as ``keras_name``, for :func:`to_keras` (the name is no part of the values)."""
    signature = inspect.signature(constructor)

    @functools.wraps(constructor)
    def build(*args: Any, **kwargs: Any) -> Schedule:
        name = signature.bind(*args, **kwargs).arguments.get("name")
        _check_name(name)
        schedule = constructor(*args, **kwargs)
        if name is not None:
            object.__setattr__(schedule, "keras_name", name)  # metadata beside the frozen fields
        return schedule

    return build


@_keeps_name
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
    if is_zero(decay_rate):
        return jaxlr.piecewise_constant([decay_steps if staircase else 1], [initial_learning_rate, 0.0])
    return jaxlr.exponential_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


@_keeps_name
def PiecewiseConstantDecay(boundaries: Sequence[int], values: Sequence[float], name: str | None = None) -> Schedule:
    """``values[i]`` for ``boundaries[i-1] < t <= boundaries[i]``: Keras keeps ``values[i]`` up
    to and including ``boundaries[i]``. No boundaries at all is ``values[0]`` for ever (Keras
    raises an ``IndexError`` when called)."""
    if len(boundaries) != len(values) - 1:
        raise ValueError(f"values must have one more entry than boundaries, got {len(values)} values for "
                         f"{len(boundaries)} boundaries")
    return jaxlr.piecewise_constant(boundaries, values, inclusive=True)


@_keeps_name
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
    if is_zero(power):
        return jaxlr.constant(initial_learning_rate)
    return jaxlr.polynomial(initial_learning_rate, end_learning_rate, decay_steps, power, cycle=cycle)


@_keeps_name
def InverseTimeDecay(
    initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False,
    name: str | None = None,
) -> Schedule:
    """``initial_learning_rate / (1 + decay_rate * t / decay_steps)`` (floored if staircase).
    ``decay_rate=0`` holds the initial rate, as Keras."""
    check_positive("decay_steps", decay_steps)
    check_nonnegative("decay_rate", decay_rate)
    check_flag("staircase", staircase)
    if is_zero(decay_rate):
        return jaxlr.constant(initial_learning_rate)
    return jaxlr.inverse_time_decay(initial_learning_rate, decay_rate, decay_steps, staircase)


@_keeps_name
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
    if warmup_target is None:
        return jaxlr.cosine_decay(initial_learning_rate, decay_steps, end_value=alpha * initial_learning_rate)
    decay = jaxlr.cosine_decay(warmup_target, decay_steps, end_value=alpha * warmup_target)
    return jaxlr.warmup_then(decay, warmup_steps, init_value=initial_learning_rate)


@_keeps_name
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
    floor = alpha * initial_learning_rate
    if is_zero(m_mul):
        first = jaxlr.cosine_decay(initial_learning_rate, first_decay_steps, end_value=floor)
        return jaxlr.join([first, jaxlr.constant(floor)], [first_decay_steps])
    return jaxlr.cosine_restarts(initial_learning_rate, first_decay_steps, t_mul, m_mul, end_value=floor)


def to_keras(schedule: Schedule, name: str | None = None) -> Any:
    """``schedule`` as a Keras ``LearningRateSchedule`` (Keras 3, ``KERAS_BACKEND=jax``).

    The result is a :class:`KerasSchedule`: ``keras.optimizers.SGD(learning_rate=to_keras(s))``
    takes it, and Keras' ``keras.optimizers.schedules.serialize``/``deserialize``,
    ``get_config``/``from_config`` and ``model.save``/``keras.saving.load_model`` round-trip
    it, with ``{"schedule": schedule.to_config(), "name": name}`` as its config (a
    :class:`jaxlr.from_fn` schedule, a Python function, has none). ``name`` defaults to the
    name given to a Keras-named constructor here. Its value at step ``t`` is ``schedule(t)``,
    computed by jaxlr inside Keras' jitted train step.

    Keras finds a custom class by its registered name ("jaxlr>KerasSchedule") only once the
    class exists: in a new process, ``from jaxlr.compat.keras import KerasSchedule`` (or a
    call to ``to_keras``) before loading a saved model.

    Example:
        >>> import os; os.environ.setdefault("KERAS_BACKEND", "jax")
        'jax'
        >>> import keras, jaxlr
        >>> from jaxlr.compat.keras import to_keras
        >>> s = to_keras(jaxlr.warmup_cosine(1e-3, 100, 1000), name="warmup_cosine")
        >>> config = keras.optimizers.schedules.serialize(s)
        >>> config["registered_name"], config["config"]["name"]
        ('jaxlr>KerasSchedule', 'warmup_cosine')
        >>> keras.optimizers.schedules.deserialize(config).schedule == s.schedule
        True
    """
    return keras_schedule_class()(schedule, name=getattr(schedule, "keras_name", None) if name is None else name)


@functools.cache
def keras_schedule_class() -> type:
    """:class:`KerasSchedule`, defined (and registered with Keras) at first use: importing
    Keras is slow and needs its backend chosen, so this module does not import it."""
    try:
        import keras
    except ImportError as error:
        raise ImportError(f"to_keras needs Keras 3 with the JAX backend (pip install keras; KERAS_BACKEND=jax): "
                          f"{error}") from error

    @keras.saving.register_keras_serializable(package="jaxlr")
    class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """A jaxlr schedule as a Keras ``LearningRateSchedule``: ``schedule(step)`` at each
        step, with the schedule's config as its own (see :func:`to_keras`)."""

        def __init__(self, schedule: Schedule | dict | str, name: str | None = None) -> None:
            if keras.backend.backend() != "jax":
                raise ValueError(f"to_keras needs KERAS_BACKEND=jax (jaxlr computes with JAX), got the "
                                 f"{keras.backend.backend()!r} backend")
            if isinstance(schedule, dict | str):
                schedule = jaxlr.from_config(schedule)
            if not isinstance(schedule, Schedule):
                raise TypeError(f"schedule must be a jaxlr schedule or its config, got {schedule!r}")
            _check_name(name)
            self.schedule, self.name = schedule, name

        def __call__(self, step: Any) -> Any:
            return self.schedule(keras.ops.convert_to_tensor(step))

        def get_config(self) -> dict[str, Any]:
            return {"schedule": self.schedule.to_config(), "name": self.name}

        def __repr__(self) -> str:
            return f"KerasSchedule({self.schedule!r}, name={self.name!r})"

    return KerasSchedule


def __getattr__(name: str) -> Any:
    if name == "KerasSchedule":
        return keras_schedule_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
