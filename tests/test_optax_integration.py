"""jaxlr inside optax: every optimizer, parameter groups, and switching optimizers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlr

SCHEDULE = jaxlr.warmup_cosine(0.05, warmup_steps=3, total_steps=20, init_value=0.01)
OPTIMIZERS = {
    "sgd_momentum": lambda learning_rate: optax.sgd(learning_rate, momentum=0.9),
    "adam": lambda learning_rate: optax.adam(learning_rate),
    "adamw": lambda learning_rate: optax.adamw(learning_rate, weight_decay=1e-2),
    "rmsprop": lambda learning_rate: optax.rmsprop(learning_rate),
    "adagrad": lambda learning_rate: optax.adagrad(learning_rate),
    "lion": lambda learning_rate: optax.lion(learning_rate),
    "radam": lambda learning_rate: optax.radam(learning_rate),
    "ranger": lambda learning_rate: optax.lookahead(optax.radam(learning_rate), sync_period=3, slow_step_size=0.5),
}


def grads_at(step):
    return {"w": jnp.array([0.3, -1.2, 0.7]) * (1 + 0.1 * step), "b": jnp.array([0.5]) / (1 + step)}


def initial_params(name):
    params = {"w": jnp.array([1.0, -0.5, 2.0]), "b": jnp.array([0.1])}
    return optax.LookaheadParams.init_synced(params) if name == "ranger" else params


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_schedule_equals_its_value_passed_as_a_float_each_step(name):
    make = OPTIMIZERS[name]
    with_schedule = make(SCHEDULE)
    params_a = params_b = initial_params(name)
    state_a = with_schedule.init(params_a)
    injected = optax.inject_hyperparams(make)(learning_rate=0.0)
    state_b = injected.init(params_b)
    for step in range(8):
        grads = grads_at(step)
        if name == "ranger":
            grads = optax.LookaheadParams(grads, grads).fast
        updates_a, state_a = jax.jit(with_schedule.update)(grads, state_a, params_a)
        state_b.hyperparams["learning_rate"] = jnp.asarray(float(SCHEDULE(step)))
        updates_b, state_b = jax.jit(injected.update)(grads, state_b, params_b)
        params_a, params_b = optax.apply_updates(params_a, updates_a), optax.apply_updates(params_b, updates_b)
        for a, b in zip(jax.tree.leaves(params_a), jax.tree.leaves(params_b), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7, err_msg=f"{name}@{step}")


def test_parameter_groups_with_their_own_schedules_and_frozen_layers():
    # The fine-tuning recipe torch users write with LambdaLR per group: a backbone at a
    # tenth of the head's rate with its own warmup, an embedding frozen.
    head = jaxlr.warmup_cosine(1e-2, warmup_steps=2, total_steps=10)
    backbone = jaxlr.scale(jaxlr.warmup_then(jaxlr.cosine_decay(1e-2, 6), warmup_steps=4), factor=0.1)
    optimizer = optax.multi_transform(
        {"head": optax.sgd(head), "backbone": optax.sgd(backbone), "frozen": optax.set_to_zero()},
        {"head": "head", "encoder": "backbone", "embedding": "frozen"},
    )
    params = {"head": jnp.ones(2), "encoder": jnp.ones(3), "embedding": jnp.ones(4)}
    state = optimizer.init(params)
    for step in range(10):
        updates, state = optimizer.update(jax.tree.map(jnp.ones_like, params), state, params)
        np.testing.assert_allclose(updates["head"], -float(head(step)), rtol=1e-6)
        np.testing.assert_allclose(updates["encoder"], -float(backbone(step)), rtol=1e-6)
        np.testing.assert_array_equal(updates["embedding"], 0.0)


def test_switch_equals_its_two_halves():
    first, second = optax.adam(1e-2), optax.sgd(jaxlr.linear_warmup(0.1, 3), momentum=0.9)
    switched = jaxlr.switch_optimizers(first, second, switch_step=5)
    params = jnp.array([1.0, -2.0])
    state = switched.init(params)
    state_first, state_second = first.init(params), second.init(params)
    step_fn = jax.jit(switched.update)
    for step in range(12):
        grads = jnp.array([0.5, -0.25]) * (step + 1)
        updates, state = step_fn(grads, state, params)
        if step < 5:
            expected, state_first = first.update(grads, state_first, params)
        else:  # second, started fresh at the boundary: its warmup counts from there
            expected, state_second = second.update(grads, state_second, params)
        np.testing.assert_allclose(np.asarray(updates), np.asarray(expected), rtol=1e-6, err_msg=str(step))
        params = optax.apply_updates(params, updates)


def test_switch_on_plateau():
    switched = jaxlr.switch_optimizers(optax.sgd(1.0), optax.sgd(0.1), on_plateau=jaxlr.reduce_on_plateau(patience=1))
    state = switched.init(jnp.zeros(1))
    seen = []
    for loss in (1.0, 0.5, 0.6, 0.6, 0.4, 0.3):
        updates, state = switched.update(jnp.ones(1), state, value=loss)
        seen.append(float(updates[0]))
    # the plateau rule would cut on the second bad value (0.6, 0.6): SGD at 0.1 from then on
    assert seen == pytest.approx([-1.0, -1.0, -1.0, -0.1, -0.1, -0.1])


def test_switch_needs_a_trigger():
    with pytest.raises(ValueError, match="switch_step or on_plateau"):
        jaxlr.switch_optimizers(optax.adam(1e-3), optax.sgd(1e-2))
    with pytest.raises(ValueError, match="switch_step must be > 0, got 0"):
        jaxlr.switch_optimizers(optax.adam(1e-3), optax.sgd(1e-2), switch_step=0)
