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
from typing import Any, ClassVar, TypeVar, dataclass_transform

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxlr import _eager

Scalar = float | int | np.number | np.ndarray | jax.Array
"""A numeric hyperparameter: a Python ``int`` or ``float``, a NumPy scalar (``np.float32(0.1)``),
or a zero-dimensional NumPy or JAX array, concrete or traced (inside ``jit``, ``vmap`` or
``grad``). A schedule's hyperparameters may also be arrays of such numbers with leading batch
axes, made by ``jax.vmap``."""

Numbers = Sequence[float] | jax.Array | np.ndarray
"""A one-dimensional list of numbers (boundaries, milestones, values)."""

REGISTRY: dict[str, type[Schedule]] = {}
"""Every public schedule class by its public name; the config layer builds from it."""

_S = TypeVar("_S", bound="type[Schedule]")


def static_field(*, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is part of the pytree structure, not a leaf.

    ``default`` is keyword-only: type checkers read a field's default from a ``default=``
    argument of a field specifier (see :func:`schedule_class`), not from a positional one.
    """
    return dataclasses.field(default=default, metadata={"static": True})


# Declares to type checkers what the decorator makes at run time: a frozen dataclass whose
# fields are the constructor's arguments (without it, pyright and mypy see no __init__).
@dataclass_transform(frozen_default=True, eq_default=False, field_specifiers=(static_field, dataclasses.field))
def schedule_class(cls: _S) -> _S:
    """Makes ``cls`` a frozen dataclass pytree and registers it under its name.

    A private base (name starting with ``_``) is not registered as a public family.

    Fields declared with :func:`static_field` become pytree metadata; every other field is
    a leaf. Sequences given for a leaf field are stored as one array, so a schedule with
    10,000 boundaries has one leaf, not 10,000.
    """
    dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)  # makes cls a dataclass in place
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
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
        cls.__doc__ = _with_numbers_note(cls.__doc__)
    return cls


NUMBERS_NOTE = """\
    Every number above (``Scalar`` in the signature) may be a Python ``int`` or ``float``, a
    NumPy scalar, or a NumPy or JAX array, concrete or traced: ``jax.vmap`` over it batches
    schedules, and ``jax.grad`` differentiates with respect to it. Options (strings and
    flags) are static: changing one compiles anew.
"""


def _with_numbers_note(doc: str | None) -> str | None:
    """A family's docstring with :data:`NUMBERS_NOTE` after its ``Args:`` section: said once
    here, shown by ``help()`` and the API pages of every family."""
    if not doc or "\n    Args:\n" not in doc or NUMBERS_NOTE in doc:
        return doc
    at = doc.find("\n    Example:")
    return doc + "\n" + NUMBERS_NOTE if at < 0 else doc[:at] + "\n" + NUMBERS_NOTE.rstrip("\n") + "\n" + doc[at:]


class _ScheduleType(type):
    """The type of schedule classes: ``dir()`` of one, and so ``help()``, leaves out what the
    dataclass machinery adds (``__dataclass_fields__``, the generated ``__init__`` and
    ``__setattr__``...); the class docstring and signature say what a user calls."""

    HIDDEN = frozenset({
        "__annotations__", "__dataclass_fields__", "__dataclass_params__", "__match_args__", "__dict__",
        "__weakref__", "__init__", "__post_init__", "__setattr__", "__delattr__",
    })

    def __dir__(cls) -> list[str]:
        return [name for name in super().__dir__() if name not in _ScheduleType.HIDDEN]


class Schedule(metaclass=_ScheduleType):
    """A learning-rate schedule: a pure, jit-compilable function ``step -> value``.

    Calling a schedule accepts a Python int or float, a NumPy or JAX scalar, or an array of
    steps (evaluated elementwise), inside or outside ``jax.jit``. Negative steps are treated
    as step 0. The result is a floating JAX array of the step's shape, finite for every
    step in ``[0, 2**31 - 1]``.

    Every schedule is a JAX pytree whose leaves are its numeric hyperparameters, so it can
    be passed as an argument of a jitted function (a new peak value does not recompile),
    batched with ``jax.vmap`` and differentiated with ``jax.grad``.
    """

    _argument_fields: ClassVar[tuple[str, ...]] = ()
    """The fields an eager call passes to its cached compiled evaluation as arguments, not as
    constants: learning-rate values that the family uses in JAX arithmetic only (no Python
    branch, host computation or Python arithmetic on them), so that a new value reuses the
    compilation. Every other leaf is compiled in and keys the cache by value (see _eager.py)."""

    _step_independent: ClassVar[bool] = False
    """Whether the value is the same at every step (a constant): an eager call then returns
    the array its first call computed."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.metadata.get("static"):
                _check_option(f, value)
                continue
            if isinstance(value, list | tuple):
                if not all(_is_number(v) for v in value):
                    raise ValueError(f"{f.name} must be a list of numbers, got {_format(value)}")
                value = np.asarray(value) if is_concrete(value) else jnp.stack([jnp.asarray(v) for v in value])
            if _is_scalar_field(f) and np.size(value) == 0 and not isinstance(value, Schedule | dict):
                raise ValueError(f"{f.name} must be a number, got an empty {_format(value)}")
            value = _normalized(f.name, value)
            if f.name in STEP_COUNTS:
                value = _step_count(f.name, value)
            object.__setattr__(self, f.name, value)
        self._check()

    def _check(self) -> None:
        """Validates concrete hyperparameters; traced ones are skipped."""

    def _value(self, step: jax.Array) -> ArrayLike:
        """The schedule at ``step``, an array already clamped to ``>= 0``."""
        raise NotImplementedError

    def __call__(self, step: ArrayLike) -> jax.Array:
        """The learning rate at ``step``: an int, a float or an array of steps (negative
        ones are step 0), as a floating JAX array of the step's shape."""
        # A concrete step outside any transformation (logging the rate, a host loop, a plot):
        # one cached compiled call instead of one dispatch per jnp operation (jaxlr/_eager.py).
        if _eager.no_trace():
            host_step = _eager_step(step)
            if host_step is not None:
                return _eager.call(self, host_step, self._evaluate)
        return self._evaluate(step)

    def _evaluate(self, step: ArrayLike) -> jax.Array:
        """The schedule at ``step``, traced or op by op (what ``__call__`` does under ``jit``)."""
        step = jnp.maximum(as_step(step), 0)
        value = jnp.asarray(self._value(step))
        if not jnp.issubdtype(value.dtype, jnp.floating):
            value = value.astype(float_dtype())
        # Overflow (a growing exponential far past its useful range) saturates instead of
        # returning inf; the clip's gradient is zero there, so gradients stay finite too.
        fmax = jnp.finfo(value.dtype).max
        value = jnp.clip(value, -fmax, fmax)
        return jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, step.shape))

    def __repr__(self) -> str:
        """The call that builds this schedule, defaults left out: a string
        ``jaxlr.from_config`` builds an equal schedule from."""
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and _same(value, f.default):
                continue
            parts.append(f"{f.name}={_format(value, full=True)}")
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
        """Equal: the same family with equal hyperparameters (``10`` and ``10.0`` alike)."""
        if type(other) is not type(self):
            return NotImplemented
        a, tree_a = jax.tree_util.tree_flatten(self)
        b, tree_b = jax.tree_util.tree_flatten(other)
        same_structure: bool = tree_a == tree_b  # type: ignore[operator]  # jaxlib ships no stub for PyTreeDef
        return same_structure and all(_same(x, y) for x, y in zip(a, b, strict=True))

    def __hash__(self) -> int:
        """Equal schedules hash alike, so ``jax.jit(schedule)`` (which hashes the function)
        works, and equal schedules share one compiled program."""
        leaves, tree = jax.tree_util.tree_flatten(self)
        if not is_concrete(leaves):
            return id(self)
        # Values, not representations: 10 and 10.0 are equal, and so are 0.0 and -0.0 (+ 0.0
        # turns the one into the other). Integers are at most 2**53, exact in float64.
        return hash((tree, tuple((np.shape(x), (np.asarray(x, np.float64) + 0.0).tobytes()) for x in leaves)))


