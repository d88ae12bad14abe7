"""Loss laws: predict a training-loss curve from its learning-rate schedule, fit the law to
a few measured runs, and pick the schedule the law says is best before paying for it.

The multi-power law of Luo et al. 2025 ("A Multi-Power Law for Loss Curve Prediction Across
Learning Rate Schedules", arXiv 2503.12811). With ``η_t`` the rate of update ``t`` (0-based,
warmup included), ``S(t) = Σ_{τ≤t} η_τ`` and ``S_k(t) = Σ_{τ=k}^{t} η_τ``::

    L(t) = L0 + A · S(t)^(-α) − B · Σ_{k=1}^{t} (η_{k-1} − η_k) · G(η_k^(-γ) · S_k(t))
    G(x) = 1 − (C·x + 1)^(-β)

The first two terms are a power law in the learning-rate area; the sum is the extra loss
reduction each drop of the rate buys, growing as training goes on at the lower rate. Every
rate change from step 1 counts, the warmup's rises included (they add loss, and the drops
after them take it away): this is the paper's reference code, whose fitted parameters
reproduce its published metrics. (The paper's text writes the sum over the steps after the
warmup; on the paper's runs the warmup part is a near constant that ``L0`` absorbs.)

- :class:`MultiPowerLaw`: the seven parameters, a pytree; :meth:`MultiPowerLaw.predict`
  gives the loss at any steps of any schedule in one jitted call.
- :func:`fit_multi_power_law`: the paper's fitting procedure (a Huber loss on log residuals),
  jitted, its starting points batched with ``jax.vmap``.
- :func:`optimize_schedule`: the monotone schedule (a :class:`jaxlr.piecewise_linear`) that
  minimises the predicted final loss; :func:`optimize_wsd` and
  :func:`optimize_hyperparameters`: the best hyperparameters of a schedule family, found by
  ``jax.grad`` through the schedule and the law.
- :func:`prediction_metrics`: R², MAE, RMSE, PredE and WorstE as the paper computes them.

How :meth:`~MultiPowerLaw.predict` avoids the double sum: at ``n`` logged steps of a
``T``-step run the sum has ``n·T/2`` terms (20 million for the paper's 72,000-step runs).
Grouped into aligned blocks of ``2^l`` steps, the terms of a block far enough from the
step ``t`` (the learning-rate area ``S_k(t)`` varies by at most a quarter across it, and so
does the rate where the rate changes) are summed exactly up to second order: a Taylor
expansion of ``G`` about the block's centre, with the block's moments of ``η^-γ`` and
``S_k``. Near ``t`` the terms are summed one by one. Which blocks each step uses depends
only on the schedule, so it is planned once on the host (in float64), and each block's
moments cost one pass over its steps. A step schedule is exact (one term per drop), and the
paper's curves come out within 6e-8 of the double sum in float64 with about 100 block terms
per step instead of up to 72,000; ``exact=True`` sums the terms one by one.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxlr._base import Scalar, float_dtype, is_concrete
from jaxlr.decay import piecewise_linear
from jaxlr.llm import wsd

__all__ = [
    "MultiPowerLaw",
    "fit_multi_power_law",
    "optimize_hyperparameters",
    "optimize_schedule",
    "optimize_wsd",
    "prediction_metrics",
]

_BLOCK_RATIO = 1.25
"""A block of steps is summed by its moments when ``S_k(t)`` and the rate each vary by at
most this factor across it (the error is third order in the spread: 6e-8 on the paper's
curves, against 9e-6 at 2 and 1e-9 at 1.1, where it costs twice the terms)."""

_EXACT_CHUNK_ELEMENTS = 1 << 22
"""The exact double sum is evaluated this many (step, term) pairs at a time (16 MiB of
float32 per intermediate)."""

PARAMETER_NAMES = ("L0", "A", "alpha", "B", "C", "beta", "gamma")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MultiPowerLaw:
    """The multi-power law's seven parameters; a JAX pytree (each parameter a leaf).

    ``L(t) = L0 + A·S(t)^(-alpha) − B·Σ_{k=1}^{t} (η_{k-1} − η_k)·G(η_k^(-gamma)·S_k(t))``,
    ``G(x) = 1 − (C·x + 1)^(-beta)`` (see the module docstring for ``S`` and ``S_k``). ``L0``
    is the loss the power law tends to, ``A`` and ``alpha`` its scale and exponent, ``B``
    the loss one unit of rate drop can buy, ``C``, ``beta`` and ``gamma`` how fast the
    drop pays off as training continues at the lower rate.

    A rate of exactly 0 is the limit ``η → 0``: its ``η^(-gamma)`` is infinite, so a drop
    to 0 has paid off in full (``G = 1``) once any later step trains at a positive rate,
    and not at all before.

    Parameters may be JAX arrays or tracers (``jax.grad`` of a prediction with respect to
    them is finite); concrete ones must be finite, ``gamma > 0`` and the others but ``L0``
    ``>= 0``.

    Example (the paper's fit for its 25M-parameter model, under a constant rate):
        >>> import numpy as np
        >>> law = MultiPowerLaw(L0=3.04, A=0.525, alpha=0.508, B=363.8, C=2.066, beta=0.583, gamma=0.641)
        >>> lrs = np.full(10_000, 3e-4)
        >>> [round(float(x), 4) for x in law.predict(lrs, [999, 9_999])]
        [4.0078, 3.3405]
        >>> round(3.04 + 0.525 * (3e-4 * 10_000) ** -0.508, 4)  # L0 + A·S^-alpha: no rate drop
        3.3405
    """

    L0: Scalar
    A: Scalar
    alpha: Scalar
    B: Scalar
    C: Scalar
    beta: Scalar
    gamma: Scalar

    def __post_init__(self) -> None:
        for name in PARAMETER_NAMES:
            value = getattr(self, name)
            if not is_concrete(value) or _is_placeholder(value):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number | np.ndarray | jax.Array):
                raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
            array = np.asarray(value, np.float64)
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be finite, got {value!r}")
            if name == "gamma" and not np.all(array > 0):
                raise ValueError(f"gamma must be > 0, got {value!r}")
            if name not in ("L0", "gamma") and not np.all(array >= 0):
                raise ValueError(f"{name} must be >= 0, got {value!r}")

    def as_array(self) -> jax.Array:
        """The parameters stacked in the order ``L0, A, alpha, B, C, beta, gamma``."""
        return jnp.stack([jnp.asarray(getattr(self, n), float_dtype()) for n in PARAMETER_NAMES])

    @classmethod
    def from_array(cls, values: Any) -> MultiPowerLaw:
        """The law with parameters ``values``, in the order of :meth:`as_array`."""
        values = jnp.asarray(values) if not isinstance(values, np.ndarray) else values
        if np.shape(values) != (7,):
            raise ValueError(f"values must have 7 entries (L0, A, alpha, B, C, beta, gamma), got shape "
                             f"{np.shape(values)}")
        if is_concrete(values):
            return cls(*(float(v) for v in np.asarray(values, np.float64)))
        return cls(*(values[i] for i in range(7)))

    def predict(self, lrs: Any, steps: Any, *, exact: bool = False) -> jax.Array:
        """The predicted loss after update ``steps`` of a run with per-step rates ``lrs``.

        ``lrs`` holds the rate of every update from step 0 (a 1-D array, ``lrs[t]`` the rate
        of update ``t``), or is a schedule (any callable ``step -> rate``, such as a jaxlr
        schedule), evaluated at steps ``0 ... max(steps)``. ``steps`` is a step or an
        array of them, in ``[0, len(lrs))``; the result has its shape.

        With concrete rates and steps the sum is planned on the host and evaluated in one
        jitted call (a 72,000-step run at its 562 logged steps takes milliseconds); with
        traced ones (under ``jit``, or ``grad`` with respect to the rates), or
        ``exact=True``, every term is summed (``O(len(steps) * len(lrs))`` work). Both are
        differentiable with respect to the law's parameters.
        """
        _check_flag("exact", exact)
        rates, steps_array, shape = _rates_and_steps(lrs, steps)
        if not exact and is_concrete(rates) and is_concrete(steps_array):
            plan = _plan(np.asarray(rates, np.float64), np.asarray(steps_array))
            return _predict_planned_jit(self, plan)[: steps_array.shape[0]].reshape(shape)
        return _predict_exact(self, jnp.asarray(rates, float_dtype()), jnp.asarray(steps_array)).reshape(shape)

    def final_loss(self, lrs: Any) -> jax.Array:
        """The predicted loss after the last update of a run with per-step rates ``lrs``.

        Exact, ``O(len(lrs))``, and differentiable with respect to the rates and the law's
        parameters: this is what :func:`optimize_schedule` minimises.
        """
        rates = _check_rates(lrs)
        return _final_loss(self, jnp.asarray(rates, float_dtype()))


def _is_placeholder(value: Any) -> bool:
    """JAX rebuilds pytrees with non-numbers as leaves (``object()``, ``None``,
    ``ShapeDtypeStruct``) in transformations; those are not validated."""
    return value is None or (not isinstance(value, int | float | np.number | np.ndarray | jax.Array | str | bool))


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r} of type {type(value).__name__}")


# ---------------------------------------------------------------------------------------
# Arguments


def _check_rates(lrs: Any, name: str = "lrs") -> Any:
    """A 1-D array of finite rates ``>= 0`` (checked where concrete)."""
    if callable(lrs):
        raise TypeError(f"{name} must be an array of per-step rates here; evaluate the schedule first: "
                        f"schedule(jnp.arange(total_steps))")
    if isinstance(lrs, str | bytes) or lrs is None:
        raise TypeError(f"{name} must be a 1-D array of per-step learning rates, got {lrs!r}")
    array = lrs if isinstance(lrs, jax.Array) else np.asarray(lrs)
    if array.ndim != 1 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of per-step learning rates, got shape {array.shape}")
    if not (jnp.issubdtype(array.dtype, jnp.floating) or jnp.issubdtype(array.dtype, jnp.integer)) or \
            array.dtype == np.bool_:
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if is_concrete(array):
        values = np.asarray(array, np.float64)
        if not np.all(np.isfinite(values)):
            bad = int(np.argmin(np.isfinite(values)))
            raise ValueError(f"{name} must be finite, got a non-finite rate at step {bad}")
        if np.any(values < 0):
            raise ValueError(f"{name} must be >= 0, got {values.min():g} at step {int(np.argmin(values))}")
    return array


def _check_steps(steps: Any, length: int | None, name: str = "steps") -> Any:
    """An integer array of steps in ``[0, length)`` (checked where concrete)."""
    if isinstance(steps, bool) or steps is None or isinstance(steps, str | bytes):
        raise TypeError(f"{name} must be an integer step or array of steps, got {steps!r}")
    array = steps if isinstance(steps, jax.Array) else np.asarray(steps)
    if array.ndim > 1:
        raise ValueError(f"{name} must be a step or a 1-D array of steps, got shape {array.shape}")
    if not jnp.issubdtype(array.dtype, jnp.integer) or array.dtype == np.bool_:
        if is_concrete(array) and jnp.issubdtype(array.dtype, jnp.floating):
            values = np.asarray(array, np.float64)
            if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
                return values.astype(np.int64)
        raise TypeError(f"{name} must be whole steps (integers), got dtype {array.dtype}")
    if is_concrete(array) and array.size:
        values = np.asarray(array, np.int64)
        if values.min() < 0:
            raise ValueError(f"{name} must be >= 0, got {values.min()}")
        if length is not None and values.max() >= length:
            raise ValueError(f"{name} must be < len(lrs) = {length} (lrs[t] is the rate of update t), got "
                             f"{values.max()}")
    return array


def _rates_and_steps(lrs: Any, steps: Any) -> tuple[Any, Any, tuple[int, ...]]:
    """The per-step rates, the steps as a 1-D integer array, and the shape of ``steps``."""
    if callable(lrs):
        steps_array = _check_steps(steps, None)
        if not is_concrete(steps_array):
            raise ValueError("steps must be concrete when lrs is a schedule (its length is max(steps) + 1); "
                             "pass the rates as an array, schedule(jnp.arange(n)), to predict at traced steps")
        count = int(np.max(steps_array)) + 1 if np.size(steps_array) else 1
        lrs = lrs(jnp.arange(count))
    rates = _check_rates(lrs)
    steps_array = _check_steps(steps, rates.shape[0])
    shape = tuple(np.shape(steps_array))
    return rates, jnp.reshape(steps_array, (-1,)) if isinstance(steps_array, jax.Array) else \
        np.reshape(steps_array, (-1,)), shape


# ---------------------------------------------------------------------------------------
# The exact sum


def _gain(C: Any, beta: Any, gamma: Any, eta: jax.Array, area: jax.Array) -> jax.Array:
    """``G(η^(-gamma)·area) = 1 − (1 + C·η^(-gamma)·area)^(-beta)``; for ``η = 0`` its limit,
    1 where ``area > 0`` and 0 where not. Gradients are finite on both branches."""
    positive = eta > 0
    x = C * jnp.where(positive, eta, 1.0) ** (-gamma) * area
    gain = -jnp.expm1(-beta * jnp.log1p(x))
    return jnp.where(positive, gain, jnp.where(area > 0, 1.0, 0.0))


def _drops(eta: jax.Array) -> jax.Array:
    """``d_k = η_{k-1} − η_k`` for ``k >= 1``, and ``d_0 = 0``."""
    return jnp.concatenate([jnp.zeros(1, eta.dtype), eta[:-1] - eta[1:]])


def _power_term(law: MultiPowerLaw, area: jax.Array) -> jax.Array:
    return jnp.asarray(law.L0 + law.A * area ** (-law.alpha))


@jax.jit
def _predict_exact(law: MultiPowerLaw, eta: jax.Array, steps: jax.Array) -> jax.Array:
    length = eta.shape[0]
    drops = _drops(eta)
    k = jnp.arange(length)
    chunk = max(1, min(steps.shape[0], _EXACT_CHUNK_ELEMENTS // length))
    padded = jnp.concatenate([steps, jnp.zeros((-steps.shape[0]) % chunk, steps.dtype)])

    def loss_drop(targets: jax.Array) -> jax.Array:
        before = k[None, :] <= targets[:, None]
        # S_k(t), each summed from t down to k: accurate where it is small (near t), as
        # P_t - P_{k-1} from the prefix sums would not be in float32.
        area = jnp.flip(jnp.cumsum(jnp.flip(jnp.where(before, eta, 0.0), 1), 1), 1)
        terms = drops * _gain(law.C, law.beta, law.gamma, eta[None, :], area)
        return jnp.sum(jnp.where(before, terms, 0.0), axis=1)

    drop = jax.lax.map(loss_drop, padded.reshape(-1, chunk)).reshape(-1)[: steps.shape[0]]
    return _power_term(law, jnp.cumsum(eta)[steps]) - law.B * drop


@jax.jit
def _final_loss(law: MultiPowerLaw, eta: jax.Array) -> jax.Array:
    area = jnp.flip(jnp.cumsum(jnp.flip(eta)))  # S_k(T - 1), summed from the end
    drop = jnp.sum(_drops(eta) * _gain(law.C, law.beta, law.gamma, eta, area))
    return _power_term(law, area[0]) - law.B * drop


# ---------------------------------------------------------------------------------------
# The planned sum: blocks of steps summed by their moments


class _Plan(NamedTuple):
    """Which terms make each step's sum, for one schedule and its steps.

    Over the schedule padded to ``2^L`` steps: ``rates`` the rates (0 in the padding), ``eta``
    the rate where a drop counts (1 elsewhere), ``drop`` the drop ``d_k`` where it counts (0
    elsewhere). Blocks are numbered level by level (single steps, then blocks of 8, 64, ...
    steps, up to one block of all; see :func:`_spans`), then one empty block; ``block_drop`` and
    ``block_weight`` are each block's ``Σ d_k`` and ``Σ |d_k|``. ``blocks[i, j]`` is the
    ``j``-th block of step ``i``'s sum (the empty one pads), ``reach[i, j]`` the area ``S`` from
    that block's first step to step ``i``. ``area`` is ``S(t)``, ``zero_drop`` the drops to a
    zero rate that count at each step (see :class:`MultiPowerLaw`). Padded steps (beyond the
    real ones) have area 1 and no terms. """

    rates: jax.Array
    eta: jax.Array
    drop: jax.Array
    block_drop: jax.Array
    block_weight: jax.Array
    blocks: jax.Array
    reach: jax.Array
    area: jax.Array
    zero_drop: jax.Array


def _bucket(n: int) -> int:
    """``n`` rounded up to 1, 2, 3, 4, 6, 8, 12, 16, ...: shapes that plans of similar runs
    share, so that their jitted programs are compiled once."""
    if n <= 2:
        return max(n, 1)
    power = 1 << (n - 1).bit_length()
    return 3 * power // 4 if n <= 3 * power // 4 else power


_BRANCHING = 8
"""Blocks grow eightfold from one level to the next: a sixth of the levels of halving, and
so of the compiled program (1.7 s instead of 4.5 s to compile the fit's gradient), for
about twice the terms."""


def _spans(length: int) -> list[int]:
    """The block sizes, from 1 to the padded length ``2^ceil(log2(length))``, each eight
    times the last (the last step smaller if need be)."""
    size = 1 << max(0, math.ceil(math.log2(length)))
    spans = [1]
    while spans[-1] < size:
        spans.append(min(spans[-1] * _BRANCHING, size))
    return spans


def _plan(eta: np.ndarray, steps: np.ndarray, ratio: float = _BLOCK_RATIO, size: int | None = None,
          width: int | None = None, count: int | None = None) -> _Plan:
    """Plans the loss-drop sums of ``eta`` at ``steps`` (float64 NumPy, on the host).

    Blocks are aligned ranges of ``1, 8, 64, ...`` steps (see :func:`_spans`). For each
    step ``t`` the range ``[1, t]`` is covered top-down: a block wholly at or before ``t``
    whose ``S_k(t)`` varies by at most ``ratio`` (first over last step) and whose changing
    rates do too is taken whole; a single step always is; any other block is split into
    its parts. Blocks where the rate does not change (``d_k = 0``) are skipped: they add
    nothing. ``size``, ``width`` and ``count`` force the padded shapes (steps of the
    schedule, terms per step, steps), for plans that are stacked together.
    """
    length = eta.shape[0]
    spans = _spans(max(length, size or 1))
    size = spans[-1]
    rates = np.zeros(size)
    rates[:length] = eta
    k = np.arange(size)
    drops = np.zeros(size)
    drops[1:length] = rates[: length - 1] - rates[1:length]
    active = (drops != 0) & (rates > 0)
    prefix = np.cumsum(rates)
    before = np.concatenate([[0.0], prefix[:-1]])  # P_{k-1}

    low, high, used, block_drop, block_weight = [], [], [], [], []
    d = np.where(active, drops, 0.0)
    for span in spans:
        shape = (size // span, span)
        low.append(np.where(active, rates, np.inf).reshape(shape).min(1))
        high.append(np.where(active, rates, 0.0).reshape(shape).max(1))
        used.append(active.reshape(shape).any(1))
        block_drop.append(d.reshape(shape).sum(1))
        block_weight.append(np.abs(d).reshape(shape).sum(1))
    level_start = np.concatenate([[0], np.cumsum([size // span for span in spans])])

    taken_step, taken_block, taken_reach = [], [], []
    step_index = np.arange(steps.shape[0])
    block = np.zeros(steps.shape[0], np.int64)
    for level in range(len(spans) - 1, -1, -1):
        span = spans[level]
        first = block * span
        last = first + span - 1
        t = steps[step_index]
        keep = (first <= t) & used[level][block]
        step_index, block, first, last, t = step_index[keep], block[keep], first[keep], last[keep], t[keep]
        reach = prefix[t] - before[first]
        smallest = prefix[t] - before[np.minimum(last, size - 1)]
        whole = (last <= t) & (
            (level == 0) | ((reach <= ratio * smallest) & (high[level][block] <= ratio * low[level][block]))
        )
        taken_step.append(step_index[whole])
        taken_block.append(level_start[level] + block[whole])
        taken_reach.append(reach[whole])
        split = ~whole
        if level:
            parts = span // spans[level - 1]
            step_index = np.repeat(step_index[split], parts)
            block = (np.repeat(block[split], parts) * parts + np.tile(np.arange(parts), int(split.sum())))
    steps_of, blocks_of = np.concatenate(taken_step), np.concatenate(taken_block)
    reach_of = np.concatenate(taken_reach)

    n = steps.shape[0]
    per_step = np.bincount(steps_of, minlength=n)
    width = _bucket(int(per_step.max(initial=0))) if width is None else width
    count = _bucket(n) if count is None else count
    empty = level_start[-1]
    order = np.argsort(steps_of, kind="stable")
    slot = np.arange(order.shape[0]) - np.repeat(np.cumsum(per_step) - per_step, per_step)
    blocks = np.full((count, width), empty, np.int32)
    reach = np.ones((count, width))
    blocks[steps_of[order], slot] = blocks_of[order]
    reach[steps_of[order], slot] = reach_of[order]

    # Drops to a zero rate: they count once a later step trains (see MultiPowerLaw).
    zero_rate = np.where((drops != 0) & (rates <= 0), drops, 0.0)
    last_positive = np.maximum.accumulate(np.where(rates > 0, k, -1))[steps]
    zero_drop = np.zeros(count)
    zero_drop[:n] = np.where(last_positive >= 0, np.cumsum(zero_rate)[np.maximum(last_positive, 0)], 0.0)
    area = np.ones(count)
    area[:n] = prefix[steps]
    if n and np.any(area[:n] <= 0):
        bad = int(steps[np.argmax(area[:n] <= 0)])
        raise ValueError(f"the law needs a positive learning-rate area S(t) = sum of lrs[0..t]; lrs is 0 up to "
                         f"step {bad}")
    dtype = float_dtype()
    return _Plan(
        rates=jnp.asarray(rates, dtype),
        eta=jnp.asarray(np.where(active, rates, 1.0), dtype),
        drop=jnp.asarray(np.where(active, drops, 0.0), dtype),
        block_drop=jnp.asarray(np.concatenate([*block_drop, [0.0]]), dtype),
        block_weight=jnp.asarray(np.concatenate([*block_weight, [0.0]]), dtype),
        blocks=jnp.asarray(blocks),
        reach=jnp.asarray(reach, dtype),
        area=jnp.asarray(area, dtype),
        zero_drop=jnp.asarray(zero_drop, dtype),
    )


def _moments(gamma: Any, eta: jax.Array, drop: jax.Array, rates: jax.Array, spans: tuple[int, ...]) -> jax.Array:
    """Each block's moments ``Σ d·u, Σ d·u², Σ |d|·u, Σ d·v, Σ d·u·v, Σ d·v², Σ |d|·v``, with
    ``u = η^(-gamma)`` and ``v = u·w`` (``w`` the area from the block's first step to
    ``k - 1``), as rows, in the plan's block order.

    Level by level, each block from its parts: a part's ``w`` grows by the area ``c`` of the
    parts before it, so its ``v``-moments take ``c`` times its ``u``-moments.

    See :func:`_block_moments` for the derivative.
    """
    u = eta ** (-gamma)
    du, wu = drop * u, jnp.abs(drop) * u
    zero = jnp.zeros_like(u)
    level = jnp.stack([du, du * u, wu, zero, zero, zero, zero])
    out = [level]
    sigma = rates
    for before, span in itertools.pairwise(spans):
        parts = level.reshape(7, -1, span // before)
        areas = sigma.reshape(-1, span // before)
        c = jnp.cumsum(areas, axis=1) - areas
        Mu, Muu, Wu, Mv, Muv, Mvv, Wv = parts
        shifted = (Mu, Muu, Wu, Mv + c * Mu, Muv + c * Muu, Mvv + c * (2.0 * Muv + c * Muu), Wv + c * Wu)
        level = jnp.stack(shifted).sum(axis=2)
        sigma = areas.sum(axis=1)
        out.append(level)
    out.append(jnp.zeros((7, 1), u.dtype))
    return jnp.concatenate(out, axis=1)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _block_moments(gamma: Any, eta: jax.Array, drop: jax.Array, rates: jax.Array, spans: tuple[int, ...]) -> jax.Array:
    """:func:`_moments`, differentiable with respect to ``gamma`` only (the plan's arrays are
    data). The derivative is carried forward, one more pass of the same sums, rather than
    transposed through them: half the compiled program of the fit, the same run time."""
    return _moments(gamma, eta, drop, rates, spans)


def _block_moments_forward(gamma: Any, eta: jax.Array, drop: jax.Array, rates: jax.Array,
                           spans: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    return jax.jvp(lambda g: _moments(g, eta, drop, rates, spans), (gamma,), (jnp.ones_like(gamma),))


def _block_moments_backward(spans: tuple[int, ...], tangent: jax.Array, cotangent: jax.Array) -> tuple:
    return jnp.sum(cotangent * tangent).astype(tangent.dtype), None, None, None


_block_moments.defvjp(_block_moments_forward, _block_moments_backward)


def _planned_loss_drop(C: Any, beta: Any, gamma: Any, plan: _Plan) -> jax.Array:
    """``Σ_k d_k G(C η_k^(-gamma) S_k(t))`` at the plan's steps.

    For a block, with ``u = η^(-gamma)``, ``w`` the area from the block's first step to
    ``k - 1`` and ``R`` to ``t``, each term is ``d·G(C·x)`` with ``x = u·(R − w)``. About the
    block's centre ``x̄ = ū·R − v̄`` (``ū``, ``v̄``: the ``|d|``-weighted means of ``u`` and
    ``v = u·w``), ``Σ d·G ≈ D·G(Cx̄) + C·G'(Cx̄)·Σd(x − x̄) + ½C²·G''(Cx̄)·Σd(x − x̄)²``, and
    both sums are polynomials in ``R`` with the block's moments as coefficients. A single
    step's sums vanish: its term is exact.
    """
    spans = tuple(_spans(plan.rates.shape[0]))
    moments = _block_moments(gamma, plan.eta, plan.drop, plan.rates, spans)
    Mu, Muu, Wu, Mv, Muv, Mvv, Wv = moments[:, plan.blocks]
    D, W, R = plan.block_drop[plan.blocks], plan.block_weight[plan.blocks], plan.reach
    counts = W > 0
    W = jnp.where(counts, W, 1.0)
    u_bar, v_bar = Wu / W, Wv / W
    y = C * jnp.maximum(u_bar * R - v_bar, 0.0)
    log_z = jnp.log1p(y)
    power = jnp.exp(-beta * log_z)  # (1 + y)^(-beta)
    g0 = -jnp.expm1(-beta * log_z)
    g1 = beta * power / (1.0 + y)
    g2 = -beta * (beta + 1.0) * power / (1.0 + y) ** 2
    first = R * (Mu - u_bar * D) - (Mv - v_bar * D)
    uu = Muu - 2.0 * u_bar * Mu + u_bar * u_bar * D
    uv = Muv - u_bar * Mv - v_bar * Mu + u_bar * v_bar * D
    vv = Mvv - 2.0 * v_bar * Mv + v_bar * v_bar * D
    second = R * R * uu - 2.0 * R * uv + vv
    terms = D * g0 + C * g1 * first + 0.5 * C * C * g2 * second
    return jnp.sum(jnp.where(counts, terms, 0.0), axis=1) + plan.zero_drop


def _planned_loss(law: MultiPowerLaw, plan: _Plan) -> jax.Array:
    return _power_term(law, plan.area) - law.B * _planned_loss_drop(law.C, law.beta, law.gamma, plan)


_predict_planned_jit = jax.jit(_planned_loss)


# ---------------------------------------------------------------------------------------
# Fitting


_HUBER_DELTA = 1e-3
_TINY_LOSS = 1e-10


class _Curves(NamedTuple):
    """Measured curves stacked for fitting (leading axis: curve; padded steps masked)."""

    plans: _Plan
    losses: jax.Array
    mask: jax.Array
    rates_at: jax.Array  # the rate at each logged step (for the first stage)


def _as_curves(curves: Any) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], float]:
    """Checked ``(rates, steps, losses)`` NumPy triples, and the largest rate of all."""
    if isinstance(curves, tuple) and len(curves) == 3 and not isinstance(curves[0], tuple | list):
        raise TypeError("curves must be a list of (lrs, steps, losses) triples; wrap a single curve in a list")
    if not isinstance(curves, Sequence) or isinstance(curves, str | bytes) or len(curves) == 0:
        raise ValueError(f"curves must be a non-empty list of (lrs, steps, losses) triples, got {curves!r}")
    out = []
    for i, curve in enumerate(curves):
        if not isinstance(curve, Sequence) or isinstance(curve, str | bytes) or len(curve) != 3:
            raise ValueError(f"curves[{i}] must be a triple (lrs, steps, losses), got {curve!r}")
        lrs, steps, losses = curve
        if not is_concrete(lrs) or not is_concrete(steps) or not is_concrete(losses):
            raise ValueError(f"curves[{i}] must be concrete arrays: fitting plans its sums on the host")
        rates, steps_array, _ = _rates_and_steps(lrs, steps)
        rates, steps_array = np.asarray(rates, np.float64), np.asarray(steps_array, np.int64)
        losses = np.asarray(losses, np.float64).reshape(-1) if np.ndim(losses) <= 1 else np.asarray(losses)
        if losses.ndim != 1 or losses.shape[0] != steps_array.shape[0]:
            raise ValueError(f"curves[{i}]: losses must be a 1-D array with one loss per step, got shape "
                             f"{np.shape(curve[2])} for {steps_array.shape[0]} steps")
        if not np.all(np.isfinite(losses)) or np.any(losses <= 0):
            raise ValueError(f"curves[{i}]: losses must be finite and > 0 (the fit compares their logarithms)")
        if steps_array.shape[0] == 0:
            raise ValueError(f"curves[{i}] has no steps")
        out.append((rates, steps_array, losses))
    points = sum(c[1].shape[0] for c in out)
    if points < len(PARAMETER_NAMES):
        raise ValueError(f"curves must hold at least 7 measured losses in all (the law has 7 parameters), got {points}")
    return out, max(float(c[0].max()) for c in out)


def _stack_curves(curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _Curves:
    """One plan per curve, padded to common shapes and stacked."""
    size = max(c[0].shape[0] for c in curves)
    count = _bucket(max(c[1].shape[0] for c in curves))
    first = [_plan(r, s, size=size, count=count) for r, s, _ in curves]
    width = max(p.blocks.shape[1] for p in first)
    plans = [_plan(r, s, size=size, count=count, width=width) if p.blocks.shape[1] != width else p
             for p, (r, s, _) in zip(first, curves, strict=True)]
    dtype = float_dtype()
    losses, mask, rates_at = np.ones((len(curves), count)), np.zeros((len(curves), count), bool), \
        np.zeros((len(curves), count))
    for i, (rates, steps, loss) in enumerate(curves):
        losses[i, : loss.shape[0]] = loss
        mask[i, : loss.shape[0]] = True
        rates_at[i, : loss.shape[0]] = rates[steps]
    return _Curves(
        plans=jax.tree.map(lambda *xs: jnp.stack(xs), *plans),
        losses=jnp.asarray(losses, dtype), mask=jnp.asarray(mask), rates_at=jnp.asarray(rates_at, dtype),
    )


def _huber(residual: jax.Array, delta: float) -> jax.Array:
    size = jnp.abs(residual)
    return jnp.where(size < delta, 0.5 * residual * residual, delta * (size - 0.5 * delta))


def _log_residual_loss(predicted: jax.Array, curves: _Curves, delta: float) -> jax.Array:
    """The paper's objective: ``Σ Huber_delta(log loss − log prediction)`` over all points."""
    residual = jnp.log(curves.losses) - jnp.log(jnp.maximum(predicted, _TINY_LOSS))
    return jnp.sum(jnp.where(curves.mask, _huber(residual, delta), 0.0))


def _fit_objective(values: jax.Array, curves: _Curves, delta: float) -> jax.Array:
    law = MultiPowerLaw(*(values[i] for i in range(7)))
    predicted = jax.lax.map(lambda plan: _planned_loss(law, plan), curves.plans)
    return _log_residual_loss(predicted, curves, delta)


def _first_stage_objective(log_values: jax.Array, curves: _Curves, peak: Any, delta: float) -> jax.Array:
    """The paper's initial fit: the law with ``G = 1`` and the drop counted from the peak,
    ``L0 + A·S^(-alpha) − B·(peak − η_t)``, in log parameters (all positive)."""
    L0, A, alpha, B = (jnp.exp(log_values[i]) for i in range(4))
    predicted = L0 + A * curves.plans.area ** (-alpha) - B * (peak - curves.rates_at)
    return _log_residual_loss(predicted, curves, delta)


def _lbfgs(objective: Callable[[jax.Array], jax.Array], start: jax.Array,
           iterations: int) -> tuple[jax.Array, jax.Array]:
    """``iterations`` steps of optax's L-BFGS (zoom line search) from ``start``; the last
    point and its objective."""
    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(_: Any, carry: tuple[jax.Array, Any]) -> tuple[jax.Array, Any]:
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = optimizer.update(grad, state, x, value=value, grad=grad, value_fn=objective)
        return cast(jax.Array, optax.apply_updates(x, updates)), state

    x, _ = jax.lax.fori_loop(0, iterations, step, (start, optimizer.init(start)))
    value = objective(x)
    return x, jnp.where(jnp.isfinite(value), value, jnp.inf)


@functools.partial(jax.jit, static_argnames=("iterations", "delta"))
def _first_stage(starts: jax.Array, curves: _Curves, peak: jax.Array, iterations: int, delta: float) -> jax.Array:
    """The best of the first-stage fits from every start (a batch, under ``vmap``)."""
    ends, values = jax.vmap(lambda s: _lbfgs(lambda x: _first_stage_objective(x, curves, peak, delta), s,
                                              iterations))(starts)
    return jnp.exp(ends[jnp.argmin(values)])


_ADAM_RATES = (5e-2, 5e-2, 5e-3, 5e-2, 5e-2, 5e-3, 5e-3)
"""The paper's AdamW learning rates: 5e-2 for L0, A, B, C and 5e-3 for the exponents."""


@functools.partial(jax.jit, static_argnames=("max_steps", "patience", "delta"))
def _adam_stage(start: jax.Array, curves: _Curves, max_steps: int, patience: int,
                delta: float) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The paper's second stage: AdamW (weight decay 0.01, torch's defaults) on the raw
    parameters for at most ``max_steps`` steps, stopping once the objective has not
    improved for ``patience`` steps; the best parameters seen, their objective, the steps."""
    rates = jnp.asarray(_ADAM_RATES, start.dtype)
    optimizer = optax.chain(optax.scale_by_adam(), optax.add_decayed_weights(0.01))
    value_and_grad = jax.value_and_grad(lambda v: _fit_objective(v, curves, delta))

    def step(carry: tuple) -> tuple:
        values, state, best, best_value, count, stale = carry
        value, grad = value_and_grad(values)
        updates, state = optimizer.update(grad, state, values)
        better = value < best_value
        return (values - rates * cast(jax.Array, updates), state, jnp.where(better, values, best),
                jnp.where(better, value, best_value), count + 1, jnp.where(better, 0, stale + 1))

    def going(carry: tuple) -> jax.Array:
        count, stale = carry[4], carry[5]
        return (count < max_steps) & ~((count > patience) & (stale >= patience))

    start_value = jnp.asarray(jnp.inf, start.dtype)
    carry = (start, optimizer.init(start), start, start_value, 0, 0)
    _, _, best, best_value, count, _ = jax.lax.while_loop(going, step, carry)
    return best, best_value, jnp.asarray(count)


@functools.partial(jax.jit, static_argnames=("iterations", "delta"))
def _lbfgs_stage(starts: jax.Array, curves: _Curves, iterations: int, delta: float) -> tuple[jax.Array, jax.Array]:
    """L-BFGS on the log parameters from every start (a batch, under ``vmap``); the best end."""
    ends, values = jax.vmap(lambda s: _lbfgs(lambda x: _fit_objective(jnp.exp(x), curves, delta), s,
                                              iterations))(starts)
    best = jnp.argmin(values)
    return jnp.exp(ends[best]), values[best]


_FIRST_STAGE_ITERATIONS = 40
_LBFGS_ITERATIONS = 100
_LBFGS_DECAY_STARTS = ((1.0, 0.5, 0.5), (0.3, 0.3, 0.3), (3.0, 0.8, 0.8))
"""Starting ``(C, beta, gamma)`` of the L-BFGS second stage: the paper's, and two far from it."""


