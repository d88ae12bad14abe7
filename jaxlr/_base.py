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

    A private base (name starting with ``_``) is not registered as a public family.

    Fields declared with :func:`static_field` become pytree metadata; every other field is
    a leaf. Sequences given for a leaf field are stored as one array, so a schedule with
    10,000 boundaries has one leaf, not 10,000.
    """
    cls = dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cls)
    data = [f.name for f in fields if not f.metadata.get("static")]
    meta = [f.name for f in fields if f.metadata.get("static")]

    def flatten_with_keys(obj: Any) -> tuple[tuple, tuple]:
        return tuple((jax.tree_util.GetAttrKey(n), getattr(obj, n)) for n in data), tuple(getattr(obj, n) for n in meta)

    def flatten(obj: Any) -> tuple[tuple, tuple]:
        return tuple(getattr(obj, n) for n in data), tuple(getattr(obj, n) for n in meta)

    def unflatten(aux: tuple, children: Any) -> Any:
        # Rebuilt without __init__: JAX unflattens with placeholders as leaves (ShapeDtypeStruct,
        # ArgInfo in jit(...).lower, None, object()), which validation must not see. The
        # fields already hold the values __post_init__ made (stacked lists, resolved fractions).
        obj = object.__new__(cls)
        for name, value in zip(meta, aux, strict=True):
            object.__setattr__(obj, name, value)
        for name, value in zip(data, children, strict=True):
            object.__setattr__(obj, name, value)
        return obj

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    if not cls.__name__.startswith("_"):
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
                stacked = np.asarray(value) if is_concrete(value) else jnp.stack([jnp.asarray(v) for v in value])
                object.__setattr__(self, f.name, stacked)
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

    def to_config(self) -> dict[str, Any]:
        """A config of plain Python values that ``jaxlr.from_config`` rebuilds an equal
        schedule from: ``{"name": ..., **arguments}``, nested for combinators, defaults left
        out. A ``from_fn`` schedule (a Python function) and one built from traced values have
        none, and say so."""
        config: dict[str, Any] = {"name": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            config[f.name] = _plain(value, f"{config['name']}.{f.name}")
        return config

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, tree_a = jax.tree_util.tree_flatten(self)
        b, tree_b = jax.tree_util.tree_flatten(other)
        return tree_a == tree_b and all(_same(x, y) for x, y in zip(a, b, strict=True))

    def __hash__(self) -> int:
        # Consistent with __eq__, so that `jax.jit(schedule)` (which hashes the function)
        # works and equal schedules share a compiled program.
        leaves, tree = jax.tree_util.tree_flatten(self)
        if not is_concrete(leaves):
            return id(self)
        return hash((tree, tuple(np.asarray(x).tobytes() for x in leaves)))


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


def blend(start: Any, end: Any, weight: jax.Array, complement: jax.Array, power: Any = 1) -> jax.Array:
    """``start * w + end * (1 - w)`` with ``w = weight ** power``, exact at both ends.

    ``weight`` and ``complement`` (``1 - weight``) are each passed computed accurately by
    the caller: ``1 - weight`` taken here would cancel near ``weight = 1`` (a 0.1 -> 0.9
    ramp would give 0.099999964 at step 0, as ``optax.linear_schedule`` does). With a
    power, ``1 - w`` is ``complement * (1 + w + ... + w**(n-1))`` for a whole power n,
    ``complement / (1 + sqrt(weight))`` for 1/2, and ``-expm1(power * log(weight))``
    otherwise, with ``log(weight)`` from whichever of ``weight`` and ``complement`` is the
    accurate one. ``0 ** 0`` is 1.
    Gradients are finite at ``weight = 0``.
    """
    if isinstance(power, int | float) and power == 1:
        return start * weight + end * complement
    weight, complement = as_float(weight), as_float(complement)
    # The common concrete powers have cheap exact complements; the general one costs two
    # logarithms and two exponentials (13x slower over 1e6 steps, measured).
    if isinstance(power, int | float) and power == 0.5:
        positive = weight > 0
        root = jnp.where(positive, jnp.sqrt(jnp.where(positive, weight, 1.0)), 0.0)
        return start * root + end * (complement / (1.0 + root))
    if isinstance(power, int | float) and float(power).is_integer() and 2 <= power <= 8:
        total, term = jnp.ones_like(weight), jnp.ones_like(weight)
        for _ in range(int(power) - 1):
            term = term * weight
            total = total + term
        return start * (term * weight) + end * (complement * total)
    positive = weight > 0
    log_weight = jnp.where(
        weight < 0.5,
        jnp.log(jnp.where(positive, weight, 1.0)),
        jnp.log1p(-jnp.minimum(complement, 0.5)),
    )
    zero_power = power == 0
    w = jnp.where(positive, jnp.exp(power * log_weight), jnp.where(zero_power, 1.0, 0.0))
    w_complement = jnp.where(positive, -jnp.expm1(power * log_weight), jnp.where(zero_power, 0.0, 1.0))
    return start * w + end * w_complement


def log_of(x: Any) -> jax.Array:
    """``log(x)``, in float64 for a concrete Python or NumPy number.

    A rate near 1 raised to a large power is ill-conditioned in its rounding: float32(0.999)
    raised to the 20,000th power is 1e-3 off, relatively, from 0.999 ** 20,000. The
    logarithm of the exact rate, rounded once, keeps the error at about
    ``|log(result)| * 6e-8``, as close to the float64 peers as float32 allows.
    """
    if isinstance(x, int | float | np.number | np.ndarray) and not isinstance(x, bool):
        return jnp.asarray(np.log(np.asarray(x, dtype=np.float64)), dtype=float_dtype())
    return jnp.log(x)


def scaled_power(init: Any, rate: Any, exponent: jax.Array) -> jax.Array:
    """``init * rate ** exponent`` for ``init >= 0, rate > 0``, saturating at the float max.

    Neither the value nor its gradients overflow, whatever the exponent: a growth rate
    raised to a huge step count (a learning-rate range test run far past its end) gives
    the largest finite float instead of inf.
    """
    exponent = as_float(exponent)
    fmax = float(jnp.finfo(exponent.dtype).max)
    # exp() of log(fmax) itself rounds to inf, and so would its derivative.
    log_max = math.log(fmax) - 1e-4
    power_log = exponent * log_of(rate)
    direct = init * jnp.exp(jnp.minimum(power_log, log_max - 8.0))
    positive = init > 0
    log_value = jnp.log(jnp.where(positive, init, 1.0)) + power_log
    through_log = jnp.where(log_value >= log_max, fmax, jnp.exp(jnp.minimum(log_value, log_max)))
    through_log = jnp.where(positive, through_log, 0.0)
    return jnp.where(power_log > log_max - 8.0, through_log, direct)


def _exact_divisor(step: jax.Array, d: Any) -> tuple[jax.Array, jax.Array]:
    """For an integer ``step``: whether ``d`` is a whole number that fits its dtype, and
    ``d`` in that dtype (1 where it is not)."""
    rounded = jnp.round(d)
    exact = (rounded == d) & (rounded >= 1) & (rounded <= jnp.iinfo(step.dtype).max)
    return exact, jnp.where(exact, rounded, 1).astype(step.dtype)


def floor_div(step: Any, d: Any) -> jax.Array:
    """``floor(step / d)`` as a float for ``step >= 0, d > 0``, exact at every integer step.

    float32 holds integers exactly only up to ``2**24``, and ``t / d`` rounded to float32
    can land on the next integer when ``t`` is one short of a multiple of ``d``. Integer
    steps with a whole ``d`` are divided in integer arithmetic; otherwise one correction
    step against the float products fixes the rounding.
    """
    step = jnp.asarray(step)
    t = as_float(step)
    q = jnp.floor(t / d)
    q = q - (q * d > t)
    q = q + ((q + 1) * d <= t)
    if jnp.issubdtype(step.dtype, jnp.integer):
        exact, divisor = _exact_divisor(step, d)
        q = jnp.where(exact, jnp.floor_divide(step, divisor).astype(t.dtype), q)
    return q


def ceil_div(t: jax.Array, d: Any) -> jax.Array:
    """``ceil(t / d)`` for ``t >= 0, d > 0`` (see :func:`floor_div`)."""
    t = as_float(t)
    q = jnp.ceil(t / d)
    q = q + (q * d < t)
    return q - ((q - 1) * d >= t)


def mod_steps(step: Any, period: Any, offset: Any = 0) -> jax.Array:
    """``(step - offset) mod period`` as a float, exact for integer steps up to ``2**31 - 1``.

    The phase of a periodic schedule at step ``2**30 + 5`` computed in float32 is wrong.
    For an integer step, a whole period and a whole offset the remainder is taken in
    integer arithmetic; the float path supplies the gradients with respect to the period
    and the offset, which the integer path has not.
    """
    step = jnp.asarray(step)
    t = as_float(step) - offset
    approx = t - period * floor_div(t, period)
    if not jnp.issubdtype(step.dtype, jnp.integer):
        return approx
    exact, divisor = _exact_divisor(step, period)
    whole_offset = jnp.round(offset)
    exact = exact & (whole_offset == offset) & (jnp.abs(whole_offset) <= jnp.iinfo(step.dtype).max)
    shift = jnp.remainder(jnp.where(exact, whole_offset, 0).astype(step.dtype), divisor)
    # (step - shift) mod d with both in [0, 2**31): no overflow in the subtraction.
    remainder = jnp.remainder(jnp.remainder(step, divisor) - shift, divisor)
    value = jnp.where(exact, remainder.astype(t.dtype), jax.lax.stop_gradient(approx))
    return value + (approx - jax.lax.stop_gradient(approx))


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
    # Measured on CPU over 1e6 steps: comparing against every boundary is fastest up to a
    # few dozen boundaries (0.2 ms at K = 3, against 0.4 ms for the unrolled binary search
    # and 14 ms for jnp's default); beyond, the unrolled O(log K) search (5 ms at K = 1024,
    # against 1.3 s for comparing all).
    method = "compare_all" if boundaries.shape[-1] <= 32 else "scan_unrolled"
    return jnp.searchsorted(boundaries.astype(dtype), step.astype(dtype), side=side, method=method)


def exact_div(numerator: Any, denominator: Any) -> jax.Array:
    """``numerator / denominator``, correctly rounded under ``jit`` too.

    XLA rewrites a division by a compile-time constant as a multiplication by its
    reciprocal, one rounding more: ``61 / 61`` becomes ``1 - 2**-24``, and the end of a
    cosine decay, computed jitted, lands 5 ulps from the eager value. The barrier keeps the
    divisor opaque to that rewrite; it costs nothing measurable.
    """
    return numerator / jax.lax.optimization_barrier(as_float(denominator))


def progress(t: Any, length: Any) -> jax.Array:
    """``clip(t / length, 0, 1)`` for ``t >= 0``, exactly 1 from ``t >= length`` on, 1 if
    ``length <= 0``.

    Under ``jit`` XLA turns division by a constant into multiplication by its reciprocal,
    so ``61 / 61`` comes out as ``1 - 2**-24``; a ``sqrt`` of one minus that is 2.4e-4 where
    0 is due. The comparison makes the end of every ramp exact, :func:`exact_div` the rest.
    """
    t = as_float(t)
    positive = length > 0
    safe = jnp.where(positive, length, 1.0)
    return jnp.where(t >= safe, 1.0, jnp.where(positive, exact_div(t, safe), 1.0))


def remaining(t: Any, length: Any) -> jax.Array:
    """``1 - progress(t, length)``, computed as ``(length - t) / length``.

    Subtracting a progress close to 1 from 1 cancels: at ``t = length - 1`` it loses four
    digits of float32, which a square root or a cosine near its end then shows. The
    numerator here is exact for integer steps below ``2**24``.
    """
    t = as_float(t)
    positive = jnp.asarray(length) > 0
    safe = jnp.where(positive, length, 1.0)
    return jnp.where((t >= safe) | ~positive, 0.0, exact_div(safe - jnp.minimum(t, safe), safe))


def linear_ramp(start: Any, end: Any, t: jax.Array, length: Any) -> jax.Array:
    """``start + (end - start) * min(t, length) / length``, and ``end`` when length is 0."""
    return blend(start, end, remaining(t, length), progress(t, length))


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


def _plain(value: Any, where: str) -> Any:
    """``value`` as plain Python data for a config."""
    if isinstance(value, Schedule):
        return value.to_config()
    if hasattr(value, "unstacked"):  # a join's pieces
        return [piece.to_config() for piece in value.unstacked()]
    if callable(value):
        raise ValueError(f"{where} is a Python function: a from_fn schedule has no config")
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if not is_concrete(value):
        raise ValueError(f"{where} is traced: a schedule built under jit or vmap has no config")
    return np.asarray(value).tolist()


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
    if isinstance(value, np.generic):
        return repr(value.item())
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
