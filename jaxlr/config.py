"""Schedules from a config (a dict, a call string or a JSON object), and back.

    >>> import jaxlr
    >>> s = jaxlr.from_config("warmup_cosine(peak_value=1e-3, warmup_steps='10%', total_steps=100_000)")
    >>> s
    warmup_cosine(peak_value=0.001, warmup_steps=10000, total_steps=100000)
    >>> jaxlr.from_config(s.to_config()) == s
    True

The config layer knows the families only through the registry (``jaxlr.REGISTRY``): a
family never imports it. Whatever is wrong with a config, from a misspelt name to a
``periodic='false'`` or a percentage that overflows, comes out as one ``ValueError`` that
names the argument; no other exception class escapes :func:`from_config`.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import json
import math
import re
import types
import typing
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

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

MAX_DEPTH = 32
"""How deeply schedules, lists and dicts may nest in one config (a join of joins is 5 levels).

Real configs nest a few levels; the bound turns a runaway (or self-containing) config into a
``ValueError`` instead of a ``RecursionError``."""

MAX_STEPS = 2**53
"""The largest step count a config may give or resolve to: the last whole number a float64
holds exactly, so that no duration is silently rounded."""

# JSON's words, which a call string (Python syntax) does not read: the fix for each.
_JSON_WORDS = {"true": "True", "false": "False", "null": "None"}


def names() -> list[str]:
    """Every registered schedule's name, sorted.

    >>> import jaxlr
    >>> [n for n in jaxlr.names() if n.startswith("warmup_")]
    ['warmup_cosine', 'warmup_exponential', 'warmup_linear', 'warmup_then']
    """
    return sorted(REGISTRY)


def describe(name: str) -> str:
    """The first line of a schedule's docstring, as plain text.

    >>> from jaxlr.config import describe
    >>> "cosine" in describe("cosine_decay").lower()
    True
    """
    doc = inspect.getdoc(_family(name)) or ""
    return doc.splitlines()[0].replace("``", "") if doc else ""


def get(name: str, **kwargs: Any) -> Schedule:
    """Builds the schedule ``name`` from keyword arguments (durations as in :func:`from_config`).

    >>> import jaxlr
    >>> jaxlr.get("step_decay", init_value=0.1, step_size=30)
    step_decay(init_value=0.1, step_size=30)
    """
    return from_config({"name": name, **kwargs})


def from_config(config: Config, *, steps_per_epoch: int | None = None, total_steps: int | None = None) -> Schedule:
    """A schedule from a dict (``{"name": ..., **arguments}``), a call string or JSON text.

    A call string is parsed with Python's ``ast`` and must be a call of literals (numbers,
    strings, lists, ``True``, ``False``, ``None``) and of nested calls, as in
    ``"join(schedules=[linear_warmup(1.0, 100), cosine_decay(1.0, 900)], boundaries=[100])"``:
    nothing in it is evaluated. It is Python syntax, so JSON's ``true``, ``false`` and
    ``null`` are refused there, with the Python word to write instead. A string that starts
    with ``{`` is read as a JSON object (where ``true`` and ``false`` are the booleans).
    Nested dicts and lists of dicts build combinators.

    Durations (``warmup_steps``, ``decay_steps``, ``milestones``, ...) may be given in steps,
    as a percentage of the total (``"10%"``, of the config's own ``total_steps`` or the
    ``total_steps`` argument) or in epochs (``"3ep"``, with ``steps_per_epoch``), and are
    resolved to whole steps here, up to ``2**53``.

    Static options are type-checked against the family's annotations (read through the
    registry): a flag such as ``periodic`` takes only ``True`` or ``False`` (a string
    ``'false'`` or a number ``0`` would otherwise switch it silently on or off), a mode
    such as ``shape`` only a string, which the family checks against its choices.

    Every bad config raises ``ValueError`` naming the problem and the argument: an unknown
    name (with the closest valid names), an unknown or missing argument, a value the family
    rejects, a string that is not a literal call, nesting deeper than ``MAX_DEPTH``.

    >>> import jaxlr
    >>> jaxlr.from_config('{"name": "cosine_decay", "init_value": 1.0, "decay_steps": "3ep", "periodic": true}',
    ...                   steps_per_epoch=100)
    cosine_decay(init_value=1.0, decay_steps=300, periodic=True)
    >>> jaxlr.from_config("cosine_decay(1.0, decay_steps=100, periodic='false')")
    Traceback (most recent call last):
    ...
    ValueError: periodic must be True or False, got 'false': write True or False (true or false in JSON); \
