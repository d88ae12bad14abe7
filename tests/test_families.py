"""Exact values: first steps, every boundary and one step either side, far past the end.

Expected numbers are worked out by hand from each formula (shown beside them)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxlr

FAR = 2**31 - 1


def values(schedule, steps):
    return [float(schedule(t)) for t in steps]


def check(schedule, expected: dict[int, float], rel=1e-6, abs=1e-9):
    got = values(schedule, list(expected))
    assert got == pytest.approx(list(expected.values()), rel=rel, abs=abs), repr(schedule)


def test_constant():
    check(jaxlr.constant(0.25), {0: 0.25, 1: 0.25, FAR: 0.25})
    assert jaxlr.constant(1)(3).dtype == jnp.float32


def test_linear_ramps_down_and_up_and_holds():
    check(jaxlr.linear(1.0, 0.0, transition_steps=4), {0: 1.0, 1: 0.75, 3: 0.25, 4: 0.0, 5: 0.0, FAR: 0.0})
    # transition_begin holds init_value first; a ramp up is allowed.
    check(jaxlr.linear(0.1, 0.9, 8, transition_begin=2),
          {0: 0.1, 2: 0.1, 3: 0.2, 6: 0.5, 10: 0.9, 11: 0.9, FAR: 0.9})
    assert float(jaxlr.linear(0.1, 0.9, 8)(0)) == np.float32(0.1)  # exact, unlike (a-b)*1+b


def test_polynomial():
    s = jaxlr.polynomial(1.0, 0.1, transition_steps=10, power=2.0)
    # 0.9 * (1 - t/10)**2 + 0.1
    check(s, {0: 1.0, 1: 0.829, 5: 0.325, 9: 0.109, 10: 0.1, 11: 0.1, FAR: 0.1})
    # power < 1 reaches end_value exactly at the end (no sqrt(2**-24) leftover).
    assert float(jaxlr.polynomial(1.0, 0.0, 61, power=0.5)(61)) == 0.0


def test_polynomial_cycle_follows_keras():
    s = jaxlr.polynomial(1.0, 0.0, transition_steps=10, cycle=True)
    # length = 10 * ceil(t / 10) (10 at t = 0): 1 - t / length
    check(s, {0: 1.0, 5: 0.5, 10: 0.0, 11: 1 - 11 / 20, 20: 0.0, 21: 1 - 21 / 30, 30: 0.0})
    # integer phase at huge steps: t = 2**30 + 5 -> length = 10 * ceil(t / 10)
    t = 2**30 + 5
    length = 10 * math.ceil(t / 10)
    check(s, {t: 1 - t / length}, rel=1e-4)


def test_step_decay():
    s = jaxlr.step_decay(1.0, step_size=10, gamma=0.5)
    check(s, {0: 1.0, 9: 1.0, 10: 0.5, 11: 0.5, 19: 0.5, 20: 0.25, 21: 0.25, FAR: 0.0})
    # floor at a multiple beyond float32's integers is exact
    big = jaxlr.step_decay(1.0, step_size=16_777_217, gamma=0.5)
    check(big, {16_777_216: 1.0, 16_777_217: 0.5})


def test_multistep_decay():
    s = jaxlr.multistep_decay(2.0, milestones=[3, 7], gamma=0.1)
    check(s, {0: 2.0, 2: 2.0, 3: 0.2, 4: 0.2, 6: 0.2, 7: 0.02, 8: 0.02, FAR: 0.02})
    check(jaxlr.multistep_decay(1.0, milestones=[0]), {0: 0.1, 5: 0.1})
    check(jaxlr.multistep_decay(1.0, milestones=[]), {0: 1.0, FAR: 1.0})


def test_piecewise_constant_and_keras_inclusive_boundary():
    s = jaxlr.piecewise_constant([10, 20], [1.0, 0.5, 0.25])
    check(s, {0: 1.0, 9: 1.0, 10: 0.5, 11: 0.5, 19: 0.5, 20: 0.25, 21: 0.25, FAR: 0.25})
    k = jaxlr.piecewise_constant([10, 20], [1.0, 0.5, 0.25], inclusive=True)
    check(k, {9: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.25})
    check(jaxlr.piecewise_constant([], [0.3]), {0: 0.3, FAR: 0.3})
    # large boundaries switch exactly, integer against integer
    big = jaxlr.piecewise_constant([2**30 + 1], [1.0, 0.5])
    check(big, {2**30: 1.0, 2**30 + 1: 0.5})


def test_piecewise_linear():
    s = jaxlr.piecewise_linear([10, 20, 40], [0.0, 1.0, 0.5])
    check(s, {0: 0.0, 9: 0.0, 10: 0.0, 11: 0.1, 15: 0.5, 19: 0.9, 20: 1.0, 21: 0.975, 30: 0.75,
              39: 0.525, 40: 0.5, 41: 0.5, FAR: 0.5})
    check(jaxlr.piecewise_linear([5], [0.7]), {0: 0.7, 5: 0.7, FAR: 0.7})


def test_exponential_decay():
    s = jaxlr.exponential_decay(1.0, decay_rate=0.5, decay_steps=10)
    check(s, {0: 1.0, 1: 0.5**0.1, 10: 0.5, 15: 0.5**1.5, 20: 0.25, FAR: 0.0})
    stair = jaxlr.exponential_decay(1.0, 0.5, 10, staircase=True)
    check(stair, {9: 1.0, 10: 0.5, 19: 0.5, 20: 0.25})
    begin = jaxlr.exponential_decay(1.0, 0.5, 10, transition_begin=5, end_value=0.3)
    check(begin, {0: 1.0, 5: 1.0, 15: 0.5, 25: 0.3, FAR: 0.3})
    # torch ExponentialLR(gamma=0.999): per step; float64-accurate log of the rate
    check(jaxlr.exponential_decay(1.0, 0.999), {20_000: 0.999**20_000}, rel=2e-6)


def test_exponential_growth_saturates_instead_of_inf():
    s = jaxlr.exponential_decay(1e-5, decay_rate=2.0)
    check(s, {0: 1e-5, 10: 1e-5 * 1024})
    # near the float32 range, exp(78.6) carries the argument's rounding: |78.6| * 6e-8
    check(s, {130: 1e-5 * 2.0**130}, rel=78.6 * 6e-8)
    assert float(s(FAR)) == float(np.finfo(np.float32).max)
    capped = jaxlr.exponential_decay(1e-5, decay_rate=2.0, end_value=1.0)
    check(capped, {10: 1e-5 * 1024, 17: 1.0, FAR: 1.0})


def test_inverse_time_decay():
    s = jaxlr.inverse_time_decay(1.0, decay_rate=0.5, decay_steps=10)
    check(s, {0: 1.0, 10: 1 / 1.5, 20: 0.5, 5: 1 / 1.25})
    stair = jaxlr.inverse_time_decay(1.0, 0.5, 10, staircase=True)
    check(stair, {9: 1.0, 10: 1 / 1.5, 19: 1 / 1.5, 20: 0.5})
    assert 0 < float(s(FAR)) < 1e-8


def test_inverse_sqrt_decay():
    s = jaxlr.inverse_sqrt_decay(1.0, warmup_steps=100)
    check(s, {0: 0.0, 1: 0.01, 99: 0.99, 100: 1.0, 101: math.sqrt(100 / 101), 400: 0.5})
    # no warmup: timescale 10,000 (Hugging Face's default)
    check(jaxlr.inverse_sqrt_decay(1.0), {0: 1.0, 30_000: 0.5})
    check(jaxlr.inverse_sqrt_decay(1.0, warmup_steps=10, timescale=20),
          {10: 1.0, 70: 1 / math.sqrt(80 / 20)})
    assert 0 < float(s(FAR)) < 1e-3


def test_cosine_decay_clamped_and_periodic():
    s = jaxlr.cosine_decay(1.0, decay_steps=100, end_value=0.1)
    cos = lambda t: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t / 100))  # noqa: E731
    check(s, {0: 1.0, 1: cos(1), 50: 0.55, 99: cos(99), 100: 0.1, 101: 0.1, FAR: 0.1})
    p = jaxlr.cosine_decay(1.0, decay_steps=100, end_value=0.1, periodic=True)
    check(p, {100: 0.1, 101: cos(101), 150: 0.55, 200: 1.0, 201: cos(1)})
    # the phase at 2**31 - 1 is exact: (2**31 - 1) mod 200 = 47
    check(p, {FAR: cos(47)})
    e = jaxlr.cosine_decay(1.0, 100, exponent=2.0)
    check(e, {50: 0.25, 100: 0.0})


def test_linear_and_exponential_warmup():
    check(jaxlr.linear_warmup(1.0, 4), {0: 0.0, 1: 0.25, 3: 0.75, 4: 1.0, 5: 1.0, FAR: 1.0})
    check(jaxlr.linear_warmup(1.0, 4, init_value=0.2), {0: 0.2, 2: 0.6, 4: 1.0})
    check(jaxlr.linear_warmup(1.0, 0), {0: 1.0, FAR: 1.0})
    check(jaxlr.exponential_warmup(1.0, 4, init_value=1e-4), {0: 1e-4, 1: 1e-3, 2: 1e-2, 4: 1.0, 5: 1.0})


def test_warmup_then_shapes():
    inner = jaxlr.step_decay(1.0, step_size=10, gamma=0.5)
    lin = jaxlr.warmup_then(inner, 4)
    check(lin, {0: 0.0, 2: 0.5, 3: 0.75, 4: 1.0, 13: 1.0, 14: 0.5, FAR: 0.0})
    cos = jaxlr.warmup_then(inner, 4, init_value=0.2, shape="cosine")
    check(cos, {0: 0.2, 1: 0.2 + 0.8 * (1 - math.cos(math.pi / 4)) / 2, 2: 0.6, 4: 1.0})
    sq = jaxlr.warmup_then(inner, 4, shape="1-sqrt")
    check(sq, {1: 1 - math.sqrt(0.75), 2: 1 - math.sqrt(0.5), 4: 1.0})
    ex = jaxlr.warmup_then(inner, 2, init_value=0.01, shape="exponential")
    check(ex, {0: 0.01, 1: 0.1, 2: 1.0})


def test_warmup_cosine():
    s = jaxlr.warmup_cosine(1.0, warmup_steps=10, total_steps=110, init_value=0.1, end_value=0.01)
    cos = lambda t: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (t - 10) / 100))  # noqa: E731
    check(s, {0: 0.1, 1: 0.19, 9: 0.91, 10: 1.0, 11: cos(11), 60: cos(60), 109: cos(109), 110: 0.01,
              111: 0.01, FAR: 0.01})
    check(jaxlr.warmup_cosine(1.0, 0, 100), {0: 1.0, 50: 0.5, 100: 0.0})
    # A warmup as long as the run never reaches its peak: refused, as optax refuses it.
    with pytest.raises(ValueError, match="warmup_steps must be < total_steps"):
        jaxlr.warmup_cosine(1.0, 10, 10)
    with pytest.raises(ValueError, match="warmup_steps must be < total_steps"):
        jaxlr.warmup_linear(1.0, 10, 10)


def test_warmup_linear():
    s = jaxlr.warmup_linear(1.0, warmup_steps=10, total_steps=110)
    check(s, {0: 0.0, 1: 0.1, 9: 0.9, 10: 1.0, 11: 0.99, 60: 0.5, 109: 0.01, 110: 0.0, FAR: 0.0})
    check(jaxlr.warmup_linear(1.0, 10, 110, init_value=0.1, end_value=0.2), {0: 0.1, 60: 0.6, 110: 0.2})


def test_warmup_exponential():
    s = jaxlr.warmup_exponential(1.0, 10, decay_rate=0.5, decay_steps=10, init_value=0.1, end_value=0.2)
    check(s, {0: 0.1, 5: 0.55, 10: 1.0, 15: 0.5**0.5, 20: 0.5, 40: 0.2, FAR: 0.2})


def test_per_epoch():
    s = jaxlr.per_epoch(jaxlr.step_decay(1.0, step_size=2, gamma=0.5), steps_per_epoch=100)
    check(s, {0: 1.0, 199: 1.0, 200: 0.5, 399: 0.5, 400: 0.25})
    smooth = jaxlr.per_epoch(jaxlr.exponential_decay(1.0, 0.5), steps_per_epoch=100, staircase=False)
    check(smooth, {50: 0.5**0.5, 100: 0.5})


def test_array_of_steps_and_jit():
    import jax

    s = jaxlr.warmup_cosine(1.0, 10, 110)
    steps = jnp.arange(-3, 200).reshape(7, 29)
    out = s(steps)
    assert out.shape == (7, 29) and out.dtype == jnp.float32
    assert float(out[0, 0]) == 0.0  # step -3 is step 0
    np.testing.assert_allclose(np.asarray(jax.jit(s)(steps)), np.asarray(out), rtol=1e-6)


def test_step_must_be_numeric():
    with pytest.raises(TypeError, match="step"):
        jaxlr.constant(0.1)(jnp.array([True]))


@pytest.mark.parametrize("offset", [0, 1, 5, 19, 123, 2**20 + 7])
def test_cycles_near_2_30_have_the_exact_phase(offset):
    # float32 steps lose integers above 2**24; the position in the cycle is taken in integers.
    t = 2**30 + offset
    tri = jaxlr.cyclic(0.1, 1.0, step_size_up=7, step_size_down=13)
    position = t % 20
    ramp = position / 7 if position <= 7 else (20 - position) / 13
    check(tri, {t: 0.1 + 0.9 * ramp})
    sgdr = jaxlr.cosine_restarts(1.0, first_period=37, end_value=0.1)
    check(sgdr, {t: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (t % 37) / 37))})
    geometric = jaxlr.cosine_restarts(1.0, first_period=10, period_mul=2.0)
    start, length = 0, 10
    while t >= start + length:
        start, length = start + length, 2 * length
    # growing periods: float32 position, right to about 1e-7 of a 2**29-step cycle
    check(geometric, {t: 0.5 * (1 + math.cos(math.pi * (t - start) / length))}, rel=1e-6, abs=1e-6)


def test_shift_by_a_negative_count_advances_and_stops_at_the_largest_step():
    inner = jaxlr.cosine_decay(1.0, 10, periodic=True)
    ahead = jaxlr.shift(inner, -3)
    np.testing.assert_allclose(ahead(jnp.arange(25)), inner(jnp.arange(3, 28)), rtol=1e-6)
    top = 2**31 - 1
    assert float(ahead(top)) == float(inner(top))  # top + 3 is no int32 step: it stops at the top
    assert float(ahead(top - 3)) == float(inner(top))
    assert float(ahead(float(top - 10))) == pytest.approx(float(inner(float(top - 7))), abs=1e-6)


def test_momentum_families_by_hand():
    m = jaxlr.one_cycle_momentum(total_steps=21, pct_start=0.5, anneal="linear")  # phases end at 9.5 and 20
    np.testing.assert_allclose(m(jnp.array([0, 5, 19, 20, 50])),
                               [0.95, 0.95 - 0.1 * 5 / 9.5, 0.95 - 0.1 * 1 / 10.5, 0.95, 0.95], rtol=1e-6)
    three = jaxlr.one_cycle_momentum(21, 0.8, 0.9, pct_start=0.25, three_phase=True)  # 4.25, 8.5, 20
    np.testing.assert_allclose(three(jnp.array([0, 4.25, 8.5, 12, 20])), [0.9, 0.8, 0.9, 0.9, 0.9], rtol=1e-6)
    c = jaxlr.cyclic_momentum(0.8, 0.9, step_size_up=2, step_size_down=4, mode="exp_range", gamma=0.5)
    np.testing.assert_allclose(c(jnp.array([0, 1, 2, 4, 6])),
                               [0.9, 0.9 - 0.1 * 0.5 * 0.5, 0.9 - 0.1 * 0.25, 0.9 - 0.1 * 0.5 * 0.5**4, 0.9],
                               rtol=1e-6)
