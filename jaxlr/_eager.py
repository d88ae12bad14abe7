"""Eager calls of a schedule, ``float(schedule(step))`` on the host, as one cached compiled call.

Evaluated op by op, a schedule dispatches one small XLA computation per ``jnp`` operation:
50 or more for a warmup-cosine (1 to 3 ms a call), and a join re-traces its ``lax.switch``
on every call (about 100 ms). Here a concrete call runs one jitted function instead,
compiled once per *plan* and reused by every schedule with the same plan:

- the plan of a schedule is its pytree structure (families, static options) and the values
  of the leaves that may steer Python-level branches or host-side precomputation while the
  schedule is traced: step counts, rates, powers, boundaries. These are compiled in as
  constants, exactly as when the schedule is closed over in ``jax.jit(lambda t: s(t))``,
  so the integer-exact paths and float64-derived constants of a concrete schedule are kept;
- the learning-rate values a family declares in ``_argument_fields`` (used in JAX arithmetic
  only), the parameters of :class:`jaxlr.from_fn`, and every leaf of a join's stacked piece
  table (gathered by a traced index anyway) are arguments: a new peak value, a new
  ``LambdaLR`` base rate or a new set of same-family join pieces reuses the compiled call.

A schedule remembers its plan (weakly, by identity), so a repeated call costs one jitted
dispatch. Concrete steps outside any JAX transformation take this path, numbers and arrays
(one compilation per step shape and dtype: a plot of 10,000 steps compiles once where op by op
it compiled each of 50 operations for that shape); lists of steps, traced steps or
hyperparameters, and calls under ``jit``, ``vmap`` or ``grad`` are evaluated exactly as
before. A schedule whose traced evaluation fails (a :class:`jaxlr.from_fn` with a Python-only
function) is evaluated op by op, as before.
"""

from __future__ import annotations

import collections
import threading
import weakref
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

try:  # no public equivalent: whether any JAX transformation is tracing right now
    from jax._src.core import trace_state_clean as no_trace
except ImportError:  # pragma: no cover - a JAX without it evaluates op by op

    def no_trace() -> bool:
        return False


MAX_PLANS = 256
"""Compiled plans kept (least recently used dropped first); each holds one jitted function."""

_plans: collections.OrderedDict[tuple, Any] = collections.OrderedDict()
_lock = threading.Lock()
# id(schedule) -> (weak reference, x64 flag, jitted function or OP_BY_OP, arguments, the value
# of a step-independent schedule once computed)
_memo: dict[int, tuple] = {}

OP_BY_OP = None
"""What :func:`plan_of` returns for a schedule evaluated op by op."""


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _memo.get(key)
    if entry is not None and entry[0] is ref:
        del _memo[key]


def _child(obj: Any, entry: Any) -> Any:
    if isinstance(entry, jax.tree_util.DictKey):
        return obj[entry.key]
    if isinstance(entry, jax.tree_util.SequenceKey):
        return obj[entry.idx]
    return getattr(obj, entry.name)


def _is_argument(path: tuple, root: Any) -> bool:
    """Whether the leaf at ``path`` is passed as an argument (see the module docstring)."""
    from jaxlr._base import Schedule
    from jaxlr.compose import Pieces

    obj, owner, field, pieces = root, None, None, None
    for entry in path:
        if pieces is not None:  # entry picks a group of a join's pieces
            if pieces.stacked[entry.idx]:
                return True  # a stacked group: every leaf is gathered at the traced piece index
            obj, pieces = pieces.groups[entry.idx], None
            continue
        if isinstance(obj, Pieces):
            if entry.name != "groups":
                return True  # the group and index tables, gathered at the traced piece index
            pieces = obj
            continue
        if isinstance(obj, Schedule):
            owner, field = obj, entry.name
        obj = _child(obj, entry)
    return owner is not None and field in type(owner)._argument_fields


