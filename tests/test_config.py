"""Configs: dicts and call strings in, to_config out, for every family and combinator."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import math
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxlr
import jaxlr.config
from tests.catalogue import EXAMPLES, build, example_spec, specs
from tests.profiles import examples

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


@settings(max_examples=examples(80))
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


# ---------------------------------------------------------------------------------------
# Static options, read from the registry: every family's flags and mode strings.


def _static_options():
    """(family, option, annotation) for every registered family's static fields."""
    options = []
    for name, family in sorted(jaxlr.REGISTRY.items()):
        hints = typing.get_type_hints(family)
        options += [(name, f.name, hints[f.name]) for f in dataclasses.fields(family) if f.metadata.get("static")]
    return options


FLAGS = [(name, option) for name, option, hint in _static_options() if hint is bool]
CHOICES = [(name, option) for name, option, hint in _static_options() if hint is str]


def test_the_static_options_are_found_through_the_registry():
    assert {("cosine_decay", "periodic"), ("exponential_decay", "staircase"), ("one_cycle", "three_phase"),
            ("per_epoch", "staircase"), ("piecewise_constant", "inclusive"), ("polynomial", "cycle")} <= set(FLAGS)
    assert {("cyclic", "mode"), ("one_cycle", "anneal"), ("wsd", "decay_shape"), ("wsd", "warmup_shape"),
            ("warmup_then", "shape"), ("cooldown", "shape")} <= set(CHOICES)
    # Every static option is a flag or a mode string, but from_fn's function, which no config holds.
    assert {(n, o) for n, o, _ in _static_options()} - set(FLAGS) - set(CHOICES) == {("from_fn", "fn")}


def _without(name, option):
    spec = example_spec(name)
    spec.pop(option, None)
    return spec


def _call_with(spec, option, literal):
    """The call string of ``spec`` (its repr) with ``option=literal`` added."""
    return f"{repr(build(spec))[:-1]}, {option}={literal})"


NOT_FLAGS = ["false", "False", "no", "true", "", 0, 1, 0.0, 1.0, None, [True], {"name": "constant", "value": 1.0}]


@pytest.mark.parametrize(("name", "option"), FLAGS)
def test_a_flag_takes_only_true_or_false(name, option):
    spec = _without(name, option)
    for value in (True, False, np.bool_(True)):
        built = jaxlr.from_config({**spec, option: value})
        assert getattr(built, option) is bool(value)
        assert built == build({**spec, option: bool(value)})
        assert jaxlr.from_config(_call_with(spec, option, bool(value))) == built
        assert jaxlr.from_config(json.dumps({**spec, option: bool(value)})) == built
    for value in NOT_FLAGS:
        with pytest.raises(ValueError, match=rf"^{option} must be True or False, got .*write True or False"):
            jaxlr.from_config({**spec, option: value})
        with pytest.raises(ValueError, match=rf"^{option} must be True or False"):
            jaxlr.from_config(_call_with(spec, option, repr(value)))
    with pytest.raises(ValueError, match=rf"^{option} must be True or False, got 'false'"):
        jaxlr.from_config(json.dumps({**spec, option: "false"}))


@pytest.mark.parametrize(("name", "option"), FLAGS)
def test_json_words_in_a_call_string_say_what_to_write(name, option):
    spec = _without(name, option)
    for word, python in (("false", "False"), ("true", "True"), ("null", "None")):
        with pytest.raises(ValueError, match=rf"^{option}={word} is JSON, not Python: write {python}"):
            jaxlr.from_config(_call_with(spec, option, word))


