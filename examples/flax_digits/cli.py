"""The command line: every flag, its checks, and the settings of a resumed run.

To add a flag:

1. ``add(...)`` it in :func:`build_parser`, with a checked ``type`` (the converters below
   turn NaN, infinities and out-of-range values into a one-line error naming the flag).
2. Say what kind of setting it is. By default a flag is part of the run's configuration:
   saved in ``config.json`` and refused on ``--resume`` when it differs from the saved value.
   A flag of one invocation (how to run, not what to train) goes in ``PER_INVOCATION``; a
   saved flag that ``--resume`` may change goes in ``RESUMABLE`` (and ``main`` honours it).
   A flag that only means something with another one goes in ``REQUIRES``.
3. Rules between settings go in :func:`check_settings`, which sees a new run's flags and a
   resumed run's saved configuration alike.

Every error is one line on stderr with exit status 2 (:func:`fail`), before anything is written.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import flax_digits
from flax_digits.optim import DEFAULT_LR, OPTIMIZERS

PROG = "train_flax.py"
# Flags of one invocation rather than of the run: not saved, and free to change on --resume.
PER_INVOCATION = ("resume", "stop_after", "progress", "distributed", "coordinator_address", "num_processes",
                  "process_id")
# Saved flags that --resume honours when they change (see Resume in --help); it refuses the others.
RESUMABLE = ("epochs", "data_dir")
# Flags that mean nothing without another: given alone, they are refused rather than ignored.
REQUIRES = {"plateau_factor": "plateau", "plateau_patience": "plateau", "plateau_threshold": "plateau",
            "early_stopping_min_delta": "early_stopping"}


def fail(message: object) -> NoReturn:
    """Exits with argparse's status for bad usage, 2, and one line on stderr."""
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block), prefixed by where the values came
    from: the command line, or a resumed run's config.json."""

    context = ""

    def error(self, message: str) -> NoReturn:
        fail(self.context + message)


def number(kind: type, rule: str, accept: Callable[[Any], bool]) -> Callable[[str], Any]:
    """An argparse type: an int, or a finite float, that satisfies ``rule``."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    return convert


POSITIVE_INT = number(int, "> 0", lambda value: value > 0)
NONNEGATIVE_INT = number(int, ">= 0", lambda value: value >= 0)
POSITIVE = number(float, "> 0", lambda value: value > 0)
NONNEGATIVE = number(float, ">= 0", lambda value: value >= 0)
FACTOR = number(float, "in (0, 1)", lambda value: 0 < value < 1)
DROPOUT = number(float, "in [0, 1)", lambda value: 0 <= value < 1)


def LEARNING_RATE(text: str) -> float | str:
    """An argparse type: a learning rate > 0, or ``find`` (a range test chooses it)."""
    if text == "find":
        return text
    try:
        return POSITIVE(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{error} (or 'find')") from None


# jax.random.key keeps 32 bits of a seed: a larger --seed would repeat a smaller one's dropout.
SEED = number(int, "in [0, 2**32 - 2]", lambda value: 0 <= value <= 2**32 - 2)


def address(text: str) -> str:
    """An argparse type: HOST:PORT (an IPv6 host in brackets), the port in 1..65535."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"must be HOST:PORT with a port in 1..65535, got {text!r}")
    return text


def add_distributed_flags(add: Callable[..., None]) -> None:
    """The flags that start several processes (``add`` is ``parser.add_argument`` or alike);
    :func:`check_distributed` checks them together."""
    add("--distributed", action="store_true", default=False,
        help="call jax.distributed.initialize() first: one process per host (see Several hosts above)")
    add("--coordinator-address", type=address, default=None, metavar="HOST:PORT",
        help="with --distributed: process 0's address, the same in every process (default: auto-detected)")
    add("--num-processes", type=POSITIVE_INT, default=None, metavar="N",
        help="with --distributed: the number of processes (default: auto-detected)")
    add("--process-id", type=NONNEGATIVE_INT, default=None, metavar="I",
        help="with --distributed: this process's index, 0..N-1 (default: auto-detected)")


