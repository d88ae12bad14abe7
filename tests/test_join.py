"""join: optax.join_schedules' semantics at O(log K) cost, with finite gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlr


def cosine_pieces(k):
    return [jaxlr.cosine_decay(1e-3 * (1 + i % 7), 50 + i % 13, end_value=1e-5) for i in range(k)]


def test_matches_optax_join_schedules_every_step():
    pieces = cosine_pieces(40)
    boundaries = list(np.cumsum([60 + i % 11 for i in range(39)]))
    steps = jnp.arange(int(boundaries[-1]) + 200)
    ours = jaxlr.join(pieces, boundaries)(steps)
    theirs = optax.join_schedules(pieces, boundaries)(steps)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-6, atol=1e-12)


def test_mixed_families_and_plain_functions():
    s = jaxlr.join([jaxlr.linear_warmup(1.0, 10), lambda t: 0.5 * jnp.ones_like(t, jnp.float32),
                    jaxlr.exponential_decay(0.5, 0.5, 10)], [10, 20])
    assert [round(float(s(t)), 6) for t in (0, 5, 10, 15, 20, 30)] == [0.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert isinstance(s.schedules[1], jaxlr.from_fn)


def test_grad_is_finite_where_an_unselected_piece_is_nan():
    # The example: optax's gradient is NaN at step 3 (rsqrt of 3 - 10 < 0).
    def ours(lr, step):
        return jaxlr.join([jaxlr.constant(lr), lambda c: lr * jax.lax.rsqrt(c * 1.0)], [10])(step)

    def theirs(lr, step):
        return optax.join_schedules([optax.constant_schedule(lr), lambda c: lr * jax.lax.rsqrt(c * 1.0)], [10])(step)

    assert np.isnan(jax.grad(theirs)(0.1, 3))
    assert float(jax.jit(jax.grad(ours))(0.1, 3)) == 1.0
    assert float(jax.jit(jax.grad(ours))(0.1, 14)) == pytest.approx(0.5)  # rsqrt(4) in the second piece


def test_program_size_does_not_grow_with_the_number_of_pieces():
    sizes = {}
    for k in (2, 100, 10_000):
        schedule = jaxlr.join(cosine_pieces(k), list(range(100, 100 * k, 100)))
        sizes[k] = len(jax.make_jaxpr(lambda s, t: s(t))(schedule, 5).eqns)
        assert len(jax.tree_util.tree_leaves(schedule)) <= 8  # stacked, not 10,000 leaves
    assert sizes[100] == sizes[10_000], sizes
    big = jaxlr.join(cosine_pieces(10_000), list(range(100, 1_000_000, 100)))
    step = 100 * 7_777 + 40
    piece = cosine_pieces(10_000)[7_777]
    assert float(big(step)) == pytest.approx(float(piece(40)), rel=1e-6)


def test_piecewise_constant_program_does_not_grow_either():
    sizes = [
        len(jax.make_jaxpr(jaxlr.piecewise_constant(list(range(1, k)), [1.0] * k))(5).eqns) for k in (100, 10_000)
    ]
    assert sizes[0] == sizes[1]


def test_vmap_and_grad_over_boundaries():
    def value(boundary, step):
        return jaxlr.join([jaxlr.constant(1.0), jaxlr.linear(1.0, 0.0, 100)], [boundary])(step)

    out = jax.vmap(value, in_axes=(0, None))(jnp.array([10.0, 50.0]), 60)
    np.testing.assert_allclose(np.asarray(out), [0.5, 0.9], rtol=1e-6)
    # d/d boundary of (1 - (t - b)/100) is 1/100 inside the second piece
    assert float(jax.grad(value)(10.0, 60)) == pytest.approx(0.01)


def test_large_steps_stay_exact_through_join():
    s = jaxlr.join([jaxlr.constant(1.0), jaxlr.repeat(jaxlr.linear(1.0, 0.0, 10), 10)], [7])
    assert float(s(2**30 + 8)) == pytest.approx(0.5)  # (2**30 + 8 - 7) mod 10 = 5
