"""One eager call on the host, ``float(schedule(step))``: what logging the rate every step, a
plot or a PyTorch-style host loop pays per call. jaxlr against the optax schedule it matches
and against torch's ``scheduler.step()`` plus ``get_last_lr()``, interleaved, per call.

jaxlr runs one cached compiled evaluation per plan (``jaxlr/_eager.py``); its first call
compiles it, which the ``first call`` column shows. The last rows build a new schedule for
every call (a new peak value each time): its plan is already compiled, so the cost is the
construction (with its validation) and one call.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import optax

import jaxlr
from benchmarks.schedules import PAIRS
from benchmarks.sizes import Sizes
from jaxlr.compat import torch as torch_compat


def _torch_schedulers() -> dict[str, Callable]:
    """The torch scheduler matching each row, built on an SGD optimizer at lr 1e-3."""
    return {
        "constant": lambda s, o: s.ConstantLR(o, factor=1.0, total_iters=0),
        "linear": lambda s, o: s.LinearLR(o, 1.0, 0.01, 10_000),
        "polynomial": lambda s, o: s.PolynomialLR(o, 10_000, 2.0),
        "exponential_decay": lambda s, o: s.ExponentialLR(o, 0.5 ** (1 / 1000)),
        "exponential_decay (staircase)": lambda s, o: s.StepLR(o, 1000, 0.5),
        "cosine_decay": lambda s, o: s.CosineAnnealingLR(o, 10_000),
        "piecewise_constant": lambda s, o: s.MultiStepLR(o, [1000, 5000, 9000], 0.5),
        "warmup_cosine": lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, 0.01, 1.0, 500), s.CosineAnnealingLR(o, 9_500)], [500]),
        "warmup_exponential": lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, 0.01, 1.0, 500), s.ExponentialLR(o, 0.5 ** (1 / 1000))], [500]),
        "join of 2 pieces": lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, 0.01, 1.0, 500), s.CosineAnnealingLR(o, 9_500)], [500]),
        "LambdaLR": lambda s, o: s.LambdaLR(o, lambda t: 0.999**t),
    }


def _rows() -> list[tuple[str, Callable, Callable | None]]:
    """(name, jaxlr call, optax call): each call maps a step to a float."""
    rows: list[tuple[str, Callable, Callable | None]] = [
        (name, ours, theirs) for name, ours, theirs in PAIRS
    ]
    rows += [
        ("exponential_decay (staircase)", jaxlr.exponential_decay(1e-3, 0.5, 1000, staircase=True),
         optax.exponential_decay(1e-3, 1000, 0.5, staircase=True)),
        ("join of 2 pieces", jaxlr.join([jaxlr.linear_warmup(1e-3, 500), jaxlr.cosine_decay(1e-3, 9_500)], [500]),
         optax.join_schedules([optax.linear_schedule(0.0, 1e-3, 500), optax.cosine_decay_schedule(1e-3, 9_500)],
                              [500])),
        ("optax.join_schedules of jaxlr pieces",
         optax.join_schedules([jaxlr.linear_warmup(1e-3, 500), jaxlr.cosine_decay(1e-3, 9_500)], [500]),
         optax.join_schedules([optax.linear_schedule(0.0, 1e-3, 500), optax.cosine_decay_schedule(1e-3, 9_500)],
                              [500])),
        ("LambdaLR", torch_compat.LambdaLR(1e-3, _decay), None),
    ]
    return [(name, _caller(ours), None if theirs is None else _caller(theirs)) for name, ours, theirs in rows]


def _decay(t):
    return 0.999**t


def _caller(schedule: Callable) -> Callable[[int], float]:
    return lambda step: float(schedule(step))


class _NewPeak:
    """A new schedule for every call: ``make(peak)(step)`` with a peak not seen before."""

    def __init__(self, make: Callable[[float], Callable]) -> None:
        self.make, self.calls = make, 0

    def __call__(self, step: int) -> float:
        self.calls += 1
        return float(self.make(1e-3 * (1.0 + 1e-6 * self.calls))(step))


def _new_schedule_rows() -> list[tuple[str, Callable, Callable | None]]:
    return [
        ("warmup_cosine, a new one per call", _NewPeak(lambda p: jaxlr.warmup_cosine(p, 500, 10_000)),
         _NewPeak(lambda p: optax.warmup_cosine_decay_schedule(0.0, p, 500, 10_000))),
        ("LambdaLR, a new one per call", _NewPeak(lambda p: torch_compat.LambdaLR(p, _decay)), None),
    ]


def _per_call(fns: list[Callable[[int], object] | None], calls: int, repetitions: int) -> list[float | None]:
    """Median seconds per call of each function over ``calls`` consecutive steps, the
    functions taking turns within each repetition (after one warm-up round)."""
    samples: list[list[float]] = [[] for _ in fns]
    for repetition in range(repetitions + 1):
        for i, fn in enumerate(fns):
            if fn is None:
                continue
            start = time.perf_counter()
            for step in range(calls):
                fn(step)
            if repetition:
                samples[i].append((time.perf_counter() - start) / calls)
    return [statistics.median(s) if s else None for s in samples]


def _torch_callers(names: list[str]) -> dict[str, Callable[[int], float]]:
    """``scheduler.step()`` then ``get_last_lr()`` per call, for the rows torch has."""
    try:
        import torch
    except ImportError:
        return {}
    makers = _torch_schedulers()
    callers = {}
    for name in names:
        if name not in makers:
            continue
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        optimizer.step()  # torch warns when a scheduler steps before its optimizer ever has
        scheduler = makers[name](torch.optim.lr_scheduler, optimizer)

        def call(step: int, scheduler=scheduler) -> float:
            scheduler.step()
            return scheduler.get_last_lr()[0]

        callers[name] = call
    return callers


def measure(sizes: Sizes, results: dict) -> dict:
    rows = []
    plain = _rows()
    torch_callers = _torch_callers([name for name, _, _ in plain])
    for name, ours, theirs in plain + _new_schedule_rows():
        start = time.perf_counter()
        ours(0)
        first = time.perf_counter() - start
        t_ours, t_theirs, t_torch = _per_call([ours, theirs, torch_callers.get(name)], sizes.eager_calls,
                                              sizes.eager_repetitions)
        rows.append({
            "schedule": name,
            "jaxlr_us": 1e6 * t_ours,
            "optax_us": None if t_theirs is None else 1e6 * t_theirs,
            "ratio": None if t_theirs is None else t_ours / t_theirs,
            "torch_us": None if t_torch is None else 1e6 * t_torch,
            "first_call_ms": 1e3 * first,
        })
        ratio = "" if t_theirs is None else f" x{t_ours / t_theirs:.2f} optax"
        print(f"  eager {name:38s} {1e6 * t_ours:8.1f} us/call{ratio}", flush=True)
    return {"eager": {"calls": sizes.eager_calls, "rows": rows}}


def _us(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}"


def report(results: dict) -> list[str]:
    eager = results["eager"]
    lines = [
        "",
        "## Eager calls: `float(schedule(step))` on the host",
        "",
        f"Per call, the median over {eager['calls']:,} consecutive steps, jaxlr, optax and torch taking turns. "
        "torch: `scheduler.step()` then `get_last_lr()`. jaxlr's first call compiles its evaluation, once per "
        "plan; the last rows build a new schedule (a new peak) for every call.",
        "",
        "| schedule | jaxlr µs | optax µs | jaxlr / optax | torch µs | jaxlr first call ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in eager["rows"]:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(f"| {r['schedule']} | {_us(r['jaxlr_us'])} | {_us(r['optax_us'])} | {ratio} | "
                     f"{_us(r['torch_us'])} | {r['first_call_ms']:.1f} |")
    return lines