def check_distributed(args: argparse.Namespace) -> str | None:
    """What is wrong with the distributed flags taken together, or None."""
    if not args.distributed:
        given = [_flag(key) for key in ("coordinator_address", "num_processes", "process_id")
                 if getattr(args, key) is not None]
        return f"{' and '.join(given)} {'has' if len(given) == 1 else 'have'} no effect without --distributed" \
            if given else None
    if args.process_id is not None and args.num_processes is not None and args.process_id >= args.num_processes:
        return f"--process-id {args.process_id} must be below --num-processes {args.num_processes}"
    return None


def directory_name(text: str) -> str:
    """An argparse type: one directory name, not a path."""
    if text in ("", ".", "..") or os.sep in text or "/" in text or (os.altsep is not None and os.altsep in text):
        raise argparse.ArgumentTypeError(f"must be a directory name, not a path (--out-dir says where), got {text!r}")
    return text


def build_parser(only_given: bool = False) -> Parser:
    """The flags; with ``only_given``, the namespace holds only those on the command line."""
    parser = Parser(prog=PROG, description=flax_digits.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)

    def add(*names: str, default: Any = None, **options: Any) -> None:
        parser.add_argument(*names, default=argparse.SUPPRESS if only_given else default, **options)

    add("--epochs", type=POSITIVE_INT, default=30, help="length of the run (with --resume, see Resume above)")
    add("--batch-size", type=POSITIVE_INT, default=64, help="global batch, split over the devices")
    add("--optimizer", choices=sorted(OPTIMIZERS), default="adamw")
    add("--lr", type=LEARNING_RATE, default=None,
        help="peak learning rate of the default schedule or a bare family name (default: 3e-3 for the adam "
             "family, 0.1 sgd, 0.05 momentum...), or 'find': run a range test first and train at its suggestion")
    add("--warmup-epochs", type=NONNEGATIVE, default=2.0,
        help="linear warmup of the default schedule or a bare family name")
    add("--weight-decay", type=NONNEGATIVE, default=1e-4, help="adamw only")
    add("--schedule", default=None,
        help="a jaxlr config string or JSON dict, or a family name (default: warmup then cosine)")
    add("--plateau", action="store_true", default=False,
        help="reduce the lr on a validation-loss plateau (torch's rule)")
    add("--plateau-factor", type=FACTOR, default=0.5, help="multiply the lr by this on a plateau, in (0, 1)")
    add("--plateau-patience", type=NONNEGATIVE_INT, default=3, help="epochs without improvement before a cut")
    add("--plateau-threshold", type=NONNEGATIVE, default=1e-4,
        help="relative improvement of the best validation loss that counts (torch's threshold)")
    add("--early-stopping", type=NONNEGATIVE_INT, default=None, metavar="PATIENCE",
        help="stop when the validation loss has not improved for PATIENCE epochs; test the best")
    add("--early-stopping-min-delta", type=NONNEGATIVE, default=0.0,
        help="decrease of the validation loss that counts as an improvement (Keras' min_delta)")
    add("--width", type=POSITIVE_INT, default=32, help="channels of the first conv layer")
    add("--dropout", type=DROPOUT, default=0.2, help="in [0, 1)")
    add("--data-dir", default=None, help="a directory with MNIST IDX files or mnist.npz")
    add("--out-dir", default="runs", help="where the run directory is made")
    add("--run-name", type=directory_name, default=None,
        help="the run directory's name (default: flax-DATE-TIME); a name that already holds a run is refused")
    add("--resume", default=None, metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint, with its configuration (see Resume above)")
    add("--stop-after", type=POSITIVE_INT, default=None, metavar="EPOCH",
        help="stop after this epoch, as a preemption would (then --resume)")
    add("--seed", type=SEED, default=0)
    add("--progress", choices=("auto", "tqdm", "rich", "none"), default="auto")
    add_distributed_flags(add)
    return parser


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _is_config_string(spec: str | None) -> bool:
    return spec is not None and (spec.strip().startswith("{") or "(" in spec)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The run's settings: a new run's flags, or a resumed run's saved configuration with the
    flags it honours. Every error is one line with exit status 2, and comes before anything
    is written."""
    defaults = vars(build_parser().parse_args([]))
    given = vars(build_parser(only_given=True).parse_args(argv))
    if "resume" in given:
        return resumed_args(Path(given["resume"]), given, defaults)
    args = argparse.Namespace(**{**defaults, **given}, saved_epochs=None, saved_data_dir=None, data_sha256=None)
    for key, needed in REQUIRES.items():
        if key in given and getattr(args, needed) in (None, False):
            fail(f"{_flag(key)} has no effect without {_flag(needed)}")
    if "weight_decay" in given and args.optimizer != "adamw":
        fail(f"--weight-decay applies to --optimizer adamw only, not {args.optimizer}")
    unused = [_flag(key) for key in ("lr", "warmup_epochs") if key in given]
    if unused and _is_config_string(args.schedule):
        fail(f"{' and '.join(unused)} fill the default schedule and bare family names; the config string of "
             "--schedule sets its own values")
    if "warmup_epochs" in given and args.warmup_epochs > args.epochs:
        fail(f"--warmup-epochs {args.warmup_epochs:g} is longer than the run (--epochs {args.epochs})")
    problem = check_distributed(args)
    if problem:
        fail(problem)
    if args.distributed and args.run_name is None:
        fail("--distributed needs --run-name, so that every process names the same run directory")
    check_settings(args, "")
    return args


def resumed_args(run_dir: Path, given: dict[str, Any], defaults: dict[str, Any]) -> argparse.Namespace:
    """A resumed run's saved configuration, checked as flags are, with the flags it honours."""
    path = run_dir / "config.json"
    if not path.is_file():
        fail(f"--resume: {run_dir} is not a run directory (it has no config.json)")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as error:  # ValueError: not UTF-8, or not JSON
        fail(f"--resume: {path}: cannot read it: {error}")
    if not isinstance(saved, dict):
        fail(f"--resume: {path}: not a run's configuration (a JSON object)")
    fingerprint = saved.pop("data_sha256", None)
    unknown = sorted(set(saved) - set(defaults) | set(saved) & set(PER_INVOCATION))
    if unknown or not isinstance(fingerprint, str | None):
        fail(f"--resume: {path}: holds settings this example does not know: {', '.join(unknown) or 'data_sha256'}")
    # The saved values pass the checks of the flags; a setting that an older run lacks takes its default.
    flags = []
    for key, value in saved.items():
        if defaults[key] is False and isinstance(value, bool):  # a switch
            flags += [_flag(key)] if value else []
        elif value is None and defaults[key] is None:
            continue
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            flags.append(f"{_flag(key)}={value}")
        else:
            fail(f"--resume: {path}: {_flag(key)}: unexpected value {value!r}")
    parser = build_parser()
    parser.context = f"--resume: {path}: "
    args = parser.parse_args(flags)

    conflicts = [key for key, value in given.items()
                 if key not in PER_INVOCATION + RESUMABLE and value != getattr(args, key)]
    if conflicts:
        def show(key: str, value: Any) -> str:
            return _flag(key) if value is True else f"no {_flag(key)}" if value in (None, False) else \
                f"{_flag(key)} {value}"

        fail(f"--resume: {', '.join(show(key, given[key]) for key in conflicts)} "
             f"{'conflicts' if len(conflicts) == 1 else 'conflict'} with the run's saved configuration "
             f"({', '.join(show(key, getattr(args, key)) for key in conflicts)}); a resumed run keeps its "
             f"configuration: drop {'it' if len(conflicts) == 1 else 'them'}, or start a new run")
    args.saved_epochs, args.saved_data_dir, args.data_sha256 = args.epochs, args.data_dir, fingerprint
    for key in RESUMABLE:
        if key in given:
            setattr(args, key, given[key])
    for key in PER_INVOCATION:
        setattr(args, key, given.get(key, defaults[key]))
    problem = check_distributed(args)
    if problem:
        fail(problem)
    check_settings(args, parser.context)
    return args


def check_settings(args: argparse.Namespace, context: str) -> None:
    """The rules between settings, for a new run's flags and a saved configuration alike."""
    if args.lr is None:
        args.lr = DEFAULT_LR[args.optimizer]
    if args.lr == "find" and args.optimizer == "ranger":
        fail(f"{context}--lr find: the range test trains one set of weights, and lookahead keeps fast and slow "
             "ones: find the rate with --optimizer adam, then give it with --lr")
    if args.plateau and args.optimizer == "ranger":
        fail(f"{context}--plateau scales the updates after the optimizer, which would break lookahead's "
             "synchronisation of the fast and slow weights: use it with another --optimizer")