def _first_stage_starts(curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]], peak: float) -> np.ndarray:
    """The paper's grid of 135 starting points ``log(L0, A, alpha, B)``: a straight line
    through ``log(loss − min + 0.01)`` against ``log S(t)`` gives ``A`` and ``alpha``;
    ``L0`` within 0.2 of the least loss; ``B·peak`` 0.03, 0.165 or 0.3 (the paper's ``B``
    of 100, 550 and 1000 at its peak rate 3e-4)."""
    least = min(float(loss.min()) for _, _, loss in curves)
    areas = np.concatenate([np.cumsum(rates)[steps] for rates, steps, _ in curves])
    losses = np.concatenate([loss for _, _, loss in curves])
    slope, intercept = np.polyfit(np.log(areas), np.log(losses - least + 0.01), 1)
    positive = 1e-3
    grid = np.meshgrid(
        np.maximum(np.linspace(least - 0.2, least + 0.2, 5), positive),
        np.maximum(np.linspace(np.exp(intercept) - 0.1, np.exp(intercept) + 0.1, 3), positive),
        np.maximum(np.linspace(-slope - 0.1, -slope + 0.1, 3), positive),
        np.array([0.03, 0.165, 0.3]) / peak,
        indexing="ij",
    )
    return np.log(np.stack([g.reshape(-1) for g in grid], axis=1))


