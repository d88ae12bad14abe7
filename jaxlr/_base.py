"""The schedule type, its validation helpers and the numeric rules every family keeps.

A schedule is a frozen dataclass that is also a JAX pytree: its numeric hyperparameters
are leaves (so ``jax.vmap``, ``jax.grad`` and ``jax.jit`` see them as data), its structural
options (mode strings, flags) are static metadata. Calling it maps a step count to a
floating learning rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

Scalar = float | int | jax.Array | np.ndarray
"""A numeric hyperparameter: a Python number, a NumPy or JAX scalar, or a tracer."""

Numbers = Sequence[float] | jax.Array | np.ndarray
"""A one-dimensional list of numbers (boundaries, milestones, values)."""

REGISTRY: dict[str, type[Schedule]] = {}
"""Every public schedule class by its public name; the config layer builds from it."""

_S = TypeVar("_S", bound="type[Schedule]")


def static_field(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is part of the pytree structure, not a leaf."""
    return dataclasses.field(default=default, metadata={"static": True})


def schedule_class(cls: _S) -> _S:
    """Makes ``cls`` a frozen dataclass pytree and registers it under its name.

    Fields declared with :func:`static_field` become pytree metadata; every other field is
    a leaf. Sequences given for a leaf field are stored as one array, so a schedule with
    10,000 boundaries has one leaf, not 10,000.
    """
    cls = dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)
    data = [f.name for f in fields if not f.metadata.get("static")]
    meta = [f.name for f in fields if f.metadata.get("static")]
    jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
    REGISTRY[cls.__name__] = cls
    return cls


class Schedule:
    """A learning-rate schedule: a pure, jit-compilable function ``step -> value``.

    Calling a schedule accepts a Python int or float, a NumPy or JAX scalar, or an array of
    steps (evaluated elementwise), inside or outside ``jax.jit``. Negative steps are treated
    as step 0. The result is a floating JAX array of the step's shape, finite for every
    step in ``[0, 2**31 - 1]``.

    Every schedule is a JAX pytree whose leaves are its numeric hyperparameters, so it can
    be passed as an argument of a jitted function (a new peak value does not recompile),
    batched with ``jax.vmap`` and differentiated with ``jax.grad``.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if not f.metadata.get("static") and isinstance(value, list | tuple):
                if not all(_is_number(v) for v in value):
                    raise ValueError(f"{f.name} must be a list of numbers, got {value!r}")
                object.__setattr__(self, f.name, np.asarray(value))
        self._check()

    def _check(self) -> None:
        """Validates concrete hyperparameters; traced ones are skipped."""

    def _value(self, step: jax.Array) -> jax.Array:
        """The schedule at ``step``, an array already clamped to ``>= 0``."""
        raise NotImplementedError

    def __call__(self, step: Scalar) -> jax.Array:
        step = jnp.asarray(step)
        if not (jnp.issubdtype(step.dtype, jnp.integer) or jnp.issubdtype(step.dtype, jnp.floating)):
            raise TypeError(f"step must be an integer or floating number or array, got dtype {step.dtype}")
        step = jnp.maximum(step, 0)
        value = jnp.asarray(self._value(step))
        if not jnp.issubdtype(value.dtype, jnp.floating):
            value = value.astype(float_dtype())
        # Overflow (a growing exponential far past its useful range) saturates instead of
        # returning inf; the clip's gradient is zero there, so gradients stay finite too.
        fmax = jnp.finfo(value.dtype).max
        value = jnp.clip(value, -fmax, fmax)
        return jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, step.shape))

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            parts.append(f"{f.name}={_format(value)}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, tree_a = jax.tree_util.tree_flatten(self)
        b, tree_b = jax.tree_util.tree_flatten(other)
        return tree_a == tree_b and all(_same(x, y) for x, y in zip(a, b, strict=True))

    __hash__ = None  # type: ignore[assignment]


def float_dtype() -> jnp.dtype:
    """The default floating dtype: float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.result_type(float)


def as_float(x: Any) -> jax.Array:
    """``x`` as an array of at least the default floating precision."""
    x = jnp.asarray(x)
    return x.astype(jnp.promote_types(x.dtype, float_dtype()))


