"""The ``jaxlr`` command: list, evaluate, show and plot schedules from config strings.

    jaxlr list
    jaxlr eval "warmup_cosine(1e-3, 1000, 100_000)" --at 0,1000,50000
    jaxlr show "one_cycle(0.1, total_steps=1000)"
    jaxlr plot "cosine_decay(1.0, 1000)" "rex_decay(1.0, 1000)" --out lr.png --log

``show`` and ``plot`` cover the schedule's own length (:func:`schedule_length`) and a quarter
of it past its end, unless ``--steps`` says how many steps to draw.

A SPEC is a schedule call (``name(argument=value, ...)``, literals only, parsed with ``ast``)
or a JSON object with a "name". Any bad input (a bad spec, a malformed option, a step past
the range JAX counts in, a file that cannot be written) prints one line, ``jaxlr: error:
...`` naming the option or the problem, and exits with status 2; there is no traceback.
Steps are counted in 32-bit integers, up to ``2**31 - 1``, unless 64-bit JAX is on
(``JAX_ENABLE_X64=1``), which allows steps up to ``2**53``.

    >>> from jaxlr.cli import main
    >>> main(["eval", "cosine_decay(1.0, 100)", "--at", "0,50,100"])
    cosine_decay(init_value=1.0, decay_steps=100)
    step  value
       0  1
      50  0.5
     100  0
    0
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import jax
import numpy as np

from jaxlr._base import Schedule
from jaxlr.config import describe, from_config, names

MAX_POINTS = 20_000
"""The most steps ``plot`` evaluates: beyond, it samples this many evenly (a figure is ~1,000
pixels wide, and a plot of 3e9 steps would need 24 GB)."""

MAX_WIDTH, MAX_HEIGHT = 1_000, 200
"""The largest terminal chart ``show`` draws."""

MARGIN = 1.25
"""Without ``--steps``, ``show`` and ``plot`` draw this multiple of the schedule's length: its
end, and a quarter of it past the end, where it holds its last value (or goes on cycling)."""

PERIODS = 3
"""A periodic schedule's length, in periods: enough to see it repeat (and, for triangular2 or
a decaying restart, its amplitude change)."""


class UsageError(Exception):
    """A problem with what the user typed: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors (a missing or malformed option) as one-line usage errors
    instead of a usage block and ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def max_step() -> int:
    """The largest step the command evaluates: ``2**31 - 1``, or ``2**53`` with 64-bit JAX.

    Without ``jax_enable_x64`` JAX holds integer steps as int32, and a larger step would
    wrap around to a negative one and print the value of a different step.
    """
    return 2**53 if _x64() else 2**31 - 1


def _x64() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


def _range_hint() -> str:
    if _x64():
        return "past 2**53, the largest step counted exactly"
    return "past 2**31 - 1, the largest step without 64-bit JAX (set JAX_ENABLE_X64=1 for steps up to 2**53)"


def _short(text: str, limit: int = 100) -> str:
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _schedule(spec: str, steps_per_epoch: int | None) -> Schedule:
    try:
        return from_config(spec, steps_per_epoch=steps_per_epoch)
    except ValueError as error:  # from_config raises nothing else for a bad spec
        raise UsageError(f"bad schedule {_short(spec)}: {error}") from None


def _values(schedule: Schedule, steps: np.ndarray) -> np.ndarray:
    """The schedule at ``steps`` (already checked to lie in ``[0, max_step()]``), as float64."""
    dtype = np.int64 if _x64() else np.int32
    try:
        values = np.asarray(schedule(steps.astype(dtype)), dtype=np.float64)
    except ValueError as error:  # a step the schedule refuses
        raise UsageError(f"{schedule!r} cannot be evaluated: {error}") from None
    bad = ~np.isfinite(values)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise UsageError(f"{schedule!r} is {values[i]} at step {int(steps[i])}: there is nothing to show for it")
    return values


def _steps_list(text: str) -> np.ndarray:
    """The ``--at`` option: whole steps in ``[0, max_step()]``, separated by commas."""
    entries = [x.strip() for x in text.split(",")]
    if not any(entries):
        raise UsageError(f"--at takes whole steps separated by commas, such as 0,100,1000, got {_short(text)}")
    steps = []
    for entry in entries:
        try:
            step = int(entry)  # int() reads 1_000 too
        except ValueError:
            what = "an empty entry" if not entry else _short(entry)
            raise UsageError(f"--at takes whole steps separated by commas, such as 0,100,1000; "
                             f"{what} in {_short(text)} is not a whole step") from None
        if step < 0:
            raise UsageError(f"--at takes steps >= 0, got {step}")
        if step > max_step():
            raise UsageError(f"--at {step} is {_range_hint()}")
        steps.append(step)
    return np.array(steps, dtype=np.int64)


