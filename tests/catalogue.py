"""Every public family, as hypothesis strategies of valid arguments and fixed examples.

A spec is ``{"name": family, **arguments}``; an argument that is itself a spec (the inner
schedule of a combinator) is built recursively. ``build`` makes the jaxlr schedule,
``reference`` the float64 per-step reference of tests/reference.py from the same spec.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

import jaxlr
from tests import reference

values = st.floats(1e-5, 10.0)
# Zero or a normal float32: a nonzero value that float32 flushes to 0 is refused.
small_values = st.just(0.0) | st.floats(1e-30, 1e-3)
lengths = st.integers(1, 3000)
begins = st.integers(0, 500)
rates = st.floats(0.05, 0.999)
growth_rates = st.floats(1.0001, 1.5)
powers = st.floats(0.25, 4.0)


def _normal(x):
    """0 for a float that float32 would flush to 0 (refused as a nonzero argument)."""
    return 0.0 if abs(x) < 1e-30 else x


@st.composite
def increasing(draw, min_size=1, max_size=8, low=0, high=10_000):
    points = draw(st.lists(st.integers(low, high), min_size=min_size, max_size=max_size, unique=True))
    return sorted(points)


@st.composite
def warmup_total(draw):
    total = draw(st.integers(1, 5000))
    return draw(st.integers(0, total - 1)), total


@st.composite
def _polynomial(draw):
    return dict(name="polynomial", init_value=draw(values), end_value=draw(small_values),
                transition_steps=draw(lengths), power=draw(powers), transition_begin=draw(begins),
                cycle=draw(st.booleans()))


@st.composite
def _multistep(draw):
    return dict(name="multistep_decay", init_value=draw(values), milestones=draw(increasing(0)),
                gamma=draw(st.floats(0.05, 2.0)))


@st.composite
def _piecewise_constant(draw):
    boundaries = draw(increasing(0))
    vals = draw(st.lists(values, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1))
    return dict(name="piecewise_constant", boundaries=boundaries, values=vals, inclusive=draw(st.booleans()))


@st.composite
def _piecewise_linear(draw):
    steps = draw(increasing(1))
    vals = draw(st.lists(values, min_size=len(steps), max_size=len(steps)))
    return dict(name="piecewise_linear", steps=steps, values=vals)


@st.composite
def _exponential(draw):
    growth = draw(st.booleans())
    rate = draw(growth_rates if growth else rates)
    end = draw(st.none() | (st.floats(1.0, 100.0) if growth else small_values))
    return dict(name="exponential_decay", init_value=draw(values), decay_rate=rate, decay_steps=draw(lengths),
                staircase=draw(st.booleans()), transition_begin=draw(begins), end_value=end)


@st.composite
def _inverse_sqrt(draw):
    return dict(name="inverse_sqrt_decay", init_value=draw(values), warmup_steps=draw(st.integers(0, 3000)),
                timescale=draw(st.none() | lengths))


@st.composite
def _cosine(draw):
    return dict(name="cosine_decay", init_value=draw(values), decay_steps=draw(lengths),
                end_value=draw(small_values), exponent=draw(powers), periodic=draw(st.booleans()))


@st.composite
def _warmup_cosine(draw):
    warmup, total = draw(warmup_total())
    return dict(name="warmup_cosine", peak_value=draw(values), warmup_steps=warmup, total_steps=total,
                init_value=draw(small_values), end_value=draw(small_values), exponent=draw(powers))


@st.composite
def _warmup_linear(draw):
    warmup, total = draw(warmup_total())
    return dict(name="warmup_linear", peak_value=draw(values), warmup_steps=warmup, total_steps=total,
                init_value=draw(small_values), end_value=draw(small_values))


@st.composite
def _warmup_exponential(draw):
    return dict(name="warmup_exponential", peak_value=draw(values), warmup_steps=draw(st.integers(0, 3000)),
                decay_rate=draw(rates), decay_steps=draw(lengths), init_value=draw(small_values),
                staircase=draw(st.booleans()), end_value=draw(st.none() | small_values))


@st.composite
def _warmup_then(draw):
    shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt", "exponential"]))
    init = draw(st.floats(1e-6, 1e-3)) if shape == "exponential" else draw(small_values)
    return dict(name="warmup_then", schedule=draw(st.one_of(*LEAF_STRATEGIES)),
                warmup_steps=draw(st.integers(0, 3000)), init_value=init, shape=shape, shift=draw(st.booleans()))


@st.composite
def _per_epoch(draw):
    return dict(name="per_epoch", schedule=draw(st.one_of(*LEAF_STRATEGIES)),
                steps_per_epoch=draw(st.integers(1, 500)), staircase=draw(st.booleans()))


@st.composite
def _cosine_restarts(draw):
    first = draw(st.integers(2, 2000))
    return dict(name="cosine_restarts", init_value=draw(values), first_period=first,
                # float32 values: a period_mul that rounds to 1 from above is refused by design.
                period_mul=draw(st.sampled_from([1.0, 1.0, 2.0, 3.0]) | st.floats(1.0, 3.0, width=32)),
                value_mul=draw(st.floats(0.1, 1.0)), end_value=draw(small_values),
                warmup_steps=draw(st.integers(0, first - 1)), cycles=draw(st.none() | st.integers(1, 20)))


@st.composite
def _cyclic(draw):
    return dict(name="cyclic", base_value=draw(small_values), max_value=draw(values),
                step_size_up=draw(st.integers(1, 2000)), step_size_down=draw(st.none() | st.integers(1, 2000)),
                mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                gamma=draw(st.floats(0.99, 1.0)))


@st.composite
def _one_cycle(draw):
    total = draw(st.integers(10, 5000))
    three = draw(st.booleans())
    pct = draw(st.floats(2.0 / total, 0.45 if three else 0.95))
    return dict(name="one_cycle", max_value=draw(values), total_steps=total, pct_start=pct,
                anneal=draw(st.sampled_from(["cos", "linear"])), div_factor=draw(st.floats(1.0, 100.0)),
                final_div_factor=draw(st.floats(1.0, 1e4)), three_phase=three)


momenta = st.just(0.0) | st.floats(1e-6, 1.0)


@st.composite
def _one_cycle_momentum(draw):
    total = draw(st.integers(10, 5000))
    three = draw(st.booleans())
    pct = draw(st.floats(2.0 / total, 0.45 if three else 0.95))
    return dict(name="one_cycle_momentum", total_steps=total, base_momentum=draw(momenta),
                max_momentum=draw(momenta), pct_start=pct, anneal=draw(st.sampled_from(["cos", "linear"])),
                three_phase=three)


@st.composite
def _cyclic_momentum(draw):
    return dict(name="cyclic_momentum", base_momentum=draw(momenta), max_momentum=draw(momenta),
                step_size_up=draw(st.integers(1, 2000)), step_size_down=draw(st.none() | st.integers(1, 2000)),
                mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                gamma=draw(st.floats(0.99, 1.0)))


@st.composite
def _with_momentum(draw):
    return dict(name="with_momentum", schedule=draw(st.one_of(*LEAF_STRATEGIES)),
                momentum=draw(st.one_of(_one_cycle_momentum(), _cyclic_momentum())))


@st.composite
def _wsd(draw):
    total = draw(st.integers(1, 5000))
    warmup = draw(st.integers(0, total))
    decay = draw(st.integers(0, total - warmup))
    decay_shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt", "exponential"]))
    warmup_shape = draw(st.sampled_from(["linear", "cosine", "1-sqrt", "exponential"]))
    end = draw(st.floats(1e-6, 1e-3) if decay_shape == "exponential" else small_values)
    init = draw(st.floats(1e-6, 1e-3) if warmup_shape == "exponential" else small_values)
    return dict(name="wsd", peak_value=draw(values), total_steps=total, warmup_steps=warmup, decay_steps=decay,
                init_value=init, end_value=end, decay_shape=decay_shape, warmup_shape=warmup_shape)


@st.composite
def _tanh(draw):
    lower = draw(st.floats(-10.0, 0.0).map(_normal))
    return dict(name="tanh_decay", init_value=draw(values), decay_steps=draw(lengths), end_value=draw(small_values),
                lower=lower, upper=draw(st.floats(lower, 10.0).map(_normal)))


@st.composite
def _join(draw):
    pieces = draw(st.lists(st.one_of(*LEAF_STRATEGIES), min_size=1, max_size=4))
    boundaries = draw(increasing(len(pieces) - 1, len(pieces) - 1, 0, 5000))
    return dict(name="join", schedules=pieces, boundaries=boundaries)


@st.composite
def _cooldown(draw):
    total = draw(st.integers(1, 5000))
    return dict(name="cooldown", schedule=draw(st.one_of(*LEAF_STRATEGIES)), total_steps=total,
                cooldown_steps=draw(st.integers(0, total)), shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])))


@st.composite
def _clip(draw):
    low = draw(st.none() | small_values)
    high = draw(st.none() | st.floats(max(low, 1e-30), 10.0)) if low is not None else draw(values)
    return dict(name="clip", schedule=draw(st.one_of(*LEAF_STRATEGIES)), min_value=low, max_value=high)


def _simple(name, **fields):
    return st.fixed_dictionaries({"name": st.just(name), **fields})


LEAF_STRATEGIES = [
    _simple("constant", value=values),
    _polynomial(),
    _simple("linear", init_value=values, end_value=values, transition_steps=lengths, transition_begin=begins),
    _simple("step_decay", init_value=values, step_size=lengths, gamma=st.floats(0.05, 2.0)),
    _multistep(),
    _piecewise_constant(),
    _piecewise_linear(),
    _exponential(),
    _simple("inverse_time_decay", init_value=values, decay_rate=st.floats(0.01, 10.0), decay_steps=lengths,
            staircase=st.booleans()),
    _inverse_sqrt(),
    _cosine(),
    _simple("linear_warmup", peak_value=values, warmup_steps=st.integers(0, 3000), init_value=small_values),
    _simple("exponential_warmup", peak_value=values, warmup_steps=st.integers(0, 3000),
            init_value=st.floats(1e-6, 1e-3)),
    _warmup_cosine(),
    _warmup_linear(),
    _warmup_exponential(),
    _cosine_restarts(),
    _cyclic(),
    _one_cycle(),
    _one_cycle_momentum(),
    _cyclic_momentum(),
    _wsd(),
    _simple("noam", d_model=st.integers(1, 4096), warmup_steps=lengths, scale=st.just(0.0) | st.floats(1e-30, 10.0)),
    _simple("rex_decay", init_value=values, total_steps=lengths, end_value=small_values),
    _tanh(),
]
ALL_STRATEGIES = [
    *LEAF_STRATEGIES,
    _warmup_then(),
    _per_epoch(),
    _join(),
    _cooldown(),
    _clip(),
    _with_momentum(),
    st.fixed_dictionaries({"name": st.just("scale"), "schedule": st.one_of(*LEAF_STRATEGIES), "factor": values}),
    st.fixed_dictionaries({"name": st.just("multiply"), "first": st.one_of(*LEAF_STRATEGIES),
                           "second": st.one_of(*LEAF_STRATEGIES)}),
    st.fixed_dictionaries({"name": st.just("shift"), "schedule": st.one_of(*LEAF_STRATEGIES),
                           "steps": st.integers(-500, 500)}),
    st.fixed_dictionaries({"name": st.just("repeat"), "schedule": st.one_of(*LEAF_STRATEGIES), "period": lengths}),
]
specs = st.one_of(*ALL_STRATEGIES)
"""A valid spec of any family."""

def _is_specs(v):
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _resolve(v, of):
    if isinstance(v, dict):
        return of(v)
    if _is_specs(v):
        return [of(x) for x in v]
    return v


def build(spec):
    """The jaxlr schedule of a spec."""
    kwargs = {k: _resolve(v, build) for k, v in spec.items() if k != "name"}
    return getattr(jaxlr, spec["name"])(**kwargs)


def reference_of(spec):
    """The float64 reference ``t -> value`` of a spec."""
    kwargs = {k: _resolve(v, reference_of) for k, v in spec.items() if k != "name"}
    fn = getattr(reference, spec["name"])
    return lambda t: fn(t, **kwargs)


# Fixed, representative examples: every family, every numeric argument non-trivial.
EXAMPLES = {
    "constant": dict(value=0.3),
    "polynomial": dict(init_value=1.0, end_value=0.01, transition_steps=100, power=2.0, transition_begin=10),
    "polynomial:cycle": dict(init_value=1.0, end_value=0.01, transition_steps=100, power=0.5, cycle=True),
    "linear": dict(init_value=0.1, end_value=0.9, transition_steps=50, transition_begin=5),
    "step_decay": dict(init_value=0.5, step_size=30, gamma=0.5),
    "multistep_decay": dict(init_value=0.5, milestones=[10, 40, 90], gamma=0.3),
    "piecewise_constant": dict(boundaries=[10, 40, 90], values=[0.4, 0.3, 0.2, 0.1]),
    "piecewise_constant:inclusive": dict(boundaries=[10, 40], values=[0.4, 0.3, 0.2], inclusive=True),
    "piecewise_linear": dict(steps=[5, 20, 80], values=[0.0, 1.0, 0.1]),
    "exponential_decay": dict(init_value=1.0, decay_rate=0.9, decay_steps=7, transition_begin=3,
                              end_value=0.2),
    "exponential_decay:growth": dict(init_value=1e-6, decay_rate=1.5, decay_steps=2),
    "exponential_decay:staircase": dict(init_value=1.0, decay_rate=0.5, decay_steps=10, staircase=True),
    "inverse_time_decay": dict(init_value=1.0, decay_rate=0.5, decay_steps=10),
    "inverse_sqrt_decay": dict(init_value=1.0, warmup_steps=20, timescale=30),
    "cosine_decay": dict(init_value=1.0, decay_steps=100, end_value=0.1, exponent=1.5),
    "cosine_decay:periodic": dict(init_value=1.0, decay_steps=100, end_value=0.1, periodic=True),
    "linear_warmup": dict(peak_value=1.0, warmup_steps=20, init_value=0.1),
    "exponential_warmup": dict(peak_value=1.0, warmup_steps=20, init_value=1e-3),
    "warmup_cosine": dict(peak_value=1.0, warmup_steps=20, total_steps=120, init_value=0.1, end_value=0.05,
                          exponent=2.0),
    "warmup_linear": dict(peak_value=1.0, warmup_steps=20, total_steps=120, init_value=0.1, end_value=0.05),
    "warmup_exponential": dict(peak_value=1.0, warmup_steps=20, decay_rate=0.5, decay_steps=25,
                               init_value=0.1, end_value=0.05),
    "warmup_then": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100},
                        warmup_steps=20, init_value=0.1, shape="cosine"),
    "warmup_then:exponential": dict(schedule={"name": "step_decay", "init_value": 1.0, "step_size": 30},
                                    warmup_steps=20, init_value=1e-3, shape="exponential"),
    "warmup_then:absolute": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100},
                                 warmup_steps=20, init_value=0.1, shape="1-sqrt", shift=False),
    "per_epoch": dict(schedule={"name": "multistep_decay", "init_value": 1.0, "milestones": [2, 5]},
                      steps_per_epoch=10),
    "cosine_restarts": dict(init_value=1.0, first_period=30, value_mul=0.7, end_value=0.05, warmup_steps=5,
                            cycles=6),
    "cosine_restarts:geometric": dict(init_value=1.0, first_period=10, period_mul=2.0, value_mul=0.9),
    "cyclic": dict(base_value=0.1, max_value=1.0, step_size_up=20, step_size_down=30),
    "cyclic:triangular2": dict(base_value=0.1, max_value=1.0, step_size_up=15, mode="triangular2"),
    "cyclic:exp_range": dict(base_value=0.1, max_value=1.0, step_size_up=15, mode="exp_range", gamma=0.9),
    "one_cycle": dict(max_value=1.0, total_steps=100),
    "one_cycle:three_phase": dict(max_value=1.0, total_steps=100, pct_start=0.25, anneal="linear",
                                  div_factor=10.0, final_div_factor=100.0, three_phase=True),
    "one_cycle_momentum": dict(total_steps=100, base_momentum=0.8, max_momentum=0.9),
    "one_cycle_momentum:three_phase": dict(total_steps=100, base_momentum=0.85, max_momentum=0.9, pct_start=0.25,
                                           anneal="linear", three_phase=True),
    "cyclic_momentum": dict(base_momentum=0.8, max_momentum=0.9, step_size_up=20, step_size_down=30),
    "cyclic_momentum:exp_range": dict(base_momentum=0.8, max_momentum=0.9, step_size_up=15, mode="exp_range",
                                      gamma=0.9),
    "with_momentum": dict(schedule={"name": "one_cycle", "max_value": 1.0, "total_steps": 100},
                          momentum={"name": "one_cycle_momentum", "total_steps": 100, "base_momentum": 0.8,
                                    "max_momentum": 0.9}),
    "wsd": dict(peak_value=1.0, total_steps=100, warmup_steps=10, decay_steps=30, init_value=0.1, end_value=0.05,
                decay_shape="1-sqrt", warmup_shape="cosine"),
    "wsd:exponential": dict(peak_value=1.0, total_steps=100, warmup_steps=10, decay_steps=30, end_value=0.01,
                            decay_shape="exponential"),
    "noam": dict(d_model=512, warmup_steps=40, scale=2.0),
    "rex_decay": dict(init_value=1.0, total_steps=100, end_value=0.1),
    "tanh_decay": dict(init_value=1.0, decay_steps=100, end_value=0.1, lower=-6.0, upper=4.0),
    "scale": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100}, factor=0.3),
    "clip": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100}, min_value=0.1,
                 max_value=0.8),
    "multiply": dict(first={"name": "linear_warmup", "peak_value": 1.0, "warmup_steps": 20},
                     second={"name": "exponential_decay", "init_value": 0.5, "decay_rate": 0.99}),
    "shift": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100}, steps=25),
    "shift:advance": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 100, "end_value": 0.1},
                          steps=-7),
    "repeat": dict(schedule={"name": "linear", "init_value": 1.0, "end_value": 0.1, "transition_steps": 30},
                   period=40),
    "cooldown": dict(schedule={"name": "cosine_decay", "init_value": 1.0, "decay_steps": 200}, total_steps=100,
                     cooldown_steps=30, shape="cosine"),
    "join": dict(schedules=[{"name": "linear_warmup", "peak_value": 1.0, "warmup_steps": 20},
                            {"name": "cosine_decay", "init_value": 1.0, "decay_steps": 50},
                            {"name": "cosine_decay", "init_value": 0.5, "decay_steps": 30, "end_value": 0.1},
                            {"name": "constant", "value": 0.1}],
                 boundaries=[20, 70, 100]),
    "from_fn": dict(fn=lambda t, peak, half_life: peak / (1.0 + t / half_life), peak=1.0, half_life=50.0),
}


def example_spec(key):
    return {"name": key.split(":")[0], **EXAMPLES[key]}


def numeric_fields(spec):
    """Names of the numeric (leaf) arguments of a spec, nested ones excluded."""
    cls = getattr(jaxlr, spec["name"])
    static = {f.name for f in dataclasses.fields(cls) if f.metadata.get("static")}
    return [k for k, v in spec.items()
            if k != "name" and k not in static and v is not None and not isinstance(v, dict) and not _is_specs(v)]


def probe_steps(spec, extra=()):
    """Steps worth checking: 0, every number in the spec and its neighbours, far past the end."""
    points = {0, 1, 2**31 - 1, 2**24 + 1, *extra}
    for v in spec.values():
        if isinstance(v, dict):
            points |= set(probe_steps(v))
        elif _is_specs(v):
            for inner in v:
                points |= set(probe_steps(inner))
        elif callable(v):
            continue
        elif not isinstance(v, str | bool) and v is not None:
            for x in np.ravel(v):
                if float(x).is_integer() and 0 <= x < 2**31 - 2:
                    points |= {int(x) - 1, int(x), int(x) + 1}
    return sorted(p for p in points if p >= 0)


def family_without(spec, field):
    """The family of a spec and its other arguments built, to vary ``field`` alone."""
    kwargs = {k: _resolve(v, build) for k, v in spec.items() if k not in ("name", field)}
    return getattr(jaxlr, spec["name"]), kwargs