def float_dtype() -> jnp.dtype:
    """The default floating dtype: float32, or float64 when ``jax_enable_x64`` is on."""
    return jax.dtypes.canonicalize_dtype(np.float64)  # jnp.result_type(float), 10 times faster


def int_limit() -> int:
    """The largest step held exactly as an integer: ``2**31 - 1``, or ``2**63 - 1`` with x64."""
    return int(np.iinfo(jax.dtypes.canonicalize_dtype(np.int64)).max)


MAX_INTEGER = 2**53
"""Integer hyperparameters may be this large: every integer up to it is exact in float64."""


def fit(x: Any) -> Any:
    """A Python int past the default integer type as a float, which JAX can take (the sum
    or double of two step counts can pass ``2**31`` when each is below it)."""
    return float(x) if isinstance(x, int) and not isinstance(x, bool) and abs(x) > int_limit() else x


def as_step(step: Any) -> jax.Array:
    """``step`` as a JAX array of the default integer type, or floating as given.

    Integers of every width and signedness are accepted and taken as the signed default
    (int32, int64 with x64): unsigned or narrow steps would wrap in the arithmetic that
    follows (a ``uint8`` step 3 minus 5 is 254). A concrete step above ``int_limit()`` is
    refused, since it cannot be held exactly (pass a float, or enable x64); a traced
    unsigned one is clamped there, past where every schedule's value has settled.
    """
    limit = int_limit()
    if not isinstance(step, jax.core.Tracer):
        if isinstance(step, bool) or (isinstance(step, np.ndarray | np.generic) and step.dtype == np.bool_):
            raise TypeError(f"step must be an integer or floating number or array, got {step!r}")
        on_host = isinstance(step, int) or (
            isinstance(step, np.ndarray | np.generic) and jnp.issubdtype(step.dtype, jnp.integer)
        )
        unsigned = isinstance(step, jax.Array) and jnp.issubdtype(step.dtype, jnp.unsignedinteger)
        if on_host or unsigned:
            high = step if isinstance(step, int) else (np.max(np.asarray(step)) if np.size(step) else 0)
            if high > limit:
                kind = "int64" if limit > 2**31 else "int32"
                raise ValueError(
                    f"step must be at most {limit} (the largest {kind} step), got {int(high)}: pass a float "
                    "step, or enable jax_enable_x64 for int64 steps"
                )
            if isinstance(step, int) and step < -limit:
                step = 0  # negative steps are step 0; a huge negative one would not convert
            elif isinstance(step, np.ndarray | np.generic) and np.size(step) and int(np.min(step)) < -limit:
                step = np.maximum(step, 0)
    array = jnp.asarray(step)
    if jnp.issubdtype(array.dtype, jnp.integer):
        target = jax.dtypes.canonicalize_dtype(np.int64)
        if array.dtype != target:
            if jnp.issubdtype(array.dtype, jnp.unsignedinteger) and jnp.iinfo(array.dtype).max > limit:
                array = jnp.minimum(array, jnp.asarray(limit, array.dtype))
            array = array.astype(target)
    elif not jnp.issubdtype(array.dtype, jnp.floating):
        raise TypeError(f"step must be an integer or floating number or array, got dtype {array.dtype}")
    return array


