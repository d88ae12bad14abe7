"""Parity with keras.optimizers.schedules (Keras 3, JAX backend)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import jaxlr
from jaxlr.compat import keras as compat_keras
from tests.catalogue import build, specs
from tests.peers import assert_parity, keras_lrs, require
from tests.profiles import examples

ROOT = Path(__file__).resolve().parent.parent

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


# --- issue 17: a jaxlr schedule as a Keras LearningRateSchedule, through Keras' serialization ---

TO_KERAS = [
    jaxlr.warmup_cosine(1e-3, 100, 1000, end_value=1e-5),
    jaxlr.join([jaxlr.linear_warmup(0.1, 50), jaxlr.cyclic(0.01, 0.1, 100, mode="triangular2")], [50]),
    jaxlr.with_momentum(jaxlr.one_cycle(0.1, 500), jaxlr.one_cycle_momentum(500)),
    compat_keras.CosineDecayRestarts(0.1, 200, t_mul=1.5, m_mul=0.8, alpha=0.05, name="restarts"),
]


@pytest.mark.parametrize("schedule", TO_KERAS, ids=lambda s: type(s).__name__)
def test_to_keras_survives_keras_serialize_and_deserialize(schedule):
    keras = require("keras")
    ours = compat_keras.to_keras(schedule)
    assert ours.name == getattr(schedule, "keras_name", None)
    steps = jnp.arange(N)
    # jitted as in a Keras train step: one program, where eagerly every op compiles on its own
    want = np.asarray(jax.jit(schedule)(steps))
    np.testing.assert_array_equal(np.asarray(jax.jit(ours)(steps)), want)
    for config in (keras.optimizers.schedules.serialize(ours), ours.get_config()):
        text = json.dumps(config)  # plain JSON, as Keras writes it into a .keras file
        if "registered_name" in config:
            back = keras.optimizers.schedules.deserialize(json.loads(text))
        else:
            back = type(ours).from_config(json.loads(text))
        assert isinstance(back, keras.optimizers.schedules.LearningRateSchedule)
        assert back.schedule == schedule and back.name == ours.name
        np.testing.assert_array_equal(np.asarray(jax.jit(back)(steps)), want)


def test_keras_named_constructors_keep_their_name():
    assert compat_keras.ExponentialDecay(0.1, 10, 0.5, name="decay").keras_name == "decay"
    assert not hasattr(compat_keras.ExponentialDecay(0.1, 10, 0.5), "keras_name")
    assert compat_keras.to_keras(compat_keras.PolynomialDecay(0.1, 10, name="poly")).name == "poly"
    assert compat_keras.to_keras(compat_keras.PolynomialDecay(0.1, 10, name="poly"), name="other").name == "other"
    with pytest.raises(TypeError, match="name must be a string"):
        compat_keras.to_keras(jaxlr.constant(0.1), name=3)
    with pytest.raises(TypeError, match="schedule must be a jaxlr schedule"):
        compat_keras.to_keras(lambda step: 0.1)


def test_to_keras_drives_a_keras_optimizer_and_saved_model(tmp_path):
    keras = require("keras")
    schedule = jaxlr.warmup_cosine(0.05, 5, 40, end_value=1e-4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=compat_keras.to_keras(schedule, name="lr")),
                  loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 8 updates
    assert int(model.optimizer.iterations) == 8
    assert float(model.optimizer.learning_rate) == pytest.approx(float(schedule(8)), rel=1e-6)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.optimizer._learning_rate.schedule == schedule
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(8)), rel=1e-6)
    optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer))
    assert optimizer._learning_rate.schedule == schedule and optimizer._learning_rate.name == "lr"


@pytest.mark.slow  # a new Python process imports Keras and JAX: about 10 s
def test_a_new_process_loads_the_saved_model_after_importing_the_class(tmp_path):
    keras = require("keras")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(compat_keras.to_keras(jaxlr.cosine_decay(1e-3, 100))), loss="mse")
    model.save(tmp_path / "model.keras")
    script = (
        "import keras\n"
        "from jaxlr.compat.keras import KerasSchedule  # registers the class with Keras\n"
        f"model = keras.saving.load_model({str(tmp_path / 'model.keras')!r})\n"
        "print(repr(model.optimizer._learning_rate))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "KerasSchedule(cosine_decay(init_value=0.001, decay_steps=100), name=None)"


@settings(max_examples=examples(40))
@given(spec=specs)
def test_any_schedule_survives_keras_serialization(spec):
    keras = require("keras")
    schedule = build(spec)
    config = json.loads(json.dumps(keras.optimizers.schedules.serialize(compat_keras.to_keras(schedule))))
    assert keras.optimizers.schedules.deserialize(config).schedule == schedule
