"""Configs: dicts and call strings in, to_config out, for every family and combinator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import jaxlr
from tests.catalogue import EXAMPLES, build, example_spec, specs

ROUND_TRIP = sorted(k for k in EXAMPLES if k != "from_fn")


@pytest.mark.parametrize("key", ROUND_TRIP)
def test_to_config_round_trips_through_json_and_call_strings(key):
    schedule = build(example_spec(key))
    config = schedule.to_config()
    assert json.loads(json.dumps(config)) == config  # plain data: storable beside a checkpoint
    assert jaxlr.from_config(config) == schedule
    assert jaxlr.from_config(repr(schedule)) == schedule  # the repr is a valid call string
    steps = np.arange(0, 3000, 7)
    np.testing.assert_array_equal(np.asarray(jaxlr.from_config(config)(steps)), np.asarray(schedule(steps)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs)
def test_every_generated_schedule_round_trips(spec):
    schedule = build(spec)
    assert jaxlr.from_config(schedule.to_config()) == schedule
    assert jaxlr.from_config(repr(schedule)) == schedule


def test_every_registered_family_is_in_the_round_trip_catalogue():
    covered = {key.split(":")[0] for key in EXAMPLES}
    assert set(jaxlr.names()) == covered


def test_call_strings_positional_keyword_nested_and_underscored():
    s = jaxlr.from_config("join([linear_warmup(1e-3, 1_000), cosine_decay(1e-3, decay_steps=9_000)], [1000])")
    assert s == jaxlr.join([jaxlr.linear_warmup(1e-3, 1000), jaxlr.cosine_decay(1e-3, 9000)], [1000])
    nested = {"name": "warmup_then", "schedule": {"name": "step_decay", "init_value": 0.1, "step_size": 30},
              "warmup_steps": 5}
    assert jaxlr.from_config(nested) == jaxlr.warmup_then(jaxlr.step_decay(0.1, 30), 5)


def test_durations_in_percent_epochs_and_fractions():
    s = jaxlr.from_config({"name": "warmup_cosine", "peak_value": 1e-3, "warmup_steps": "10%", "total_steps": 5000})
    assert s.warmup_steps == 500
    e = jaxlr.from_config("multistep_decay(0.1, milestones=['30ep', '60ep'])", steps_per_epoch=390)
    assert e.milestones.tolist() == [11_700, 23_400]
    w = jaxlr.from_config("wsd(1.0, total_steps=1000, warmup_steps=0.05, decay_steps='20%')")
    assert (w.warmup_steps, w.decay_steps) == (50, 200)
    outer = jaxlr.from_config("cosine_decay(1.0, decay_steps='50%')", total_steps=400)
    assert outer.decay_steps == 200
    own = jaxlr.from_config("warmup_cosine(1.0, warmup_steps='10%', total_steps='50%')", total_steps=400)
    assert (own.warmup_steps, own.total_steps) == (20, 200)  # "10%" of the config's own total
    epochs = jaxlr.from_config("wsd(1.0, total_steps='10ep', warmup_steps='1ep', decay_steps='20%')",
                               steps_per_epoch=19)
    assert (epochs.total_steps, epochs.warmup_steps, epochs.decay_steps) == (190, 19, 38)
    assert jaxlr.get("step_decay", init_value=0.1, step_size=10) == jaxlr.step_decay(0.1, 10)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("warmup_cosin(1e-3, 10, 100)", "unknown schedule 'warmup_cosin'; did you mean 'warmup_cosine'"),
        ({"name": "cosine", "init_value": 1.0}, "did you mean 'cosine_decay'"),
        ({"init_value": 1.0}, "a schedule config needs a 'name'"),
        ("cosine_decay(1.0, decay_steps=10, peak=3)", "unknown argument 'peak' for cosine_decay; it takes init_value"),
        ("warmup_cosine(peak_value=1e-3)", "missing argument 'warmup_steps' for warmup_cosine"),
        ("cosine_decay(init_value='high', decay_steps=10)", "init_value must be a number, got 'high'"),
        ("cosine_decay(1.0, decay_steps=0)", "decay_steps must be > 0, got 0"),
        ("cosine_decay(1.0, decay_steps=__import__('os').getpid())", "not a schedule call"),
        ("cosine_decay(1.0, decay_steps=__import__('os'))", "unknown schedule '__import__'"),
        ("cosine_decay(1.0, decay_steps=n)", "'n' is not a literal"),
        ("cosine_decay(1.0, 10) + 1", "not a schedule call"),
        ("cosine_decay(1.0,", "not a schedule call"),
        ("cosine_decay(1.0, decay_steps='10%')", "is a percentage of total_steps, but no total_steps is given"),
        ("step_decay(0.1, step_size='3ep')", "is in epochs: pass steps_per_epoch"),
        ("step_decay(0.1, step_size='three')", "step_size must be a number of steps, 'N%' or 'Nep', got 'three'"),
        (42, "a schedule config is a dict with a 'name' or a call string"),
    ],
)
def test_bad_configs_say_what_is_wrong(config, message):
    with pytest.raises(ValueError) as info:
        jaxlr.from_config(config)
    assert message in str(info.value)


def test_from_fn_and_traced_schedules_have_no_config():
    import jax

    with pytest.raises(ValueError, match="a from_fn schedule has no config"):
        jaxlr.from_fn(lambda t, peak: peak, peak=1.0).to_config()
    with pytest.raises(ValueError, match="traced"):
        jax.jit(lambda p: jaxlr.constant(p).to_config() and 0.0)(1.0)


def test_names_lists_every_family():
    assert "warmup_cosine" in jaxlr.names() and "join" in jaxlr.names()
    assert jaxlr.names() == sorted(jaxlr.REGISTRY)
