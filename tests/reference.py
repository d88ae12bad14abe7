"""Independent float64 references: each family written per step in plain Python, the way
the peer libraries write them, to check jaxlr's vectorised float32 versions against."""

from __future__ import annotations

import bisect
import math


def half_cosine(p, left=None):
    """``½(1 + cos πp)``, written ``sin²(π(1 - p)/2)``: the same number, without float64's
    cancellation of ``1 + cos`` near ``p = 1`` (it gives 0 one step before the end of a
    2**31-step decay, where the value is 5e-19). ``left`` is ``1 - p`` when the caller has
    it exactly."""
    return math.sin(0.5 * math.pi * ((1 - p) if left is None else left)) ** 2

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
    try:
        value = init_value * decay_rate**p
    except OverflowError:
        value = math.inf
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
    cosine = half_cosine(t / decay_steps, (decay_steps - t) / decay_steps)
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


def warmup_then(t, schedule, warmup_steps, init_value=0.0, shape="linear", shift=True):
    if t < warmup_steps:
        target = schedule(0) if shift else schedule(t)
        if shape == "exponential" and target <= 0:
            return init_value  # a geometric ramp has no way to 0: it holds its start
        return _warmup(t, init_value, target, warmup_steps, shape)
    return schedule(t - warmup_steps) if shift else schedule(t)


def warmup_cosine(t, peak_value, warmup_steps, total_steps, init_value=0.0, end_value=0.0, exponent=1.0):
    if t < warmup_steps:
        return _warmup(t, init_value, peak_value, warmup_steps)
    length = total_steps - warmup_steps
    p = 1.0 if length == 0 else min(t - warmup_steps, length) / length
    return end_value + (peak_value - end_value) * half_cosine(p) ** exponent


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


# --- issue 3: cyclic, restarts, large-model families and combinators ---------------------


def cosine_restarts(t, init_value, first_period, period_mul=1.0, value_mul=1.0, end_value=0.0, warmup_steps=0,
                    cycles=None):
    if period_mul == 1:
        index, length = t // first_period, first_period
        start = index * first_period
    else:
        index, start, length = 0, 0.0, first_period
        while t >= start + length:
            start, length, index = start + length, length * period_mul, index + 1
    position = t - start
    if cycles is not None and index >= cycles:
        return end_value
    peak = end_value + (init_value - end_value) * value_mul**index
    if position < warmup_steps:
        return end_value + (peak - end_value) * position / warmup_steps
    p = (position - warmup_steps) / (length - warmup_steps)
    return end_value + (peak - end_value) * half_cosine(p)


def _torch_cycle(t, step_size_up, step_size_down, mode, gamma):
    # torch.optim.lr_scheduler.CyclicLR.get_lr, verbatim in its arithmetic: the ramp and its scale
    down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + down
    ratio = step_size_up / total
    cycle = math.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    g = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma**t}[mode]
    return scale, g


def cyclic(t, base_value, max_value, step_size_up, step_size_down=None, mode="triangular", gamma=1.0):
    scale, g = _torch_cycle(t, step_size_up, step_size_down, mode, gamma)
    return base_value + (max_value - base_value) * scale * g


def _torch_one_cycle(t, total_steps, pct_start, anneal, three_phase, a, b, c, d):
    # torch.optim.lr_scheduler.OneCycleLR.get_lr through the values (a, b, c, d) its phases join
    if three_phase:
        phases = [(pct_start * total_steps - 1, a, b), (2 * pct_start * total_steps - 2, b, c),
                  (total_steps - 1, c, d)]
    else:
        phases = [(pct_start * total_steps - 1, a, b), (total_steps - 1, b, d)]
    if t > total_steps - 1:
        return d
    start = 0
    for i, (end, first, then) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            pct = (t - start) / (end - start)
            if anneal == "cos":
                return then + (first - then) / 2.0 * (math.cos(math.pi * pct) + 1)
            return (then - first) * pct + first
        start = end
    raise AssertionError


