"""A user's script built from the README's snippets, for the type checkers.

tests/test_typing.py checks it with pyright (strict) and mypy (strict) against jaxlr as its
wheel installs it, and runs it: correct user code must be neither flagged nor broken. Every
public constructor is called here by keyword, as a user who reads the signatures would.

Two lines answer for the libraries around jaxlr, not for jaxlr: optax ships no ``py.typed``
marker, which pyright's strict mode reports on its import (mypy is told to read optax's
annotated sources in its configuration); and pyright sees jax's array constructors
(``jnp.zeros``, ``jnp.arange``) as partially unknown under strict mode (their ``device``
parameter comes from a compiled module without stubs), so arrays are made with NumPy here.
"""

from __future__ import annotations

import jax
import numpy as np
import optax  # pyright: ignore[reportMissingTypeStubs]

import jaxlr
from jaxlr.compat import hf, keras, torch


def inverse_sqrt(step: jax.Array, peak: float) -> jax.Array:
    return peak * jax.lax.rsqrt(step + 1.0)


def families() -> list[jaxlr.Schedule]:
    """Every registered family and combinator, every argument by keyword."""
    cosine = jaxlr.cosine_decay(init_value=1e-3, decay_steps=9_000, end_value=1e-5, exponent=1.0, periodic=False)
    return [
        jaxlr.constant(value=1e-3),
        jaxlr.linear(init_value=1e-3, end_value=0.0, transition_steps=1_000, transition_begin=10),
        jaxlr.polynomial(
            init_value=1e-3, end_value=1e-5, transition_steps=1_000, power=2.0, transition_begin=0, cycle=True
        ),
        jaxlr.step_decay(init_value=0.1, step_size=30, gamma=0.1),
        jaxlr.multistep_decay(init_value=0.1, milestones=[30, 60, 90], gamma=0.1),
        jaxlr.piecewise_constant(boundaries=[100, 200], values=[1e-3, 5e-4, 1e-4], inclusive=True),
        jaxlr.piecewise_linear(steps=[0, 100, 1_000], values=[0.0, 1e-3, 0.0]),
        jaxlr.exponential_decay(
            init_value=1e-3, decay_rate=0.5, decay_steps=1_000, staircase=True, transition_begin=0, end_value=1e-6
        ),
        jaxlr.inverse_time_decay(init_value=1e-3, decay_rate=0.5, decay_steps=100, staircase=False),
        jaxlr.inverse_sqrt_decay(init_value=1e-3, warmup_steps=100, timescale=1_000),
        cosine,
        jaxlr.linear_warmup(peak_value=1e-3, warmup_steps=100, init_value=0.0),
        jaxlr.exponential_warmup(peak_value=1e-3, warmup_steps=100, init_value=1e-6),
        jaxlr.warmup_then(schedule=cosine, warmup_steps=1_000, init_value=0.0, shape="cosine", shift=True),
        jaxlr.warmup_then(
            schedule=jaxlr.multistep_decay(init_value=0.1, milestones=[3_000, 6_000]), warmup_steps=500, shift=False
        ),
        jaxlr.warmup_cosine(
            peak_value=1e-3, warmup_steps=1_000, total_steps=100_000, init_value=0.0, end_value=0.0, exponent=1.0
        ),
        jaxlr.warmup_linear(peak_value=1e-3, warmup_steps=1_000, total_steps=100_000, init_value=0.0, end_value=0.0),
        jaxlr.warmup_exponential(
            peak_value=1e-3,
            warmup_steps=100,
            decay_rate=0.5,
            decay_steps=1_000,
            init_value=0.0,
            staircase=False,
            end_value=None,
        ),
        jaxlr.cosine_restarts(
            init_value=1e-3,
            first_period=1_000,
            period_mul=2.0,
            value_mul=0.9,
            end_value=0.0,
            warmup_steps=10,
            cycles=None,
        ),
        jaxlr.cyclic(
            base_value=1e-4, max_value=1e-3, step_size_up=200, step_size_down=None, mode="triangular2", gamma=1.0
        ),
        jaxlr.one_cycle(
            max_value=1e-3,
            total_steps=1_000,
            pct_start=0.3,
            anneal="cos",
            div_factor=25.0,
            final_div_factor=1e4,
            three_phase=False,
        ),
        jaxlr.one_cycle_momentum(
            total_steps=1_000, base_momentum=0.85, max_momentum=0.95, pct_start=0.3, anneal="cos", three_phase=False
        ),
        jaxlr.cyclic_momentum(
            base_momentum=0.8, max_momentum=0.9, step_size_up=200, step_size_down=None, mode="triangular", gamma=1.0
        ),
        jaxlr.with_momentum(schedule=jaxlr.one_cycle(max_value=1e-3, total_steps=1_000),
                            momentum=jaxlr.one_cycle_momentum(total_steps=1_000)),
        jaxlr.wsd(
            peak_value=1e-3,
            total_steps=10_000,
            warmup_steps=0.05,
            decay_steps=0.2,
            init_value=0.0,
            end_value=0.0,
            decay_shape="1-sqrt",
            warmup_shape="linear",
        ),
        jaxlr.noam(d_model=512, warmup_steps=4_000, scale=1.0),
        jaxlr.rex_decay(init_value=1e-3, total_steps=1_000, end_value=0.0),
        jaxlr.tanh_decay(init_value=1e-3, decay_steps=1_000, end_value=0.0, lower=-7.0, upper=3.0),
        jaxlr.per_epoch(schedule=jaxlr.step_decay(init_value=0.1, step_size=30), steps_per_epoch=390, staircase=True),
        jaxlr.join(schedules=[jaxlr.linear_warmup(peak_value=1e-3, warmup_steps=500), cosine], boundaries=[500]),
        jaxlr.scale(schedule=cosine, factor=0.1),
        jaxlr.clip(schedule=cosine, min_value=1e-5, max_value=None),
        jaxlr.multiply(first=cosine, second=jaxlr.linear_warmup(peak_value=1.0, warmup_steps=100)),
        jaxlr.shift(schedule=cosine, steps=100),
        jaxlr.repeat(schedule=cosine, period=9_000),
        jaxlr.cooldown(schedule=jaxlr.constant(value=1e-3), total_steps=10_000, cooldown_steps=2_000, shape="linear"),
        jaxlr.from_fn(fn=inverse_sqrt, peak=1e-3),
    ]