@pytest.mark.parametrize(("name", "option"), CHOICES)
def test_a_mode_takes_only_one_of_its_strings(name, option):
    spec = _without(name, option)
    family = jaxlr.REGISTRY[name]
    default = next(f.default for f in dataclasses.fields(family) if f.name == option)
    built = jaxlr.from_config({**spec, option: default})
    assert getattr(built, option) == default and built == build(spec)
    for value in (1, 0, True, None, [default], {"name": "constant", "value": 1.0}, b"linear"):
        with pytest.raises(ValueError, match=rf"^{option} must be a string such as {default!r}, got"):
            jaxlr.from_config({**spec, option: value})
    for value in ("not-a-mode", default.upper(), f" {default}", ""):
        for config in ({**spec, option: value}, _call_with(spec, option, repr(value))):
            with pytest.raises(ValueError) as info:
                jaxlr.from_config(config)
            assert option in str(info.value) and repr(value) in str(info.value)


# ---------------------------------------------------------------------------------------
# Numbers from_config resolves: totals, epochs, percentages, and the nesting it accepts.


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "10", 2.5, True, -1, 0, 2**53 + 1, [100]])
def test_steps_per_epoch_and_total_steps_arguments_are_whole_step_counts(value):
    with pytest.raises(ValueError, match=r"^steps_per_epoch must be"):
        jaxlr.from_config("step_decay(0.1, step_size='3ep')", steps_per_epoch=value)
    with pytest.raises(ValueError, match=r"^total_steps must be"):
        jaxlr.from_config("step_decay(0.1, step_size='10%')", total_steps=value)


def test_whole_floats_and_numpy_integers_are_step_counts():
    assert jaxlr.from_config("step_decay(0.1, step_size='3ep')", steps_per_epoch=390.0).step_size == 1170
    assert jaxlr.from_config("step_decay(0.1, step_size='3ep')", steps_per_epoch=np.int32(7)).step_size == 21
    assert jaxlr.from_config("step_decay(0.1, step_size='10%')", total_steps=np.int64(2000)).step_size == 200