def fit_multi_power_law(
    curves: Sequence[tuple[Any, Any, Any]],
    *,
    method: str = "adam",
    init: MultiPowerLaw | None = None,
    huber_delta: float = _HUBER_DELTA,
    max_steps: int = 200,
    patience: int = 20,
) -> MultiPowerLaw:
    """Fits the multi-power law to measured loss curves, as the paper does.

    Each curve is ``(lrs, steps, losses)``: the rate of every update from step 0 (a 1-D
    array, or a schedule evaluated at ``0 ... max(steps)``), the logged steps and the
    losses measured there. The objective is the paper's, ``Σ Huber_δ(log loss − log L(t))``
    over every point of every curve, ``δ = huber_delta`` (1e-3).

    Fitting is in two stages, both jitted. First, the paper's initialisation: the law with
    ``G = 1`` (every drop paid off at once), ``L0 + A·S^(-alpha) − B·(peak − η_t)``,
    fitted by L-BFGS from a grid of 135 starting points at once (``jax.vmap``); skipped
    when ``init`` is given. Then all seven parameters, from that fit and ``C = 1, beta =
    gamma = 0.5``:

    - ``method="adam"`` (default): the paper's AdamW (learning rate 5e-2 for ``L0, A, B,
      C``, 5e-3 for the exponents, weight decay 0.01), at most ``max_steps`` steps,
      stopping after ``patience`` without improvement, keeping the best parameters. The
      short run stays near the initialisation, and predicts the paper's held-out curves
      better than a converged fit (see ``docs/loss_law.md``).
    - ``method="lbfgs"``: 100 steps of L-BFGS in log parameters, from three starting
      ``(C, beta, gamma)`` at once (``jax.vmap``), keeping the best: the closest fit to the
      curves given.

    Example (curves made by a known law, fitted back):
        >>> import numpy as np
        >>> true = MultiPowerLaw(L0=3.0, A=0.5, alpha=0.5, B=400.0, C=2.0, beta=0.6, gamma=0.6)
        >>> warmup = np.linspace(0, 3e-4, 500)
        >>> constant = np.concatenate([warmup, np.full(5_500, 3e-4)])
        >>> step_down = np.concatenate([warmup, np.full(2_500, 3e-4), np.full(3_000, 3e-5)])
        >>> steps = np.arange(500, 6_000, 100)
        >>> curves = [(lrs, steps, np.asarray(true.predict(lrs, steps))) for lrs in (constant, step_down)]
        >>> law = fit_multi_power_law(curves, method="lbfgs")
        >>> bool(np.max(np.abs(law.predict(step_down, steps) - curves[1][2])) < 1e-3)
        True
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, 'adam' or 'lbfgs', got {method!r}")
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"method must be 'adam' or 'lbfgs', got {method!r}")
    if init is not None and not isinstance(init, MultiPowerLaw):
        raise TypeError(f"init must be a MultiPowerLaw or None, got {init!r}")
    for name, value in (("max_steps", max_steps), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if isinstance(huber_delta, bool) or not isinstance(huber_delta, int | float | np.number):
        raise TypeError(f"huber_delta must be a number, got {huber_delta!r}")
    if not (math.isfinite(huber_delta) and huber_delta > 0):
        raise ValueError(f"huber_delta must be finite and > 0, got {huber_delta!r}")
    checked, peak = _as_curves(curves)
    stacked = _stack_curves(checked)
    dtype = float_dtype()
    delta = float(huber_delta)
    if init is None:
        starts = jnp.asarray(_first_stage_starts(checked, peak), dtype)
        first = _first_stage(starts, stacked, jnp.asarray(peak, dtype), _FIRST_STAGE_ITERATIONS, delta)
        start = jnp.concatenate([first, jnp.asarray([1.0, 0.5, 0.5], dtype)])
    else:
        start = jnp.asarray(init.as_array(), dtype)
    if method == "adam":
        best, _, _ = _adam_stage(start, stacked, int(max_steps), int(patience), delta)
    else:
        decay = jnp.asarray(_LBFGS_DECAY_STARTS, dtype)
        if init is not None:
            decay = decay.at[0].set(start[4:])
        starts = jnp.log(jnp.concatenate([jnp.broadcast_to(start[:4], (decay.shape[0], 4)), decay], axis=1))
        best, _ = _lbfgs_stage(starts, stacked, _LBFGS_ITERATIONS, delta)
    return MultiPowerLaw.from_array(np.asarray(best, np.float64))


# ---------------------------------------------------------------------------------------
# Metrics


def prediction_metrics(predicted: Any, measured: Any) -> dict[str, float]:
    """How well a predicted loss curve matches a measured one, as the paper scores it.

    ``r2`` (coefficient of determination), ``mae`` and ``rmse`` (of ``predicted −
    measured``), ``prede`` (the mean of ``|predicted − measured| / measured``) and
    ``worste`` (its maximum). The paper averages each over its held-out curves.

    Example:
        >>> m = prediction_metrics([3.0, 2.5, 2.1], [3.0, 2.4, 2.0])
        >>> {k: round(v, 4) for k, v in m.items()}
        {'r2': 0.9605, 'mae': 0.0667, 'rmse': 0.0816, 'prede': 0.0306, 'worste': 0.05}
    """
    p = np.asarray(predicted, np.float64).reshape(-1)
    y = np.asarray(measured, np.float64).reshape(-1)
    if p.shape != y.shape or p.size == 0:
        raise ValueError(f"predicted and measured must be non-empty and of the same length, got {np.shape(predicted)} "
                         f"and {np.shape(measured)}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(y))):
        raise ValueError("predicted and measured must be finite")
    if np.any(y <= 0):
        raise ValueError("measured losses must be > 0 (PredE and WorstE divide by them)")
    error = np.abs(p - y)
    spread = np.sum((y - y.mean()) ** 2)
    return {
        "r2": float(1.0 - np.sum((p - y) ** 2) / spread) if spread > 0 else float("nan"),
        "mae": float(error.mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "prede": float(np.mean(error / y)),
        "worste": float(np.max(error / y)),
    }


# ---------------------------------------------------------------------------------------
# Optimising the schedule


def _check_count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_rate(name: str, value: Any, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}")
    return value


def _check_lower_rate(name: str, value: Any, peak: float) -> float:
    """A rate in ``[0, peak]``: a schedule's floor or end value."""
    rate = _check_rate(name, value, positive=False)
    if rate > peak:
        raise ValueError(f"{name} must be <= peak_value, got {name}={rate} and peak_value={peak}")
    return rate