def _eager_step(step: Any) -> Any:
    """A concrete step (a number or a NumPy or JAX array), validated as :func:`as_step` does,
    or None for any other step (a list, a tracer)."""
    kind = type(step)
    if kind is float:
        return step
    if kind is int:
        return step if -2**31 < step < 2**31 else as_step(step)
    if isinstance(step, np.generic | np.ndarray | jax.Array) and not isinstance(step, jax.core.Tracer):
        return as_step(step)  # 0-d, or an array of steps (a plot, a table): one compiled call too
    return None


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
        # A divisor past every integer step: the quotient is 0 (in float32 the largest step
        # rounds up to 2**31, and 2**31 / 2**31 would be 1).
        q = jnp.where(d >= float(jnp.iinfo(step.dtype).max) + 1.0, 0.0, q)
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
    limit = int(jnp.iinfo(step.dtype).max)
    exact, divisor = _exact_divisor(step, period)
    whole_offset = jnp.round(offset)
    whole = (whole_offset == offset) & (jnp.abs(whole_offset) <= limit)
    offset_int = jnp.where(whole, whole_offset, 0).astype(step.dtype)
    shift = jnp.remainder(offset_int, divisor)
    # (step - shift) mod d with both in [0, 2**31): no overflow in the subtraction.
    remainder = jnp.remainder(jnp.remainder(step, divisor) - shift, divisor)
    # A period longer than any integer step: the position is the distance from the offset.
    longer = (period >= float(limit) + 1.0) & whole & (step >= offset_int)
    remainder = jnp.where(longer, step - offset_int, remainder)
    exact = (exact & whole) | longer
    value = jnp.where(exact, remainder.astype(t.dtype), jax.lax.stop_gradient(approx))
    return value + (approx - jax.lax.stop_gradient(approx))