@pytest.mark.parametrize(
    ("config", "kwargs", "message"),
    [
        ("cosine_decay(1.0, '1e400%')", {"total_steps": 100}, "decay_steps='1e400%' of total_steps=100 is inf steps"),
        ("cosine_decay(1.0, '1e400ep')", {"steps_per_epoch": 10}, "decay_steps='1e400ep' at steps_per_epoch=10 is inf"),
        ("cosine_decay(1.0, '200%')", {"total_steps": 2**53}, "decay_steps='200%' of total_steps=9007199254740992 is"),
        ("step_decay(0.1, '1e20ep')", {"steps_per_epoch": 10}, "step_size='1e20ep' at steps_per_epoch=10 is 1e+21 "
                                                                "steps, past 2**53"),
        ("multistep_decay(0.1, ['10ep', '1e17ep'])", {"steps_per_epoch": 1000}, "milestones='1e17ep'"),
        ("warmup_cosine(1.0, '10%', 1e400)", {}, "warmup_steps='10%' is a percentage of total_steps, but total_steps"
                                                 " is inf, not a finite number of steps"),
        ({"name": "warmup_cosine", "peak_value": 1.0, "warmup_steps": "10%", "total_steps": math.nan}, {},
         "but total_steps is nan"),
        ('{"name": "warmup_cosine", "peak_value": 1.0, "warmup_steps": "10%", "total_steps": Infinity}', {},
         "but total_steps is inf"),
        ({"name": "warmup_cosine", "peak_value": 1.0, "warmup_steps": 10, "total_steps": math.inf}, {},
         "total_steps must be a finite number of steps, at most 2**53, got inf"),
        ({"name": "cosine_decay", "init_value": 1.0, "decay_steps": math.nan}, {},
         "decay_steps must be a finite number of steps, at most 2**53, got nan"),
        ("cosine_decay(1.0, 9007199254740993)", {}, "decay_steps has an integer past 2**53, 9007199254740993"),
        ({"name": "multistep_decay", "init_value": 0.1, "milestones": [10, 2**64]}, {}, "milestones has an integer"),
        ('{"name": "cosine_decay", "init_value": 1' + "0" * 400 + ', "decay_steps": 10}', {},
         "init_value has an integer past 2**53, 1000"),
        ('{"name": "cosine_decay", "init_value": 1' + "0" * 5000 + ', "decay_steps": 10}', {}, "not a JSON config"),
        ("cosine_decay(1.0, 1" + "0" * 5000 + ")", {}, "not a schedule call"),
        ('{"name": "cosine_decay", "init_value": 1.0, "decay_steps": 10, "decay_steps": 20}', {},
         "'decay_steps' appears twice"),
        ('{"name": "cosine_decay", "init_value": 1.0,', {}, "not a JSON config"),
        ("cosine_decay(1.0, decay_steps={[1]: 2})", {}, "decay_steps: '{[1]: 2}' is not a literal"),
        ("cosine_decay(1.0, 10\x00)", {}, "not a schedule call"),
        ("cosine_decay(1.0, 1x)", {}, "not a schedule call"),
        (["cosine_decay(1.0, 10)"], {}, "a schedule config is a dict with a 'name' or a call string"),
        ({"name": "join", "schedules": [{"name": "constant", "value": 1.0}, 2], "boundaries": [5]}, {},
         "join(schedules, boundaries) rejected its arguments"),
    ],
)
def test_numbers_from_config_that_no_schedule_can_hold(config, kwargs, message):
    with pytest.raises(ValueError) as info:
        jaxlr.from_config(config, **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 500


def _nested(levels):
    """``levels`` dicts deep: scale(scale(...(constant(1.0)))), as a dict, a call string and JSON."""
    config = {"name": "constant", "value": 1.0}
    for _ in range(levels - 1):
        config = {"name": "scale", "schedule": config, "factor": 1.0}
    call = "scale(schedule=" * (levels - 1) + "constant(value=1.0)" + ", factor=1.0)" * (levels - 1)
    text = '{"name": "scale", "schedule": ' * (levels - 1) + '{"name": "constant", "value": 1.0}' \
        + ', "factor": 1.0}' * (levels - 1)
    return config, call, text


def test_nesting_is_bounded_the_same_for_dicts_strings_and_json():
    limit = jaxlr.config.MAX_DEPTH
    config, call, text = _nested(limit)
    deepest = jaxlr.from_config(config)
    assert float(deepest(0)) == 1.0
    assert jaxlr.from_config(call) == deepest == jaxlr.from_config(text) == jaxlr.from_config(repr(deepest))
    for config in (*_nested(limit + 1), *_nested(5000)):
        with pytest.raises(ValueError, match=f"nested more than {limit} levels deep"):
            jaxlr.from_config(config)


@pytest.mark.parametrize(
    "config",
    [
        "cosine_decay(1.0, " + "[" * 100 + "]" * 100 + ")",
        "cosine_decay(1.0, " + "-" * 100_000 + "1)",
        "cosine_decay(1.0, " + "1+" * 100_000 + "1)",
        "cosine_decay(1.0, " + "(" * 100_000 + ")" * 100_000 + ")",
        "[" * 100_000,
        "{" + '"a": {' * 100_000,
        {"name": "multistep_decay", "init_value": 1.0,
         "milestones": functools.reduce(lambda inner, _: [inner], range(5000), 1)},
    ],
)
def test_deep_strings_and_lists_are_value_errors_not_recursion_errors(config):
    with pytest.raises(ValueError, match=r"nested|not a schedule call|not a JSON config"):
        jaxlr.from_config(config)


def test_a_config_that_contains_itself_is_a_value_error():
    config = {"name": "scale", "factor": 2.0}
    config["schedule"] = config
    with pytest.raises(ValueError, match="nested more than"):
        jaxlr.from_config(config)
    joined = {"name": "join", "boundaries": [1]}
    joined["schedules"] = [joined] * 1000  # walked once per distinct dict, not 1000**32 times
    with pytest.raises(ValueError, match="nested more than"):
        jaxlr.from_config(joined)


def render(config):
    """A dict config as a call string (keywords only), to send one config both ways."""
    if isinstance(config, dict) and isinstance(config.get("name"), str):
        arguments = ", ".join(f"{k}={render(v)}" for k, v in config.items()
                              if k != "name" and isinstance(k, str) and k.isidentifier())
        return f"{config['name']}({arguments})"
    if isinstance(config, list):
        return "[" + ", ".join(render(v) for v in config) + "]"
    return repr(config)


# ---------------------------------------------------------------------------------------
# Fuzzing: mutations of valid configs, as dicts, JSON and call strings, and edits of call
# strings character by character. Only ValueError may come out.

NASTY = ["false", "no", "", "1e400%", "10%", "3ep", "1e400ep", "200%", "x", None, True, False, math.nan,
         math.inf, -math.inf, 10**400, 2**53 + 1, -1, 0, 1, 0.5, 1e308, 3.5, "0.05", [], [[1]], [1, [2]],
         [[1], [1, 2]], [3, 1, 2], {}, {"name": "nope"}, {"name": "constant"}, {"name": "constant", "value": 1.0},
         b"x", 1j, {1, 2}, ["10%", "3ep"], [math.nan], [10**400], [{"name": "constant", "value": 1.0}],
         "linear", np.float32(1.0), np.int64(5), np.bool_(True), np.array([1, 2]), np.array([[1.0, 2.0]])]
KEYS = ["name", "init_value", "decay_steps", "total_steps", "warmup_steps", "periodic", "schedules", "boundaries",
        "milestones", "mode", "shape", "steps_per_epoch", "schedule", "fn", "params", "nope", 1, None]
ARGUMENTS = [None, 0, -1, 10, 2.5, 390.0, "10", True, math.inf, math.nan, 2**60, np.int32(7)]
PIECES = [*"()[]{},'\"=%e019-+._ x:", "false", "True", "None", "1e400", "**", "\x00", "\n", "ep", "lambda"]


def _places(config, path=()):
    yield path
    items = config.items() if isinstance(config, dict) else enumerate(config) if isinstance(config, list) else ()
    for key, value in items:
        yield from _places(value, (*path, key))


@st.composite
def mutated_configs(draw):
    spec = draw(specs)
    config = copy.deepcopy(spec)
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in _places(config) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = functools.reduce(lambda c, k: c[k], path[:-1], config)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            key = draw(st.sampled_from(KEYS)) if action == "add" and isinstance(parent, dict) else path[-1]
            parent[key] = copy.deepcopy(draw(st.sampled_from(NASTY)))
    text = list(render(spec))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text) - 1))
        piece = draw(st.sampled_from(PIECES))
        text[i:i + draw(st.integers(0, 1))] = [piece]
    return config, "".join(text)