def _check_law(law: Any) -> MultiPowerLaw:
    if not isinstance(law, MultiPowerLaw):
        raise TypeError(f"law must be a MultiPowerLaw, got {law!r}")
    return law


def _check_run(total_steps: Any, peak_value: Any, warmup_steps: Any) -> tuple[int, float, int]:
    total = _check_count("total_steps", total_steps, 2)
    peak = _check_rate("peak_value", peak_value, positive=True)
    warmup = _check_count("warmup_steps", warmup_steps, 0)
    if warmup >= total - 1:
        raise ValueError(f"warmup_steps must be < total_steps - 1 (a decay needs two steps), got warmup_steps={warmup} "
                         f"and total_steps={total}")
    return total, peak, warmup


def _knot_steps(total_steps: int, warmup_steps: int, num_knots: int) -> np.ndarray:
    """``num_knots`` whole steps after the warmup up to the last step, closer together
    toward the end (where the best schedules decay): step ``W + (T − 1 − W)·(1 − (1 −
    i/K)²)``, duplicates dropped."""
    fraction = 1.0 - (1.0 - np.arange(1, num_knots + 1) / num_knots) ** 2
    knots = np.round(warmup_steps + (total_steps - 1 - warmup_steps) * fraction).astype(np.int64)
    return np.unique(np.maximum(knots, warmup_steps + 1))