a string or a number is not read as a flag
    """
    steps_per_epoch = _whole_steps("steps_per_epoch", steps_per_epoch)
    total_steps = _whole_steps("total_steps", total_steps)
    if isinstance(config, str):
        config = parse(config)
    if not isinstance(config, Mapping):
        raise ValueError(f"a schedule config is a dict with a 'name' or a call string, got {_short(config)}")
    _check_nesting(config, 1, {})
    return _build(dict(config), steps_per_epoch, total_steps)


def parse(text: str) -> dict[str, Any]:
    """A call string (or a JSON object) as a config dict, without evaluating anything.

    >>> import jaxlr
    >>> jaxlr.parse("cosine_decay(1.0, decay_steps='10%', periodic=True)")
    {'name': 'cosine_decay', 'init_value': 1.0, 'decay_steps': '10%', 'periodic': True}
    >>> jaxlr.parse("cosine_decay(1.0, 100, periodic=false)")
    Traceback (most recent call last):
    ...
    ValueError: periodic=false is JSON, not Python: write False in a call string
    """
    if not isinstance(text, str):
        raise ValueError(f"a schedule call is a string, got {_short(text)}")
    stripped = text.strip()
    if _bracket_depth(stripped) > MAX_DEPTH:  # before a parser recurses into it
        what = "a JSON config" if stripped.startswith("{") else "a schedule call"
        raise ValueError(f"not {what}: {_short(text)} ({_too_deep()})")
    if stripped.startswith("{"):
        return _json(stripped)
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and the like: the error follows
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a schedule call: {_short(text)} ({error.msg})") from None
    except (RecursionError, MemoryError):  # the parser's own stack, on thousands of nested operators
        raise ValueError(f"not a schedule call: {_short(text)} ({_too_deep()})") from None
    _check_tree_depth(tree.body, text)
    return _call(tree.body, text)


def to_config(schedule: Schedule) -> dict[str, Any]:
    """A config (dict of plain Python values) that rebuilds an equal schedule.

    >>> import jaxlr
    >>> jaxlr.to_config(jaxlr.cosine_decay(1.0, 100, periodic=True))
    {'name': 'cosine_decay', 'init_value': 1.0, 'decay_steps': 100, 'periodic': True}
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"to_config needs a jaxlr schedule, got {_short(schedule)}")
    return schedule.to_config()


def _family(name: Any) -> type[Schedule]:
    if not isinstance(name, str):
        raise ValueError(f"a schedule config needs a 'name' string, got {_short(name)}")
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown schedule {_short(name)}{hint} (jaxlr.names() lists them all)")
    return REGISTRY[name]


def _arguments(family: type[Schedule]) -> list[str]:
    if family.__name__ == "from_fn":
        return ["fn", "params"]
    return [f.name for f in dataclasses.fields(family)]  # type: ignore[arg-type]


