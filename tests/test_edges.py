"""Edges, over every registered family and combinator: the right value or a clear error.

Each class of input here once gave a silent wrong value or a raw crash (issue 11):
integers near ``2**31`` and ``2**53``, float32-subnormal and near-max floats, unsigned and
narrow step dtypes, a periodic phase inside a combinator, wrong-typed options, empty lists,
equal schedules that hashed differently. Each case must give the float64 reference's value
(or a ``ValueError`` / ``TypeError`` at construction): never NaN, inf, a negative rate, a
wrapped integer or another exception.
"""

from __future__ import annotations

import dataclasses
import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxlr
from tests.catalogue import EXAMPLES, build, example_spec, numeric_fields, reference_of, specs
from tests.profiles import examples
from tests.test_properties import assert_matches_reference, expected, scale_of

SETTINGS = settings(max_examples=examples(40))
I32 = 2**31 - 1
HUGE_INTEGERS = [I32, 2**31, 3_000_000_000, 10**10, 2**53]
FAMILIES = sorted(n for n in jaxlr.REGISTRY if n != "from_fn")
EXAMPLE_KEYS = sorted(k for k in EXAMPLES if k != "from_fn")


def outcome(make):
    """The schedule ``make()`` builds, or None if it refuses with ValueError (a clear,
    named refusal); any other exception fails the test."""
    try:
        return make()
    except ValueError as error:
        assert str(error), "a ValueError must say why"
        return None


def assert_is_learning_rate(schedule, steps):
    values = np.asarray(schedule(jnp.asarray(steps)), np.float64)
    assert np.all(np.isfinite(values)) and np.all(values >= 0), (repr(schedule), steps, values)
    assert np.all(values < np.finfo(np.float32).max), ("saturated", repr(schedule), values)
    return values


def integer_fields(spec):
    """The numeric arguments of a spec that count steps (integers in the examples)."""
    return [k for k in numeric_fields(spec) if all(float(x).is_integer() for x in np.ravel(spec[k]))
            and "value" not in k and k not in ("d_model", "gamma", "decay_rate", "period_mul", "value_mul",
                                               "power", "exponent", "factor", "div_factor", "final_div_factor",
                                               "cycles", "lower", "upper")]


def with_field(spec, field, value):
    old = spec[field]
    new = value if np.ndim(old) == 0 else [*list(np.ravel(old))[:-1], value]
    if np.ndim(old) and len(np.ravel(old)) > 1 and new[-2] >= value:
        new = sorted(new)
    return {**spec, field: new}


# ---------------------------------------------------------------------------------------
# Integers past int32: never wrapped, right at every int32 step.

INTEGER_CASES = [(k, f, n) for k in EXAMPLE_KEYS for f in integer_fields(example_spec(k)) for n in HUGE_INTEGERS]


@pytest.mark.parametrize(("key", "field", "n"), INTEGER_CASES, ids=[f"{k}-{f}-{n}" for k, f, n in INTEGER_CASES])
def test_huge_integer_hyperparameters_are_exact_or_refused(key, field, n):
    spec = with_field(example_spec(key), field, n)
    schedule = outcome(lambda: build(spec))
    if schedule is None:
        return
    steps = [0, 1, 1000, 2**24 + 1, 2**30 + 5, I32 - 1, I32]
    assert_is_learning_rate(schedule, steps)
    if n < 2**53:
        # At 2**53 the float64 reference is no reference: torch's cyclic formula, verbatim
        # in it, computes 1 + t / 2**53 - 1 = 0. Below, it holds its ten digits.
        assert_matches_reference(spec, steps)


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_integers_past_2_53_are_refused(key):
    spec = example_spec(key)
    for field in integer_fields(spec):
        with pytest.raises(ValueError, match=rf"{field} must be at most 2\*\*53"):
            build(with_field(spec, field, 2**53 + 1))


