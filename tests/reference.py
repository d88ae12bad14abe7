"""Independent float64 references: each family written per step in plain Python, the way
the peer libraries write them, to check jaxlr's vectorised float32 versions against."""

from __future__ import annotations

import bisect
import math


def constant(t, value):
    return value


def polynomial(t, init_value, end_value, transition_steps, power=1.0, transition_begin=0, cycle=False):
    t = max(t - transition_begin, 0)
    length = transition_steps
    if cycle:
        length = transition_steps * (1 if t == 0 else math.ceil(t / transition_steps))
    else:
        t = min(t, length)
    return (init_value - end_value) * (1 - t / length) ** power + end_value


def linear(t, init_value, end_value, transition_steps, transition_begin=0):
    return polynomial(t, init_value, end_value, transition_steps, 1.0, transition_begin)


def step_decay(t, init_value, step_size, gamma=0.1):
    return init_value * gamma ** (t // step_size)


def multistep_decay(t, init_value, milestones, gamma=0.1):
    return init_value * gamma ** bisect.bisect_right(list(milestones), t)


def piecewise_constant(t, boundaries, values, inclusive=False):
    find = bisect.bisect_left if inclusive else bisect.bisect_right
    return values[find(list(boundaries), t)]


def piecewise_linear(t, steps, values):
    if t <= steps[0]:
        return values[0]
    if t >= steps[-1]:
        return values[-1]
    i = bisect.bisect_right(list(steps), t)
    x0, x1, y0, y1 = steps[i - 1], steps[i], values[i - 1], values[i]
    return y0 + (y1 - y0) * (t - x0) / (x1 - x0)


def exponential_decay(t, init_value, decay_rate, decay_steps=1, staircase=False, transition_begin=0,
                      end_value=None):
    t = max(t - transition_begin, 0)
    p = t // decay_steps if staircase else t / decay_steps
    value = init_value * decay_rate**p
    if end_value is not None:
        value = max(value, end_value) if decay_rate < 1 else min(value, end_value)
    return value


def inverse_time_decay(t, init_value, decay_rate, decay_steps=1, staircase=False):
    p = t // decay_steps if staircase else t / decay_steps
    return init_value / (1 + decay_rate * p)


def inverse_sqrt_decay(t, init_value, warmup_steps=0, timescale=None):
    if timescale is None:
        timescale = warmup_steps or 10_000
    if t < warmup_steps:
        return init_value * t / max(1, warmup_steps)
    return init_value / math.sqrt((t + timescale - warmup_steps) / timescale)


def cosine_decay(t, init_value, decay_steps, end_value=0.0, exponent=1.0, periodic=False):
    if periodic:
        t = t % (2 * decay_steps)
    else:
        t = min(t, decay_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * t / decay_steps))
    return end_value + (init_value - end_value) * cosine**exponent


def _warmup(t, init, peak, length, shape="linear"):
    q = 1.0 if length == 0 else min(t, length) / length
    if shape == "exponential":
        return init * (peak / init) ** q
    frac = {
        "linear": q,
        "cosine": 0.5 * (1 - math.cos(math.pi * q)),
        "1-sqrt": 1 - math.sqrt(1 - q),
    }[shape]
    return init + (peak - init) * frac


def linear_warmup(t, peak_value, warmup_steps, init_value=0.0):
    return _warmup(t, init_value, peak_value, warmup_steps)


def exponential_warmup(t, peak_value, warmup_steps, init_value):
    return _warmup(t, init_value, peak_value, warmup_steps, "exponential")


def warmup_then(t, schedule, warmup_steps, init_value=0.0, shape="linear"):
    if t < warmup_steps:
        return _warmup(t, init_value, schedule(0), warmup_steps, shape)
    return schedule(t - warmup_steps)


def warmup_cosine(t, peak_value, warmup_steps, total_steps, init_value=0.0, end_value=0.0, exponent=1.0):
    if t < warmup_steps:
        return _warmup(t, init_value, peak_value, warmup_steps)
    length = total_steps - warmup_steps
    p = 1.0 if length == 0 else min(t - warmup_steps, length) / length
    return end_value + (peak_value - end_value) * (0.5 * (1 + math.cos(math.pi * p))) ** exponent


def warmup_linear(t, peak_value, warmup_steps, total_steps, init_value=0.0, end_value=0.0):
    if t < warmup_steps:
        return _warmup(t, init_value, peak_value, warmup_steps)
    frac = max(0.0, (total_steps - t) / max(1, total_steps - warmup_steps))
    return end_value + (peak_value - end_value) * frac


def warmup_exponential(t, peak_value, warmup_steps, decay_rate, decay_steps=1, init_value=0.0,
                       staircase=False, end_value=None):
    if t < warmup_steps:
        return _warmup(t, init_value, peak_value, warmup_steps)
    return exponential_decay(t - warmup_steps, peak_value, decay_rate, decay_steps, staircase, 0, end_value)


def per_epoch(t, schedule, steps_per_epoch, staircase=True):
    return schedule(t // steps_per_epoch if staircase else t / steps_per_epoch)
