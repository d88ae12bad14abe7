"""Bad arguments fail at construction with a ValueError naming the argument and the rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxlr
from jaxlr import _base
from tests.profiles import examples

INNER = jaxlr.constant(0.1)

CASES = [
    # (builder, kwargs, the text the message must contain)
    (jaxlr.constant, dict(value=-0.1), "value must be >= 0, got -0.1"),
    (jaxlr.constant, dict(value=float("nan")), "value must be finite, got nan"),
    (jaxlr.constant, dict(value=float("inf")), "value must be finite"),
    (jaxlr.constant, dict(value="0.1"), "value must be a number, got '0.1'"),
    (jaxlr.constant, dict(value=True), "value must be a number"),
    (jaxlr.linear, dict(init_value=1.0, end_value=0.0, transition_steps=0), "transition_steps must be > 0, got 0"),
    (jaxlr.linear, dict(init_value=1.0, end_value=0.0, transition_steps=10, transition_begin=-1),
     "transition_begin must be >= 0, got -1"),
    (jaxlr.linear, dict(init_value=-1.0, end_value=0.0, transition_steps=10), "init_value must be >= 0"),
    (jaxlr.polynomial, dict(init_value=1.0, end_value=0.0, transition_steps=-5), "transition_steps must be > 0"),
    (jaxlr.polynomial, dict(init_value=1.0, end_value=0.0, transition_steps=5, power=0.0), "power must be > 0"),
    (jaxlr.polynomial, dict(init_value=1.0, end_value=-0.1, transition_steps=5), "end_value must be >= 0"),
    (jaxlr.step_decay, dict(init_value=1.0, step_size=0), "step_size must be > 0, got 0"),
    (jaxlr.step_decay, dict(init_value=1.0, step_size=10, gamma=0.0), "gamma must be > 0, got 0.0"),
    (jaxlr.step_decay, dict(init_value=1.0, step_size=10, gamma=-0.5), "gamma must be > 0"),
    (jaxlr.multistep_decay, dict(init_value=1.0, milestones=[30, 10]),
     "milestones must be strictly increasing, got [30, 10] (unsorted at index 1)"),
    (jaxlr.multistep_decay, dict(init_value=1.0, milestones=[10, 10, 20]),
     "milestones must be strictly increasing, got [10, 10, 20] (duplicate at index 1)"),
    (jaxlr.multistep_decay, dict(init_value=1.0, milestones=[-1, 10]), "milestones must be >= 0"),
    (jaxlr.multistep_decay, dict(init_value=1.0, milestones=10), "milestones must be a list of numbers"),
    (jaxlr.multistep_decay, dict(init_value=1.0, milestones=[10, "20"]), "milestones must be a list of numbers"),
    (jaxlr.piecewise_constant, dict(boundaries=[10, 5], values=[1.0, 0.5, 0.1]),
     "boundaries must be strictly increasing"),
    (jaxlr.piecewise_constant, dict(boundaries=[10, 20], values=[1.0, 0.5]),
     "values must have one more entry than boundaries, got 2 values for 2 boundaries"),
    (jaxlr.piecewise_constant, dict(boundaries=[10], values=[1.0, -0.5]), "values must be >= 0"),
    (jaxlr.piecewise_linear, dict(steps=[0, 10], values=[1.0]),
     "steps and values must have the same length, got 2 and 1"),
    (jaxlr.piecewise_linear, dict(steps=[], values=[]), "steps must have at least 1 entries, got 0"),
    (jaxlr.piecewise_linear, dict(steps=[0, 10, 10], values=[1.0, 0.5, 0.1]), "duplicate at index 2"),
    (jaxlr.exponential_decay, dict(init_value=1.0, decay_rate=0.0), "decay_rate must be > 0, got 0.0"),
    (jaxlr.exponential_decay, dict(init_value=1.0, decay_rate=-0.9), "decay_rate must be > 0"),
    (jaxlr.exponential_decay, dict(init_value=1.0, decay_rate=0.9, decay_steps=0), "decay_steps must be > 0"),
    (jaxlr.exponential_decay, dict(init_value=1.0, decay_rate=0.9, end_value=-1.0), "end_value must be >= 0"),
    (jaxlr.inverse_time_decay, dict(init_value=1.0, decay_rate=0.0), "decay_rate must be > 0"),
    (jaxlr.inverse_time_decay, dict(init_value=1.0, decay_rate=0.5, decay_steps=-3), "decay_steps must be > 0"),
    (jaxlr.inverse_sqrt_decay, dict(init_value=1.0, warmup_steps=-1), "warmup_steps must be >= 0"),
    (jaxlr.inverse_sqrt_decay, dict(init_value=1.0, timescale=0), "timescale must be > 0"),
    (jaxlr.cosine_decay, dict(init_value=1.0, decay_steps=0), "decay_steps must be > 0, got 0"),
    (jaxlr.cosine_decay, dict(init_value=1.0, decay_steps=10, exponent=0.0), "exponent must be > 0"),
    (jaxlr.linear_warmup, dict(peak_value=1.0, warmup_steps=-10), "warmup_steps must be >= 0, got -10"),
    (jaxlr.exponential_warmup, dict(peak_value=1.0, warmup_steps=10, init_value=0.0), "init_value must be > 0"),
    (jaxlr.warmup_then, dict(schedule=0.1, warmup_steps=10), "schedule must be a schedule"),
    (jaxlr.warmup_then, dict(schedule=INNER, warmup_steps=10, shape="quadratic"),
     "shape must be one of 'linear', 'cosine', '1-sqrt', 'exponential', got 'quadratic'"),
    (jaxlr.warmup_then, dict(schedule=INNER, warmup_steps=10, shape="exponential"), "init_value must be > 0"),
    (jaxlr.warmup_cosine, dict(peak_value=1.0, warmup_steps=200, total_steps=100),
     "warmup_steps must be < total_steps, got warmup_steps=200 and total_steps=100"),
    (jaxlr.warmup_cosine, dict(peak_value=1.0, warmup_steps=0, total_steps=0), "total_steps must be > 0"),
    (jaxlr.warmup_linear, dict(peak_value=1.0, warmup_steps=100, total_steps=100),
     "warmup_steps must be < total_steps"),
    (jaxlr.warmup_exponential, dict(peak_value=1.0, warmup_steps=10, decay_rate=0.0), "decay_rate must be > 0"),
    (jaxlr.per_epoch, dict(schedule=INNER, steps_per_epoch=0), "steps_per_epoch must be > 0, got 0"),
    (jaxlr.cosine_restarts, dict(init_value=1.0, first_period=0), "first_period must be > 0, got 0"),
    (jaxlr.cosine_restarts, dict(init_value=1.0, first_period=10, period_mul=0.5), "period_mul must be >= 1, got 0.5"),
    (jaxlr.cosine_restarts, dict(init_value=1.0, first_period=10, value_mul=0.0), "value_mul must be > 0"),
    (jaxlr.cosine_restarts, dict(init_value=1.0, first_period=10, warmup_steps=11),
     "warmup_steps must be <= first_period"),
    (jaxlr.cosine_restarts, dict(init_value=1.0, first_period=10, cycles=0), "cycles must be > 0, got 0"),
    (jaxlr.cyclic, dict(base_value=0.1, max_value=1.0, step_size_up=0), "step_size_up must be > 0, got 0"),
    (jaxlr.cyclic, dict(base_value=0.1, max_value=1.0, step_size_up=5, step_size_down=-1),
     "step_size_down must be > 0"),
    (jaxlr.cyclic, dict(base_value=0.1, max_value=1.0, step_size_up=5, mode="sawtooth"),
     "mode must be one of 'triangular', 'triangular2', 'exp_range', got 'sawtooth'"),
    (jaxlr.cyclic, dict(base_value=-0.1, max_value=1.0, step_size_up=5), "base_value must be >= 0"),
    (jaxlr.one_cycle, dict(max_value=1.0, total_steps=0), "total_steps must be > 0, got 0"),
    (jaxlr.one_cycle, dict(max_value=1.0, total_steps=100, pct_start=1.0), "pct_start must be in (0, 1), got 1.0"),
    (jaxlr.one_cycle, dict(max_value=1.0, total_steps=100, anneal="exp"), "anneal must be one of 'cos', 'linear'"),
    (jaxlr.one_cycle, dict(max_value=1.0, total_steps=100, div_factor=0.0), "div_factor must be > 0"),
    (jaxlr.wsd, dict(peak_value=1.0, total_steps=100, warmup_steps=60, decay_steps=50),
     "warmup_steps + decay_steps must be <= total_steps, got warmup_steps + decay_steps=110 and total_steps=100"),
    (jaxlr.wsd, dict(peak_value=1.0, total_steps=100, warmup_steps=10, decay_steps=10, decay_shape="step"),
     "decay_shape must be one of 'linear', 'cosine', '1-sqrt', 'exponential', got 'step'"),
    (jaxlr.wsd, dict(peak_value=1.0, total_steps=100, warmup_steps=10, decay_steps=10, decay_shape="exponential"),
     "end_value must be > 0, got 0.0"),
    (jaxlr.noam, dict(d_model=0, warmup_steps=4000), "d_model must be > 0, got 0"),
    (jaxlr.noam, dict(d_model=512, warmup_steps=0), "warmup_steps must be > 0, got 0"),
    (jaxlr.rex_decay, dict(init_value=1.0, total_steps=-1), "total_steps must be > 0"),
    (jaxlr.tanh_decay, dict(init_value=1.0, decay_steps=10, lower=3.0, upper=-7.0), "lower must be <= upper"),
    (jaxlr.one_cycle_momentum, dict(total_steps=100, max_momentum=1.5), "max_momentum must be in [0, 1], got 1.5"),
    (jaxlr.one_cycle_momentum, dict(total_steps=100, base_momentum=-0.1), "base_momentum must be in [0, 1]"),
    (jaxlr.one_cycle_momentum, dict(total_steps=0), "total_steps must be > 0, got 0"),
    (jaxlr.cyclic_momentum, dict(base_momentum=0.8, max_momentum=0.9, step_size_up=0), "step_size_up must be > 0"),
    (jaxlr.cyclic_momentum, dict(base_momentum=0.8, max_momentum=2.0, step_size_up=5),
     "max_momentum must be in [0, 1], got 2.0"),
    (jaxlr.with_momentum, dict(schedule=INNER, momentum=0.9), "momentum must be a schedule"),
    (jaxlr.scale, dict(schedule=INNER, factor=-1.0), "factor must be >= 0, got -1.0"),
    (jaxlr.clip, dict(schedule=INNER), "clip needs min_value or max_value, got neither"),
    (jaxlr.clip, dict(schedule=INNER, min_value=0.5, max_value=0.1), "min_value must be <= max_value"),
    (jaxlr.multiply, dict(first=INNER, second=3.0), "second must be a schedule"),
    (jaxlr.shift, dict(schedule=INNER, steps=float("nan")), "steps must be finite, got nan"),
    (jaxlr.repeat, dict(schedule=INNER, period=0), "period must be > 0, got 0"),
    (jaxlr.cooldown, dict(schedule=INNER, total_steps=100, cooldown_steps=101),
     "cooldown_steps must be <= total_steps"),
    (jaxlr.cooldown, dict(schedule=INNER, total_steps=100, cooldown_steps=10, shape="exponential"),
     "shape must be one of 'linear', 'cosine', '1-sqrt'"),
    (jaxlr.join, dict(schedules=[INNER, INNER], boundaries=[10, 20]),
     "boundaries must have one entry fewer than schedules, got 2 boundaries for 2 schedules"),
    (jaxlr.join, dict(schedules=[INNER, INNER, INNER], boundaries=[20, 10]), "boundaries must be strictly increasing"),
    (jaxlr.join, dict(schedules=[], boundaries=[]), "schedules must be a non-empty list of schedules"),
    (jaxlr.join, dict(schedules=[INNER, "cosine"], boundaries=[10]), "schedule must be a schedule"),
    (jaxlr.from_fn, dict(fn=0.1), "fn must be a function of the step, got 0.1"),
    (jaxlr.from_fn, dict(fn=lambda t, peak: peak, peak="high"), "peak must be a number, got 'high'"),
]


@pytest.mark.parametrize(("builder", "kwargs", "message"), CASES, ids=[f"{b.__name__}-{m[:30]}" for b, _, m in CASES])
def test_bad_argument_raises_value_error_naming_it(builder, kwargs, message):
    with pytest.raises(ValueError) as info:
        builder(**kwargs)
    assert message in str(info.value)


def test_every_family_has_a_bad_argument_case():
    tested = {b.__name__ for b, _, _ in CASES}
    assert set(jaxlr.REGISTRY) - tested == set()


def test_concrete_array_arguments_are_checked_elementwise():
    with pytest.raises(ValueError, match="init_value must be >= 0"):
        jaxlr.cosine_decay(jnp.array([0.1, -0.1]), 10)


def test_traced_arguments_are_not_checked_and_do_not_fail():
    # Under jit/vmap/grad a value is not known at construction: no check, no error.
    out = jax.vmap(lambda d: jaxlr.cosine_decay(1.0, d)(5))(jnp.array([10.0, 20.0]))
    assert out.shape == (2,)
    assert jax.jit(lambda w: jaxlr.warmup_cosine(1.0, w, 100)(3))(10) == pytest.approx(0.3)


SCALAR_RULES = [
    lambda v: True,
    lambda v: v > 0,
    lambda v: v >= 0,
    lambda v: (v > 0) & (v < 1),
    lambda v: v >= 1,
    lambda v: (v == 1) | ((v > 1) & (_base._computed(v) > 1)),  # cosine_restarts' period_mul
    lambda v: v == np.round(v),
]
EDGE_SCALARS = [0, -0.0, 1, -1, 2**53, 2**53 + 1, -(2**53) - 1, 10**400, 1e-45, 1e-40, 1.2e-38, 1.17549435e-38,
                3.4028234e38, 3.4028236e38, 1e308, float("inf"), float("-inf"), float("nan"), 1.0000000596, 1.00000006,
                0.5, 0.9999999999, 1.0000001, 1e-300, 5e-324]


@settings(max_examples=examples(300))
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**60), 2**60),
                       st.sampled_from(EDGE_SCALARS)),
       rule=st.sampled_from(range(len(SCALAR_RULES))), x64=st.booleans())
def test_the_scalar_fast_path_accepts_exactly_what_the_array_path_accepts(value, rule, x64):
    # check() decides a Python int or float with scalars; every value it lets through must be
    # one the array path accepts, and every value it refuses goes to the array path, whose
    # error is the one raised. Both precisions (the rules read float32 or float64 limits).
    ok = SCALAR_RULES[rule]
    with jax.enable_x64(x64):
        try:
            _base.check("x", np.asarray(value) if abs(value) < 2**63 else value, "the rule", ok)
            accepted = True
        except (ValueError, OverflowError):
            accepted = False
        if _base._passes(value, ok):
            assert accepted, value
        if accepted and isinstance(value, int | float):
            _base.check("x", value, "the rule", ok)  # the scalar path accepts it too
        elif isinstance(value, int | float):
            with pytest.raises((ValueError, OverflowError)):
                _base.check("x", value, "the rule", ok)