def count_reached(boundaries: Any, step: jax.Array, inclusive: bool = False) -> jax.Array:
    """How many sorted ``boundaries`` the step has reached, in O(log K).

    A boundary ``b`` is reached at ``step >= b``; with ``inclusive=True`` (Keras'
    convention) only at ``step > b``. An integer step is compared exactly with every
    boundary, whatever its type: with ``ceil(b)`` (``floor(b)`` when inclusive) as an
    integer, and a boundary past the largest integer step is never reached. (Compared in
    float32, step ``2**31 - 1`` would round up to reach a boundary at ``2**31``.)
    """
    step = jnp.asarray(step)
    side = "left" if inclusive else "right"
    # Measured on CPU over 1e6 steps: comparing against every boundary is fastest up to a
    # few dozen boundaries (0.2 ms at K = 3, against 0.4 ms for the unrolled binary search
    # and 14 ms for jnp's default); beyond, for concrete boundaries, the unrolled O(log K)
    # search (5 ms at K = 1024, against 1.3 s for comparing all), or for integer steps a
    # bucket table (_bucketed_count). Traced boundaries (a schedule passed to jit) take the
    # rolled search: unrolled, its fourteen steps at K = 10,000 tripled the compile time.
    concrete = isinstance(boundaries, np.ndarray | list | tuple)
    many = jnp.shape(boundaries)[-1] > 32
    method = ("scan_unrolled" if concrete else "scan") if many else "compare_all"
    if not jnp.issubdtype(step.dtype, jnp.integer):
        boundaries = jnp.asarray(boundaries)
        dtype = jax.dtypes.canonicalize_dtype(jnp.promote_types(boundaries.dtype, step.dtype))
        return jnp.searchsorted(boundaries.astype(dtype), step.astype(dtype), side=side, method=method)
    limit = int(jnp.iinfo(step.dtype).max)
    b: Any  # a NumPy array for concrete boundaries, a JAX array otherwise
    whole: Any
    thresholds: Any
    if concrete:  # the thresholds cost nothing at run time
        b = np.asarray(boundaries, np.float64)
        whole = np.floor(b) if inclusive else np.ceil(b)
        over = whole > limit
        thresholds = np.where(over, limit, whole).astype(step.dtype)
        n_over = over.sum(-1)
    else:
        b = jnp.asarray(boundaries)
        if jnp.issubdtype(b.dtype, jnp.integer):
            thresholds, n_over = b.astype(step.dtype), 0
        else:
            whole = jnp.floor(b) if inclusive else jnp.ceil(b)
            over = whole >= float(limit) + 1.0  # 2**31 is exact in float32, 2**31 - 1 is not
            thresholds = jnp.where(over, limit, whole).astype(step.dtype)
            n_over = jnp.sum(over, axis=-1)
    count = _bucketed_count(thresholds, step, inclusive) if concrete and many else None
    if count is None:
        count = jnp.searchsorted(thresholds, step, side=side, method=method)
    if inclusive:
        return count  # clipped thresholds equal the largest step, which is never past them
    return count - jnp.where(step >= limit, n_over, 0)


