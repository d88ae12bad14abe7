"""The schedules the measurements time: jaxlr families with the optax schedule each matches."""

from __future__ import annotations

from collections.abc import Callable

import optax

import jaxlr

# (name, jaxlr schedule, the optax schedule it matches)
PAIRS: list[tuple[str, Callable, Callable]] = [
    ("constant", jaxlr.constant(1e-3), optax.constant_schedule(1e-3)),
    ("linear", jaxlr.linear(1e-3, 1e-5, 10_000), optax.linear_schedule(1e-3, 1e-5, 10_000)),
    ("polynomial", jaxlr.polynomial(1e-3, 1e-5, 10_000, 2.0), optax.polynomial_schedule(1e-3, 1e-5, 2.0, 10_000)),
    ("exponential_decay", jaxlr.exponential_decay(1e-3, 0.5, 1000), optax.exponential_decay(1e-3, 1000, 0.5)),
    ("cosine_decay", jaxlr.cosine_decay(1e-3, 10_000), optax.cosine_decay_schedule(1e-3, 10_000)),
    (
        "piecewise_constant",
        jaxlr.piecewise_constant([1000, 5000, 9000], [1e-3, 5e-4, 1e-4, 1e-5]),
        optax.piecewise_constant_schedule(1e-3, {1000: 0.5, 5000: 0.2, 9000: 0.1}),
    ),
    (
        "piecewise_linear",
        jaxlr.piecewise_linear([0, 1000, 5000, 9000], [1e-3, 2e-3, 4e-4, 4e-5]),
        optax.piecewise_interpolate_schedule("linear", 1e-3, {1000: 2.0, 5000: 0.2, 9000: 0.1}),
    ),
    (
        "warmup_cosine",
        jaxlr.warmup_cosine(1e-3, 500, 10_000),
        optax.warmup_cosine_decay_schedule(0.0, 1e-3, 500, 10_000),
    ),
    (
        "warmup_exponential",
        jaxlr.warmup_exponential(1e-3, 500, 0.5, 1000),
        optax.warmup_exponential_decay_schedule(0.0, 1e-3, 500, 1000, 0.5),
    ),
]
# Families without an optax counterpart are timed in the train step only.
ONLY_JAXLR: list[tuple[str, Callable]] = [
    ("step_decay", jaxlr.step_decay(1e-3, 1000, 0.5)),
    ("multistep_decay", jaxlr.multistep_decay(1e-3, [1000, 5000, 9000])),
    ("inverse_time_decay", jaxlr.inverse_time_decay(1e-3, 0.5, 1000)),
    ("inverse_sqrt_decay", jaxlr.inverse_sqrt_decay(1e-3, 500)),
    ("warmup_linear", jaxlr.warmup_linear(1e-3, 500, 10_000)),
    ("warmup_then(cosine)", jaxlr.warmup_then(jaxlr.cosine_decay(1e-3, 9_500), 500)),
    ("periodic cosine", jaxlr.cosine_decay(1e-3, 1000, periodic=True)),
]


def every_schedule() -> list[tuple[str, Callable]]:
    """Every jaxlr schedule above, paired with optax or not, in order."""
    return [(name, ours) for name, ours, _ in PAIRS] + ONLY_JAXLR
