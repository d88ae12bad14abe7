"""Timing helpers every measurement shares: interleaved medians, compile time, jaxpr size."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def interleaved_medians(fns: list[Callable[[], object]], repetitions: int, warmup: int = 3) -> list[float]:
    """Median seconds of each function, the functions run in turn within each repetition."""
    for fn in fns:
        for _ in range(warmup):
            jax.block_until_ready(fn())
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repetitions):
        for i, fn in enumerate(fns):
            samples[i].append(timed(fn))
    return [statistics.median(s) for s in samples]


def compile_seconds(fn: Callable, *args) -> float:
    """Lowering plus compilation of a fresh jit of ``fn``.

    JAX caches traces and executables per function object: a new wrapper each time makes
    every measurement a real trace, lowering and compilation.
    """
    start = time.perf_counter()
    jax.jit(lambda *a: fn(*a)).lower(*args).compile()
    return time.perf_counter() - start


def jaxpr_size(fn: Callable, *args) -> int:
    return len(jax.make_jaxpr(fn)(*args).eqns)


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
