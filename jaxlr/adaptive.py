"""Decay that depends on a monitored value: reduce on plateau, early stopping, reading the lr.

Everything here is a pure function of a small pytree state, so it runs inside ``jax.jit``
with no host round trip and checkpoints with the rest of the training state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxlr._base import (
    check,
    check_choice,
    check_flag,
    check_nonnegative,
    check_number,
    check_positive,
    scaled_power,
)

RULES = ("torch", "keras")


def _monitored(value: Any) -> jax.Array:
    """The monitored ``value`` as a float32 scalar: a number, or an array holding one number.

    A batch of values has no single improvement to decide on, and a shape (1,) value would
    give the scale that shape and broadcast it into every update, so anything of size > 1
    is refused. Shapes are static, so under ``jit`` this fails at trace time.
    """
    if value is None or isinstance(value, bool | str | bytes):
        raise TypeError(f"value must be a real number or a one-element array, got {value!r}")
    try:
        array = jnp.asarray(value)
    except TypeError as error:
        raise TypeError(f"value must be a real number or a one-element array, got {value!r}") from error
    if not (jnp.issubdtype(array.dtype, jnp.integer) or jnp.issubdtype(array.dtype, jnp.floating)):
        raise TypeError(f"value must be a real number or a one-element array, got dtype {array.dtype}")
    if array.size != 1:
        raise ValueError(f"value must be a scalar or hold one number, got shape {array.shape}: reduce it "
                         "(say with jnp.mean) to the one number to monitor")
    return array.reshape(()).astype(jnp.float32)


class PlateauState(NamedTuple):
    """State of :func:`reduce_on_plateau`: the best value seen, the number of values in a
    row that did not improve on it, the cooldown steps left, and the current scale."""

    best: jax.Array
    bad_values: jax.Array
    cooldown: jax.Array
    scale: jax.Array


def _improves(value: jax.Array, reference: jax.Array, mode: str, threshold: float, threshold_mode: str) -> jax.Array:
    """Whether ``value`` beats ``reference`` by the threshold (relative to |reference|)."""
    margin = threshold * jnp.abs(reference) if threshold_mode == "rel" else threshold
    margin = jnp.where(jnp.isfinite(reference), margin, 0.0)
    if mode == "min":
        return value < reference - margin
    return value > reference + margin


def _unless_not_finite(value: jax.Array, old: Any, new: Any) -> Any:
    """``new``, or ``old`` where ``value`` is NaN or inf: such a value is no observation."""
    keep = ~jnp.isfinite(value)
    return jax.tree.map(lambda before, after: jnp.where(keep, before, after), old, new)


class _ScalingRule:
    """A rule that observes a monitored value and scales the updates by its state's ``scale``."""

    def observe(self, state: Any, value: Any) -> Any:
        raise NotImplementedError

    def update(self, updates: Any, state: Any, params: Any = None, *, value: Any = jnp.nan,
               **extra: Any) -> tuple[Any, Any]:
        state = self.observe(state, value)
        return jax.tree.map(lambda u: u * state.scale.astype(u.dtype), updates), state


class _Plateau(_ScalingRule):
    """The plateau rule's configuration and its pure state update (see reduce_on_plateau)."""

    def __init__(
        self, factor: float, patience: int, threshold: float, threshold_mode: str, mode: str, cooldown: int,
        min_scale: float, eps: float, rule: str, base_lr: float,
    ) -> None:
        check("factor", factor, "in (0, 1)", lambda v: (v > 0) & (v < 1))
        check_nonnegative("patience", patience)
        check_nonnegative("threshold", threshold)
        check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
        check_choice("mode", mode, ("min", "max"))
        check_nonnegative("cooldown", cooldown)
        check_nonnegative("min_scale", min_scale)
        check_nonnegative("eps", eps)
        check_choice("rule", rule, RULES)
        check_positive("base_lr", base_lr)
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.threshold_mode = "abs" if rule == "keras" else threshold_mode
        self.mode, self.cooldown, self.min_scale, self.eps, self.rule = mode, cooldown, min_scale, eps, rule
        self.base_lr = base_lr

    def init(self, params: Any = None) -> PlateauState:
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        return PlateauState(jnp.asarray(worst, jnp.float32), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                            jnp.ones((), jnp.float32))

    def observe(self, state: PlateauState, value: Any) -> PlateauState:
        """The state after one observation of ``value`` (unchanged if it is not finite)."""
        value = _monitored(value)
        better = _improves(value, state.best, self.mode, self.threshold, self.threshold_mode)
        best = jnp.where(better, value, state.best)
        in_cooldown = state.cooldown > 0
        cooldown = jnp.where(in_cooldown, state.cooldown - 1, state.cooldown)
        reduced_scale = jnp.maximum(state.scale * self.factor, self.min_scale)
        if self.rule == "torch":
            bad = jnp.where(in_cooldown, 0, jnp.where(better, 0, state.bad_values + 1))
            cut = bad > self.patience
            # torch's eps is in learning-rate units: old_lr - new_lr > eps
            reduced = cut & ((state.scale - reduced_scale) * self.base_lr > self.eps)
            reset = cut  # torch restarts the cooldown and the count on every cut
        else:
            still_cooling = cooldown > 0
            bad = jnp.where(in_cooldown, 0, state.bad_values)
            bad = jnp.where(better, 0, jnp.where(still_cooling, bad, bad + 1))
            cut = ~better & ~still_cooling & (bad >= self.patience)
            reduced = cut & (state.scale > self.min_scale)
            reset = reduced  # Keras only when the rate actually changed
        new = PlateauState(
            best,
            jnp.where(reset, 0, bad).astype(jnp.int32),
            jnp.where(reset, self.cooldown, cooldown).astype(jnp.int32),
            jnp.where(reduced, reduced_scale, state.scale),
        )
        return _unless_not_finite(value, state, new)


