"""Parity with keras.optimizers.schedules (Keras 3, JAX backend)."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import jaxlr
from tests.peers import assert_parity, keras_lrs

N = 3000


@pytest.mark.parametrize(
    ("decay_steps", "rate", "staircase"), [(100, 0.96, False), (100, 0.5, True), (7, 0.9, False)]
)
def test_exponential_decay(decay_steps, rate, staircase):
    theirs = keras_lrs("ExponentialDecay", 0.1, decay_steps, rate, staircase=staircase, steps=N)
    assert_parity(jaxlr.exponential_decay(0.1, rate, decay_steps, staircase)(jnp.arange(N)), theirs)


@pytest.mark.parametrize(
    ("boundaries", "values"), [([100, 1000], [1.0, 0.5, 0.1]), ([0, 1, 2999], [0.4, 0.3, 0.2, 0.1])]
)
def test_piecewise_constant_decay_needs_inclusive(boundaries, values):
    theirs = keras_lrs("PiecewiseConstantDecay", boundaries, values, steps=N)
    assert_parity(jaxlr.piecewise_constant(boundaries, values, inclusive=True)(jnp.arange(N)), theirs)


@pytest.mark.parametrize(
    ("decay_steps", "end", "power", "cycle"),
    [(1000, 1e-4, 1.0, False), (500, 0.01, 2.0, False), (300, 1e-4, 0.5, True), (100, 0.0, 1.0, True)],
)
def test_polynomial_decay(decay_steps, end, power, cycle):
    theirs = keras_lrs("PolynomialDecay", 0.1, decay_steps, end, power, cycle, steps=N)
    assert_parity(jaxlr.polynomial(0.1, end, decay_steps, power, cycle=cycle)(jnp.arange(N)), theirs)


@pytest.mark.parametrize(("decay_steps", "rate", "staircase"), [(100, 0.5, False), (10, 2.0, True), (1, 0.01, False)])
def test_inverse_time_decay(decay_steps, rate, staircase):
    theirs = keras_lrs("InverseTimeDecay", 0.1, decay_steps, rate, staircase, steps=N)
    assert_parity(jaxlr.inverse_time_decay(0.1, rate, decay_steps, staircase)(jnp.arange(N)), theirs)


@pytest.mark.parametrize(("decay_steps", "alpha"), [(1000, 0.0), (2000, 0.1), (100, 0.5)])
def test_cosine_decay(decay_steps, alpha):
    theirs = keras_lrs("CosineDecay", 0.1, decay_steps, alpha, steps=N)
    assert_parity(jaxlr.cosine_decay(0.1, decay_steps, end_value=alpha * 0.1)(jnp.arange(N)), theirs)


@pytest.mark.parametrize(("warmup", "decay_steps", "alpha"), [(100, 1000, 0.0), (500, 1500, 0.1)])
def test_cosine_decay_with_warmup_is_warmup_then(warmup, decay_steps, alpha):
    n = 2200
    theirs = keras_lrs(
        "CosineDecay", 0.0, decay_steps, alpha, warmup_target=0.1, warmup_steps=warmup, steps=n
    )
    ours = jaxlr.warmup_then(jaxlr.cosine_decay(0.1, decay_steps, end_value=alpha * 0.1), warmup)
    assert_parity(ours(jnp.arange(n)), theirs)


@pytest.mark.parametrize(
    ("first", "t_mul", "m_mul", "alpha"),
    [(100, 2.0, 1.0, 0.0), (100, 1.0, 0.5, 0.0), (50, 1.5, 0.8, 0.1), (300, 2.0, 0.9, 0.05)],
)
def test_cosine_decay_restarts(first, t_mul, m_mul, alpha):
    theirs = keras_lrs("CosineDecayRestarts", 0.1, first, t_mul, m_mul, alpha, steps=N)
    ours = jaxlr.cosine_restarts(0.1, first, t_mul, m_mul, end_value=alpha * 0.1)
    assert_parity(ours(jnp.arange(N)), theirs)