MOST_PER_BUCKET = 8
"""How many thresholds one bucket of :func:`_bucketed_count` may hold (else: binary search)."""


def _bucketed_count(thresholds: Any, step: jax.Array, inclusive: bool) -> jax.Array | None:
    """``searchsorted(thresholds, step)`` for concrete sorted integer thresholds in ``[0,
    limit)``, by one lookup in a table of buckets; None where the thresholds crowd.

    The steps ``[0, top)`` are cut into equal buckets of ``w`` steps; ``first[b]`` counts the
    thresholds below bucket ``b``, and each bucket holds at most ``MOST_PER_BUCKET``: a step
    compares with those few alone. Over 1e6 steps and 10,000 boundaries it takes two
    gathers and a few comparisons where the binary search takes fourteen dependent gathers
    (9 times slower than for 16 boundaries); counts are integers, equal either way.
    """
    if not isinstance(thresholds, np.ndarray) or thresholds.ndim != 1 or not thresholds.size:
        return None
    limit = int(jnp.iinfo(step.dtype).max)
    low, high = int(thresholds[0]), int(thresholds[-1])
    if low < 0 or high >= limit:
        return None
    k = thresholds.size
    for n_buckets in (k, 4 * k):
        width = -(-(high + 1) // n_buckets)
        n_buckets = -(-(high + 1) // width)  # the last bucket holds the last threshold
        first = np.searchsorted(thresholds, np.arange(n_buckets + 1, dtype=np.int64) * width, side="left")
        most = int(np.max(np.diff(first)))
        if most <= MOST_PER_BUCKET:
            break
    else:
        return None
    dtype = jax.dtypes.canonicalize_dtype(int)
    # A step past the last bucket (past every threshold) looks in the last entry, which
    # counts them all.
    bucket = jnp.clip(jnp.floor_divide(step, width), 0, n_buckets)
    start = jnp.take(jnp.asarray(first.astype(dtype)), bucket)
    candidates = start[..., None] + jnp.arange(most, dtype=dtype)
    values = jnp.take(jnp.asarray(thresholds), jnp.minimum(candidates, k - 1))
    below = (values < step[..., None]) if inclusive else (values <= step[..., None])
    return start + jnp.sum(below & (candidates < k), axis=-1, dtype=dtype)


def step_reached(step: jax.Array, boundary: Any) -> jax.Array:
    """``step >= boundary`` for one boundary, exact for integer steps (compared as in
    :func:`count_reached`: float32 would round a step and a boundary near 2**31 alike)."""
    # A NumPy boundary when concrete: count_reached then compares it in float64.
    if is_concrete(boundary):
        return count_reached(np.reshape(np.asarray(boundary, np.float64), (1,)), step) > 0
    return count_reached(jnp.reshape(boundary, (1,)), step) > 0


def integer_of(x: Any, dtype: Any) -> jax.Array | np.ndarray | int | None:
    """``x`` as an integer array of ``dtype`` if it is a whole number that fits, else None.

    Whole means an integer type, or a concrete float with no fraction; a traced float is
    not known to be whole, and gets None.
    """
    limit = int(jnp.iinfo(dtype).max)
    if isinstance(x, bool):
        return None
    if isinstance(x, int | np.integer):
        return int(x) if abs(int(x)) <= limit else None  # a Python int keeps the step's type
    if isinstance(x, float | np.floating):
        return int(x) if float(x).is_integer() and abs(float(x)) <= limit else None
    if isinstance(x, np.ndarray | jax.Array) and jnp.issubdtype(x.dtype, jnp.integer):
        if not is_concrete(x):
            return x.astype(dtype) if jnp.iinfo(x.dtype).max <= limit else None
        return jnp.asarray(x).astype(dtype) if np.all(np.abs(np.asarray(x, np.float64)) <= limit) else None
    if isinstance(x, np.ndarray | jax.Array) and is_concrete(x):
        array = np.asarray(x, np.float64)
        if np.all(np.floor(array) == array) and np.all(np.abs(array) <= limit):
            return jnp.asarray(array.astype(np.int64)).astype(dtype)
    return None


def sub_steps(step: jax.Array, offset: Any) -> jax.Array:
    """``max(step - offset, 0)``, an integer (exact at any step) when the step is an integer
    and the offset a whole number; a float otherwise."""
    step = jnp.asarray(step)
    if jnp.issubdtype(step.dtype, jnp.integer):
        whole = integer_of(offset, step.dtype)
        if whole is not None:
            # Both in [0, limit]: the difference cannot overflow.
            return jnp.maximum(step - whole, 0)
    return jnp.maximum(as_float(step) - offset, 0.0)


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
    left = _before_end(t, length)
    if left is not None:
        # t / length as for a float step (1 - remaining would lose digits near 0); 1 where
        # no step is left, decided in integers.
        return jnp.where(left > 0, exact_div(as_float(t), float(length)), 1.0)
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
    left = _before_end(t, length)
    if left is not None:
        return exact_div(left, float(length))
    t = as_float(t)
    positive = jnp.asarray(length) > 0
    safe = jnp.where(positive, length, 1.0)
    return jnp.where((t >= safe) | ~positive, 0.0, exact_div(safe - jnp.minimum(t, safe), safe))


def steps_left(t: Any, length: Any) -> jax.Array | None:
    """``length - t`` exactly, as a float, for an integer step ``t`` in ``[0, limit]`` and a
    concrete whole ``length > 0``; None otherwise.

    Near 2**31 float32 rounds ``t`` and ``length`` alike, so ``length - t`` taken in floats
    is 0 where a step is left (and a cosine or power of it shows it).
    """
    t = jnp.asarray(t)
    if not jnp.issubdtype(t.dtype, jnp.integer) or not isinstance(length, int | float | np.number):
        return None
    if isinstance(length, bool) or not float(length).is_integer() or length <= 0:
        return None
    limit = int(jnp.iinfo(t.dtype).max)
    if length <= limit:
        return as_float(int(length) - t)
    # Longer than every step: (length - limit) in float64 here, plus the exact rest.
    return (float(length) - limit) + as_float(limit - t)


def _before_end(t: Any, length: Any) -> jax.Array | None:
    """The steps left, ``length - min(t, length)``, exactly (see :func:`steps_left`)."""
    t = jnp.asarray(t)
    if not jnp.issubdtype(t.dtype, jnp.integer) or not isinstance(length, int | float | np.number):
        return None
    if isinstance(length, bool) or not float(length).is_integer() or length <= 0:
        return None
    return steps_left(jnp.clip(t, 0, min(int(length), int(jnp.iinfo(t.dtype).max))), length)


def linear_ramp(start: Any, end: Any, t: jax.Array, length: Any) -> jax.Array:
    """``start + (end - start) * min(t, length) / length``, and ``end`` when length is 0."""
    return blend(start, end, remaining(t, length), progress(t, length))


# ---------------------------------------------------------------------------------------
# Validation. Concrete values are checked; tracers (under jit, vmap, grad) cannot be.


STEP_COUNTS = frozenset({
    "warmup_steps", "decay_steps", "total_steps", "transition_steps", "transition_begin", "step_size",
    "milestones", "boundaries", "steps", "first_period", "step_size_up", "step_size_down", "period",
    "cooldown_steps", "timescale", "steps_per_epoch",
})
"""The arguments that count steps (or epochs, inside :class:`jaxlr.per_epoch`)."""

SMALLEST_STEP_COUNT = 2.0**-14


def _step_count(name: str, value: Any) -> Any:
    """A count of steps, checked and held as the schedule computes with it.

    It is 0, or between ``2**-14`` and ``2**53``: past ``2**53`` float64 no longer holds
    whole steps, and below ``2**-14`` a duration vanishes beside any step count in float32
    (``100 - 1e-38`` is 100) or overflows what is divided by it. Whole counts are exact
    (integer arithmetic); a fractional one is rounded once, here, to the float dtype, so
    that the schedule and its ``repr`` say what it computes (``1.000000001`` is ``1.0`` in
    float32, and then a whole count).
    """
    if value is None or not is_concrete(value) or isinstance(value, bool | str):
        return value
    try:
        array = np.abs(np.asarray(value, np.float64))
    except (TypeError, ValueError):
        return value  # not a number: the family's own check names it
    if np.any(array > MAX_INTEGER):
        raise ValueError(f"{name} must be at most 2**53 steps, got {_format(value)}")
    if np.any((array > 0) & (array < SMALLEST_STEP_COUNT)):
        raise ValueError(f"{name} must be 0 or at least 2**-14 steps (smaller durations vanish in float32 "
                         f"arithmetic), got {_format(value)}")
    if isinstance(value, float | np.floating) and not float(value).is_integer():
        return float(np.asarray(value).astype(float_dtype()))
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.all(np.floor(value) == value):
        return value.astype(float_dtype()).astype(value.dtype)
    return value


def _is_scalar_field(f: dataclasses.Field) -> bool:
    return isinstance(f.type, str) and f.type.startswith("Scalar")


def _check_option(f: dataclasses.Field, value: Any) -> None:
    """A static option of the right type: a flag is a bool (the string 'false' is truthy
    and would switch it on), a mode a string (checked against its choices by the family)."""
    if isinstance(f.default, bool):
        check_flag(f.name, value)
    if isinstance(f.default, str) and not isinstance(value, str):
        raise TypeError(f"{f.name} must be a string, got {value!r} of type {type(value).__name__}")


def _normalized(name: str, value: Any) -> Any:
    """A concrete integer hyperparameter in a form that never wraps.

    Integers past the default integer type (int32 unless x64 is on) become floats, which
    every computation takes them as (lengths, rates), and :func:`count_reached` and
    :func:`mod_steps` compare exactly with integer steps; unsigned integers become signed,
    so that subtracting from them cannot wrap. Past ``2**53`` integers are refused: float64
    would round them.
    """
    if isinstance(value, bool) or not is_concrete(value):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ValueError(f"{name} must be at most 2**53 in magnitude, got {value}")
        return value if abs(value) <= int_limit() else float(value)
    if isinstance(value, np.ndarray | np.generic | jax.Array) and jnp.issubdtype(value.dtype, jnp.integer):
        array = np.asarray(value)
        # In Python integers: float64 would round 2**53 + 1 down to 2**53.
        largest = max((abs(int(x)) for x in array.ravel()), default=0)
        if largest > MAX_INTEGER:
            raise ValueError(f"{name} must be at most 2**53 in magnitude, got {_format(value)}")
        if largest > int_limit():
            return array.astype(np.float64)
        if jnp.issubdtype(array.dtype, jnp.unsignedinteger):
            return array.astype(np.int64)
    return value


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
    dtype = float_dtype()
    if not np.all(np.abs(array) <= float(jnp.finfo(dtype).max)):
        raise ValueError(
            f"{name} must be at most {float(jnp.finfo(dtype).max):.8g} in magnitude, the largest {dtype.name} "
            f"(the precision schedules compute in; enable jax_enable_x64 for float64), got {_format(value)}"
        )
    return array


def _computed(array: np.ndarray) -> np.ndarray:
    """``array`` as the schedule computes with it: rounded to the default float dtype, with
    subnormals flushed to zero (XLA on CPU and GPU flushes them)."""
    dtype = float_dtype()
    rounded = array.astype(dtype)
    return np.where(np.abs(rounded) < jnp.finfo(dtype).tiny, 0.0, rounded).astype(np.float64)


def _numeric_dtype(dtype: Any) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating))