def _constant_key(x: Any) -> tuple:
    """A hashable stand-in for a compiled-in leaf, equal only for leaves a trace cannot tell apart."""
    kind = type(x)
    if kind is float:
        return (kind, x.hex())  # -0.0 and 0.0 differ
    if kind is int or kind is bool:
        return (kind, x)
    if isinstance(x, np.ndarray | np.generic | jax.Array):
        array = np.asarray(x)
        weak = bool(getattr(x, "weak_type", False))
        return (kind, array.dtype.str, array.shape, array.tobytes(), weak)
    return (kind, id(x))  # anything else only equals itself (kept alive by the plan)


def _compiled(treedef: Any, mask: tuple[bool, ...], constants: tuple) -> Any:
    def run(arguments: tuple, step: jax.Array) -> jax.Array:
        given, fixed = iter(arguments), iter(constants)
        leaves = [next(given) if m else next(fixed) for m in mask]
        return jax.tree_util.tree_unflatten(treedef, leaves)(step)

    return jax.jit(run)


def _plan(schedule: Any) -> tuple[Any, tuple] | None:
    """The jitted function and the arguments that evaluate ``schedule``; None if its leaves
    are traced (it is then evaluated as before)."""
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(schedule)
    leaves = [leaf for _, leaf in with_paths]
    if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
        return None
    mask = tuple(_is_argument(path, schedule) for path, _ in with_paths)
    constants = tuple(leaf for leaf, m in zip(leaves, mask, strict=True) if not m)
    key = (treedef, mask, tuple(_constant_key(c) for c in constants))
    with _lock:
        function = _plans.get(key)
        if function is None:
            function = _compiled(treedef, mask, constants)
            _plans[key] = function
            if len(_plans) > MAX_PLANS:
                _plans.popitem(last=False)
        else:
            _plans.move_to_end(key)
    # Arrays are put on the device once; Python numbers are passed as they are (weakly typed
    # either way): converting one costs 15 µs, which a schedule built anew for each call (a
    # sweep, a callback) would pay every time, against about 1 µs per call for the jitted call
    # to take a Python number.
    arguments = tuple(leaf if isinstance(leaf, int | float) else jnp.asarray(leaf)
                      for leaf, m in zip(leaves, mask, strict=True) if m)
    return function, arguments


def _scalar(step: Any) -> bool:
    return type(step) is int or type(step) is float or step.ndim == 0


def call(schedule: Any, step: Any, fallback: Any) -> jax.Array:
    """``schedule(step)`` for a concrete ``step``, a number or an array (already validated by
    the caller); the jitted plan compiles once per step shape and dtype."""
    key = id(schedule)
    x64 = jax.config.jax_enable_x64  # type: ignore[attr-defined]  # a dynamic config flag
    entry = _memo.get(key)
    if entry is None or entry[0]() is not schedule or entry[1] != x64:
        plan = _plan(schedule)
        ref = weakref.ref(schedule, lambda r, key=key: _forget(key, r))  # type: ignore[misc]
        function, arguments = plan if plan is not None else (OP_BY_OP, ())
        entry = _memo[key] = (ref, x64, function, arguments, None)
    elif entry[4] is not None and _scalar(step):
        return entry[4]
    function, arguments = entry[2], entry[3]
    if function is OP_BY_OP:
        return fallback(step)
    try:
        value = function(arguments, step)
    except Exception:
        # Not traceable with these arguments (a Python-only from_fn): op by op, as before,
        # which gives the value or raises the error the schedule always raised.
        _memo[key] = (entry[0], x64, OP_BY_OP, (), None)
        return fallback(step)
    if type(schedule)._step_independent and _scalar(step):
        _memo[key] = (*entry[:4], value)  # an immutable array: the same one serves every step
    return value


def plan_of(schedule: Any) -> Any:
    """The jitted function a schedule's eager calls run (None before its first eager call,
    :data:`OP_BY_OP` if they run op by op): for tests and diagnostics."""
    entry = _memo.get(id(schedule))
    if entry is None or entry[0]() is not schedule:
        return None
    return entry[2]


def clear() -> None:
    """Forgets every plan and compiled function."""
    with _lock:
        _plans.clear()
        _memo.clear()