def _build(config: dict[str, Any], steps_per_epoch: int | None, total_steps: int | None) -> Schedule:
    if "name" not in config:
        raise ValueError(f"a schedule config needs a 'name', got {_short(config)}")
    family = _family(config.pop("name"))
    name = family.__name__
    valid = _arguments(family)
    unknown = [k for k in config if k not in valid]
    if unknown:
        raise ValueError(f"unknown argument {_short(unknown[0])} for {name}; it takes {', '.join(valid)}")
    fields = {f.name: f for f in dataclasses.fields(family)}  # type: ignore[arg-type]
    required = [k for k, f in fields.items()
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [k for k in required if k not in config]
    if missing:
        raise ValueError(f"missing argument {missing[0]!r} for {name}; it needs {', '.join(required)}")
    for key, value in config.items():
        if fields[key].metadata.get("static"):
            config[key] = _static_option(family, fields[key], value)
        else:
            _check_whole_numbers(key, value)
    total = config.get("total_steps", total_steps)
    if isinstance(total, str):  # "3ep", or "100%" of the total_steps argument
        total = _duration("total_steps", total, steps_per_epoch, total_steps)
    kwargs = {}
    for key, value in config.items():
        if fields[key].metadata.get("static"):
            pass
        elif isinstance(value, Mapping):
            value = _build(dict(value), steps_per_epoch, total_steps)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            value = [_build(dict(v), steps_per_epoch, total_steps) for v in value]
        elif key == "total_steps":
            value = _duration(key, total, steps_per_epoch, total_steps)  # resolved above; checked here
        elif key in DURATIONS:
            value = _duration(key, value, steps_per_epoch, total)
        kwargs[key] = value
    try:
        return family(**kwargs)
    except Exception as error:  # the family's own rule, whatever its class: one ValueError
        raise ValueError(_rejected(error, name, kwargs)) from error


def _rejected(error: Exception, name: str, kwargs: Mapping[str, Any]) -> str:
    """The family's message when it names one of the arguments, else that message with the
    call's arguments added, so that the user can tell which value to look at."""
    message = str(error) or type(error).__name__
    if any(re.search(rf"\b{re.escape(str(key))}\b", message) for key in kwargs):
        return message
    return f"{name}({', '.join(map(str, kwargs))}) rejected its arguments: {type(error).__name__}: {message}"


def _static_option(family: type[Schedule], field: dataclasses.Field, value: Any) -> Any:
    """``value`` checked against the type of the static (structural) option ``field``.

    A flag takes a real bool only: in Python ``bool('false')`` is True, so a string would
    switch the option on in silence. A mode string must be a string; the family checks it
    against its choices (a ``Literal`` annotation is checked here). Options of other types
    (the function of a ``from_fn``) are left to the family.
    """
    hint = _hint(family, field)
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    members = typing.get_args(hint) if union else (hint,)
    if value is None and type(None) in members:
        return value
    kinds = [m for m in members if m is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind is bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise ValueError(f"{field.name} must be True or False, got {_short(value)}: write True or False "
                         "(true or false in JSON); a string or a number is not read as a flag")
    if kind is str and not isinstance(value, str):
        example = f" such as {field.default!r}" if isinstance(field.default, str) else ""
        raise ValueError(f"{field.name} must be a string{example}, got {_short(value)}")
    if typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)
        if not any(type(value) is type(c) and value == c for c in choices):
            raise ValueError(f"{field.name} must be one of {', '.join(map(repr, choices))}, got {_short(value)}")
    return value


def _hint(family: type[Schedule], field: dataclasses.Field) -> Any:
    """The resolved annotation of a dataclass field (``bool``, ``str``, a ``Literal``, ...)."""
    hint = _hints(family).get(field.name, field.type)
    if isinstance(hint, str):  # unresolved: read the plain names, and otherwise the default's type
        plain = {"bool": bool, "str": str}
        return plain.get(hint, type(field.default) if isinstance(field.default, bool | str) else hint)
    return hint


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(family: type[Schedule]) -> dict[str, Any]:
    """The resolved annotations of a family, computed once per family."""
    if family not in _HINTS:
        try:
            _HINTS[family] = typing.get_type_hints(family)
        except Exception:  # an annotation that does not resolve: fall back to the raw strings
            _HINTS[family] = {}
    return _HINTS[family]


def _check_whole_numbers(key: str, value: Any) -> None:
    """Integers past 2**53 lose digits as floats, and past 1e308 do not convert at all."""
    if isinstance(value, list | tuple):
        for number in value:
            _check_whole_numbers(key, number)
    elif isinstance(value, int | np.integer) and not isinstance(value, bool) and abs(int(value)) > MAX_STEPS:
        raise ValueError(f"{key} has an integer past 2**53, {_short(value)}, which a float does not hold "
                         "exactly: write a smaller number, or a float (1e20) if an approximate value is meant")


def _whole_steps(key: str, value: Any) -> int | None:
    """A ``steps_per_epoch`` or ``total_steps`` argument: None, or a whole number in [1, 2**53]."""
    if value is None:
        return None
    whole = isinstance(value, int | np.integer) or (
        isinstance(value, float | np.floating) and float(value).is_integer())
    if isinstance(value, bool | np.bool_) or not whole:
        raise ValueError(f"{key} must be a whole number of steps, got {_short(value)}")
    if not 1 <= value <= MAX_STEPS:
        raise ValueError(f"{key} must be in [1, 2**53], got {_short(value)}")
    return int(value)


def _duration(key: str, value: Any, steps_per_epoch: int | None, total: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_duration(key, v, steps_per_epoch, total) for v in value]
    if isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
        magnitude = abs(value) if isinstance(value, int) else abs(float(value))  # an int exactly, at any size
        if not magnitude <= MAX_STEPS:  # NaN and inf too
            raise ValueError(f"{key} must be a finite number of steps, at most 2**53, got {_short(value)}")
        return value  # the family checks the rest (positive, whole)
    if not isinstance(value, str):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{key} must be a number of steps, 'N%' or 'Nep', got {_short(value)}")
    number, unit = float(match["number"]), match["unit"].lower()
    if unit == "%":
        if total is None or isinstance(total, str):
            raise ValueError(f"{key}={value!r} is a percentage of total_steps, but no total_steps is given")
        if isinstance(total, bool | np.bool_) or not isinstance(total, int | float | np.number) \
                or not math.isfinite(total) or total < 0:
            raise ValueError(f"{key}={value!r} is a percentage of total_steps, but total_steps is {_short(total)}, "
                             "not a finite number of steps")
        steps = number / 100 * float(total)
        of = f"{value!r} of total_steps={total}"
    else:
        if steps_per_epoch is None:
            raise ValueError(f"{key}={value!r} is in epochs: pass steps_per_epoch to from_config")
        steps = number * steps_per_epoch
        of = f"{value!r} at steps_per_epoch={steps_per_epoch}"
    if not steps <= MAX_STEPS:  # inf too (a number such as '1e400%' overflows)
        raise ValueError(f"{key}={of} is {steps:.3g} steps, past 2**53 (the most a config resolves)")
    return round(steps)


def _call(node: ast.AST, text: str) -> dict[str, Any]:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a schedule call: {_short(text)} (expected name(argument=value, ...))")
    name = node.func.id
    family = _family(name)
    config: dict[str, Any] = {"name": name}
    positional = _arguments(family)
    if len(node.args) > len(positional):
        raise ValueError(f"{name} takes at most {len(positional)} positional arguments, got {len(node.args)}")
    for key, arg in zip(positional, node.args, strict=False):
        config[key] = _literal(arg, text, key)
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"not a literal call: {_short(text)} (** is not allowed)")
        if keyword.arg in config:
            raise ValueError(f"{name} got {keyword.arg!r} twice")
        config[keyword.arg] = _literal(keyword.value, text, keyword.arg)
    return config