def one_cycle(t, max_value, total_steps, pct_start=0.3, anneal="cos", div_factor=25.0, final_div_factor=1e4,
              three_phase=False):
    # the rate; past total_steps - 1 the minimum holds
    initial = max_value / div_factor
    minimum = initial / final_div_factor
    return _torch_one_cycle(t, total_steps, pct_start, anneal, three_phase, initial, max_value, initial, minimum)


def one_cycle_momentum(t, total_steps, base_momentum=0.85, max_momentum=0.95, pct_start=0.3, anneal="cos",
                       three_phase=False):
    # the momentum torch sets; past total_steps - 1 max_momentum holds
    return _torch_one_cycle(t, total_steps, pct_start, anneal, three_phase, max_momentum, base_momentum, max_momentum,
                            max_momentum)


def cyclic_momentum(t, base_momentum, max_momentum, step_size_up, step_size_down=None, mode="triangular", gamma=1.0):
    scale, g = _torch_cycle(t, step_size_up, step_size_down, mode, gamma)
    return max_momentum - (max_momentum - base_momentum) * scale * g


def with_momentum(t, schedule, momentum):
    return schedule(t)


def wsd(t, peak_value, total_steps, warmup_steps, decay_steps, init_value=0.0, end_value=0.0,
        decay_shape="linear", warmup_shape="linear"):
    if isinstance(warmup_steps, float) and 0 < warmup_steps < 1:
        warmup_steps = round(warmup_steps * total_steps)
    if isinstance(decay_steps, float) and 0 < decay_steps < 1:
        decay_steps = round(decay_steps * total_steps)
    if t < warmup_steps:
        return _warmup(t, init_value, peak_value, warmup_steps, warmup_shape)
    if t < total_steps - decay_steps:
        return peak_value
    if t >= total_steps:
        return end_value
    q = (t - (total_steps - decay_steps)) / decay_steps
    if decay_shape == "exponential":
        return peak_value * (end_value / peak_value) ** q
    w = {"linear": 1 - q, "cosine": half_cosine(q), "1-sqrt": 1 - math.sqrt(q)}[decay_shape]
    return end_value + (peak_value - end_value) * w


def noam(t, d_model, warmup_steps, scale=1.0):
    decay = t**-0.5 if t > 0 else math.inf
    return scale * d_model**-0.5 * min(decay, t * warmup_steps**-1.5)


def rex_decay(t, init_value, total_steps, end_value=0.0):
    z = 1 - min(t, total_steps) / total_steps
    return end_value + (init_value - end_value) * z / (0.5 + 0.5 * z)


def tanh_decay(t, init_value, decay_steps, end_value=0.0, lower=-7.0, upper=3.0):
    if t >= decay_steps:
        return end_value
    r = t / decay_steps
    return end_value + (init_value - end_value) * 0.5 * (1 - math.tanh(lower * (1 - r) + upper * r))


def scale(t, schedule, factor):
    return factor * schedule(t)


def clip(t, schedule, min_value=None, max_value=None):
    value = schedule(t)
    if min_value is not None:
        value = max(value, min_value)
    if max_value is not None:
        value = min(value, max_value)
    return value


def multiply(t, first, second):
    return first(t) * second(t)


def shift(t, schedule, steps):
    if steps < 0 and float(steps).is_integer():
        t = min(t, 2**31 - 1 + steps)  # an integer step advanced past the largest int32 step stops there
    return schedule(max(t - steps, 0))


def repeat(t, schedule, period):
    return schedule(t % period)


def cooldown(t, schedule, total_steps, cooldown_steps, shape="linear"):
    start = total_steps - cooldown_steps
    if t < start:
        return schedule(t)
    if t >= total_steps:
        return 0.0
    q = (t - start) / cooldown_steps
    w = {"linear": 1 - q, "cosine": half_cosine(q), "1-sqrt": 1 - math.sqrt(q)}[shape]
    return schedule(t) * w


def join(t, schedules, boundaries):
    k = bisect.bisect_right(list(boundaries), t)
    return schedules[k](t - (boundaries[k - 1] if k else 0))


def from_fn(t, fn, **params):
    return fn(t, **params)