def test_a_boundary_past_int32_is_never_reached_and_never_wraps():
    for boundary in (2**31, 3_000_000_000, 2**53):
        s = jaxlr.piecewise_constant([10, boundary], [1.0, 0.5, 0.25])
        np.testing.assert_array_equal(s(jnp.asarray([0, 10, I32])), [1.0, 0.5, 0.5])
        j = jaxlr.join([jaxlr.constant(1.0), jaxlr.linear(1.0, 0.0, 100), jaxlr.constant(0.25)], [10, boundary])
        np.testing.assert_array_equal(j(jnp.asarray([0, 10, 60, I32])), [1.0, 1.0, 0.5, 0.0])
        m = jaxlr.multistep_decay(1.0, [boundary], gamma=0.5)
        assert float(m(I32)) == 1.0
    # A boundary exactly at the largest step is reached there, and only there.
    s = jaxlr.piecewise_constant([I32], [1.0, 0.5])
    np.testing.assert_array_equal(s(jnp.asarray([I32 - 1, I32])), [1.0, 0.5])
    k = jaxlr.piecewise_constant([I32], [1.0, 0.5], inclusive=True)
    np.testing.assert_array_equal(k(jnp.asarray([I32 - 1, I32])), [1.0, 1.0])


def test_optax_suite_case_cosine_decay_over_1e10_steps():
    # optax's own test builds cosine_decay_schedule(1000., int(1e10)) and reads step 1e9.
    s = jaxlr.cosine_decay(1000.0, int(1e10))
    want = 1000.0 * 0.5 * (1 + math.cos(math.pi * 1e9 / 1e10))
    np.testing.assert_allclose(float(s(int(1e9))), want, rtol=1e-6)
    p = jaxlr.cosine_decay(1000.0, int(1e10), periodic=True)
    np.testing.assert_allclose(float(p(int(1e9) + 7)), 1000.0 * 0.5 * (1 + math.cos(math.pi * (1e9 + 7) / 1e10)),
                               rtol=1e-6)


@pytest.mark.parametrize("step", [2**31, 2**32 - 1, 3_000_000_000, np.int64(2**40), np.array([5, 2**33])])
def test_integer_steps_past_int32_are_refused_not_wrapped(step):
    with pytest.raises(ValueError, match="step must be at most 2147483647"):
        jaxlr.cosine_decay(1.0, 100)(step)
    # As a float the step is taken as it is.
    assert float(jaxlr.cosine_decay(1.0, 100)(float(np.max(step)))) == 0.0


def periodic_cosine(t: int, decay_steps: int = 10) -> float:
    """``cosine_decay(1.0, decay_steps, periodic=True)`` at step ``t``: period ``2 decay_steps``,
    the phase in exact integer arithmetic (2**40 + 5 is 1 past a multiple of 20, not 5)."""
    return 0.5 * (1 + math.cos(math.pi * (t % (2 * decay_steps)) / decay_steps))


def test_integer_steps_past_int32_work_with_x64():
    built_outside = jaxlr.cosine_decay(1.0, 10, periodic=True)
    with jax.enable_x64(True):
        s = jaxlr.cosine_decay(1.0, 10, periodic=True)
        for t in (2**40 + 5, 2**40 + 9, 2**53 - 1):
            for schedule in (s, built_outside):
                assert float(schedule(t)) == pytest.approx(periodic_cosine(t), abs=1e-12), t
                assert float(schedule(np.uint64(t))) == pytest.approx(periodic_cosine(t), abs=1e-12), t
                assert float(schedule(np.int64(t))) == pytest.approx(periodic_cosine(t), abs=1e-12), t


# ---------------------------------------------------------------------------------------
# Step dtypes: every integer and floating type, with the int32 step's value.

