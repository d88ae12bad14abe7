"""The results files: ``<device>.json``, the markdown report ``<device>.md`` and the plots."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType


def markdown(results: dict, measurements: list[ModuleType]) -> str:
    env = results["environment"]
    lines = [
        f"# jaxlr benchmarks on {env['device']}",
        "",
        f"jax {env['jax']}, jaxlib {env['jaxlib']}, optax {env['optax']}, torch {env['torch']}, "
        f"flax {env['flax']}, Python {env['python']}, "
        f"{env['machine']}; {'quick' if results['quick'] else 'full'} run.",
    ]
    for measurement in measurements:
        lines += measurement.report(results)
    return "\n".join(lines) + "\n"


def write(results: dict, measurements: list[ModuleType], out: Path, device: str) -> None:
    """Write the JSON, the markdown and each measurement's plot into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / device
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(results, measurements))
    plotted = True
    for measurement in measurements:
        if hasattr(measurement, "plot"):
            plotted = measurement.plot(results, out, device) and plotted
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}" + (" and the plot" if plotted else ""))