@functools.partial(jax.jit, static_argnames=("total_steps", "iterations"))
def _best_knot_values(law: MultiPowerLaw, knots: jax.Array, peak: jax.Array, floor: jax.Array, start: jax.Array,
                      total_steps: int, iterations: int) -> tuple[jax.Array, jax.Array]:
    steps = jnp.arange(total_steps, dtype=peak.dtype)

    def values_of(z: jax.Array) -> jax.Array:
        # Drops between knots: shares of peak - floor (the last share is what is left).
        drops = (peak - floor) * jax.nn.softmax(z)[:-1]
        return peak - jnp.cumsum(drops)

    def predicted(z: jax.Array) -> jax.Array:
        rates = jnp.interp(steps, knots, jnp.concatenate([peak[None], values_of(z)]))
        rates = jnp.where(steps < knots[0], peak * steps / jnp.maximum(knots[0], 1.0), rates)
        return _final_loss(law, rates)

    z, value = _lbfgs(predicted, start, iterations)
    return values_of(z), value


def optimize_schedule(
    law: MultiPowerLaw,
    total_steps: int,
    peak_value: float,
    warmup_steps: int,
    *,
    min_value: float = 0.0,
    num_knots: int = 64,
    max_iterations: int = 300,
) -> piecewise_linear:
    """The schedule that minimises the law's predicted final loss, as a
    :class:`jaxlr.piecewise_linear`.

    A linear warmup from 0 to ``peak_value`` over ``warmup_steps`` (as
    :func:`jaxlr.linear_warmup`), then ``num_knots`` knots from the warmup's end to the last
    step ``total_steps - 1``, closer together toward the end, whose values are free but
    non-increasing and between ``min_value`` and ``peak_value``. They minimise
    :meth:`MultiPowerLaw.final_loss` of the schedule's ``total_steps`` rates, by L-BFGS
    (jitted) through ``jnp.interp`` and the law, from four starts (a linear decay to
    ``min_value``, and stable-then-linear decays from 50%, 75% and 90% of the way), the best
    kept. This is the paper's optimisation with a piecewise-linear schedule in
    place of one free rate per step.

    Example:
        >>> law = MultiPowerLaw(L0=3.04, A=0.525, alpha=0.508, B=363.8, C=2.066, beta=0.583, gamma=0.641)
        >>> best = optimize_schedule(law, total_steps=4_000, peak_value=3e-4, warmup_steps=400, num_knots=16)
        >>> import jaxlr, jax.numpy as jnp
        >>> cosine = jaxlr.warmup_cosine(3e-4, warmup_steps=400, total_steps=4_000)
        >>> steps = jnp.arange(4_000)
        >>> bool(law.final_loss(best(steps)) < law.final_loss(cosine(steps)))
        True
    """
    law = _check_law(law)
    total, peak, warmup = _check_run(total_steps, peak_value, warmup_steps)
    floor = _check_lower_rate("min_value", min_value, peak)
    knots = _knot_steps(total, warmup, _check_count("num_knots", num_knots, 1))
    iterations = _check_count("max_iterations", max_iterations, 1)
    dtype = float_dtype()
    # Several starts, each a decay to the floor written as softmax logits of each knot's
    # drop: a linear decay from the warmup's end, and stable-then-linear decays (WSD) from
    # 50%, 75% and 90% of the way; the best end wins. (From the linear decay alone, L-BFGS
    # stops in a local minimum above a tuned WSD for the paper's 25M law.)
    all_knots = np.concatenate([[warmup], knots]).astype(np.float64)
    span = max(total - 1 - warmup, 1)
    best: tuple[float, Any] | None = None
    for stable in (0.0, 0.5, 0.75, 0.9):
        begin = warmup + stable * span
        fraction = np.clip((knots - begin) / max(total - 1 - begin, 1.0), 0.0, 1.0)
        start_values = peak - (peak - floor) * fraction
        drops = -np.diff(np.concatenate([[peak], start_values]))
        shares = np.concatenate([drops, [1e-6 * (peak - floor)]]) / max(peak - floor, 1e-30)
        start = np.log(np.maximum(shares, 1e-4 / len(shares)))
        values, value = _best_knot_values(_float_law(law), jnp.asarray(all_knots, dtype), jnp.asarray(peak, dtype),
                                          jnp.asarray(floor, dtype), jnp.asarray(start, dtype), total, iterations)
        if best is None or float(value) < best[0]:
            best = (float(value), values)
    assert best is not None
    values = best[1]
    values = np.minimum.accumulate(np.clip(np.asarray(values, np.float64), floor, peak))
    steps = np.concatenate([[0], all_knots]) if warmup > 0 else all_knots
    rates = np.concatenate([[0.0, peak], values]) if warmup > 0 else np.concatenate([[peak], values])
    return piecewise_linear(steps=steps.astype(np.int64), values=rates)