# ---------------------------------------------------------------------------------------
# Numeric helpers. Each keeps values AND gradients finite in branches that a `where`
# does not select: jnp.where evaluates both sides, and 0 * inf in a cotangent is NaN.


def safe_pow(base: jax.Array, exponent: Any) -> jax.Array:
    """``base ** exponent`` for ``base >= 0`` with finite gradients at ``base == 0``.

    ``0 ** 0`` is 1, as in NumPy.
    """
    base = as_float(base)
    positive = base > 0
    safe = jnp.where(positive, base, 1.0)
    return jnp.where(positive, safe**exponent, jnp.where(exponent == 0, 1.0, 0.0))


def safe_exp_pow(base: Any, exponent: jax.Array) -> jax.Array:
    """``base ** exponent`` for ``base > 0``, saturating at the largest finite float.

    Computed as ``exp(exponent * log(base))`` with the argument of ``exp`` clipped, so a
    growth factor raised to a huge step count neither overflows nor has an infinite
    gradient.
    """
    exponent = as_float(exponent)
    log_max = math.log(float(jnp.finfo(exponent.dtype).max))
    return jnp.exp(jnp.minimum(exponent * jnp.log(base), log_max))


def floor_div(t: jax.Array, d: Any) -> jax.Array:
    """``floor(t / d)`` for ``t >= 0, d > 0``, exact where float32 division alone is not.

    ``t / d`` rounded to float32 can land on the next integer when ``t`` is one step
    short of a multiple of ``d`` (for example 16_777_215 / 1_000_000 rounds up). One
    correction step against the exact products fixes it.
    """
    t = as_float(t)
    q = jnp.floor(t / d)
    q = q - (q * d > t)
    return q + ((q + 1) * d <= t)


def ceil_div(t: jax.Array, d: Any) -> jax.Array:
    """``ceil(t / d)`` for ``t >= 0, d > 0`` (see :func:`floor_div`)."""
    t = as_float(t)
    q = jnp.ceil(t / d)
    q = q + (q * d < t)
    return q - ((q - 1) * d >= t)


def mod_steps(step: jax.Array, period: Any) -> jax.Array:
    """``step mod period`` as a float, exact for integer steps up to ``2**31 - 1``.

    A float32 step loses integers above ``2**24``, so the phase of a periodic schedule at
    step ``2**30 + 5`` computed in floats is wrong. For an integer step and an
    integer-valued period the remainder is taken in integer arithmetic; the float path
    supplies the gradient with respect to the period (``-floor(step / period)``), which
    the integer path has not.
    """
    step = jnp.asarray(step)
    t = as_float(step)
    approx = t - period * floor_div(t, period)
    if not jnp.issubdtype(step.dtype, jnp.integer):
        return approx
    rounded = jnp.round(period)
    exact_int = (rounded == period) & (rounded >= 1) & (rounded <= jnp.iinfo(step.dtype).max)
    divisor = jnp.where(exact_int, rounded, 1).astype(step.dtype)
    exact = jnp.where(exact_int, jnp.remainder(step, divisor).astype(t.dtype), jax.lax.stop_gradient(approx))
    return exact + (approx - jax.lax.stop_gradient(approx))


def count_reached(boundaries: Any, step: jax.Array, inclusive: bool = False) -> jax.Array:
    """How many sorted ``boundaries`` the step has reached, in O(log K).

    A boundary ``b`` is reached at ``step >= b``; with ``inclusive=True`` (Keras'
    convention) only at ``step > b``. Integer boundaries are compared with integer steps
    exactly, so switches stay exact up to ``2**31 - 1``.
    """
    boundaries = jnp.asarray(boundaries)
    step = jnp.asarray(step)
    dtype = jnp.promote_types(boundaries.dtype, step.dtype)
    side = "left" if inclusive else "right"
    return jnp.searchsorted(boundaries.astype(dtype), step.astype(dtype), side=side)


def linear_ramp(start: Any, end: Any, t: jax.Array, length: Any) -> jax.Array:
    """``start + (end - start) * min(t, length) / length``, and ``end`` when length is 0."""
    t = as_float(t)
    positive = length > 0
    frac = jnp.where(positive, jnp.minimum(t, length) / jnp.where(positive, length, 1.0), 1.0)
    return start + (end - start) * frac