STEP_DTYPES = [np.uint8, np.uint16, np.uint32, np.int8, np.int16, np.int32, np.float16, np.float32]


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_every_step_dtype_gives_the_int32_value(key):
    schedule = build(example_spec(key))
    given = []
    for dtype in STEP_DTYPES:
        top = 100 if np.dtype(dtype).kind == "i" and np.dtype(dtype).itemsize == 1 else 250
        given.append(np.array([0, 1, 3, 29, 50, top], dtype))
    # Every dtype through the schedule passed to jit, in one compilation (not one per dtype).
    jitted = jax.jit(lambda s, ts: [s(t) for t in ts])(schedule, [jnp.asarray(steps) for steps in given])
    for dtype, steps, jitted_value in zip(STEP_DTYPES, given, jitted, strict=True):
        want = schedule(jnp.asarray(steps.astype(np.int64).astype(np.int32)))
        for given_steps in (steps, jnp.asarray(steps)):
            got = schedule(given_steps)
            np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=f"{key} {dtype}")
        np.testing.assert_allclose(jitted_value, want, rtol=1e-6, atol=1e-7, err_msg=f"{key} {dtype} jit")


def test_unsigned_steps_near_their_top():
    s = jaxlr.cosine_decay(1.0, 10, periodic=True)
    for t in (2**30 + 5, 2**31 - 1):
        np.testing.assert_allclose(s(np.uint32(t)), periodic_cosine(t), atol=1e-6)
        np.testing.assert_allclose(s(jnp.asarray(t, jnp.uint32)), periodic_cosine(t), atol=1e-6)
    with pytest.raises(ValueError, match="step must be at most"):
        s(np.uint32(2**32 - 1))
    with pytest.raises(ValueError, match="step must be at most"):
        s(jnp.asarray(2**32 - 1, jnp.uint32))
    # Traced, it cannot be refused: clamped to the largest int32 step.
    assert float(jax.jit(s)(jnp.asarray(2**32 - 1, jnp.uint32))) == float(s(I32))
    # uint8: 3 - 5 must not wrap to 254.
    shifted = jaxlr.shift(jaxlr.linear(1.0, 0.0, 10), steps=5)
    assert float(shifted(np.uint8(3))) == 1.0


def test_bool_and_complex_steps_are_type_errors():
    s = jaxlr.constant(0.1)
    for bad in (True, np.array([True]), jnp.asarray(1 + 1j)):
        with pytest.raises(TypeError, match="step must be an integer or floating"):
            s(bad)


# ---------------------------------------------------------------------------------------
# The integer-exact phase, through every combinator, eagerly and as a jit argument.

PERIODIC = {
    "cosine_decay": jaxlr.cosine_decay(1.0, 100, periodic=True),
    "cyclic": jaxlr.cyclic(0.1, 1.0, 30, 70),
    "repeat": jaxlr.repeat(jaxlr.linear(1.0, 0.0, 50), 80),
    "cosine_restarts": jaxlr.cosine_restarts(1.0, 90),
    "polynomial_cycle": jaxlr.polynomial(1.0, 0.0, 100, power=2.0, cycle=True),
}
WRAPPERS = {
    "warmup_then": lambda s: (jaxlr.warmup_then(s, 1000), 1000),
    "shift": lambda s: (jaxlr.shift(s, 1000), 1000),
    "per_epoch": lambda s: (jaxlr.per_epoch(s, 1), 0),
    "join": lambda s: (jaxlr.join([jaxlr.constant(0.5), s], [1000]), 1000),
    "scale": lambda s: (jaxlr.scale(s, 1.0), 0),
    "clip": lambda s: (jaxlr.clip(s, max_value=10.0), 0),
    "multiply": lambda s: (jaxlr.multiply(jaxlr.constant(1.0), s), 0),
    "cooldown": lambda s: (jaxlr.cooldown(s, 2**40, 1000), 0),
    "nested": lambda s: (jaxlr.warmup_then(jaxlr.shift(s, 500), 500), 1000),
}


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize("periodic", sorted(PERIODIC))
def test_exact_phase_holds_through_combinators(periodic, wrapper):
    inner = PERIODIC[periodic]
    outer, offset = WRAPPERS[wrapper](inner)
    steps = np.array([2**30 + k for k in (0, 1, 7, 29, 30, 51, 99)] + [I32 - 3, I32], np.int64)
    want = np.asarray(inner(jnp.asarray(steps - offset, jnp.int32)))
    np.testing.assert_allclose(outer(jnp.asarray(steps, jnp.int32)), want, atol=2e-6, err_msg="eager")
    as_argument = jax.jit(lambda s, t: s(t))(outer, jnp.asarray(steps, jnp.int32))
    np.testing.assert_allclose(as_argument, want, atol=2e-6, err_msg="jit argument")
    for t in (2**30 + 7, I32):
        np.testing.assert_allclose(outer(t), inner(t - offset), atol=2e-6, err_msg=f"python int {t}")