_LIMITS: dict[Any, tuple[float, float]] = {}


def _limits(dtype: Any) -> tuple[float, float]:
    """The largest finite and the smallest normal magnitude of ``dtype``, as Python floats."""
    limits = _LIMITS.get(dtype)
    if limits is None:
        info = jnp.finfo(dtype)
        limits = _LIMITS[dtype] = (float(info.max), float(info.tiny))
    return limits


def _passes(value: Any, ok: Callable[[np.ndarray], Any]) -> bool:
    """Whether a Python ``int`` or ``float`` passes every test of :func:`check`, decided with
    scalars (a few µs) instead of arrays (about 60 µs). False for anything else, or when a
    test fails: :func:`check` then runs its full path, which raises the error."""
    kind = type(value)
    if kind is not float and kind is not int:
        return False
    if kind is int and abs(value) > MAX_INTEGER:
        return False
    x = float(value)
    dtype = float_dtype()
    largest, tiny = _limits(dtype)
    if not abs(x) <= largest:  # NaN and infinities too
        return False
    rounded = float(dtype.type(x))
    computed = 0.0 if abs(rounded) < tiny else rounded
    if x != 0 and computed == 0:
        return False
    return bool(ok(np.array(x))) and bool(ok(np.array(computed)))


def check(name: str, value: Any, rule: str, ok: Callable[[np.ndarray], Any]) -> None:
    """Raises ``ValueError("{name} must be {rule}, got {value}")`` unless ``ok(value)``."""
    if _passes(value, ok):
        return
    array = _numeric(name, value)
    if array is None:
        return
    if not np.all(ok(array)):
        raise ValueError(f"{name} must be {rule}, got {_format(value)}")
    computed = _computed(array)
    if np.any((array != 0) & (computed == 0)):
        dtype = float_dtype()
        raise ValueError(
            f"{name} must be 0 or at least {float(jnp.finfo(dtype).tiny):.8g} in magnitude, the smallest normal "
            f"{dtype.name} (the precision schedules compute in, where smaller values flush to 0; enable "
            f"jax_enable_x64 for float64), got {_format(value)}"
        )
    if not np.all(ok(computed)):
        dtype_name = float_dtype().name
        shown = _format(computed.reshape(()) if computed.size == 1 else computed)
        raise ValueError(
            f"{name} must be {rule} in {dtype_name}, the precision schedules compute in (enable jax_enable_x64 "
            f"for float64), got {_format(value)}, which is {shown} in {dtype_name}"
        )


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


