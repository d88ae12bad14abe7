"""Parity with optax's own schedules, and composition with optax.join_schedules."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxlr
from jaxlr.compat import optax as compat_optax
from tests.peers import assert_parity, optax_lrs
from tests.profiles import examples

N = 3000
STEPS = jnp.arange(N)


@pytest.mark.parametrize(
    ("init", "end", "steps", "begin"), [(0.1, 0.0, 1000, 0), (0.0, 0.1, 100, 50), (0.1, 0.01, 1, 3)]
)
def test_linear_schedule(init, end, steps, begin):
    theirs = optax_lrs(optax.linear_schedule(init, end, steps, begin), N)
    assert_parity(jaxlr.linear(init, end, steps, begin)(STEPS), theirs)


@pytest.mark.parametrize(("power", "steps", "begin"), [(2.0, 1000, 0), (0.5, 2000, 100), (3.0, 10, 5)])
def test_polynomial_schedule(power, steps, begin):
    theirs = optax_lrs(optax.polynomial_schedule(0.1, 1e-3, power, steps, begin), N)
    assert_parity(jaxlr.polynomial(0.1, 1e-3, steps, power, begin)(STEPS), theirs)


@pytest.mark.parametrize(
    ("steps", "rate", "begin", "staircase", "end"),
    [(100, 0.5, 0, False, None), (10, 0.9, 20, True, 1e-3), (1, 0.999, 0, False, None), (50, 1.5, 0, False, 10.0)],
)
def test_exponential_decay(steps, rate, begin, staircase, end):
    theirs = optax_lrs(optax.exponential_decay(0.1, steps, rate, begin, staircase, end), N)
    ours = jaxlr.exponential_decay(0.1, rate, steps, staircase, begin, end)(STEPS)
    assert_parity(ours, theirs)


@pytest.mark.parametrize(("steps", "alpha", "exponent"), [(1000, 0.0, 1.0), (2000, 0.1, 2.0), (500, 0.01, 0.5)])
def test_cosine_decay_schedule(steps, alpha, exponent):
    theirs = optax_lrs(optax.cosine_decay_schedule(0.1, steps, alpha, exponent), N)
    assert_parity(jaxlr.cosine_decay(0.1, steps, alpha * 0.1, exponent)(STEPS), theirs)


@pytest.mark.parametrize(("init", "warmup", "total", "end"), [(0.0, 100, 1000, 0.0), (1e-4, 500, 3000, 1e-5)])
def test_warmup_cosine_decay_schedule(init, warmup, total, end):
    theirs = optax_lrs(optax.warmup_cosine_decay_schedule(init, 0.1, warmup, total, end), N)
    assert_parity(jaxlr.warmup_cosine(0.1, warmup, total, init, end)(STEPS), theirs)


@pytest.mark.parametrize(("warmup", "steps", "rate", "staircase"), [(100, 200, 0.5, False), (10, 7, 0.9, True)])
def test_warmup_exponential_decay_schedule(warmup, steps, rate, staircase):
    theirs = optax_lrs(optax.warmup_exponential_decay_schedule(0.0, 0.1, warmup, steps, rate, staircase=staircase), N)
    ours = jaxlr.warmup_exponential(0.1, warmup, rate, steps, staircase=staircase)(STEPS)
    assert_parity(ours, theirs)


def test_piecewise_linear_matches_optax_interpolation_of_scales():
    theirs = optax_lrs(optax.piecewise_interpolate_schedule("linear", 0.1, {100: 2.0, 500: 0.25, 2000: 0.1}), N)
    ours = jaxlr.piecewise_linear([0, 100, 500, 2000], [0.1, 0.2, 0.05, 0.005])(STEPS)
    assert_parity(ours, theirs)


def test_piecewise_constant_matches_optax_scales():
    theirs = optax_lrs(optax.piecewise_constant_schedule(0.1, {100: 0.5, 1000: 0.1}), N)
    assert_parity(jaxlr.piecewise_constant([100, 1000], [0.1, 0.05, 0.005])(STEPS), theirs)


@pytest.mark.parametrize("shape", ["linear"])
def test_warmup_then_equals_optax_join_schedules(shape):
    decay = jaxlr.cosine_decay(0.1, 1000, end_value=1e-3)
    joined = optax.join_schedules([jaxlr.linear_warmup(0.1, 200), decay], [200])
    assert_parity(jaxlr.warmup_then(decay, 200, shape=shape)(STEPS), optax_lrs(joined, N))


def test_jaxlr_schedules_compose_inside_optax_join_schedules():
    joined = optax.join_schedules(
        [jaxlr.linear_warmup(1e-3, 100), jaxlr.cosine_decay(1e-3, 900), jaxlr.constant(1e-5)], [100, 1000]
    )
    values = np.asarray(joined(STEPS))
    assert values[0] == 0 and values[100] == pytest.approx(1e-3) and values[1000] == pytest.approx(1e-5)
    assert_parity(values[:1000], jaxlr.warmup_cosine(1e-3, 100, 1000)(STEPS[:1000]))


def test_sgdr_schedule_is_a_join_of_warmup_cosines():
    kwargs = [dict(init_value=0.0, peak_value=0.1, warmup_steps=50, decay_steps=500, end_value=1e-4),
              dict(init_value=1e-4, peak_value=0.05, warmup_steps=20, decay_steps=1000, end_value=1e-5),
              dict(init_value=1e-5, peak_value=0.02, warmup_steps=10, decay_steps=1500, end_value=0.0)]
    theirs = optax_lrs(optax.sgdr_schedule(kwargs), N)
    pieces = [jaxlr.warmup_cosine(k["peak_value"], k["warmup_steps"], k["decay_steps"], k["init_value"],
                                  k["end_value"]) for k in kwargs]
    ours = jaxlr.join(pieces, list(np.cumsum([k["decay_steps"] for k in kwargs])[:-1]))
    assert_parity(ours(STEPS), theirs)


@pytest.mark.parametrize(("total", "pct"), [(1000, 0.3), (2999, 0.25)])
def test_cosine_onecycle_differs_from_torch_by_one_step_and_has_a_recipe(total, pct):
    theirs = optax_lrs(optax.cosine_onecycle_schedule(total, 0.1, pct, 25.0, 1e4), N)
    peak_step = int(pct * total)
    initial, minimum = 0.1 / 25.0, 0.1 / 25.0 / 1e4
    recipe = jaxlr.join([jaxlr.cosine_decay(initial, peak_step, end_value=0.1),
                         jaxlr.cosine_decay(0.1, total - peak_step, end_value=minimum)], [peak_step])
    assert_parity(recipe(STEPS), theirs)
    # jaxlr.one_cycle follows torch: the peak comes one step earlier than optax's
    torch_like = jaxlr.one_cycle(0.1, total, pct)
    assert float(torch_like(pct * total - 1)) == pytest.approx(0.1)
    assert float(theirs[peak_step]) == pytest.approx(0.1) and theirs[peak_step - 1] < 0.1


# --- issue 17: optax's schedules without a jaxlr family, by their optax names ---------------


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize(
    "scales",
    [{100: 2.0, 500: 0.25, 2000: 0.1}, {0: 3.0, 1: 0.5, 2999: 0.0}, {}, {700: 1.0}, {10: 10.0, 11: 0.01, 50: 5.0}],
    ids=str,
)
def test_piecewise_interpolate_schedule(kind, scales):
    theirs = optax_lrs(optax.piecewise_interpolate_schedule(kind, 0.1, scales), N)
    ours = compat_optax.piecewise_interpolate_schedule(kind, 0.1, scales)
    assert_parity(ours(STEPS), theirs)
    if kind == "linear" and scales:  # the same as piecewise_linear through the products
        knots = [0, *sorted(scales)]
        values = np.cumprod([0.1] + [scales[k] for k in sorted(scales)])
        if knots[1] > 0:
            assert_parity(jaxlr.piecewise_linear(knots, list(values))(STEPS), theirs)


@settings(max_examples=examples(40))
@given(kind=st.sampled_from(["linear", "cosine"]),
       scales=st.dictionaries(st.integers(0, 2500), st.just(0.0) | st.floats(0.05, 20.0), max_size=6))
def test_unseen_piecewise_interpolations(kind, scales):
    theirs = optax_lrs(optax.piecewise_interpolate_schedule(kind, 0.1, scales), N)
    ours = compat_optax.piecewise_interpolate_schedule(kind, 0.1, scales)
    assert_parity(ours(STEPS), theirs, scale=max(1e-30, float(np.max(np.abs(theirs)))))


@pytest.mark.parametrize(
    ("total", "pct_start", "pct_final", "div", "final_div"),
    [(1000, 0.3, 0.85, 25.0, 1e4), (2999, 0.25, 0.5, 10.0, 100.0), (100, 0.1, 0.95, 5.0, 1e3),
     (500, 0.4, 0.4, 25.0, 1e4)],
)
def test_linear_onecycle_schedule_with_pct_final(total, pct_start, pct_final, div, final_div):
    theirs = optax_lrs(optax.linear_onecycle_schedule(total, 0.1, pct_start, pct_final, div, final_div), N)
    ours = compat_optax.linear_onecycle_schedule(total, 0.1, pct_start, pct_final, div, final_div)
    assert_parity(ours(STEPS), theirs)


@settings(max_examples=examples(30))
@given(total=st.integers(1, 2900), pct_start=st.floats(0.0, 1.0), pct_final=st.floats(0.0, 1.0),
       div=st.floats(1.0, 100.0), final_div=st.floats(1.0, 1e4))
def test_unseen_onecycle_configurations(total, pct_start, pct_final, div, final_div):
    theirs = optax_lrs(optax.linear_onecycle_schedule(total, 0.1, pct_start, pct_final, div, final_div), N)
    ours = compat_optax.linear_onecycle_schedule(total, 0.1, pct_start, pct_final, div, final_div)
    assert_parity(ours(STEPS), theirs)
    theirs = optax_lrs(optax.cosine_onecycle_schedule(total, 0.1, pct_start, div, final_div), N)
    assert_parity(compat_optax.cosine_onecycle_schedule(total, 0.1, pct_start, div, final_div)(STEPS), theirs)


@pytest.mark.parametrize(
    ("init", "warmup", "steps", "rate", "begin", "staircase", "end"),
    [(0.0, 100, 200, 0.5, 300, False, None), (1e-3, 10, 7, 0.9, 25, True, 1e-3), (0.0, 0, 50, 0.7, 100, False, None),
     (0.01, 500, 100, 1.2, 1000, False, 0.5)],
)
def test_warmup_exponential_decay_with_transition_begin(init, warmup, steps, rate, begin, staircase, end):
    peer = optax.warmup_exponential_decay_schedule(init, 0.1, warmup, steps, rate, begin, staircase, end)
    theirs = optax_lrs(peer, N)
    ours = compat_optax.warmup_exponential_decay_schedule(init, 0.1, warmup, steps, rate, begin, staircase, end)
    assert_parity(ours(STEPS), theirs)
    recipe = jaxlr.warmup_then(jaxlr.exponential_decay(0.1, rate, steps, staircase, begin, end), warmup, init)
    assert ours == recipe


@pytest.mark.parametrize(
    ("build", "message"),
    [(lambda: compat_optax.piecewise_interpolate_schedule("cubic", 0.1, {}), "interpolate_type must be one of"),
     (lambda: compat_optax.piecewise_interpolate_schedule("linear", 0.1, {10: -0.5}),
      "boundaries_and_scales must be >= 0, got -0.5"),
     (lambda: compat_optax.linear_onecycle_schedule(0, 0.1), "transition_steps must be > 0, got 0"),
     (lambda: compat_optax.warmup_exponential_decay_schedule(0.0, 0.1, 10, 0, 0.5), "transition_steps must be > 0"),
     (lambda: compat_optax.warmup_exponential_decay_schedule(0.0, 0.1, 10, 5, 0.5, transition_begin=-1),
      "transition_begin must be >= 0, got -1")],
)
def test_optax_names_raise_naming_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()