def ported() -> list[jaxlr.Schedule]:
    """The porting layers, by keyword."""
    return [
        torch.StepLR(lr=0.1, step_size=30, gamma=0.1),
        torch.MultiStepLR(lr=0.1, milestones=[30, 80], gamma=0.1),
        torch.CosineAnnealingLR(lr=0.1, T_max=100, eta_min=0.0),
        torch.SequentialLR(
            schedulers=[
                torch.LinearLR(lr=0.1, start_factor=0.01, total_iters=5),
                torch.CosineAnnealingLR(lr=0.1, T_max=95),
            ],
            milestones=[5],
        ),
        keras.CosineDecay(initial_learning_rate=0.0, decay_steps=1_000, alpha=0.0, warmup_target=0.1, warmup_steps=100),
        keras.PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1]),
        hf.get_scheduler(name="cosine", lr=1e-3, num_warmup_steps=100, num_training_steps=1_000),
    ]


def train() -> float:
    """The quick start: schedules into optax optimizers, a jitted update, the rate read back."""
    schedule = jaxlr.warmup_cosine(peak_value=1e-3, warmup_steps=1_000, total_steps=100_000)
    optimizer = optax.adamw(learning_rate=schedule, weight_decay=1e-4)
    params = {"w": np.zeros(3, np.float32)}
    opt_state = optimizer.init(params)
    grads = {"w": np.ones(3, np.float32)}
    updates, opt_state = optimizer.update(grads, opt_state, params)
    new_params = optax.apply_updates(params, updates)

    for other in (
        optax.sgd(learning_rate=jaxlr.step_decay(init_value=0.1, step_size=30)),
        optax.adam(learning_rate=jaxlr.from_config("cosine_decay(1e-3, 1000)")),
        optax.lion(learning_rate=jaxlr.join(schedules=[jaxlr.constant(value=1e-4), schedule], boundaries=[10])),
    ):
        other.init(new_params)

    values: jax.Array = schedule(np.arange(0, 3_000, 1_000))
    at_step: jax.Array = schedule(1_000)

    def lr_at_step_10(peak: jax.Array | np.ndarray) -> jax.Array:
        return jaxlr.warmup_cosine(peak_value=peak, warmup_steps=1_000, total_steps=100_000)(10)

    curves = jax.vmap(lr_at_step_10)(np.array([1e-4, 3e-4, 1e-3]))

    plateau = optax.chain(
        optax.inject_hyperparams(optax.adamw)(learning_rate=jaxlr.warmup_cosine(1e-3, 100, 10_000, init_value=1e-4)),
        jaxlr.reduce_on_plateau(factor=0.5, patience=3),
    )
    plateau_state = plateau.init(params)
    _, plateau_state = plateau.update(grads, plateau_state, params, value=0.7)
    rate: jax.Array = jaxlr.current_lr(plateau_state)

    stopper = jaxlr.early_stopping(min_delta=1e-3, patience=5)
    stop_state = stopper.init()
    stop_state, decision = stopper.update(stop_state, 0.7)
    switch = jaxlr.switch_optimizers(first=optax.adam(1e-3), second=optax.sgd(0.1), switch_step=1_000)
    switch.init(params)
    return float(values[1] + at_step + curves[0] + rate) + float(decision.improved)


def config() -> str:
    """Schedules from config strings and dicts, and back."""
    from_text = jaxlr.from_config("warmup_cosine(peak_value=1e-3, warmup_steps='5%', total_steps=100_000)")
    from_dict = jaxlr.from_config(
        {"name": "warmup_cosine", "peak_value": 1e-3, "warmup_steps": 5_000, "total_steps": 100_000}
    )
    by_epoch = jaxlr.from_config(
        "warmup_then(multistep_decay(0.1, milestones=['30ep', '60ep']), '5ep', shift=False)", steps_per_epoch=390
    )
    assert from_text == from_dict
    rebuilt = jaxlr.from_config(jaxlr.to_config(by_epoch))
    named = jaxlr.get("noam", d_model=512, warmup_steps=4_000)
    parsed: dict[str, object] = jaxlr.parse("cosine_decay(1.0, 100)")
    return f"{rebuilt!r} {named!r} {jaxlr.names()[:3]} {parsed}"


def main() -> None:
    for schedule in families() + ported():
        assert float(schedule(10)) >= 0.0, schedule
    print(train() > 0, config())


if __name__ == "__main__":
    main()