@settings(max_examples=examples(400))
@given(mutated=mutated_configs(), steps_per_epoch=st.sampled_from(ARGUMENTS), total=st.sampled_from(ARGUMENTS))
def test_fuzzed_configs_give_a_schedule_or_a_value_error(mutated, steps_per_epoch, total):
    config, edited = mutated
    forms = [config, render(config), edited]
    with contextlib.suppress(TypeError, ValueError):  # not every mutation is JSON
        forms.append(json.dumps(config))
    for form in forms:
        try:
            schedule = jaxlr.from_config(form, steps_per_epoch=steps_per_epoch, total_steps=total)
        except ValueError as error:
            assert str(error) and "\n" not in str(error)
        else:
            assert isinstance(schedule, jaxlr.Schedule)


# ---------------------------------------------------------------------------------------
# repr is a config string (the README says so) also past the point where it abbreviates.


def test_repr_of_forty_milestones_is_a_config_string():
    schedule = jaxlr.multistep_decay(0.1, milestones=list(range(100, 4100, 100)), gamma=0.9)
    assert jaxlr.from_config(repr(schedule)) == schedule


def test_repr_of_a_join_of_twelve_pieces_is_a_config_string():
    pieces = [jaxlr.cosine_decay(1.0 / (k + 1), decay_steps=100 + k) for k in range(12)]
    schedule = jaxlr.join(pieces, boundaries=list(range(100, 1200, 100)))
    assert jaxlr.from_config(repr(schedule)) == schedule