def _float_law(law: MultiPowerLaw) -> MultiPowerLaw:
    return MultiPowerLaw(*(jnp.asarray(getattr(law, n), float_dtype()) for n in PARAMETER_NAMES))


def optimize_hyperparameters(
    law: MultiPowerLaw,
    build: Callable[[Any], Callable[[jax.Array], jax.Array]],
    init: Any,
    total_steps: int,
    *,
    max_iterations: int = 100,
) -> tuple[Any, float]:
    """The hyperparameters of a schedule family that minimise the law's predicted final
    loss, by ``jax.grad`` through the schedule and the law.

    ``build(params)`` returns a schedule (a callable ``step -> rate``, such as a jaxlr
    schedule) from a pytree of float ``params``; ``init`` is the starting pytree. The
    schedule's rates over ``total_steps`` steps go into :meth:`MultiPowerLaw.final_loss`,
    which L-BFGS (optax, jitted) minimises over ``params``. ``params`` are unconstrained:
    map them into their range inside ``build`` (a fraction through ``jax.nn.sigmoid``, say).
    Returns the best ``params`` and their predicted final loss.

    The best peak of a cosine decay, for example (too high a peak costs loss in this law
    only through its longer decay, so the predicted loss falls as the peak rises; bound it).

    Example:
        >>> import jax, jaxlr
        >>> law = MultiPowerLaw(L0=3.04, A=0.525, alpha=0.508, B=363.8, C=2.066, beta=0.583, gamma=0.641)
        >>> build = lambda p: jaxlr.warmup_cosine(3e-4 * jax.nn.sigmoid(p["peak"]), 200, 2_000)
        >>> params, loss = optimize_hyperparameters(law, build, {"peak": 0.0}, 2_000)
        >>> bool(params["peak"] > 0.0)
        True
    """
    law = _check_law(law)
    if not callable(build):
        raise TypeError(f"build must be a function params -> schedule, got {build!r}")
    total = _check_count("total_steps", total_steps, 1)
    iterations = _check_count("max_iterations", max_iterations, 1)
    leaves, tree = jax.tree.flatten(init)
    if not leaves:
        raise ValueError("init must hold at least one number")
    dtype = float_dtype()
    flat = jnp.concatenate([jnp.ravel(jnp.asarray(x, dtype)) for x in leaves])
    shapes = [np.shape(x) for x in leaves]

    def unflatten(vector: jax.Array) -> Any:
        parts, offset = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            parts.append(vector[offset: offset + size].reshape(shape))
            offset += size
        return jax.tree.unflatten(tree, parts)

    steps = jnp.arange(total)

    def predicted(vector: jax.Array) -> jax.Array:
        rates = jnp.asarray(build(unflatten(vector))(steps), dtype)
        return _final_loss(law, rates)

    start_value = predicted(flat)
    if not bool(jnp.isfinite(start_value)):
        raise ValueError(f"the schedule built from init gives a non-finite predicted loss ({float(start_value)}); "
                         "check its rates")
    best, value = jax.jit(lambda v: _lbfgs(predicted, v, iterations))(flat)
    if not bool(value <= start_value):
        best, value = flat, start_value
    return jax.tree.map(lambda x: np.asarray(x) if np.ndim(x) else float(x), unflatten(best)), float(value)