def check_flag(name: str, value: Any) -> None:
    """A bool option: the string ``"false"`` (truthy) must not switch it on."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    """A string option, one of ``choices``: another type is a ``TypeError`` (``True`` or
    ``1`` must not pass as a silent miss), another string a ``ValueError``."""
    options = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {options}, got {value!r} of type {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")


def check_schedule(name: str, value: Any) -> None:
    if not callable(value):
        raise ValueError(f"{name} must be a schedule (a callable step -> value), got {value!r}")


def check_less_equal(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """``a <= b`` where both are concrete (for example warmup_steps <= total_steps)."""
    x, y = _numeric(name_a, a), _numeric(name_b, b)
    if x is not None and y is not None and not np.all(x <= y):
        raise ValueError(f"{name_a} must be <= {name_b}, got {name_a}={_format(a)} and {name_b}={_format(b)}")


def check_less(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """``a < b`` where both are concrete (for example warmup_steps < total_steps)."""
    x, y = _numeric(name_a, a), _numeric(name_b, b)
    if x is not None and y is not None and not np.all(x < y):
        raise ValueError(f"{name_a} must be < {name_b}, got {name_a}={_format(a)} and {name_b}={_format(b)}")


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


def _format(value: Any, full: bool = False) -> str:
    """``value`` as it is written in a call; arrays of more than 16 entries summarised
    (for error messages) unless ``full`` (for ``repr``, which must stay a valid config)."""
    if isinstance(value, Schedule | str | bool) or value is None:
        return repr(value)
    if isinstance(value, jax.core.Tracer):
        return f"<traced {value.aval.str_short()}>"
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, np.ndarray | jax.Array):
        if value.ndim == 0:
            return repr(value.item())
        if full or value.size <= 16:
            return repr(np.asarray(value).tolist())
        return f"<{value.dtype}{list(value.shape)}>"
    if isinstance(value, list | tuple):
        inner = ", ".join(_format(v, full) for v in value)
        return f"[{inner}]"
    if callable(value):
        return getattr(value, "__qualname__", repr(value))
    return repr(value)
