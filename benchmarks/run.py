"""What a jaxlr schedule costs, measured against optax, torch and a constant learning rate.

    python -m benchmarks            # full sizes
    python -m benchmarks --quick    # CI-sized, seconds
    python -m benchmarks --only eager big_join   # re-measure some, keep the others' results

Every measurement is a ratio against a baseline timed in the same run, interleaved (baseline
and candidate alternate, so drift hits both), as the median of many repetitions after
warm-up. One module per measurement, run in the order of ``MEASUREMENTS``:

=================== ============================================================================
``vs_optax``        each jaxlr family against its optax schedule, over many steps in one call
``train_step``      a jitted adamw update with the schedule against a constant learning rate
``composition``     ``jaxlr.join``/``piecewise_constant`` against optax's for K = 2 ... 10,000
``big_join``        a 10,000-piece join in a jitted adamw step against 16 pieces: compile, evaluation
``flax_step``       a Flax NNX train step with the schedule against a constant
``sweeps``          N schedules trained at once with ``jax.vmap`` against N runs in turn
``torch_scheduler`` ``scheduler.step()`` of torch against jaxlr's in-step cost (after train_step)
``eager``           one host call ``float(schedule(step))``: jaxlr against optax and torch, per call
``compile_time``    compile time of the train step with each schedule against a constant
``laws``            fitting the multi-power loss law, and predicting with it (block against exact sum)
=================== ============================================================================

To add a measurement, write ``benchmarks/NAME.py`` with

- ``measure(sizes: Sizes, results: dict) -> dict``: runs it and returns the entries it adds to
  the results file (``results`` holds what the measurements before it returned);
- ``report(results: dict) -> list[str]``: its section of the markdown report, starting with a
  blank line and a ``## `` heading;
- optionally ``plot(results: dict, out: Path, device: str) -> bool``: writes
  ``out/<device>-NAME.png``, False when matplotlib is missing;

add its sizes to ``benchmarks/sizes.py`` and the module to ``MEASUREMENTS`` below.

Results go to ``benchmarks/results/<device>.json`` and ``<device>.md`` (``benchmarks/report.py``)
with the device and the jax, jaxlib and optax versions.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from types import ModuleType

import jax
import jaxlib
import optax

from benchmarks import (
    big_join,
    compile_time,
    composition,
    eager,
    flax_step,
    laws,
    report,
    sweeps,
    torch_scheduler,
    train_step,
    vs_optax,
)
from benchmarks.sizes import Sizes

RESULTS = Path(__file__).resolve().parent / "results"

MEASUREMENTS: list[ModuleType] = [
    vs_optax, train_step, composition, big_join, flax_step, sweeps, torch_scheduler, eager, compile_time, laws,
]


def _version(package: str) -> str:
    try:
        return __import__(package).__version__
    except ImportError:
        return "not installed"


def device_name() -> str:
    device = jax.devices()[0]
    kind = device.device_kind.lower().replace(" ", "-")
    return device.platform if device.platform == "cpu" else f"{device.platform}-{kind}"


def environment() -> dict:
    return {
        "device": device_name(),
        "device_kind": jax.devices()[0].device_kind,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "optax": optax.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {jax.local_device_count()} device(s)",
        "torch": _version("torch"),
        "flax": _version("flax"),
    }


def main(argv: list[str] | None = None, measurements: list[ModuleType] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="jaxlr benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions (CI)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for <device>.json and .md")
    parser.add_argument("--optax-max-pieces", type=int, default=10_000,
                        help="largest K to compile optax at (its compile time grows superlinearly)")
    names = [m.__name__.rsplit(".", 1)[1] for m in MEASUREMENTS]
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=names,
                        help="measure only these modules; the other sections keep the results already in --out "
                             "(which must be from a run of the same size and the same versions)")
    args = parser.parse_args(argv)
    measurements = MEASUREMENTS if measurements is None else measurements

    sizes = Sizes.make(args.quick, args.optax_max_pieces)
    print(f"jaxlr benchmarks on {device_name()} ({'quick' if args.quick else 'full'})", flush=True)
    results = {"environment": environment(), "quick": args.quick}
    if args.only:
        results = _earlier(args.out / f"{device_name()}.json", results)
        measurements = [m for m in measurements if m.__name__.rsplit(".", 1)[1] in args.only]
    for measurement in measurements:
        results.update(measurement.measure(sizes, results))
    report.write(results, MEASUREMENTS if args.only else measurements, args.out, device_name())
    return results


def _earlier(path: Path, results: dict) -> dict:
    """The results of an earlier run in ``path``, to be completed by ``--only``: refused when its
    size or versions differ from this run's, so one file never mixes two setups."""
    if not path.exists():
        raise SystemExit(f"--only: no earlier results in {path}; run the full benchmark first")
    earlier = json.loads(path.read_text())
    differs = [key for key in ("device", "jax", "jaxlib", "optax", "torch", "flax")
               if earlier["environment"].get(key) != results["environment"][key]]
    if earlier.get("quick") != results["quick"] or differs:
        raise SystemExit(f"--only: {path} is from another setup ({', '.join(differs) or 'quick/full'} differ); "
                         "run the full benchmark")
    return {**earlier, **results}


if __name__ == "__main__":
    main()