def optimize_wsd(
    law: MultiPowerLaw,
    total_steps: int,
    peak_value: float,
    warmup_steps: int,
    *,
    end_value: float = 0.0,
    decay_shapes: Sequence[str] = ("linear", "cosine", "1-sqrt"),
    max_iterations: int = 100,
) -> wsd:
    """The :class:`jaxlr.wsd` schedule (warmup, stable, decay) whose decay length and shape
    minimise the law's predicted final loss.

    For each of ``decay_shapes`` the decay length ``decay_steps = (T − W)·sigmoid(z)`` is
    found by :func:`optimize_hyperparameters` (``jax.grad`` through ``jaxlr.wsd`` and the
    law), from a 20% decay; the shape with the lowest predicted final loss wins. The result
    has ``decay_steps`` rounded to a whole step.

    Example:
        >>> law = MultiPowerLaw(L0=3.04, A=0.525, alpha=0.508, B=363.8, C=2.066, beta=0.583, gamma=0.641)
        >>> best = optimize_wsd(law, 4_000, 3e-4, 400, decay_shapes=("linear",))
        >>> 0 < best.decay_steps < 3_600
        True
    """
    law = _check_law(law)
    total, peak, warmup = _check_run(total_steps, peak_value, warmup_steps)
    end = _check_lower_rate("end_value", end_value, peak)
    if isinstance(decay_shapes, str) or not isinstance(decay_shapes, Sequence) or not decay_shapes:
        raise TypeError(f"decay_shapes must be a non-empty list of wsd decay shapes, got {decay_shapes!r}")
    room = total - warmup
    best: tuple[float, str, float] | None = None
    for shape in decay_shapes:
        wsd(peak, total, warmup, 0, end_value=end, decay_shape=shape)  # checks the shape

        def build(params: Any, shape: str = shape) -> wsd:
            return wsd(peak, total, warmup, room * jax.nn.sigmoid(params["z"]), end_value=end, decay_shape=shape)

        params, value = optimize_hyperparameters(law, build, {"z": math.log(0.2 / 0.8)}, total,
                                                 max_iterations=max_iterations)
        decay = round(room / (1.0 + math.exp(-params["z"])))
        if best is None or value < best[0]:
            best = (value, shape, decay)
    assert best is not None
    return wsd(peak, total, warmup, best[2], end_value=end, decay_shape=best[1])