def test_starts_and_periods_past_int32_are_exact_at_the_last_steps():
    # A cooldown starting at 2**31 is never reached by an int32 step (float32 rounds 2**31 - 1
    # up onto it), and one starting at 2**31 - 2 is one step in at 2**31 - 1.
    assert float(jaxlr.cooldown(jaxlr.constant(1.0), 2**31, 0)(I32)) == 1.0
    late = jaxlr.cooldown(jaxlr.constant(1.0), 2**31 + 10, 12)
    np.testing.assert_allclose(late(jnp.asarray([I32 - 2, I32 - 1, I32])), [1.0, 1.0, 11 / 12], rtol=1e-6)
    # repeat hands an integer position to a periodic inner schedule: odd steps are the
    # trough of a 2-step cosine, also past 2**24 and with a period longer than any step.
    for period in (2**31, 2**30 + 2):
        s = jaxlr.repeat(jaxlr.cosine_decay(1.0, 1, periodic=True), period)
        np.testing.assert_allclose(s(jnp.asarray([2**24 + 1, I32 - 1, I32])), [0.0, 1.0, 0.0], atol=1e-7)


def test_hf_cosine_keeps_its_phase():
    # transformers' cosine is periodic in (t - W) / (T - W); compat.hf builds it inside
    # warmup_then, whose step must stay an integer for the phase to be right near 2**30.
    from jaxlr.compat import hf

    s = hf.get_scheduler("cosine", 1.0, num_warmup_steps=10, num_training_steps=1000)
    for t in (2**30 + 5, 2**30 + 500, I32):
        phase = ((t - 10) % 1980) / 990  # exact integer modulo, then float64
        np.testing.assert_allclose(float(s(t)), 0.5 * (1 + math.cos(math.pi * phase)), atol=2e-6)


# ---------------------------------------------------------------------------------------
# Floats at the edges of float32: the schedule's value, or a refusal; never NaN or inf.

EDGE_FLOATS = [1e-45, 1e-40, 1e-38, 1.2e-38, 3.4e38, 3.5e38, 1e300, 1.0 + 1e-9, 1.0 - 1e-9]
FLOAT_CASES = [(k, f, x) for k in EXAMPLE_KEYS for f in numeric_fields(example_spec(k)) for x in EDGE_FLOATS]


@pytest.mark.parametrize(("key", "field", "x"), FLOAT_CASES, ids=[f"{k}-{f}-{x}" for k, f, x in FLOAT_CASES])
def test_edge_floats_give_a_learning_rate_or_a_refusal(key, field, x):
    spec = with_field(example_spec(key), field, x)
    schedule = outcome(lambda: build(spec))
    if schedule is None:
        return
    values = np.asarray(schedule(jnp.asarray([0, 1, 5, 20, 99, 100, 101, 1000, 2**24 + 1, I32])), np.float64)
    assert np.all(np.isfinite(values)) and np.all(values >= 0), (repr(schedule), values)
    # The value where float32 holds the step and the float64 reference's arithmetic alike
    # (a period of 2.000000002 steps drifts from float32's 2.0 over a billion steps; both
    # are its value to within the precision asked for).
    steps = [0, 1, 5, 20, 99, 100, 101]
    ref = reference_of(schedule.to_config())  # what it holds: a fractional count rounded to float32
    want = np.array([expected(ref, t) for t in steps])
    # A growth exponential saturates at the float32 max by design; the rest is its value.
    np.testing.assert_allclose(values[: len(steps)], want, rtol=2e-5, atol=1e-6 * scale_of(spec) + 1e-37,
                               err_msg=repr(schedule))


