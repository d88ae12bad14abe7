"""Combinators: schedules built from other schedules, and plain functions lifted into one.

``join`` evaluates in O(log K) for K pieces and compiles in time independent of K: the
piece is found by binary search, and pieces of the same family are stacked into one batched
schedule whose hyperparameters are gathered at the piece's index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxlr._base import (
    Numbers,
    Scalar,
    Schedule,
    _format,
    as_float,
    check_choice,
    check_increasing,
    check_less_equal,
    check_nonnegative,
    check_number,
    check_positive,
    check_schedule,
    check_sequence,
    count_reached,
    exact_div,
    fit,
    floor_div,
    integer_of,
    is_concrete,
    mod_steps,
    progress,
    remaining,
    schedule_class,
    static_field,
    step_reached,
    sub_steps,
)
from jaxlr.decay import DECAY_SHAPES, decay_weights


@schedule_class
class per_epoch(Schedule):
    """Evaluates an epoch-based schedule at optimizer steps.

    Formula, with ``E = steps_per_epoch``::

        lr(t) = schedule(floor(t / E))       if staircase (the default)
        lr(t) = schedule(t / E)              otherwise

    Most tutorials (and torch code that calls ``scheduler.step()`` once per epoch) give
    step sizes, milestones and decay lengths in epochs. Write the schedule in epochs and
    wrap it: ``per_epoch(step_decay(0.1, step_size=30), steps_per_epoch=390)`` is torch's
    ``StepLR(step_size=30)`` stepped at the end of each epoch, evaluated at the optax update
    count. With ``staircase=False`` the epoch is fractional, so the decay is smooth within
    an epoch.

    Args:
        schedule: a schedule whose steps are epochs.
        steps_per_epoch: ``E``, optimizer steps per epoch (> 0).
        staircase: True to evaluate at the whole epoch (constant within an epoch, as a torch
            scheduler stepped once per epoch); False at the fractional epoch ``t / E``.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.per_epoch(jaxlr.multistep_decay(1.0, milestones=[2], gamma=0.1), steps_per_epoch=100)
        >>> [round(float(s(t)), 4) for t in (0, 199, 200)]
        [1.0, 1.0, 0.1]
    """

    schedule: Schedule
    steps_per_epoch: Scalar
    staircase: bool = static_field(default=True)

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_positive("steps_per_epoch", self.steps_per_epoch)

    def _value(self, step: jax.Array) -> jax.Array:
        if self.staircase:
            whole = integer_of(self.steps_per_epoch, step.dtype) if jnp.issubdtype(step.dtype, jnp.integer) else None
            # An integer epoch keeps a periodic schedule's phase exact at any step.
            epoch = floor_div(step, self.steps_per_epoch) if whole is None else jnp.floor_divide(step, whole)
        else:
            epoch = exact_div(as_float(step), self.steps_per_epoch)
        return self.schedule(epoch)


@schedule_class
class from_fn(Schedule):
    """Lifts a function ``fn(step, **params) -> value`` into a schedule (torch's ``LambdaLR``).

    ``params`` are the function's numeric hyperparameters: they are the schedule's pytree
    leaves, so ``jax.vmap``, ``jax.grad`` and jit-as-argument work over them as over any
    family's. ``fn`` itself is static; it must be a pure JAX function of its arguments.
    Negative steps are step 0, as for every schedule.

    torch's ``LambdaLR(optimizer, lr_lambda)`` multiplies the base rate by
    ``lr_lambda(epoch)``: ``from_fn(lambda t, lr: lr * lr_lambda(t), lr=base_lr)``.

    Args:
        fn: a pure JAX function ``fn(step, **params)`` of a step array, returning the rate.
        params: the function's numeric hyperparameters, by name (also accepted as keyword
            arguments); they are the schedule's pytree leaves.

    Example:
        >>> import jax
        >>> import jaxlr
        >>> s = jaxlr.from_fn(lambda t, peak: peak * jax.lax.rsqrt(t + 1.0), peak=1.0)
        >>> [float(s(t)) for t in (0, 3, 99)]
        [1.0, 0.5, 0.10000000149011612]
    """

    _argument_fields = ("params",)

    fn: Callable[..., Any] = static_field()
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __init__(self, fn: Callable[..., Any], params: dict[str, Any] | None = None, **kwargs: Any) -> None:
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "params", {**(params or {}), **kwargs})
        self.__post_init__()

    def _check(self) -> None:
        if not callable(self.fn):
            raise ValueError(f"fn must be a function of the step, got {self.fn!r}")
        for name, value in self.params.items():
            check_number(name, value)

    def _value(self, step: jax.Array) -> jax.Array:
        return as_float(self.fn(step, **self.params))

    def __repr__(self) -> str:
        params = "".join(f", {name}={_format(value, full=True)}" for name, value in self.params.items())
        return f"from_fn({_format(self.fn)}{params})"


def _lift(schedule: Any) -> Schedule:
    """A jaxlr schedule as it is; any other callable lifted with :class:`from_fn`."""
    check_schedule("schedule", schedule)
    return schedule if isinstance(schedule, Schedule) else from_fn(schedule)


@schedule_class
class scale(Schedule):
    """``factor * schedule(t)``.

    Args:
        schedule: the schedule to scale.
        factor: the factor (>= 0).

    Example:
        >>> import jaxlr
        >>> float(jaxlr.scale(jaxlr.constant(0.5), factor=0.1)(0))
        0.05000000074505806
    """

    _argument_fields = ("factor",)

    schedule: Schedule
    factor: Scalar

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_nonnegative("factor", self.factor)

    def _value(self, step: jax.Array) -> ArrayLike:
        return self.factor * self.schedule(step)


@schedule_class
class clip(Schedule):
    """``schedule(t)`` clipped to ``[min_value, max_value]`` (either bound may be None).

    Args:
        schedule: the schedule to clip.
        min_value: the lower bound (>= 0); None for none.
        max_value: the upper bound (>= ``min_value``); None for none.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.clip(jaxlr.exponential_decay(1.0, 0.5), min_value=0.2)
        >>> [float(s(t)) for t in (0, 1, 5)]
        [1.0, 0.5, 0.20000000298023224]
    """

    _argument_fields = ("min_value", "max_value")

    schedule: Schedule
    min_value: Scalar | None = None
    max_value: Scalar | None = None

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        if self.min_value is None and self.max_value is None:
            raise ValueError("clip needs min_value or max_value, got neither")
        if self.min_value is not None:
            check_nonnegative("min_value", self.min_value)
        if self.max_value is not None:
            check_nonnegative("max_value", self.max_value)
        if self.min_value is not None and self.max_value is not None:
            check_less_equal("min_value", self.min_value, "max_value", self.max_value)

    def _value(self, step: jax.Array) -> jax.Array:
        value = self.schedule(step)
        if self.min_value is not None:
            value = jnp.maximum(value, self.min_value)
        if self.max_value is not None:
            value = jnp.minimum(value, self.max_value)
        return value


@schedule_class
class multiply(Schedule):
    """``first(t) * second(t)``: torch's ``ChainedScheduler`` of multiplicative factors.

    Args:
        first: a schedule (the base rate, say).
        second: a schedule (a factor, say a warmup from 0 to 1).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.multiply(jaxlr.constant(0.1), jaxlr.linear_warmup(1.0, 10))
        >>> [round(float(s(t)), 4) for t in (0, 5, 10)]
        [0.0, 0.05, 0.1]
    """

    first: Schedule
    second: Schedule

    def _check(self) -> None:
        check_schedule("first", self.first)
        check_schedule("second", self.second)

    def _value(self, step: jax.Array) -> jax.Array:
        return self.first(step) * self.second(step)


@schedule_class
class shift(Schedule):
    """``schedule(t - steps)``: the schedule delayed, holding ``schedule(0)`` before.

    A negative ``steps`` advances it, ``schedule(t + |steps|)``: Hugging Face's
    ``cosine_warmup_with_min_lr`` is its ``cosine_with_min_lr`` one step ahead. An integer
    step advanced past the largest integer step stops there.

    Args:
        schedule: the schedule to delay.
        steps: the delay in steps (negative: an advance).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.shift(jaxlr.linear(1.0, 0.0, 10), steps=5)
        >>> [float(s(t)) for t in (0, 5, 10, 15)]
        [1.0, 1.0, 0.5, 0.0]
        >>> [float(jaxlr.shift(jaxlr.linear(1.0, 0.0, 10), steps=-5)(t)) for t in (0, 5)]
        [0.5, 0.0]
    """

    schedule: Schedule
    steps: Scalar

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_number("steps", self.steps)

    def _value(self, step: jax.Array) -> jax.Array:
        step = jnp.asarray(step)
        if jnp.issubdtype(step.dtype, jnp.integer):
            whole = integer_of(self.steps, step.dtype)
            if whole is not None:
                # An advance must not wrap past the largest step: step + |steps| <= limit.
                step = jnp.minimum(step, jnp.iinfo(step.dtype).max + jnp.minimum(whole, 0))
        return self.schedule(sub_steps(step, self.steps))  # an integer step stays one: exact at any step


@schedule_class
class repeat(Schedule):
    """``schedule(t mod period)``: the first ``period`` steps, over and over.

    The position is taken in integer arithmetic, exact at any step.

    Args:
        schedule: the schedule whose first ``period`` steps repeat.
        period: the length of one repetition in steps (> 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.repeat(jaxlr.linear(1.0, 0.0, 10), period=10)
        >>> [float(s(t)) for t in (0, 5, 10, 2**30 + 1)]  # 2**30 + 1 = 5 (mod 10)
        [1.0, 0.5, 1.0, 0.5]
    """

    schedule: Schedule
    period: Scalar

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_positive("period", self.period)

    def _value(self, step: jax.Array) -> jax.Array:
        step = jnp.asarray(step)
        if jnp.issubdtype(step.dtype, jnp.integer) and isinstance(self.period, int | float | np.number) \
                and float(self.period).is_integer():
            # An integer position for the inner schedule, whose own phase is then exact too
            # (a float remainder past 2**24 rounds); a period past every step never wraps.
            whole = integer_of(self.period, step.dtype)
            return self.schedule(step if whole is None else jnp.remainder(step, whole))
        return self.schedule(mod_steps(step, self.period))


@schedule_class
class cooldown(Schedule):
    """Any schedule, multiplied down to 0 over its last ``cooldown_steps`` (big_vision style).

    Formula, with ``q = (t - (T - C)) / C`` the fraction of the cooldown done::

        lr(t) = schedule(t)                       for t < T - C
        lr(t) = schedule(t) * w(q)                for T - C <= t  (0 from T on)

    ``shape``: "linear" ``1 - q``, "cosine" ``½(1 + cos πq)``, "1-sqrt" ``1 - sqrt(q)``.
    ``cooldown(constant(peak), T, C)`` after a warmup is a warmup-stable-decay schedule.

    Args:
        schedule: the schedule to cool down.
        total_steps: ``T``, the step at which the value reaches 0 (> 0).
        cooldown_steps: ``C``, the cooldown's length in steps (>= 0, <= ``T``).
        shape: "linear", "cosine" or "1-sqrt".

    Example:
        >>> import jaxlr
        >>> s = jaxlr.cooldown(jaxlr.constant(1.0), total_steps=100, cooldown_steps=20)
        >>> [float(s(t)) for t in (0, 80, 90, 100)]
        [1.0, 1.0, 0.5, 0.0]
    """

    schedule: Schedule
    total_steps: Scalar
    cooldown_steps: Scalar
    shape: str = static_field(default="linear")

    def _check(self) -> None:
        check_schedule("schedule", self.schedule)
        check_positive("total_steps", self.total_steps)
        check_nonnegative("cooldown_steps", self.cooldown_steps)
        check_less_equal("cooldown_steps", self.cooldown_steps, "total_steps", self.total_steps)
        check_choice("shape", self.shape, DECAY_SHAPES)

    def _value(self, step: jax.Array) -> jax.Array:
        # Exact for integer steps: t - start in float32 cancels near 2**31, and a start past
        # int32 (total_steps = 2**31) must not be reached by step 2**31 - 1 rounded up.
        start = fit(self.total_steps - self.cooldown_steps)
        after = sub_steps(step, start)
        length = self.cooldown_steps
        weight, _ = decay_weights(self.shape, remaining(after, length), progress(after, length))
        return self.schedule(step) * jnp.where(step_reached(step, start), weight, 1.0)


# ---------------------------------------------------------------------------------------
# join: K pieces at O(log K) cost.


def _group_key(schedule: Schedule) -> tuple:
    leaves, tree = jax.tree_util.tree_flatten(schedule)
    return tree, tuple((jnp.shape(x), jnp.result_type(x)) for x in leaves)


def _stack(pieces: list[Schedule]) -> Schedule:
    """Pieces of one structure as one schedule whose leaves have a leading piece axis."""
    leaves = [jax.tree_util.tree_leaves(p) for p in pieces]
    tree = jax.tree_util.tree_structure(pieces[0])
    stacked = []
    for column in zip(*leaves, strict=True):
        stacked.append(np.stack([np.asarray(x) for x in column]) if is_concrete(column) else jnp.stack(column))
    return jax.tree_util.tree_unflatten(tree, stacked)


def _take(stacked: Schedule, index: jax.Array) -> Schedule:
    """Piece ``index`` of a stacked group (out-of-range indices clamp)."""
    return jax.tree.map(lambda x: jnp.take(jnp.asarray(x), index, axis=0, mode="clip"), stacked)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True, eq=False)
class Pieces:
    """The pieces of a :class:`join`, stored by structure: ``groups[g]`` stacks every piece
    of one family and shape, and piece ``k`` is ``groups[group[k]]`` at ``index[k]``.

    This keeps a join of 10,000 cosine pieces at a handful of leaves, so passing it to a
    jitted function and compiling it cost the same as for two pieces.
    """

    groups: tuple[Schedule, ...]
    group: np.ndarray
    index: np.ndarray
    # A group of one piece stays as given: its Python-number hyperparameters keep their
    # float64 precision (see log_of), which gathering from a float32 stack would lose.
    stacked: tuple[bool, ...] = dataclasses.field(default=(), metadata={"static": True})

    @classmethod
    def of(cls, schedules: Sequence[Any]) -> Pieces:
        lifted = [_lift(s) for s in schedules]
        keys: dict[tuple, list[int]] = {}
        for k, piece in enumerate(lifted):
            keys.setdefault(_group_key(piece), []).append(k)
        group = np.zeros(len(lifted), np.int32)
        index = np.zeros(len(lifted), np.int32)
        groups, stacked = [], []
        for g, members in enumerate(keys.values()):
            group[members] = g
            index[members] = np.arange(len(members))
            stacked.append(len(members) > 1)
            groups.append(_stack([lifted[k] for k in members]) if stacked[-1] else lifted[members[0]])
        return cls(tuple(groups), group, index, tuple(stacked))

    def piece(self, g: int, index: jax.Array) -> Schedule:
        """Member ``index`` of group ``g`` (traced index; clamps out of range)."""
        return _take(self.groups[g], index) if self.stacked[g] else self.groups[g]

    def __len__(self) -> int:
        return int(np.shape(self.group)[-1])  # the last axis: a batch of joins stacks in front

    def __getitem__(self, k: int) -> Schedule:
        """Piece ``k`` as it was given (NumPy indexing keeps float64 values exact)."""
        g, index = int(self.group[k]), int(self.index[k])
        if not self.stacked[g]:
            return self.groups[g]
        return jax.tree.map(lambda x: np.asarray(x)[index] if is_concrete(x) else x[index], self.groups[g])

    def unstacked(self) -> list[Schedule]:
        return [self[k] for k in range(len(self))]

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(p) for p in self.unstacked()) + "]"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pieces) or len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self.unstacked(), other.unstacked(), strict=True))

    __hash__ = None  # type: ignore[assignment]


@schedule_class
class join(Schedule):
    """Pieces in sequence: piece ``k`` runs from ``boundaries[k-1]`` and sees ``t - boundaries[k-1]``.

    The semantics of ``optax.join_schedules`` (switch at ``t >= boundary``), at O(log K)
    cost for K pieces: the piece is found by binary search, and pieces of the same family
    and shapes are evaluated as one batched schedule, gathered at the piece's index. A join
    of 10,000 cosine pieces compiles to the same program as a join of two (see
    ``benchmarks/``), where ``optax.join_schedules`` grows linearly.

    Gradients are finite wherever the selected piece's are: with a scalar step only the
    selected piece is evaluated (``lax.switch``), so a piece that is NaN or inf where it is
    not selected (``lambda c: lr * rsqrt(c)`` before its boundary) cannot poison them, as
    it does in optax. Plain functions are lifted with :class:`from_fn`.

    torch's ``SequentialLR(schedulers, milestones)`` is ``join(schedules, milestones)``;
    optax's ``sgdr_schedule`` is a join of ``warmup_cosine`` pieces.

    Args:
        schedules: the pieces, in order: jaxlr schedules or functions of the step.
        boundaries: the steps at which each piece after the first starts, strictly
            increasing; one entry fewer than ``schedules``.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.join([jaxlr.linear_warmup(1.0, 10), jaxlr.cosine_decay(1.0, 90)], boundaries=[10])
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 55, 100)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    schedules: Pieces
    boundaries: Numbers

    def __init__(self, schedules: Sequence[Schedule | Callable[..., Any]] | Pieces, boundaries: Numbers) -> None:
        # Declared for type checkers: the field holds Pieces, the argument is a list of schedules.
        object.__setattr__(self, "schedules", schedules)
        object.__setattr__(self, "boundaries", boundaries)
        self.__post_init__()

    def __post_init__(self) -> None:
        if not isinstance(self.schedules, Pieces):
            if not isinstance(self.schedules, list | tuple) or not self.schedules:
                raise ValueError(f"schedules must be a non-empty list of schedules, got {_format(self.schedules)}")
            object.__setattr__(self, "schedules", Pieces.of(self.schedules))
        super().__post_init__()

    def _check(self) -> None:
        check_sequence("boundaries", self.boundaries)
        check_nonnegative("boundaries", self.boundaries)
        check_increasing("boundaries", self.boundaries)
        n_boundaries = np.shape(self.boundaries)[-1]
        if n_boundaries != len(self.schedules) - 1:
            raise ValueError(
                f"boundaries must have one entry fewer than schedules, got {n_boundaries} boundaries "
                f"for {len(self.schedules)} schedules"
            )

    def _value(self, step: jax.Array) -> jax.Array:
        step = jnp.asarray(step)
        if step.ndim > 0:
            return jax.vmap(self._scalar)(step.ravel()).reshape(step.shape)
        return self._scalar(step)

    def _scalar(self, step: jax.Array) -> jax.Array:
        pieces = self.schedules
        k = count_reached(self.boundaries, step)
        # The local step is an integer (exact) for an integer step and whole boundaries. A
        # reached boundary is at most the step, so clipping the unreachable ones is harmless.
        whole = None
        if jnp.issubdtype(step.dtype, jnp.integer):
            limit = int(jnp.iinfo(step.dtype).max)
            clipped = self.boundaries
            if isinstance(clipped, np.ndarray) and clipped.size:
                clipped = np.minimum(clipped, limit)
            whole = integer_of(clipped, step.dtype)
        if whole is None:
            whole = jnp.asarray(self.boundaries)
        if jnp.shape(whole)[-1]:
            start = jnp.where(k > 0, jnp.take(whole, k - 1, mode="clip"), 0)
        else:
            start = jnp.zeros((), jnp.result_type(whole))
        dtype = jax.dtypes.canonicalize_dtype(jnp.promote_types(step.dtype, start.dtype))
        local = step.astype(dtype) - start.astype(dtype)
        branches = [lambda i, t, g=g: pieces.piece(g, i)(t) for g in range(len(pieces.groups))]
        if len(branches) == 1:
            # Every piece in one group, in order: piece k is member k (no table to gather from).
            return branches[0](k, local)
        group = jnp.take(jnp.asarray(pieces.group), k, mode="clip")
        index = jnp.take(jnp.asarray(pieces.index), k, mode="clip")
        return jax.lax.switch(group, branches, index, local)