def _number(x: Any) -> float:
    """A concrete hyperparameter as a float; the last entry of a list of them."""
    array = np.asarray(x, dtype=np.float64)
    return float(array.reshape(-1)[-1]) if array.size else 0.0


def _exponential_end(init: Any, rate: Any, length: Any, end: Any) -> float | None:
    """The steps ``init * rate ** (t / length)`` takes to reach its bound ``end``, if it has one."""
    if end is None:
        return None
    init, rate, end = _number(init), _number(rate), _number(end)
    if not (0 < end < init < math.inf and 0 < rate < 1) and not (0 < init < end and rate > 1):
        return None
    return _number(length) * math.log(end / init) / math.log(rate)


def _plus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _times(a: float | None, b: float) -> float | None:
    return None if a is None else a * b


def _warmup_then_length(s: Any) -> float | None:
    inner = _length(s.schedule) if isinstance(s.schedule, Schedule) else None
    if inner is None:
        return None
    return _number(s.warmup_steps) + inner if s.shift else max(_number(s.warmup_steps), inner)


def _join_length(s: Any) -> float | None:
    boundaries = np.asarray(s.boundaries, dtype=np.float64)
    last = _length(s.schedules[len(s.schedules) - 1])
    return _plus(float(boundaries[-1]) if boundaries.size else 0.0, last)