def _literal(node: ast.AST, text: str, key: str) -> Any:
    if isinstance(node, ast.Call):
        return _call(node, text)
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(element, text, key) for element in node.elts]
    if isinstance(node, ast.Name) and node.id in _JSON_WORDS:
        raise ValueError(f"{key}={node.id} is JSON, not Python: write {_JSON_WORDS[node.id]} in a call string")
    try:
        return ast.literal_eval(node)
    except Exception:  # ValueError for a name or an expression; TypeError for {[1]: 2}
        raise ValueError(f"not a literal call: {_short(text)} ({key}: {_snippet(node)!r} is not a literal)") from None


def _json(text: str) -> dict[str, Any]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        config: dict[str, Any] = {}
        for key, value in pairs:
            if key in config:  # json.loads would keep the last one in silence
                raise ValueError(f"{key!r} appears twice")
            config[key] = value
        return config

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON config: {_short(text)} ({error.msg} at character {error.pos})") from None
    except RecursionError:
        raise ValueError(f"not a JSON config: {_short(text)} ({_too_deep()})") from None
    except ValueError as error:  # a repeated key; an integer of thousands of digits
        raise ValueError(f"not a JSON config: {_short(text)} ({error})") from None


def _bracket_depth(text: str) -> int:
    """How deeply the brackets of a call string or JSON text nest, outside quoted strings."""
    depth = deepest = 0
    quote, escaped = "", False
    for char in text:
        if escaped:
            escaped = False
        elif quote:
            escaped = char == "\\"
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _check_tree_depth(root: ast.AST, text: str) -> None:
    """Bounds the nesting of a parsed call string before anything recurses into it.

    Calls, lists and operators count a level each, as dicts and lists do in
    :func:`_check_nesting`; the literals at the leaves do not.
    """
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"not a schedule call: {_short(text)} ({_too_deep()})")
        for child in ast.iter_child_nodes(node):
            level = isinstance(child, ast.expr) and not isinstance(child, ast.Constant | ast.Name)
            stack.append((child, depth + level))


def _check_nesting(value: Any, depth: int, heights: dict[int, int]) -> int:
    """The nesting height of a config's dicts and lists, bounded by ``MAX_DEPTH``.

    Heights are remembered by identity, so a config that shares one sub-dict many times is
    walked once; a config that contains itself runs into the bound.
    """
    if isinstance(value, Mapping):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    else:
        return 0
    known = heights.get(id(value))
    if depth > MAX_DEPTH or (known is not None and depth + known - 1 > MAX_DEPTH):
        raise ValueError(f"a schedule config is {_too_deep()}")
    if known is not None:
        return known
    height = 1 + max((_check_nesting(child, depth + 1, heights) for child in children), default=0)
    heights[id(value)] = height
    return height


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep, the most a config may nest"


def _short(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to ``limit`` characters, so one bad value cannot flood a message."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails or recurses
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[:limit - 5]}...{text[-2:]}"


def _snippet(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        text = type(node).__name__
    return text if len(text) <= 60 else f"{text[:55]}..."