def reduce_on_plateau(
    factor: float = 0.1, patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
    mode: str = "min", cooldown: int = 0, min_scale: float = 0.0, eps: float = 1e-8, rule: str = "torch",
    base_lr: float = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """Scales updates down by ``factor`` when a monitored value stops improving.

    An optax ``GradientTransformationExtraArgs``: chain it after any optimizer and pass the
    monitored value (say the validation loss) as ``value=``::

        optimizer = optax.chain(optax.adamw(schedule), jaxlr.reduce_on_plateau(patience=5))
        updates, state = optimizer.update(grads, state, params, value=val_loss)

    Each call with a finite ``value`` is one observation (one ``scheduler.step(metric)`` of
    torch). A NaN or inf ``value`` is ignored: the state is unchanged, so pass ``jnp.nan`` on
    the steps between two validations. ``value`` is a number or an array holding one number
    (shape ``()``, ``(1,)``, ``(1, 1)``...); a larger array is a ``ValueError`` (at trace time
    under ``jit``): reduce it to the one number to monitor first. The scale applied is the
    one after the observation.

    The rule (``rule="torch"``) is torch's ``ReduceLROnPlateau``: a value improves if it is
    below ``best - threshold * |best|`` (``threshold_mode="rel"``) or ``best - threshold``
    ("abs"), mirrored for ``mode="max"``; otherwise the count of bad values grows; in cooldown
    the count is reset; when it exceeds ``patience`` (the ``patience + 1``-th bad value) the
    scale becomes ``max(scale * factor, min_scale)``, the cooldown starts and the count
    resets. The cut is applied only if it changes the learning rate by more than ``eps``::

        base_lr * (scale - max(scale * factor, min_scale)) > eps

    torch's ``eps`` is in learning-rate units (``old_lr - new_lr > eps``); ``base_lr`` is the
    rate the scale multiplies (the optimizer's), used for nothing but this comparison. Pass
    it for torch's decisions at any rate: at ``base_lr=1e-3`` torch stops cutting at a rate of
    1e-8 (a scale of 1e-5), where ``base_lr=1.0`` would go on to a scale of 1e-8. torch's
    ``min_lr`` is ``min_scale * base_lr``.

    One difference from torch, deliberate: torch's relative test is ``value < best * (1 -
    threshold)``, which for a negative ``best`` counts an equal value as an improvement, so a
    flat -1 sequence never reduces (optax's ``contrib.reduce_on_plateau`` has the same flaw).
    ``|best|`` makes the rule work for negative values and is identical to torch's for
    positive ones.

    optax's ``contrib.reduce_on_plateau(factor, patience=p, rtol=r, atol=0, cooldown,
    min_scale)`` cuts when its count *reaches* ``p``, one value sooner than torch: on positive
    values it is this rule with ``patience=p - 1``, ``threshold=r`` and ``eps=0`` (``rtol=0,
    atol=a`` is ``threshold=a, threshold_mode="abs"``, for any sign). optax counts a NaN as a
    bad value and can average values (``accumulation_size``); this rule ignores NaN.

    ``rule="keras"`` follows Keras' ``ReduceLROnPlateau`` callback: the cooldown counts down
    before the comparison, ``threshold`` is its absolute ``min_delta``, the cut comes when
    the count reaches ``patience`` (if the scale is above ``min_scale``; ``eps`` and
    ``base_lr`` play no part), and the cooldown restarts only if the scale changed.

    The state (:class:`PlateauState`) is a pytree of four scalars: it checkpoints and
    resumes with identical decisions. Comparisons are in float32, the precision of the
    monitored values: a value within float32 rounding of the threshold (an improvement of
    exactly ``threshold``, say) may be decided otherwise than by torch's float64.

    Args:
        factor: the scale's multiplier at a cut, in (0, 1).
        patience: bad values tolerated before a cut (>= 0).
        threshold: the margin a value must beat the best by (>= 0).
        threshold_mode: "rel" (relative to ``|best|``) or "abs".
        mode: "min" (lower is better) or "max".
        cooldown: observations after a cut during which bad values are not counted.
        min_scale: the scale's floor (torch's ``min_lr / base_lr``).
        eps: the smallest change of the learning rate a cut must make (torch rule).
        rule: "torch" or "keras".
        base_lr: the learning rate the scale multiplies, for the ``eps`` comparison only (> 0).

    Example:
        >>> import jax.numpy as jnp, jaxlr
        >>> rule = jaxlr.reduce_on_plateau(factor=0.5, patience=1)
        >>> state, scales = rule.init(None), []
        >>> for loss in (1.0, 1.0, 1.0, 0.5, 0.5, 0.5):
        ...     _, state = rule.update(jnp.ones(1), state, value=loss)
        ...     scales.append(float(state.scale))
        >>> scales
        [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
        >>> rule = jaxlr.reduce_on_plateau(factor=0.1, patience=0, base_lr=1e-3)   # torch's eps at lr 1e-3
        >>> state = rule.init(None)
        >>> for loss in [1.0] * 10:
        ...     _, state = rule.update(jnp.ones(1), state, value=loss)
        >>> print(f"{float(state.scale) * 1e-3:.3g}")   # torch stops at 1e-8 too: one more cut changes it by < eps
        1e-08
    """

    plateau = _Plateau(factor, patience, threshold, threshold_mode, mode, cooldown, min_scale, eps, rule, base_lr)
    # optax hands update() back the state init() made: a PlateauState, narrower than optax's OptState.
    return optax.GradientTransformationExtraArgs(plateau.init, cast(optax.TransformUpdateExtraArgsFn, plateau.update))


class GreedyState(NamedTuple):
    """State of :func:`greedy_lr`: the learning rate and its ``scale`` of the base rate (the
    rate is ``anchor * factor**power``, the anchor being the base rate, ``min_lr`` or
    ``max_lr``), the best value, the counts of bad and good values in a row, the cooldown
    and warmup observations left, the cuts at ``min_lr`` left before a reset, and the
    smoothing window (its values, how many it holds, where the next goes)."""

    lr: jax.Array
    scale: jax.Array
    anchor: jax.Array
    power: jax.Array
    best: jax.Array
    bad_values: jax.Array
    good_values: jax.Array
    cooldown: jax.Array
    warmup: jax.Array
    resets_left: jax.Array
    window: jax.Array
    window_count: jax.Array
    window_next: jax.Array


class _Greedy(_ScalingRule):
    """The greedy rule's configuration and its pure state update (see greedy_lr)."""

    def __init__(
        self, base_lr: float, factor: float, patience: int, threshold: float, threshold_mode: str, mode: str,
        cooldown: int, warmup: int, min_lr: float, max_lr: float, eps: float, smooth: bool, window_size: int,
        reset_start: int,
    ) -> None:
        check_positive("base_lr", base_lr)
        check("factor", factor, "in (0, 1)", lambda v: (v > 0) & (v < 1))
        check_nonnegative("patience", patience)
        check_nonnegative("threshold", threshold)
        check_choice("threshold_mode", threshold_mode, ("rel", "abs"))
        check_choice("mode", mode, ("min", "max"))
        check_nonnegative("cooldown", cooldown)
        check_nonnegative("warmup", warmup)
        check_nonnegative("min_lr", min_lr)
        check_positive("max_lr", max_lr)
        check_nonnegative("eps", eps)
        check_flag("smooth", smooth)
        if isinstance(window_size, bool) or not isinstance(window_size, int | np.integer) or window_size < 1:
            raise ValueError(f"window_size must be a whole number >= 1, got {window_size!r}")
        check_nonnegative("reset_start", reset_start)
        self.base_lr, self.factor, self.patience, self.threshold = base_lr, factor, patience, threshold
        self.threshold_mode, self.mode, self.cooldown, self.warmup = threshold_mode, mode, cooldown, warmup
        self.min_lr, self.max_lr, self.eps, self.smooth = min_lr, max_lr, eps, bool(smooth)
        self.window_size, self.reset_start = int(window_size), reset_start

    def init(self, params: Any = None) -> GreedyState:
        zero = jnp.zeros((), jnp.int32)
        base = jnp.asarray(self.base_lr, jnp.float32)
        return GreedyState(base, jnp.ones((), jnp.float32), base, zero, jnp.asarray(self._worst(), jnp.float32), zero,
                           zero, zero, zero, jnp.asarray(self.reset_start, jnp.int32),
                           jnp.zeros(self.window_size, jnp.float32), zero, zero)

    def _worst(self) -> float:
        return math.inf if self.mode == "min" else -math.inf

    def observe(self, state: GreedyState, value: Any) -> GreedyState:
        """The state after one observation of ``value`` (unchanged if it is not finite)."""
        value = _monitored(value)
        window, count, position = state.window, state.window_count, state.window_next
        current = value
        if self.smooth:  # the mean of the last window_size values, this one included
            window = window.at[position].set(value)
            count = jnp.minimum(count + 1, self.window_size)
            position = (position + 1) % self.window_size
            current = jnp.sum(window) / count
        in_cooldown = state.cooldown > 0
        in_warmup = ~in_cooldown & (state.warmup > 0)
        counting = ~in_cooldown & ~in_warmup
        better = _improves(current, state.best, self.mode, self.threshold, self.threshold_mode)
        best = jnp.where(counting & better, current, state.best)
        bad = jnp.where(counting & ~better, state.bad_values + 1, 0)
        good = jnp.where(counting & better, state.good_values + 1, 0)
        increase = good > self.patience
        reduce = ~increase & (bad > self.patience)
        # lr / factor up to max_lr, lr * factor down to min_lr, each a whole power of factor
        # from its anchor: back at a bound is exactly the bound, with no drift of repeated
        # float32 products.
        up = scaled_power(state.anchor, self.factor, state.power - 1)
        capped = up >= self.max_lr
        up_lr, up_anchor = jnp.where(capped, self.max_lr, up), jnp.where(capped, self.max_lr, state.anchor)
        up_power = jnp.where(capped, 0, state.power - 1)
        down = scaled_power(state.anchor, self.factor, state.power + 1)
        floored = down <= self.min_lr
        down_lr, down_anchor = jnp.where(floored, self.min_lr, down), jnp.where(floored, self.min_lr, state.anchor)
        down_power = jnp.where(floored, 0, state.power + 1)
        raise_it = increase & (up_lr - state.lr > self.eps)
        lower_it = reduce & (state.lr - down_lr > self.eps)
        lr = jnp.where(raise_it, up_lr, jnp.where(lower_it, down_lr, state.lr))
        anchor = jnp.where(raise_it, up_anchor, jnp.where(lower_it, down_anchor, state.anchor))
        power = jnp.where(raise_it, up_power, jnp.where(lower_it, down_power, state.power))
        # Each cut that leaves the rate at min_lr counts down to a reset; a raise starts over.
        at_min = reduce & ~(lr > self.min_lr)
        resets_left = jnp.where(increase, self.reset_start, state.resets_left - at_min)
        reset = at_min & (resets_left <= 0)
        lr = jnp.where(reset, self.base_lr, lr)
        new = GreedyState(
            lr.astype(jnp.float32),
            (lr / self.base_lr).astype(jnp.float32),
            jnp.where(reset, self.base_lr, anchor).astype(jnp.float32),
            jnp.where(reset, 0, power).astype(jnp.int32),
            jnp.where(reset, self._worst(), best).astype(jnp.float32),
            jnp.where(reduce, 0, bad).astype(jnp.int32),
            jnp.where(increase | reset, 0, good).astype(jnp.int32),
            # a cut (a reset too) starts the cooldown; a raise starts the warmup
            jnp.where(reduce, self.cooldown, jnp.where(in_cooldown, state.cooldown - 1, 0)).astype(jnp.int32),
            jnp.where(increase, self.warmup, jnp.where(in_warmup, state.warmup - 1, state.warmup)).astype(jnp.int32),
            jnp.where(reset, self.reset_start, resets_left).astype(jnp.int32),
            jnp.where(reset, 0.0, window),
            jnp.where(reset, 0, count).astype(jnp.int32),
            jnp.where(reset, 0, position).astype(jnp.int32),
        )
        return _unless_not_finite(value, state, new)


def greedy_lr(
    base_lr: float, factor: float = 0.95, patience: int = 10, threshold: float = 1e-6, threshold_mode: str = "abs",
    mode: str = "min", cooldown: int = 0, warmup: int = 0, min_lr: float = 1e-3, max_lr: float = 1.0,
    eps: float = 1e-8, smooth: bool = False, window_size: int = 50, reset_start: int = 500,
) -> optax.GradientTransformationExtraArgs:
    """Raises the learning rate while a monitored value improves, and lowers it when it stalls.

    Hugging Face's ``GreedyLR`` (``transformers.get_scheduler("greedy", ...)``; "GreedyLR: A
    Novel Adaptive Learning Rate Scheduler", arXiv 2512.14527) as an optax transformation:
    chain it after an optimizer whose rate is ``base_lr`` and pass the monitored value as
    ``value=`` (a NaN or inf value is ignored, as by :func:`reduce_on_plateau`)::

        optimizer = optax.chain(optax.sgd(0.1), jaxlr.greedy_lr(base_lr=0.1))
        updates, state = optimizer.update(grads, state, params, value=loss)

    Each observation (one ``scheduler.step(metric)``), with ``v`` the value, or with
    ``smooth=True`` the mean of the last ``window_size`` values:

    - during a cooldown or a warmup, its count goes down by one and both counts reset;
    - otherwise ``v`` improves if it beats the best by ``threshold`` (absolute, or relative
      to ``|best|`` with ``threshold_mode="rel"``; mirrored for ``mode="max"``): good values
      in a row are counted, and bad ones;
    - more than ``patience`` good values in a row: ``lr = min(lr / factor, max_lr)`` (if that
      raises it by more than ``eps``), the warmup starts, the reset count starts over;
    - more than ``patience`` bad values: ``lr = max(lr·factor, min_lr)`` (if that lowers it by
      more than ``eps``), the cooldown starts; a cut that leaves ``lr`` at ``min_lr`` counts
      down ``reset_start``, and at 0 everything restarts from ``base_lr`` (the cooldown
      starting too, as in HF).

    The updates are scaled by ``lr / base_lr``; :func:`current_lr` includes it. HF's defaults:
    ``min_lr=1e-3`` is absolute, so a ``base_lr`` below it only grows. One difference: the
    relative test compares with ``best - threshold·|best|`` (HF: ``best·(1 - threshold)``, which
    counts an equal negative value as an improvement), as :func:`reduce_on_plateau` does; for
    positive values they are the same. The rate is kept as ``base_lr``, ``min_lr`` or
    ``max_lr`` times a whole power ``k`` of ``factor``, in float32: within about
    ``|k·log(factor)|·6e-8`` (relative) of HF's float64 products, and exactly at a bound it
    returns to. A rate that meets a bound only in exact arithmetic (``base_lr·factor**k ==
    min_lr``) is at it or just past it after rounding, in HF and here alike, and the two may
    decide it differently.

    Example:
        >>> import jax.numpy as jnp, jaxlr
        >>> rule = jaxlr.greedy_lr(base_lr=0.1, factor=0.5, patience=1, min_lr=0.0)
        >>> state, rates = rule.init(None), []
        >>> for loss in (1.0, 0.9, 0.8, 0.8, 0.8, 0.8):
        ...     _, state = rule.update(jnp.ones(1), state, value=loss)
        ...     rates.append(round(float(state.lr), 4))
        >>> rates   # two improvements in a row raise it, two stalls lower it
        [0.1, 0.2, 0.2, 0.2, 0.1, 0.1]
    """
    greedy = _Greedy(base_lr, factor, patience, threshold, threshold_mode, mode, cooldown, warmup, min_lr, max_lr,
                     eps, smooth, window_size, reset_start)
    return optax.GradientTransformationExtraArgs(greedy.init, greedy.update)


class StoppingState(NamedTuple):
    """State of :class:`early_stopping`: the best value, the values seen since it (``wait``),
    the number of values offered so far, and whether training should stop."""

    best: jax.Array
    wait: jax.Array
    epoch: jax.Array
    stopped: jax.Array


class Decision(NamedTuple):
    """What :meth:`early_stopping.update` decided: the value improved on the best (keep
    these parameters, for ``restore_best``), and training should stop."""

    improved: jax.Array
    stop: jax.Array


class early_stopping:
    """Stops training when a monitored value stops improving, with Keras' rules.

    ``state, decision = rule.update(state, value)`` once per epoch: a pure, jit-compatible
    update. Keras' ``EarlyStopping(monitor, min_delta, patience, mode, baseline,
    start_from_epoch, restore_best_weights)``: values before ``start_from_epoch`` are
    ignored; a value improves if it beats the best by ``min_delta`` (absolute); the wait
    resets only when it also beats ``baseline`` (if given); training stops once ``wait >=
    patience`` (never on the first epoch). ``decision.improved`` says when to keep the
    parameters for restore-best (the caller keeps them: the rule holds no weights). A NaN or
    inf value counts as no improvement, as in Keras. ``value`` is a number or an array
    holding one number, so both decisions are scalars.

    Args:
        min_delta: the margin a value must beat the best by to count as an improvement (its
            absolute value is used, as Keras does).
        patience: values without an improvement tolerated before stopping (>= 0).
        mode: "min" (lower is better) or "max".
        baseline: a value the monitored one must also beat for the wait to reset; None for
            none.
        start_from_epoch: values offered before this epoch are ignored (>= 0).

    Example:
        >>> import jaxlr
        >>> rule = jaxlr.early_stopping(patience=2)
        >>> state = rule.init()
        >>> for loss in (1.0, 0.8, 0.9, 0.85, 0.7):
        ...     state, decision = rule.update(state, loss)
        ...     print(bool(decision.improved), bool(decision.stop))
        True False
        True False
        False False
        False True
        True False
    """

    def __init__(
        self, min_delta: float = 0.0, patience: int = 0, mode: str = "min", baseline: float | None = None,
        start_from_epoch: int = 0,
    ) -> None:
        check_nonnegative("patience", patience)
        check_choice("mode", mode, ("min", "max"))
        check_nonnegative("start_from_epoch", start_from_epoch)
        check_number("min_delta", min_delta)
        if baseline is not None:
            check_number("baseline", baseline)
        self.min_delta, self.patience, self.mode = abs(min_delta), patience, mode
        self.baseline, self.start_from_epoch = baseline, start_from_epoch

    def __repr__(self) -> str:
        return (f"early_stopping(min_delta={self.min_delta}, patience={self.patience}, mode={self.mode!r}, "
                f"baseline={self.baseline}, start_from_epoch={self.start_from_epoch})")

    def init(self) -> StoppingState:
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        return StoppingState(jnp.asarray(worst, jnp.float32), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                             jnp.zeros((), bool))

    def _beats(self, value: jax.Array, reference: Any) -> jax.Array:
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def update(self, state: StoppingState, value: Any) -> tuple[StoppingState, Decision]:
        """The state after one epoch's ``value``, and the decision (two boolean scalars).

        ``value`` is a number or an array holding one number; a larger one is a
        ``ValueError`` (at trace time under ``jit``)."""
        value = _monitored(value)
        counted = state.epoch >= self.start_from_epoch
        wait = state.wait + 1
        improved = counted & self._beats(value, state.best)
        beats_baseline = True if self.baseline is None else self._beats(value, self.baseline)
        best = jnp.where(improved, value, state.best)
        wait = jnp.where(improved & beats_baseline, 0, wait)
        stop = counted & ~improved & (wait >= self.patience) & (state.epoch > 0)
        new = StoppingState(best, jnp.where(counted, wait, state.wait).astype(jnp.int32), state.epoch + 1,
                            state.stopped | stop)
        return new, Decision(improved, stop)


def _is_injected(node: Any) -> bool:
    return isinstance(node, optax.InjectHyperparamsState) or (
        hasattr(node, "inner_state") and isinstance(getattr(node, "hyperparams", None), dict)
    )


def _rates_and_scale(
    node: Any, name: str = "learning_rate", schedule: Callable[[Any], Any] | None = None
) -> tuple[list[jax.Array], jax.Array]:
    """The injected ``name`` hyperparameters under ``node`` (the learning rates by default),
    and the product of the plateau scales that apply to all of ``node``.

    A container is a sequence of transformations (a ``chain``'s tuple, a wrapper's fields):
    a plateau anywhere in it scales every update that passes through it, so its scale
    applies to every rate found in the container, however deep. A branching state (one
    inner state per parameter group: ``multi_transform``; the two optimizers of
    :func:`switch_optimizers`) ends that: each branch's rates are multiplied by the scales
    found in that branch alone, and nothing inside a branch leaks to its siblings. With
    ``schedule``, the update count of a ``ScaleByScheduleState`` is a rate: the schedule at
    the count its last update used.
    """
    if isinstance(node, PlateauState | GreedyState):
        return [], node.scale
    if schedule is not None and isinstance(node, optax.ScaleByScheduleState):
        count = jnp.asarray(node.count)  # a Flax NNX state wraps it in a variable
        return [jnp.asarray(schedule(jnp.maximum(count - 1, 0)))], jnp.ones((), jnp.float32)
    if isinstance(node, SwitchState):
        # Its own plateau state only decides when to switch: it scales nothing.
        return _branches([node.first, node.second], name, schedule), jnp.ones((), jnp.float32)
    if isinstance(node, optax.MultiTransformState) or isinstance(getattr(node, "inner_states", None), Mapping):
        return _branches(list(node.inner_states.values()), name, schedule), jnp.ones((), jnp.float32)
    if _is_injected(node):
        rates, scale = _rates_and_scale(node.inner_state, name, schedule)
        if name in node.hyperparams:
            rates = [jnp.asarray(node.hyperparams[name]), *rates]
        return rates, scale
    rates, scale = [], jnp.ones((), jnp.float32)
    for child in _children(node):
        child_rates, child_scale = _rates_and_scale(child, name, schedule)
        rates += child_rates
        scale = scale * child_scale
    return rates, scale


def _branches(branches: list[Any], name: str, schedule: Callable[[Any], Any] | None = None) -> list[jax.Array]:
    rates = []
    for branch in branches:
        branch_rates, branch_scale = _rates_and_scale(branch, name, schedule)
        # a plateau scales the updates, so the learning rate: no other hyperparameter
        rates += [rate * branch_scale if name == "learning_rate" else rate for rate in branch_rates]
    return rates


def current_lr(opt_state: Any, schedule: Callable[[Any], Any] | None = None) -> jax.Array:
    """The learning rate the last update used, read from an optimizer state.

    Finds every ``learning_rate`` hyperparameter of an ``optax.inject_hyperparams`` state
    anywhere in ``opt_state`` (through ``optax.chain``, ``multi_transform``, ``MultiSteps``,
    ``lookahead``...) and multiplies it by the scale of every :func:`reduce_on_plateau` that
    scales its updates::

        lr = learning_rate * prod(scale of each plateau chained in its branch or around it)

    An optimizer built with the schedule itself (``optax.adamw(schedule)``, no
    ``inject_hyperparams``) keeps no rate, only the update count at which optax evaluates
    the schedule (its ``ScaleByScheduleState``): pass the ``schedule``, and each such count
    gives ``learning_rate = schedule(max(count - 1, 0))``. optax evaluates the schedule at
    the count before incrementing it, so the last update used ``count - 1``; before the first
    update this is ``schedule(0)``, the rate the first update will use, as
    ``inject_hyperparams`` reports it. In Flax NNX, after ``optimizer.update(model, grads)``,
    ``current_lr(optimizer.opt_state, schedule)``: the count is the optimizer's own, so this
    holds where ``schedule(optimizer.step)`` is one update ahead, and under
    ``optax.MultiSteps``, whose inner count moves once per accumulated update.

    A plateau chained in the same ``chain`` as the optimizer, or around a
    ``multi_transform`` that holds it, applies to it; a plateau inside one parameter group of
    a ``multi_transform`` applies to that group's rate only, never to a sibling group's. The
    plateau state of :func:`switch_optimizers`' ``on_plateau`` decides the switch and scales
    nothing, so it is not applied. With several learning rates (``multi_transform`` with one
    optimizer per parameter group), returns them in the order found, as an array (the order
    of the groups in the state's dict: sorted by label once the state has been through
    ``jit``).

    Example:
        >>> import jax.numpy as jnp, optax, jaxlr
        >>> opt = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=jaxlr.linear_warmup(1.0, 4)),
        ...                   jaxlr.reduce_on_plateau(factor=0.5, patience=0))
        >>> state = opt.init(jnp.zeros(2))
        >>> for loss in (1.0, 2.0):
        ...     _, state = opt.update(jnp.ones(2), state, value=loss)
        >>> float(current_lr(state))   # warmup at count 1 (0.25), halved once by the plateau
        0.125
        >>> sgd = optax.inject_hyperparams(optax.sgd)
        >>> groups = optax.multi_transform(
        ...     {"a": optax.chain(sgd(learning_rate=0.1), jaxlr.reduce_on_plateau(factor=0.5, patience=0)),
        ...      "b": sgd(learning_rate=0.2)}, {"x": "a", "y": "b"})
        >>> params = {"x": jnp.zeros(1), "y": jnp.zeros(1)}
        >>> state = groups.init(params)
        >>> for loss in (1.0, 2.0):
        ...     _, state = groups.update(params, state, params, value=loss)
        >>> [round(float(lr), 4) for lr in current_lr(state)]   # group "a" halved, "b" untouched
        [0.05, 0.2]
        >>> schedule = jaxlr.linear_warmup(1.0, 4)
        >>> plain = optax.sgd(schedule)   # no inject_hyperparams: pass the schedule
        >>> state = plain.init(jnp.zeros(2))
        >>> for _ in range(2):
        ...     _, state = plain.update(jnp.ones(2), state)
        >>> float(current_lr(state, schedule))   # the second update used schedule(1)
        0.25
    """
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be a callable of the step (the optimizer's schedule), got {schedule!r}")
    rates, scale = _rates_and_scale(opt_state, schedule=schedule)
    if not rates:
        if schedule is not None:
            raise ValueError("no learning rate in this optimizer state: with schedule=, the optimizer must take "
                             "that schedule as its learning rate (optax.adamw(schedule)), or be built with "
                             "optax.inject_hyperparams")
        raise ValueError("no learning rate in this optimizer state: build the optimizer with "
                         "optax.inject_hyperparams(optax.adamw)(learning_rate=schedule), or pass the schedule "
                         "the optimizer was built with: current_lr(opt_state, schedule)")
    return rates[0] * scale if len(rates) == 1 else jnp.stack(rates) * scale



def current_hyperparam(opt_state: Any, name: str) -> jax.Array:
    """The value of the injected hyperparameter ``name`` the last update used, read from an
    optimizer state: :func:`current_lr`'s counterpart for any of them (``"momentum"`` of
    ``optax.sgd``, ``"b1"`` of ``optax.adam``, ``"weight_decay"``...), for logging.

    Finds ``name`` in every ``optax.inject_hyperparams`` state in ``opt_state``, through
    ``chain``, ``multi_transform``, ``MultiSteps``..., as :func:`current_lr` does, and returns
    one value, or an array of them in the order found. ``"learning_rate"`` is
    :func:`current_lr`, with the plateau scales; no other hyperparameter is scaled.

    Example:
        >>> import jax.numpy as jnp, optax, jaxlr
        >>> momentum = jaxlr.one_cycle_momentum(total_steps=10, pct_start=0.5, anneal="linear")
        >>> opt = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1, momentum=momentum)
        >>> state = opt.init(jnp.zeros(2))
        >>> for _ in range(3):
        ...     _, state = opt.update(jnp.ones(2), state)
        >>> round(float(jaxlr.current_hyperparam(state, "momentum")), 4)   # the third update's, at count 2
        0.9
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    if name == "learning_rate":
        return current_lr(opt_state)
    values, _ = _rates_and_scale(opt_state, name)
    if not values:
        raise ValueError(f"no injected hyperparameter {name!r} in this optimizer state (injected: "
                         f"{', '.join(sorted(_injected_names(opt_state))) or 'none'}): build the optimizer with "
                         f"optax.inject_hyperparams(optax.sgd)({name}=schedule, ...)")
    return values[0] if len(values) == 1 else jnp.stack(values)


def _injected_names(node: Any) -> set[str]:
    if _is_injected(node):
        return set(node.hyperparams) | _injected_names(node.inner_state)
    return set().union(*(_injected_names(child) for child in _children(node)))


def _children(node: Any) -> list[Any]:
    """The states inside a container state: a chain's tuple, a NamedTuple's fields, a dict's
    values, an object's attributes."""
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, tuple | list):
        return list(node)
    if hasattr(node, "__dict__") and not isinstance(node, jax.Array):
        return list(vars(node).values())
    return []


class SwitchState(NamedTuple):
    """State of :func:`switch_optimizers`: both inner states, the update count, and whether
    the switch happened (with the plateau state when the switch waits for a plateau)."""

    first: Any
    second: Any
    count: jax.Array  # type: ignore[assignment]  # shadows tuple.count, as optax's states' count does
    switched: jax.Array
    plateau: PlateauState | None


def switch_optimizers(
    first: optax.GradientTransformation, second: optax.GradientTransformation, switch_step: int | None = None,
    on_plateau: optax.GradientTransformationExtraArgs | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Runs ``first`` until a switch, then ``second`` (Adam, then SGD: Keskar & Socher 2017).

    The switch comes at update ``switch_step``, or, with ``on_plateau=reduce_on_plateau(...)``,
    when that rule would first cut (pass the monitored value as ``value=``), whichever comes
    first. Both states are kept; ``second``'s is untouched until the switch, so it starts
    fresh there, with its own schedule counting from its own first update. The choice is a
    ``lax.cond`` inside ``jit``: no recompilation, no host round trip.

    Args:
        first: the optimizer until the switch.
        second: the optimizer after it.
        switch_step: the update at which to switch (> 0); None to switch on a plateau only.
        on_plateau: a :func:`reduce_on_plateau` rule whose first cut is the switch; None to
            switch at ``switch_step`` only.

    Example:
        >>> import jax.numpy as jnp, optax, jaxlr
        >>> opt = jaxlr.switch_optimizers(optax.adam(1e-3), optax.sgd(0.1), switch_step=2)
        >>> state = opt.init(jnp.zeros(1))
        >>> for _ in range(3):
        ...     updates, state = opt.update(jnp.ones(1), state)
        >>> round(float(updates[0]), 4)   # the third update is SGD's first
        -0.1
    """
    if switch_step is None and on_plateau is None:
        raise ValueError("switch_optimizers needs switch_step or on_plateau, got neither")
    if switch_step is not None:
        check_positive("switch_step", switch_step)
    first, second = optax.with_extra_args_support(first), optax.with_extra_args_support(second)

    def init(params: Any) -> SwitchState:
        plateau = cast(PlateauState, on_plateau.init(params)) if on_plateau is not None else None
        return SwitchState(first.init(params), second.init(params), jnp.zeros((), jnp.int32), jnp.zeros((), bool),
                           plateau)

    def update(updates: Any, state: SwitchState, params: Any = None, **extra: Any) -> tuple[Any, SwitchState]:
        switched = state.switched
        if switch_step is not None:
            switched = switched | (state.count >= switch_step)
        plateau = state.plateau
        if on_plateau is not None and state.plateau is not None:  # init made a plateau state for on_plateau
            _, observed = on_plateau.update(jnp.zeros(()), state.plateau, value=extra.get("value", jnp.nan))
            plateau = cast(PlateauState, observed)
            switched = switched | (plateau.scale < state.plateau.scale)

        def run_first(_: None) -> tuple[Any, Any, Any]:
            new_updates, inner = first.update(updates, state.first, params, **extra)
            return new_updates, inner, state.second

        def run_second(_: None) -> tuple[Any, Any, Any]:
            new_updates, inner = second.update(updates, state.second, params, **extra)
            return new_updates, state.first, inner

        new_updates, first_state, second_state = jax.lax.cond(switched, run_second, run_first, None)
        return new_updates, SwitchState(first_state, second_state, state.count + 1, switched, plateau)

    # As above: optax hands update() back the SwitchState that init() made.
    return optax.GradientTransformationExtraArgs(
        cast(optax.TransformInitFn, init), cast(optax.TransformUpdateExtraArgsFn, update)
    )
