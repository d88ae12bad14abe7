"""The ``jaxlr`` command: list, evaluate, show and plot schedules from config strings.

    jaxlr list
    jaxlr eval "warmup_cosine(1e-3, 1000, 100_000)" --at 0,1000,50000
    jaxlr show "one_cycle(0.1, total_steps=1000)" --steps 1000
    jaxlr plot "cosine_decay(1.0, 1000)" "rex_decay(1.0, 1000)" --steps 1200 --out lr.png --log

A SPEC is a schedule call (``name(argument=value, ...)``, literals only, parsed with ``ast``)
or a JSON object with a "name". A bad spec prints one line naming the problem and exits with
status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jaxlr._base import Schedule
from jaxlr.config import describe, from_config, names


class UsageError(Exception):
    """A problem with what the user typed: one line on stderr, exit status 2."""


def _schedule(spec: str, steps_per_epoch: int | None) -> Schedule:
    try:
        config = json.loads(spec) if spec.lstrip().startswith("{") else spec
        return from_config(config, steps_per_epoch=steps_per_epoch)
    except (ValueError, TypeError) as error:
        raise UsageError(f"bad schedule {spec!r}: {error}") from None


def _values(schedule: Schedule, steps: np.ndarray) -> np.ndarray:
    return np.asarray(schedule(steps.astype(np.int32)), dtype=np.float64)


def cmd_list(args: argparse.Namespace) -> None:
    width = max(len(n) for n in names())
    for name in names():
        print(f"{name:<{width}}  {describe(name)}")


def cmd_eval(args: argparse.Namespace) -> None:
    schedule = _schedule(args.spec, args.steps_per_epoch)
    try:
        steps = np.array([int(x.replace("_", "")) for x in args.at.split(",") if x.strip()])
    except ValueError:
        raise UsageError(f"--at takes whole steps separated by commas, got {args.at!r}") from None
    print(repr(schedule))
    width = max(len("step"), *(len(str(s)) for s in steps))
    print(f"{'step':>{width}}  value")
    for step, value in zip(steps, _values(schedule, steps), strict=True):
        print(f"{step:>{width}}  {value:.6g}")


def chart(values: np.ndarray, total_steps: int, width: int = 72, height: int = 16) -> str:
    """A text chart of ``values`` (sampled evenly over ``[0, total_steps)``)."""
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


def cmd_show(args: argparse.Namespace) -> None:
    schedule = _schedule(args.spec, args.steps_per_epoch)
    width = max(8, args.width)
    steps = np.linspace(0, args.steps - 1, width).round()
    print(repr(schedule))
    print(chart(_values(schedule, steps), args.steps, width, max(4, args.height)))


def cmd_plot(args: argparse.Namespace) -> None:
    schedules = [_schedule(spec, args.steps_per_epoch) for spec in args.specs]
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out must end in .png or .svg, got {args.out!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plot needs matplotlib: pip install 'jaxlr[plot]' (or use jaxlr show)") from None
    steps = np.arange(args.steps)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for schedule in schedules:
        ax.plot(steps, _values(schedule, steps), label=repr(schedule) if len(schedules) > 1 else None)
    if args.log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(repr(schedules[0]) if len(schedules) == 1 else f"{len(schedules)} schedules", fontsize=9)
    if len(schedules) > 1:
        ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"wrote {out}")


def _positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="jaxlr", description="Learning-rate schedules for JAX: list, eval, show, plot.")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every schedule with a one-line description").set_defaults(run=cmd_list)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--steps-per-epoch", type=_positive, default=None, help="for durations given as 'Nep'")

    p = sub.add_parser("eval", help="a table of values at given steps")
    p.add_argument("spec")
    p.add_argument("--at", required=True, help="steps, comma-separated: 0,100,1000")
    common(p)
    p.set_defaults(run=cmd_eval)
    p = sub.add_parser("show", help="a chart in the terminal (no plotting library needed)")
    p.add_argument("spec")
    p.add_argument("--steps", type=_positive, required=True)
    p.add_argument("--width", type=int, default=72)
    p.add_argument("--height", type=int, default=16)
    common(p)
    p.set_defaults(run=cmd_show)
    p = sub.add_parser("plot", help="curves overlaid in a PNG or SVG (needs matplotlib)")
    p.add_argument("specs", nargs="+", metavar="SPEC")
    p.add_argument("--steps", type=_positive, required=True)
    p.add_argument("--out", default="lr.png", help="lr.png (default) or a .svg")
    p.add_argument("--log", action="store_true", help="log scale for the learning rate")
    common(p)
    p.set_defaults(run=cmd_plot)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except UsageError as error:
        print(f"jaxlr: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