# ---------------------------------------------------------------------------------------
# Validation. Concrete values are checked; tracers (under jit, vmap, grad) cannot be.


def is_concrete(x: Any) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float | np.number):
        return True
    if isinstance(x, np.ndarray | jax.Array):
        return x.ndim == 0 and (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating))
    return False


def _numeric(name: str, value: Any) -> np.ndarray | None:
    """``value`` as a NumPy array when concrete, ``None`` when traced; rejects non-numbers."""
    if not is_concrete(value):
        return None
    if isinstance(value, bool) or not (
        _is_number(value) or (isinstance(value, np.ndarray | jax.Array) and _numeric_dtype(value.dtype))
    ):
        raise ValueError(f"{name} must be a number, got {value!r}")
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {_format(value)}")
    return array


def _numeric_dtype(dtype: Any) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating))


def check(name: str, value: Any, rule: str, ok: Callable[[np.ndarray], Any]) -> None:
    """Raises ``ValueError("{name} must be {rule}, got {value}")`` unless ``ok(value)``."""
    array = _numeric(name, value)
    if array is not None and not np.all(ok(array)):
        raise ValueError(f"{name} must be {rule}, got {_format(value)}")


def check_number(name: str, value: Any) -> None:
    check(name, value, "a finite number", lambda v: True)


def check_positive(name: str, value: Any) -> None:
    check(name, value, "> 0", lambda v: v > 0)


def check_nonnegative(name: str, value: Any) -> None:
    check(name, value, ">= 0", lambda v: v >= 0)


def check_sequence(name: str, value: Any, min_length: int = 0) -> None:
    """A one-dimensional array of finite numbers of at least ``min_length`` entries.

    Under ``jax.vmap`` the schedule sees one row of a batch, so only the last axis counts.
    """
    shape = jnp.shape(value)
    if len(shape) == 0:
        raise ValueError(f"{name} must be a list of numbers, got {_format(value)}")
    if shape[-1] < min_length:
        raise ValueError(f"{name} must have at least {min_length} entries, got {shape[-1]}")
    check_number(name, value)


def check_increasing(name: str, value: Any) -> None:
    """Strictly increasing along the last axis: sorted, with no duplicates."""
    array = _numeric(name, value)
    if array is not None and array.shape[-1] > 1:
        diffs = np.diff(array, axis=-1).reshape(-1, array.shape[-1] - 1)
        bad = np.any(diffs <= 0, axis=0)
        if np.any(bad):
            i = int(np.argmax(bad))
            problem = "duplicate" if np.any(diffs[:, i] == 0) else "unsorted"
            raise ValueError(
                f"{name} must be strictly increasing, got {_format(value)} "
                f"({problem} at index {i + 1})"
            )


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_schedule(name: str, value: Any) -> None:
    if not callable(value):
        raise ValueError(f"{name} must be a schedule (a callable step -> value), got {value!r}")


def check_less_equal(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """``a <= b`` where both are concrete (for example warmup_steps <= total_steps)."""
    x, y = _numeric(name_a, a), _numeric(name_b, b)
    if x is not None and y is not None and not np.all(x <= y):
        raise ValueError(f"{name_a} must be <= {name_b}, got {name_a}={_format(a)} and {name_b}={_format(b)}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Schedule) or isinstance(b, Schedule):
        return a == b
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a is b or (type(a) is type(b) and a == b)
    if not (is_concrete(a) and is_concrete(b)):
        return a is b
    if callable(a) or callable(b):
        return a is b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all(a == b))


def _format(value: Any) -> str:
    if isinstance(value, Schedule | str | bool) or value is None:
        return repr(value)
    if isinstance(value, jax.core.Tracer):
        return f"<traced {value.aval.str_short()}>"
    if isinstance(value, np.ndarray | jax.Array):
        if value.ndim == 0:
            return repr(value.item())
        if value.size <= 16:
            return repr(np.asarray(value).tolist())
        return f"<{value.dtype}{list(value.shape)}>"
    if isinstance(value, list | tuple):
        inner = ", ".join(_format(v) for v in value)
        return f"[{inner}]"
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return repr(value)