def test_values_that_are_not_learning_rates_are_refused():
    for make, message in [
        (lambda: jaxlr.constant(1e39), "value must be at most 3.4028235e+38 in magnitude, the largest float32"),
        (lambda: jaxlr.cosine_decay(1.0, 1e-50), "decay_steps must be 0 or at least 2**-14 steps"),
        (lambda: jaxlr.step_decay(1.0, 10, gamma=1e-40), "gamma must be 0 or at least 1.1754944e-38 in magnitude"),
        (lambda: jaxlr.cosine_restarts(1.0, 10, period_mul=1 + 1e-9),
         "period_mul must be 1, or > 1 after rounding to float32 (1.0000001 or more)"),
        (lambda: jaxlr.cosine_restarts(0.1, 10, value_mul=1.5, end_value=0.5),
         "value_mul=1.5 grows the peak past the float32 max by cycle 214748364"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            make()
    # What float32 cannot hold, float64 can; a duration under 2**-14 steps and a peak that
    # grows without bound are refused in both.
    with jax.enable_x64(True):
        assert float(jaxlr.constant(1e39)(0)) == 1e39
        assert float(jaxlr.step_decay(1.0, 10, gamma=1e-40)(10)) == pytest.approx(1e-40, rel=1e-12)
        assert float(jaxlr.cosine_restarts(1.0, 10, period_mul=1 + 1e-9)(15)) == pytest.approx(0.5, abs=1e-8)
        with pytest.raises(ValueError, match=re.escape("decay_steps must be 0 or at least 2**-14 steps")):
            jaxlr.cosine_decay(1.0, 1e-50)
        with pytest.raises(ValueError, match=re.escape("grows the peak past the float64 max")):
            jaxlr.cosine_restarts(0.1, 10, value_mul=1.5, end_value=0.5)


def test_growing_restarts_stay_positive():
    s = jaxlr.cosine_restarts(0.5, 10, value_mul=1.5, end_value=0.1, cycles=30)
    values = assert_is_learning_rate(s, np.arange(0, 400))
    assert values.min() == pytest.approx(0.1, rel=1e-5)


# ---------------------------------------------------------------------------------------
# Options, empty lists, equality and hashing.


def static_fields(name):
    return [f for f in dataclasses.fields(jaxlr.REGISTRY[name]) if f.metadata.get("static") and f.name != "fn"]


def minimal_kwargs(name):
    key = name if name in EXAMPLES else next(k for k in EXAMPLES if k.split(":")[0] == name)
    spec = example_spec(key)
    return {k: (build(v) if isinstance(v, dict) else [build(x) for x in v] if isinstance(v, list) and v
                and isinstance(v[0], dict) else v) for k, v in spec.items() if k != "name"}


OPTION_CASES = [(n, f.name) for n in FAMILIES for f in static_fields(n)]


@pytest.mark.parametrize(("name", "option"), OPTION_CASES, ids=[f"{n}-{o}" for n, o in OPTION_CASES])
def test_wrong_typed_options_are_refused(name, option):
    field = next(f for f in static_fields(name) if f.name == option)
    kwargs = minimal_kwargs(name)
    if isinstance(field.default, bool):
        wrong_type = ["false", "False", "no", "", 0, 1, None, 1.0, [True]]
        message = f"{option} must be True or False"
    else:
        wrong_type = [0, None, True, ["linear"], b"linear"]
        message = f"{option} must be a string"
        for value in ("bogus", "LINEAR"):  # a string, not one of the choices
            with pytest.raises(ValueError, match=f"{option} must be one of"):
                jaxlr.REGISTRY[name](**{**kwargs, option: value})
    for value in wrong_type:
        with pytest.raises(TypeError, match=message):
            jaxlr.REGISTRY[name](**{**kwargs, option: value})
    if isinstance(field.default, bool):  # NumPy booleans are booleans
        assert jaxlr.REGISTRY[name](**{**kwargs, option: np.bool_(True)}) == jaxlr.REGISTRY[name](
            **{**kwargs, option: True})


SCALAR_CASES = [(k, f) for k in EXAMPLE_KEYS for f in numeric_fields(example_spec(k))
                if np.ndim(example_spec(k)[f]) == 0]


@pytest.mark.parametrize(("key", "field"), SCALAR_CASES, ids=[f"{k}-{f}" for k, f in SCALAR_CASES])
def test_empty_lists_for_scalar_hyperparameters_are_refused(key, field):
    for empty in ([], (), np.zeros(0), jnp.zeros(0)):
        with pytest.raises(ValueError, match=field):
            build({**example_spec(key), field: empty})


def as_floats(spec):
    """The same spec with every integer written as a float and every zero as -0.0."""
    out = {}
    for k, v in spec.items():
        if isinstance(v, dict):
            out[k] = as_floats(v)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out[k] = [as_floats(x) for x in v]
        elif isinstance(v, bool | str) or v is None:
            out[k] = v
        elif isinstance(v, list):
            out[k] = [-0.0 if x == 0 else float(x) for x in v]
        else:
            out[k] = -0.0 if v == 0 else float(v)
    return out


@pytest.mark.parametrize("key", EXAMPLE_KEYS)
def test_equal_schedules_hash_alike(key):
    spec = example_spec(key)
    a, b = build(spec), outcome(lambda: build(as_floats(spec)))
    if b is None:  # an argument that must be an integer
        return
    assert a == b and hash(a) == hash(b), (repr(a), repr(b))
    assert len({a, b}) == 1


def test_repr_is_a_config_past_16_entries_and_8_pieces():
    many = jaxlr.multistep_decay(1.0, list(range(10, 410, 10)), gamma=0.9)
    assert jaxlr.from_config(repr(many)) == many
    pieces = jaxlr.join([jaxlr.cosine_decay(1.0, 10 + i) for i in range(12)], list(range(10, 120, 10)))
    assert jaxlr.from_config(repr(pieces)) == pieces
    assert eval(repr(pieces), vars(jaxlr)) == pieces


# ---------------------------------------------------------------------------------------
# Traced hyperparameters keep their meaning.


def test_wsd_fractions_of_a_traced_total():
    steps = jnp.arange(0, 400, 7)
    for total in (100, 400):
        concrete = jaxlr.wsd(1.0, total, 0.1, 0.2)(steps)
        traced = jax.jit(lambda t: jaxlr.wsd(1.0, t, 0.1, 0.2)(steps))(total)
        np.testing.assert_allclose(traced, concrete, atol=1e-6)
        traced_float = jax.jit(lambda t: jaxlr.wsd(1.0, t, 0.1, 0.2)(steps))(float(total))
        np.testing.assert_allclose(traced_float, concrete, atol=1e-6)
    batched = jax.vmap(lambda t: jaxlr.wsd(1.0, t, 0.1, 0.2)(steps))(jnp.array([100, 400]))
    np.testing.assert_allclose(batched[1], jaxlr.wsd(1.0, 400, 40, 80)(steps), atol=1e-6)


@settings(SETTINGS)
@given(spec=specs, big=st.integers(2**31, 2**53), t=st.integers(0, I32))
def test_any_family_with_a_huge_integer_is_exact_or_refused(spec, big, t):
    fields = integer_fields(spec)
    if not fields:
        return
    spec = with_field(spec, fields[0], big)
    schedule = outcome(lambda: build(spec))
    if schedule is None:
        return
    # Finite and non-negative; the value is the float64 reference's, which saturates at the
    # float32 max where a growth (a step_decay with gamma > 1 inside it) passes it by design.
    values = np.asarray(schedule(jnp.asarray([0, t, I32])), np.float64)
    assert np.all(np.isfinite(values)) and np.all(values >= 0), (repr(schedule), values)
    assert_matches_reference(spec, [0, t, I32])