def _max(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else max(a, b)


def _restarts_length(s: Any) -> float:
    cycles = PERIODS if s.cycles is None else math.ceil(_number(s.cycles))
    first, mul = _number(s.first_period), _number(s.period_mul)
    return first * cycles if mul == 1 else first * (mul**cycles - 1) / (mul - 1)


def _cyclic_length(s: Any) -> float:
    down = s.step_size_up if s.step_size_down is None else s.step_size_down
    return PERIODS * (_number(s.step_size_up) + _number(down))


def _no_length(s: Any) -> None:
    return None


# Each family's length, by name: the step of its last change. A constant's is 0; families that
# keep changing for ever without a period (a step decay, an exponential with no bound, an
# inverse-time or inverse-sqrt decay, noam, a Python function) have none (None), and neither
# has a combinator of one.
_LENGTHS: dict[str, Callable[[Any], float | None]] = {
    "constant": lambda s: 0.0,
    "step_decay": _no_length,
    "inverse_time_decay": _no_length,
    "inverse_sqrt_decay": _no_length,
    "noam": _no_length,
    "from_fn": _no_length,
    "linear": lambda s: _number(s.transition_begin) + _number(s.transition_steps),
    "polynomial": lambda s: _number(s.transition_begin) + _number(s.transition_steps),
    "multistep_decay": lambda s: _number(s.milestones),
    "piecewise_constant": lambda s: _number(s.boundaries),
    "piecewise_linear": lambda s: _number(s.steps),
    "exponential_decay": lambda s: _plus(_number(s.transition_begin), _exponential_end(
        s.init_value, s.decay_rate, s.decay_steps, s.end_value)),
    "cosine_decay": lambda s: _number(s.decay_steps) * (2 * PERIODS if s.periodic else 1),
    "linear_warmup": lambda s: _number(s.warmup_steps),
    "exponential_warmup": lambda s: _number(s.warmup_steps),
    "warmup_then": _warmup_then_length,
    "warmup_cosine": lambda s: _number(s.total_steps),
    "warmup_linear": lambda s: _number(s.total_steps),
    "warmup_exponential": lambda s: _plus(_number(s.warmup_steps), _exponential_end(
        s.peak_value, s.decay_rate, s.decay_steps, s.end_value)),
    "cosine_restarts": _restarts_length,
    "cyclic": _cyclic_length,
    "one_cycle": lambda s: _number(s.total_steps),
    "one_cycle_momentum": lambda s: _number(s.total_steps),
    "cyclic_momentum": _cyclic_length,
    "with_momentum": lambda s: _length(s.schedule),
    "wsd": lambda s: _number(s.total_steps),
    "rex_decay": lambda s: _number(s.total_steps),
    "tanh_decay": lambda s: _number(s.decay_steps),
    "per_epoch": lambda s: _times(_length(s.schedule), _number(s.steps_per_epoch)),
    "join": _join_length,
    "scale": lambda s: _length(s.schedule),
    "clip": lambda s: _length(s.schedule),
    "multiply": lambda s: _max(_length(s.first), _length(s.second)),
    "shift": lambda s: _plus(_number(s.steps), _length(s.schedule)),
    "repeat": lambda s: PERIODS * _number(s.period),
    "cooldown": lambda s: _number(s.total_steps),
}


def schedule_length(schedule: Schedule) -> float | None:
    """The step at which ``schedule`` has made its last change, or ``PERIODS`` periods of a
    periodic one; None for one that has no end (a constant, a step decay, an unbounded
    exponential, an inverse-sqrt decay) or is not a jaxlr family.

    It is the total, decay or transition steps, the last boundary or milestone (plus the
    last piece's own length, in a join), a warmup and what follows it.

    >>> from jaxlr import from_config
    >>> schedule_length(from_config("warmup_cosine(1e-3, 100, 1000)"))
    1000.0
    >>> schedule_length(from_config("warmup_then(cosine_decay(1.0, 900), 100)"))  # the cosine starts at 100
    1000.0
    >>> schedule_length(from_config("multistep_decay(0.1, [30, 60, 90])"))
    90.0
    >>> schedule_length(from_config("step_decay(0.1, 30)")) is None
    True
    """
    length = _length(schedule)
    return length if length is not None and math.isfinite(length) and length > 0 else None


def _length(schedule: Schedule) -> float | None:
    return _LENGTHS.get(type(schedule).__name__, _no_length)(schedule)


def default_steps(schedules: Sequence[Schedule]) -> int:
    """How many steps ``show`` and ``plot`` draw without ``--steps``: ``MARGIN`` times the
    longest of the schedules' lengths, and at least one step past it, up to ``max_step()``.

    >>> from jaxlr import from_config
    >>> default_steps([from_config("warmup_cosine(1e-3, 100, 1000)")])
    1250
    """
    known = [x for x in map(schedule_length, schedules) if x is not None]
    if not known:
        which = f"{schedules[0]!r} has" if len(schedules) == 1 else "none of the schedules has"
        raise UsageError(f"{which} no length of its own (a total, decay or transition length, a last boundary or "
                         "milestone) to draw by default: give --steps")
    longest = max(known)
    return min(max(math.ceil(MARGIN * longest), math.floor(longest) + 2), max_step() + 1)


def _steps_of(args: argparse.Namespace, schedules: Sequence[Schedule]) -> tuple[int, str | None]:
    """``--steps``, or the default for ``schedules`` with a line that says so (the reader
    should know what the picture covers)."""
    if args.steps is not None:
        return args.steps, None
    steps = default_steps(schedules)
    longest = max(x for x in map(schedule_length, schedules) if x is not None)
    whose = "the schedule's" if len(schedules) == 1 else "the longest schedule's"
    return steps, f"steps 0 to {steps - 1}: {whose} length, {longest:g}, and past its end (--steps to choose)"


def cmd_list(args: argparse.Namespace) -> None:
    width = max(len(n) for n in names())
    for name in names():
        print(f"{name:<{width}}  {describe(name)}")


def cmd_eval(args: argparse.Namespace) -> None:
    steps = _steps_list(args.at)
    schedule = _schedule(args.spec, args.steps_per_epoch)
    values = _values(schedule, steps)
    print(repr(schedule))
    width = max(len("step"), *(len(str(s)) for s in steps))
    print(f"{'step':>{width}}  value")
    for step, value in zip(steps, values, strict=True):
        print(f"{step:>{width}}  {value:.6g}")


def chart(values: np.ndarray, total_steps: int, width: int = 72, height: int = 16) -> str:
    """A text chart of finite ``values`` (sampled evenly over ``[0, total_steps)``).

    >>> import numpy as np
    >>> chart(np.linspace(1.0, 0.0, 10), 10, width=10, height=3).splitlines()
    ['1 │•••       ', '  │   ••••   ', '0 │       •••', '  └──────────', '   0   step 9']
    """
    top, bottom = float(values.max()), float(values.min())
    span = top - bottom or 1.0
    rows = [[" "] * width for _ in range(height)]
    for column, value in enumerate(values):
        level = (value - bottom) / span * (height - 1)
        rows[height - 1 - round(level)][column] = "•"
    labels = [f"{top:.3g}", f"{bottom:.3g}"]
    pad = max(len(label) for label in labels)
    lines = []
    for i, row in enumerate(rows):
        label = labels[0] if i == 0 else labels[1] if i == height - 1 else ""
        lines.append(f"{label:>{pad}} │{''.join(row)}")
    lines.append(f"{'':>{pad}} └{'─' * width}")
    right = f"step {total_steps - 1}"
    lines.append(f"{'':>{pad}}  0{right:>{width - 1}}")
    return "\n".join(lines)


def _check_steps(count: int) -> None:
    """``--steps N`` evaluates steps ``0 .. N - 1``: the last must be in range."""
    if count - 1 > max_step():
        raise UsageError(f"--steps {count} reaches step {count - 1}, {_range_hint()}")


def cmd_show(args: argparse.Namespace) -> None:
    if args.steps is not None:
        _check_steps(args.steps)
    schedule = _schedule(args.spec, args.steps_per_epoch)
    count, note = _steps_of(args, [schedule])
    steps = np.linspace(0, count - 1, args.width).round().astype(np.int64)
    values = _values(schedule, steps)
    print(repr(schedule))
    if note:
        print(note)
    print(chart(values, count, args.width, args.height))


def _plot_steps(count: int) -> np.ndarray:
    """Every step below ``count``, or ``MAX_POINTS`` of them evenly spaced, both ends included."""
    if count <= MAX_POINTS:
        return np.arange(count, dtype=np.int64)
    return np.unique(np.linspace(0, count - 1, MAX_POINTS).round().astype(np.int64))


def title(specs: Sequence[str], width: int = 100) -> str:
    """The figure's title: the specs as typed, one per line, long ones wrapped.

    >>> print(title(["cosine_decay(1.0, 1000)", "rex_decay(1.0, 1000)"]))
    cosine_decay(1.0, 1000)
    rex_decay(1.0, 1000)
    """
    return "\n".join(textwrap.fill(" ".join(spec.split()), width) for spec in specs)


def cmd_plot(args: argparse.Namespace) -> None:
    if args.steps is not None:
        _check_steps(args.steps)
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out must end in .png or .svg, got {_short(args.out)}")
    schedules = [_schedule(spec, args.steps_per_epoch) for spec in args.specs]
    count, note = _steps_of(args, schedules)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plot needs matplotlib: pip install 'jaxlr[plot]' (or use jaxlr show)") from None
    steps = _plot_steps(count)
    curves = [_values(schedule, steps) for schedule in schedules]
    if args.log:
        for schedule, values in zip(schedules, curves, strict=True):
            if not np.any(values > 0):
                raise UsageError(f"--log needs values > 0, and {schedule!r} has none in {count} steps")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        for schedule, values in zip(schedules, curves, strict=True):
            ax.plot(steps, values, label=repr(schedule) if len(schedules) > 1 else None)
        if args.log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.set_title(title(args.specs), fontsize=9)
        if len(schedules) > 1:
            ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
        with warnings.catch_warnings():  # a title wider than the figure is not worth a warning
            warnings.simplefilter("ignore")
            fig.tight_layout()
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(out, dpi=120)
        except OSError as error:
            reason = error.strerror or str(error)
            raise UsageError(f"--out {_short(args.out)} cannot be written: {reason}") from None
    finally:
        plt.close(fig)
    if note:
        print(note)
    print(f"wrote {out}")


def _count(low: int, high: int | None = None, high_text: str | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]`` (underscores allowed)."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {_short(text)}") from None
        if value < low or (high is not None and value > high):
            bound = f">= {low}" if high is None else f"in [{low}, {high_text or high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return read


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="jaxlr", description="Learning-rate schedules for JAX: list, eval, show, plot.")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every schedule with a one-line description").set_defaults(run=cmd_list)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--steps-per-epoch", type=_count(1, 2**53, "2**53"), default=None,
                       help="for durations given as 'Nep'")

    p = sub.add_parser("eval", help="a table of values at given steps")
    p.add_argument("spec")
    p.add_argument("--at", required=True, help="steps, comma-separated: 0,100,1000")
    common(p)
    p.set_defaults(run=cmd_eval)
    p = sub.add_parser("show", help="a chart in the terminal (no plotting library needed)")
    p.add_argument("spec")
    p.add_argument("--steps", type=_count(1), default=None,
                   help="steps 0 .. STEPS-1 (default: the schedule's length and a quarter past its end)")
    p.add_argument("--width", type=_count(8, MAX_WIDTH), default=72)
    p.add_argument("--height", type=_count(4, MAX_HEIGHT), default=16)
    common(p)
    p.set_defaults(run=cmd_show)
    p = sub.add_parser("plot", help="curves overlaid in a PNG or SVG (needs matplotlib)")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.add_argument("--steps", type=_count(1), default=None,
                   help="steps 0 .. STEPS-1 (default: the longest schedule's length and a quarter past its end)")
    p.add_argument("--out", default="lr.png", help="lr.png (default) or a .svg")
    p.add_argument("--log", action="store_true", help="log scale for the learning rate")
    common(p)
    p.set_defaults(run=cmd_plot)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the exit status (0, or 2 after one line on stderr)."""
    try:
        args = parser().parse_args(argv)
        args.run(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
    except UsageError as error:
        message = " ".join(str(error).splitlines())  # one line, whatever the message held
        print(f"jaxlr: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (jaxlr list | head -1): nothing is wrong, and the rest of
        # the output has nowhere to go. Python's recipe: point stdout at devnull so the flush
        # at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
