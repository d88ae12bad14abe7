"""Large-model schedules: warmup-stable-decay, Noam, REX, tanh."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxlr._base import (
    Scalar,
    Schedule,
    as_float,
    blend,
    check_choice,
    check_less_equal,
    check_nonnegative,
    check_number,
    check_positive,
    fit,
    is_concrete,
    progress,
    remaining,
    scaled_power,
    schedule_class,
    static_field,
    step_reached,
    sub_steps,
)
from jaxlr.decay import DECAY_SHAPES, decay_weights
from jaxlr.warmup import WARMUP_SHAPES, warmup_value


def _is_fraction(x: object) -> bool:
    return isinstance(x, float) and 0.0 < x < 1.0


@schedule_class
class wsd(Schedule):
    """Warmup, stable, decay (the "trapezoidal" schedule of MiniCPM, Hägele et al. 2024).

    With ``W = warmup_steps``, ``D = decay_steps``, ``T = total_steps``::

        lr(t) = warmup(init -> peak)             for t < W
        lr(t) = peak                             for W <= t < T - D
        lr(t) = decay(peak -> end), q = (t - T + D) / D     for T - D <= t < T
        lr(t) = end                              for t >= T

    ``decay_shape``: "linear" ``1 - q``, "cosine" ``½(1 + cos πq)``, "1-sqrt" ``1 - sqrt(q)``
    (reported by Hägele et al. to beat a linear cooldown), "exponential" ``(end /
    peak)**q`` (needs ``end_value > 0``). ``warmup_shape``: "linear", "cosine", "1-sqrt" or
    "exponential", as in :func:`jaxlr.warmup_then`. ``warmup_steps`` and ``decay_steps``
    given as Python floats strictly between 0 and 1 are fractions of ``total_steps``,
    rounded to whole steps when the schedule is built (as Levanter reads them).

    Matches Hugging Face ``get_wsd_schedule(num_warmup_steps=W, num_decay_steps=D,
    num_training_steps=T, warmup_type, decay_type, min_lr_ratio=m)`` with ``init_value =
    end_value = m * peak``: HF starts its warmup at ``m * peak``, not at 0.

    Args:
        peak_value: the value held between the warmup and the decay (>= 0).
        total_steps: ``T``, the step at which the decay ends (> 0).
        warmup_steps: ``W``, the warmup's length in steps, or a fraction of ``T`` given as
            a float in (0, 1) (>= 0).
        decay_steps: ``D``, the decay's length in steps, or a fraction of ``T`` given as a
            float in (0, 1) (>= 0; ``W + D <= T``).
        init_value: the value at step 0 (>= 0; > 0 for the exponential warmup).
        end_value: the value at ``T`` and after it (>= 0; > 0 for the exponential decay).
        decay_shape: "linear", "cosine", "1-sqrt" or "exponential".
        warmup_shape: "linear", "cosine", "1-sqrt" or "exponential".

    Example:
        >>> import jaxlr
        >>> s = jaxlr.wsd(1.0, total_steps=100, warmup_steps=10, decay_steps=0.2)
        >>> s.decay_steps
        20
        >>> [round(float(s(t)), 4) for t in (0, 5, 10, 79, 80, 90, 100)]
        [0.0, 0.5, 1.0, 1.0, 1.0, 0.5, 0.0]
    """

    _argument_fields = ("peak_value", "end_value")

    peak_value: Scalar
    total_steps: Scalar
    warmup_steps: Scalar
    decay_steps: Scalar
    init_value: Scalar = 0.0
    end_value: Scalar = 0.0
    decay_shape: str = static_field(default="linear")
    warmup_shape: str = static_field(default="linear")

    def __post_init__(self) -> None:
        for name in ("warmup_steps", "decay_steps"):
            value = getattr(self, name)
            if not _is_fraction(value):
                continue
            if is_concrete(self.total_steps):
                object.__setattr__(self, name, round(value * float(np.asarray(self.total_steps))))
            else:  # a traced total (a sweep over run lengths): the same fraction of each
                object.__setattr__(self, name, jnp.round(value * as_float(self.total_steps)))
        super().__post_init__()

    def _check(self) -> None:
        check_nonnegative("peak_value", self.peak_value)
        check_positive("total_steps", self.total_steps)
        check_nonnegative("warmup_steps", self.warmup_steps)
        check_nonnegative("decay_steps", self.decay_steps)
        check_less_equal(
            "warmup_steps + decay_steps", self.warmup_steps + self.decay_steps, "total_steps", self.total_steps
        )
        check_choice("decay_shape", self.decay_shape, (*DECAY_SHAPES, "exponential"))
        check_choice("warmup_shape", self.warmup_shape, WARMUP_SHAPES)
        check_nonnegative("init_value", self.init_value)
        if self.warmup_shape == "exponential":
            check_positive("init_value", self.init_value)
        if self.decay_shape == "exponential":
            check_positive("end_value", self.end_value)
        else:
            check_nonnegative("end_value", self.end_value)

    def _value(self, step: jax.Array) -> jax.Array:
        t = as_float(step)
        decay_start = self.total_steps - self.decay_steps
        warmup = warmup_value(self.init_value, self.peak_value, t, self.warmup_steps, self.warmup_shape)
        # Exact for integer steps (t - decay_start in float32 cancels near 2**31).
        decay_start = fit(decay_start)
        after = sub_steps(step, decay_start)
        started = step_reached(step, decay_start)
        left, done = remaining(after, self.decay_steps), progress(after, self.decay_steps)
        if self.decay_shape == "exponential":
            positive = self.peak_value > 0
            ratio = self.end_value / jnp.where(positive, self.peak_value, 1.0)
            decay = jnp.where(positive, scaled_power(self.peak_value, ratio, done), self.end_value)
        else:
            decay = blend(self.peak_value, self.end_value, *decay_weights(self.decay_shape, left, done))
        return jnp.where(t < self.warmup_steps, warmup, jnp.where(started, decay, self.peak_value))


@schedule_class
class noam(Schedule):
    """The Transformer schedule (Vaswani et al. 2017): linear warmup, then ``1/sqrt(t)``.

    Formula: ``lr(t) = scale * d_model**-0.5 * min(t**-0.5, t * warmup_steps**-1.5)``; at
    ``t = 0`` it is 0 (the warmup term), where ``t**-0.5`` alone would be inf.

    The peak, at ``t = warmup_steps``, is ``scale * (d_model * warmup_steps)**-0.5``.
    tensor2tensor and the Annotated Transformer count steps from 1: evaluate at ``t + 1``
    to reproduce them.

    Args:
        d_model: the model width (> 0): the peak scales as ``d_model ** -0.5``.
        warmup_steps: the step at which the peak is reached (> 0).
        scale: a factor on the whole schedule (>= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.noam(d_model=512, warmup_steps=4000)
        >>> [round(float(s(t)) * 1e4, 4) for t in (0, 2000, 4000, 16000)]
        [0.0, 3.4939, 6.9877, 3.4939]
    """

    d_model: Scalar
    warmup_steps: Scalar
    scale: Scalar = 1.0

    def _check(self) -> None:
        check_positive("d_model", self.d_model)
        check_positive("warmup_steps", self.warmup_steps)
        check_nonnegative("scale", self.scale)

    def _value(self, step: jax.Array) -> ArrayLike:
        t = as_float(step)
        decay = jax.lax.rsqrt(jnp.maximum(t, 1.0))
        warmup = t * self.warmup_steps**-1.5
        return self.scale * self.d_model**-0.5 * jnp.minimum(decay, warmup)


@schedule_class
class rex_decay(Schedule):
    """The REX schedule (Chen et al. 2021): a reflected exponential, between linear and step.

    Formula, with ``z = 1 - min(t, T) / T``::

        lr(t) = end + (init - end) * z / (½ + ½ z)

    Args:
        init_value: the value at step 0 (>= 0).
        total_steps: ``T``, the decay's length in steps (> 0).
        end_value: the value at ``T`` and after it (>= 0).

    Example:
        >>> import jaxlr
        >>> s = jaxlr.rex_decay(1.0, total_steps=100)
        >>> [round(float(s(t)), 4) for t in (0, 50, 90, 100)]
        [1.0, 0.6667, 0.1818, 0.0]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    total_steps: Scalar
    end_value: Scalar = 0.0

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("total_steps", self.total_steps)
        check_nonnegative("end_value", self.end_value)

    def _value(self, step: jax.Array) -> jax.Array:
        z, done = remaining(step, self.total_steps), progress(step, self.total_steps)
        # weight 2z / (1 + z); its complement (1 - z) / (1 + z), without cancellation
        return blend(self.init_value, self.end_value, 2.0 * z / (1.0 + z), done / (1.0 + z))


@schedule_class
class tanh_decay(Schedule):
    """Hyperbolic-tangent decay, as timm's ``TanhLRScheduler``.

    Formula, with ``r = t / decay_steps``::

        lr(t) = end + (init - end) * ½ (1 - tanh(lower * (1 - r) + upper * r))    for t < D
        lr(t) = end                                                              for t >= D

    With the defaults (``lower=-7``, ``upper=3``) it starts at ``0.99999917·init`` and reaches
    ``end + 0.0025·(init - end)`` just before ``D``, as timm's does.

    Args:
        init_value: the value the decay starts near (>= 0).
        decay_steps: ``D``, the decay's length in steps (> 0).
        end_value: the value at ``D`` and after it (>= 0).
        lower: the argument of ``tanh`` at step 0 (<= ``upper``): the more negative, the
            longer the value stays near ``init_value``.
        upper: the argument of ``tanh`` at ``D``: the larger, the closer to ``end_value``
            the value gets before ``D``.

    Example:
        >>> import jaxlr
        >>> s = jaxlr.tanh_decay(1.0, decay_steps=100)
        >>> [round(float(s(t)), 4) for t in (0, 50, 70, 99, 100)]
        [1.0, 0.982, 0.5, 0.003, 0.0]
    """

    _argument_fields = ("init_value", "end_value")

    init_value: Scalar
    decay_steps: Scalar
    end_value: Scalar = 0.0
    lower: Scalar = -7.0
    upper: Scalar = 3.0

    def _check(self) -> None:
        check_nonnegative("init_value", self.init_value)
        check_positive("decay_steps", self.decay_steps)
        check_nonnegative("end_value", self.end_value)
        check_number("lower", self.lower)
        check_number("upper", self.upper)
        check_less_equal("lower", self.lower, "upper", self.upper)

    def _value(self, step: jax.Array) -> jax.Array:
        r = progress(step, self.decay_steps)
        x = self.lower * remaining(step, self.decay_steps) + self.upper * r
        weight = 0.5 * (1.0 - jnp.tanh(x))
        value = blend(self.init_value, self.end_value, weight, 0.5 * (1.0 + jnp.tanh(x)))
        return jnp.where(remaining(step, self.decay_steps) > 0, value, self.end_value)
