"""Schedules from a config (a dict or a call string), and back.

    >>> import jaxlr
    >>> s = jaxlr.from_config("warmup_cosine(peak_value=1e-3, warmup_steps='10%', total_steps=100_000)")
    >>> s
    warmup_cosine(peak_value=0.001, warmup_steps=10000, total_steps=100000)
    >>> jaxlr.from_config(s.to_config()) == s
    True

The config layer knows the families only through the registry (``jaxlr.REGISTRY``): a
family never imports it.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import re
from collections.abc import Mapping
from typing import Any

from jaxlr._base import REGISTRY, Schedule

Config = Mapping[str, Any] | str

# Arguments that count steps: they accept "10%" (of total_steps), "3ep" (epochs, with a
# steps_per_epoch) and, where the family reads them so, a float in (0, 1) as a fraction.
DURATIONS = {
    "warmup_steps", "decay_steps", "total_steps", "transition_steps", "transition_begin", "step_size",
    "milestones", "boundaries", "steps", "first_period", "step_size_up", "step_size_down", "period",
    "cooldown_steps", "timescale",
}
_DURATION = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(?P<unit>%|ep)\s*$", re.IGNORECASE)


def names() -> list[str]:
    """Every registered schedule's name, sorted."""
    return sorted(REGISTRY)


def describe(name: str) -> str:
    """The first line of a schedule's docstring, as plain text."""
    doc = inspect.getdoc(_family(name)) or ""
    return doc.splitlines()[0].replace("``", "") if doc else ""


def get(name: str, **kwargs: Any) -> Schedule:
    """Builds the schedule ``name`` from keyword arguments (durations as in :func:`from_config`)."""
    return from_config({"name": name, **kwargs})


def from_config(config: Config, *, steps_per_epoch: int | None = None, total_steps: int | None = None) -> Schedule:
    """A schedule from a dict (``{"name": ..., **arguments}``) or a call string.

    A string is parsed with Python's ``ast`` and must be a call of literals (numbers,
    strings, lists, booleans, None) and of nested calls, as in
    ``"join(schedules=[linear_warmup(1.0, 100), cosine_decay(1.0, 900)], boundaries=[100])"``:
    nothing in it is evaluated. Nested dicts and lists of dicts build combinators.

    Durations (``warmup_steps``, ``decay_steps``, ``milestones``, ...) may be given in steps,
    as a percentage of the total (``"10%"``, of the config's own ``total_steps`` or the
    ``total_steps`` argument) or in epochs (``"3ep"``, with ``steps_per_epoch``), and are
    resolved to whole steps here.

    Bad configs raise ``ValueError`` naming the problem: an unknown name (with the closest
    valid names), an unknown or missing argument, a value the family rejects, a string that
    is not a literal call.
    """
    if isinstance(config, str):
        config = parse(config)
    if not isinstance(config, Mapping):
        raise ValueError(f"a schedule config is a dict with a 'name' or a call string, got {config!r}")
    return _build(dict(config), steps_per_epoch, total_steps)


def parse(text: str) -> dict[str, Any]:
    """A call string as a config dict, without evaluating anything."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a schedule call: {text!r} ({error.msg})") from None
    return _call(tree.body, text)


def to_config(schedule: Schedule) -> dict[str, Any]:
    """A config (dict of plain Python values) that rebuilds an equal schedule."""
    if not isinstance(schedule, Schedule):
        raise ValueError(f"to_config needs a jaxlr schedule, got {schedule!r}")
    return schedule.to_config()


def _family(name: Any) -> type[Schedule]:
    if not isinstance(name, str):
        raise ValueError(f"a schedule config needs a 'name' string, got {name!r}")
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown schedule {name!r}{hint} (jaxlr.names() lists them all)")
    return REGISTRY[name]


def _arguments(family: type[Schedule]) -> list[str]:
    if family.__name__ == "from_fn":
        return ["fn", "params"]
    return [f.name for f in dataclasses.fields(family)]  # type: ignore[arg-type]


def _build(config: dict[str, Any], steps_per_epoch: int | None, total_steps: int | None) -> Schedule:
    if "name" not in config:
        raise ValueError(f"a schedule config needs a 'name', got {config!r}")
    family = _family(config.pop("name"))
    name = family.__name__
    valid = _arguments(family)
    unknown = [k for k in config if k not in valid]
    if unknown:
        raise ValueError(f"unknown argument {unknown[0]!r} for {name}; it takes {', '.join(valid)}")
    required = [f.name for f in dataclasses.fields(family)  # type: ignore[arg-type]
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in config]
    if missing:
        raise ValueError(f"missing argument {missing[0]!r} for {name}; it needs {', '.join(required)}")
    total = config.get("total_steps", total_steps)
    if isinstance(total, str):  # "3ep", or "100%" of the total_steps argument
        total = _duration("total_steps", total, steps_per_epoch, total_steps)
    kwargs = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            value = _build(dict(value), steps_per_epoch, total_steps)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            value = [_build(dict(v), steps_per_epoch, total_steps) for v in value]
        elif key == "total_steps":
            value = total  # resolved above, against the total_steps argument
        elif key in DURATIONS:
            value = _duration(key, value, steps_per_epoch, total)
        kwargs[key] = value
    return family(**kwargs)


def _duration(key: str, value: Any, steps_per_epoch: int | None, total: Any) -> Any:
    if isinstance(value, list):
        return [_duration(key, v, steps_per_epoch, total) for v in value]
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{key} must be a number of steps, 'N%' or 'Nep', got {value!r}")
    number, unit = float(match["number"]), match["unit"].lower()
    if unit == "%":
        if total is None or isinstance(total, str):
            raise ValueError(f"{key}={value!r} is a percentage of total_steps, but no total_steps is given")
        return round(number / 100 * float(total))
    if steps_per_epoch is None:
        raise ValueError(f"{key}={value!r} is in epochs: pass steps_per_epoch to from_config")
    return round(number * steps_per_epoch)


def _call(node: ast.AST, text: str) -> dict[str, Any]:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a schedule call: {text!r} (expected name(argument=value, ...))")
    name = node.func.id
    family = _family(name)
    config: dict[str, Any] = {"name": name}
    positional = _arguments(family)
    if len(node.args) > len(positional):
        raise ValueError(f"{name} takes at most {len(positional)} positional arguments, got {len(node.args)}")
    for key, arg in zip(positional, node.args, strict=False):
        config[key] = _literal(arg, text)
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"not a literal call: {text!r} (** is not allowed)")
        if keyword.arg in config:
            raise ValueError(f"{name} got {keyword.arg!r} twice")
        config[keyword.arg] = _literal(keyword.value, text)
    return config


def _literal(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Call):
        return _call(node, text)
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(element, text) for element in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"not a literal call: {text!r} ({ast.unparse(node)!r} is not a literal)") from None
